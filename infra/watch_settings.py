"""The `watches` setting: a JSON file of `{"name", "scene_list", "schedule"}`, validated at synth.

`cdk deploy -c watches=watches.json`; a `scene_list` is a watch inline or a path (relative to the watches
file). Every problem is one line naming the entry, the field, the bad value and what is allowed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoresby.core.contract import WATCH_KEY
from scoresby.core.errors import InvalidInput, one_line
from scoresby.core.json_input import load_json
from scoresby.core.schedules import DEFAULT_SCHEDULE, schedule_problem
from scoresby.core.watch import parse_watch

QUIET_ROUNDS = ("silent", "one-line")
"""What a round with nothing new sends: nothing, or a one-line notification."""
WATCH_FIELDS = ("name", "scene_list", "schedule")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}")
SCHEDULE_INPUT_MAX = 8192
"""EventBridge Scheduler's limit on a target's input, in characters."""


class WatchSettingError(ValueError):
    """A `watches` entry is malformed; one line naming the entry, field, value and what is allowed."""


@dataclass(frozen=True)
class WatchSetting:
    """One deployed watch: its name, the validated watch document and its schedule expression."""

    name: str
    run_name: str
    scene_list: dict[str, Any]
    schedule: str

    def execution_input(self) -> dict[str, Any]:
        """What the schedule starts the state machine with (scoresby/steps/watch_round.py)."""
        return {WATCH_KEY: self.scene_list}


def parse_watches(value: Any, *, base_dir: Path | None = None) -> tuple[WatchSetting, ...]:
    """The `watches` context value (a path to the JSON list, "" for none, or the list itself)."""
    if value in (None, "", []):
        return ()
    base = base_dir or Path.cwd()
    where = "context watches"
    if isinstance(value, str):
        path = (base / value).resolve()
        try:
            value = load_json(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError) as exc:
            raise WatchSettingError(f"{where}: cannot read {path}: {one_line(exc)}") from exc
        except InvalidInput as exc:
            raise WatchSettingError(f"{where}: {'; '.join(exc.problems)}") from exc
        base, where = path.parent, f"{where} ({path.name})"
    if not isinstance(value, list) or not value:
        raise WatchSettingError(
            f"{where}: {one_line(repr(value))[:80]} is not allowed; allowed: a JSON list of "
            '{"name": ..., "scene_list": <watch or path>, "schedule": "rate(16 days)"}'
        )
    watches = tuple(_parse_one(entry, f"{where}[{i}]", base) for i, entry in enumerate(value))
    _check_unique([w.name.lower() for w in watches], "name", where)
    _check_unique([w.run_name for w in watches], "scene_list.run_name", where)
    return watches


def _parse_one(entry: Any, where: str, base: Path) -> WatchSetting:
    if not isinstance(entry, dict):
        raise WatchSettingError(f"{where}: {one_line(repr(entry))[:80]} is not allowed; allowed: an object")
    unknown = sorted(set(entry) - set(WATCH_FIELDS))
    if unknown:
        raise WatchSettingError(f"{where}: unknown field {unknown[0]!r}; allowed: {', '.join(WATCH_FIELDS)}")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise WatchSettingError(
            f"{where}.name: {name!r} is not allowed; allowed: 1-48 letters, digits, '.', '_', '-' "
            "starting with a letter or digit"
        )
    schedule = entry.get("schedule", DEFAULT_SCHEDULE)
    problem = schedule_problem(schedule, f"{where}.schedule")
    if problem:
        raise WatchSettingError(problem)
    doc, folder = _scene_list(entry.get("scene_list"), f"{where}.scene_list", base)
    try:
        plan = parse_watch(doc, base_dir=str(folder))
    except InvalidInput as exc:
        raise WatchSettingError(f"{where}.scene_list: {exc.problems[0]}") from exc
    if plan.output is not None and not plan.output.startswith("s3://"):
        raise WatchSettingError(
            f"{where}.scene_list.output: {plan.output!r} is not allowed; allowed: s3:// under the stack's "
            "output root, or leave it out"
        )
    size = len(json.dumps({WATCH_KEY: doc}, separators=(",", ":")))
    if size > SCHEDULE_INPUT_MAX:
        raise WatchSettingError(
            f"{where}.scene_list: {size} characters is too long for a schedule's input; allowed: at most "
            f"{SCHEDULE_INPUT_MAX} (a bbox instead of a detailed intersects geometry)"
        )
    return WatchSetting(name, plan.run_name, doc, schedule)


def _scene_list(value: Any, where: str, base: Path) -> tuple[Any, Path]:
    """The watch document, inline or read from a path relative to the watches file."""
    if isinstance(value, dict):
        return value, base
    if isinstance(value, str):
        path = (base / value).resolve()
        try:
            return load_json(path.read_text(encoding="utf-8"), str(path)), path.parent
        except (OSError, UnicodeDecodeError) as exc:
            raise WatchSettingError(f"{where}: cannot read {path}: {one_line(exc)}") from exc
        except InvalidInput as exc:
            raise WatchSettingError(f"{where}: {'; '.join(exc.problems)}") from exc
    raise WatchSettingError(
        f"{where}: {one_line(repr(value))[:80]} is not allowed; allowed: a watch object or a path to one"
    )


def _check_unique(values: list[str], field: str, where: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise WatchSettingError(
                f"{where}[{i}].{field}: {value!r} is used by an earlier watch; allowed: one watch per "
                f"{'name' if field == 'name' else 'run'} (two watches on one run would share its cursor)"
            )
        seen.add(value)
