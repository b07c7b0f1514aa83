"""`build_place_products`: a run's place products (composites, change, trend, places.csv), incrementally.

Called at the end of `scoresby run` (commands/run.py) when the scene list has `composites`. Only products
whose inputs changed are made again (manifest.py); each is published whole (outputs.publish_item).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from scoresby.core.errors import PipelineError, one_line
from scoresby.core.place_options import MIN_TREND_PERIODS, percentile_of
from scoresby.core.places import place_of
from scoresby.core.scene_list import Scene
from scoresby.core.stretch import StretchSpec
from scoresby.places import manifest, periods
from scoresby.places.compose import ComposeSettings
from scoresby.places.makers import Target, make_change, make_composite, make_trend
from scoresby.places.observations import SceneDate, group
from scoresby.places.reader import SceneReader
from scoresby.places.sensor_view import instrument_group, product_roles
from scoresby.places.table import write_table

log = logging.getLogger(__name__)

PLACES_DIR = "places"


@dataclass
class PlaceResult:
    """What a build did: the place, its current Items (by id), what was made now, notes, places.csv rows."""

    place: str
    folder: str
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    made: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Period:
    label: str
    scenes: list[str]
    fingerprint: str = ""
    item_id: str = ""


def build_place_products(
    scenes: Sequence[Scene],
    composites: Mapping[str, Any],
    run_dir: str | Path,
    *,
    aoi: Mapping[str, Any] | None = None,
    products: Sequence[str] | None = None,
    stretch: Mapping[str, StretchSpec] | None = None,
    exclude: Collection[str] = (),
) -> PlaceResult:
    """Make (or bring up to date) the place products of `scenes` under `<run_dir>/places/<place>/`.

    `composites`: the normalised option (core/place_options.py). `aoi`, `products`, `stretch` default to
    the first scene's. Scenes of earlier calls for the same folder are remembered (manifest) and count too,
    except those in `exclude` (e.g. scenes that failed). Raises nothing for bad scenes: they become notes.
    """
    first = scenes[0] if scenes else None
    aoi = aoi or (first.aoi if first else None)
    if aoi is None:
        raise PipelineError("composites: needs the run's aoi")
    if str(run_dir).startswith("s3://"):
        return PlaceResult(
            place_of("", aoi), str(run_dir), notes=["place products: local outputs only for now"]
        )
    from scoresby.discovery.discover import discover_scene
    from scoresby.raster.quality import aoi_grid, outside_geometry

    place = place_of("", dict(aoi))
    folder = Path(run_dir) / PLACES_DIR / place
    result = PlaceResult(place, str(folder))
    names = list(products or (first.products if first else ()))
    stretch = dict(stretch or (first.stretch if first else {}))
    roles = [r for r in (product_roles(n) for n in names) if r is not None]
    indices = [r for r in roles if r.kind == "index"]
    result.notes += [f"product {n} is not made for composites" for n in names if product_roles(n) is None]
    grid = aoi_grid(dict(aoi))
    outside = outside_geometry(dict(aoi), grid)
    lon = (aoi["bbox"][0] + aoi["bbox"][2]) / 2
    man_path = folder / "manifest.json"
    man = manifest.load(man_path)
    folder.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(folder)

    known: dict[str, Scene] = {}
    for sid, entry in man["scenes"].items():
        if "scene" in entry:
            known[sid] = _scene_from(entry["scene"])
    known.update({s.scene_id: s for s in scenes})
    files_cache: dict[str, Any] = {}

    def files_of(scene: Scene) -> Any:
        if scene.scene_id not in files_cache:
            files_cache[scene.scene_id] = discover_scene(scene)
        return files_cache[scene.scene_id]

    dates: dict[str, SceneDate] = {}
    for sid, scene in sorted(known.items()):
        if sid in exclude:
            continue
        key = manifest.fingerprint(scene.to_dict())
        entry = man["scenes"].get(sid)
        if not entry or entry.get("key") != key:
            try:
                found = files_of(scene)
            except PipelineError as exc:
                result.notes.append(f"scene {sid}: not used in composites: {one_line(exc)}")
                continue
            entry = {"key": key, "sensor": found.sensor, "datetime": found.datetime, "scene": scene.to_dict()}
            man["scenes"][sid] = entry
        acquired = _parse_time(entry.get("datetime"))
        if acquired is None:
            result.notes.append(f"scene {sid}: no acquisition time; not used in composites")
            continue
        dates[sid] = SceneDate(sid, entry["sensor"], acquired)

    options = dict(composites)
    by_label: dict[str, _Period] = {}
    skipped = {"sensor": 0, "months": 0}
    for sd in dates.values():
        if instrument_group(sd.sensor) not in options["sensors"]:
            skipped["sensor"] += 1
            continue
        day = sd.acquired.date()
        if not periods.in_months(day, options["months"]):
            skipped["months"] += 1
            continue
        label = periods.period_label(day, options["period"])
        by_label.setdefault(label, _Period(label, [])).scenes.append(sd.scene_id)
    if skipped["sensor"]:
        result.notes.append(f"{skipped['sensor']} scenes of sensors outside composites.sensors not used")
    if skipped["months"]:
        result.notes.append(f"{skipped['months']} scenes outside composites.months not used")
    order = sorted(by_label, key=lambda lb: (periods.period_start(lb, options["period"]), lb))
    plist = [by_label[lb] for lb in order]
    if not plist:
        result.notes.append(f"place {place}: no scene falls in a period; no composite made")

    common = {
        "method": options["method"],
        "harmonize": options["harmonize"],
        "products": names,
        "stretch": stretch,
        "aoi": dict(aoi),
        "grid": [grid.width, grid.height, list(grid.transform)[:6], grid.crs.to_string()],
    }
    settings = ComposeSettings(
        options["method"], percentile_of(options["method"]), options["harmonize"], roles, outside
    )
    tmp_root = folder / f".tmp-{uuid.uuid4().hex[:8]}"
    tmp_root.mkdir()
    readers: dict[str, SceneReader] = {}

    def reader(sid: str) -> SceneReader:
        if sid not in readers:
            readers[sid] = SceneReader(files_of(known[sid]), grid)
        return readers[sid]

    def span_of(p: _Period) -> tuple[str, str]:
        if options["period"] == "all":
            days = sorted(dates[s].acquired.date() for s in p.scenes)
            return _iso(days[0]), _iso(days[-1], end=True)
        return _iso(periods.period_start(p.label, options["period"])), _iso(
            periods.period_end(p.label, options["period"]), end=True
        )

    wanted: set[str] = set()
    try:
        for p in plist:
            p.item_id = f"{place}_composite_{p.label}"
            scene_keys = sorted((s, man["scenes"][s]["key"]) for s in p.scenes)
            p.fingerprint = manifest.fingerprint(common, scene_keys)
            wanted.add(p.item_id)
            obs = group([dates[s] for s in p.scenes], lon)
            if _current(man, folder, p.item_id, p.fingerprint):
                continue
            props = {
                "scoresby:period": p.label,
                "scoresby:scenes": sorted(p.scenes),
                "scoresby:observations": len(obs),
                "scoresby:method": options["method"],
                "scoresby:harmonized": options["harmonize"],
            }
            target = Target(p.item_id, place, folder / p.item_id, grid, aoi, span_of(p))
            work = Path(tempfile.mkdtemp(dir=tmp_root))
            try:
                sensors = {s: dates[s].sensor for s in p.scenes}
                make_composite(target, obs, _guarded(reader, result), sensors, settings, stretch, props, work)
            finally:
                for r in readers.values():
                    r.close()
                readers.clear()
                shutil.rmtree(work, ignore_errors=True)
            _record(man, man_path, p.item_id, p.fingerprint, result)
        done = {p.label: p for p in plist}
        _changes(
            options,
            plist,
            done,
            place,
            folder,
            grid,
            aoi,
            indices,
            span_of,
            man,
            man_path,
            tmp_root,
            result,
            wanted,
        )
        _trend(
            options,
            plist,
            place,
            folder,
            grid,
            aoi,
            indices,
            span_of,
            man,
            man_path,
            tmp_root,
            result,
            wanted,
        )
        _retire(man, man_path, folder, wanted, result)
    finally:
        for r in readers.values():
            r.close()
        shutil.rmtree(tmp_root, ignore_errors=True)
    for iid in sorted(wanted):
        doc = _read_item(folder, iid)
        if doc is not None:
            result.items[iid] = doc
    result.rows = write_table(Path(run_dir) / PLACES_DIR, place, result.items)
    return result


def _guarded(reader: Callable[[str], SceneReader], result: PlaceResult) -> Callable[[str], SceneReader]:
    return reader


def _changes(
    options, plist, done, place, folder, grid, aoi, indices, span_of, man, man_path, tmp_root, result, wanted
) -> None:  # noqa: ANN001, PLR0913
    """Change Items of the `change` option's pairs whose periods both have a composite."""
    change = options["change"]
    labels = [p.label for p in plist]
    if change is None:
        return
    if change == "first-last":
        pairs = [(labels[0], labels[-1])] if len(labels) >= 2 else []
    elif change == "consecutive":
        pairs = list(zip(labels, labels[1:], strict=False))
    else:
        pairs = []
        for a, b in change:
            missing = [x for x in (a, b) if x not in done]
            if missing:
                result.notes.append(f"change {a} -> {b}: period {missing[0]} has no scenes; no change map")
            else:
                pairs.append((a, b))
    for a, b in pairs:
        pa, pb = done[a], done[b]
        item_id = f"{place}_change_{a}_{b}"
        wanted.add(item_id)
        fp = manifest.fingerprint("change", pa.fingerprint, pb.fingerprint)
        if _current(man, folder, item_id, fp):
            continue
        span = (span_of(pa)[0], span_of(pb)[1])
        props = {
            "scoresby:from": a,
            "scoresby:to": b,
            "scoresby:from_item": pa.item_id,
            "scoresby:to_item": pb.item_id,
        }
        work = Path(tempfile.mkdtemp(dir=tmp_root))
        try:
            target = Target(item_id, place, folder / item_id, grid, aoi, span)
            make_change(
                target,
                ((pa.item_id, folder / pa.item_id), (pb.item_id, folder / pb.item_id)),
                indices,
                props,
                work,
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _record(man, man_path, item_id, fp, result)


def _trend(
    options, plist, place, folder, grid, aoi, indices, span_of, man, man_path, tmp_root, result, wanted
) -> None:  # noqa: ANN001, PLR0913
    """The trend Item over every period (by default from MIN_TREND_PERIODS periods on)."""
    trend = options["trend"]
    n = len(plist)
    if trend is False or options["period"] == "all":
        return
    if trend is None and n < MIN_TREND_PERIODS:
        return
    if n < 3 or not indices:
        why = "fewer than 3 periods" if n < 3 else "no index product"
        result.notes.append(f"place {place}: no trend map ({why})")
        return
    item_id = f"{place}_trend"
    wanted.add(item_id)
    fp = manifest.fingerprint("trend", [p.fingerprint for p in plist])
    if _current(man, folder, item_id, fp):
        return
    inputs = [(p.item_id, folder / p.item_id, _midpoint(span_of(p))) for p in plist]
    props = {
        "scoresby:periods": [p.label for p in plist],
        "scoresby:period_items": [p.item_id for p in plist],
    }
    work = Path(tempfile.mkdtemp(dir=tmp_root))
    try:
        span = (span_of(plist[0])[0], span_of(plist[-1])[1])
        make_trend(Target(item_id, place, folder / item_id, grid, aoi, span), inputs, indices, props, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _record(man, man_path, item_id, fp, result)


def _midpoint(span: tuple[str, str]) -> float:
    a, b = (datetime.fromisoformat(s.replace("Z", "+00:00")) for s in span)
    return periods.decimal_year(a + (b - a) / 2)


def _current(man: dict[str, Any], folder: Path, item_id: str, fp: str) -> bool:
    return man["products"].get(item_id) == fp and (folder / item_id / f"{item_id}.json").is_file()


def _record(man: dict[str, Any], path: Path, item_id: str, fp: str, result: PlaceResult) -> None:
    man["products"][item_id] = fp
    manifest.save(path, man)
    result.made.append(item_id)
    log.info("place product %s made", item_id)


def _retire(man: dict[str, Any], path: Path, folder: Path, wanted: set[str], result: PlaceResult) -> None:
    """Unpublish products no longer wanted (a period that lost all its scenes): renamed away, then removed."""
    for item_id in sorted(set(man["products"]) - wanted):
        target = folder / item_id
        if target.is_dir():
            gone = folder / f".{item_id}.{uuid.uuid4().hex[:8]}.retired"
            target.rename(gone)
            shutil.rmtree(gone, ignore_errors=True)
        del man["products"][item_id]
        result.notes.append(f"{item_id}: its scenes are gone; removed")
    manifest.save(path, man)


def _remove_leftovers(folder: Path) -> None:
    """Temp and staging folders a killed earlier run left behind (the run lock makes them nobody's)."""
    for leftover in folder.glob(".*"):
        if leftover.is_dir() and (
            leftover.name.startswith(".tmp-") or leftover.name.endswith((".staging", ".retired"))
        ):
            shutil.rmtree(leftover, ignore_errors=True)


def _read_item(folder: Path, item_id: str) -> dict[str, Any] | None:
    import json

    try:
        return json.loads((folder / item_id / f"{item_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _scene_from(d: dict[str, Any]) -> Scene:
    from scoresby.core.scene_list import parse_scene

    return parse_scene(d)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(value[:10]), time(12))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(day: date, *, end: bool = False) -> str:
    moment = datetime.combine(day, time(23, 59, 59) if end else time(0))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


_ = timedelta
