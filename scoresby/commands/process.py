"""One scene end to end: discover its bands, make its products locally, publish them (Batch entrypoint)."""

from __future__ import annotations

import errno
import json
import logging
import shutil
import signal
import sys
import tempfile
import time
import traceback
from argparse import Namespace
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoresby.core.errors import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_TERMINATED,
    InsufficientSpace,
    InvalidInput,
    PipelineError,
    SceneError,
    Terminated,
    one_line,
)
from scoresby.core.json_input import load_json
from scoresby.core.layout import check_name, expected_outputs, product_files, scene_dest
from scoresby.core.scene_list import Scene, check_scene, parse_scene
from scoresby.stores import publish

logger = logging.getLogger(__name__)

DISK_FULL_BYTES = 1024 * 1024
"""Less free space than this after a failed write means the write failed because the disk is full."""


@dataclass(frozen=True)
class SceneResult:
    """What processing one scene produced: product -> COG URI, every file URI, the STAC Item URI."""

    scene_id: str
    sensor: str | None
    outputs: dict[str, str]
    files: list[str]
    stac_item: str
    duration_s: float
    skipped: bool = False
    stats: dict[str, Any] | None = None  # scoresby:stats of the STAC Item (None when skipped)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "scene_id": self.scene_id,
            "sensor": self.sensor,
            "outputs": self.outputs,
            "files": self.files,
            "stac_item": self.stac_item,
            "duration_s": self.duration_s,
            "skipped": self.skipped,
            "stats": self.stats,
        }


def process_scene(scene: Scene, output: str, *, run_name: str, overwrite: bool = False) -> SceneResult:
    """Make and publish the products of one scene; skip it when every requested output already exists.

    Raises InvalidInput for unknown products or stretch specs, a SceneError subclass for a scene that
    cannot be processed. Nothing is published unless every product was made.
    """
    from scoresby.discovery.discover import discover_scene
    from scoresby.raster.builder import build_products

    t0 = time.perf_counter()
    check_name(run_name, "run name", "--run-name")
    check_scene(scene)
    dest = scene_dest(output, run_name, scene.scene_id)
    outputs, stac_uri = expected_outputs(dest, scene.scene_id, scene.products)
    every_file = [f for cog_uri in outputs.values() for f in product_files(cog_uri)] + [stac_uri]
    # Every output counts (quicklooks, histograms, the STAC Item), not only the COGs: a missing one is redone.
    if not overwrite and all(publish.exists(u) for u in every_file):
        logger.info("scene %s: every requested output exists in %s; skipped", scene.scene_id, dest)
        return SceneResult(
            scene.scene_id,
            scene.sensor,
            outputs,
            every_file,
            stac_uri,
            round(time.perf_counter() - t0, 3),
            skipped=True,
        )
    files = discover_scene(scene)
    logger.info(
        "scene %s: %s %s, bands %s", scene.scene_id, files.sensor, files.level, ", ".join(files.bands)
    )
    workdir = Path(tempfile.mkdtemp(prefix=f"scoresby-{scene.scene_id[:40]}-"))
    try:
        try:
            built = build_products(
                files, scene.products, scene.stretch, workdir, mask=scene.mask, aoi=scene.aoi
            )
        except Exception as exc:
            if not isinstance(exc, SceneError) and _disk_full(exc, workdir):
                raise InsufficientSpace(
                    scene.scene_id, f"temp folder {workdir.parent} is full while making the products"
                ) from exc
            raise
        # The STAC Item goes last: a reader that sees it can trust every file it lists is there.
        uris = publish.publish(scene.scene_id, built.files, dest)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    duration = round(time.perf_counter() - t0, 3)
    logger.info("scene %s: published %d files to %s in %.1f s", scene.scene_id, len(uris), dest, duration)
    return SceneResult(
        files.scene_id,
        files.sensor,
        outputs,
        uris,
        stac_uri,
        duration,
        skipped=False,
        stats=built.stats,
    )


def _disk_full(exc: BaseException, folder: Path) -> bool:
    """Whether a failure while writing temp files is the disk filling up (GDAL's errors carry no errno)."""
    chain: BaseException | None = exc
    while chain is not None:
        if getattr(chain, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left" in str(chain) or "Free disk space" in str(chain):
            return True
        chain = chain.__cause__ or chain.__context__
    try:
        return shutil.disk_usage(folder.parent).free < DISK_FULL_BYTES
    except OSError:
        return False


def load_scene_arg(value: str, products: str | None) -> Scene | list[Scene]:
    """Parse the SCENE argument (inline JSON or a path to a JSON file) and the --products override.

    A JSON list of scene objects is a Batch job's batch (several scenes per job): a list of Scenes.
    """
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
