"""The MP4 timelapse where imageio-ffmpeg is installed (dev requirements), and the note where it is not."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scoresby.cli import main as scoresby
from scoresby.demo import glacier
from tests import prerequisites

GIF = "aoi-scoresby-sund_timelapse.gif"
MP4 = "aoi-scoresby-sund_timelapse.mp4"


def _gif_frames(path: Path) -> list[np.ndarray]:
    with Image.open(path) as gif:
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")).astype(np.int16))
    return frames


def test_the_mp4_has_the_gifs_frames_in_the_same_order(
    series: tuple[Path, list[glacier.SeriesScene]],
) -> None:
    try:
        import imageio.v3 as iio
        import imageio_ffmpeg
    except ImportError:
        prerequisites.missing("imageio-ffmpeg not installed (requirements.txt pins it; `make install`)")
    run_dir, _ = series
    assert Path(imageio_ffmpeg.get_ffmpeg_exe()).is_file()
    gif = _gif_frames(run_dir / GIF)
    video = [np.asarray(f).astype(np.int16) for f in iio.imiter(run_dir / MP4, plugin="FFMPEG")]
    assert len(video) == len(gif) == len(glacier.DATES) - 1  # the cloudy 2018 left out of both
    h, w, _ = gif[0].shape
    assert video[0].shape == (h + h % 2, w + w % 2, 3)  # libx264's even size, padded
    # H.264 is lossy: each video frame is nearest to the GIF frame of its own date.
    for i, frame in enumerate(video):
        distances = [np.abs(frame[:h, :w] - g).mean() for g in gif]
        assert int(np.argmin(distances)) == i, (i, distances)
        assert distances[i] < 6  # close to the picture, not merely the least unlike


def test_without_imageio_ffmpeg_there_is_no_mp4_and_one_note(
    series: tuple[Path, list[glacier.SeriesScene]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_dir, _ = series
    output = tmp_path / "copy"
    shutil.copytree(run_dir, output / run_dir.name)
    shutil.copy2(run_dir.parent / "scoresby-tasklog.sqlite", output / "scoresby-tasklog.sqlite")
    (output / run_dir.name / MP4).unlink(missing_ok=True)
    (output / run_dir.name / GIF).unlink()
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # `import imageio_ffmpeg` raises ImportError
    with caplog.at_level(logging.INFO, logger="scoresby.commands.timeseries"):
        code = scoresby(
            ["timeseries", glacier.RUN_NAME, "--output", str(output), "--timelapse", '{"max_cloud": 40}']
        )
    assert code == 0
    assert (output / run_dir.name / GIF).is_file()  # the GIF is made all the same
    assert not (output / run_dir.name / MP4).exists()
    notes = [r.getMessage() for r in caplog.records if "no MP4" in r.getMessage()]
    assert len(notes) == 1 and "\n" not in notes[0]  # once per run, one line
    assert "pip install 'scoresby[video]'" in notes[0]
    out = capsys.readouterr().out
    assert notes[0] in out
    assert "timelapses: aoi-scoresby-sund (aoi-scoresby-sund_timelapse.gif)" in out


def test_the_video_extra_and_the_dev_requirements_pin_the_same_versions() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    extra = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["video"]
    dev = [line.strip() for line in (root / "requirements.txt").read_text().splitlines()]
    assert {e.split("==")[0] for e in extra} == {"imageio", "imageio-ffmpeg"}
    assert set(extra) <= set(dev)
    image = (root / "worker" / "requirements.txt").read_text()
    assert "imageio" not in image  # not in the worker image: the GIF needs only Pillow


def test_the_reports_series_shows_the_run_notes() -> None:
    from scoresby.report.science import render_science

    note = "no MP4 timelapse: imageio-ffmpeg is not available (<none>); pip install 'scoresby[video]' adds it"
    page = render_science({"csv": "timeseries.csv", "timelapses": {}, "notes": [note]}, [])
    assert '<div class="meta">no MP4 timelapse: imageio-ffmpeg is not available (&lt;none&gt;)' in page


def test_a_timelapse_that_cannot_be_read_is_a_note_and_the_rest_is_written(
    series: tuple[Path, list[glacier.SeriesScene]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scoresby.commands.timeseries import update_timeseries
    from scoresby.core.layout import task_log_path
    from scoresby.raster import timeseries as pictures
    from scoresby.stores.sqlite_log import SqliteTaskLog

    run_dir, _ = series
    with SqliteTaskLog(task_log_path(str(run_dir.parent)), create=False) as log:
        records = log.records(glacier.RUN_NAME)

    def unreadable(cog: str, grid: object) -> None:
        raise OSError(f"{cog}: not recognized as a supported file format")

    monkeypatch.setattr(pictures, "read_frame", unreadable)
    shutil.copytree(run_dir, tmp_path / "run", ignore=shutil.ignore_patterns("timeseries.*", "*_timelapse.*"))
    science = update_timeseries(str(tmp_path / "run"), records, {"max_cloud": 40})
    assert science is not None and science["timelapses"] == {}
    [note] = [n for n in science["notes"] if n.startswith("timelapse of aoi-scoresby-sund not written")]
    assert "OSError" in note and "\n" not in note
    assert (tmp_path / "run" / "timeseries.csv").is_file() and (tmp_path / "run" / "timeseries.png").is_file()
