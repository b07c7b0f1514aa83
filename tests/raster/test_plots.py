"""Histogram PNGs: a reused figure draws exactly what a new figure draws, whatever came before."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from scoresby.raster import plots
from scoresby.raster.ops import INDEX_BINS


def dn_hist(mean: float, n: int = 20_000) -> np.ndarray:
    values = np.random.default_rng(int(mean)).normal(mean, 700, n).astype(int).clip(1, 65535)
    return np.bincount(values, minlength=65536)


KINDS = {
    "visual": {
        "bands": ["B4", "B3", "B2"],
        "dn_hists": [dn_hist(9000), dn_hist(9500), dn_hist(10000)],
        "cutoffs": [[8000, 11000], [8200, 11200], [8400, 11400]],
    },
    "merge": {"bands": ["B4", "B3"], "dn_hists": [dn_hist(20000, 200_000), dn_hist(21000, 200_000)]},
    "index": {"bands": ["B5", "B4"], "index_hist": np.arange(INDEX_BINS) * 7},
}


def draw(path: Path, kind: str) -> bytes:
    plots.write_histogram(path, f"{kind} product\nSCENE_ID", **KINDS[kind])
    return path.read_bytes()


def fresh(path: Path, kind: str) -> bytes:
    plots._idle_figures.clear()  # the next histogram gets a new figure
    return draw(path, kind)


def test_a_reused_figure_draws_the_same_png_as_a_new_one(tmp_path: Path) -> None:
    expected = {kind: fresh(tmp_path / f"{kind}-new.png", kind) for kind in KINDS}
    plots._idle_figures.clear()
    for i, kind in enumerate(["visual", "index", "merge", "visual", "merge", "index"]):
        assert draw(tmp_path / f"{i}.png", kind) == expected[kind], (i, kind)


def test_writers_at_the_same_time_draw_on_figures_of_their_own(tmp_path: Path) -> None:
    expected = fresh(tmp_path / "new.png", "visual")
    results: list[bytes] = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(draw(tmp_path / f"t{i}.png", "visual")))
        for i in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected, expected]
