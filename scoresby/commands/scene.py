"""One scene end to end: discover its bands, make its products locally, publish them.

What `scoresby process`, a run's worker processes (commands.run_worker) and the public API call; the
command line around it is commands.process.
"""

from __future__ import annotations

import errno
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoresby.core.errors import InsufficientSpace, SceneError
from scoresby.core.layout import check_name, expected_outputs, product_files, scene_dest
from scoresby.core.scene_list import Scene, check_scene
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
