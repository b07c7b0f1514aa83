"""The AWS place ledger: a run's place scenes, made products and claims in the DynamoDB task table.

Partition `places:<run>` (core.place_stage.ledger_partition), never a run's scene partition, so no place
record is counted as a scene. Items carry no `finished_at`, so the sparse `by-scene` index never sees them.
Sort keys (core.place_stage):
- `scene#<place>#<scene_id>`: `entry`, the manifest's scene entry as JSON text (one item per scene keeps
  every item far below DynamoDB's 400 KB limit; JSON text, not a map, so floats and ints come back exactly
  as written and the entry's fingerprint still matches);
- `product#<place>#<item_id>`: `fingerprint` (what the published item was made from, absent until made),
  and the claim of the round making it: `claim_round`, `claim_fingerprint`, `claim_expires` (epoch s);
- `failed#<round>#<job_name>`: written by the state machine's Catch (core.place_stage.FAILED_FIELDS).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from scoresby.core.place_stage import FAILED_FIELDS, FAILED_SK, PRODUCT_SK, SCENE_SK, ledger_partition
from scoresby.stores.dynamo_log import PARTITION_KEY, SORT_KEY

MANIFEST_VERSION = 1
"""The manifest's `version` (places.manifest.VERSION, which stores cannot import; a test keeps them equal)."""
BATCH_WRITE_MAX = 25
"""Items per BatchWriteItem (DynamoDB's limit)."""
_CLAIM_FIELDS = ("claim_round", "claim_fingerprint", "claim_expires", "claimed_at")


class LostClaim(RuntimeError):
    """A round tried to record an item as made whose claim another round now holds (its lease expired)."""


