"""Models out of and into MultiCellPose: Cellpose checkpoints and BioImage.IO packages.

* :mod:`.cellpose_file` -- a state dict upstream ``cellpose.models.CellposeModel`` loads.
* :mod:`.bioimageio` -- a BioImage.IO model package (spec v0.5, TorchScript weights).
* :mod:`.importing` -- the one import function: either kind of file into the registry.

Plain Python, no Qt; torch and bioimageio are imported inside the functions that need them.
"""
