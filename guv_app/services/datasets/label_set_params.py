"""Which label set a training set takes, described once (CLI flags and the Ctrl+T dialog).

A ``_seg.npy`` holds the shared set (top level) and optionally one set per channel
(``cellpose_io.channel_labels``). Training on a channel's set can feed the network that
channel alone (``same``: e.g. a nucleus model on the DAPI channel) or every channel (``all``:
the model sees the context, e.g. membrane + content). Channels count from 0, as
``--channels`` and the Trainer's channel panel do.
"""

from __future__ import annotations

from guv_app.services.params import Param

INPUT_CHOICES = (
    ("same", "that channel only"),
    ("all", "all channels (or --channels)"),
)

LABEL_SET_PARAMS: tuple[Param, ...] = (
    Param("label_channel", "int", None, "Train on the objects labelled on this channel "
          "(its label set, Trainer: Edit > Label sets); images without labels on it are "
          "skipped", auto="the shared set", minimum=0, maximum=4096, label="Label set of "
          "channel"),
    Param("input_channels", "choice", "same", "With a channel's label set: feed the network "
          "that channel only, or all channels", choices=INPUT_CHOICES,
          label="Network input"),
)
