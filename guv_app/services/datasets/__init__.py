"""Training data from the user's folders: pairing, reading, splitting, class maps, flows.

Read-only on the user's data; derived flows are cached under ``paths.cache_dir()``.
torch/cellpose are imported only inside the functions that need them.
"""

from guv_app.services.datasets.builder import (
    DatasetCancelled,
    DatasetFile,
    DatasetOptions,
    Sample,
    TrainingSet,
    build_training_set,
    split_pairs,
)
from guv_app.services.datasets.classmap import build_class_map, merge_class_names
from guv_app.services.datasets.crops import CropReport, make_crops
from guv_app.services.datasets.discovery import (
    DiscoveryReport,
    LabelledPair,
    Skipped,
    find_labelled_images,
)
from guv_app.services.datasets.summary import DatasetSummary, summarize_folder

__all__ = [
    "CropReport", "DatasetCancelled", "DatasetFile", "DatasetOptions", "DatasetSummary",
    "DiscoveryReport", "LabelledPair", "Sample",
    "Skipped", "TrainingSet", "build_class_map", "build_training_set", "find_labelled_images",
    "make_crops", "merge_class_names", "split_pairs", "summarize_folder",
]
