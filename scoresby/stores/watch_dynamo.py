"""An AWS watch's state in the task table: partition `watch:<run name>`, a `#state` row and one row per item.

`watch:` cannot start a run name (core.layout.NAME_PATTERN has no ':'), so these rows never mix with a
run's; they have no `finished_at`, so the `by-scene` index does not see them either. Items are claimed
with conditional writes (absent, or an older version), so two rounds at once cannot both take an item.
Only Query, PutItem and UpdateItem are used: what the init function may already do (grant_planning).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from scoresby.core.task_log import utc_now
from scoresby.core.watch import Cursor, WatchStatus
from scoresby.stores.dynamo_log import PARTITION_KEY, SORT_KEY, DynamoTaskLog

log = logging.getLogger(__name__)

PARTITION_PREFIX = "watch:"
STATE_KEY = "#state"
ITEM_PREFIX = "item#"


class DynamoWatchState:
    """The watch rows of a DynamoDB task table (same methods as stores.watch_state.SqliteWatchState)."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self._log = DynamoTaskLog(table_name, client=client)
        self.table_name = table_name
        self.claimed: list[str] = []  # the item ids the last begin_round took (conditional writes)

    @property
    def _client(self) -> Any:
        return self._log._client

    def _rows(self, run_id: str) -> Iterator[dict[str, Any]]:
        return self._log.partition_items(PARTITION_PREFIX + run_id)

    def status(self, run_id: str, schedule: str | None = None) -> WatchStatus | None:
        """The watch's cursor and last round, or None before its first round."""
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="#pk = :pk AND #sk = :sk",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            ExpressionAttributeValues={":pk": {"S": PARTITION_PREFIX + run_id}, ":sk": {"S": STATE_KEY}},
            ConsistentRead=True,
        ):
            for raw in page.get("Items", []):
                d = self._log._deser(raw)
                return WatchStatus(
                    run_id=run_id,
                    cursor=Cursor.from_dict(d.get("cursor")),
                    rounds=int(d.get("rounds", 0)),
                    round_started=d.get("round_started"),
                    round_finished=d.get("round_finished"),
                    round_new=None if d.get("round_new") is None else int(d["round_new"]),
                    round_outcome=d.get("round_outcome"),
                    schedule=schedule,
                )
        return None

    def versions(self, run_id: str) -> dict[str, str]:
        """item id -> version of every item the watch has seen."""
        return {
            r[SORT_KEY][len(ITEM_PREFIX) :]: r["version"]
            for r in self._rows(run_id)
            if r[SORT_KEY].startswith(ITEM_PREFIX)
        }

    def begin_round(
        self,
        run_id: str,
        watch: Mapping[str, Any],
        *,
        every_s: float | None,
        cursor: Cursor | None,
        new: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
        reprocessed: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
        versions: Mapping[str, str],
    ) -> int:
        """Claim the round's items (conditional writes) and move the cursor; the round's number.

        An item another round claimed first (a concurrent execution) is left out: `claimed` lists the rest.
        """
        self.claimed = []
        for redo, pairs in ((False, new), (True, reprocessed)):
            for item, scene in pairs:
                item_id = str(item["id"])
                if self._claim(run_id, item, scene, versions[item_id], redo):
                    self.claimed.append(item_id)
        state: dict[str, Any] = {
            "round_started": utc_now(),
            "round_outcome": "running",
            "round_new": len(self.claimed),
        }
        if cursor is not None:
            state["cursor"] = cursor.to_dict()
        response = self._client.update_item(
            TableName=self.table_name,
            Key=self._key(run_id, STATE_KEY),
            UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in state) + ", #rounds = "
            "if_not_exists(#rounds, :zero) + :one REMOVE #round_finished",
            ExpressionAttributeNames={**{f"#{k}": k for k in state}, "#rounds": "rounds"}
            | {"#round_finished": "round_finished"},
            ExpressionAttributeValues=self._log._ser(
                {**{f":{k}": v for k, v in state.items()}, ":zero": 0, ":one": 1}
            ),
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["rounds"]["N"])

    def _claim(
        self, run_id: str, item: Mapping[str, Any], scene: Mapping[str, Any], version: str, redo: bool
    ) -> bool:
        row = {
            PARTITION_KEY: PARTITION_PREFIX + run_id,
            SORT_KEY: ITEM_PREFIX + str(item["id"]),
            "version": version,
            "datetime": str((item.get("properties") or {}).get("datetime") or ""),
            # JSON text: an item's floats and nulls stay exactly as the API sent them.
            "scene": json.dumps(scene, separators=(",", ":")),
            "redo": redo,
            "redo_since": utc_now(),  # a redo ends when the scene SUCCEEDED after this (core.watch_round)
        }
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=self._log._ser(row),
                ConditionExpression="attribute_not_exists(#pk) OR #version < :version",
                ExpressionAttributeNames={"#pk": PARTITION_KEY, "#version": "version"},
                ExpressionAttributeValues=self._log._ser({":version": version}),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            log.info("watch %s: item %s was taken by another round", run_id, item["id"])
            return False
        return True

    def scenes(self, run_id: str) -> list[dict[str, Any]]:
        """The scene objects of every item seen, oldest acquisition first."""
        rows = [r for r in self._rows(run_id) if r[SORT_KEY].startswith(ITEM_PREFIX)]
        rows.sort(key=lambda r: (r.get("datetime", ""), r[SORT_KEY]))
        return [json.loads(r["scene"]) for r in rows]

    def _redo_rows(self, run_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(scene id, item row) of every item still to be redone."""
        for r in self._rows(run_id):
            if r[SORT_KEY].startswith(ITEM_PREFIX) and r.get("redo"):
                yield json.loads(r["scene"])["scene_id"], r

    def redo_ids(self, run_id: str) -> set[str]:
        """Scene ids to make again over their earlier outputs (the provider reprocessed the item)."""
        return {scene_id for scene_id, _ in self._redo_rows(run_id)}

    def finish_round(self, run_id: str, outcome: str, done: Iterable[str]) -> None:
        """Record the round's outcome (on AWS: once the init function has planned it)."""
        self._client.update_item(
            TableName=self.table_name,
            Key=self._key(run_id, STATE_KEY),
            UpdateExpression="SET #f = :f, #o = :o",
            ExpressionAttributeNames={"#f": "round_finished", "#o": "round_outcome"},
            ExpressionAttributeValues=self._log._ser({":f": utc_now(), ":o": outcome}),
        )

    def redo_since(self, run_id: str) -> dict[str, str]:
        """Scene id -> when its redo began (the item's claim), of every scene still to be redone."""
        return {scene_id: str(r.get("redo_since", "")) for scene_id, r in self._redo_rows(run_id)}

    def clear_redo(self, run_id: str, done: Iterable[str]) -> None:
        """Redo the scenes in `done` no more (core.watch_round.redo_done decides which)."""
        done = set(done)
        for scene_id, r in self._redo_rows(run_id):
            if scene_id in done:
                self._client.update_item(
                    TableName=self.table_name,
                    Key=self._key(run_id, r[SORT_KEY]),
                    UpdateExpression="SET #r = :r",
                    ExpressionAttributeNames={"#r": "redo"},
                    ExpressionAttributeValues={":r": {"BOOL": False}},
                )

    def _key(self, run_id: str, sort_key: str) -> dict[str, Any]:
        return {PARTITION_KEY: {"S": PARTITION_PREFIX + run_id}, SORT_KEY: {"S": sort_key}}
