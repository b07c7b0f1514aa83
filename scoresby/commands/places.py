"""`scoresby places plan|tiles|assemble|finish`: the AWS place stage's Batch jobs (core/place_stage.py).

plan: take stock of the round's place, claim the out-of-date items, write the four job lists. tiles: make
some tiles of one item. assemble: one item's COGs and Item from its tiles. finish: places.csv and the
round's result.json. The ledger is the task table's (SCORESBY_TASK_TABLE); bad input exits 2 with one line.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

from scoresby.core.config import JobSettings
from scoresby.core.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK, InvalidInput, one_line
from scoresby.core.layout import check_name
from scoresby.core.place_stage import PlaceLedger
from scoresby.core.task_log import FAILED
from scoresby.options import Subparsers, output_option

log = logging.getLogger(__name__)

HELP_ORDER = 110
"""Where `scoresby --help` lists this command: last, as the state machine runs it, not a user."""


def add_parser(sub: Subparsers) -> None:
    """`scoresby places plan|tiles|assemble|finish`: its parser, run by `places_command`."""
    pl = sub.add_parser("places", help="the AWS place stage's Batch jobs (the state machine runs these)")
    pl_sub = pl.add_subparsers(dest="places_command", required=True, metavar="JOB")
    for name, text in (
        ("plan", "take stock of a round's place, claim what is out of date, write the job lists"),
        ("tiles", "make tiles of one place product"),
        ("assemble", "one place product's COGs and Item from its tiles"),
        ("finish", "places.csv and the round's result.json; claims released"),
    ):
        job = pl_sub.add_parser(name, help=text)
        job.add_argument(
            "round", metavar="ROUND_URI", help="the round folder (s3://<work bucket>/places/<run>/<round>/)"
        )
        if name in ("plan", "finish"):
            job.add_argument("--run-name", required=True, metavar="NAME", help="the run's name")
            output_option(job, "the run's output (s3:// prefix or folder)", required=True)
        else:
            job.add_argument("--item", required=True, metavar="ITEM_ID", help="the place product's Item id")
        if name == "tiles":
            job.add_argument("--tiles", required=True, metavar="N,N,...", help="tile numbers, e.g. 0,1,2,3")
    pl.set_defaults(func=places_command)


def _ledger(run_name: str) -> PlaceLedger:
    """The run's place ledger on the task table (stores/place_ledger.py); InvalidInput without a table."""
    settings = JobSettings.from_env()
    if not settings.task_table:
        raise InvalidInput(
            "SCORESBY_TASK_TABLE is not set: the place stage keeps its ledger in the task table"
        )
    # By name: stores/place_ledger.py is another change's (merged separately) and is only needed on AWS.
    module = importlib.import_module("scoresby.stores.place_ledger")
    ledger: PlaceLedger = module.DynamoPlaceLedger(settings.task_table, run_name)
    return ledger


def _failed_scenes(run_name: str, task_log: Any) -> set[str]:
    """Scenes whose task-log row is FAILED (they do not count for the place)."""
    if task_log is None:
        settings = JobSettings.from_env()
        if not settings.task_table:
            return set()
        from scoresby.stores.dynamo_log import DynamoTaskLog

        task_log = DynamoTaskLog(settings.task_table)
    return {r.scene_id for r in task_log.records(run_name) if r.status == FAILED}


def _tiles(spec: str) -> list[int]:
    try:
        numbers = [int(x) for x in spec.split(",") if x.strip()]
    except ValueError:
        numbers = []
    if not numbers or min(numbers) < 0:
        raise InvalidInput(f"--tiles: {spec!r} is not a comma-separated list of tile numbers (e.g. 0,1,2)")
    return numbers


def places_command(args: Any, ledger: PlaceLedger | None = None, task_log: Any = None) -> int:
    """Run one place-stage job; `ledger` and `task_log` default to the task table's (tests pass others)."""
    from scoresby.places import stage_finish, stage_jobs, stage_plan

    what = args.places_command
    try:
        round_uri = args.round
        stage_plan.round_id_of(round_uri)
        if what == "plan":
            run_name = check_name(args.run_name, "run name", "--run-name")
            plan = stage_plan.plan_round(
                round_uri,
                run_name,
                args.output,
                ledger or _ledger(run_name),
                _failed_scenes(run_name, task_log),
            )
            jobs = ", ".join(f"{k} {v}" for k, v in plan.get("jobs", {}).items())
            sys.stdout.write(f"place {plan['place']}: {len(plan['products'])} items to make; jobs: {jobs}\n")
            for note in plan["notes"]:
                sys.stdout.write(note + "\n")
        elif what == "tiles":
            made = stage_jobs.tiles_job(round_uri, args.item, _tiles(args.tiles))
            sys.stdout.write(f"{args.item}: tiles made now: {', '.join(map(str, made)) or 'none'}\n")
        elif what == "assemble":
            run_name = stage_plan.load_plan(round_uri)["run"]
            outcome = stage_jobs.assemble_job(round_uri, args.item, ledger or _ledger(run_name))
            state = "made" if outcome["made"] else f"not made: {outcome['reason']}"
            sys.stdout.write(f"{args.item}: {state}\n")
        else:
            run_name = check_name(args.run_name, "run name", "--run-name")
            result = stage_finish.finish_round(round_uri, ledger or _ledger(run_name))
            sys.stdout.write(
                f"place {result['place']}: {len(result['made'])} made, {len(result['failed'])} failed\n"
            )
    except InvalidInput as exc:
        sys.stderr.write(f"scoresby places {what}: error: {one_line(exc)}\n")
        return EXIT_INVALID
    except Exception as exc:  # noqa: BLE001 - one line for the job's log; the state machine records the exit
        log.debug("places %s failed", what, exc_info=True)
        sys.stderr.write(f"scoresby places {what}: error: {type(exc).__name__}: {one_line(exc)}\n")
        return EXIT_FAILED
    return EXIT_OK
