"""`scoresby process SCENE`: one scene, or a Batch job's scenes, with the task-log hook (Batch entrypoint)."""

from __future__ import annotations

import json
import logging
import signal
import sys
import traceback
from argparse import Namespace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scoresby.core.errors import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_TERMINATED,
    InvalidInput,
    PipelineError,
    SceneError,
    Terminated,
    one_line,
)
from scoresby.core.json_input import load_json
from scoresby.options import Subparsers, output_option, overwrite_option, products_option, run_name_option

if TYPE_CHECKING:
    from scoresby.commands.scene import SceneResult
    from scoresby.core.scene_list import Scene

logger = logging.getLogger(__name__)


def load_scene_arg(value: str, products: str | None) -> Scene | list[Scene]:
    """Parse the SCENE argument (inline JSON or a path to a JSON file) and the --products override.

    A JSON list of scene objects is a Batch job's batch (several scenes per job): a list of Scenes.
    """
    from scoresby.core.scene_list import parse_scene

    override = [p.strip() for p in products.split(",") if p.strip()] if products is not None else None
    base_dir = None
    text = value
    if not value.lstrip().startswith(("{", "[")):
        try:
            path = Path(value)
            text = path.read_text(encoding="utf-8")
            base_dir = str(path.resolve().parent)
        except FileNotFoundError as exc:
            raise InvalidInput(
                f"SCENE: {value!r} is neither inline JSON nor an existing file; "
                "allowed: a JSON scene object or a path to a JSON file"
            ) from exc
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path, or not UTF-8
            raise InvalidInput(
                f"SCENE: {value!r} cannot be read as a JSON file ({one_line(exc)}); "
                "allowed: a JSON scene object or a path to a JSON file"
            ) from exc
    obj = load_json(text, "SCENE")
    if isinstance(obj, list):
        if not obj:
            raise InvalidInput("SCENE: an empty list; allowed: a scene object or a list of them")
        return [parse_scene(o, products=override, base_dir=base_dir) for o in obj]
    return parse_scene(obj, products=override, base_dir=base_dir)


def run_scene_task(scene: Scene, output: str, *, run_name: str, overwrite: bool) -> SceneResult:
    """process_scene as one task: the place where task-log recording (SCORESBY_TASK_TABLE) hooks in."""
    from scoresby.commands.batch_job import record_job
    from scoresby.commands.scene import process_scene

    with record_job(scene.scene_id, run_name, overwrite) as job:
        result = process_scene(scene, output, run_name=run_name, overwrite=job.overwrite)
        job.succeed(result.outputs, result.duration_s, result.stats)
    return result


_SIGTERM_RECEIVED: list[int] = []
"""The signal number once SIGTERM arrived: a batch checks it between scenes, should the exception raised in
the handler be swallowed where it landed (a logging call's own error handling, for one)."""


def _terminated(signum: int, frame: Any) -> None:
    # Raised in the main thread: every `finally` on the way out removes its temp files, and the staged
    # scene is never renamed into place. A second SIGTERM must not cut that clean-up short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _SIGTERM_RECEIVED.append(signum)
    raise Terminated(signum)


def _error_line(exc: BaseException, scene_label: str) -> str:
    message = one_line(exc)
    if isinstance(exc, SceneError) or (
        isinstance(exc, InvalidInput) and ("scene" in message or scene_label == "?")
    ):
        return f"scoresby: error: {message}"
    return f"scoresby: error: scene {scene_label}: {message}"


HELP_ORDER = 10
"""Where `scoresby --help` lists this command."""


def add_parser(sub: Subparsers) -> None:
    """`scoresby process`: its parser, run by `process_command`."""
    p = sub.add_parser("process", help="make the products of one scene (the Batch container runs this)")
    p.add_argument(
        "scene",
        metavar="SCENE",
        help="one scene object as inline JSON or a path to a JSON file; a JSON list of scene objects runs "
        "them one after the other (a Batch job's scenes): a JSON line each, exit 1 if any failed",
    )
    output_option(p, "local folder or s3:// prefix", required=True)
    products_option(p, "comma-separated products, overriding the scene's")
    run_name_option(p, "run folder under DEST (default: adhoc)", default="adhoc")
    overwrite_option(p, "replace outputs that already exist")
    p.set_defaults(func=process_command)


def process_command(args: Namespace) -> int:
    """`scoresby process SCENE --output DEST`: exit 0 ok, 2 invalid input, 1 scene failed; one-line error."""
    verbose = bool(getattr(args, "verbose", False))
    if not verbose:
        # rasterio logs every GDAL error at INFO; the one-line error below already says what went wrong.
        logging.getLogger("rasterio").setLevel(logging.WARNING)
    scene_label = "?"
    signal.signal(signal.SIGTERM, _terminated)
    try:
        scene = load_scene_arg(args.scene, args.products)
        if isinstance(scene, list):
            return _process_batch(scene, args)
        scene_label = scene.scene_id
        result = run_scene_task(scene, args.output, run_name=args.run_name, overwrite=args.overwrite)
    except Terminated as exc:
        _report(exc, scene_label, verbose)
        return EXIT_TERMINATED
    except InvalidInput as exc:
        _report(exc, scene_label, verbose)
        return EXIT_INVALID
    except PipelineError as exc:
        _report(exc, scene_label, verbose)
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - any other failure is one scene failing, reported on one line
        _report(exc, scene_label, verbose, unexpected=True)
        return EXIT_FAILED
    sys.stdout.write(json.dumps(result.to_dict()) + "\n")
    return EXIT_OK


def _process_batch(scenes: list[Scene], args: Namespace) -> int:
    """A Batch job's scenes one after the other: a JSON line per scene; exit 1 when any scene failed.

    The non-zero exit makes the state machine's Catch look at every scene of the job (per-scene FAILED
    rows and messages); scenes that succeeded keep their rows and outputs.
    """
    from scoresby.commands.batch_job import run_batch
    from scoresby.commands.run_worker import Reply

    def report(scene: Scene, reply: Reply | None) -> None:
        # As each scene ends, so the job's log shows its progress.
        line: dict[str, Any] = {"scene_id": scene.scene_id, "ok": True, "done_before": reply is None}
        if reply is not None:
            line.update(
                ok=reply.ok, duration_s=reply.duration_s, outputs=reply.outputs, skipped=reply.skipped
            )
            if not reply.ok:
                line["error"] = {"type": reply.error_type, "message": reply.message}
                sys.stderr.write(f"scoresby: error: {reply.message}\n")
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    outcomes = run_batch(
        scenes,
        args.output,
        run_name=args.run_name,
        overwrite=args.overwrite,
        report=report,
        stopped=lambda: _SIGTERM_RECEIVED[0] if _SIGTERM_RECEIVED else None,
    )
    failed = sum(1 for _, reply in outcomes if reply is not None and not reply.ok)
    if failed:
        sys.stderr.write(f"scoresby: {failed} of {len(scenes)} scenes failed\n")
    return EXIT_FAILED if failed else EXIT_OK


def _report(exc: BaseException, scene_label: str, verbose: bool, unexpected: bool = False) -> None:
    if verbose:
        traceback.print_exc(file=sys.stderr)
    line = _error_line(exc, scene_label)
    if unexpected:
        line = line.replace("scoresby: error: ", f"scoresby: error: {type(exc).__name__}: ", 1)
    sys.stderr.write(line + "\n")
