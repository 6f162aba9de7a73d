"""Label sets per channel in ``_seg.npy`` (issue 14): ours round-trip, 0.9's load, the
Cellpose GUI still sees the shared set, malformed 0.9 payloads give one clear line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from cellpose_io import LabelReadError, load_seg, save_seg
from cellpose_io.channel_labels import ChannelSet
from cellpose_io.seg import METADATA_KEYS, write_seg

DATA = Path(__file__).resolve().parents[1] / "data"
STARDIST_MASK = DATA / "labelled" / "stardist" / "mask2d.tif"


@pytest.fixture(scope="module")
def real_masks() -> np.ndarray:
    return tifffile.imread(STARDIST_MASK)[:128, :160].copy()


def _relabel(masks: np.ndarray) -> np.ndarray:
    """The same objects with ids 1..N in raster order of first pixel (independent ids)."""
    out = np.zeros(masks.shape, np.uint16)
    for k, v in enumerate(dict.fromkeys(masks.ravel()[masks.ravel() > 0].tolist()), 1):
        out[masks == v] = k
    return out


def _two_channel_sets(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ch0 = _relabel(masks)
    ch1 = _relabel(np.where(np.arange(masks.shape[1])[None, :] < 80, masks, 0))
    return ch0, ch1


def test_channel_keys_are_documented_in_one_place():
    for key in ("channel_segmentations", "active_channel_index", "associations", "object_ids"):
        assert key in METADATA_KEYS and METADATA_KEYS[key]


def test_our_channel_sets_round_trip_and_cellpose_sees_the_shared_set(tmp_path, real_masks):
    utils = pytest.importorskip("cellpose.utils")
    shared = _relabel(real_masks[:, ::-1])
    ch0, ch1 = _two_channel_sets(real_masks)
    cls1 = np.zeros(int(ch1.max()) + 1, np.int32)
    cls1[1::2] = 2
    sets = {0: ChannelSet(ch0, np.zeros(int(ch0.max()) + 1, np.int32), ["background"],
                          [(0, 0, 0)]),
            1: ChannelSet(ch1, cls1, ["background", "membrane", "content"],
                          [(0, 0, 0), (255, 0, 0), (0, 255, 0)])}
    groups = {"version": 1, "next_object_id": 3, "groups": [
        {"object_id": 1, "members": [{"channel": 0, "mask_id": 2}, {"channel": 1, "mask_id": 1}]},
        {"object_id": 2, "members": [{"channel": 0, "mask_id": 5}, {"channel": 1, "mask_id": 4}]},
    ]}
    out = save_seg(tmp_path / "img.tif", shared, channel_sets=sets, active_channel=1,
                   associations=groups)

    dat = np.load(out, allow_pickle=True).item()  # what cellpose.gui.io._load_seg does
    np.testing.assert_array_equal(dat["masks"], shared)
    np.testing.assert_array_equal(dat["outlines"], shared * utils.masks_to_outlines(shared))
    assert len(dat["ismanual"]) == dat["masks"].max()
    entry = dat["channel_segmentations"]["1"]  # 0.9's layout: str keys, int16 classes
    assert entry["classes"].dtype == np.int16 and entry["masks"].ndim == 2
    assert dat["active_channel_index"] == 1
    expected_oids = np.zeros(int(ch1.max()) + 1, np.int32)
    expected_oids[[1, 4]] = [1, 2]
    np.testing.assert_array_equal(dat["object_ids"], expected_oids)

    seg = load_seg(out)
    np.testing.assert_array_equal(seg.masks, shared)
    assert sorted(seg.channel_sets) == [0, 1] and seg.active_channel == 1
    np.testing.assert_array_equal(seg.channel_sets[0].masks, ch0)
    np.testing.assert_array_equal(seg.channel_sets[1].masks, ch1)
    assert not seg.channel_sets[0].classes.any()  # our unassigned objects stay unassigned
    np.testing.assert_array_equal(seg.channel_sets[1].classes, cls1)
    assert seg.channel_sets[1].class_names == ["background", "membrane", "content"]
    assert seg.associations == groups
    # load -> save -> load: the same file content
    again = load_seg(write_seg(seg, tmp_path / "again_seg.npy"))
    assert again.associations == groups and again.active_channel == 1
    for ch in (0, 1):
        np.testing.assert_array_equal(again.channel_sets[ch].masks, seg.channel_sets[ch].masks)
        np.testing.assert_array_equal(again.channel_sets[ch].classes,
                                      seg.channel_sets[ch].classes)


def _v09_file(path: Path, masks: np.ndarray) -> dict:
    """A MultiCellPose 0.9 file built from its documented keys (COMMON.md file contract)."""
    ch0, ch1 = _two_channel_sets(masks)
    n0, n1 = int(ch0.max()), int(ch1.max())
    cls1 = np.zeros(n1 + 1, np.int16)
    cls1[2] = 2
    cls1[3] = 1
    dat = {
        "masks": ch1[np.newaxis].copy(), "outlines": np.zeros((1, *ch1.shape), np.uint16),
        "filename": str(path.with_name("img.tif")), "ismanual": np.zeros(n1, bool),
        "class_names": ["membrane", "content"],
        "channel_segmentations": {
            "0": {"masks": ch0[np.newaxis].copy(), "mask_classes": np.zeros(n0 + 1, np.int16),
                  "classes_map": None, "instance_colors": np.zeros((n0 + 1, 3), np.uint8)},
            1: {"masks": ch1.copy(), "classes": cls1, "classes_map": None},
        },
        "active_channel_index": 1,
        "associations": {"version": 1, "next_object_id": 9, "groups": [
            {"object_id": 4, "members": [{"channel": 0, "mask_id": 1},
                                         {"channel": 1, "mask_id": 3}]},
            {"object_id": 7, "members": [{"channel": 0, "mask_id": 2},
                                         {"channel": 1, "mask_id": 2}]}]},
        "object_ids": np.zeros(n1 + 1, np.int32),
    }
    np.save(path, dat, allow_pickle=True)
    return dat


def test_a_v09_file_loads_its_channel_sets_and_links_and_round_trips(tmp_path, real_masks):
    path = tmp_path / "img_seg.npy"
    raw = _v09_file(path, real_masks)
    seg = load_seg(path)
    ch0 = raw["channel_segmentations"]["0"]["masks"][0]
    ch1 = raw["channel_segmentations"][1]["masks"]
    np.testing.assert_array_equal(seg.channel_sets[0].masks, ch0)
    np.testing.assert_array_equal(seg.channel_sets[1].masks, ch1)
    # 0.9: all-zero classes mean class 1 for every object
    assert seg.channel_sets[0].classes[0] == 0 and (seg.channel_sets[0].classes[1:] == 1).all()
    assert seg.channel_sets[0].classes.shape == (int(ch0.max()) + 1,)
    # given classes are kept (not promoted), named by the file's one class table
    assert seg.channel_sets[1].classes[2] == 2 and seg.channel_sets[1].classes[3] == 1
    assert seg.channel_sets[1].classes[1] == 0
    assert seg.channel_sets[1].class_names == ["background", "membrane", "content"]
    assert seg.active_channel == 1
    assert [g["object_id"] for g in seg.associations["groups"]] == [4, 7]
    assert seg.associations["groups"][0]["members"] == [{"channel": 0, "mask_id": 1},
                                                         {"channel": 1, "mask_id": 3}]
    assert seg.associations["next_object_id"] == 9
    again = load_seg(write_seg(seg, tmp_path / "out_seg.npy"))
    assert again.associations == seg.associations and again.active_channel == 1
    for ch in (0, 1):
        np.testing.assert_array_equal(again.channel_sets[ch].masks, seg.channel_sets[ch].masks)
        np.testing.assert_array_equal(again.channel_sets[ch].classes,
                                      seg.channel_sets[ch].classes)
        assert again.channel_sets[ch].class_names == seg.channel_sets[ch].class_names
    written = np.load(tmp_path / "out_seg.npy", allow_pickle=True).item()
    assert written["object_ids"][3] == 4 and written["object_ids"][2] == 7


@pytest.mark.parametrize("change, words", [
    (lambda d: d["channel_segmentations"].__setitem__("0", [1, 2]), "not a dictionary"),
    (lambda d: d["channel_segmentations"]["0"].__setitem__("masks", np.zeros((5, 5), np.uint16)),
     "masks are 5x5"),
    (lambda d: d["channel_segmentations"]["0"].pop("masks"), "has no 'masks'"),
    (lambda d: d["channel_segmentations"].__setitem__("red", d["channel_segmentations"]["0"]),
     "'red' is not an integer"),
    (lambda d: d["channel_segmentations"]["0"].__setitem__(
        "mask_classes", np.array(["a", "b"])), "integer class ids"),
    (lambda d: d.__setitem__("associations", {"groups": [{"members": []}]}),
     "object_id"),
    (lambda d: d.__setitem__("associations", {"groups": [
        {"object_id": 1, "members": [{"channel": 0, "mask_id": -3}]}]}), "out of range"),
    (lambda d: d.__setitem__("active_channel_index", "x"), "active_channel_index"),
    (lambda d: d.__setitem__("object_ids", np.zeros((2, 2))), "object_ids"),
])
def test_a_malformed_v09_payload_names_the_file_and_the_problem(tmp_path, real_masks, change,
                                                                words):
    path = tmp_path / "img_seg.npy"
    dat = _v09_file(path, real_masks)
    change(dat)
    np.save(path, dat, allow_pickle=True)
    before = path.read_bytes()
    with pytest.raises(LabelReadError) as info:
        load_seg(path)
    text = str(info.value)
    assert str(path) in text and words in text and "\n" not in text
    assert path.read_bytes() == before  # nothing lost


def test_channel_keys_cannot_sneak_in_as_metadata(tmp_path, real_masks):
    with pytest.raises(ValueError, match="channel_sets="):
        save_seg(tmp_path / "a.tif", real_masks,
                 metadata={"channel_segmentations": {"0": {"masks": real_masks}}})


def test_per_plane_files_keep_their_own_channel_sets(tmp_path, real_masks):
    ch0, ch1 = _two_channel_sets(real_masks)
    image = tmp_path / "stack.tif"
    a = save_seg(image, ch0, channel_sets={1: ChannelSet(ch1, None)}, active_channel=1,
                 out_path=tmp_path / "stack_t0_z0_seg.npy")
    b = save_seg(image, ch1, channel_sets={1: ChannelSet(ch0, None)}, active_channel=1,
                 out_path=tmp_path / "stack_t0_z1_seg.npy")
    np.testing.assert_array_equal(load_seg(a).channel_sets[1].masks, ch1)
    np.testing.assert_array_equal(load_seg(b).channel_sets[1].masks, ch0)


def test_sparse_ids_of_a_channel_are_renumbered_and_its_links_follow(tmp_path, real_masks):
    """Ids are valid up to 2**32-1; tables indexed by id need 1..N (as the Cellpose GUI
    renumbers): the links of that channel move with their objects."""
    big = np.zeros((20, 20), np.uint32)
    big[2:6, 2:6] = 40_000_000
    big[10:14, 10:14] = 20_000_000
    small = np.zeros((20, 20), np.uint16)
    small[2:6, 2:6] = 1
    path = tmp_path / "sparse_seg.npy"
    np.save(path, {"masks": small, "channel_segmentations": {"3": {"masks": big}},
                   "associations": {"groups": [{"object_id": 5, "members": [
                       {"channel": 0, "mask_id": 1}, {"channel": 3, "mask_id": 40_000_000}]}]}},
            allow_pickle=True)
    seg = load_seg(path)
    masks = seg.channel_sets[3].masks
    assert masks[3, 3] == 2 and masks[11, 11] == 1  # order kept: 20e6 -> 1, 40e6 -> 2
    assert seg.associations["groups"][0]["members"] == [{"channel": 0, "mask_id": 1},
                                                        {"channel": 3, "mask_id": 2}]
