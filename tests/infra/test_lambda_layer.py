"""The init Lambda's layer pins (lambdas/requirements.txt): the same versions as the worker, a closed set."""

from __future__ import annotations

import re
from importlib import metadata

from infra.lambda_deps import REQUIREMENTS, LayerNotBuilt, check_layer, layer_key
from tests.infra.conftest import REPO_ROOT

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)$")


def pins(path):  # type: ignore[no-untyped-def]
    found = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line.split("#")[0].strip())
        if match:
            found[metadata.distribution(match.group(1)).metadata["Name"].lower()] = match.group(2)
    return found


def test_every_layer_pin_is_what_the_worker_runs_and_the_closure_is_complete() -> None:
    layer = pins(REQUIREMENTS)
    worker = pins(REPO_ROOT / "worker" / "requirements.txt")
    assert layer["pystac-client"] == worker["pystac-client"] and layer["pystac"] == worker["pystac"]
    for name, version in layer.items():
        assert metadata.version(name) == version, name  # tested here with the versions the Lambda gets
        for requirement in metadata.requires(name) or []:
            if "extra ==" in requirement:
                continue
            dependency = re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")
            assert dependency in layer, (
                f"{name} needs {dependency}, which lambdas/requirements.txt does not pin"
            )


def test_a_missing_or_stale_layer_names_the_make_target(tmp_path) -> None:  # type: ignore[no-untyped-def]
    try:
        check_layer("3.14", tmp_path)
    except LayerNotBuilt as exc:
        assert "make lambda-deps" in str(exc)
    else:
        raise AssertionError("an empty folder passed as the layer")
    (tmp_path / ".scoresby-layer").write_text(layer_key("3.13"))
    try:
        check_layer("3.14", tmp_path)
    except LayerNotBuilt as exc:
        assert "stale for Python 3.14" in str(exc)
    else:
        raise AssertionError("a layer built for another Python passed")
