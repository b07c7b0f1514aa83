"""`build_place_products`: a run's place products (composites, change, trend, places.csv), incrementally.

Called at the end of `scoresby run` (places/after_run.py) when the scene list has `composites`. Only the
products whose inputs changed are made again (manifest.py); each is published whole (outputs.publish_item).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from scoresby.core.errors import InvalidInput, PipelineError, one_line
from scoresby.core.place_options import check_composites, percentile_of
from scoresby.core.places import place_of
from scoresby.core.scene_list import Scene
from scoresby.core.stretch import StretchSpec
from scoresby.places import manifest, reuse
from scoresby.places.compose import ComposeSettings, layer_specs
from scoresby.places.derived import trend_specs
from scoresby.places.inventory import Inventory, Period, take_stock
from scoresby.places.makers import Target, make_change, make_composite, make_trend
from scoresby.places.observations import group
from scoresby.places.planning import Product, common_of, composite_of, derived_of
from scoresby.places.reader import SceneReader
from scoresby.places.sensor_view import ProductRoles, product_roles
from scoresby.places.table import write_table
from scoresby.raster.bands import Grid

log = logging.getLogger(__name__)
T = TypeVar("T")

PLACES_DIR = "places"
PER_FILE_VSI_CACHE = 256 * 1024
"""Bytes of GDAL's per-file read cache (remote files): 7 files x 32 scenes x 2 threads stay under 120 MB."""


