"""Casting a memory-mapped weights file hands each tensor's pages back, and loses nothing."""

from __future__ import annotations

import sys

import pytest

torch = pytest.importorskip("torch")

from guv_app.services.engine import pages  # noqa: E402
from guv_app.services.engine.loading import load_model  # noqa: E402
from guv_app.services.engine.network import build_network  # noqa: E402

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise + /proc")


def _resident_kb_of(path) -> int:
    """Resident kB of this process's mappings of ``path`` (``/proc/self/smaps``)."""
    total, inside = 0, False
    with open("/proc/self/smaps", encoding="utf-8") as smaps:
        for line in smaps:
            head = line.split()
            if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                inside = len(head) == 6 and head[5] == str(path)
            elif inside and head[0] == "Rss:":
                total += int(head[1])
    return total


@linux_only
def test_released_pages_leave_the_process_but_not_the_data(tmp_path):
    path = tmp_path / "w.pt"
    big = torch.arange(4_000_000, dtype=torch.float32)  # 16 MB
    torch.save({"w": big, "small": torch.ones(3)}, path)
    state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    assert float(state["w"].sum()) == float(big.sum())  # every page touched
    before = _resident_kb_of(path)
    assert before > 15_000
    assert pages.release_pages(state["w"], pages.file_backed_ranges())
    assert _resident_kb_of(path) < before - 15_000
    assert torch.equal(state["w"], big)  # read again: faulted back in from the file


@linux_only
def test_memory_that_is_not_a_file_mapping_is_never_released():
    heap = torch.arange(4_000_000, dtype=torch.float32)
    assert not pages.release_pages(heap, pages.file_backed_ranges())
    assert torch.equal(heap, torch.arange(4_000_000, dtype=torch.float32))  # not zeroed
    assert not pages.release_pages(heap, [])


def test_bfloat16_load_of_a_file_equals_the_file_cast(tmp_path):
    net = build_network("tiny", 2, seed=5)
    path = tmp_path / "tiny2.pt"
    torch.save(net.state_dict(), path)
    loaded = load_model(str(path), "cpu", dtype="bfloat16", cache=False)
    got = loaded.net.state_dict()
    for name, tensor in net.state_dict().items():
        want = tensor.to(torch.bfloat16) if tensor.is_floating_point() else tensor
        assert torch.equal(got[name], want), name
    if pages.AVAILABLE:  # nothing of the file is left mapped once the load is done
        assert _resident_kb_of(path) == 0


def _rewrite_in_place(path, state) -> None:
    """What ``cp new.pt model.pt`` does: the same inode truncated and written again."""
    tmp = path.with_name("new_" + path.name)
    torch.save(state, tmp)
    path.write_bytes(tmp.read_bytes())  # open("wb"): truncate, then write


@pytest.mark.parametrize("saved, dtype", [("float32", "float32"), ("float32", "bfloat16"),
                                          ("bfloat16", "bfloat16")])
def test_a_loaded_model_does_not_change_when_its_file_is_rewritten(tmp_path, saved, dtype):
    """The network must hold its own weights: a file copied over the model's file (same
    inode) may not change a model already loaded, in any dtype, tensor kind included."""
    first = build_network("tiny", 0, seed=1).to(getattr(torch, saved)).state_dict()
    other = build_network("tiny", 0, seed=2).to(getattr(torch, saved)).state_dict()
    path = tmp_path / "model.pt"
    torch.save(first, path)
    loaded = load_model(str(path), "cpu", dtype=dtype, cache=False)
    before = {k: v.clone() for k, v in loaded.net.state_dict().items()}
    if pages.AVAILABLE:
        assert _resident_kb_of(path) == 0  # nothing of the file is held by the network
    _rewrite_in_place(path, other)
    assert any(not torch.equal(first[k], other[k]) for k in first)  # the file did change
    for name, tensor in loaded.net.state_dict().items():
        assert torch.equal(tensor, before[name]), name


def test_a_shorter_file_over_a_loaded_model_does_not_kill_the_process(tmp_path):
    """Rewriting the file of a float32 model with a shorter one: the process carries on
    (a network reading the file's pages dies of SIGBUS on its next forward)."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    path = tmp_path / "model.pt"
    torch.save(build_network("tiny", 0, seed=1).state_dict(), path)
    script = (
        "import sys, torch\n"
        "from guv_app.services.engine.loading import load_model\n"
        f"net = load_model({str(path)!r}, 'cpu', dtype='float32', cache=False).net\n"
        f"open({str(path)!r}, 'wb').write(b'short')\n"
        "with torch.inference_mode():\n"
        "    y = net(torch.ones(1, 3, 256, 256))[0]\n"
        "print(bool(torch.isfinite(y).all()))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["True"]
