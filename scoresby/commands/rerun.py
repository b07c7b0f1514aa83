"""`scoresby rerun RUN --failed --stack NAME`: a new execution of a deployed run's failed scenes."""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from scoresby.commands.aws import counts_line, err, find_run, print_problems, say, start_and_report
from scoresby.commands.stack import StackInfo, execution_name, new_session
from scoresby.core.contract import LIST_REFERENCE, STATE_MACHINE_OUTPUT
from scoresby.core.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK, InvalidInput
from scoresby.core.layout import split_s3_uri
from scoresby.core.task_log import FAILED, TaskRecord
from scoresby.options import DEFAULT_STACK, Subparsers, stack_option

log = logging.getLogger(__name__)


HELP_ORDER = 100
"""Where `scoresby --help` lists this command."""


def add_parser(sub: Subparsers) -> None:
    """`scoresby rerun`: its parser, run by `rerun_command`."""
    rr = sub.add_parser("rerun", help="resubmit the failed scenes of an AWS run")
    rr.add_argument("run", metavar="RUN")
    rr.add_argument("--failed", action="store_true", required=True, help="resubmit only the failed scenes")
    stack_option(rr, default=DEFAULT_STACK)
    rr.set_defaults(func=rerun_command)


def rerun_command(args: argparse.Namespace) -> int:
    """`scoresby rerun RUN --failed [--stack NAME]`: a new execution of the failed scenes; 2: no such run."""
    from scoresby.core.scene_list import parse_scene_list

    session = new_session()
    found = find_run(args.stack, args.run, session, prefix="error")
    if found is None:
        return EXIT_INVALID
    stack, records = found
    failed = [r for r in records if r.status == FAILED]
    if not failed:
        say(f"run {args.run}: no FAILED scenes, nothing to rerun ({counts_line(records)})")
        return EXIT_OK
    missing = [r.scene_id for r in failed if not r.source]
    if missing:
        err(f"error: task-log rows of {', '.join(missing)} carry no source; cannot rebuild them")
        return EXIT_FAILED
    specs = original_scenes(session, stack, args.run)
    defaults = [r.scene_id for r in failed if r.scene_id not in specs]
    if defaults:
        log.warning(
            "no submitted input found for %d scene(s) (%s); rerunning them with the task log's source and "
            "products and default stretches",
            len(defaults), ", ".join(defaults[:5]) + (" ..." if len(defaults) > 5 else ""),
        )  # fmt: skip
    scenes = [
        {**specs[r.scene_id], "products": list(r.products)}
        if r.scene_id in specs
        else {"scene_id": r.scene_id, "source": r.source, "products": list(r.products)}
        for r in failed
    ]
    doc: dict[str, Any] = {"run_name": args.run, "scenes": scenes}
    output = _common_output_root(failed, args.run)
    if output:
        doc["output"] = output
    try:
        plan = parse_scene_list(doc)
    except InvalidInput as exc:
        print_problems(f"run {args.run}", exc.problems)
        return EXIT_INVALID
    # attempts make the name unique per round: rerunning twice while the first rerun has not started yet
    # finds that execution instead of starting a second one.
    round_key = sorted((r.scene_id, r.attempts) for r in failed)
    return start_and_report(
        args.stack,
        plan,
        overwrite=True,
        verb="resubmitted",
        extra_key=round_key,
        session=session,
        stack=stack,
    )


def _common_output_root(records: list[TaskRecord], run_id: str) -> str | None:
    """The run's output (what `output` was) when every row agrees on it.

    Rows store it as `output_root`: the init Lambda writes the run's output itself; a row written as
    `<output>/<run_name>/` (TaskRecord's convention) is cut back to `<output>/`.
    """
    roots = {r.output_root for r in records if r.output_root}
    if len(roots) != 1:
        return None
    root = roots.pop().rstrip("/")
    if root.endswith("/" + run_id):
        root = root[: -len(run_id) - 1]
    return root + "/"


def original_scenes(
    session: Any, stack: StackInfo, run_id: str, *, max_executions: int = 1000
) -> dict[str, Any]:
    """Scene objects (stretch and sensor included) from the inputs of the run's `scoresby submit` executions.

    The task log keeps only source and products; the newest execution named after the run wins. Looks at
    the newest `max_executions` executions of the state machine.
    """
    from scoresby.core.scene_list import parse_scene_list

    sfn = session.client("stepfunctions")
    stem = execution_name(run_id, None).rsplit("-", 1)[0] + "-"
    specs: dict[str, Any] = {}
    seen = 0
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.require(STATE_MACHINE_OUTPUT))
    for page in pages:
        for execution in page["executions"]:
            seen += 1
            if seen > max_executions:
                return specs
            if not execution["name"].startswith(stem):
                continue
            doc = json.loads(
                sfn.describe_execution(executionArn=execution["executionArn"]).get("input") or "{}"
            )
            doc = _stored_list(session, doc) if isinstance(doc, dict) and LIST_REFERENCE in doc else doc
            if isinstance(doc, dict):
                doc = {k: v for k, v in doc.items() if k != "overwrite"}
            try:
                plan = parse_scene_list(doc)
            except InvalidInput:
                continue
            if plan.run_name == run_id:
                for scene in plan.scenes:
                    specs.setdefault(scene.scene_id, scene.to_dict())
    return specs


def _stored_list(session: Any, doc: dict[str, Any]) -> Any:
    bucket, key = split_s3_uri(str(doc[LIST_REFERENCE]))
    try:
        return json.loads(session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception:  # noqa: BLE001 - an expired or unreadable list only means no stretch settings
        log.info("stored list s3://%s/%s is gone; using the task log's scene fields", bucket, key)
        return None
