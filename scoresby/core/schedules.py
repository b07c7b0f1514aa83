"""When a watch runs: `--every 16d` locally, EventBridge Scheduler `rate(...)` or `cron(...)` on AWS."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from scoresby.core.checks import show

DEFAULT_SCHEDULE = "rate(16 days)"
"""Landsat 8 and 9 each revisit a WRS-2 path/row every 16 days."""
_EVERY = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_EVERY_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
# EventBridge cron: minutes hours day-of-month month day-of-week year, one of the two days fields "?".
_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?,/#L W-]+$")
SCHEDULE_ALLOWED = (
    "rate(N minutes|hours|days) with N >= 1 ('minute', 'hour', 'day' when N is 1), or "
    "cron(minutes hours day-of-month month day-of-week year) with '?' in one of the day fields"
)
EVERY_ALLOWED = "a number and a unit s, m, h or d, at least 1s (e.g. 16d, 12h, 90m)"


def parse_every(value: str) -> float:
    """`--every` as seconds ("16d" -> 1382400.0); raises ValueError naming the value and what is allowed."""
    match = _EVERY.match(value.strip())
    seconds = float(match.group(1)) * _EVERY_UNITS[match.group(2)] if match else 0.0
    if seconds < 1:
        raise ValueError(f"--every {show(value)} is not allowed; allowed: {EVERY_ALLOWED}")
    return seconds


def schedule_problem(expression: object, name: str) -> str | None:
    """Why an EventBridge Scheduler expression is not allowed for a watch (one line), or None."""
    bad = f"{name}: {show(expression)} is not allowed; allowed: {SCHEDULE_ALLOWED}"
    if not isinstance(expression, str):
        return bad
    rate = _RATE.match(expression)
    if rate:
        number, unit = int(rate.group(1)), rate.group(2)
        if number < 1 or (number == 1) != (not unit.endswith("s")):
            return bad
        return None
    cron = _CRON.match(expression)
    if cron and all(_CRON_FIELD.match(f) for f in cron.groups()):
        day_of_month, day_of_week = cron.group(3), cron.group(5)
        if (day_of_month == "?") != (day_of_week == "?"):
            return None
    return bad


def rate_seconds(expression: str) -> int | None:
    """The period of a `rate(...)` expression in seconds; None for cron expressions."""
    rate = _RATE.match(expression)
    if not rate:
        return None
    return int(rate.group(1)) * _RATE_UNITS[rate.group(2).rstrip("s")]


def next_run(expression: str, last_started: datetime | None) -> str:
    """When a schedule fires next, for `scoresby watches`: a time for rates, the expression for cron."""
    period = rate_seconds(expression)
    if period is None:
        return expression
    if last_started is None:
        return f"within {expression[5:-1]}"
    return (last_started + timedelta(seconds=period)).strftime("%Y-%m-%dT%H:%M:%SZ")
