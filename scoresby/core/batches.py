"""Several scenes per Batch job: how the init function groups a run's scenes into the Map's items."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from scoresby.core.contract import MapItem

JOB_NAME_MAX = 128
_JOB_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

MAX_SCENES_PER_JOB = 100
"""Upper bound of the scenesPerJob setting: a job of 100 full scenes already runs about 16 minutes."""
BATCH_MAX_BYTES = 6 * 1024
"""Scene JSON per job. Batch documents a 30 KiB SubmitJob payload (service quotas page, read 2026-12-02); the
job's ECS task takes the command as a container override, which ECS caps at 8,192 characters. The command
also holds the output, the run name and quoting (about 240 bytes per default Landsat scene: ~25 per job)."""


def job_name(scene_id: str) -> str:
    """A Batch job name for a scene: letters, digits, '-' and '_' only, at most 128 characters."""
    return ("scoresby-" + _JOB_NAME_UNSAFE.sub("-", scene_id))[:JOB_NAME_MAX]


def batch_job_name(scene_ids: Sequence[str]) -> str:
    """The job name of a batch: its first scene's, plus how many more it runs (e.g. `-and-24-more`)."""
    if len(scene_ids) == 1:
        return job_name(scene_ids[0])
    suffix = f"-and-{len(scene_ids) - 1}-more"
    return job_name(scene_ids[0])[: JOB_NAME_MAX - len(suffix)] + suffix


def _compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def group_scenes(
    scenes: Sequence[dict[str, Any]], per_job: int, max_bytes: int = BATCH_MAX_BYTES
) -> Iterator[list[dict[str, Any]]]:
    """Consecutive runs of at most `per_job` scenes whose JSON fits in `max_bytes` (one scene at least)."""
    batch: list[dict[str, Any]] = []
    size = 2  # the list's brackets
    for scene in scenes:
        n = len(_compact(scene).encode("utf-8")) + 1
        if batch and (len(batch) >= per_job or size + n > max_bytes):
            yield batch
            batch, size = [], 2
        batch.append(scene)
        size += n
    if batch:
        yield batch


def map_items(scenes: Sequence[dict[str, Any]], per_job: int) -> list[MapItem]:
    """The Map's items: one per Batch job, {"scenes": [scene objects], "job_name": ...}."""
    return [
        MapItem(scenes=batch, job_name=batch_job_name([s["scene_id"] for s in batch]))
        for batch in group_scenes(scenes, per_job)
    ]
