"""Training regions: drawn with the region tools as outlines (not objects), saved beside the
image for training, and counted in the Ctrl+T dataset summary."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt
from trainer_gestures import drag, key, trace

from guv_app.services.datasets import region_sources

CTRL = Qt.KeyboardModifier.ControlModifier


def test_region_tools_draw_outlines_saved_for_training(trainer, qtbot):
    from guv_app.controllers.training_attach import attach_training

    ctl = trainer
    trace(ctl.canvas, [(150.0, 150.0), (200.0, 150.0), (200.0, 190.0), (150.0, 190.0)])
    key(ctl.window, Qt.Key.Key_S, CTRL)
    key(ctl.canvas, Qt.Key.Key_G)  # rectangle region
    drag(ctl.canvas, [(110.0, 110.0), (240.0, 230.0)])
    key(ctl.canvas, Qt.Key.Key_P)  # polygon region
    drag(ctl.canvas, [(120.0, 240.0), (200.0, 245.0), (180.0, 265.0), (125.0, 262.0)])
    assert ctl.doc.n_objects == 1 and not ctl.doc.dirty  # regions are not objects
    path = ctl.files.path
    polys = region_sources.region_polygons(path)
    assert len(polys) == 2
    x0, y0 = polys[0].min(axis=0)
    x1, y1 = polys[0].max(axis=0)
    assert abs(x0 - 110) < 2 and abs(y0 - 110) < 2 and abs(x1 - 240) < 2 and abs(y1 - 230) < 2
    xs, ys = ctl.canvas.region_item.getData()
    assert np.isfinite(xs).sum() == len(polys[0]) + 1 + len(polys[1]) + 1  # closed outlines
    boxes = region_sources.read_region_boxes(
        region_sources.region_files_for(path)[0], ctl.doc.shape)
    assert len(boxes) == 2
    # the Ctrl+T dataset summary counts them
    hookup = attach_training(ctl)
    key(ctl.canvas, Qt.Key.Key_T, CTRL)
    summary = hookup.training.dialog.dataset.summary.text()
    assert "Training regions: 2" in summary
    hookup.training.dialog.close()
    # remove the last one from the Edit menu; reopening the image shows what is left
    ctl.regions.undo_action.trigger()
    key(ctl.canvas, Qt.Key.Key_Right)
    key(ctl.canvas, Qt.Key.Key_Left)
    assert len(ctl.regions.polygons) == 1
    hookup.shutdown()


def test_ctrl_t_summary_warns_about_a_binary_training_mask(trainer, qtbot, image_folder):
    import tifffile
    from scipy import ndimage
    from trainer_helpers import real_mask

    from guv_app.controllers.training_attach import attach_training

    truth = real_mask("fluorescence_573e1480b500")
    binary = np.where(truth > 0, 255, 0).astype(np.uint8)
    tifffile.imwrite(image_folder / "fluorescence_573e1480b500_masks.tif", binary)
    hookup = attach_training(trainer)
    key(trainer.canvas, Qt.Key.Key_T, CTRL)
    text = hookup.training.dialog.dataset.summary.text()
    n = ndimage.label(binary > 0, structure=np.ones((3, 3)))[1]
    assert "binary mask" in text and f"labelled as {n} objects" in text
    hookup.training.dialog.close()
    hookup.shutdown()
