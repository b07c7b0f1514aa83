"""Helpers of the AWS place-stage tests: an in-memory PlaceLedger and a runner of the stage's job lists."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from scoresby.cli import build_parser
from scoresby.commands.places import places_command
from scoresby.core.place_stage import JOB_LISTS, SCENES_FILE
from scoresby.core.task_log import FAILED, TaskRecord
from scoresby.places import manifest
from scoresby.stores import work_files

PLACE = "aoi-synth"


class MemoryLedger:
    """PlaceLedger in memory, with the conditional claim the DynamoDB one makes (one holder per item)."""

    def __init__(self) -> None:
        self.scenes: dict[str, dict[str, dict[str, Any]]] = {}
        self.products: dict[str, dict[str, str]] = {}
        self.claims: dict[tuple[str, str], tuple[str, float]] = {}
        self.failed: dict[str, list[dict[str, str]]] = {}
        self.clock = time.time

    def manifest(self, place: str) -> dict[str, Any]:
        """A copy of the place's record."""
        return {
            "version": manifest.VERSION,
            "scenes": copy.deepcopy(self.scenes.get(place, {})),
            "products": dict(self.products.get(place, {})),
        }

    def remember_scenes(self, place: str, entries: dict[str, dict[str, Any]]) -> None:
        """Record scene entries."""
        self.scenes.setdefault(place, {}).update(copy.deepcopy(entries))

    def claim(self, place: str, item_id: str, fingerprint: str, round_id: str, lease_s: int) -> bool:
        """Take the item unless another round's unexpired claim holds it."""
        held = self.claims.get((place, item_id))
        if held and held[0] != round_id and held[1] > self.clock():
            return False
        self.claims[place, item_id] = (round_id, self.clock() + lease_s)
        return True

    def made(self, place: str, item_id: str, fingerprint: str, round_id: str) -> None:
        """Record the product and drop the claim."""
        self.products.setdefault(place, {})[item_id] = fingerprint
        self.release(place, item_id, round_id)

    def release(self, place: str, item_id: str, round_id: str) -> None:
        """Drop this round's claim."""
        if self.claims.get((place, item_id), ("",))[0] == round_id:
            del self.claims[place, item_id]

    def retire(self, place: str, item_id: str) -> None:
        """Forget the product."""
        self.products.get(place, {}).pop(item_id, None)

    def failures(self, round_id: str) -> list[dict[str, str]]:
        """The round's failed jobs (as the state machine's Catch writes them)."""
        return list(self.failed.get(round_id, []))


def write_round(round_uri: str, composites: dict[str, Any], scenes: list[Any]) -> None:
    """The init step's scenes.json."""
    doc = {"composites": composites, "scenes": [s.to_dict() for s in scenes]}
    work_files.write_text(work_files.join(round_uri, SCENES_FILE), json.dumps(doc))


def run(argv: list[str], ledger: MemoryLedger, failed: tuple[str, ...] = ()) -> int:
    """One place-stage job in-process, exactly as the state machine's argv (after `scoresby`)."""
    args = build_parser().parse_args(["places", *argv[1:]])
    return places_command(args, ledger=ledger, task_log=TaskLogRows(failed))


class TaskLogRows:
    """The run's task-log rows as the plan job reads them: the `failed` scenes FAILED."""

    def __init__(self, failed: tuple[str, ...]) -> None:
        self.failed = failed

    def records(self, run_name: str) -> list[TaskRecord]:
        """FAILED rows of the failed scenes."""
        return [TaskRecord(run_name, sid, FAILED) for sid in self.failed]


def job_list(round_uri: str, name: str) -> list[dict[str, Any]]:
    """One of the round's job lists."""
    return list(json.loads(work_files.read_text(work_files.join(round_uri, f"{name}.json")) or "null"))


def run_round(round_uri: str, run_name: str, output: str, ledger: MemoryLedger) -> dict[str, Any]:
    """plan, every job of the four lists in order, finish; the job lists and result.json."""
    assert run(["places", "plan", round_uri, "--run-name", run_name, "--output", output], ledger) == 0
    lists = {name: job_list(round_uri, name) for name in JOB_LISTS}
    for name in JOB_LISTS:
        for job in lists[name]:
            assert run(job["command"], ledger) == 0, job
    assert run(["places", "finish", round_uri, "--run-name", run_name, "--output", output], ledger) == 0
    result = json.loads(work_files.read_text(work_files.join(round_uri, "result.json")) or "{}")
    return {"lists": lists, "result": result}


def fetch(uri: str, tmp: Path) -> Path:
    """A local copy of a file of an S3 (or local) output."""
    if not uri.startswith("s3://"):
        return Path(uri)
    import boto3

    from scoresby.core.layout import split_s3_uri

    bucket, key = split_s3_uri(uri)
    dest = tmp / key.replace("/", "_")
    boto3.client("s3").download_file(bucket, key, str(dest))
    return dest


def same_raster(a: Path, b: Path) -> None:
    """Two GeoTIFFs equal pixel for pixel (NaN where NaN), with the same grid, nodata and overviews."""
    with rasterio.open(a) as x, rasterio.open(b) as y:
        assert (x.profile["dtype"], x.count, x.width, x.height) == (
            y.profile["dtype"],
            y.count,
            y.width,
            y.height,
        )
        assert x.transform == y.transform and x.crs == y.crs
        assert x.nodata == y.nodata or bool(np.isnan(x.nodata) and np.isnan(y.nodata))
        assert x.overviews(1) == y.overviews(1)
        np.testing.assert_array_equal(x.read(), y.read())
