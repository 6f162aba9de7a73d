"""Promote asks before it overwrites training labels, and honours the answer."""

from __future__ import annotations

import numpy as np
import tifffile
from analyzer_helpers import DSB

import cellpose_io
from guv_app.services.analysis.predictions import label_path_for, save_prediction


def _predict_from_truth(image):
    masks = tifffile.imread(DSB / "masks" / f"{image.stem}.tif").astype(np.uint32)
    save_prediction(image, masks, None, None, None, model="tiny", params={})
    return masks


def test_promote_asks_before_overwriting(qtbot, analyzer, analyzer_folder):
    ctl = analyzer
    images = sorted(analyzer_folder.glob("*.png"))
    truth = {p: _predict_from_truth(p) for p in images}
    old = np.zeros_like(truth[images[1]])
    old[:5, :5] = 1
    cellpose_io.save_seg(images[1], old)  # existing hand labels
    before = label_path_for(images[1]).read_bytes()
    ctl.open_folder(analyzer_folder)
    ctl.window.files.table.selectAll()

    questions = []

    def say(answer):
        def choose(title, text):
            questions.append(text)
            return answer
        return choose

    ctl.choose_promote = say(None)  # keep the labels
    result = ctl.window.files.promote.click() or ctl.last_promote
    assert len(questions) == 1 and images[1].name in questions[0]
    assert images[0].name not in questions[0]
    assert result.kept_existing == [str(images[1])]
    assert label_path_for(images[1]).read_bytes() == before
    for p in (images[0], images[2]):
        assert np.array_equal(cellpose_io.load_seg(label_path_for(p)).masks, truth[p])
    assert "1 kept their labels" in ctl.window.statusBar().currentMessage()

    ctl.choose_promote = say("replace")
    ctl.window.files.promote.click()
    assert len(questions) == 2
    assert np.array_equal(cellpose_io.load_seg(label_path_for(images[1])).masks,
                          truth[images[1]])


def test_promote_without_conflicts_does_not_ask(qtbot, analyzer, analyzer_folder):
    ctl = analyzer
    image = sorted(analyzer_folder.glob("*.png"))[0]
    _predict_from_truth(image)
    ctl.open_folder(analyzer_folder)
    asked = []
    ctl.choose_promote = lambda title, text: asked.append(text) or "replace"
    ctl.window.files.set_current(0)
    result = ctl.promote_selected()
    assert asked == [] and result.promoted == [str(image)]
