"""A 10,000-scene run rehearsed under moto (issue 14): stored list, init, item list, rows, summary, estimate.

In-process moto (`mock_aws`): the list is stored in the work bucket as `scoresby submit` stores lists over the
256 KiB execution-input quota, the real init code (`plan_run`, scenesPerJob 31) plans it into the real
DynamoDB task log and writes the S3 item list the Distributed Map's ItemReader reads; every row is then
marked SUCCEEDED as the jobs would, and the real summary code counts them and writes summary.json. What moto
cannot show (Distributed Map child executions, Batch capacity) is left out; the state transitions come from
pricing.cost's counts, which tests/infra checks against the synthesized definition. Times are printed, not
asserted.

    .venv/bin/python bench/rehearsal_10k.py [--scenes 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

WORK_BUCKET = "scoresby-rehearsal-work"
OUTPUT_BUCKET = "scoresby-rehearsal-output"
TABLE = "scoresby-rehearsal-tasks"
NOTE = (
    "rehearsal rows: bench/rehearsal_10k.py, the real init and summary code on in-process moto "
    "(S3, DynamoDB); "
    "times are moto's, not AWS's"
)
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def backfill(n: int) -> dict:
    """n distinct Sentinel-2 COG scenes, the shape of a real backfill list (two products)."""
    return {
        "run_name": f"backfill-{n}",
        "products": ["true_color", "ndvi"],
        "scenes": [
            {"source": f"s3://sentinel-cogs/sentinel-s2-l2a-cogs/36/Q/WD/2020/7/S2A_36QWD_2020{i:05d}_0_L2A/"}
            for i in range(n)
        ],
    }


def rehearse(n: int, log=print) -> dict:
    """Run the rehearsal; returns its figures (seconds, counts, bytes)."""
    for k, v in FAKE_ENV.items():
        os.environ.setdefault(k, v)
    import boto3
    from moto import mock_aws

    from infra.settings import PipelineSettings
    from scoresby.core.batches import BATCH_MAX_BYTES
    from scoresby.core.config import InitSettings, SummarySettings
    from scoresby.core.contract import LIST_REFERENCE
    from scoresby.core.layout import list_key
    from scoresby.core.scene_list import parse_scene_list
    from scoresby.pricing import cost
    from scoresby.steps import init_run as init
    from scoresby.steps import summary
    from scoresby.stores.dynamo_log import DynamoTaskLog, table_schema

    per_job = PipelineSettings().scenes_per_job
    fig: dict = {"scenes": n, "scenes_per_job": per_job}
    with mock_aws():
        boto3.client("dynamodb").create_table(TableName=TABLE, **table_schema())
        s3 = boto3.client("s3")
        for bucket in (WORK_BUCKET, OUTPUT_BUCKET):
            s3.create_bucket(Bucket=bucket)
        plan = parse_scene_list(backfill(n))
        body = json.dumps(plan.to_dict(), separators=(",", ":")).encode()
        fig["list_bytes"] = len(body)
        key = list_key("rehearsal")
        s3.put_object(Bucket=WORK_BUCKET, Key=key, Body=body)  # what `scoresby submit` does above 200 KiB
        settings = InitSettings(TABLE, f"s3://{OUTPUT_BUCKET}/products/", WORK_BUCKET, scenes_per_job=per_job)
        t0 = time.perf_counter()
        state = init.plan_run({LIST_REFERENCE: f"s3://{WORK_BUCKET}/{key}"}, settings)
        fig["init_s"] = time.perf_counter() - t0
        fig["state_bytes"] = len(json.dumps(state))
        fig["inline"] = state["inline"]
        items = (
            state["items"]
            if state["inline"]
            else json.loads(s3.get_object(Bucket=WORK_BUCKET, Key=state["items_s3"]["key"])["Body"].read())
        )  # what the Distributed Map's ItemReader reads (a few hundred scenes stay inline)
        fig["jobs"] = len(items)
        fig["item_list_bytes"] = sum(len(json.dumps(i, separators=(",", ":"))) for i in items)
        fig["largest_job_scene_bytes"] = max(
            len(json.dumps(i["scenes"], separators=(",", ":"))) for i in items
        )
        fig["batch_max_bytes"] = BATCH_MAX_BYTES
        fig["scenes_in_items"] = sum(len(i["scenes"]) for i in items)
        task_log = DynamoTaskLog(TABLE)
        t0 = time.perf_counter()
        for item in items:  # what the jobs record, one row per scene
            for scene in item["scenes"]:
                task_log.succeed(
                    plan.run_name, scene["scene_id"], {}, cost.scene_seconds(cost.SENTINEL2_FULL_PX)
                )
        fig["job_writes_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = summary.summarize_run(
            {"run_name": plan.run_name, "output": settings.output, "counts": state["counts"]},
            SummarySettings(TABLE, PipelineSettings().job_vcpus),
        )
        fig["summary_s"] = time.perf_counter() - t0
        fig["summary_counts"] = result["counts"]
        fig["subject"] = result["subject"]
    est = cost.estimate({"sentinel-2": n}, scenes_per_job=per_job)
    transitions = cost.TRANSITIONS_PER_RUN + est.jobs * cost.TRANSITIONS_PER_JOB
    fig.update(
        estimate_total=est.total,
        estimate_wall_s=est.wall_s,
        transitions=transitions,
        transitions_per_scene=transitions / n,
        dynamodb_writes=n * cost.DYNAMODB_WRITES_PER_SCENE,
    )
    return fig


def report_lines(fig: dict) -> list[str]:
    """Markdown rows for the results table (figures, no targets)."""
    n = fig["scenes"]
    return [
        f"| rehearsal, {n:,} scenes under moto: init (S3 list of {fig['list_bytes'] / 1024:.0f} KiB -> "
        f"{n:,} DynamoDB rows -> {'inline' if fig['inline'] else 'S3'} item list of {fig['jobs']} jobs) "
        f"| {fig['init_s']:.1f} s | (info) | |",
        f"| rehearsal: {n:,} rows SUCCEEDED, then the summary Lambda | {fig['summary_s']:.1f} s, "
        f"{fig['subject']} | (info) | |",
        f"| rehearsal: state transitions per scene (definition counts x {fig['jobs']} jobs) | "
        f"{fig['transitions_per_scene']:.3f} ({fig['transitions']:,} in all) | (info) | |",
        f"| rehearsal: estimate for {n:,} Sentinel-2 tiles, {fig['scenes_per_job']} per job | "
        f"${fig['estimate_total']:.2f}, about {fig['estimate_wall_s'] / 60:.0f} min | (info) | |",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenes", type=int, default=10_000)
    args = ap.parse_args(argv)
    fig = rehearse(args.scenes)
    print(json.dumps(fig, indent=2))
    print("\n".join(report_lines(fig)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
