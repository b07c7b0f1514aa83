"""The AWS place stage's plan job: take stock of a round's place, claim what is out of date, write the jobs.

The same planning as the local build (planning.py, inventory.py); the ledger (core/place_stage.PlaceLedger)
holds what the local build keeps in manifest.json. The plan document `<round>/plan.json` carries everything
the tile and assemble jobs need, so they read neither the ledger nor scenes.json.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Collection
from typing import Any

from scoresby.core.errors import InvalidInput, PipelineError, one_line
from scoresby.core.place_stage import (
    JOB_LISTS,
    PLACE_JOB_PREFIX,
    SCENES_FILE,
    PlaceJob,
    PlaceLedger,
)
from scoresby.core.places import place_of
from scoresby.core.scene_list import Scene, parse_scene
from scoresby.places.build import PLACES_DIR, checked_options
from scoresby.places.inventory import take_stock
from scoresby.places.planning import Product, common_of, composite_of, derived_of
from scoresby.places.sensor_view import product_roles
from scoresby.places.tiles import tile_settings, tile_windows
from scoresby.stores import work_files
from scoresby.stores.publish import exists

PLAN_FILE = "plan.json"
"""The plan job's document for the tile, assemble and finish jobs (in the round folder)."""
OUTCOMES_DIR = "outcomes"
"""`<round>/outcomes/<item_id>.json`: {"item", "made", "reason"}, written by the item's assemble job."""
PLAN_VERSION = 1
CLAIM_LEASE_S = 12 * 3600
"""A round's claim on an item lapses after this long (a round that died never releases its claims)."""
MAX_JOB_NAME = 128
_JOB_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]")


def round_id_of(round_uri: str) -> str:
    """The round's id: the last part of its folder's URI; InvalidInput when it has none."""
    parts = [p for p in round_uri.removeprefix("s3://").split("/") if p]
    if not round_uri or len(parts) < (2 if round_uri.startswith("s3://") else 1):
        raise InvalidInput(
            f"ROUND_URI: {round_uri!r} is not a round folder (s3://bucket/places/<run>/<round>/)"
        )
    return parts[-1]


def place_folder(output: str, run_name: str, place: str) -> str:
    """`<output>/<run>/places/<place>`: where the place's Items are published."""
    return work_files.join(output, run_name, PLACES_DIR, place)


def work_uri(folder: str, item_id: str, fingerprint: str) -> str:
    """The work folder of one product made from one fingerprint (its tiles)."""
    return work_files.join(folder, ".work", item_id, fingerprint)


def item_uri(folder: str, item_id: str) -> str:
    """The Item JSON of a product."""
    return work_files.join(folder, item_id, f"{item_id}.json")


def job_name(*parts: str) -> str:
    """A Batch-legal job name (letters, digits, - and _; at most 128) starting with PLACE_JOB_PREFIX."""
    name = _JOB_NAME_BAD.sub("-", "-".join((PLACE_JOB_PREFIX, *parts)))
    if len(name) <= MAX_JOB_NAME:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    return f"{name[: MAX_JOB_NAME - 11]}-{digest}"


def _read_json(where: str, missing: str) -> Any:
    """A round file's JSON; InvalidInput in one line when it cannot be read, is not there or is not JSON."""
    try:
        text = work_files.read_text(where)
    except Exception as exc:  # noqa: BLE001 - a bucket that is not there or not ours: one line
        raise InvalidInput(f"{where}: cannot read: {one_line(exc)}") from exc
    if text is None:
        raise InvalidInput(f"{where}: {missing}")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{where}: not JSON: {one_line(exc)}") from exc


def read_scenes(round_uri: str) -> tuple[dict[str, Any], list[Scene]]:
    """The round's checked `composites` option and scenes; InvalidInput naming the file and field."""
    where = work_files.join(round_uri, SCENES_FILE)
    doc = _read_json(where, "not found")
    if not isinstance(doc, dict) or not isinstance(doc.get("scenes"), list) or "composites" not in doc:
        raise InvalidInput(f'{where}: must be {{"composites": {{...}}, "scenes": [...]}}')
    scenes = []
    for i, raw in enumerate(doc["scenes"]):
        try:
            scenes.append(parse_scene(raw))
        except PipelineError as exc:
            raise InvalidInput(f"{where}: scenes[{i}]: {one_line(exc)}") from exc
    if not isinstance(doc["composites"], dict):
        raise InvalidInput(f"{where}: composites: {doc['composites']!r} is not an object")
    try:
        options = checked_options(doc["composites"])
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {one_line(exc)}") from exc
    if scenes and not scenes[0].aoi:
        raise InvalidInput(f"{where}: scenes[0]: composites need the run's aoi")
    return options, scenes


