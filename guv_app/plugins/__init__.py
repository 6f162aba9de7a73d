"""Measurement plugins: one interface (``base.MeasurementPlugin``), found through the entry
point group ``multicellpose.plugins`` (``discovery``). Built-ins: ``shape``, ``intensity``,
``boundary``, ``neighbours``; ``regions`` holds their shared vectorised bookkeeping.

Importing this package imports nothing else (plugins are loaded on discovery).
"""
