"""Turn an ImageJ RoiSet drawn on a stack into per-plane label files beside the image.

Each ROI goes onto the plane it was drawn on (``cellpose_io.read_imagej_roi_planes``) and
each plane's labels are written to its own file (``cellpose_io.plane_tag`` naming), which
the Trainer opens when its Z/T controls reach that plane and the training set takes as one
labelled plane each. Label files that already exist are never replaced: by default the
import stops before writing anything and names them; ``existing="skip"`` (the Trainer's
import, which puts the current plane's ROIs into the open document) leaves those planes
as they are and says which.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


class RoiImportError(ValueError):
    """The import would replace existing labels, or the files cannot be read (one line)."""


@dataclass
class RoiImport:
    """What an import wrote: one label file per plane, with its object count."""

    written: list[Path] = field(default_factory=list)
    objects: list[int] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # planes that had labels: not changed

    def summary(self) -> str:
        text = f"{sum(self.objects)} objects on {len(self.written)} plane(s)"
        if self.kept:
            text += f"; {len(self.kept)} plane(s) already labelled, left as they were"
        return text


def import_roiset(
    image: str | os.PathLike, rois: str | os.PathLike, series: int = 0,
    class_names: list[str] | None = None, *, skip: Collection[tuple[int, int]] = (),
    existing: str = "refuse",
) -> RoiImport:
    """Write ``<image>`` plane label files from the RoiSet ``rois`` (``.zip`` or ``.roi``).

    Plane (t, z) of a multi-plane series gets ``<stem>[_s{S}]_t{T}_z{Z}_seg.npy``, a
    single-plane series ``<stem>[_s{S}]_seg.npy``; planes in ``skip`` are not written.
    ``existing``: "refuse" (nothing written when a target exists) or "skip" (those planes
    are kept). Raises :class:`RoiImportError` naming the image, the RoiSet or the existing
    label files.
    """
    if existing not in ("refuse", "skip"):
        raise ValueError(f"existing must be 'refuse' or 'skip', got {existing!r}")
    import cellpose_io

    image, rois = Path(image), Path(rois)
    try:
        with cellpose_io.read_image(image, series=series) as img:
            shape = (img.size_y, img.size_x)
            sizes = {"size_t": img.size_t, "size_z": img.size_z, "size_c": img.n_channels}
        planes = cellpose_io.read_imagej_roi_planes(rois, shape, class_names, **sizes)
    except cellpose_io.CellposeIOError as exc:
        raise RoiImportError(str(exc)) from None
    single = sizes["size_t"] * sizes["size_z"] == 1
    targets = {plane: cellpose_io.seg_path_for(
        image, series=series, **({} if single else {"t": plane[0], "z": plane[1]}))
        for plane in planes if plane not in set(skip)}
    taken = [p for p in targets.values() if p.exists()]
    if taken and existing == "refuse":
        raise RoiImportError(f"{image}: labels exist already "
                             f"({', '.join(sorted(p.name for p in taken))}); nothing was imported")
    result = RoiImport(kept=taken)
    for plane, seg in planes.items():
        if plane not in targets or targets[plane] in taken:
            continue
        path = cellpose_io.save_seg(image, seg.masks, seg.classes, seg.class_names,
                                    seg.class_colors, out_path=targets[plane],
                                    metadata={"mcp_imported_from": rois.name})
        result.written.append(path)
        result.objects.append(seg.max_id)
    log.info("%s: imported %s from %s", image, result.summary(), rois)
    return result
