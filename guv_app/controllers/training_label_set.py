"""The Ctrl+T dialog's choice of label set: the shared set or one channel's set, and
whether the network then sees that channel only or all channels.

The settings are the one definition of ``services.datasets.label_set_params`` (also
``multicellpose train --label-channel N --input-channels same|all``); a spin box cannot
show None, so the dialog shows -1 as "the shared set".
"""

from __future__ import annotations

from guv_app.services.datasets.label_set_params import LABEL_SET_PARAMS
from guv_app.services.params import by_name
from guv_app.views.training.fields import FieldSpec

SHARED_VALUE = -1
DEFAULTS = {"label_channel": SHARED_VALUE, "input_channels": "same"}


def label_set_specs() -> tuple[FieldSpec, ...]:
    p = by_name(LABEL_SET_PARAMS)
    channel, inputs = p["label_channel"], p["input_channels"]
    return (
        FieldSpec(channel.name, channel.title, "int", channel.help_text(), SHARED_VALUE,
                  channel.maximum, special=channel.auto),
        FieldSpec(inputs.name, inputs.title, "choice", inputs.help_text(),
                  choices=inputs.choices),
    )


def label_set_options(values: dict) -> dict:
    """``DatasetOptions`` keywords from the dialog's values (ValueError when out of range)."""
    p = by_name(LABEL_SET_PARAMS)
    raw = values.get("label_channel", SHARED_VALUE)
    channel = None if raw is None or int(raw) < 0 else p["label_channel"].check(raw)
    return {"label_channel": channel,
            "input_channels": p["input_channels"].check(values.get("input_channels", "same"))}
