"""`scoresby submit` and `scoresby status --stack`: runs of the deployed AWS pipeline (rerun: rerun.py).

Every command validates what it can locally first, then finds the stack's resources from its
CloudFormation outputs (commands/stack.py). boto3 clients are created at call time (region and
credentials from the standard AWS configuration), so the commands work against moto in tests.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scoresby.commands.place_status import aws_place_lines
from scoresby.commands.stack import (
    StackInfo,
    StackNotFound,
    console_link,
    execution_arn_for,
    execution_input,
    execution_name,
    find_stack,
    new_session,
    read_run,
)
from scoresby.core.contract import (
    LIST_REFERENCE,
    OUTPUT_ROOT_OUTPUT,
    OVERWRITE_KEY,
    STATE_MACHINE_OUTPUT,
    TASK_TABLE_OUTPUT,
    WORK_BUCKET_OUTPUT,
)
from scoresby.core.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK, InvalidInput, PipelineError, one_line
from scoresby.core.layout import list_key
from scoresby.core.summary import format_status, status_counts
from scoresby.core.task_log import FAILED, PENDING, RUNNING, TaskRecord
from scoresby.options import DEFAULT_STACK, Subparsers, stack_option
from scoresby.pricing import cost

if TYPE_CHECKING:
    from scoresby.core.scene_list import RunPlan

log = logging.getLogger(__name__)

INPUT_INLINE_MAX = 200 * 1024
"""Inputs up to this many bytes go inline; Step Functions' quota is 256 KiB (about 1,000 scenes)."""

WATCH_INTERVAL_S = 10.0
ACTIVE_STATUSES = (PENDING, RUNNING)


@dataclass(frozen=True)
class StartedRun:
    """The outcome of starting (or finding) an execution."""

    run_name: str
    execution_name: str
    execution_arn: str
    already_existed: bool
    status: str


# ---------------------------------------------------------------------------------------------------
# Pure helpers


def aws_sources_problems(plan: RunPlan) -> list[str]:
    """Problems that only matter on AWS: Batch cannot read local sources nor write to a local output."""
    problems = [
        f"scene {s.scene_id}: source {s.source!r} is a local path; AWS runs read s3:// or https:// sources"
        for s in plan.scenes
        if s.item is None and not s.source.startswith(("s3://", "https://"))
    ]
    if plan.output and not plan.output.startswith("s3://"):
        problems.append(
            f"output {plan.output!r} is a local path; AWS runs write to s3:// (or leave it out "
            "to use the stack's output bucket)"
        )
    return problems


# ---------------------------------------------------------------------------------------------------
# AWS calls (clients created at call time)


def _describe_execution(sfn: Any, arn: str) -> dict[str, Any] | None:
    try:
        return dict(sfn.describe_execution(executionArn=arn))
    except sfn.exceptions.ExecutionDoesNotExist:
        return None


def find_run(
    stack_name: str, run_id: str, session: Any, *, prefix: str
) -> tuple[StackInfo, list[TaskRecord]] | None:
    """The stack and the task-log rows of a run; None (after saying why on stderr) when either is missing."""
    try:
        stack = find_stack(stack_name, session)
        records = read_run(stack, run_id, session)
    except StackNotFound as exc:
        err(f"{prefix}: {exc}")
        return None
    if not records:
        err(f"{prefix}: run {run_id} has no task-log rows in stack {stack_name}")
        return None
    return stack, records


# ---------------------------------------------------------------------------------------------------
# Commands


HELP_ORDER = 90
"""Where `scoresby --help` lists this command."""


def add_parser(sub: Subparsers) -> None:
    """`scoresby submit`: its parser, run by `submit_command`."""
    sb = sub.add_parser("submit", help="start the AWS pipeline on a scene list")
    sb.add_argument("scenes", metavar="SCENES.json")
    stack_option(sb, f"CloudFormation stack (default: {DEFAULT_STACK})", default=DEFAULT_STACK)
    sb.add_argument("--name", metavar="RUN", help="run name (default: the list's run_name)")
    sb.add_argument(
        "--estimate",
        action="store_true",
        help="print the expected time and cost; start nothing (no AWS needed)",
    )
    sb.add_argument(
        "--spot-price",
        type=float,
        default=cost.SPOT_PRICE_DEFAULT.value,
        metavar="USD",
        help=f"--estimate: Spot price per r6i.large-hour (default {cost.SPOT_PRICE_DEFAULT.value}, "
        f"assumed {cost.PRICES_READ_ON})",
    )
    sb.add_argument(
        "--scenes-per-job",
        type=int,
        default=cost.default_scenes_per_job(),
        metavar="N",
        help="--estimate: the stack's scenesPerJob (default "
        f"{cost.default_scenes_per_job()}: a job of full Landsat scenes runs ~5 min)",
    )
    sb.add_argument(
        "--job-vcpus", type=int, default=cost.MEASURED_VCPUS, metavar="N", help="--estimate: jobVcpus"
    )
    sb.add_argument(
        "--concurrency",
        type=int,
        default=100,
        metavar="N",
        help="--estimate: mapMaxConcurrency (default 100)",
    )
    sb.set_defaults(func=submit_command)


