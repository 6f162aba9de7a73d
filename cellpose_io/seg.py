"""``_seg.npy`` label files: written the way the Cellpose GUI reads them, plus class data.

A ``_seg.npy`` file is ``np.save`` of a pickled dict. Upstream Cellpose writes ``masks``,
``outlines``, ``chan_choose``, ``ismanual``, ``filename``, ``flows`` and ``diameter``; its GUI
opens a file with only masks/outlines/filename/ismanual and ignores extra keys. We add
``classes`` (int32 per object id), ``class_names`` (background first), ``class_colors``
(uint8 (N+1, 3)) and ``mcp_seg_version``. We do not write MultiCellPose 0.9's per-pixel
``classes_map``: it duplicates ``classes`` at image size and goes stale after an edit;
reading still derives classes from it by majority vote. Label sets per channel and links
across channels (0.9's ``channel_segmentations``, ``active_channel_index``, ``associations``,
``object_ids``) are read and written by :mod:`cellpose_io.channel_labels`; the top-level
``masks``/``classes`` stay the default (shared) set, the one the Cellpose GUI shows.

Loading goes through a restricted unpickler (``safe_pickle``), so a crafted file cannot run
code, and every problem surfaces as ``LabelReadError(path, reason)``.

This module is the public entry point (``from cellpose_io.seg import save_seg``); the work
is done in modules with one job each:

- :mod:`cellpose_io.seg_format` -- the keys a file holds, :data:`METADATA_KEYS`, SegData;
- :mod:`cellpose_io.seg_read` -- :func:`load_seg`, validating and normalising any file;
- :mod:`cellpose_io.seg_write` -- :func:`save_seg`, :func:`save_seg_volume`,
  :func:`write_seg`, atomic writes checked before they start;
- :mod:`cellpose_io.seg_values` -- the mask/class/storable checks reader and writer share;
- :mod:`cellpose_io.label_paths` -- where a label file lives (``seg_path_for``, plane tags).
"""

from __future__ import annotations

from cellpose_io.errors import LabelReadError  # noqa: F401 - importable here before the split
from cellpose_io.label_classes import mask_dtype_for
from cellpose_io.label_paths import (  # re-exported: where label files live
    check_own_label_file,  # noqa: F401 - importable here before the split
    images_sharing_labels,
    parse_plane_tag,
    plane_of_file,
    plane_tag,
    seg_path_for,
)
from cellpose_io.seg_format import (
    METADATA_KEYS,
    SEG_FORMAT_VERSION,  # noqa: F401 - importable here before the split
    SegData,
)
from cellpose_io.seg_read import load_seg
from cellpose_io.seg_write import save_seg, save_seg_volume, write_seg
from cellpose_io.suffixes import PRED_SUFFIX, SEG_SUFFIX

__all__ = [
    "METADATA_KEYS", "SegData", "images_sharing_labels", "load_seg", "save_seg",
    "seg_path_for", "write_seg", "mask_dtype_for", "plane_tag", "save_seg_volume",
    "SEG_SUFFIX", "PRED_SUFFIX", "parse_plane_tag", "plane_of_file",
]
