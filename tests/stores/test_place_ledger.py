"""DynamoPlaceLedger against moto: claims of overlapping rounds, leases, made/release/retire, failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from scoresby.core.place_stage import FAILED_FIELDS, ledger_partition
from scoresby.core.scene_list import Scene
from scoresby.core.task_log import SUCCEEDED
from scoresby.places import manifest as place_manifest
from scoresby.stores.dynamo_log import PARTITION_KEY, SORT_KEY, DynamoTaskLog, table_schema
from scoresby.stores.place_ledger import MANIFEST_VERSION, DynamoPlaceLedger, LostClaim
from tests.conftest import fake_aws_env

TABLE = "scoresby-tasks-test"
RUN = "glacier"
OUTPUT_ROOT = "s3://out/products/"


class Clock:
    """A settable epoch clock for the leases."""

    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_aws_env(monkeypatch, "eu-central-1")
    with mock_aws():
        c = boto3.client("dynamodb")
        c.create_table(TableName=TABLE, **table_schema())
        yield c


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(client: Any, clock: Clock) -> DynamoPlaceLedger:
    return DynamoPlaceLedger(TABLE, RUN, client=client, now=clock)


def entry(sid: str, pad: int = 0) -> dict[str, Any]:
    return {
        "key": f"k-{sid}",
        "sensor": "LANDSAT_8",
        "datetime": "2020-07-01T13:45:00Z",
        "scene": {"scene_id": sid, "source": f"s3://src/{sid}/", "aoi": {"bbox": [1.5, 2.0, 3.25, 4.0]}},
        "pad": "x" * pad,
    }


def test_manifest_version_is_the_places_one() -> None:
    assert MANIFEST_VERSION == place_manifest.VERSION


def test_two_overlapping_rounds_never_hold_one_item(ledger: DynamoPlaceLedger) -> None:
    assert ledger.claim("sund", "sund-2020", "fp1", "round-a", 600)
    assert not ledger.claim("sund", "sund-2020", "fp1", "round-b", 600)  # held: refused, not raised
    assert ledger.claim("sund", "sund-2020", "fp1", "round-a", 600)  # this round's own claim again
    assert ledger.claim("sund", "sund-2021", "fp2", "round-b", 600)  # another item is free
    assert set(ledger.claims("sund")) == {"sund-2020", "sund-2021"}
    assert ledger.claims("sund")["sund-2020"]["round"] == "round-a"
    assert ledger.manifest("sund")["products"] == {}  # claimed is not made


def test_an_expired_lease_is_taken_over_and_the_old_round_cannot_record(
    ledger: DynamoPlaceLedger, clock: Clock
) -> None:
    assert ledger.claim("sund", "sund-2020", "fp1", "round-a", 600)
    clock.t += 599
    assert not ledger.claim("sund", "sund-2020", "fp2", "round-b", 600)
    clock.t += 2  # round-a's lease has run out
    assert ledger.claim("sund", "sund-2020", "fp2", "round-b", 600)
    with pytest.raises(LostClaim, match="round-a no longer holds"):
        ledger.made("sund", "sund-2020", "fp1", "round-a")
    assert ledger.manifest("sund")["products"] == {}  # round-a's fingerprint was not written
    ledger.made("sund", "sund-2020", "fp2", "round-b")
    assert ledger.manifest("sund")["products"] == {"sund-2020": "fp2"}
    assert ledger.claims("sund") == {}  # made releases the claim


def test_made_needs_a_claim_and_release_frees_the_item(ledger: DynamoPlaceLedger) -> None:
    with pytest.raises(LostClaim):
        ledger.made("sund", "sund-2020", "fp1", "round-a")  # never claimed
    assert ledger.claim("sund", "sund-2020", "fp1", "round-a", 600)
    ledger.release("sund", "sund-2020", "round-b")  # not b's claim: left alone
    assert not ledger.claim("sund", "sund-2020", "fp1", "round-b", 600)
    ledger.release("sund", "sund-2020", "round-a")
    assert ledger.claims("sund") == {}
    assert ledger.claim("sund", "sund-2020", "fp1", "round-b", 600)
    ledger.made("sund", "sund-2020", "fp1", "round-b")
    # A later round re-claims a made item (its inputs changed): the old fingerprint stays until made again.
    assert ledger.claim("sund", "sund-2020", "fp9", "round-c", 600)
    assert ledger.manifest("sund")["products"] == {"sund-2020": "fp1"}
    ledger.release("sund", "sund-2020", "round-c")
    assert ledger.manifest("sund")["products"] == {"sund-2020": "fp1"}
    ledger.retire("sund", "sund-2020")
    assert ledger.manifest("sund")["products"] == {}
    assert ledger.claim("sund", "sund-2020", "fp1", "round-d", 600)


def test_manifest_has_the_file_shape_and_keeps_places_apart(ledger: DynamoPlaceLedger) -> None:
    ledger.remember_scenes("sund", {"LC08_A": entry("LC08_A"), "LC08_B": entry("LC08_B")})
    ledger.remember_scenes("sund-north", {"LC08_C": entry("LC08_C")})  # a place whose name extends another
    ledger.remember_scenes("sund", {"LC08_A": entry("LC08_A") | {"key": "k-new"}})  # an entry replaced
    assert ledger.claim("sund", "sund-2020", "fp1", "r", 60)
    ledger.made("sund", "sund-2020", "fp1", "r")
    man = ledger.manifest("sund")
    assert set(man) == {"version", "scenes", "products"} and man["version"] == place_manifest.VERSION
    assert set(man["scenes"]) == {"LC08_A", "LC08_B"}
    assert man["scenes"]["LC08_A"]["key"] == "k-new"
    # Exactly as written: floats stay floats (the entry's fingerprint is of these values).
    assert man["scenes"]["LC08_B"] == entry("LC08_B")
    assert man["products"] == {"sund-2020": "fp1"}
    assert set(ledger.manifest("sund-north")["scenes"]) == {"LC08_C"}
    empty = ledger.manifest("elsewhere")
    assert empty == {"version": place_manifest.VERSION, "scenes": {}, "products": {}}
    with pytest.raises(ValueError, match="without '#'"):
        ledger.manifest("a#b")


def test_manifest_pages_through_more_than_a_megabyte(ledger: DynamoPlaceLedger, client: Any) -> None:
    entries = {f"LC08_{i:03d}": entry(f"LC08_{i:03d}", pad=30_000) for i in range(60)}  # ~1.8 MB
    ledger.remember_scenes("sund", entries)
    pages = []
    real = client.get_paginator

    def counting(name: str) -> Any:
        paginator = real(name)
        original = paginator.paginate

        def paginate(**kw: Any) -> Any:
            for page in original(**kw):
                pages.append(len(page.get("Items", [])))
                yield page

        paginator.paginate = paginate
        return paginator

    client.get_paginator = counting
    man = ledger.manifest("sund")
    assert man["scenes"] == entries
    assert len([p for p in pages if p]) >= 2  # the scenes came in more than one 1 MB page


def state_machine_failure(client: Any, round_id: str, job_name: str, error: str, cause: str) -> None:
    """The record the state machine's Catch writes (PutItem, FAILED_FIELDS as strings)."""
    item = {PARTITION_KEY: {"S": ledger_partition(RUN)}, SORT_KEY: {"S": f"failed#{round_id}#{job_name}"}}
    fields = dict(zip(FAILED_FIELDS, (error, cause), strict=True))
    client.put_item(TableName=TABLE, Item=item | {k: {"S": v} for k, v in fields.items()})


