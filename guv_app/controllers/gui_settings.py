"""The GUI's settings file: ``<app home>/settings/gui.ini`` (``MULTICELLPOSE_HOME`` when set).

One place for every window's QSettings, so settings follow ``MULTICELLPOSE_HOME`` as the
README promises (tests, shared machines, portable installs) instead of the platform's
registry or ``~/.config``.
"""

from __future__ import annotations

from PyQt6 import QtCore


def app_settings() -> QtCore.QSettings:
    """The GUI settings (INI file under the app home's ``settings`` folder)."""
    from guv_app.paths import settings_dir

    return QtCore.QSettings(str(settings_dir() / "gui.ini"), QtCore.QSettings.Format.IniFormat)
