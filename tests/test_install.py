"""`pip install .` into an empty venv: one top-level import package, and `scoresby.process` works from it."""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest
import rasterio

REPO_ROOT = Path(__file__).resolve().parent.parent

PROCESS_A_REAL_SCENE = """
import json, sys
import scoresby
result = scoresby.process(sys.argv[1], sys.argv[2], products=["ndvi", "true_color"])
print(json.dumps({"file": scoresby.__file__, "outputs": sorted(str(p) for p in result.outputs.values())}))
"""


@pytest.mark.slow
def test_pip_install_into_an_empty_venv_gives_one_package_that_processes_a_real_scene(
    tmp_path: Path, real_data_dir: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # The image's pins hold here too; pip's cache (filled by `make install`) spares most downloads.
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-c", str(REPO_ROOT / "worker" / "constraints.txt"),
         str(REPO_ROOT)],
        capture_output=True, text=True, timeout=900, check=False, env={**os.environ, "PIP_NO_INPUT": "1"},
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    record = (next(site.glob("scoresby-*.dist-info")) / "RECORD").read_text().splitlines()
    # RECORD lists every installed file; "../../../bin/scoresby" is the console script.
    top_level = {line.split(",")[0].split("/")[0] for line in record}
    assert {t for t in top_level if not t.endswith(".dist-info") and t != ".."} == {"scoresby"}, top_level
    assert (site / "scoresby" / "py.typed").is_file()
    assert not (site / "worker").exists() and not (site / "lambdas").exists()

    scene = real_data_dir / "landsat8" / "LC08_L2SP_001062_20201031_20201106_02_T2"
    out = tmp_path / "out"
    run = subprocess.run(
        [str(python), "-c", PROCESS_A_REAL_SCENE, str(scene), str(out)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    reply = json.loads(run.stdout.strip().splitlines()[-1])
    assert reply["file"].startswith(str(site)), reply  # the installed copy, not the checkout
    ndvi = next(p for p in reply["outputs"] if p.endswith("_ndvi.tif"))
    with rasterio.open(ndvi) as dataset:
        values = dataset.read(1, masked=True)
        assert dataset.dtypes[0] == "float32" and dataset.crs is not None
    assert values.count() > 0 and -1.0 <= float(values.min()) <= float(values.max()) <= 1.0
