"""The init step's part of the AWS place stage: a round id and the round's scenes.json in the work bucket."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from scoresby.core import place_stage
from scoresby.core.place_stage import PlaceRound
from scoresby.core.scene_list import RunPlan


def new_round_id(now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> str:
    """A round id unique per execution, safe in a Batch job name: e.g. 20261206T231832Z-1a2b3c4d."""
    return f"{now():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def start_place_round(plan: RunPlan, bucket: str, s3_client: Any, round_id: str | None = None) -> PlaceRound:
    """Write <round>/scenes.json (every scene of the plan, done ones too) and return RunState["places"]."""
    if plan.composites is None:
        raise ValueError(f"run {plan.run_name}: the scene list has no composites")
    round_id = round_id or new_round_id()
    prefix = place_stage.round_prefix(plan.run_name, round_id)
    # The place plan needs every scene of the place, not only those this round runs: a period is made
    # from all its scenes, and the ledger (DynamoDB) only adds what earlier rounds counted.
    doc = {"composites": plan.composites, "scenes": [s.to_dict() for s in plan.scenes]}
    s3_client.put_object(
        Bucket=bucket,
        Key=place_stage.list_key(prefix, place_stage.SCENES_FILE),
        Body=json.dumps(doc, separators=(",", ":")).encode("utf-8"),
        ContentType="application/json",
    )
    return PlaceRound(bucket=bucket, prefix=prefix, round=round_id)
