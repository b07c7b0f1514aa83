"""`scoresby status` shows the place stage: an AWS run's ledger (moto), a local run's place manifests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from scoresby.cli import main
from scoresby.commands.place_status import format_place_overview
from scoresby.core.layout import task_log_path
from scoresby.core.place_stage import ledger_partition
from scoresby.core.scene_list import Scene
from scoresby.places import manifest
from scoresby.stores.dynamo_log import PARTITION_KEY, SORT_KEY
from scoresby.stores.place_ledger import DynamoPlaceLedger
from scoresby.stores.sqlite_log import SqliteTaskLog
from tests.commands.test_aws import STACK, TABLE, aws, seed_run  # noqa: F401 - `aws` is the fixture


def test_aws_status_shows_made_claimed_and_the_last_rounds_failures(aws: Any, capsys: Any) -> None:  # noqa: F811
    seed_run("r1")
    ledger = DynamoPlaceLedger(TABLE, "r1")
    ledger.remember_scenes("sund", {"LC08_A": {"key": "k", "sensor": "LANDSAT_8", "datetime": "2020-07-01"}})
    for item in ("sund_composite_2019", "sund_composite_2020"):
        assert ledger.claim("sund", item, "fp", "round-1", 3600)
        ledger.made("sund", item, "fp", "round-1")
    assert ledger.claim("sund", "sund_composite_2021", "fp2", "round-2", 3600)  # round-2 is running
    boto3.client("dynamodb").put_item(
        TableName=TABLE,
        Item={
            PARTITION_KEY: {"S": ledger_partition("r1")},
            SORT_KEY: {"S": "failed#round-2#scoresby-place-tile-2021-0-1"},
            "error": {"S": "States.TaskFailed"},
            "cause": {"S": "Host EC2 (instance i-0) terminated."},
        },
    )
    assert main(["status", "r1", "--stack", STACK]) == 1  # as before: scenes failed; places do not count
    out = capsys.readouterr().out
    assert f"place stage (DynamoDB {TABLE}, places:r1):" in out
    assert "  sund: 2 item(s) made, 1 scene(s); being made: 1 by round round-2" in out
    assert "  last round round-2: 1 failed job(s)" in out
    assert (
        "    FAILED scoresby-place-tile-2021-0-1  States.TaskFailed: Host EC2 (instance i-0) terminated."
        in out
    )


def test_aws_status_without_a_place_stage_adds_nothing(aws: Any, capsys: Any) -> None:  # noqa: F811
    seed_run("r1")
    main(["status", "r1", "--stack", STACK])
    assert "place" not in capsys.readouterr().out


def test_format_lists_at_most_twenty_failures_and_says_when_none() -> None:
    failed = [{"job_name": f"j{i}", "error": "E", "cause": "c"} for i in range(25)]
    lines = format_place_overview({"places": {}, "last_round": "r", "failed": failed}, "x")
    assert lines[-1] == "    ... and 5 more" and len(lines) == 2 + 20 + 1
    quiet = {"places": {"p": {"scenes": 3, "made": 4, "claimed": {}}}, "last_round": "r9", "failed": []}
    assert format_place_overview(quiet, "x") == [
        "place stage (x):",
        "  p: 4 item(s) made, 3 scene(s)",
        "  last round r9: no failed job",
    ]


@pytest.fixture
def local_run(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    with SqliteTaskLog(task_log_path(str(out))) as tl:
        tl.plan(
            "sund", [Scene(scene_id="S0", source="/src/S0", products=("ndvi",))], str(out / "sund"), False
        )
        tl.start("sund", "S0", ran_on="h")
        tl.succeed("sund", "S0", {"ndvi": "/o/S0.tif"}, 1.0)
    return out


def test_local_status_shows_each_places_manifest(local_run: Path, capsys: Any) -> None:
    places = local_run / "sund" / "places"
    doc = {"version": manifest.VERSION, "scenes": {"S0": {"key": "k"}, "S1": {"key": "k"}}, "products": {}}
    doc["products"] = {"sund_composite_2020": "a", "sund_composite_2021": "b", "sund_trend": "c"}
    manifest.save(places / "sund" / "manifest.json", doc)
    (places / "broken").mkdir()
    (places / "broken" / "manifest.json").write_text("{not json")
    assert main(["status", "sund", "--output", str(local_run)]) == 0
    out = capsys.readouterr().out
    assert f"place products ({places.resolve()}):" in out
    assert "  sund: 3 item(s) made, 2 scene(s)" in out
    assert "  broken: manifest.json unreadable (" in out and "makes everything again" in out
    assert json.loads((places / "sund" / "manifest.json").read_text()) == doc  # status only reads


def test_local_status_of_a_run_without_places(local_run: Path, capsys: Any) -> None:
    assert main(["status", "sund", "--output", str(local_run)]) == 0
    assert "place" not in capsys.readouterr().out
