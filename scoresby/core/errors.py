"""Scoresby errors; messages name the scene, the field or file, the bad value and what is allowed."""

from __future__ import annotations


class PipelineError(Exception):
    """Base class of every error Scoresby raises on purpose."""


class InvalidInput(PipelineError, ValueError):
    """A scene list or scene object is malformed; `problems` lists every problem found, one line each."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class SceneError(PipelineError):
    """A scene cannot be processed; carries the scene id so messages and task-log rows name it."""

    def __init__(self, scene_id: str, message: str) -> None:
        self.scene_id = scene_id
        super().__init__(f"scene {scene_id}: {message}")


class SourceNotFound(SceneError, FileNotFoundError):
    """The scene's source folder, prefix or URL does not exist or holds no files."""


class MissingBands(SceneError, ValueError):
    """A requested product needs bands the scene does not have."""


class MissingRole(MissingBands, InvalidInput):
    """A requested product needs a band role (blue, SWIR ...) the scene's sensor does not have at all.

    Bad input (exit 2 for `scoresby process`), yet still one scene's failure in a run (a SceneError).
    """


class UnreadableRaster(SceneError, OSError):
    """A band file exists but GDAL cannot read it (truncated, corrupt, not a raster)."""


class GridMismatch(SceneError, ValueError):
    """Bands of a scene lie on CRSs or extents that cannot be aligned onto one grid."""


class UnknownSensor(SceneError, ValueError):
    """The sensor or product level cannot be recognised from the scene id or its file names."""


class OutputError(SceneError, OSError):
    """An output could not be written to its destination."""


class StorageError(PipelineError, OSError):
    """An output destination or a task log cannot be used (read-only, full, corrupt, no permission)."""


class InsufficientSpace(SceneError, OSError):
    """A disk has less free space than a scene needs (checked up front, or full while writing)."""


class Terminated(PipelineError):
    """Stopped by SIGTERM (Batch job timeout, Spot reclaim, `kill`): temp files removed, nothing published."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"stopped by signal {signum} (SIGTERM); temporary files removed, nothing published")


# Exit codes of every `scoresby` command (the Batch job definition's retry strategy relies on them too).
EXIT_OK = 0
EXIT_FAILED = 1  # a scene (or, for `run` and `status`, some scene of the run) failed
EXIT_INVALID = 2  # bad input: scene list, arguments, unknown run or stack
EXIT_INTERRUPTED = 130  # `scoresby run` stopped by Ctrl-C / SIGTERM (128 + SIGINT, as shells report it)
EXIT_TERMINATED = 143  # `scoresby process` stopped by SIGTERM (128 + 15): Batch job timeout or Spot reclaim
EXIT_BUSY = 75  # another `scoresby run` holds the output's run lock (EX_TEMPFAIL: try again later)


def one_line(message: object) -> str:
    """An error message (or exception) on one line, whitespace collapsed, for logs and task-log rows."""
    return " ".join(str(message).split())
