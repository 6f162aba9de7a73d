"""_seg.npy: our files round-trip, Cellpose reads them, we read Cellpose's and 0.9's files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import tifffile

from cellpose_io import LabelReadError, SegData, load_seg, save_seg, seg_path_for
from cellpose_io.seg import write_seg

DATA = Path(__file__).resolve().parents[1] / "data"
STARDIST_MASK = DATA / "labelled" / "stardist" / "mask2d.tif"


@pytest.fixture(scope="module")
def real_masks() -> np.ndarray:
    return tifffile.imread(STARDIST_MASK)


def _classes_for(masks: np.ndarray, n_user: int = 2) -> np.ndarray:
    classes = np.zeros(int(masks.max()) + 1, dtype=np.int32)
    ids = np.unique(masks)[1:]
    classes[ids] = 1 + (ids % n_user)
    return classes


def test_round_trip_keeps_masks_classes_and_metadata(tmp_path, real_masks):
    image = tmp_path / "cells.tif"
    classes = _classes_for(real_masks)
    out = save_seg(
        image, real_masks, classes, ["background", "alive", "dead"],
        [(0, 0, 0), "#ff0000", [0, 128, 255]], diameter=17.5,
    )
    assert out == tmp_path / "cells_seg.npy"
    seg = load_seg(out)
    assert isinstance(seg, SegData)
    assert seg.masks.dtype == np.uint16
    np.testing.assert_array_equal(seg.masks, real_masks)
    np.testing.assert_array_equal(seg.classes, classes)
    assert seg.classes.dtype == np.int32 and seg.classes[0] == 0
    assert seg.class_names == ["background", "alive", "dead"]
    assert seg.class_colors == [(0, 0, 0), (255, 0, 0), (0, 128, 255)]
    assert seg.filename == os.fspath(image.absolute())
    assert seg.diameter == 17.5
    assert seg.chan_choose == [0, 0]
    assert seg.ismanual.shape == (int(real_masks.max()),)


def test_file_has_the_keys_and_types_the_cellpose_gui_reads(tmp_path, real_masks):
    utils = pytest.importorskip("cellpose.utils")
    out = save_seg(tmp_path / "img.png", real_masks, _classes_for(real_masks), ["background", "a", "b"])
    dat = np.load(out, allow_pickle=True).item()
    # What cellpose.gui.io._load_seg touches: outlines, masks, filename, ismanual (len == max).
    assert dat["masks"].dtype == np.uint16 and dat["outlines"].dtype == np.uint16
    assert dat["ismanual"].dtype == bool and len(dat["ismanual"]) == dat["masks"].max()
    assert isinstance(dat["filename"], str) and os.path.isabs(dat["filename"])
    assert dat["chan_choose"] == [0, 0] and np.isnan(dat["diameter"])
    assert "flows" not in dat  # omitted when empty, as the GUI tolerates
    # Outlines equal upstream's own outlines of the same masks, pixel for pixel.
    upstream_outlines = real_masks * utils.masks_to_outlines(real_masks)
    np.testing.assert_array_equal(dat["outlines"], upstream_outlines)
    # Class data travels beside it.
    assert dat["class_names"][0] == "background"
    assert dat["class_colors"].shape == (3, 3) and dat["class_colors"].dtype == np.uint8
    assert len(dat["classes"]) == real_masks.max() + 1


def test_reads_a_file_written_by_cellpose_itself(tmp_path, real_masks):
    cp_io = pytest.importorskip("cellpose.io")
    image = np.zeros(real_masks.shape, np.float32)
    dp = np.zeros((2, *real_masks.shape), np.float32)
    cellprob = np.where(real_masks > 0, 3.0, -3.0).astype(np.float32)
    rgb = np.zeros((*real_masks.shape, 3), np.uint8)
    name = tmp_path / "upstream.tif"
    cp_io.masks_flows_to_seg(image, real_masks, [rgb, dp, cellprob], str(name))
    seg = load_seg(seg_path_for(name))
    np.testing.assert_array_equal(seg.masks, real_masks)
    assert seg.class_names == ["background"]
    assert seg.class_colors == [(0, 0, 0)]
    assert not seg.classes.any() and len(seg.classes) == real_masks.max() + 1
    assert seg.filename == str(name)
    assert seg.diameter is None  # upstream writes NaN
    assert seg.flows is not None and len(seg.flows) == 5


def test_reads_back_what_cellpose_wrote_and_saves_it_again_losing_nothing(tmp_path, real_masks):
    cp_io = pytest.importorskip("cellpose.io")
    flows = [np.zeros((*real_masks.shape, 3), np.uint8),
             np.zeros((2, *real_masks.shape), np.float32),
             np.zeros(real_masks.shape, np.float32)]
    cp_io.masks_flows_to_seg(np.zeros(real_masks.shape), real_masks, flows, str(tmp_path / "a.tif"))
    seg = load_seg(tmp_path / "a_seg.npy")
    seg.extra["colors"] = np.full((int(real_masks.max()), 3), 7, np.uint8)
    out = write_seg(seg, tmp_path / "b_seg.npy")
    again = load_seg(out)
    np.testing.assert_array_equal(again.masks, real_masks)
    assert len(again.flows) == 5
    np.testing.assert_array_equal(again.flows[4], seg.flows[4])
    np.testing.assert_array_equal(again.extra["colors"], seg.extra["colors"])


def _multicellpose09_dict(masks: np.ndarray, class_map: np.ndarray, *, masks_3d: bool) -> dict:
    """A dict laid out as MultiCellPose 0.9.x saved it (GUI state plus server inference)."""
    m = masks[np.newaxis] if masks_3d else masks
    return {
        "outlines": np.zeros_like(m),
        "masks": m,
        "chan_choose": [0, 0],
        "ismanual": np.zeros(int(masks.max()), bool),
        "filename": "/lab/old/path/cells.tif",
        "flows": [],
        "diameter": 30.0,
        "img": np.zeros((*masks.shape, 3), np.uint8),
        "normalize_params": {"lowhigh": None, "percentile": [1.0, 99.0], "normalize": True},
        "colors": np.zeros((int(masks.max()), 3), np.uint8),
        "classes_map": class_map.astype(np.int16),
        "class_names": ["class 1", "class 2"],  # 0.9: user classes only, no background
        "class_colors": np.array([[255, 0, 0], [0, 255, 0]], np.uint8),
    }


@pytest.mark.parametrize("map_shape", ["HW", "1HW"])
def test_reads_multicellpose_09_classes_map_by_majority_vote(tmp_path, map_shape):
    masks = np.zeros((40, 40), np.uint16)
    masks[2:12, 2:12] = 1
    masks[20:30, 5:15] = 2
    masks[5:15, 25:35] = 4  # id 3 unused: a gap
    class_map = np.zeros_like(masks, dtype=np.int16)
    class_map[2:12, 2:12] = 2
    class_map[2:4, 2:12] = 1  # minority of object 1 votes 1; majority 2 wins
    class_map[20:30, 5:15] = 1
    class_map[5:15, 25:35] = 0  # no votes: unassigned
    if map_shape == "1HW":
        class_map = class_map[np.newaxis]
    dat = _multicellpose09_dict(masks, class_map, masks_3d=(map_shape == "1HW"))
    path = tmp_path / "cells_seg.npy"
    np.save(path, dat, allow_pickle=True)
    seg = load_seg(path)
    np.testing.assert_array_equal(seg.masks, masks)
    assert seg.classes.tolist() == [0, 2, 1, 0, 0]
    assert seg.class_names == ["background", "class 1", "class 2"]
    assert seg.class_colors == [(0, 0, 0), (255, 0, 0), (0, 255, 0)]
    assert seg.diameter == 30.0
    assert "img" in seg.extra and "normalize_params" in seg.extra
    assert "classes_map" not in seg.extra


def test_reads_multicellpose_09_classes_vector_and_hex_colours(tmp_path):
    masks = np.zeros((10, 10), np.uint16)
    masks[1:4, 1:4] = 1
    masks[5:9, 5:9] = 2
    dat = {
        "masks": masks, "outlines": masks, "filename": "x.tif",
        "classes": np.array([0, 2, 1, 0, 0], np.int16),  # longer than max id + 1 (deleted ids)
        "class_names": np.array(["class 1", "class 2"]),
        "class_colors": ["#00ff00", "#0000ff"],
    }
    np.save(tmp_path / "x_seg.npy", dat, allow_pickle=True)
    seg = load_seg(tmp_path / "x_seg.npy")
    assert seg.classes.tolist() == [0, 2, 1]
    assert seg.class_names == ["background", "class 1", "class 2"]
    assert seg.class_colors == [(0, 0, 0), (0, 255, 0), (0, 0, 255)]


@pytest.mark.parametrize("top_id", [65534, 65535, 70000, 1_000_003])
def test_large_ids_never_wrap(tmp_path, top_id):
    masks = np.zeros((6, 7), np.uint32)
    masks[1:3, 1:3] = 5
    masks[3:5, 4:7] = top_id
    classes = np.zeros(top_id + 1, np.int32)
    classes[top_id] = 1
    out = save_seg(tmp_path / "big.tif", masks, classes, ["background", "cell"])
    raw = np.load(out, allow_pickle=True).item()
    expected = np.uint16 if top_id < 65535 else np.uint32  # upstream's rule
    assert raw["masks"].dtype == expected and raw["outlines"].dtype == expected
    seg = load_seg(out)
    assert int(seg.masks.max()) == top_id
    np.testing.assert_array_equal(seg.masks, masks)
    assert seg.classes[top_id] == 1 and seg.classes[5] == 0


def test_ids_beyond_uint32_are_refused(tmp_path):
    masks = np.zeros((3, 3), np.int64)
    masks[1, 1] = 2**32
    with pytest.raises(ValueError, match="0..4294967295"):
        save_seg(tmp_path / "x.tif", masks)
    assert not list(tmp_path.iterdir())


def test_saved_file_has_normal_permissions(tmp_path, real_masks):
    old = os.umask(0o022)
    try:
        out = save_seg(tmp_path / "p.tif", real_masks)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_crash_mid_save_keeps_previous_file_and_leaves_no_temp(tmp_path, real_masks, monkeypatch):
    out = save_seg(tmp_path / "c.tif", real_masks)
    before = out.read_bytes()
    real_save = np.save

    def save_then_crash(fh, arr, *args, **kwargs):
        real_save(fh, arr, *args, **kwargs)  # bytes are on disk in the temp file ...
        raise OSError("disk full")  # ... then the write fails

    monkeypatch.setattr(np, "save", save_then_crash)
    with pytest.raises(OSError, match="disk full"):
        save_seg(tmp_path / "c.tif", np.zeros_like(real_masks))
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c_seg.npy"]
    np.testing.assert_array_equal(load_seg(out).masks, real_masks)


def test_seg_path_for_follows_cellpose_naming(tmp_path):
    assert seg_path_for(tmp_path / "a.ome.tif") == tmp_path / "a.ome_seg.npy"
    assert seg_path_for("b.png", suffix="_pred.npy") == Path("b_pred.npy")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"classes": np.zeros(3, np.int32)}, "classes has 3 entries"),
        ({"classes": np.array([0, 1, 5, 0, 0]), "class_names": ["background", "a"]}, "class 5"),
        ({"ismanual": np.zeros(2, bool)}, "ismanual"),
        ({"outlines": np.zeros((2, 2))}, "outlines shape"),
        ({"metadata": {"mcp_pred_params": {"x": object()}}}, "cannot be stored"),
        ({"metadata": {"series": 1}}, "unknown _seg.npy metadata key.*'series'"),
        ({"preserved": {"classes": [0]}}, "clashes"),
    ],
)
def test_bad_arguments_raise_before_writing(tmp_path, kwargs, message):
    masks = np.zeros((5, 5), np.uint16)
    masks[1:3, 1:3] = 4
    with pytest.raises((ValueError, TypeError), match=message):
        save_seg(tmp_path / "x.tif", masks, **kwargs)
    assert not list(tmp_path.iterdir())


def test_three_d_masks_are_reported_not_misread(tmp_path):
    np.save(tmp_path / "z_seg.npy", {"masks": np.ones((3, 4, 4), np.uint16)}, allow_pickle=True)
    with pytest.raises(LabelReadError, match="only 2-D"):
        load_seg(tmp_path / "z_seg.npy")


def test_written_keys_are_exactly_the_documented_set(tmp_path):
    """Upstream's keys, ours, the metadata asked for, and foreign keys of a file read back;
    nothing else (a Trainer save of series 1 used to add a stray 'series' key)."""
    from cellpose_io.seg import METADATA_KEYS, write_seg
    from guv_app.controllers.trainer_autosave import SaveJob, write_job

    masks = np.zeros((6, 6), np.uint16)
    masks[1:3, 1:3] = 1
    image = tmp_path / "cells.lif"
    job = SaveJob(image, masks, np.array([0, 1]), ["background", "a"], [(0, 0, 0), (1, 2, 3)],
                  version=1, token=1, series=1, t=2, z=0)
    out = write_job(job)
    assert out.name == "cells_s1_t2_z0_seg.npy"  # the plane is in the name, not in the keys
    base = {"masks", "outlines", "chan_choose", "ismanual", "filename", "diameter", "classes",
            "class_names", "class_colors", "mcp_seg_version"}
    assert set(np.load(out, allow_pickle=True).item()) == base

    upstream = np.load(out, allow_pickle=True).item()
    upstream["img"] = np.zeros((6, 6), np.uint8)  # as the Cellpose GUI writes it
    upstream["mcp_pred_model"] = "tiny"
    np.save(out, upstream, allow_pickle=True)
    seg = load_seg(out)
    write_seg(seg)
    back = np.load(out, allow_pickle=True).item()
    assert set(back) == base | {"img", "mcp_pred_model"}
    assert back["mcp_pred_model"] == "tiny" and back["img"].shape == (6, 6)
    assert "mcp_pred_model" in METADATA_KEYS and "series" not in METADATA_KEYS


def test_labels_of_another_size_are_refused_naming_both_sizes(tmp_path):
    masks = np.zeros((6, 8), np.uint16)
    masks[1:3, 1:3] = 1
    out = save_seg(tmp_path / "img.tif", masks)
    assert load_seg(out, (6, 8)).masks.shape == (6, 8)
    with pytest.raises(LabelReadError, match="labels are 6x8 but the image is 8x6"):
        load_seg(out, (8, 6))
