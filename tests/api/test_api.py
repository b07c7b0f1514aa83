"""`import scoresby`: the public names, their docs, the results, and the example notebook run end to end."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest

import scoresby
from scoresby.demo.gradient import SCENE_ID, write_landsat_l2_scene

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "examples" / "scoresby-sund.ipynb"

# The stable surface: changing it is a decision, so this list changes with it (and the README's API section).
PUBLIC = [
    "InvalidInput",
    "PipelineError",
    "RunPlan",
    "RunResult",
    "Scene",
    "SceneError",
    "SceneResult",
    "TaskRecord",
    "__version__",
    "load",
    "process",
    "run",
    "search",
    "status",
    "submit",
    "watch",
]


def test_public_names_are_pinned() -> None:
    assert sorted(scoresby.__all__) == sorted(PUBLIC)
    for name in scoresby.__all__:
        assert hasattr(scoresby, name), name


@pytest.mark.parametrize("name", [n for n in PUBLIC if n != "__version__"])
def test_every_public_item_has_a_docstring_help_renders(name: str) -> None:
    item = getattr(scoresby, name)
    doc = inspect.getdoc(item)
    assert doc and len(doc.splitlines()[0]) > 10, name
    if inspect.isfunction(item):
        hints = inspect.get_annotations(item)
        assert "return" in hints, f"{name} has no return annotation"


def test_run_returns_a_result_with_outputs_and_an_html_table(tmp_path: Path) -> None:
    folder = write_landsat_l2_scene(tmp_path / "scenes" / SCENE_ID, width=300, height=200)
    doc = {"run_name": "api", "products": ["true_color", "ndvi"], "scenes": [{"source": str(folder)}]}
    result = scoresby.run(doc, tmp_path / "out", workers=1, progress=False)
    assert result.ok and result.counts["SUCCEEDED"] == 1
    ndvi = Path(result.outputs[SCENE_ID]["ndvi"])
    assert ndvi.is_file() and ndvi.parent == tmp_path / "out" / "api" / SCENE_ID
    assert result.summary_json["totals"]["SUCCEEDED"] == 1
    page = result._repr_html_()
    assert SCENE_ID in page and "SUCCEEDED" in page
    thumbnails = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(thumbnails) == 2 + 1  # one per product, shrunk, and the time-series chart
    assert all(len(t) < 100_000 for t in thumbnails)
    again = scoresby.run(doc, tmp_path / "out", workers=1, progress=False)
    assert again.counts["SKIPPED"] == 1  # the same task log as `scoresby run`
    assert [r.status for r in scoresby.status("api", output=tmp_path / "out")] == ["SKIPPED"]


def test_bad_input_raises_the_typed_error_listing_every_problem(tmp_path: Path) -> None:
    with pytest.raises(scoresby.InvalidInput) as info:
        scoresby.load({"scenes": [{"source": "x", "products": ["nvdi"]}, {"source": "y", "sensor": "spot"}]})
    assert len(info.value.problems) == 2
    with pytest.raises(scoresby.InvalidInput, match="workers: 0 is not allowed"):
        scoresby.run({"scenes": [{"source": str(tmp_path)}]}, tmp_path, workers=0)
    with pytest.raises(scoresby.InvalidInput, match="has no task log"):
        scoresby.status(output=tmp_path / "nothing-here")


def test_process_one_scene_folder(tmp_path: Path) -> None:
    folder = write_landsat_l2_scene(tmp_path / SCENE_ID, width=200, height=150)
    result = scoresby.process(str(folder), tmp_path / "out", products=["ndwi"])
    assert list(result.outputs) == ["ndwi"] and Path(result.stac_item).is_file()
    with pytest.raises(scoresby.SceneError):
        scoresby.process(str(tmp_path / "empty-does-not-exist"), tmp_path / "out")


def test_committed_notebook_has_no_outputs() -> None:
    doc = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in doc["cells"] if c["cell_type"] == "code"]
    assert code and all(not c["outputs"] and c["execution_count"] is None for c in code)


@pytest.mark.slow
def test_example_notebook_runs_every_cell(tmp_path: Path) -> None:
    """CI executes the notebook: any cell error fails the test."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("SUCCEEDED" in h for h in html)  # the run's table rendered
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    # the histogram, the fixed-stretch quicklook, the time-series chart; the last composite, the change map
    # and the trend map
    assert len(images) >= 6
    assert any("image/gif" in o.get("data", {}) for o in outputs)  # the timelapse
    texts = [o["data"].get("text/plain", "") for o in outputs if "data" in o]
    series = next(t for t in texts if "2016-" in t)  # the time-series rows: one per summer, in date order
    positions = [series.index(f"'{year}-") for year in range(2016, 2022)]
    assert positions == sorted(positions)
    areas = next(t for t in texts if "snow/ice -> water" in t)  # where the ice went, in km2
    assert "other land -> other land" in areas


def test_search_returns_a_plan_of_the_items(stac_api) -> None:  # type: ignore[no-untyped-def]
    plan = scoresby.search(
        stac=stac_api.url,
        collections="sentinel-2-l2a",
        bbox=[-180, -90, 180, 90],
        datetime="2025-01-01/..",
        products=["ndvi"],
    )
    assert len(plan.scenes) == 6 and all(s.products == ("ndvi",) and s.item for s in plan.scenes)
    with pytest.raises(scoresby.InvalidInput, match="search.bbox"):
        scoresby.search(stac=stac_api.url, collections="x", bbox=[5, 0, 1, 1], datetime="2020-01-01/..")