class DynamoPlaceLedger:
    """core.place_stage.PlaceLedger on the task table, every claim one conditional write."""

    def __init__(
        self,
        table_name: str,
        run_name: str,
        *,
        client: Any = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.table_name = table_name
        self.run_name = run_name
        self.partition = ledger_partition(run_name)
        self._client_obj = client
        self._now = now or time.time

    @property
    def _client(self) -> Any:
        # Created at first use so moto and the job's environment are seen (as DynamoTaskLog does).
        if self._client_obj is None:
            import boto3

            self._client_obj = boto3.client("dynamodb")
        return self._client_obj

    def _key(self, sk: str) -> dict[str, Any]:
        return {PARTITION_KEY: {"S": self.partition}, SORT_KEY: {"S": sk}}

    @staticmethod
    def _prefix(kind: str, place: str) -> str:
        if not place or "#" in place:
            raise ValueError(f"place {place!r}: not allowed in a ledger key; allowed: a name without '#'")
        return f"{kind}{place}#"

    def _query(self, prefix: str | None) -> Iterator[dict[str, Any]]:
        """Every item of the partition (whose sort key starts with `prefix`), all pages (1 MB each)."""
        condition, names, values = "#pk = :pk", {"#pk": PARTITION_KEY}, {":pk": {"S": self.partition}}
        if prefix:
            condition += " AND begins_with(#sk, :prefix)"
            names["#sk"], values[":prefix"] = SORT_KEY, {"S": prefix}
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ConsistentRead=True,
        ):
            yield from page.get("Items", [])

    # --- reads ----------------------------------------------------------------------------------

    def manifest(self, place: str) -> dict[str, Any]:
        """{"version", "scenes": {scene_id: entry}, "products": {item_id: fingerprint}}, as the file is."""
        scenes: dict[str, Any] = {}
        prefix = self._prefix(SCENE_SK, place)
        for item in self._query(prefix):
            try:
                scenes[item[SORT_KEY]["S"][len(prefix) :]] = json.loads(item["entry"]["S"])
            except (KeyError, ValueError):
                continue  # an unreadable entry is forgotten: the scene is looked at again
        products: dict[str, str] = {}
        prefix = self._prefix(PRODUCT_SK, place)
        for item in self._query(prefix):
            if "fingerprint" in item:  # claimed but never made: not a product yet
                products[item[SORT_KEY]["S"][len(prefix) :]] = item["fingerprint"]["S"]
        return {"version": MANIFEST_VERSION, "scenes": scenes, "products": products}

    def claims(self, place: str) -> dict[str, dict[str, Any]]:
        """Unexpired claims of the place's items: {item_id: {"round", "fingerprint", "expires"}}."""
        now = self._now()
        prefix = self._prefix(PRODUCT_SK, place)
        found = {}
        for item in self._query(prefix):
            if "claim_round" in item and float(item["claim_expires"]["N"]) > now:
                found[item[SORT_KEY]["S"][len(prefix) :]] = {
                    "round": item["claim_round"]["S"],
                    "fingerprint": item.get("claim_fingerprint", {}).get("S", ""),
                    "expires": float(item["claim_expires"]["N"]),
                }
        return found

    def failures(self, round_id: str) -> list[dict[str, str]]:
        """The round's failed place jobs: {"job_name", "error", "cause"} (the state machine's records)."""
        prefix = f"{FAILED_SK}{round_id}#"
        out = []
        for item in self._query(prefix):
            record = {"job_name": item[SORT_KEY]["S"][len(prefix) :]}
            record |= {f: item[f]["S"] if "S" in item.get(f, {}) else "" for f in FAILED_FIELDS}
            out.append(record)
        return out

    def overview(self) -> dict[str, Any]:
        """The run's place stage at a glance (one paginated Query of the partition), for `scoresby status`.

        {"places": {place: {"scenes", "made", "claimed": {round: items}}}, "last_round", "failed"}: claims
        are the unexpired ones (a running round's); the last round is the one that claimed or made an item
        last, else the last with failed jobs; `failed` holds that round's failed jobs.
        """
        now = self._now()
        places: dict[str, dict[str, Any]] = {}
        failed: dict[str, list[dict[str, str]]] = {}
        latest: tuple[float, str] | None = None
        for item in self._query(None):
            kind, _, rest = item[SORT_KEY]["S"].partition("#")
            first, _, second = rest.partition("#")
            if kind + "#" == FAILED_SK:
                failed.setdefault(first, []).append(
                    {"job_name": second} | {f: item.get(f, {}).get("S", "") for f in FAILED_FIELDS}
                )
                continue
            place = places.setdefault(first, {"scenes": 0, "made": 0, "claimed": {}})
            if kind + "#" == SCENE_SK:
                place["scenes"] += 1
                continue
            place["made"] += int("fingerprint" in item)
            for round_field, at_field in (("claim_round", "claimed_at"), ("made_round", "made_at")):
                if round_field in item and at_field in item:
                    stamp = (float(item[at_field]["N"]), item[round_field]["S"])
                    latest = stamp if latest is None or stamp > latest else latest
            if "claim_round" in item and float(item["claim_expires"]["N"]) > now:
                claimed = place["claimed"]
                claimed[item["claim_round"]["S"]] = claimed.get(item["claim_round"]["S"], 0) + 1
        last = latest[1] if latest else (sorted(failed)[-1] if failed else None)
        return {"places": places, "last_round": last, "failed": failed.get(last or "", [])}

    # --- writes ---------------------------------------------------------------------------------

    def remember_scenes(self, place: str, entries: dict[str, dict[str, Any]]) -> None:
        """Record scenes that count for the place (one item each, BatchWriteItem 25 at a time)."""
        prefix = self._prefix(SCENE_SK, place)
        requests = [
            {
                "PutRequest": {
                    "Item": self._key(prefix + sid)
                    | {"entry": {"S": json.dumps(entry, sort_keys=True, separators=(",", ":"))}}
                }
            }
            for sid, entry in sorted(entries.items())
        ]
        for start in range(0, len(requests), BATCH_WRITE_MAX):
            pending = {self.table_name: requests[start : start + BATCH_WRITE_MAX]}
            for attempt in range(8):
                unprocessed = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems")
                if not unprocessed:
                    break
                pending = unprocessed
                time.sleep(min(2.0, 0.05 * 2**attempt))  # throttled: back off, as the SDK advises
            else:
                raise RuntimeError(f"place {place}: DynamoDB kept {len(pending)} scene writes unprocessed")

    def claim(self, place: str, item_id: str, fingerprint: str, round_id: str, lease_s: int) -> bool:
        """Take the item for this round unless another round's unexpired claim holds it; True when taken."""
        now = self._now()
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=self._key(self._prefix(PRODUCT_SK, place) + item_id),
                UpdateExpression="SET #round = :round, #cfp = :fp, #expires = :expires, #at = :now",
                ConditionExpression="attribute_not_exists(#round) OR #round = :round OR #expires < :now",
                ExpressionAttributeNames={
                    "#round": "claim_round",
                    "#cfp": "claim_fingerprint",
                    "#expires": "claim_expires",
                    "#at": "claimed_at",
                },
                ExpressionAttributeValues={
                    ":round": {"S": round_id},
                    ":fp": {"S": fingerprint},
                    ":expires": {"N": _number(now + lease_s)},
                    ":now": {"N": _number(now)},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def made(self, place: str, item_id: str, fingerprint: str, round_id: str) -> None:
        """The item is published from `fingerprint`; this round's claim is released. LostClaim if not held."""
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=self._key(self._prefix(PRODUCT_SK, place) + item_id),
                UpdateExpression="SET #fp = :fp, #made_round = :round, #made_at = :now REMOVE "
                + ", ".join(f"#{f}" for f in _CLAIM_FIELDS[1:])
                + ", #round",
                ConditionExpression="#round = :round",
                ExpressionAttributeNames={
                    "#fp": "fingerprint",
                    "#made_round": "made_round",
                    "#made_at": "made_at",
                    "#round": "claim_round",
                    **{f"#{f}": f for f in _CLAIM_FIELDS[1:]},
                },
                ExpressionAttributeValues={
                    ":fp": {"S": fingerprint},
                    ":round": {"S": round_id},
                    ":now": {"N": _number(self._now())},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            raise LostClaim(
                f"place {place}, item {item_id}: round {round_id} no longer holds the claim (its lease "
                "expired and another round took it); not recorded as made"
            ) from None

    def release(self, place: str, item_id: str, round_id: str) -> None:
        """Drop this round's claim (the item was not made); another round's claim is left alone."""
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=self._key(self._prefix(PRODUCT_SK, place) + item_id),
                UpdateExpression="REMOVE " + ", ".join(f"#{f}" for f in _CLAIM_FIELDS),
                ConditionExpression="#claim_round = :round",
                ExpressionAttributeNames={f"#{f}": f for f in _CLAIM_FIELDS},
                ExpressionAttributeValues={":round": {"S": round_id}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            pass  # not ours (any more): nothing to release

    def retire(self, place: str, item_id: str) -> None:
        """Forget a product that is no longer wanted (its record and any claim on it)."""
        self._client.delete_item(
            TableName=self.table_name, Key=self._key(self._prefix(PRODUCT_SK, place) + item_id)
        )


def _number(value: float) -> str:
    """An epoch time as a DynamoDB number (milliseconds kept)."""
    return f"{value:.3f}"
