"""Objects linked across channels (issue 14): the link set, its undoable edits, the 0.9
``associations`` layout, auto-match by IoU and the per-link table.

Below annotation and measurement (both use it), above nothing of the app: plain numpy/scipy.
"""

from guv_app.services.linking.links import (
    LinkError,
    LinkSet,
    Member,
    from_associations,
    link,
    replace_channel_pair,
    to_associations,
    unlink,
    unlink_groups,
)
from guv_app.services.linking.match import (
    DEFAULT_IOU_THRESHOLD,
    Match,
    link_table,
    match_by_iou,
    overlaps,
)

__all__ = [
    "DEFAULT_IOU_THRESHOLD", "LinkError", "LinkSet", "Match", "Member", "from_associations",
    "link", "link_table", "match_by_iou", "overlaps", "replace_channel_pair",
    "to_associations", "unlink", "unlink_groups",
]
