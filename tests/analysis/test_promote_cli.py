"""``multicellpose predict`` (tiny model) then ``promote --labels keep|fill|add``: the labels a
person drew are skipped, or kept pixel for pixel with the prediction merged in; the files of
before are kept as .bak. Expected objects computed one by one (tests/merge_reference.py)."""

from __future__ import annotations

import numpy as np
import pytest
from merge_reference import expected_added, labels_and_prediction

import cellpose_io
from guv_app.cli.main import main
from guv_app.services.analysis.predictions import label_path_for, pred_path_for

STEM = "fluorescence_573e1480b500"


@pytest.fixture
def predicted(small_folder, capsys):
    image = small_folder / f"{STEM}.png"
    sparse, sparse_classes, _, _ = labels_and_prediction(STEM)
    ids, inverse = np.unique(sparse, return_inverse=True)
    hand = inverse.reshape(sparse.shape).astype(np.uint32)  # every other real object
    cellpose_io.save_seg(image, hand, sparse_classes[ids], ["background", "small", "large"])
    assert main(["predict", "--model", "tiny", "--input", str(image), "--device", "cpu",
                 "--cellprob-threshold", "-2", "--flow-threshold", "0",
                 "--min-size", "30"]) == 0
    pred = cellpose_io.load_seg(pred_path_for(image)).masks.astype(np.uint32)
    assert pred.max() > 0
    capsys.readouterr()
    return image, hand, pred


def test_promote_keeps_or_merges_and_never_loses_labels(predicted, capsys):
    image, hand, pred = predicted
    seg = label_path_for(image)
    before = seg.read_bytes()
    assert main(["promote", "--input", str(image.parent)]) == 0  # default: keep
    assert seg.read_bytes() == before
    assert "1 kept their labels" in capsys.readouterr().out

    for mode in ("fill", "add"):
        assert main(["promote", "--input", str(image), "--labels", mode]) == 0
        out = cellpose_io.load_seg(seg).masks.astype(np.uint32)
        assert np.array_equal(out[hand > 0], hand[hand > 0])
        want = expected_added(hand, pred, mode)
        new_ids = np.unique(out[out != hand])
        assert len(new_ids) == len(want)
        for new in new_ids.tolist():
            src = int(np.unique(pred[out == new])[0])
            assert np.array_equal(out == new, want[src])
        assert f"merged into their labels ({mode})" in capsys.readouterr().out
        bak = seg.with_name(seg.name + ".bak")
        assert bak.read_bytes() == before  # the labels of before, byte for byte
        bak.replace(seg)  # as undo would: the next mode starts from the hand labels
    if not any(len(expected_added(hand, pred, m)) for m in ("fill", "add")):
        pytest.fail("the tiny model's prediction added nothing: the test proves nothing")
