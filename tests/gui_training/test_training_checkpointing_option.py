"""The activation-checkpointing option is in the Ctrl+T dialog's Advanced tab and reaches the
training configuration."""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets


def test_checkbox_reaches_the_config(qtbot):
    from guv_app.controllers.training_settings import default_values
    from guv_app.controllers.training_values import config_from_values, field_specs
    from guv_app.services.training.params import ADVANCED_PARAMS, BASIC_PARAMS
    from guv_app.views.training.dialog import TrainingDialog

    d = TrainingDialog(basic_fields=field_specs(BASIC_PARAMS),
                       advanced_fields=field_specs(ADVANCED_PARAMS))
    qtbot.addWidget(d)
    d.set_values(default_values())
    d.show()
    qtbot.waitExposed(d)
    box = d.findChild(QtWidgets.QCheckBox, "field_activation_checkpointing")
    assert box is not None and not box.isChecked()
    assert "recompute" in box.toolTip()
    assert config_from_values({**d.values(), "model_name": "m"})[0].activation_checkpointing \
        is False
    d.tabs.setCurrentWidget(d.advanced)
    qtbot.waitUntil(box.isVisible)
    qtbot.mouseClick(box, QtCore.Qt.MouseButton.LeftButton,
                     pos=QtCore.QPoint(8, box.height() // 2))
    assert box.isChecked()
    cfg, _ = config_from_values({**d.values(), "model_name": "m"})
    assert cfg.activation_checkpointing is True
