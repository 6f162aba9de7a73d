"""What a ``_seg.npy`` file holds: its keys, the bookkeeping keys we may add, and SegData.

One place to look up the layout, for the reader (:mod:`cellpose_io.seg_read`), the writer
(:mod:`cellpose_io.seg_write`) and anyone asking "what is this key in my file?". Upstream
Cellpose writes ``masks``, ``outlines``, ``chan_choose``, ``ismanual``, ``filename``,
``flows`` and ``diameter``; we add ``classes``, ``class_names``, ``class_colors`` and
``mcp_seg_version``, plus the keys of :data:`METADATA_KEYS`. Keys neither side interprets
are kept in :attr:`SegData.extra` so a load/save round trip loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cellpose_io import channel_labels

__all__ = ["KNOWN_KEYS", "METADATA_KEYS", "SEG_FORMAT_VERSION", "SegData"]

#: Written as ``mcp_seg_version`` in every file we save.
SEG_FORMAT_VERSION = 1
#: Keys the reader interprets; anything else in a file is kept in SegData.extra.
KNOWN_KEYS = {
    "masks", "outlines", "filename", "ismanual", "chan_choose", "diameter", "flows",
    "classes", "classes_map", "class_names", "class_colors", "mcp_seg_version",
    *channel_labels.CHANNEL_KEYS,
}
#: The bookkeeping keys MultiCellPose may add to a ``_seg.npy`` (``save_seg(metadata=...)``);
#: any other key is refused, so no stray key reaches a user's files.
METADATA_KEYS: dict[str, str] = {
    "mcp_pred_model": "name of the model that made this prediction (str)",
    "mcp_pred_params_hash": "hash of model + segmentation parameters, to skip reruns (str)",
    "mcp_pred_params": "the segmentation parameters of the prediction (dict)",
    "mcp_pred_edited": "True once the prediction was corrected by hand (bool)",
    "mcp_pred_created": "when the prediction was written, ISO 8601 UTC (str)",
    "promoted_from": "model whose prediction became these training labels (str)",
    "mcp_labels_from": "the mask image these labels were made from: {file, sha256} (dict)",
    "mcp_imported_from": "name of the file (e.g. an ImageJ RoiSet) these labels came from (str)",
    "mcp_anisotropy": "Z sampling / XY pixel size a 3-D prediction was made with (float)",
    # label sets per channel (MultiCellPose 0.9's keys; written through save_seg's
    # channel_sets= / active_channel= / associations=, read into SegData; layout and rules in
    # cellpose_io.channel_labels). The top-level masks/classes stay the shared set.
    "channel_segmentations": "objects labelled per channel: {str(channel): {'masks': (H, W) "
                             "uint16/uint32, 'classes': int16 per id, 'class_names', "
                             "'class_colors'}} (0.9 also wrote 'mask_classes', "
                             "'classes_map', 'instance_colors'; masks (1, H, W)) (dict)",
    "active_channel_index": "the channel whose set was being labelled; absent when it was "
                            "the shared set (int)",
    "associations": "objects linked across channels: {'version': 1, 'next_object_id': int, "
                    "'groups': [{'object_id': int, 'members': [{'channel': int, "
                    "'mask_id': int}]}]}; object_id is measure's link_id (dict)",
    "object_ids": "linked object id per mask id of the active channel, 0 = none; derived "
                  "from associations on save (int32 array)",
}


@dataclass
class SegData:
    """Everything in a ``_seg.npy`` file, normalised.

    ``masks`` (H, W) uint16, or uint32 when the largest id is >= 65535; ``classes`` int32
    indexed by object id (``classes[0] == 0``, 0 = unassigned); ``class_names[0] ==
    "background"``; one RGB tuple per class name; ``ismanual`` bool per id 1..max_id;
    ``extra`` keeps keys we do not interpret (e.g. upstream's ``img``, ``colors``) so a
    load/save round trip loses nothing.
    """

    masks: np.ndarray
    classes: np.ndarray
    class_names: list[str]
    class_colors: list[tuple[int, int, int]]
    filename: str
    outlines: np.ndarray | None = None
    ismanual: np.ndarray | None = None
    diameter: float | None = None
    chan_choose: list[int] = field(default_factory=lambda: [0, 0])
    flows: list[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    # label sets per channel (cellpose_io.channel_labels): {channel: ChannelSet}, the
    # channel being labelled (None: the shared set), links across channels (0.9 layout)
    # and 0.9's object_ids as read (int32 per mask id of the active channel, or None)
    channel_sets: dict[int, channel_labels.ChannelSet] = field(default_factory=dict)
    active_channel: int | None = None
    associations: dict | None = None
    object_ids: np.ndarray | None = None

    @property
    def max_id(self) -> int:
        return int(self.masks.max()) if self.masks.size else 0

    @property
    def n_classes(self) -> int:
        """Number of user classes (background not counted)."""
        return len(self.class_names) - 1