def submit_command(args: argparse.Namespace) -> int:
    """`scoresby submit SCENES.json [--stack NAME] [--name RUN]`: validate, start; 2 bad list or no stack."""
    if getattr(args, "estimate", False):
        from scoresby.commands.estimate import estimate_command

        return estimate_command(args)
    try:
        # A `search` block is expanded here, so the execution gets the scenes (large lists go via S3).
        from scoresby.commands.run import expand_search
        from scoresby.core.scene_list import load_scene_list

        listed = load_scene_list(args.scenes, run_name=args.name)
        plan = expand_search(listed)
        if not plan.scenes:
            say(f"run {plan.run_name}: the search found no scenes; nothing submitted")
            return EXIT_OK
        problems = aws_sources_problems(plan)
        if problems:
            raise InvalidInput(problems)
        plan = lambda_expands_if_large(listed, plan)
    except InvalidInput as exc:
        print_problems(args.scenes, exc.problems)
        return EXIT_INVALID
    except PipelineError as exc:  # the search could not be run
        err(f"error: {args.scenes}: {one_line(exc)}")
        return EXIT_INVALID
    for dup in plan.duplicates:
        log.info("duplicate scene %s listed more than once; processed once", dup)
    return start_and_report(args.stack, plan, overwrite=False, verb="submitted")


def lambda_expands_if_large(listed: RunPlan, expanded: RunPlan) -> RunPlan:
    """The expanded plan when its input fits inline; else the search block itself (the Lambda expands it)."""
    if listed.search is None:
        return expanded
    body = json.dumps(execution_input(expanded), separators=(",", ":")).encode("utf-8")
    if len(body) <= INPUT_INLINE_MAX:
        return expanded
    log.info(
        "run %s: %d scenes are %d bytes, over the inline input limit; the init function runs the search",
        expanded.run_name, len(expanded.scenes), len(body),
    )  # fmt: skip
    return listed


def aws_status_command(args: argparse.Namespace) -> int:
    """`scoresby status RUN --stack NAME [--watch]`: 0 fine, 1 some scene FAILED, 2 no such run or stack."""
    if not args.run:
        err("scoresby status: give the run name: scoresby status RUN --stack NAME")
        return EXIT_INVALID
    session = new_session()
    found = find_run(args.stack, args.run, session, prefix="scoresby status")
    if found is None:
        return EXIT_INVALID
    stack, records = found
    if args.watch:
        records = watch_run(lambda: read_run(stack, args.run, session), interval_s=WATCH_INTERVAL_S)
    say(format_status(args.run, records, f"DynamoDB {stack.require(TASK_TABLE_OUTPUT)}"))
    for line in aws_place_lines(stack.require(TASK_TABLE_OUTPUT), args.run, session.client("dynamodb")):
        say(line)
    return EXIT_FAILED if any(r.status == FAILED for r in records) else EXIT_OK


def watch_run(
    read: Callable[[], list[TaskRecord]], *, interval_s: float, sleep: Callable[[float], None] = time.sleep
) -> list[TaskRecord]:
    """Show a tqdm bar of finished scenes, re-reading the task log until nothing is PENDING or RUNNING."""
    from tqdm import tqdm

    records = read()
    with tqdm(total=len(records), unit="scene", file=sys.stderr, desc="finished") as bar:
        while True:
            done = sum(1 for r in records if r.status not in ACTIVE_STATUSES)
            bar.total = len(records)
            bar.n = done
            bar.set_postfix_str(counts_line(records))
            bar.refresh()
            if done == len(records):
                return records
            sleep(interval_s)
            records = read()


# ---------------------------------------------------------------------------------------------------
# Command plumbing


def submit_plan(
    stack_name: str,
    plan: RunPlan,
    *,
    overwrite: bool = False,
    extra_key: Any = None,
    session: Any = None,
    stack: StackInfo | None = None,
) -> tuple[StartedRun, StackInfo]:
    """Start (or find) the execution of a validated plan; raises StackNotFound or InvalidInput."""
    session = session or new_session()
    stack = stack or find_stack(stack_name, session)
    state_machine_arn = stack.require(STATE_MACHINE_OUTPUT)
    problems = output_problems(plan, stack)
    if problems:
        raise InvalidInput(problems)
    payload = execution_input(plan, overwrite=overwrite)
    sfn = session.client("stepfunctions")
    name_key = payload if extra_key is None else {"input": payload, "round": extra_key}
    name = execution_name(plan.run_name, name_key)
    if _describe_execution(sfn, execution_arn_for(state_machine_arn, name)) is None:
        try:
            payload = store_if_large(session, stack, name, payload)
        except StackNotFound as exc:  # a stack deployed before WorkBucketName existed
            raise StackNotFound(f"the list is too large for the execution input and {exc}") from exc
    return start_run(sfn, state_machine_arn, plan.run_name, name, payload), stack


