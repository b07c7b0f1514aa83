"""The place stage's jobs on a local round folder and output: a missing tile, re-runs, claims, bad input."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scoresby.core.place_stage import JOB_LISTS, PLACE_JOB_PREFIX
from scoresby.raster.quality import aoi_grid
from tests.places import synth
from tests.places.conftest import options, scenes_of
from tests.places.stage_helpers import PLACE, MemoryLedger, job_list, run, run_round, write_round

RUN = "glacier"


def _plan(round_uri: str, output: str, ledger: MemoryLedger) -> dict[str, list[dict[str, Any]]]:
    assert run(["places", "plan", round_uri, "--run-name", RUN, "--output", output], ledger) == 0
    return {name: job_list(round_uri, name) for name in JOB_LISTS}


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_missing_tile_fails_its_period_and_a_rerun_skips_done_tiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tile never made: its period and the change on it fail with the reason; the old Items stay."""
    monkeypatch.setenv("SCORESBY_PLACE_TILE_PX", "512")
    monkeypatch.setenv("SCORESBY_PLACE_TILES_PER_JOB", "1")
    aoi, made = synth.write_place(tmp_path / "scenes", years=(2000, 2001))
    output, ledger, opts = str(tmp_path / "out"), MemoryLedger(), options()
    round1 = str(tmp_path / "rounds" / "round-1")
    write_round(round1, opts, scenes_of(aoi, made))
    first = run_round(round1, RUN, output, ledger)
    assert sorted(first["result"]["made"]) == [
        f"{PLACE}_change_2000_2001",
        *(f"{PLACE}_composite_{y}" for y in (2000, 2001)),
    ]
    for jobs in first["lists"].values():
        for job in jobs:
            name = job["job_name"]
            assert (
                name.startswith(PLACE_JOB_PREFIX)
                and len(name) <= 128
                and name.replace("-", "").replace("_", "").isalnum()
            )
    place = Path(output) / RUN / "places" / PLACE
    before = {iid: _mtimes(place / iid) for iid in (f"{PLACE}_composite_2001", f"{PLACE}_change_2000_2001")}

    grid = aoi_grid(aoi)
    shape = (grid.height, grid.width)
    day = date(2001, 9, 3)
    extra = synth.write_scene(
        tmp_path / "scenes",
        grid,
        synth.scene_id("landsat-7", 911, 910, day),
        "landsat-7",
        day,
        np.ones(shape, bool),
        np.zeros(shape, bool),
        synth.surface(2001, 3, shape),
    )
    round2 = str(tmp_path / "rounds" / "round-2")
    write_round(round2, opts, scenes_of(aoi, [extra]))
    lists = _plan(round2, output, ledger)
    tiles = lists["composite-tiles"]
    assert [j["command"][-1] for j in tiles] == ["0", "1"]
    assert run(tiles[0]["command"], ledger) == 0  # tile 1 never runs (its job failed on every attempt)
    work = place / ".work" / f"{PLACE}_composite_2001"
    done = _mtimes(work)
    capsys.readouterr()
    assert run(tiles[0]["command"], ledger) == 0  # a retry of the same job: nothing made again
    assert "tiles made now: none" in capsys.readouterr().out
    assert _mtimes(work) == done and len({k.split("/")[1] for k in done}) == 1
    ledger.failed["round-2"] = [
        {"job_name": tiles[1]["job_name"], "error": "States.TaskFailed", "cause": "Spot"}
    ]
    for name in JOB_LISTS[1:]:
        for job in lists[name]:
            assert run(job["command"], ledger) == 0
    assert run(["places", "finish", round2, "--run-name", RUN, "--output", output], ledger) == 0
    result = json.loads((Path(round2) / "result.json").read_text())
    assert result["made"] == []
    reasons = {f["item"]: f["reason"] for f in result["failed"]}
    assert reasons[f"{PLACE}_composite_2001"] == "tiles 1 of 2 missing (their jobs failed)"
    assert (
        reasons[f"{PLACE}_change_2000_2001"]
        == f"its composite {PLACE}_composite_2001 was not made this round"
    )
    assert reasons[tiles[1]["job_name"]] == "States.TaskFailed: Spot"
    for iid, mtimes in before.items():
        assert _mtimes(place / iid) == mtimes  # the previous version stays, untouched
    assert ledger.claims == {}  # released: the next round makes them
    round3 = str(tmp_path / "rounds" / "round-3")
    write_round(round3, opts, scenes_of(aoi, [extra]))
    third = run_round(round3, RUN, output, ledger)
    assert sorted(third["result"]["made"]) == [f"{PLACE}_change_2000_2001", f"{PLACE}_composite_2001"]
    assert len(third["lists"]["composite-tiles"]) == 2
    item = json.loads((place / f"{PLACE}_composite_2001" / f"{PLACE}_composite_2001.json").read_text())
    assert extra.scene_id in item["properties"]["scoresby:scenes"]


