"""Model selectors list a fine-tune whose parent is gone as unusable, saying why."""

from __future__ import annotations

import json

from PyQt6 import QtWidgets


def test_orphaned_fine_tune_is_listed_but_not_selectable(qtbot):
    from guv_app import paths
    from guv_app.controllers.model_catalog import ModelCatalog

    child = paths.models_dir() / "orphan"
    child.mkdir(parents=True)
    (child / "meta.json").write_text(json.dumps({
        "name": "orphan", "backbone": "tiny", "kind": "trained", "parent": "deleted-base",
        "weights": {"kind": "lora", "file": "adapter.pt"}}))
    catalog = ModelCatalog()
    combo = QtWidgets.QComboBox()
    qtbot.addWidget(combo)
    catalog.bind_combo(combo)
    i = combo.findText("orphan")
    assert i >= 0 and catalog.problem("orphan") == "parent missing: deleted-base"
    assert not combo.model().item(i).isEnabled()
    assert "parent missing: deleted-base" in combo.itemData(i, 3)  # ToolTipRole
    assert combo.model().item(combo.findText("tiny")).isEnabled()
