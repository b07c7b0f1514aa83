"""The error of a search that could not be run (kept apart so that importing it loads no HTTP stack)."""

from __future__ import annotations

from scoresby.core.errors import PipelineError


class SearchError(PipelineError):
    """The STAC API could not be searched: unreachable, an unknown collection, a refused query."""
