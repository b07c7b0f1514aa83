"""Scoresby's Python API: find, process and run Landsat and Sentinel-2 scenes from a notebook or a script.

The command line is a caller of the same functions (`worker.commands`), so both validate the same way,
raise the same errors and write the same task log::

    import scoresby
    plan = scoresby.load("scenes.json")
    result = scoresby.run(plan, "products/")
    result                      # in Jupyter: a table of scenes with quicklooks and statistics
"""

from scoresby.api import load, process, run, search, status, submit, watch
from scoresby.results import RunResult
from worker import __version__
from worker.commands.process import SceneResult
from worker.core.errors import InvalidInput, PipelineError, SceneError
from worker.core.scene_list import RunPlan, Scene
from worker.core.task_log import TaskRecord

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
