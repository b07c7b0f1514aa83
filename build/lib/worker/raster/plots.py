"""Quicklook and histogram PNGs of a product (matplotlib object API on the Agg canvas, no pyplot state)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from rasterio.enums import Resampling  # noqa: E402

from worker.raster.ops import INDEX_BINS, INDEX_RANGE  # noqa: E402

logger = logging.getLogger(__name__)

QUICKLOOK_MAX_PX = 1024
INDEX_CMAPS = {"ndvi": "RdYlGn", "ndsi": "RdBu", "ndwi": "BrBG"}
CHANNEL_COLORS = ("tab:red", "tab:green", "tab:blue")


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
    mpimg.imsave(png_path, np.ascontiguousarray(rgba))


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
        ax.stairs(counts, edges[: len(counts) + 1], color=color, label=band)  # type: ignore[attr-defined]
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
    fig = Figure(figsize=(6.4, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if index_hist is not None:
        edges = np.linspace(*INDEX_RANGE, INDEX_BINS + 1)
        ax.stairs(index_hist, edges, fill=True, color="tab:green")
        ax.set_xlabel("value")
    elif dn_hists is not None:
        _plot_dn_histograms(ax, dn_hists, bands, cutoffs)
        ax.legend(loc="upper right")
    ax.set_ylabel("pixels")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(png_path)
