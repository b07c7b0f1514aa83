"""The AWS place stage's contract: what the init step, the state machine, place jobs and the summary share.

The stage runs after the time series when the run's scene list has `composites` (issue 22):

    PlacePlan (one Batch job: `scoresby places plan <round uri> ...`)
      -> Map over <round>/composite-tiles.json    (Batch jobs: composite tiles of the periods that changed)
      -> Map over <round>/composite-items.json    (Batch jobs: one per period, assemble its COGs and Item)
      -> Map over <round>/derived-tiles.json      (Batch jobs: change and trend tiles)
      -> Map over <round>/derived-items.json      (Batch jobs: assemble the change and trend Items)
      -> PlaceFinish (one Batch job: places.csv, the round's result.json, claims released)
      -> the summary

The round folder `s3://<work bucket>/places/<run>/<round>/` holds the round's inputs (scenes.json, written by
the init step), the four job lists (written by the plan job; each a JSON array of PlaceJob, maybe empty)
and result.json (written by the finish job, read by the summary). The place products themselves go to
`<output>/<run>/places/<place>/` as for a local run. Stdlib only: infra, the Lambdas and the jobs import it.
"""

from __future__ import annotations

from typing import Any, Protocol, TypedDict

PLACE_JOB_PREFIX = "scoresby-place"
"""Every place job's Batch job name starts so (job_times rows `jobs:<run>`: the stage's cost apart)."""
PLAN_JOB_NAME = f"{PLACE_JOB_PREFIX}-plan"
FINISH_JOB_NAME = f"{PLACE_JOB_PREFIX}-finish"

ROUNDS_PREFIX = "places/"
"""Key prefix of the round folders in the work bucket (the place jobs may write only under it there)."""
SCENES_FILE = "scenes.json"
"""{"composites": <normalised option>, "scenes": [scene.to_dict(), ...]}: the round's scenes (init step)."""
RESULT_FILE = "result.json"
"""The finish job's account of the round, the `places` part of summary.json (see PlaceResult)."""
JOB_LISTS = ("composite-tiles", "composite-items", "derived-tiles", "derived-items")
"""The four Maps' item lists, `<round>/<name>.json`, in the order the state machine runs them."""

LEDGER_PARTITION_PREFIX = "places:"
"""The task table's partition of a run's place records: run_id = "places:<run>" (never a scene row)."""
SCENE_SK = "scene#"
"""sk "scene#<place>#<scene_id>": a scene that counts for the place (the manifest's scene entry)."""
PRODUCT_SK = "product#"
"""sk "product#<place>#<item_id>": the fingerprint it was made from, and the claim of the round making it."""
FAILED_SK = "failed#"
"""sk "failed#<round>#<job_name>": a place job that failed (written by the state machine's Catch)."""
FAILED_FIELDS = ("error", "cause")
"""String attributes of a failed# record: Step Functions' Error and Cause of the job."""


def round_prefix(run_name: str, round_id: str) -> str:
    """Key prefix of a round's folder in the work bucket."""
    return f"{ROUNDS_PREFIX}{run_name}/{round_id}/"


def list_key(prefix: str, name: str) -> str:
    """Key of one of the round's job lists (`name` in JOB_LISTS) or files."""
    if name not in JOB_LISTS and name not in (SCENES_FILE, RESULT_FILE):
        raise KeyError(f"{name!r} is not a place-stage file")
    return prefix + (name if name.endswith(".json") else f"{name}.json")


def ledger_partition(run_name: str) -> str:
    """The task table partition key of the run's place records."""
    return f"{LEDGER_PARTITION_PREFIX}{run_name}"


def plan_command(round_uri: str, run_name: str, output: str) -> list[str]:
    """argv (after `scoresby`) of the plan job: reads <round>/scenes.json, writes the four job lists."""
    return ["places", "plan", round_uri, "--run-name", run_name, "--output", output]


def finish_command(round_uri: str, run_name: str, output: str) -> list[str]:
    """argv (after `scoresby`) of the finish job: places.csv, result.json, the round's claims released."""
    return ["places", "finish", round_uri, "--run-name", run_name, "--output", output]


class PlaceRound(TypedDict):
    """RunState["places"], set by the init step when the scene list has `composites`."""

    bucket: str  # the work bucket
    prefix: str  # round_prefix(run, round)
    round: str  # the round's id (unique per execution)


class PlaceJob(TypedDict):
    """One item of a job list: one Batch job, its name and its full argv after `scoresby`."""

    job_name: str
    command: list[str]


class PlaceResult(TypedDict, total=False):
    """result.json: what the round made, what failed and why, the notes; summary.json's `places`."""

    place: str
    made: list[str]  # item ids made this round
    failed: list[dict[str, str]]  # {"item": item id or job name, "reason": one line}
    notes: list[str]
    rows: list[dict[str, Any]]  # places.csv rows
    jobs: dict[str, int]  # Batch jobs of the round by list name (JOB_LISTS, plus "plan" and "finish")


class PlaceLedger(Protocol):
    """A place's record of scenes and made products, with claims so two rounds never make one item at once.

    Implemented on the DynamoDB task table (stores/place_ledger.py, conditional writes); the local run keeps
    the same facts in places/<place>/manifest.json.
    """

    def manifest(self, place: str) -> dict[str, Any]:
        """{"version", "scenes": {scene_id: entry}, "products": {item_id: fingerprint}} as the file has it."""
        ...

    def remember_scenes(self, place: str, entries: dict[str, dict[str, Any]]) -> None:
        """Record scenes that count for the place (entry: {"key", "sensor", "datetime", "scene"})."""
        ...

    def claim(self, place: str, item_id: str, fingerprint: str, round_id: str, lease_s: int) -> bool:
        """Take the item for this round unless another round's unexpired claim holds it; True when taken."""
        ...

    def made(self, place: str, item_id: str, fingerprint: str, round_id: str) -> None:
        """The item is published from `fingerprint`; this round's claim on it is released."""
        ...

    def release(self, place: str, item_id: str, round_id: str) -> None:
        """Drop this round's claim (the item was not made); a later round makes it again."""
        ...

    def retire(self, place: str, item_id: str) -> None:
        """Forget a product that is no longer wanted."""
        ...

    def failures(self, round_id: str) -> list[dict[str, str]]:
        """The round's failed place jobs: {"job_name", "error", "cause"}."""
        ...
