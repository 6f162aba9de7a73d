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
