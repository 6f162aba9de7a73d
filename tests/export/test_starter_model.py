"""The packaged ``nuclei-starter``: listed, loadable offline, finds the sample's nuclei."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import cellpose_io  # noqa: E402
from guv_app import paths  # noqa: E402
from guv_app.cli.main import main  # noqa: E402
from guv_app.services.engine import registry  # noqa: E402

STARTER = "nuclei-starter"


def test_listed_as_builtin_with_its_training_record(capsys):
    assert main(["models", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    row = next(r for r in rows if r["name"] == STARTER)
    assert row["kind"] == "builtin" and row["backbone"] == "tiny" and row["parent"] == "tiny"
    assert "scripts/train_starter.py" in row["training"]["command"]
    assert set(row["dataset"]["heldout"]) == {"dsb2018/fluorescence_02903040e19d",
                                              "dsb2018/fluorescence_ff599c7301da"}
    assert "CC0" in row["dataset"]["licences"]
    assert 0.0 <= row["heldout"]["mean_ap50"] <= 1.0
    folder = paths.package_data_dir() / "models" / STARTER
    assert (folder / "weights.pt").stat().st_size < 5 * 2**20  # "a few MB" at most
    assert not registry.is_name_free(STARTER)  # nobody saves over it


def test_finds_most_nuclei_of_the_bundled_sample():
    """>= 70 % of the sample's 22 hand-labelled nuclei matched at IoU >= 0.5 (the sample is
    one of the starter's held-out images)."""
    from cellpose.metrics import average_precision

    from guv_app.services.engine.inference import SegmentParams, segment

    data = paths.package_data_dir()
    image = cellpose_io.read_image(data / "sample.png").plane()
    truth = cellpose_io.load_seg(data / "sample_seg.npy").masks
    result = segment(image, STARTER, SegmentParams(device="cpu"))
    _, tp, _, fn = average_precision([truth], [result.masks], threshold=[0.5])
    recall = tp[0, 0] / (tp[0, 0] + fn[0, 0])
    assert int(truth.max()) == 22
    assert recall >= 0.7, f"found {tp[0, 0]} of {int(truth.max())} nuclei"


def test_fine_tuning_starts_from_it_and_records_the_lineage(tmp_path):
    from guv_app.services.training.runner import prepare_network

    net, meta = prepare_network(STARTER, 0)
    packaged = torch.load(paths.package_data_dir() / "models" / STARTER / "weights.pt",
                          weights_only=True)
    assert meta.name == STARTER and meta.channels == [0]
    for key, value in net.state_dict().items():
        assert torch.equal(value, packaged[key]), key
    assert not np.array_equal(  # and it is not the seeded tiny
        net.state_dict()["out.weight"].numpy(),
        prepare_network("tiny", 0)[0].state_dict()["out.weight"].numpy())
