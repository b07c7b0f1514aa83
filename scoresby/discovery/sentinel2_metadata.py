"""Sentinel-2 L2A radiometry from product metadata: MTD_MSIL2A.xml (SAFE) or a STAC Item (COGs)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # noqa: S405 - see parse_mtd for why expat is acceptable here
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# ESA's band_id order (MTD Spectral_Information bandId → physicalBand), used when the MTD omits that list.
BAND_IDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
DEFAULT_QUANTIFICATION = 10000.0
# From processing baseline 04.00 (25 January 2022) ESA adds 1000 to every L2A DN (BOA_ADD_OFFSET = -1000).
OFFSET_BASELINE = (4, 0)
BASELINE_OFFSET_DN = -1000.0


class Sentinel2MetadataError(ValueError):
    """A Sentinel-2 metadata file cannot be parsed; the message says why."""


@dataclass(frozen=True)
class Radiometry:
    """How to turn L2A DN into reflectance: reflectance = DN * scale + offset, per band where given."""

    scale: float = 1.0 / DEFAULT_QUANTIFICATION
    offsets: dict[str, float] = field(default_factory=dict)  # band → offset in reflectance units
    scales: dict[str, float] = field(default_factory=dict)  # band → scale, overrides `scale` where given
    default_offset: float = 0.0
    baseline: str | None = None
    datetime: str | None = None
    level: str | None = None  # "L2A", "L1C" or None when the metadata does not say
    source: str = ""  # short description for notes, e.g. "MTD_MSIL2A.xml"
    offset_applied: bool = False  # the provider says the pixel values already had the offset removed

    def for_band(self, band: str) -> tuple[float, float]:
        """(scale, offset) of one band."""
        return self.scales.get(band, self.scale), self.offsets.get(band, self.default_offset)


def baseline_has_offset(baseline: str | None) -> bool:
    """True when a processing baseline such as "04.00" is at or after the one that introduced the offset."""
    parsed = parse_baseline(baseline)
    return parsed is not None and parsed >= OFFSET_BASELINE


def parse_baseline(baseline: str | None) -> tuple[int, int] | None:
    """Processing baseline "04.00" / "N0400" / "4.0" as (4, 0); None when absent or not recognisable."""
    if not baseline:
        return None
    text = baseline.strip().upper().removeprefix("N")
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})", text) or re.fullmatch(r"(\d{2})(\d{2})", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_mtd(text: str) -> Radiometry:
    """PROCESSING_BASELINE, BOA_QUANTIFICATION_VALUE, BOA_ADD_OFFSET and start time of MTD_MSIL2A.xml."""
    try:
        # MTD files are ESA product metadata; Python's bundled expat (>= 2.4.1) refuses the entity-expansion
        # attacks defusedxml guards against, so the stdlib parser is acceptable without another dependency.
        root = ET.fromstring(text)  # noqa: S314
    except ET.ParseError as exc:
        raise Sentinel2MetadataError(f"not well-formed XML: {exc}") from exc
    elements: dict[str, list[ET.Element]] = {}
    for element in root.iter():
        elements.setdefault(_local(element.tag), []).append(element)

    def first_text(name: str) -> str | None:
        found = elements.get(name)
        return found[0].text.strip() if found and found[0].text else None

    root_name = _local(root.tag)
    if "Level-2A" in root_name:
        level = "L2A"
        quant_tag, offset_tag = "BOA_QUANTIFICATION_VALUE", "BOA_ADD_OFFSET"
    elif "Level-1C" in root_name:
        level = "L1C"
        quant_tag, offset_tag = "QUANTIFICATION_VALUE", "RADIO_ADD_OFFSET"
    else:
        raise Sentinel2MetadataError(f"root element {root_name!r} is not a Level-2A or Level-1C user product")

    quant_text = first_text(quant_tag)
    try:
        quantification = float(quant_text) if quant_text else DEFAULT_QUANTIFICATION
    except ValueError as exc:
        raise Sentinel2MetadataError(f"{quant_tag} is not a number") from exc
    if quantification <= 0:
        raise Sentinel2MetadataError(f"{quant_tag} must be positive, got {quantification}")

    id_to_band = {i: band for i, band in enumerate(BAND_IDS)}
    for info in elements.get("Spectral_Information", []):
        band_id, physical = info.get("bandId"), info.get("physicalBand")
        if band_id is not None and band_id.isdigit() and physical:
            id_to_band[int(band_id)] = canonical_band(physical)

    offsets: dict[str, float] = {}
    for element in elements.get(offset_tag, []):
        band_id, value = element.get("band_id"), (element.text or "").strip()
        if band_id is None or not band_id.isdigit() or int(band_id) not in id_to_band:
            raise Sentinel2MetadataError(f"{offset_tag} has an unknown band_id {str(band_id)[:8]!r}")
        try:
            offsets[id_to_band[int(band_id)]] = float(value) / quantification
        except ValueError as exc:
            raise Sentinel2MetadataError(f"{offset_tag} band_id={band_id} is not a number") from exc

    baseline = first_text("PROCESSING_BASELINE")
    default_offset = 0.0
    if not offsets and baseline_has_offset(baseline):
        # Baseline >= 04.00 products always carry the offset; an MTD without the list was edited or cut.
        default_offset = BASELINE_OFFSET_DN / quantification
    return Radiometry(
        scale=1.0 / quantification,
        offsets=offsets,
        default_offset=default_offset,
        baseline=baseline,
        datetime=normalise_datetime(first_text("PRODUCT_START_TIME")),
        level=level,
        source="MTD_MSIL2A.xml" if level == "L2A" else "MTD_MSIL1C.xml",
    )


def parse_stac_item(text: str) -> Radiometry | None:
    """Radiometry from a Sentinel-2 STAC Item (raster:bands scale/offset, s2:processing_baseline).

    Returns None when the JSON is a valid document but not a Sentinel-2 STAC Item; raises on invalid JSON.
    """
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Sentinel2MetadataError(f"not valid JSON: {exc}") from exc
    if (
        not isinstance(doc, dict)
        or doc.get("type") != "Feature"
        or not isinstance(doc.get("properties"), dict)
    ):
        return None
    props: dict[str, Any] = doc["properties"]
    if not _says_sentinel2(doc, props):
        return None
    baseline = props.get("s2:processing_baseline")
    baseline = str(baseline) if baseline is not None else None
    scales: dict[str, float] = {}
    offsets: dict[str, float] = {}
    assets = doc.get("assets")
    for asset in assets.values() if isinstance(assets, dict) else ():
        if not isinstance(asset, dict):
            continue
        band = band_from_href(str(asset.get("href", "")))
        raster_bands = asset.get("raster:bands")
        if band is None or not isinstance(raster_bands, list) or not raster_bands:
            continue
        first = raster_bands[0] if isinstance(raster_bands[0], dict) else {}
        if "scale" in first:
            scales.setdefault(band, float(first["scale"]))
            offsets.setdefault(band, float(first.get("offset", 0.0)))
    # Earth Search sets `earthsearch:boa_offset_applied` when its COGs already had the offset removed; its
    # raster:bands may still say -0.1 then, and the maintainers call the flag the truth (earth-search#9).
    offset_applied = (
        props.get("earthsearch:boa_offset_applied", props.get("sentinel:boa_offset_applied")) is True
    )
    default_offset = 0.0
    if offset_applied:
        offsets = dict.fromkeys(offsets, 0.0)
    elif baseline_has_offset(baseline):  # bands without raster:bands follow the baseline rule
        default_offset = BASELINE_OFFSET_DN / DEFAULT_QUANTIFICATION
    product_type = str(props.get("s2:product_type", ""))
    return Radiometry(
        scales=scales,
        offsets=offsets,
        default_offset=default_offset,
        baseline=baseline,
        datetime=normalise_datetime(props.get("datetime")),
        level="L1C" if product_type.endswith("1C") else "L2A",
        source="STAC Item",
        offset_applied=offset_applied,
    )


def _says_sentinel2(doc: dict[str, Any], props: dict[str, Any]) -> bool:
    words = [props.get("constellation"), props.get("platform"), doc.get("collection")]
    return any(isinstance(w, str) and w.lower().startswith("sentinel-2") for w in words) or any(
        k.startswith("s2:") for k in props
    )


_BAND_IN_NAME = re.compile(r"(?:^|_)(B\d{2}|B8A)(?:_\d{2}m)?\.(?:tif|tiff|jp2)$", re.IGNORECASE)


def band_from_href(href: str) -> str | None:
    """Canonical band name of an asset href such as ".../B04.tif" or ".../T29UNU_..._B04_10m.jp2"."""
    match = _BAND_IN_NAME.search(href.rsplit("/", 1)[-1])
    return canonical_band(match.group(1)) if match else None


def canonical_band(name: str) -> str:
    """ESA band names B1/B01/b8a → B01/B8A."""
    upper = name.upper()
    if upper == "B8A":
        return upper
    match = re.fullmatch(r"B(\d{1,2})", upper)
    return f"B{int(match.group(1)):02d}" if match else upper


def normalise_datetime(value: Any) -> str | None:
    """An ISO 8601 timestamp as "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" in UTC, None if absent or not a timestamp."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    # Landsat writes 7 fractional digits ("14:31:47.8083990Z"); datetime holds 6, so drop the rest.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    stamp = parsed.strftime("%Y-%m-%dT%H:%M:%S")
    if parsed.microsecond:
        stamp += f".{parsed.microsecond:06d}".rstrip("0")
    return stamp + "Z"


def image_files(text: str) -> list[tuple[str, str]]:
    """(IMAGE_FILE path without extension, file extension) of each granule image listed in an MTD file."""
    try:
        root = ET.fromstring(text)  # noqa: S314 - same reasoning as parse_mtd
    except ET.ParseError as exc:
        raise Sentinel2MetadataError(f"not well-formed XML: {exc}") from exc
    found: list[tuple[str, str]] = []
    for granule in root.iter():
        if _local(granule.tag) != "Granule":
            continue
        extension = ".tif" if (granule.get("imageFormat") or "").upper() == "GEOTIFF" else ".jp2"
        for element in granule:
            if _local(element.tag) == "IMAGE_FILE" and element.text:
                found.append((element.text.strip(), extension))
    return found
