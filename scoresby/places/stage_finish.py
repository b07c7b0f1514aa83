"""The AWS place stage's finish job: retire what is gone, places.csv, result.json, claims released."""

from __future__ import annotations

import json
from typing import Any

from scoresby.core.place_stage import RESULT_FILE, PlaceLedger, PlaceResult
from scoresby.places.build import PLACES_DIR
from scoresby.places.stage_plan import OUTCOMES_DIR, item_uri, load_plan, work_uri
from scoresby.places.table import PLACES_CSV, table_text
from scoresby.stores import work_files


def finish_round(round_uri: str, ledger: PlaceLedger) -> PlaceResult:
    """Account for the round: what was made, what failed and why; write result.json (last) and return it."""
    plan = load_plan(round_uri)
    place, round_id = plan["place"], plan["round"]
    jobs = {"plan": 1, **plan.get("jobs", {}), "finish": 1}
    result = PlaceResult(place=place or "", made=[], failed=[], notes=list(plan["notes"]), rows=[], jobs=jobs)
    if place is not None:
        _account(plan, round_uri, ledger, result)
    for failure in ledger.failures(round_id):
        reason = f"{failure.get('error', '')}: {failure.get('cause', '')}".strip(": ")
        result["failed"].append({"item": failure.get("job_name", ""), "reason": reason or "the job failed"})
    work_files.write_json(work_files.join(round_uri, RESULT_FILE), result)
    return result


def _account(plan: dict[str, Any], round_uri: str, ledger: PlaceLedger, result: PlaceResult) -> None:
    place, round_id, folder = plan["place"], plan["round"], plan["folder"]
    for doc in plan["products"]:
        item_id = doc["item_id"]
        text = work_files.read_text(work_files.join(round_uri, OUTCOMES_DIR, f"{item_id}.json"))
        outcome = json.loads(text) if text else {"made": False, "reason": "not assembled (its job failed)"}
        if outcome.get("made"):
            result["made"].append(item_id)
            work_files.remove_tree(work_uri(folder, item_id, doc["fingerprint"]))
        else:
            ledger.release(place, item_id, round_id)  # harmless when the assemble job released it
            result["failed"].append({"item": item_id, "reason": str(outcome.get("reason", ""))})
    for item_id in plan["retire"]:
        work_files.remove(item_uri(folder, item_id))  # the Item first: nobody then follows it to gone files
        work_files.remove_tree(work_files.join(folder, item_id))
        ledger.retire(place, item_id)
        result["notes"].append(f"{item_id}: its scenes are gone; removed")
    items = {}
    for item_id in plan["wanted"]:
        text = work_files.read_text(item_uri(folder, item_id))
        if text is not None:
            items[item_id] = json.loads(text)
    csv_uri = work_files.join(plan["output"], plan["run"], PLACES_DIR, PLACES_CSV)
    text, rows = table_text(work_files.read_text(csv_uri), place, items)
    work_files.write_text(csv_uri, text)
    result["rows"] = rows
