"""Training on one channel's label set (issue 14): the samples hold that channel's objects,
the network input is that channel's pixels (or all channels), and ``multicellpose train
--label-channel`` trains the tiny backbone for one epoch on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from cellpose_io import save_seg
from cellpose_io.channel_labels import ChannelSet
from guv_app.cli.main import main

BBBC = Path(__file__).resolve().parents[1] / "data" / "formats" / "tiff" / \
    "BBBC022_IXMtest_A02_s9_3ch_imagej.tif"
SIDE = 192


def _squares(shape, corners, size) -> np.ndarray:
    out = np.zeros(shape, np.uint16)
    for k, (y, x) in enumerate(corners, 1):
        out[y:y + size, x:x + size] = k
    return out


@pytest.fixture
def channel_folder(tmp_path) -> Path:
    """Two crops of a real 3-channel image; each plane's file has a shared set and a
    different set on channel 1."""
    folder = tmp_path / "data"
    folder.mkdir()
    stack = tifffile.imread(BBBC)
    for i, (y, x) in enumerate([(0, 0), (150, 400)]):
        crop = np.ascontiguousarray(stack[:, y:y + SIDE, x:x + SIDE])
        image = folder / f"crop{i}.tif"
        tifffile.imwrite(image, crop, imagej=True, metadata={"axes": "CYX"})
        shared = _squares(crop.shape[1:], [(10, 10), (100, 100)], 30)
        ch1 = _squares(crop.shape[1:], [(20 + 40 * r, 20 + 40 * c) for r in range(4)
                                        for c in range(4)], 24)
        save_seg(image, shared, channel_sets={1: ChannelSet(ch1, None)}, active_channel=1)
    return folder


def _normalised(channel: np.ndarray) -> np.ndarray:
    """Cellpose's 1st..99th percentile normalisation, computed here by hand."""
    lo, hi = np.percentile(channel.astype(np.float64), [1, 99])
    return ((channel - lo) / (hi - lo)).astype(np.float32)


@pytest.mark.parametrize("inputs", ["same", "all"])
def test_dataset_takes_the_channel_set_and_its_pixels(channel_folder, inputs):
    from guv_app.services.datasets import DatasetOptions, build_training_set

    ts = build_training_set(channel_folder, DatasetOptions(
        test_ratio=0, label_channel=1, input_channels=inputs))
    assert len(ts.train) == 2
    for sample in ts.train:
        raw = tifffile.imread(sample.image_path)
        expected_masks = _squares(raw.shape[1:], [(20 + 40 * r, 20 + 40 * c) for r in range(4)
                                                  for c in range(4)], 24)
        np.testing.assert_array_equal(sample.masks > 0, expected_masks > 0)
        assert sample.n_objects == 16
        if inputs == "same":
            assert ts.channels == [1]
            np.testing.assert_allclose(sample.image[0], _normalised(raw[1]), atol=1e-4)
            assert not sample.image[1:].any()
        else:
            assert ts.channels is None  # the image's own channels, in order
            for c in range(3):
                np.testing.assert_allclose(sample.image[c], _normalised(raw[c]), atol=1e-4)


def test_files_without_the_channel_set_are_skipped_with_a_reason(channel_folder):
    from guv_app.services.datasets import DatasetOptions, build_training_set

    save_seg(channel_folder / "crop1.tif", _squares((SIDE, SIDE), [(5, 5)], 20))
    ts = build_training_set(channel_folder, DatasetOptions(test_ratio=0, label_channel=1))
    assert [s.image_path.name for s in ts.train] == ["crop0.tif"]
    assert any("no labels for channel 1" in s.reason for s in ts.skipped)
    with pytest.raises(ValueError, match="Label set of channel must be 0"):
        DatasetOptions(label_channel=-1)
    with pytest.raises(ValueError, match="disagree"):
        DatasetOptions(label_channel=1, channels=[0, 2])
    assert DatasetOptions(label_channel=1, channels=[0, 2],
                          input_channels="all").network_channels == [0, 2]


def test_cli_trains_tiny_one_epoch_on_a_channel_set(channel_folder, capsys):
    from guv_app.services.engine import registry

    code = main(["train", "--train-dir", str(channel_folder), "--test-ratio", "0.5",
                 "--model-name", "ch1", "--label-channel", "1", "--input-channels", "same",
                 "--base-model", "tiny", "--blocks", "1", "--epochs", "1", "--batch-size", "1",
                 "--images-per-epoch", "1", "--device", "cpu"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "model ch1 saved" in out.out
    assert registry.get_model_meta("ch1").channels == [1]  # inference feeds channel 1
