"""A watch through the deployed flow under moto: what its schedule starts, round after round, real jobs."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.watch_settings import parse_watches
from scoresby.cli import main as scoresby
from scoresby.core.task_log import SKIPPED, SUCCEEDED
from scoresby.stores.dynamo_log import DynamoTaskLog
from scoresby.stores.watch_dynamo import DynamoWatchState
from tests.e2e import harness
from tests.e2e.harness import L8, L8_ID, SOURCES_BUCKET
from tests.stac_server import REAL_ITEMS, StacServer

pytestmark = pytest.mark.slow

COLLECTION = "scoresby-e2e-watch"
RUN = "e2e-watch"
BANDS = {"red": "B4", "nir08": "B5"}
SAMPLE_MESSAGES_ENV = "SCORESBY_SAMPLE_MESSAGES"


def item(item_id: str, when: str, updated: str) -> dict[str, Any]:
    """The real Earth Search Landsat item under a new id, its red/NIR assets on the real scene in moto S3."""
    doc = copy.deepcopy(
        json.loads((REAL_ITEMS / "landsat-c2-l2__LC08_L2SP_033032_20231008_02_T1.json").read_text())
    )
    doc.update(id=item_id, collection=COLLECTION, links=[])
    doc["properties"].update(datetime=when, created=updated, updated=updated)
    doc["assets"] = {
        key: {**doc["assets"][key], "href": f"s3://{SOURCES_BUCKET}/{L8}/{L8_ID}_SR_{band}.TIF"}
        for key, band in BANDS.items()
    }
    return doc


def start_round(stack: harness.MotoStack, execution_input: dict[str, Any], number: int) -> dict[str, Any]:
    """What the watch's EventBridge schedule does: start the state machine with the watch as input."""
    return stack.wait(stack.start(f"{RUN}-round-{number}", execution_input))


def test_a_watch_runs_its_backfill_then_a_quiet_round_then_only_the_new_item(
    world: dict[str, Any], stac_api: StacServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack: harness.MotoStack = world["stack"]
    container: harness.WorkerContainer = world["container"]
    watch = {
        "run_name": RUN,
        "products": ["ndvi"],
        "search": {
            "stac": stac_api.url,
            "collections": [COLLECTION],
            "bbox": [-180, -90, 180, 90],
            "datetime": "2013-04-01/..",
        },
    }
    # The input the deployed schedule would send, from the same setting `cdk deploy -c watches=...` reads.
    [setting] = parse_watches([{"name": "e2e", "scene_list": watch}])
    execution_input = setting.execution_input()
    stack.drain_messages()
    stac_api.add([item("LC08_E2E_WATCH_A", "2020-10-31T14:00:00Z", "2020-11-06T10:00:00Z")])

    jobs = len(container.runs)
    first = start_round(stack, execution_input, 1)
    assert first["status"] == "SUCCEEDED", first.get("cause")
    [job] = harness.scene_runs(container.runs[jobs:])
    assert job.returncode == 0, job.stderr[-2000:]
    after_first = len(container.runs)  # the scene's job and the run's time-series job
    rows = {r.scene_id: r for r in DynamoTaskLog(stack.table_name).records(RUN)}
    assert {k: r.status for k, r in rows.items()} == {"LC08_E2E_WATCH_A": SUCCEEDED}
    with_new = stack.drain_messages()
    [summary] = [m for m in with_new if m["Subject"].startswith(f"Scoresby {RUN}")]
    assert "this round found 1 new item(s)" in summary["Message"]

    quiet = start_round(stack, execution_input, 2)
    assert quiet["status"] == "SUCCEEDED" and len(container.runs) == after_first  # no job at all
    assert json.loads(quiet["output"])["quiet"] is True
    assert stack.drain_messages() == []  # watchQuietRounds=silent: no e-mail
    states = [e["type"] for e in stack.history(quiet["executionArn"]) if e["type"].endswith("StateEntered")]
    assert len(states) == 3  # Init, NothingNew?, NothingNewDone: it ends quickly

    stac_api.add([item("LC08_E2E_WATCH_B", "2021-01-17T14:00:00Z", "2021-01-24T10:00:00Z")])
    third = start_round(stack, execution_input, 3)
    assert third["status"] == "SUCCEEDED", third.get("cause")
    [job_b] = harness.scene_runs(container.runs[after_first:])
    assert "LC08_E2E_WATCH_B" in " ".join(job_b.argv) and job_b.returncode == 0, job_b.stderr[-2000:]
    rows = {r.scene_id: r for r in DynamoTaskLog(stack.table_name).records(RUN)}
    assert rows["LC08_E2E_WATCH_B"].status == SUCCEEDED and rows["LC08_E2E_WATCH_A"].status in (
        SUCCEEDED,
        SKIPPED,
    )
    assert rows["LC08_E2E_WATCH_A"].attempts == 1
    key = f"products/{RUN}/LC08_E2E_WATCH_B/LC08_E2E_WATCH_B_ndvi.tif"
    assert boto3.client("s3").head_object(Bucket=stack.output_bucket, Key=key)
    # the round's time-series job extends the run's series: both rounds' scenes are in it
    series = boto3.client("s3").get_object(Bucket=stack.output_bucket, Key=f"products/{RUN}/timeseries.csv")
    scene_ids = [line.split(",")[1] for line in series["Body"].read().decode().splitlines()[1:]]
    assert scene_ids == ["LC08_E2E_WATCH_A", "LC08_E2E_WATCH_B"]
    status = DynamoWatchState(stack.table_name).status(RUN)
    assert status is not None and status.rounds == 3 and status.cursor is not None
    third_messages = stack.drain_messages()

    # `scoresby watches --stack`: a stack whose Watches output names this watch (as a deploy with it would).
    deployed = json.dumps([{"name": "e2e", "run_name": RUN, "schedule": "rate(16 days)"}])
    harness.create_outputs_stack({**stack.outputs, "Watches": deployed}, stack_name="ScoresbyWatches")
    assert scoresby(["watches", "--stack", "ScoresbyWatches"]) == 0
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith(RUN)]
    assert line.split()[1] == "3" and "planned 1" in line and "updated 2021-01-24T10:00:00.000Z" in line
    assert line.split("planned 1")[1].split()[:3] == ["2", "0", "0"]
    if os.environ.get(SAMPLE_MESSAGES_ENV):
        lines = ["# The e-mails of a watch's rounds (tests/e2e/test_watch_e2e.py)", ""]
        for title, messages in (
            ("Round 1 (backfill)", with_new),
            ("Round 2 (nothing new)", []),
            ("Round 3", third_messages),
        ):
            lines += [f"## {title}", ""]
            lines += [f"Subject: {m['Subject']}\n\n```\n{m['Message']}```\n" for m in messages] or [
                "(no e-mail)\n"
            ]
        Path(os.environ[SAMPLE_MESSAGES_ENV]).write_text("\n".join(lines))
