"""One planning rule: the same history planned by SqliteTaskLog and DynamoTaskLog leaves the same rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scoresby.core.scene_list import Scene
from scoresby.core.task_log import TaskLog
from scoresby.stores import dynamo_log, sqlite_log
from scoresby.stores.dynamo_log import DynamoTaskLog
from scoresby.stores.sqlite_log import SqliteTaskLog
from tests.lambdas.conftest import OUTPUT_ROOT, TABLE

BOTH = ("true_color", "ndvi")


def scene(n: int, products: tuple[str, ...] = BOTH) -> Scene:
    source = f"s3://usgs-landsat/x/{n}/"
    return Scene(scene_id=f"LC08_L2SP_001062_2020103{n}", source=source, products=products)


def outputs(s: Scene, run: str) -> dict[str, str]:
    return {p: f"{OUTPUT_ROOT}{run}/{s.scene_id}/{s.scene_id}_{p}.tif" for p in s.products}


def history(log: TaskLog) -> dict[str, list[dict[str, Any]]]:
    """Two runs into one output: success, failure, a killed runner, a narrower and a wider product list."""
    a, b, c, d = scene(1), scene(2), scene(3), scene(4)
    log.plan("run-1", [a, b, c], OUTPUT_ROOT, False)
    log.start("run-1", a.scene_id, "host-1")
    log.succeed("run-1", a.scene_id, outputs(a, "run-1"), 10.5)
    log.start("run-1", b.scene_id, "host-1")
    log.fail("run-1", b.scene_id, "MissingBands", "scene b: needs SR_B7", 1.25)
    log.start("run-1", c.scene_id, "host-1")  # killed here: c stays RUNNING
    to_run_again = log.plan("run-1", [a, b, c], OUTPUT_ROOT, False)
    # run-2 asks for a narrower product list of a (done), the wider one of d, and a again with overwrite
    to_run_2 = log.plan("run-2", [scene(1, ("ndvi",)), d], OUTPUT_ROOT, False)
    to_run_3 = log.plan("run-3", [a], OUTPUT_ROOT, True)
    # run-4 finds a done, but its files were deleted
    to_run_4 = log.plan("run-4", [a], OUTPUT_ROOT, False, output_exists=lambda uri: False)
    runs = ("run-1", "run-2", "run-3", "run-4")
    rows = {run: [r.to_dict() for r in log.records(run)] for run in runs}
    rows["to_run"] = [{"ids": [s.scene_id for s in x]} for x in (to_run_again, to_run_2, to_run_3, to_run_4)]
    return rows


@pytest.mark.parametrize("bulk_lookup_min", [10_000, 1], ids=["query-per-scene", "one-index-scan"])
def test_sqlite_and_dynamo_plan_alike(
    tmp_path: Path, dynamodb: Any, monkeypatch: pytest.MonkeyPatch, bulk_lookup_min: int
) -> None:
    monkeypatch.setattr(dynamo_log, "BULK_LOOKUP_MIN", bulk_lookup_min)
    # One clock for both histories, which run one after the other: a second may tick between them.
    for module in (dynamo_log, sqlite_log):
        monkeypatch.setattr(module, "utc_now", lambda: "2026-12-02T12:00:00Z")
    with SqliteTaskLog(tmp_path / "log.sqlite") as sqlite:
        local = history(sqlite)
    aws = history(DynamoTaskLog(TABLE))
    assert aws == local
    # and the history means what it should
    assert [r["status"] for r in local["run-1"]] == ["SKIPPED", "PENDING", "PENDING"]
    assert local["run-1"][0]["duration_s"] == 10.5 and local["run-1"][0]["ran_on"] == "host-1"
    assert [r["attempts"] for r in local["run-1"]] == [1, 1, 1]
    assert local["run-1"][1]["error"] is None
    assert [r["status"] for r in local["run-2"]] == ["SKIPPED", "PENDING"]
    assert local["run-2"][0]["outputs"] == {"ndvi": outputs(scene(1), "run-1")["ndvi"]}
    assert local["to_run"] == [
        {"ids": [scene(2).scene_id, scene(3).scene_id]},
        {"ids": [scene(4).scene_id]},
        {"ids": [scene(1).scene_id]},
        {"ids": [scene(1).scene_id]},
    ]
    assert local["run-4"][0]["status"] == "PENDING"
