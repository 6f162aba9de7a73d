"""File-name suffixes of label files (one definition; ``cellpose_io.seg`` re-exports them)."""

#: Training labels: ``<stem>_seg.npy``, Cellpose's own name (its GUI opens it).
SEG_SUFFIX = "_seg.npy"
#: Model predictions: ``<stem>_pred_seg.npy``, same layout, kept apart from training labels.
PRED_SUFFIX = "_pred_seg.npy"
