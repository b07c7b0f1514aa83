"""The pictures of a run's time series: the chart of snow/ice, water and cloud, and one timelapse per place.

Frames are read from the true-colour COGs' overviews (never the full-resolution pixels), warped by nearest
neighbour onto one grid per place, so an unchanged area keeps the same pixel values in every frame.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from affine import Affine  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from rasterio.crs import CRS  # noqa: E402
from rasterio.enums import Resampling  # noqa: E402
from rasterio.vrt import WarpedVRT  # noqa: E402

from scoresby.core.timeseries import by_place, is_cloudy  # noqa: E402

logger = logging.getLogger(__name__)

FRAME_MAX_PX = 640
"""Longest side of a timelapse frame."""
HEADER_PX = 24
"""Height of the date strip above each frame (the picture's own pixels are never drawn on)."""


def _dates(rows: Sequence[dict[str, Any]]) -> list[Any]:
    from datetime import datetime

    return [datetime.fromisoformat(str(r["datetime"]).replace("Z", "+00:00")) for r in rows]


def write_chart(rows: Sequence[dict[str, Any]], path: Path, max_cloud: float | None = None) -> Path:
    """timeseries.png: snow/ice, water and cloud percent over time, one line per place.

    Cloudy scenes (cloud percent above `max_cloud`) are drawn as hollow grey markers outside the line, so a
    date whose ice is hidden by cloud does not read as a retreat.
    """
    fig = Figure(figsize=(9, 6.4), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 1, sharex=True)
    panels = (("snow_ice_percent", "snow/ice %"), ("water_percent", "water %"), ("cloud_percent", "cloud %"))
    colours = matplotlib.colormaps["tab10"]
    cloudy_labelled = False
    for i, (place, place_rows) in enumerate(by_place(rows).items()):
        dated = [r for r in place_rows if r.get("datetime")]
        if not dated:
            continue
        dates = _dates(dated)
        colour = colours(i % 10)
        for ax, (key, _) in zip(axes, panels, strict=True):
            good = [(d, r[key]) for d, r in zip(dates, dated, strict=True) if r.get(key) is not None]
            if key != "cloud_percent":
                good = [
                    (d, r[key])
                    for d, r in zip(dates, dated, strict=True)
                    if r.get(key) is not None and not is_cloudy(r, max_cloud)
                ]
                cloudy = [
                    (d, r[key])
                    for d, r in zip(dates, dated, strict=True)
                    if r.get(key) is not None and is_cloudy(r, max_cloud)
                ]
                if cloudy:
                    label = None if cloudy_labelled else "cloudy scene (not a real change)"
                    cloudy_labelled = True
                    ax.scatter(
                        [d for d, _ in cloudy],
                        [v for _, v in cloudy],
                        marker="o",
                        facecolors="none",
                        edgecolors="0.55",
                        s=46,
                        label=label,
                        zorder=3,
                    )
            if good:
                ax.plot(
                    [d for d, _ in good],
                    [v for _, v in good],
                    marker="o",
                    color=colour,
                    label=place if key == "snow_ice_percent" else None,
                    zorder=2,
                )
    limit = 40.0 if max_cloud is None else max_cloud
    axes[2].axhline(limit, color="0.55", linestyle="--", linewidth=1)
    axes[2].text(
        0.005,
        limit,
        f" cloudy above {limit:g} %",
        transform=axes[2].get_yaxis_transform(),
        va="bottom",
        fontsize=8,
        color="0.4",
    )
    for ax, (_, label) in zip(axes, panels, strict=True):
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
    axes[0].set_title("What changed: snow/ice and water over clear pixels, cloud over valid pixels")
    handles, labels = [], []
    for ax in axes:
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    if handles:
        axes[0].legend(handles, labels, fontsize=8, loc="best")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    return path


def place_grid(item: dict[str, Any], max_px: int = FRAME_MAX_PX) -> tuple[CRS, Affine, int, int]:
    """The frame grid of a place: its first scene's grid (STAC proj fields), coarsened to fit `max_px`."""
    props = item["properties"]
    crs = CRS.from_user_input(props.get("proj:code") or props.get("proj:epsg") or props["proj:wkt2"])
    height, width = props["proj:shape"]
    transform = Affine(*props["proj:transform"][:6])
    factor = max(1, math.ceil(max(width, height) / max_px))
    return crs, transform @ Affine.scale(factor), math.ceil(width / factor), math.ceil(height / factor)


def read_frame(cog: str, grid: tuple[CRS, Affine, int, int]) -> np.ndarray:
    """A true-colour COG on the frame grid as (rows, cols, 3) uint8, read from its nearest overview."""
    crs, transform, width, height = grid
    with rasterio.open(cog) as probe:
        factors = probe.overviews(1)
        target_res = abs(transform.a)
        level = -1
        for i, f in enumerate(factors):
            if abs(probe.transform.a) * f <= target_res * 1.0001:
                level = i  # the coarsest overview still at least as fine as the frame
    options = {"OVERVIEW_LEVEL": level} if level >= 0 else {}
    with (
        rasterio.open(cog, **options) as src,
        WarpedVRT(
            src,
            crs=crs,
            transform=transform,
            width=width,
            height=height,
            resampling=Resampling.nearest,
            nodata=0,
        ) as vrt,
    ):
        return np.moveaxis(vrt.read([1, 2, 3]), 0, -1)


def _stamp(frame: np.ndarray, text: str) -> Image.Image:
    """The frame under a dark strip with its date (the picture's own pixels are left untouched)."""
    h, w, _ = frame.shape
    canvas = Image.new("RGB", (w, h + HEADER_PX), (24, 28, 36))
    canvas.paste(Image.fromarray(frame, "RGB"), (0, HEADER_PX))
    ImageDraw.Draw(canvas).text((6, 6), text, fill=(255, 255, 255))
    return canvas


def write_timelapse(
    frames: Sequence[tuple[dict[str, Any], str]],
    gif_path: Path,
    *,
    fps: float = 1.0,
    mp4_path: Path | None = None,
    gdal_env: Mapping[str, str] | None = None,
) -> list[str]:
    """A GIF (and an MP4 where imageio's ffmpeg is there) of (row, true-colour COG) frames in the given order.

    Returns the files written. One palette for every frame (no dithering), so equal pixels stay equal.
    `gdal_env`: GDAL's settings for the COGs' paths (discovery's, e.g. the S3 endpoint), as for the scenes.
    """
    if not frames:
        return []
    grid = place_grid(frames[0][0]["item"])
    images = []
    with rasterio.Env(**(gdal_env or {})):
        for row, cog in frames:
            cloud = row.get("cloud_percent")
            label = f"{str(row['datetime'])[:10]}  {row['sensor']}" + (
                f"  cloud {cloud:.0f} %" if cloud is not None else ""
            )
            images.append(_stamp(read_frame(cog, grid), label))
    # One adaptive palette from all frames together: frame-by-frame palettes would recolour unchanged land.
    w, h = images[0].size
    sheet = Image.new("RGB", (w, h * len(images)))
    for i, im in enumerate(images):
        sheet.paste(im, (0, h * i))
    palette = sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    indexed = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    duration_ms = int(1000 / fps)
    indexed[0].save(
        gif_path, save_all=True, append_images=indexed[1:], duration=duration_ms, loop=0, optimize=False
    )
    written = [str(gif_path)]
    if mp4_path is not None and _write_mp4(images, mp4_path, fps):
        written.append(str(mp4_path))
    return written


MP4_EXTRA = "pip install 'scoresby[video]'"
"""How to get the MP4 timelapses: the optional extra with imageio and imageio-ffmpeg's ffmpeg binary."""


def mp4_unavailable() -> str | None:
    """Why no MP4 can be written here (one line), or None when imageio and its ffmpeg are installed."""
    try:
        import imageio.v2  # noqa: F401
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:  # RuntimeError: the package is there, its binary is not
        return f"no MP4 timelapse: imageio-ffmpeg is not available ({exc}); {MP4_EXTRA} adds it"
    return None


def _write_mp4(images: Sequence[Image.Image], path: Path, fps: float) -> bool:
    """MP4 through imageio-ffmpeg when it is installed; False (and nothing written) otherwise."""
    if mp4_unavailable() is not None:
        return False
    import imageio.v2 as imageio

    try:
        # libx264 wants even sizes: pad by one pixel where needed.
        w, h = images[0].size
        size = (w + w % 2, h + h % 2)
        # imageio's stubs type get_writer's result as its base class, which lacks append_data.
        writer: Any = imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=1)
        with writer:
            for im in images:
                padded = Image.new("RGB", size)
                padded.paste(im)
                writer.append_data(np.asarray(padded))
    except Exception as exc:  # noqa: BLE001 - the MP4 is optional; the GIF is the product
        logger.warning("timelapse %s not written: %s", path, exc)
        path.unlink(missing_ok=True)
        return False
    return True