def plan_round(
    round_uri: str, run_name: str, output: str, ledger: PlaceLedger, exclude: Collection[str] = ()
) -> dict[str, Any]:
    """Plan a round: the plan document and the four job lists written to the round folder; the plan."""
    round_id = round_id_of(round_uri)
    options, scenes = read_scenes(round_uri)
    tile_px, per_job = tile_settings()
    plan: dict[str, Any] = {"version": PLAN_VERSION, "round": round_id, "run": run_name, "output": output}
    plan.update(place=None, products=[], wanted=[], retire=[], notes=[], tile_px=tile_px, per_job=per_job)
    if not scenes:
        plan["notes"].append("no scenes in this round; no place products")
        return _write_plan(round_uri, plan, [])
    from scoresby.raster.quality import aoi_grid

    first = scenes[0]
    aoi = dict(first.aoi or {})
    place = place_of("", aoi)
    folder = place_folder(output, run_name, place)
    names, stretch = list(first.products), dict(first.stretch)
    man = copy.deepcopy(ledger.manifest(place))
    man.setdefault("scenes", {})
    man.setdefault("products", {})
    known = copy.deepcopy(man["scenes"])
    lon = (aoi["bbox"][0] + aoi["bbox"][2]) / 2
    inv = take_stock(scenes, man, options, exclude, lon)
    new = {sid: e for sid, e in man["scenes"].items() if known.get(sid) != e}
    if new:
        ledger.remember_scenes(place, new)
    roles = [r for r in (product_roles(n) for n in names) if r is not None]
    notes = [*inv.notes, *(f"product {n} is not made for composites" for n in names if not product_roles(n))]
    grid = aoi_grid(aoi)
    common = common_of(options, names, stretch, aoi, grid)
    composites = [composite_of(place, p, inv, man, options, common) for p in inv.periods]
    if not composites:
        notes.append(f"place {place}: no scene falls in a period; no composite made")
    derived, derived_notes = derived_of(place, composites, options, any(r.kind == "index" for r in roles))
    notes += derived_notes
    todo: list[Product] = []
    held: set[str] = set()
    for product in [*composites, *derived]:
        current = man["products"].get(product.item_id) == product.fingerprint
        if current and exists(item_uri(folder, product.item_id)):
            continue
        blocked = held.intersection(product.inputs)
        if blocked:
            held.add(product.item_id)
            notes.append(
                f"{product.item_id}: its input {min(blocked)} is being made by another round; not made"
            )
        elif ledger.claim(place, product.item_id, product.fingerprint, round_id, CLAIM_LEASE_S):
            todo.append(product)
        else:
            held.add(product.item_id)
            notes.append(f"{product.item_id}: another round is making it; the next round makes it")
    wanted = [p.item_id for p in [*composites, *derived]]
    plan.update(place=place, folder=folder, aoi=aoi, options=options, names=names, stretch=stretch)
    plan.update(
        products=[p.to_dict() for p in todo],
        wanted=wanted,
        retire=sorted(set(man["products"]) - set(wanted)),
        notes=notes,
        scenes={s: man["scenes"][s] for p in todo for s in p.scenes},
        tiles=len(tile_windows(grid, tile_px)),
    )
    return _write_plan(round_uri, plan, todo)


def _write_plan(round_uri: str, plan: dict[str, Any], todo: list[Product]) -> dict[str, Any]:
    """Write plan.json, then the four job lists of the products `todo` (the state machine reads the lists)."""
    lists: dict[str, list[PlaceJob]] = {name: [] for name in JOB_LISTS}
    tiles, per_job = int(plan.get("tiles", 0)), int(plan["per_job"])
    for p in todo:
        first = "composite" if p.kind == "composite" else "derived"
        for start in range(0, tiles, per_job):
            numbers = list(range(start, min(start + per_job, tiles)))
            spec = ",".join(str(n) for n in numbers)
            command = ["places", "tiles", round_uri, "--item", p.item_id, "--tiles", spec]
            lists[f"{first}-tiles"].append(
                PlaceJob(job_name=job_name("tiles", p.item_id, str(start)), command=command)
            )
        command = ["places", "assemble", round_uri, "--item", p.item_id]
        lists[f"{first}-items"].append(PlaceJob(job_name=job_name("item", p.item_id), command=command))
    plan["jobs"] = {name: len(jobs) for name, jobs in lists.items()}
    work_files.write_json(work_files.join(round_uri, PLAN_FILE), plan)
    for name, jobs in lists.items():
        work_files.write_text(work_files.join(round_uri, f"{name}.json"), json.dumps(jobs))
    return plan


def load_plan(round_uri: str) -> dict[str, Any]:
    """The round's plan document; InvalidInput when the plan job has not written it."""
    where = work_files.join(round_uri, PLAN_FILE)
    doc = _read_json(where, "not found (run `scoresby places plan` first)")
    if not isinstance(doc, dict) or doc.get("version") != PLAN_VERSION:
        raise InvalidInput(f"{where}: not a version {PLAN_VERSION} place plan")
    return doc


def product_of(plan: dict[str, Any], item_id: str) -> Product:
    """The planned product `item_id`; InvalidInput when the plan does not make it."""
    for doc in plan["products"]:
        if doc["item_id"] == item_id:
            return Product.from_dict(doc)
    raise InvalidInput(f"--item: {item_id!r} is not made in round {plan['round']}")