@dataclass
class PlaceResult:
    """What a build did: the place, its current Items (by id), what was made now, notes, places.csv rows."""

    place: str
    folder: str
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    made: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


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

    `composites`: the option as a scene list gives it (checked here: InvalidInput when bad) or as
    core/place_options.py check_composites normalises it. `aoi`, `products` and
    `stretch` default to the first scene's. Scenes of earlier calls for the same folder are remembered
    (manifest) and count too, except those in `exclude` (e.g. scenes that failed). Bad scenes, empty
    periods and change pairs without scenes become notes in the result, not errors.
    """
    first = scenes[0] if scenes else None
    the_aoi = dict(aoi or (first.aoi if first else None) or {})
    if not the_aoi:
        raise PipelineError("composites: needs the run's aoi")
    place = place_of("", the_aoi)
    if str(run_dir).startswith("s3://"):
        return PlaceResult(
            place,
            str(run_dir),
            notes=["place products: a local run makes them in a local output; on AWS the place stage does"],
        )
    names = list(products or (first.products if first else ()))
    build = _Build(
        place=place,
        folder=Path(run_dir) / PLACES_DIR / place,
        aoi=the_aoi,
        options=checked_options(composites),
        names=names,
        stretch=dict(stretch or (first.stretch if first else {})),
    )
    build.run(scenes, exclude)
    build.result.rows = write_table(Path(run_dir) / PLACES_DIR, place, build.result.items)
    return build.result


class _Build:
    """One build of one place: plan the periods, make what is out of date, retire what is gone."""

    def __init__(
        self,
        *,
        place: str,
        folder: Path,
        aoi: dict[str, Any],
        options: dict[str, Any],
        names: list[str],
        stretch: dict[str, StretchSpec],
    ) -> None:
        from scoresby.raster.quality import aoi_grid, outside_geometry

        self.place, self.folder, self.aoi, self.options = place, folder, aoi, options
        self.stretch = stretch
        self.result = PlaceResult(place, str(folder))
        self.roles: list[ProductRoles] = [r for r in (product_roles(n) for n in names) if r is not None]
        self.indices = [r for r in self.roles if r.kind == "index"]
        self.result.notes += [
            f"product {n} is not made for composites" for n in names if not product_roles(n)
        ]
        self.grid: Grid = aoi_grid(aoi)
        self.outside = outside_geometry(aoi, self.grid)
        self.common = common_of(options, names, dict(stretch), aoi, self.grid)
        self.settings = manifest.fingerprint(self.common)  # what every composite is made with
        self.lon = (aoi["bbox"][0] + aoi["bbox"][2]) / 2  # the solar day of the place's centre
        self.man_path = folder / "manifest.json"
        self.man = manifest.load(self.man_path)
        self.wanted: set[str] = set()
        self.tmp_root = folder / f".tmp-{uuid.uuid4().hex[:8]}"
        self.inv = Inventory()
        self.remade: dict[str, tuple[str | None, reuse.Cells | None]] = {}
        """Composites made in this build: (fingerprint before, the cells made again; None: made whole)."""

    def run(self, scenes: Sequence[Scene], exclude: Collection[str]) -> None:
        """Every step, in order; the temp folder goes whatever happens."""
        self.folder.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(self.folder)
        self.inv = take_stock(scenes, self.man, self.options, exclude, self.lon)
        self.result.notes += self.inv.notes
        plist = self.inv.periods
        if not plist:
            self.result.notes.append(f"place {self.place}: no scene falls in a period; no composite made")
        self.tmp_root.mkdir()
        try:
            composites = [
                composite_of(self.place, p, self.inv, self.man, self.options, self.common) for p in plist
            ]
            self._announce(composites, "composites")
            made = [c for c in map(self._composite, plist, composites) if c is not None]
            derived, notes = derived_of(self.place, made, self.options, bool(self.indices))
            self.result.notes += notes
            self._announce(derived, "change and trend maps")
            fingerprints = {c.item_id: c.fingerprint for c in made}
            for product in derived:
                self._derived(product, fingerprints)
            self._retire()
        finally:
            shutil.rmtree(self.tmp_root, ignore_errors=True)
        for item_id in sorted(self.wanted):
            doc = _read_item(self.folder, item_id)
            if doc is not None:
                self.result.items[item_id] = doc
                if _no_clear_pixel(doc):  # every run says it, not only the one that made it
                    self.result.notes.append(
                        f"{item_id}: no clear observation in the AOI "
                        "(its scenes are cloudy there or do not cover it)"
                    )

    def _current(self, item_id: str, fp: str) -> bool:
        """True when the product was made from the same inputs and its Item is published."""
        return (
            self.man["products"].get(item_id) == fp and (self.folder / item_id / f"{item_id}.json").is_file()
        )

    def _announce(self, products: Sequence[Product], what: str) -> None:
        """One progress line: how many of the place's products of a kind are to be made."""
        if not products:
            return
        todo = sum(not self._current(p.item_id, p.fingerprint) for p in products)
        current = len(products) - todo
        if not todo:
            state = "all current"
        elif current:
            state = f"{todo} to make, {current} current"
        else:
            state = f"{todo} to make"
        log.info("place %s: %d %s, %s", self.place, len(products), what, state)

    def _make(
        self,
        item_id: str,
        fp: str,
        step: Callable[[Target, Path], object],
        span: tuple[str, str],
        inputs: dict[str, Any] | None = None,
    ) -> bool:
        """Run one product's step in its own temp folder unless it is current; False when it failed.

        `inputs`: what the product is made from, recorded with its fingerprint (reuse.py).
        """
        self.wanted.add(item_id)
        if self._current(item_id, fp):
            return True
        started = time.monotonic()
        work = Path(tempfile.mkdtemp(dir=self.tmp_root))
        target = Target(item_id, self.place, self.folder / item_id, self.grid, self.aoi, span)
        try:
            step(target, work)
        except (
            PipelineError
        ) as exc:  # a scene that cannot be read: the product stays as it was, retried later
            self.result.notes.append(f"{item_id} not made: {one_line(exc)}")
            return (self.folder / item_id / f"{item_id}.json").is_file()
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self.man["products"][item_id] = fp
        if inputs is None:
            self.man["inputs"].pop(item_id, None)
        else:
            self.man["inputs"][item_id] = inputs
        manifest.save(self.man_path, self.man)
        self.result.made.append(item_id)
        log.info("place product %s made in %.1f s", item_id, time.monotonic() - started)
        return True

    def _composite(self, p: Period, product: Product) -> Product | None:
        """Make the period's composite `product` unless current; the product if it exists (None: not made)."""
        obs = group([self.inv.dates[s] for s in p.scenes], self.lon)
        method = self.options["method"]
        settings = ComposeSettings(
            method, percentile_of(method), self.options["harmonize"], self.roles, self.outside
        )
        sensors = {s: self.inv.dates[s].sensor for s in p.scenes}
        keys = {s: self.man["scenes"][s]["key"] for s in p.scenes}
        inputs = reuse.inputs_record(self.settings, keys)
        previous = self.man["products"].get(product.item_id)

        def step(target: Target, work: Path) -> None:
            files = {s: self.inv.files_of(s) for s in p.scenes}  # discovered here, not in the block threads
            reading_env(settings, files.values())

            def opener(sid: str) -> SceneReader:
                return SceneReader(files[sid], self.grid)

            earlier = reuse.earlier_of(
                self.man["inputs"].get(target.item_id),
                _read_item(self.folder, target.item_id),
                Path(target.folder),
                self.settings,
                keys,
                layer_specs(self.indices),
                self.grid,
            )
            args = (target, obs, opener, sensors, settings, self.stretch, product.props, work)
            _doc, cells = _from_earlier(work, earlier, lambda e: make_composite(*args, e))
            self.remade[target.item_id] = (previous, cells)

        if not self._make(product.item_id, product.fingerprint, step, product.span, inputs):
            return None
        published = self.man["products"].get(product.item_id)
        if published != product.fingerprint:
            # Not made now (a scene could not be read) but published before: what the change and trend read
            # is the earlier composite, so they are fingerprinted on it and made again once it is made.
            return dataclasses.replace(product, fingerprint=published or "")
        return product

    def _derived(self, product: Product, fingerprints: Mapping[str, str]) -> None:
        """Make a change or trend Item unless current.

        A trend is made again only where its composites were (reuse.py): its per-pixel sorts cost more
        than reading its published layers back. A change map is made whole: reading back cost it more.
        """
        folders = [(iid, self.folder / iid) for iid in product.inputs]
        if product.kind == "change":

            def step(target: Target, work: Path) -> None:
                make_change(target, (folders[0], folders[1]), self.indices, product.props, work)

            self._make(product.item_id, product.fingerprint, step, product.span)
            return
        inputs = [(iid, fingerprints[iid]) for iid in product.inputs]
        periods = [(iid, f, t) for (iid, f), t in zip(folders, product.times, strict=True)]

        def remake(target: Target, work: Path) -> None:
            earlier = reuse.derived_earlier_of(
                self.man["inputs"].get(target.item_id),
                _read_item(self.folder, target.item_id),
                Path(target.folder),
                self.settings,
                inputs,
                self.remade,
                trend_specs([p.name for p in self.indices]),
                self.grid,
            )
            if earlier is not None and earlier.cells is not None:
                log.info(
                    "%s made again where its composites were (%.0f %% of the AOI), the rest read back",
                    target.item_id,
                    100.0 * earlier.cells.map.mean(),
                )
            _from_earlier(
                work, earlier, lambda e: make_trend(target, periods, self.indices, product.props, work, e)
            )

        record = reuse.derived_record(self.settings, inputs)
        self._make(product.item_id, product.fingerprint, remake, product.span, record)

    def _retire(self) -> None:
        """Unpublish products no longer wanted (a period that lost its scenes): renamed away, then removed."""
        for item_id in sorted(set(self.man["products"]) - self.wanted):
            target = self.folder / item_id
            if target.is_dir():
                gone = self.folder / f".{item_id}.{uuid.uuid4().hex[:8]}.retired"
                target.rename(gone)
                shutil.rmtree(gone, ignore_errors=True)
            del self.man["products"][item_id]
            self.man["inputs"].pop(item_id, None)
            self.result.notes.append(f"{item_id}: its scenes are gone; removed")
            manifest.save(self.man_path, self.man)