def test_two_overlapping_rounds_never_claim_one_item(tmp_path: Path) -> None:
    """A round planned while another holds the items plans no job for them; after the lease it may."""
    aoi, made = synth.write_place(tmp_path / "scenes", years=(2000,))
    output, ledger, opts = str(tmp_path / "out"), MemoryLedger(), options()
    rounds = [str(tmp_path / "rounds" / f"r{n}") for n in range(3)]
    for r in rounds:
        write_round(r, opts, scenes_of(aoi, made))
    a = _plan(rounds[0], output, ledger)
    assert len(a["composite-items"]) == 1 and list(ledger.claims) == [(PLACE, f"{PLACE}_composite_2000")]
    b = _plan(rounds[1], output, ledger)
    assert all(jobs == [] for jobs in b.values())
    plan_b = json.loads((Path(rounds[1]) / "plan.json").read_text())
    assert f"{PLACE}_composite_2000: another round is making it; the next round makes it" in plan_b["notes"]
    assert ledger.claims[PLACE, f"{PLACE}_composite_2000"][0] == "r0"
    now = ledger.clock()
    ledger.clock = lambda: now + 13 * 3600  # round r0 died: its claim lapsed
    c = _plan(rounds[2], output, ledger)
    assert len(c["composite-items"]) == 1 and ledger.claims[PLACE, f"{PLACE}_composite_2000"][0] == "r2"


def test_scenes_failed_in_the_task_log_do_not_count(tmp_path: Path) -> None:
    """The scenes of a summer whose task-log rows are FAILED: no composite of that summer is planned."""
    aoi, made = synth.write_place(tmp_path / "scenes", years=(2000, 2001))
    round_uri, output = str(tmp_path / "round"), str(tmp_path / "out")
    write_round(round_uri, options(), scenes_of(aoi, made))
    gone = tuple(s.scene_id for s in made if s.day.year == 2001)
    argv = ["places", "plan", round_uri, "--run-name", RUN, "--output", output]
    assert run(argv, MemoryLedger(), failed=gone) == 0
    items = [j["command"][4] for j in job_list(round_uri, "composite-items")]
    assert items == [f"{PLACE}_composite_2000"] and job_list(round_uri, "derived-items") == []


@pytest.mark.parametrize(
    ("scenes_json", "message"),
    [
        (None, "scenes.json: not found"),
        ("{not json", "scenes.json: not JSON"),
        ('{"scenes": []}', 'scenes.json: must be {"composites": {...}, "scenes": [...]}'),
        ('{"composites": {"period": "decade"}, "scenes": []}', "composites.period: 'decade' is not a period"),
        ('{"composites": {}, "scenes": [{"source": 5}]}', "scenes.json: scenes[0]:"),
    ],
)
def test_bad_round_input_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scenes_json: str | None, message: str
) -> None:
    """A bad scenes.json: exit 2, one line naming the file and the problem, nothing planned."""
    round_uri = tmp_path / "round"
    round_uri.mkdir()
    if scenes_json is not None:
        (round_uri / "scenes.json").write_text(scenes_json)
    code = run(
        ["places", "plan", str(round_uri), "--run-name", RUN, "--output", str(tmp_path / "o")], MemoryLedger()
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (round_uri / "composite-tiles.json").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["places", "plan", "s3://", "--run-name", RUN, "--output", "o"], "is not a round folder"),
        (["places", "plan", "r", "--run-name", "bad/name", "--output", "o"], "--run-name"),
        (
            ["places", "tiles", "r", "--item", "x", "--tiles", "a,b"],
            "--tiles: 'a,b' is not a comma-separated",
        ),
        (["places", "assemble", "r", "--item", "x"], "plan.json: not found"),
        (["places", "finish", "r", "--run-name", RUN, "--output", "o"], "plan.json: not found"),
    ],
)
def test_bad_job_arguments_are_one_line_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    """Bad round URIs, run names, tile lists and rounds without a plan: exit 2 with one line."""
    monkeypatch.chdir(tmp_path)
    assert run(argv, MemoryLedger()) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
