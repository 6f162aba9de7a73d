"""``measure`` on label files with one set per channel and links: label_channel, link_id and
the per-link table, checked against means computed by numpy over each object's pixels."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import tifffile
from linked_channels import two_channel_image, two_channel_labels, write_09_file

from guv_app.cli.main import main
from guv_app.services.measurement.linked import per_link_table
from guv_app.services.measurement.tables import read_csv


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def linked_folder(tmp_path):
    a, b, right = two_channel_labels()
    img = two_channel_image()
    folder = tmp_path / "linked"
    folder.mkdir()
    tifffile.imwrite(folder / "pair.tif", img, metadata={"axes": "CYX"})
    groups = {10 + k: {0: i, 1: j} for k, (i, j) in enumerate(sorted(right))}
    write_09_file(folder / "pair.tif", a, b, groups, active=0)
    # a plain file beside it: measured as before, link columns empty
    tifffile.imwrite(folder / "plain.tif", img, metadata={"axes": "CYX"})
    from cellpose_io import save_seg

    save_seg(folder / "plain.tif", a)
    return folder, img, a, b, groups


def test_measure_writes_rows_per_channel_set_with_link_ids(linked_folder, tmp_path, capsys):
    folder, img, a, b, groups = linked_folder
    out = tmp_path / "results.csv"
    code = main(["measure", "--dir", str(folder), "--out", str(out), "--plugins",
                 "shape,intensity", "--quiet"])
    assert code == 0
    assert "results_per_link.csv" in capsys.readouterr().out
    rows = [r for r in read_rows(out) if r["image"] == "pair.tif"]
    link_of = {(c, i): oid for oid, m in groups.items() for c, i in m.items()}
    # every object of each channel's set, once (the top-level set equals channel 0's)
    seen = sorted((int(r["label_channel"]), int(r["object_id"])) for r in rows)
    assert seen == sorted([(0, i) for i in np.unique(a)[1:].tolist()]
                          + [(1, i) for i in np.unique(b)[1:].tolist()])
    for r in rows:
        c, i = int(r["label_channel"]), int(r["object_id"])
        assert int(r["link_id"]) == link_of.get((c, i), 0)
        mask = (a if c == 0 else b) == i
        for ch in (0, 1):  # each image channel measured over this object's own pixels
            assert float(r[f"ch{ch}_mean"]) == pytest.approx(img[ch][mask].mean())
        assert int(r["area"]) == mask.sum()
    plain = [r for r in read_rows(out) if r["image"] == "plain.tif"]
    assert len(plain) == len(np.unique(a)) - 1
    assert all(r["link_id"] == "" and r["label_channel"] == "" for r in plain)

    wide = read_rows(tmp_path / "results_per_link.csv")
    assert sorted(int(r["link_id"]) for r in wide) == sorted(groups)
    for r in wide:
        members = groups[int(r["link_id"])]
        assert int(r["object_id_set0"]) == members[0] and int(r["object_id_set1"]) == members[1]
        # membrane (channel 0) intensity of the channel-0 object vs content (channel 1)
        # intensity of the channel-1 object: what a user compares per linked object
        assert float(r["ch0_mean_set0"]) == pytest.approx(img[0][a == members[0]].mean())
        assert float(r["ch1_mean_set1"]) == pytest.approx(img[1][b == members[1]].mean())
    # the per-link table is the same whether built in memory or from the written CSV
    again = per_link_table(read_csv(out))
    assert again["link_id"].tolist() == [int(r["link_id"]) for r in wide]


def test_deleted_member_leaves_its_link_out(linked_folder, tmp_path):
    folder, img, a, b, groups = linked_folder
    gone = groups[10][1]  # delete the channel-1 object of the first link
    b2 = np.where(b == gone, 0, b).astype(b.dtype)
    write_09_file(folder / "pair.tif", a, b2, groups, active=0)
    out = tmp_path / "r.csv"
    assert main(["measure", "--dir", str(folder), "--out", str(out), "--plugins", "shape",
                 "--quiet"]) == 0
    rows = [r for r in read_rows(out) if r["image"] == "pair.tif"]
    partner = [r for r in rows if r["label_channel"] == "0" and
               int(r["object_id"]) == groups[10][0]]
    assert partner[0]["link_id"] == "0"
    wide = read_rows(tmp_path / "r_per_link.csv")
    assert 10 not in {int(r["link_id"]) for r in wide}
