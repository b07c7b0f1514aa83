"""Scoresby's Python API: find, process and run Landsat and Sentinel-2 scenes from a notebook or a script.

The command line is a caller of the same functions (`scoresby.commands`), so both validate the same way,
raise the same errors and write the same task log::

    import scoresby
    plan = scoresby.load("scenes.json")
    result = scoresby.run(plan, "products/")
    result                      # in Jupyter: a table of scenes with quicklooks and statistics
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The public names are loaded on first use (PEP 562): `import scoresby.core` in the Lambdas must not pull in
# rasterio and numpy, which only the raster side of the package needs.
_EXPORTS = {
    "InvalidInput": "scoresby.core.errors",
    "PipelineError": "scoresby.core.errors",
    "SceneError": "scoresby.core.errors",
    "RunPlan": "scoresby.core.scene_list",
    "Scene": "scoresby.core.scene_list",
    "TaskRecord": "scoresby.core.task_log",
    "SceneResult": "scoresby.commands.scene",
    "RunResult": "scoresby.results",
    "load": "scoresby.api",
    "process": "scoresby.api",
    "run": "scoresby.api",
    "search": "scoresby.api",
    "status": "scoresby.api",
    "submit": "scoresby.api",
    "watch": "scoresby.api",
}

__all__ = [
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

if TYPE_CHECKING:
    from scoresby.api import load, process, run, search, status, submit, watch
    from scoresby.commands.scene import SceneResult
    from scoresby.core.errors import InvalidInput, PipelineError, SceneError
    from scoresby.core.scene_list import RunPlan, Scene
    from scoresby.core.task_log import TaskRecord
    from scoresby.results import RunResult


# `scoresby.search` is both a public function and the subpackage scoresby/search. Importing a subpackage the
# first time sets it as an attribute of its parent, which would hide the function (whether or not it was
# loaded already); importing it here, before any caller can, and dropping the attribute leaves the name to
# the function. The subpackage's own modules are still imported as `scoresby.search.<module>`.
importlib.import_module("scoresby.search")
del globals()["search"]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'scoresby' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
