"""`scoresby process '[scene, scene, ...]'`: a Batch job's batch of real scenes, one after the other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scoresby.cli import main as scoresby
from scoresby.core.errors import EXIT_FAILED, EXIT_OK

L8 = "landsat8/LC08_L2SP_001062_20201031_20201106_02_T2"


@pytest.fixture
def no_task_table(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SCORESBY_TASK_TABLE", "SCORESBY_RUN_ID"):
        monkeypatch.delenv(name, raising=False)


def test_a_bad_scene_fails_alone_and_the_job_exits_1(real_data_dir: Path, tmp_path, capsys, no_task_table):
    good = {"source": str(real_data_dir / L8), "products": ["ndvi"]}
    missing = {"scene_id": "LC08_L2SP_001062_20201031_20201106_02_T2_gone", "source": str(tmp_path / "gone")}
    after = {"scene_id": "again", "source": str(real_data_dir / L8), "products": ["true_color"]}
    batch = json.dumps([good, missing, after])
    code = scoresby(["process", batch, "--output", str(tmp_path / "out"), "--run-name", "job"])
    out, err = capsys.readouterr()
    assert code == EXIT_FAILED
    lines = [json.loads(x) for x in out.splitlines()]
    assert [(x["scene_id"], x["ok"]) for x in lines] == [
        ("LC08_L2SP_001062_20201031_20201106_02_T2", True),
        ("LC08_L2SP_001062_20201031_20201106_02_T2_gone", False),
        ("again", True),
    ]
    assert lines[1]["error"]["type"] == "SourceNotFound"
    assert "1 of 3 scenes failed" in err
    assert (tmp_path / "out" / "job" / "again" / "again_true_color.tif").is_file()
    assert (tmp_path / "out" / "job" / lines[0]["scene_id"] / f"{lines[0]['scene_id']}_ndvi.tif").is_file()


def test_a_batch_of_good_scenes_exits_0(real_data_dir: Path, tmp_path, capsys, no_task_table):
    batch = json.dumps([{"source": str(real_data_dir / L8), "products": ["ndvi"]}])
    assert scoresby(["process", batch, "--output", str(tmp_path), "--run-name", "job"]) == EXIT_OK


def test_an_empty_batch_is_invalid(tmp_path, capsys, no_task_table):
    assert scoresby(["process", "[]", "--output", str(tmp_path)]) == 2
    assert "empty list" in capsys.readouterr().err