def start_and_report(
    stack_name: str,
    plan: RunPlan,
    *,
    overwrite: bool,
    verb: str,
    extra_key: Any = None,
    session: Any = None,
    stack: StackInfo | None = None,
) -> int:
    """Start (or find) the run's execution and say what happened; the exit code of submit and rerun."""
    try:
        started, stack = submit_plan(
            stack_name, plan, overwrite=overwrite, extra_key=extra_key, session=session, stack=stack
        )
    except StackNotFound as exc:
        err(f"error: {exc}")
        return EXIT_INVALID
    except InvalidInput as exc:
        print_problems(f"run {plan.run_name}", exc.problems)
        return EXIT_INVALID
    if started.already_existed:
        say(
            f"run {plan.run_name} was already {verb} as execution {started.execution_name} "
            f"(status {started.status}); not starting it again"
        )
    else:
        count = f"{len(plan.scenes)} scene" + ("" if len(plan.scenes) == 1 else "s")
        if plan.search is not None and not plan.scenes:
            count = "its search block (too many scenes to send inline; the init function expands it)"
        say(f"{verb} run {plan.run_name}: {count}, execution {started.execution_name}")
    if plan.composites is not None:  # issue 22: the state machine's place stage after the scene jobs
        say(f"place products: made by the place stage after the scene jobs, in {plan.run_name}/places/")
    say(f"run id: {plan.run_name}")
    say(f"execution: {started.execution_arn}")
    say(f"console: {console_link(stack.region, started.execution_arn)}")
    say(f"follow it: scoresby status {plan.run_name} --stack {stack.name} --watch")
    return EXIT_OK


def start_run(
    sfn: Any, state_machine_arn: str, run_name: str, name: str, payload: dict[str, Any]
) -> StartedRun:
    """Start an execution named `name`, or report the one that already has that name."""
    arn = execution_arn_for(state_machine_arn, name)
    existing = _describe_execution(sfn, arn)
    if existing is not None:
        return StartedRun(run_name, name, arn, True, existing["status"])
    try:
        arn = sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))[
            "executionArn"
        ]
    except sfn.exceptions.ExecutionAlreadyExists:
        existing = _describe_execution(sfn, arn) or {"status": "UNKNOWN"}
        return StartedRun(run_name, name, arn, True, existing["status"])
    return StartedRun(run_name, name, arn, False, "RUNNING")


def output_problems(plan: RunPlan, stack: StackInfo) -> list[str]:
    """The init Lambda only accepts outputs under the stack's output root (the jobs may write only there)."""
    root = stack.outputs.get(OUTPUT_ROOT_OUTPUT)
    if not plan.output or not root:
        return []
    root = root if root.endswith("/") else root + "/"
    if plan.output.startswith(root):
        return []
    return [
        f"output {plan.output!r} is not allowed on stack {stack.name}; allowed: {root} or a prefix below it "
        "(or leave the output out)"
    ]


def store_if_large(session: Any, stack: StackInfo, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The execution input: `payload` itself, or for one over INPUT_INLINE_MAX a reference to it in S3."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    if len(body) <= INPUT_INLINE_MAX:
        return payload
    bucket = stack.require(WORK_BUCKET_OUTPUT)
    doc = {k: v for k, v in payload.items() if k != "overwrite"}
    key = list_key(name)
    session.client("s3").put_object(
        Bucket=bucket, Key=key, Body=json.dumps(doc).encode("utf-8"), ContentType="application/json"
    )
    log.info("input of %d bytes is over the inline limit; stored at s3://%s/%s", len(body), bucket, key)
    reference: dict[str, Any] = {LIST_REFERENCE: f"s3://{bucket}/{key}"}
    if payload.get("overwrite"):
        reference[OVERWRITE_KEY] = True
    return reference


def counts_line(records: list[TaskRecord]) -> str:
    """A run's counts in one line, e.g. 'SUCCEEDED 3 FAILED 1'."""
    return " ".join(f"{s} {n}" for s, n in status_counts(records).items() if n)


def print_problems(where: str, problems: list[str]) -> None:
    """Every problem of a refused submission, one per line, on stderr."""
    err(f"{where}: {len(problems)} problem(s); nothing was submitted")
    for problem in problems:
        err(f"  - {problem}")


def say(text: str) -> None:
    """Command output for people, on stdout."""
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    """Errors, on stderr."""
    sys.stderr.write(text + "\n")
