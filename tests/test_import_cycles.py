"""No import cycles: no module imports another that imports it back, and no two sibling
packages import each other (counting imports inside functions and under TYPE_CHECKING).

A cycle is where one concept has leaked into two places; grimp reads the imports from the
source without running it.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp")

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("guv_app", "cellpose_io")


@pytest.fixture(scope="module")
def graph():
    sys.path.insert(0, str(ROOT))
    try:
        return grimp.build_graph(*PACKAGES, cache_dir=None)
    finally:
        sys.path.remove(str(ROOT))


def _ours(graph) -> list[str]:
    return sorted(m for m in graph.modules if m.split(".")[0] in PACKAGES)


def test_no_module_imports_a_module_that_imports_it_back(graph):
    cycles = []
    for module in _ours(graph):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported == module:  # a module naming itself (e.g. in a string) is no cycle
                continue
            if imported.split(".")[0] in PACKAGES and graph.chain_exists(
                importer=imported, imported=module
            ):
                chain = graph.find_shortest_chain(importer=imported, imported=module)
                cycles.append(f"{module} -> {' -> '.join(chain)}")
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_two_sibling_packages_import_each_other(graph):
    both_ways = []
    for package in _ours(graph):
        children = sorted(graph.find_children(package))
        for a, b in itertools.combinations(children, 2):
            if graph.chain_exists(importer=a, imported=b, as_packages=True) and \
                    graph.chain_exists(importer=b, imported=a, as_packages=True):
                both_ways.append(f"{a} <-> {b}")
    assert not both_ways, "packages importing each other:\n" + "\n".join(both_ways)


def test_the_check_finds_a_planted_cycle(tmp_path):
    """The graph sees a cycle written the way ours were (one side inside a function)."""
    pkg = tmp_path / "planted"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from planted import b\n")
    (pkg / "b.py").write_text("def f():\n    from planted import a\n    return a\n")
    sys.path.insert(0, str(tmp_path))
    try:
        g = grimp.build_graph("planted", cache_dir=None)
    finally:
        sys.path.remove(str(tmp_path))
    assert g.chain_exists(importer="planted.a", imported="planted.b")
    assert g.chain_exists(importer="planted.b", imported="planted.a")
