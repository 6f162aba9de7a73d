"""Measurement service: run measurement plugins on images and folders, write CSV tables.

Qt-free and picklable in and out (paths, arrays, dataclasses), so the Analyzer window, the
``multicellpose measure`` command and cluster jobs all call the same functions:
:func:`~guv_app.services.measurement.runner.measure_arrays` (one image in memory),
:func:`~guv_app.services.measurement.runner.measure_image` (one file pair) and
:func:`~guv_app.services.measurement.folder.measure_folder` (a folder, with CSV output).
See README.md in this folder for the plugin interface.
"""
