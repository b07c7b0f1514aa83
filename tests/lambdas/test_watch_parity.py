"""The same round history through the local round (SQLite) and the AWS init Lambda (moto): same scenes run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lambdas.init_pipeline import handler as init
from scoresby.commands import watch_round as local_round
from scoresby.commands.run import RunSummary
from scoresby.core.layout import task_log_path
from scoresby.core.watch import WatchStatus, parse_watch
from scoresby.search.client import SearchError
from scoresby.stores.dynamo_log import DynamoTaskLog
from scoresby.stores.sqlite_log import SqliteTaskLog
from scoresby.stores.watch_dynamo import DynamoWatchState
from scoresby.stores.watch_state import SqliteWatchState
from tests.lambdas.conftest import TABLE
from tests.lambdas.test_init_watch import item, planned, watch_doc
from tests.stac_server import StacServer

RUN = "parity"
OK, FAIL, LEFT_RUNNING = "ok", "fail", "running"
"""What a round's run does to a scene: succeed, fail, or start and not finish (a job still running)."""


def apply(log: Any, outcomes: dict[str, str], scene_ids: list[str]) -> None:
    """The runner's part: each scene the round runs ends as `outcomes` says."""
    for scene_id in scene_ids:
        log.start(RUN, scene_id, "runner")
        if outcomes[scene_id] == OK:
            log.succeed(RUN, scene_id, {"ndvi": f"/x/{scene_id}_ndvi.tif"}, 1.0)
        elif outcomes[scene_id] == FAIL:
            log.fail(RUN, scene_id, "MissingBands", "no B08", 1.0)


class LocalSide:
    """`scoresby watch --once` with the runner replaced by the task log's planning and `outcomes`."""

    def __init__(self, doc: dict[str, Any], output: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.plan = parse_watch(doc, output=str(output))
        self.output = str(output)
        self.outcomes: dict[str, str] = {}
        self.ran: list[str] = []
        monkeypatch.setattr(local_round, "run_plan", self._run_plan)

    def _run_plan(self, plan: Any, output: str, *, redo: frozenset[str], **_: Any) -> RunSummary:
        db = task_log_path(output)
        with SqliteTaskLog(db) as log:
            to_run = log.plan(plan.run_name, list(plan.scenes), output, False, redo=redo)
            self.ran = sorted(s.scene_id for s in to_run)
            apply(log, self.outcomes, self.ran)
        return RunSummary(plan.run_name, output, output, str(db), counts={})

    def round(self, outcomes: dict[str, str]) -> list[str]:
        self.outcomes, self.ran = outcomes, []
        result = local_round.watch_round(self.plan, self.output, workers=1, progress=False)
        assert (result.summary is None) == (not self.ran)  # a quiet round runs nothing
        return self.ran


def aws_round(event: dict[str, Any], outcomes: dict[str, str]) -> list[str]:
    state = init.handler(event, None)
    ran = planned(state)
    assert state["quiet"] is (not ran)
    apply(DynamoTaskLog(TABLE), outcomes, ran)
    return ran


def test_local_and_aws_rounds_run_the_same_scenes(
    lambda_env: dict[str, str],
    dynamodb: Any,
    stac_api: StacServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = "scoresby-watch-parity"
    a, b, cc, d = (f"S2B_P{n}_2024010{n}_0_L2A" for n in range(1, 5))
    doc = watch_doc(stac_api, c, RUN)
    local, event = LocalSide(doc, tmp_path / "out", monkeypatch), {"watch": doc}

    def both(outcomes: dict[str, str]) -> tuple[list[str], list[str]]:
        return local.round(outcomes), aws_round(event, outcomes)

    # Round 1, the backfill: A succeeds, B fails.
    stac_api.add(
        [
            item(c, a, "2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z"),
            item(c, b, "2024-01-02T10:00:00Z", "2024-01-02T12:00:00Z"),
        ]
    )
    assert both({a: OK, b: FAIL}) == ([a, b], [a, b])

    # Round 2: C is new, A reprocessed in place (newer `updated`), B failed before. A's run does not end.
    stac_api.add(
        [
            item(c, cc, "2024-01-03T10:00:00Z", "2024-01-03T12:00:00Z"),
            item(c, a, "2024-01-01T10:00:00Z", "2024-01-04T12:00:00Z"),
        ]
    )
    assert both({a: LEFT_RUNNING, b: OK, cc: OK}) == ([a, b, cc], [a, b, cc])

    # Round 3: D is new; A is still RUNNING. The one difference (core.watch_round.round_scenes, exclusive):
    # locally that is a killed runner's leftover and runs again; on AWS its execution is still running it.
    stac_api.add([item(c, d, "2024-01-05T10:00:00Z", "2024-01-05T12:00:00Z")])
    assert both({a: OK, d: OK}) == ([a, d], [d])
    apply(DynamoTaskLog(TABLE), {a: OK}, [a])  # AWS: the execution running A finishes it

    # Round 4, a re-run with nothing new: A's redo is done on both sides, nothing runs.
    assert both({}) == ([], [])


def test_a_failed_search_is_the_rounds_outcome_locally_and_on_aws(
    lambda_env: dict[str, str],
    dynamodb: Any,
    stac_api: StacServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both sides run search.watch_round.open_round: a failed search is recorded, before and after a round."""
    c = "scoresby-watch-failed-search"
    good = watch_doc(stac_api, c, RUN)
    bad = {**good, "search": {**good["search"], "stac": f"{stac_api.url}/no-such-api"}}
    output = tmp_path / "out"

    def statuses() -> tuple[WatchStatus | None, WatchStatus | None]:
        with SqliteWatchState(task_log_path(str(output))) as local_state:
            return local_state.status(RUN), DynamoWatchState(TABLE).status(RUN)

    def fail_both() -> None:
        with pytest.raises(SearchError) as local_error:
            LocalSide(bad, output, monkeypatch).round({})
        with pytest.raises(SearchError) as aws_error:
            init.handler({"watch": bad}, None)
        assert str(local_error.value) == str(aws_error.value)

    # The first round's search fails: no round counted, the failure is the outcome on both sides.
    fail_both()
    local, aws = statuses()
    assert local is not None and aws is not None
    assert local.rounds == aws.rounds == 0
    assert local.round_outcome == aws.round_outcome
    assert local.round_outcome is not None and local.round_outcome.startswith("failed: ")
    assert "no-such-api" in local.round_outcome

    # A round that works, then one whose search fails: the failure replaces the outcome, the cursor stays.
    stac_api.add([item(c, "S2B_F1_20240101_0_L2A", "2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z")])
    LocalSide(good, output, monkeypatch).round({"S2B_F1_20240101_0_L2A": OK})
    aws_round({"watch": good}, {"S2B_F1_20240101_0_L2A": OK})
    before = statuses()
    fail_both()
    local, aws = statuses()
    assert local is not None and aws is not None and before[0] is not None and before[1] is not None
    assert (local.rounds, aws.rounds) == (before[0].rounds, before[1].rounds) == (1, 1)
    assert (local.cursor, aws.cursor) == (before[0].cursor, before[1].cursor)
    assert local.round_outcome == aws.round_outcome and str(local.round_outcome).startswith("failed: ")
