"""Batch prediction over a folder: prediction files, skip-on-rerun, promote to training labels.

Qt-free, plain picklable data in and out (paths, dataclasses, numbers), so the Analyzer's
worker threads, scripts and cluster jobs call the same functions:

* :mod:`.predictions` -- the ``<stem>_pred_seg.npy`` file beside each image, the settings
  fingerprint stored in it, saving hand edits back to it;
* :mod:`.batch` -- :func:`~.batch.predict_images` / :func:`~.batch.predict_folder` with
  per-image status, progress with ETA and a cancel event;
* :mod:`.plane_prediction` -- :func:`~.plane_prediction.predict_plane`, the per-plane work
  function a run executes in-process or on Dask workers;
* :mod:`.rerun_skips` -- which planes a rerun skips (same settings, edited by hand), so an
  interrupted run resumes;
* :mod:`.promote` -- copy predictions to training labels (``_seg.npy``), listing the files
  that would be overwritten first;
* :mod:`.measure` -- measure images with their prediction (or labels) and keep the tables in
  memory for display, exporting the same CSV files as ``multicellpose measure``.
"""
