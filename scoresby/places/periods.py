"""Period labels of a place's composites: year `2016`, season `2016-JJA`, month `2016-08`, or `all`.

Seasons are meteorological: DJF of 2017 is December 2016 with January and February 2017 (it is labelled by
the year of its January). Labels sort by their start (`period_start`), not as text.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable
from datetime import date, datetime

_SEASON_OF_MONTH = {12: "DJF", 1: "DJF", 2: "DJF", 3: "MAM", 4: "MAM", 5: "MAM"} | {
    6: "JJA",
    7: "JJA",
    8: "JJA",
    9: "SON",
    10: "SON",
    11: "SON",
}
_SEASON_START = {"DJF": 12, "MAM": 3, "JJA": 6, "SON": 9}
ALL = "all"


def period_label(day: date, period: str) -> str:
    """The label of the period holding `day`."""
    if period == "year":
        return f"{day.year:04d}"
    if period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if period == "season":
        season = _SEASON_OF_MONTH[day.month]
        year = day.year + 1 if day.month == 12 else day.year
        return f"{year:04d}-{season}"
    return ALL


def in_months(day: date, months: Iterable[int]) -> bool:
    """True when the month of `day` is one the composites count."""
    return day.month in set(months)


def period_start(label: str, period: str) -> date:
    """First day of a labelled period (`all`: date.min; use the scenes' dates instead)."""
    if period == "year":
        return date(int(label), 1, 1)
    if period == "month":
        return date(int(label[:4]), int(label[5:7]), 1)
    if period == "season":
        year, season = int(label[:4]), label[5:]
        month = _SEASON_START[season]
        return date(year - 1 if season == "DJF" else year, month, 1)
    return date.min


def period_end(label: str, period: str) -> date:
    """Last day of a labelled period (`all`: date.max)."""
    if period == "year":
        return date(int(label), 12, 31)
    if period == "month":
        year, month = int(label[:4]), int(label[5:7])
        return date(year, month, monthrange(year, month)[1])
    if period == "season":
        start = period_start(label, period)
        end_month = (start.month + 1) % 12 + 1
        end_year = start.year + (1 if end_month < start.month else 0)
        return date(end_year, end_month, monthrange(end_year, end_month)[1])
    return date.max


def decimal_year(moment: datetime | date) -> float:
    """A date as a fractional year (2016-07-02 is about 2016.5), the time axis of the trend slopes."""
    day = moment.date() if isinstance(moment, datetime) else moment
    days = 366 if monthrange(day.year, 2)[1] == 29 else 365
    return day.year + (day.timetuple().tm_yday - 0.5) / days