def test_failures_of_a_round(ledger: DynamoPlaceLedger, client: Any) -> None:
    cause = json.dumps({"StatusReason": "Host EC2 (instance i-1) terminated."})
    state_machine_failure(client, "r1", "scoresby-place-tile-2020-0-0", "States.TaskFailed", cause)
    state_machine_failure(client, "r1", "scoresby-place-item-2020", "States.Timeout", "")
    state_machine_failure(client, "r10", "scoresby-place-tile-2021-0-0", "States.TaskFailed", "x")
    failed = ledger.failures("r1")  # not r10's, whose id starts the same
    assert failed == [
        {"job_name": "scoresby-place-item-2020", "error": "States.Timeout", "cause": ""},
        {"job_name": "scoresby-place-tile-2020-0-0", "error": "States.TaskFailed", "cause": cause},
    ]
    assert ledger.failures("r2") == []
    assert ledger.overview()["last_round"] == "r10"  # no products: the last round with failures


def test_overview_counts_made_claimed_and_the_last_rounds_failures(
    ledger: DynamoPlaceLedger, client: Any, clock: Clock
) -> None:
    ledger.remember_scenes("sund", {"LC08_A": entry("LC08_A"), "LC08_B": entry("LC08_B")})
    assert ledger.claim("sund", "sund-2020", "fp", "r1", 60)
    ledger.made("sund", "sund-2020", "fp", "r1")
    state_machine_failure(client, "r1", "scoresby-place-tile-old", "States.TaskFailed", "old")
    clock.t += 100
    assert ledger.claim("sund", "sund-2021", "fp", "r2", 600)  # r2 is running
    assert ledger.claim("sund", "sund-2022", "fp", "r2", 600)
    clock.t -= 200  # r0 claimed before r1 made its item, with a lease that has run out by now
    assert ledger.claim("north", "north-2019", "fp", "r0", 10)
    clock.t += 200
    state_machine_failure(client, "r2", "scoresby-place-tile-2021-0-0", "States.TaskFailed", "spot")
    view = ledger.overview()
    assert view["places"]["sund"] == {"scenes": 2, "made": 1, "claimed": {"r2": 2}}
    assert view["places"]["north"]["claimed"] == {}
    assert view["last_round"] == "r2"
    assert view["failed"] == [
        {"job_name": "scoresby-place-tile-2021-0-0", "error": "States.TaskFailed", "cause": "spot"}
    ]


