"""Summary Lambda: counts, summary.json and the run notification."""
