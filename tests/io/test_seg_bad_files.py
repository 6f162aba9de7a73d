"""_seg.npy files that must not load: crafted pickles, truncation, wrong content."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from cellpose_io import LabelReadError, load_seg, save_seg


class _RunsCode:
    """Pickles to ``os.system(<cmd>)``: what a malicious _seg.npy would carry."""

    def __init__(self, cmd: str):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


def _write_npy_with_pickle(path: Path, payload: bytes) -> None:
    """A valid .npy header for a 0-d object array followed by an arbitrary pickle."""
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "|O", "fortran_order": False, "shape": ()}
        )
        fh.write(payload)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_crafted_pickle_is_refused_and_never_runs(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil_seg.npy"
    dat = {"x": _RunsCode(f"touch {marker}"), "masks": np.zeros((4, 4), np.uint16)}
    arr = np.empty((), dtype=object)
    arr[()] = dat
    _write_npy_with_pickle(path, pickle.dumps(arr, protocol=protocol))
    # Sanity: the file really is dangerous for a plain np.load.
    assert b"system" in path.read_bytes()
    with pytest.raises(LabelReadError) as info:
        load_seg(path)
    assert str(path) in str(info.value)
    assert "posix.system" in info.value.reason or "os.system" in info.value.reason
    assert not marker.exists()


def test_eval_builtin_is_refused(tmp_path):
    path = tmp_path / "eval_seg.npy"

    class _Eval:
        def __reduce__(self):
            return (eval, ("1+1",))

    _write_npy_with_pickle(path, pickle.dumps({"masks": _Eval()}, protocol=4))
    with pytest.raises(LabelReadError, match="builtins.eval"):
        load_seg(path)


def _good_file(tmp_path: Path) -> Path:
    masks = np.zeros((20, 20), np.uint16)
    masks[2:8, 2:8] = 1
    masks[10:18, 10:18] = 2
    return save_seg(tmp_path / "good.tif", masks)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_file_is_reported(tmp_path, keep):
    good = _good_file(tmp_path)
    data = good.read_bytes()
    bad = tmp_path / "cut_seg.npy"
    bad.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(LabelReadError, match="truncated|corrupt") as info:
        load_seg(bad)
    assert info.value.path == str(bad)


def test_header_only_and_empty_and_garbage(tmp_path):
    header_only = tmp_path / "h_seg.npy"
    _write_npy_with_pickle(header_only, b"")
    with pytest.raises(LabelReadError, match="truncated"):
        load_seg(header_only)
    empty = tmp_path / "e_seg.npy"
    empty.write_bytes(b"")
    with pytest.raises(LabelReadError, match="not a valid .npy"):
        load_seg(empty)
    garbage = tmp_path / "g_seg.npy"
    garbage.write_bytes(b"this is not numpy at all" * 10)
    with pytest.raises(LabelReadError, match="not a valid .npy"):
        load_seg(garbage)
    flipped = tmp_path / "f_seg.npy"
    data = bytearray(_good_file(tmp_path).read_bytes())
    data[200:260] = b"\xff" * 60
    flipped.write_bytes(bytes(data))
    with pytest.raises(LabelReadError):
        load_seg(flipped)


def test_missing_file(tmp_path):
    with pytest.raises(LabelReadError, match="file not found"):
        load_seg(tmp_path / "nope_seg.npy")


def test_plain_array_npy_is_not_a_seg_file(tmp_path):
    path = tmp_path / "plain.npy"
    np.save(path, np.zeros((5, 5), np.uint16))
    with pytest.raises(LabelReadError, match="plain uint16 array"):
        load_seg(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"outlines": np.zeros((3, 3))}, "missing key 'masks'"),
        ([1, 2, 3], "plain int64 array"),
        ([1, None], "holds a ndarray, not a _seg.npy dictionary"),
        ({"masks": [[1, 2], [3, 4]]}, "'masks' is a list"),
        ({"masks": np.zeros(5, np.uint16)}, "shape"),
        ({"masks": np.full((3, 3), 0.5)}, "fractions"),
        ({"masks": np.full((3, 3), -2, np.int32)}, "negative"),
        ({"masks": np.ones((3, 3), np.uint16), "classes": np.array([0])}, "classes length mismatch"),
        ({"masks": np.ones((3, 3), np.uint16), "classes": np.array([0, -1])}, "negative class"),
        (
            {"masks": np.ones((3, 3), np.uint16), "classes_map": np.ones((4, 4), np.int16)},
            "'classes_map' has shape",
        ),
        (
            {"masks": np.ones((3, 3), np.uint16), "class_colors": ["not-a-colour"]},
            "unreadable class table",
        ),
    ],
)
def test_wrong_content_names_file_and_problem(tmp_path, content, message):
    path = tmp_path / "w_seg.npy"
    np.save(path, content, allow_pickle=True)
    with pytest.raises(LabelReadError, match=message) as info:
        load_seg(path)
    assert str(info.value).startswith(str(path))


def test_unnamed_classes_get_placeholder_names_not_an_error(tmp_path):
    path = tmp_path / "n_seg.npy"
    dat = {"masks": np.ones((3, 3), np.uint16), "classes": np.array([0, 3]),
           "class_names": ["background", "a"]}
    np.save(path, dat, allow_pickle=True)
    seg = load_seg(path)
    assert seg.class_names == ["background", "a", "class 2", "class 3"]
    assert len(seg.class_colors) == 4 and seg.classes.tolist() == [0, 3]
