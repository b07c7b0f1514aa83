"""Summary Lambda against moto: counts from the task log, summary.json in S3, subject and message text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.summarize_run import handler as summary
from tests.lambdas.conftest import OUTPUT_BUCKET, OUTPUT_ROOT, TABLE
from worker.core.errors import InvalidInput
from worker.core.scene_list import Scene
from worker.stores.dynamo_log import DynamoTaskLog


def plan_run(run: str, n: int) -> list[Scene]:
    scenes = [
        Scene(scene_id=f"LC08_{i:03d}", source=f"s3://usgs-landsat/x/{i}/", products=("ndvi",))
        for i in range(n)
    ]
    DynamoTaskLog(TABLE).plan(run, scenes, OUTPUT_ROOT, False)
    return scenes


def test_summary_counts_statuses_writes_summary_json_and_composes_message(
    lambda_env: dict[str, str], s3: Any
) -> None:
    log = DynamoTaskLog(TABLE)
    ok, bad, also_bad, pending = plan_run("sund", 4)
    for s in (ok, bad, also_bad):
        log.start("sund", s.scene_id, "job")
    log.succeed("sund", ok.scene_id, {"ndvi": f"{OUTPUT_ROOT}sund/{ok.scene_id}/{ok.scene_id}_ndvi.tif"}, 4.0)
    log.fail("sund", bad.scene_id, "MissingBands", "needs B5", 1.0)
    log.fail("sund", also_bad.scene_id, "SourceNotFound", "no files", 0.5)
    plan_run("other-run", 2)  # must not be counted

    result = summary.handler({"run_name": "sund", "output": OUTPUT_ROOT, "counts": {"duplicates": 2}}, None)

    assert result["counts"] == {
        "scenes": 4,
        "SUCCEEDED": 1,
        "FAILED": 2,
        "SKIPPED": 0,
        "PENDING": 1,
        "RUNNING": 0,
    }
    assert result["summary_uri"] == f"{OUTPUT_ROOT}sund/summary.json"
    assert result["subject"] == "Scoresby sund: 1 succeeded, 2 failed, 0 skipped, 1 unfinished"
    message = result["message"]
    assert f"{bad.scene_id}: MissingBands: needs B5" in message
    assert f"{also_bad.scene_id}: SourceNotFound: no files" in message
    assert f"Outputs: {OUTPUT_ROOT}sund/" in message and "scoresby rerun sund --failed" in message
    assert ok.scene_id not in message
    assert "2 duplicate scene(s) in the list were processed once" in message
    body = s3.get_object(Bucket=OUTPUT_BUCKET, Key="products/sund/summary.json")["Body"].read()
    written = json.loads(body)
    assert written["run_name"] == "sund" and written["totals"]["FAILED"] == 2
    assert [row["scene_id"] for row in written["scenes"]] == [
        ok.scene_id,
        bad.scene_id,
        also_bad.scene_id,
        pending.scene_id,
    ]
    assert json.loads(json.dumps(result)) == result


def test_subject_fits_sns_limit_for_long_run_names() -> None:
    totals = {"SUCCEEDED": 12345, "FAILED": 2, "SKIPPED": 3, "PENDING": 0, "RUNNING": 0}
    subject = summary.compose_subject("r" * 80, totals)
    assert len(subject) <= 100 and subject.endswith("12345 succeeded, 2 failed, 3 skipped")
    assert "\n" not in subject and subject.isascii()


def test_message_lists_at_most_fifty_failures(lambda_env: dict[str, str], s3: Any) -> None:
    log = DynamoTaskLog(TABLE)
    scenes = plan_run("many", 60)
    for s in scenes:
        log.fail("many", s.scene_id, "UnreadableRaster", "truncated", None)
    result = summary.handler({"run_name": "many", "output": OUTPUT_ROOT}, None)
    assert result["counts"]["FAILED"] == 60
    assert "... and 10 more (see summary.json)" in result["message"]
    assert "duplicate" not in result["message"]


@pytest.mark.parametrize(
    "event", [{"output": OUTPUT_ROOT}, {"run_name": "x", "output": "/tmp/local"}, ["not", "an", "object"]]
)
def test_bad_event_is_invalid_input(lambda_env: dict[str, str], event: Any) -> None:
    with pytest.raises(InvalidInput):
        summary.handler(event, None)


def test_summary_reports_the_compute_cost_of_the_jobs_busy_time(lambda_env: dict[str, str], s3: Any) -> None:
    from worker.core.cost import SPOT_PRICE_DEFAULT, actual_compute_cost

    log = DynamoTaskLog(TABLE)
    ok, bad, skipped_later = plan_run("priced", 3)
    for s in (ok, bad):
        log.start("priced", s.scene_id, "job")
    log.succeed("priced", ok.scene_id, {"ndvi": f"{OUTPUT_ROOT}priced/{ok.scene_id}_ndvi.tif"}, 40.0)
    log.fail("priced", bad.scene_id, "MissingBands", "needs B5", 20.0)

    result = summary.handler({"run_name": "priced", "output": OUTPUT_ROOT}, None)

    rows = {r.scene_id: r for r in log.records("priced")}
    expected = actual_compute_cost(
        [(rows[s].started_at, rows[s].finished_at, rows[s].duration_s) for s in (ok.scene_id, bad.scene_id)]
    )
    assert expected["busy_s"] >= 60.0  # the pending scene costs nothing
    body = s3.get_object(Bucket=OUTPUT_BUCKET, Key="products/priced/summary.json")["Body"].read()
    assert json.loads(body)["totals"]["cost"] == expected
    assert f"at ${SPOT_PRICE_DEFAULT.value:g} per r6i.large-hour" in result["message"]
    assert f"{expected['vcpu_hours']:.3f} vCPU-hours" in result["message"]
