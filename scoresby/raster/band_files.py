"""Opening an untrusted band file: only GeoTIFF or JPEG 2000, only its own side-cars, only a sane size.

A band file comes from a scene list someone else wrote. GDAL opens some hundred formats, and several of them
(VRT above all) make GDAL read other files or URLs: a "band" that is a VRT could copy a local credentials
file into the products, or fetch a plain-http:// URL (inside AWS: the instance metadata endpoint). So the
path must be one of the forms discovery makes, GDAL may only try the two drivers the sensors deliver, and
the opened dataset may only use files in the band's own folder (.aux.xml, .ovr, .msk side-cars).
"""

from __future__ import annotations

import posixpath
import warnings
from pathlib import Path
from typing import Any

import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioError

from scoresby.core.errors import GridMismatch, UnreadableRaster, one_line

DRIVERS = {"GTiff": "GeoTIFF/COG", "JP2OpenJPEG": "JPEG 2000"}
"""GDAL drivers a band file may be opened with (COGs are GeoTIFFs to GDAL's reader)."""
ALLOWED_FORMATS = "allowed: a GeoTIFF/COG or JPEG 2000 band file"
REMOTE_PREFIXES = ("/vsis3/", "/vsicurl/https://")
"""The only GDAL virtual paths discovery makes; every other /vsi handler or connection string is refused."""

MAX_SCENE_PIXELS = 16_000 * 16_000
"""Pixels a band may declare when its sensor gives no limit (each `Sensor.max_pixels` is a full scene with
margin). A few-KB file can declare 30000 x 30000 px and fill the disk with temp data."""

_MAGIC = (
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),
    (b"MM\x00+", "TIFF"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"<VRTDataset", "GDAL VRT (XML)"),
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89HDF", "HDF5"),
    (b"CDF\x01", "NetCDF"),
    (b"PK\x03\x04", "ZIP"),
    (b"<", "XML or HTML text"),
)


def check_gdal_path(scene_id: str, band: str, path: str) -> None:
    """Refuse a path GDAL would treat as a virtual file system or connection string discovery never makes."""
    local = path.startswith("/") and not path.startswith("/vsi")
    if local or (path.startswith(REMOTE_PREFIXES) and "?" not in path.split("/")[1]):
        return
    raise UnreadableRaster(
        scene_id,
        f"band {band} file {path!r} is a GDAL virtual path or connection string; "
        "allowed: a local file, s3:// or https://",
    )


def open_band(
    scene_id: str, band: str, path: str, max_pixels: int = MAX_SCENE_PIXELS, sensor: str = ""
) -> Any:
    """The band file opened with an allowed driver, or UnreadableRaster naming the file and what it is."""
    check_gdal_path(scene_id, band, path)
    drivers = sorted(DRIVERS, key=lambda d: d != "JP2OpenJPEG") if path.lower().endswith(".jp2") else DRIVERS
    failure: RasterioError | None = None
    ds = None
    for driver in drivers:
        try:
            with warnings.catch_warnings():
                # No CRS is reported below as one line; Python's warning would print a source line.
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                ds = rasterio.open(path, driver=driver)
            break
        except RasterioError as exc:
            failure = failure or exc
    if ds is None:
        found = _sniff(path)
        if found in (None, "TIFF", "JPEG 2000"):
            raise UnreadableRaster(
                scene_id,
                f"band {band} file {path} is not a readable raster (GDAL says {gdal_reason(failure, path)}); "
                + ALLOWED_FORMATS,
            )
        raise UnreadableRaster(
            scene_id, f"band {band} file {path} is not a readable raster: it is {found}; {ALLOWED_FORMATS}"
        )
    try:
        _check_dataset(scene_id, band, path, ds, max_pixels, sensor)
    except BaseException:
        ds.close()
        raise
    return ds


def _check_dataset(scene_id: str, band: str, path: str, ds: Any, limit: int, sensor: str) -> None:
    if ds.driver not in DRIVERS:
        raise UnreadableRaster(scene_id, f"band {band} file {path} is {ds.driver}; {ALLOWED_FORMATS}")
    folder = posixpath.dirname(path)
    for used in ds.files:
        if posixpath.dirname(used) != folder:
            raise UnreadableRaster(
                scene_id,
                f"band {band} file {path} makes GDAL read {used}, outside the band's folder; "
                "allowed: side-car files (.aux.xml, .ovr, .msk) next to the band",
            )
    if ds.width * ds.height > limit:
        raise UnreadableRaster(
            scene_id,
            f"band {band} file {path} declares {ds.width} x {ds.height} px, "
            f"more than a full {sensor or 'satellite'} scene; "
            f"allowed: at most {limit:,} px",
        )
    if ds.crs is None:
        raise GridMismatch(
            scene_id, f"band {band} file {path} has no CRS; every band needs one to be aligned"
        )


def _sniff(path: str) -> str | None:
    """What a local file is, from its first bytes (None for remote files or unreadable ones)."""
    if path.startswith("/vsi"):
        return None
    try:
        with Path(path).open("rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if not head:
        return "an empty file"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name if name in ("TIFF", "JPEG 2000") else f"a {name} file"
    return "a file of unknown format"


def cannot_read(scene_id: str, what: str, path: str, exc: BaseException) -> UnreadableRaster:
    """The error of a band file whose pixels GDAL failed to read: `what` ("band B4") and GDAL's reason."""
    return UnreadableRaster(
        scene_id,
        f"{what} file {path} cannot be read (truncated or corrupt?): GDAL says {gdal_reason(exc, path)}",
    )


def gdal_reason(exc: BaseException | None, path: str) -> str:
    """GDAL's own messages on one line (rasterio's "See previous exception" wrappers dropped), file elided."""
    messages: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = one_line(exc)
        if text and "See previous exception" not in text and text not in messages:
            messages.append(text)
        exc = exc.__cause__ or exc.__context__
    text = "; ".join(messages[-2:]) or "no details"
    for quoted in (f"`{path}'", f"'{path}'", f'"{path}"', path, posixpath.basename(path)):
        text = text.replace(quoted, "the file")
    return text
