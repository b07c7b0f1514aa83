"""The public home of Scoresby's warning classes (defined in scoresby/core/warnings.py, stdlib only)."""

from __future__ import annotations

from scoresby.core.warnings import (
    AssumedRadiometryWarning,
    GuessedDatetimeWarning,
    NoQualityBandWarning,
    OutsideAOIWarning,
    PlainDNWarning,
    ScoresbyWarning,
    SubstitutedBandWarning,
)

__all__ = [
    "AssumedRadiometryWarning",
    "GuessedDatetimeWarning",
    "NoQualityBandWarning",
    "OutsideAOIWarning",
    "PlainDNWarning",
    "ScoresbyWarning",
    "SubstitutedBandWarning",
]