def _from_earlier(work: Path, earlier: reuse.Earlier | None, make: Callable[[reuse.Earlier | None], T]) -> T:
    """make(earlier), or make(None) in an emptied `work` when the published product cannot be read back."""
    try:
        return make(earlier)
    except reuse.EarlierUnreadable as exc:
        log.warning("%s; made whole", exc)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        return make(None)


def checked_options(composites: Mapping[str, Any]) -> dict[str, Any]:
    """The option as a scene list gives it, or already normalised (change None = false), checked."""
    raw = dict(composites)
    if "change" in raw and raw["change"] is None:
        raw["change"] = False
    if "trend" in raw and raw["trend"] is None:
        del raw["trend"]
    problems: list[str] = []
    options = check_composites(raw, "composites", problems)
    if options is None:
        raise InvalidInput(problems)
    return options


def reading_env(settings: ComposeSettings, files: Iterable[Any]) -> None:
    """The scenes' read options (S3, requester pays) and the per-file read cache into the settings."""
    files = list(files)
    for f in files:
        settings.gdal_env.update(f.gdal_env)
    # VSI_CACHE is per open file: a composite holds dozens of scenes' files open at once.
    settings.gdal_env["VSI_CACHE_SIZE"] = str(PER_FILE_VSI_CACHE)
    if all(_local(f) for f in files):
        settings.gdal_env["VSI_CACHE"] = "FALSE"  # the OS caches local files already


def _local(files: Any) -> bool:
    paths = [b.path for b in files.bands.values()]
    return all(path.startswith("/") and not path.startswith("/vsi") for path in paths)


def _no_clear_pixel(doc: dict[str, Any]) -> bool:
    """True for a composite's Item whose AOI has no clear observation at all."""
    props = doc.get("properties", {})
    stats = props.get("scoresby:stats") or {}
    return props.get("scoresby:kind") == "composite" and stats.get("clear_percent") == 0


def _remove_leftovers(folder: Path) -> None:
    """Temp and staging folders a killed earlier run left behind (the run lock makes them nobody's)."""
    for leftover in folder.glob(".*"):
        name = leftover.name
        if leftover.is_dir() and (name.startswith(".tmp-") or name.endswith((".staging", ".retired"))):
            shutil.rmtree(leftover, ignore_errors=True)


def _read_item(folder: Path, item_id: str) -> dict[str, Any] | None:
    try:
        doc = json.loads((folder / item_id / f"{item_id}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
