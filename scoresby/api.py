"""The functions of `import scoresby`: thin fronts over the same layers the `scoresby` command uses."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from scoresby.commands.aws import StartedRun, aws_sources_problems, lambda_expands_if_large, submit_plan
from scoresby.commands.process import run_scene_task
from scoresby.commands.run import RunSummary, expand_search, prepare_output, run_plan
from scoresby.commands.scene import SceneResult
from scoresby.commands.stack import find_stack, read_run
from scoresby.commands.watch import load_watch
from scoresby.commands.watch_round import watch_round
from scoresby.core.contract import STACK_NAME
from scoresby.core.errors import InvalidInput
from scoresby.core.layout import DEFAULT_OUTPUT, SUMMARY_NAME, run_dir_of, task_log_path
from scoresby.core.scene_list import RunPlan, Scene, load_scene_list, parse_scene, parse_scene_list
from scoresby.core.search import check_search
from scoresby.core.summary import status_counts
from scoresby.core.task_log import TaskRecord
from scoresby.core.watch import parse_watch
from scoresby.results import RunResult
from scoresby.search.plan import searched_list
from scoresby.stores.sqlite_log import SqliteTaskLog

SceneListLike = RunPlan | str | Path | Mapping[str, Any] | Sequence[Mapping[str, Any]]


def load(
    scene_list: SceneListLike,
    *,
    output: str | Path | None = None,
    run_name: str | None = None,
    products: Sequence[str] | None = None,
) -> RunPlan:
    """Validate a scene list (a path, a parsed JSON document or a RunPlan) into a RunPlan.

    Accepts every shape `scoresby run` accepts (docs/SCENE-LISTS.md). Raises InvalidInput listing every
    problem, exactly as the command line reports them.
    """
    overrides: dict[str, Any] = {
        "output": None if output is None else str(output),
        "run_name": run_name,
        "products": list(products) if products is not None else None,
    }
    if isinstance(scene_list, RunPlan):
        if not any(v is not None for v in overrides.values()):
            return scene_list
        # The plan's full form keeps its run-level options (timelapse, composites), not only its scenes.
        doc = scene_list.to_dict()
        if not doc.get("output"):
            doc.pop("output", None)
        scene_list = doc
    if isinstance(scene_list, str | Path):
        return load_scene_list(str(scene_list), **overrides)
    # A parsed document: relative local sources resolve against the working directory, as on the CLI.
    return parse_scene_list(json.loads(json.dumps(scene_list)), base_dir=str(Path.cwd()), **overrides)


def search(
    *,
    stac: str,
    collections: str | Sequence[str],
    datetime: str,
    bbox: Sequence[float] | None = None,
    intersects: Mapping[str, Any] | None = None,
    max_cloud: float | None = None,
    limit: int | None = None,
    products: Sequence[str] | None = None,
    output: str | Path | None = None,
    run_name: str | None = None,
    allow_hosts: Sequence[str] | None = None,
    timeout: float | None = None,
) -> RunPlan:
    """Find scenes in a STAC API (`stac`: "earth-search", "landsatlook" or a URL) as a RunPlan, oldest first.

    The same search as `scoresby search`: `datetime` is START/END with open ends allowed ("2013-06-01/..");
    the area is `bbox` [W, S, E, N] or a GeoJSON geometry. Raises InvalidInput for a bad search and
    PipelineError when the API cannot be searched; an empty result is a RunPlan without scenes.
    `allow_hosts` and `timeout`: as in a `search` block (Items naming other hosts are skipped, in `skipped`).
    """
    problems: list[str] = []
    block = {
        "stac": stac,
        "collections": [collections] if isinstance(collections, str) else list(collections),
        "datetime": datetime,
        **({"bbox": list(bbox)} if bbox is not None else {}),
        **({"intersects": dict(intersects)} if intersects is not None else {}),
        **({"max_cloud": max_cloud} if max_cloud is not None else {}),
        **({"limit": limit} if limit is not None else {}),
        **({"allow_hosts": list(allow_hosts)} if allow_hosts else {}),
        **({"timeout": timeout} if timeout is not None else {}),
    }
    spec = check_search(block, "search", problems)
    if spec is None:
        raise InvalidInput(problems)
    defaults = {"products": list(products)} if products is not None else None
    doc, skipped = searched_list(
        spec, run_name=run_name, output=None if output is None else str(output), defaults=defaults
    )
    if not doc["scenes"]:
        return RunPlan(run_name or "search", doc.get("output"), (), (), spec, defaults or {}, skipped=skipped)
    return dataclasses.replace(parse_scene_list(doc), skipped=skipped)


def process(
    scene: Scene | Mapping[str, Any] | str,
    output: str | Path,
    *,
    products: Sequence[str] | None = None,
    run_name: str = "adhoc",
    overwrite: bool = False,
) -> SceneResult:
    """Make the products of one scene into `<output>/<run_name>/<scene_id>/` and return what was made.

    `scene` is a scene object (dict), a Scene, or the path of a local scene folder. Raises InvalidInput for
    a bad scene object, a SceneError subclass for a scene that cannot be processed; nothing is published
    unless every product was made (the same path as `scoresby process`).
    """
    if isinstance(scene, str):
        scene = {"source": scene}
    if isinstance(scene, Scene):
        if products is not None:
            scene = parse_scene(scene.to_dict(), products=list(products))
    else:
        scene = parse_scene(dict(scene), products=list(products) if products is not None else None)
    return run_scene_task(scene, str(output), run_name=run_name, overwrite=overwrite)


def run(
    scene_list: SceneListLike,
    output: str | Path | None = None,
    *,
    workers: int | None = None,
    run_name: str | None = None,
    products: Sequence[str] | None = None,
    overwrite: bool = False,
    progress: bool | Literal["auto"] = "auto",
) -> RunResult:
    """Process a scene list on this machine in parallel: the task log, summary and report of `scoresby run`.

    Scenes already done in an earlier run to the same output are skipped unless `overwrite`. `progress`:
    a progress bar (True), none (False), or "auto": a notebook bar inside Jupyter, a text bar elsewhere.
    """
    if workers is not None and workers < 1:
        raise InvalidInput([f"workers: {workers} is not allowed; allowed: 1 or more"])
    plan = expand_search(load(scene_list, output=output, run_name=run_name, products=products))
    if not plan.scenes:
        raise InvalidInput([f"run {plan.run_name}: the search found no scenes; nothing to run"])
    dest = prepare_output(plan)
    summary = run_plan(plan, dest, workers=workers, overwrite=overwrite, progress=progress)
    with SqliteTaskLog(Path(summary.task_log), create=False) as task_log:
        records = task_log.records(plan.run_name)
    return RunResult(summary, records)


def watch(
    watch: str | Path | Mapping[str, Any],
    output: str | Path | None = None,
    *,
    workers: int | None = None,
    products: Sequence[str] | None = None,
    progress: bool | Literal["auto"] = "auto",
) -> RunResult:
    """One round of a watch (what `scoresby watch --once` does): only scenes new since the last round run.

    `watch` is a path or a parsed watch document: a scene list with a `search` block whose datetime is open
    at the end and a fixed `run_name`. The result holds the whole run (every round's scenes); its `round`
    says what this round found. Raises InvalidInput, RunLocked (a round is running), SearchError.
    """
    if workers is not None and workers < 1:
        raise InvalidInput([f"workers: {workers} is not allowed; allowed: 1 or more"])
    out = None if output is None else str(output)
    prods = list(products) if products is not None else None
    if isinstance(watch, str | Path):
        plan = load_watch(str(watch), output=out, products=prods)
    else:
        plan = parse_watch(
            json.loads(json.dumps(watch)), output=out, products=prods, base_dir=str(Path.cwd())
        )
    dest = prepare_output(plan)
    result = watch_round(plan, dest, workers=workers, progress=progress)
    path = task_log_path(dest)
    with SqliteTaskLog(path, create=False) as task_log:
        records = task_log.records(plan.run_name)
    summary = result.summary or RunSummary(
        plan.run_name,
        dest,
        run_dir_of(dest, plan.run_name),
        str(path.resolve()),
        status_counts(records),
        [],
        str(Path(result.report_html).with_name(SUMMARY_NAME)),
        result.report_html,
    )
    return RunResult(summary, records, round=result)


def submit(scene_list: SceneListLike, *, stack: str = STACK_NAME, name: str | None = None) -> StartedRun:
    """Start the AWS pipeline on a scene list (what `scoresby submit` does); returns the execution started.

    A `search` block is expanded first. Submitting the same list again finds the same execution instead of
    starting a second one. Raises InvalidInput for a bad list or one Batch cannot read, StackNotFound when
    the stack is not deployed (both PipelineError).
    """
    listed = load(scene_list, run_name=name)
    plan = expand_search(listed)
    if not plan.scenes:
        raise InvalidInput([f"run {plan.run_name}: the search found no scenes; nothing to submit"])
    problems = aws_sources_problems(plan)
    if problems:
        raise InvalidInput(problems)
    started, _ = submit_plan(stack, lambda_expands_if_large(listed, plan))
    return started


def status(
    run: str | None = None, *, output: str | Path = DEFAULT_OUTPUT, stack: str | None = None
) -> list[TaskRecord]:
    """A run's task-log rows in scene-list order: local (the latest when `run` is None), or AWS with `stack`.

    Raises InvalidInput when there is no such run (or no task log at `output`), StackNotFound for a stack
    that is not deployed.
    """
    if stack is not None:
        if run is None:
            raise InvalidInput(["run: give the run name of an AWS run (scoresby.submit returns it)"])
        records = read_run(find_stack(stack), run)
        if not records:
            raise InvalidInput([f"run: {run!r} has no scenes in the task log of stack {stack}"])
        return records
    path = task_log_path(str(output))
    try:
        task_log = SqliteTaskLog(path, create=False)
    except FileNotFoundError:
        message = f"output: {str(output)!r} has no task log ({path}); run a scene list first"
        raise InvalidInput([message]) from None
    with task_log:
        runs = task_log.runs()  # newest first
        if run is not None and run not in runs:
            raise InvalidInput([f"run: {run!r} is not in {path}; runs: {', '.join(runs) or 'none'}"])
        if not runs:
            raise InvalidInput([f"output: the task log {path} holds no runs"])
        return task_log.records(run or runs[0])
