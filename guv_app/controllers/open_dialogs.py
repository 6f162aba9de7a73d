"""What the Trainer's Open dialogs offer, and where they start.

Shared by the file session (:mod:`trainer_files`), the menus and label exchange, so they
agree on the file types and the remembered folder without importing each other.
"""

from __future__ import annotations

LAST_DIR_KEY = "trainer/last_dir"  # QSettings key: folder of the last image opened


def image_filters() -> list[str]:
    """Open-dialog filters: every readable image type first, then labels, then all files."""
    import cellpose_io

    exts = sorted({e.lower() for e in cellpose_io.supported_extensions()})
    pats = " ".join(f"*{e}" for e in exts)
    return [f"Images ({pats})", "Cellpose labels with their image (*_seg.npy)", "All files (*)"]


def label_filters() -> list[str]:
    """Label-file dialog filters: every label format first, then one per format (the order
    of :data:`guv_app.services.annotation.exchange.FORMATS`)."""
    from guv_app.services.annotation import exchange

    every = " ".join(f"*{p}" for _, pats in exchange.FORMATS for p in pats)
    return [f"All label files ({every})"] + [name for name, _ in exchange.FORMATS]
