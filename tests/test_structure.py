"""The code's shape: no import cycle anywhere in scoresby, lambdas and infra, and no module over 400 lines."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("scoresby", "lambdas", "infra")
MAX_LINES = 400


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    """Every import (at module level or inside functions) between the project's modules."""
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Each import cycle once, as the modules around it (a module that imports itself back through others)."""
    found, seen = [], set()
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain is not None:
                cycle = [module, *chain]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    found.append(cycle)
    return found


def test_no_import_cycle(graph: grimp.ImportGraph) -> None:
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    """The check above can fail: a graph with a -> b -> c -> a has that cycle."""
    toy = grimp.ImportGraph()
    for importer, imported in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        toy.add_import(importer=importer, imported=imported)
    assert [sorted(c[:-1]) for c in cycles(toy)] == [["p.a", "p.b", "p.c"]]


def test_no_module_over_400_lines() -> None:
    sizes = {
        str(path.relative_to(REPO_ROOT)): len(path.read_text().splitlines())
        for package in PACKAGES
        for path in (REPO_ROOT / package).rglob("*.py")
    }
    assert sizes, "no modules found"
    assert {path: n for path, n in sizes.items() if n > MAX_LINES} == {}
