"""Quicklook and histogram PNGs of a product (matplotlib object API on the Agg canvas, no pyplot state)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from PIL import Image  # noqa: E402
from rasterio.enums import Resampling  # noqa: E402

from scoresby.raster.ops import INDEX_BINS, INDEX_RANGE  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

QUICKLOOK_MAX_PX = 1024
INDEX_CMAPS = {"ndvi": "RdYlGn", "ndsi": "RdBu", "ndwi": "BrBG"}
CHANNEL_COLORS = ("tab:red", "tab:green", "tab:blue")


def write_png(png_path: Path, rgba: np.ndarray, compress_level: int = 6) -> None:
    """An (h, w, 4) uint8 array as an RGBA PNG (PIL encodes without the GIL: callers may use threads)."""
    Image.fromarray(np.ascontiguousarray(rgba), "RGBA").save(
        png_path, format="PNG", compress_level=compress_level
    )


def write_palette_png(
    png_path: Path, codes: np.ndarray, palette: np.ndarray, compress_level: int = 6
) -> None:
    """An (h, w) uint8 array of palette indices as a PNG with an RGBA palette (palette[i]: index i's colour).

    One byte a pixel instead of four: a quarter of the data to filter and deflate, and a smaller file.
    """
    rgba = np.zeros((256, 4), dtype=np.uint8)
    rgba[: len(palette)] = palette
    image = Image.fromarray(np.ascontiguousarray(codes, dtype=np.uint8), "P")
    image.putpalette(rgba[:, :3].tobytes(), "RGB")
    image.save(png_path, format="PNG", compress_level=compress_level, transparency=rgba[:, 3].tobytes())


def decimated_shape(width: int, height: int, max_px: int = QUICKLOOK_MAX_PX) -> tuple[int, int]:
    """(rows, cols) of a read decimated by the smallest integer factor that fits in max_px.

    An integer factor lands on (or between) the COG's power-of-two overviews, so GDAL serves the read
    from an overview instead of decoding full resolution.
    """
    factor = max(1, -(-max(width, height) // max_px))
    return max(1, -(-height // factor)), max(1, -(-width // factor))


def _display_stretch(band: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """2-98 % linear stretch of a decimated uint16 band to uint8 for display (band_merge quicklooks)."""
    if not valid.any():
        return np.zeros(band.shape, dtype=np.uint8)
    lo, hi = np.percentile(band[valid], (2, 98))
    scaled = np.clip((band.astype(np.float32) - lo) / max(hi - lo, 1.0), 0, 1)
    return (scaled * 255).astype(np.uint8)


def write_quicklook(cog_path: Path, png_path: Path, product: str, kind: str) -> None:
    """PNG of at most 1024 px from a decimated read (served by the COG's overviews); nodata transparent."""
    with rasterio.open(cog_path) as ds:
        rows, cols = decimated_shape(ds.width, ds.height)
        data = ds.read(out_shape=(ds.count, rows, cols), resampling=Resampling.nearest)
    if kind == "index":
        values = data[0]
        cmap = matplotlib.colormaps[INDEX_CMAPS.get(product, "viridis")]
        rgba = cmap(np.clip((values + 1.0) / 2.0, 0.0, 1.0), bytes=True)
        rgba[..., 3] = np.where(np.isfinite(values), 255, 0)
    else:
        valid = (data != 0).all(axis=0)
        rgb = data[:3] if kind == "visual" else np.stack([_display_stretch(b, valid) for b in data[:3]])
        alpha = np.where(valid, 255, 0).astype(np.uint8)
        rgba = np.concatenate([rgb.astype(np.uint8), alpha[None]]).transpose(1, 2, 0)
    write_png(png_path, rgba)


def _stairs_outline(counts: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The vertices `Axes.stairs` draws (up from 0 at the first edge, the steps, down to 0 at the last)."""
    xs = np.repeat(edges, 2)
    ys = np.concatenate([[0], np.repeat(counts, 2), [0]])
    return xs, ys


def _plot_dn_histograms(
    ax: object, hists: Sequence[np.ndarray], bands: Sequence[str], cutoffs: Sequence[Sequence[float]] | None
) -> None:
    total = np.sum(hists, axis=0)
    nz = np.nonzero(total)[0]
    lo, hi = (int(nz[0]), int(nz[-1])) if nz.size else (0, 1)
    if cutoffs:
        lo = int(min(lo, *(c[0] for c in cutoffs)))
        hi = int(max(hi, *(c[1] for c in cutoffs)))
    # Aggregate the 65536 exact bins into at most 256 display bins over the occupied DN range.
    edges = np.unique(np.linspace(lo, hi + 1, 257).astype(np.int64))
    for i, (hist, band) in enumerate(zip(hists, bands, strict=True)):
        color = CHANNEL_COLORS[i % len(CHANNEL_COLORS)]
        counts = np.add.reduceat(hist[lo : hi + 1], edges[:-1] - lo) if hi > lo else hist[lo : lo + 1]
        # A line through stairs' own outline: a patch's data limits are found by walking its path segment by
        # segment, which cost ~20 ms per channel (a small scene's fixed cost); a line's are vectorised.
        ax.plot(*_stairs_outline(counts, edges[: len(counts) + 1]), color=color, label=band, linewidth=1)  # type: ignore[attr-defined]
        if cutoffs:
            for c in cutoffs[i]:
                ax.axvline(c, color=color, linestyle="--", linewidth=1)  # type: ignore[attr-defined]
    ax.set_xlabel("DN")  # type: ignore[attr-defined]


def write_histogram(
    png_path: Path,
    title: str,
    *,
    bands: Sequence[str],
    dn_hists: Sequence[np.ndarray] | None = None,
    cutoffs: Sequence[Sequence[float]] | None = None,
    index_hist: np.ndarray | None = None,
) -> None:
    """Per-channel DN histograms with the stretch cut-offs dashed, or an index's value histogram."""
    with _histogram_axes() as (fig, ax):
        if index_hist is not None:
            edges = np.linspace(*INDEX_RANGE, INDEX_BINS + 1)
            ax.fill_between(*_stairs_outline(index_hist, edges), color="tab:green", linewidth=0)
            ax.set_xlabel("value")
        elif dn_hists is not None:
            _plot_dn_histograms(ax, dn_hists, bands, cutoffs)
            ax.legend(loc="upper right")
        ax.set_ylim(bottom=0)  # counts start at 0, as stairs' baseline kept them
        ax.set_ylabel("pixels")
        ax.set_title(title, fontsize=8)
        fig.savefig(png_path)


_idle_figures: list[tuple[Figure, Any]] = []
_idle_lock = threading.Lock()


@contextmanager
def _histogram_axes() -> Iterator[tuple[Figure, Any]]:
    """A histogram figure of this process, emptied of the last plot's artists (same PNG as a new figure).

    A new figure per histogram cost a third more: its renderer starts with cold text-layout caches. Each
    scene's pool threads are new, and two write histograms at the same time, so figures are lent out, one
    per writer, and kept for the next scene.
    """
    with _idle_lock:
        cached = _idle_figures.pop() if _idle_figures else None
    if cached is None:
        # Imported here: the figure machinery (axes, projections, the Agg canvas) is 0.1 s of imports that
        # quicklook-only processes (place products, the AWS place jobs) never use.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.4, 3.6), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        # Fixed margins that fit the two-line title and 6-digit counts (matplotlib shows 1e6 and up with
        # an offset): tight_layout() drew the whole figure once more to measure it, a third of the time.
        fig.subplots_adjust(left=0.14, right=0.98, bottom=0.135, top=0.87)
        cached = (fig, ax)
    fig, ax = cached
    for artist in [*ax.lines, *ax.collections, *ax.patches]:
        artist.remove()
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()
    ax.ignore_existing_data_limits = True  # the next plot alone sets the data limits, as on new axes
    ax.set_autoscale_on(True)
    try:
        yield fig, ax
    finally:
        with _idle_lock:
            _idle_figures.append(cached)
