"""The list of models every model selector shows, refreshed in one place.

The Trainer's and the Analyzer's model combo boxes subscribe to one :class:`ModelCatalog`;
when training registers a model the training controller calls :meth:`ModelCatalog.refresh`
and every combo box lists the new model at once. Listing reads only ``meta.json`` files
(no torch), so a refresh is cheap.
"""

from __future__ import annotations

import contextlib
import logging

from PyQt6 import QtCore, QtWidgets, sip

from guv_app.services.engine import registry
from guv_app.services.engine.meta import ModelMeta

log = logging.getLogger(__name__)


class ModelCatalog(QtCore.QObject):
    """Holds ``registry.list_models()``; emits ``models_changed(names)`` when it changes."""

    models_changed = QtCore.pyqtSignal(list)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._models: list[ModelMeta] = []
        self._problems: dict[str, str] = {}  # name -> why it cannot be used (parent missing)
        self.refresh()

    @property
    def models(self) -> list[ModelMeta]:
        return list(self._models)

    def names(self) -> list[str]:
        return [m.name for m in self._models]

    def meta(self, name: str) -> ModelMeta | None:
        return next((m for m in self._models if m.name == name), None)

    def problem(self, name: str) -> str:
        """Why a listed model cannot be used ("" when it can), e.g. its parent is missing."""
        return self._problems.get(name, "")

    def refresh(self) -> list[str]:
        """Re-read the registry; emits ``models_changed`` only if the list differs."""
        from guv_app.services.engine.lineage import parent_status

        try:
            models = registry.list_models()
        except OSError as exc:  # unreadable models folder: keep what we had, say why
            log.warning("cannot list models: %s", exc)
            return self.names()
        before = [(m.name, m.created, self.problem(m.name)) for m in self._models]
        self._models = models
        self._problems = {m.name: parent_status(m) for m in models}
        if [(m.name, m.created, self.problem(m.name)) for m in models] != before:
            self.models_changed.emit(self.names())
        return self.names()

    def bind_combo(self, combo: QtWidgets.QComboBox, *, prefer: str | None = None) -> None:
        """Keep ``combo`` listing the models; its selection survives refreshes."""

        def fill(names: list[str]) -> None:
            if sip.isdeleted(combo):  # the selector went away before the catalog
                _disconnect(self.models_changed, fill)
                return
            current = combo.currentText() or prefer
            blocker = QtCore.QSignalBlocker(combo)
            combo.clear()
            for name in names:
                meta = self.meta(name)
                combo.addItem(name)
                tip = meta.description if meta is not None else ""
                if self.problem(name):  # listed, but not selectable: say why
                    tip = f"Unusable: {self.problem(name)}" + (f"\n{tip}" if tip else "")
                    item = getattr(combo.model(), "item", lambda _row: None)(combo.count() - 1)
                    if item is not None:
                        item.setEnabled(False)
                if tip:
                    combo.setItemData(combo.count() - 1, tip,
                                      QtCore.Qt.ItemDataRole.ToolTipRole)
            i = combo.findText(current) if current else -1
            combo.setCurrentIndex(i if i >= 0 else 0)
            del blocker
            if combo.currentText() != current:
                combo.currentTextChanged.emit(combo.currentText())

        fill(self.names())
        self.models_changed.connect(fill)


def _disconnect(signal, slot) -> None:
    with contextlib.suppress(TypeError, RuntimeError):  # already gone with the catalog
        signal.disconnect(slot)


LAST_USED_KEY = "models/last_used"


def runnable(meta: ModelMeta | None) -> bool:
    """Whether a model can run here without downloading anything (no weights loaded):
    ``cpsam`` needs the Cellpose-SAM weights on disk, a trained model its weights file."""
    if meta is None:
        return False
    from guv_app.services.engine import weights

    if meta.name == weights.CPSAM_NAME:
        return weights.find_cpsam_weights() is not None
    if meta.kind == "builtin":
        return True
    try:
        folder = registry.model_dir(meta.name)
    except ValueError:
        return False
    return folder.is_dir() and any(f.suffix in (".pt", ".safetensors") for f in folder.iterdir())


def default_model(catalog: ModelCatalog, last_used: str | None = None) -> str:
    """The model a selector starts on: the last one used if it can run, else ``cpsam`` when
    its weights are on disk, else (offline) the packaged ``nuclei-starter``, which finds
    nuclei without any download, else ``tiny``."""
    if last_used and runnable(catalog.meta(last_used)):
        return last_used
    if runnable(catalog.meta("cpsam")):
        return "cpsam"
    if runnable(catalog.meta(registry.STARTER_NAME)):
        return registry.STARTER_NAME
    return "tiny"


_DEFAULT: ModelCatalog | None = None


def default_catalog() -> ModelCatalog:
    """The application's shared catalog (created on first use, lives with the QApplication)."""
    global _DEFAULT
    if _DEFAULT is None:
        app = QtCore.QCoreApplication.instance()
        _DEFAULT = ModelCatalog(app)
        _DEFAULT.destroyed.connect(_forget_default)
    return _DEFAULT


def _forget_default(*_args) -> None:
    global _DEFAULT
    _DEFAULT = None
