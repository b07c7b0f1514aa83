"""Typed warnings for recoverable problems a caller may filter, each beside a human-readable note.

The notes go into the STAC Item (`scoresby:notes`); the same text is also issued as a warning of a narrow
class, so a notebook can silence or escalate one kind (as rio-cogeo's NodataAlphaMaskWarning)::

    warnings.simplefilter("ignore", scoresby.warnings.PlainDNWarning)
    warnings.simplefilter("error", scoresby.warnings.ScoresbyWarning)   # every kind, as an exception
"""

from __future__ import annotations

import warnings


class ScoresbyWarning(UserWarning):
    """Base of every Scoresby warning: something recoverable that the outputs' notes also record."""


class PlainDNWarning(ScoresbyWarning):
    """No radiometry found for a band: its reflectance is the plain DN (no MTL or metadata)."""


class AssumedRadiometryWarning(ScoresbyWarning):
    """Radiometry assumed, not read: product constants or a processing baseline guessed from the date."""


class SubstitutedBandWarning(ScoresbyWarning):
    """A product used a stand-in band (Sentinel-2 B8A for a missing B08)."""


class NoQualityBandWarning(ScoresbyWarning):
    """Masking was asked for, but the scene has no quality band (QA_PIXEL / SCL): nothing was masked."""


class GuessedDatetimeWarning(ScoresbyWarning):
    """The acquisition time came from the scene id or folder, not metadata: the time of day is unknown."""


class OutsideAOIWarning(ScoresbyWarning):
    """The scene does not overlap the run's AOI: its products on the AOI grid hold no data."""


def note(notes: list[str], text: str, category: type[ScoresbyWarning]) -> None:
    """Record `text` as a note and issue it as a warning of `category` (pointing at the caller's caller)."""
    notes.append(text)
    warnings.warn(text, category, stacklevel=3)
