"""Random crops of a large experiment for annotation (``multicellpose make-crops``).

Users label small crops rather than whole multi-frame files. Each crop comes from a random
frame/plane of a random file at a random position, is written as a (Y, X) or (C, Y, X) TIFF named after
its source and position, and never overwrites an existing file.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from guv_app.services.progress import Progress

log = logging.getLogger(__name__)


@dataclass
class CropReport:
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _inputs(source: Path) -> list[Path]:
    from cellpose_io import list_image_files

    if source.is_file():
        return [source]
    if not source.is_dir():
        raise FileNotFoundError(f"{source}: input does not exist")
    return list_image_files(source)


def _free_name(out_dir: Path, stem: str) -> Path:
    path = out_dir / f"{stem}.tif"
    k = 1
    while path.exists():
        path = out_dir / f"{stem}_{k}.tif"
        k += 1
    return path


def make_crops(
    source: str | Path,
    size: int,
    per_image: int,
    out_dir: str | Path,
    *,
    seed: int = 0,
    progress: Progress | None = None,
) -> CropReport:
    """Write ``per_image`` random ``size`` x ``size`` crops of every image under ``source``.

    Images smaller than ``size`` are cropped to their own size. Unreadable files are listed in
    ``skipped`` and the rest continue. The same seed gives the same crops.
    """
    import tifffile

    from cellpose_io import CellposeIOError, read_image
    from cellpose_io.atomic import atomic_write_bytes

    if size < 8:
        raise ValueError(f"crop size must be at least 8 px, got {size}")
    if per_image < 1:
        raise ValueError(f"crops per image must be at least 1, got {per_image}")
    files = _inputs(Path(source))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    report = CropReport()
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files), path.name)
        try:
            img = read_image(path)
            for _ in range(per_image):
                t = int(rng.integers(img.size_t))
                z = int(rng.integers(img.size_z))
                plane = np.asarray(img.plane(t=t, z=z))
                h, w = plane.shape[-2:]
                ch, cw = min(size, h), min(size, w)
                y = int(rng.integers(h - ch + 1))
                x = int(rng.integers(w - cw + 1))
                crop = np.ascontiguousarray(plane[:, y : y + ch, x : x + cw])
                name = f"{path.stem}_t{t}_z{z}_y{y}_x{x}_{ch}x{cw}"
                buf = io.BytesIO()
                if crop.shape[0] == 1:
                    tifffile.imwrite(buf, crop[0], metadata={"axes": "YX"})
                else:
                    tifffile.imwrite(buf, crop, metadata={"axes": "CYX"})
                report.written.append(atomic_write_bytes(_free_name(out, name), buf.getvalue()))
        except (CellposeIOError, OSError, ValueError) as exc:
            log.warning("%s: skipped (%s)", path, exc)
            report.skipped.append((path, str(exc)))
    if progress:
        progress(len(files), len(files), "done")
    return report
