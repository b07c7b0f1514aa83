"""Init Lambda: validate and plan a run."""