def test_place_records_are_never_scene_rows(ledger: DynamoPlaceLedger, client: Any) -> None:
    log = DynamoTaskLog(TABLE, client=client)
    scene = Scene(scene_id="LC08_A", source="s3://src/LC08_A/", products=("ndvi",))
    log.plan(RUN, [scene], OUTPUT_ROOT, False)
    log.start(RUN, "LC08_A", "job-1")
    log.succeed(RUN, "LC08_A", {"ndvi": f"{OUTPUT_ROOT}{RUN}/LC08_A/x.tif"}, 1.0)
    ledger.remember_scenes("sund", {"LC08_A": entry("LC08_A"), "LC08_B": entry("LC08_B")})
    assert ledger.claim("sund", "sund-2020", "fp", "r1", 60)
    ledger.made("sund", "sund-2020", "fp", "r1")
    state_machine_failure(client, "r1", "scoresby-place-tile", "States.TaskFailed", "x")
    assert [r.scene_id for r in log.records(RUN)] == ["LC08_A"]
    # The time-series step's count (infra/timeseries_step.py CountDoneScenes): one Query, Select COUNT.
    count = client.query(
        TableName=TABLE,
        KeyConditionExpression="#run = :run",
        FilterExpression="#status IN (:ok, :skipped)",
        ExpressionAttributeNames={"#run": PARTITION_KEY, "#status": "status"},
        ExpressionAttributeValues={":run": {"S": RUN}, ":ok": {"S": SUCCEEDED}, ":skipped": {"S": "SKIPPED"}},
        Select="COUNT",
        ConsistentRead=True,
    )
    assert count["Count"] == 1 and count["ScannedCount"] == 1
    # Nor does the by-scene index (skip-if-done across runs) see them: they have no finished_at.
    scanned = client.scan(TableName=TABLE, IndexName="by-scene")["Items"]
    assert [i[SORT_KEY]["S"] for i in scanned] == ["LC08_A"]
