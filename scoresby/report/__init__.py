"""What a run shows its readers: report.html, and the STAC Collection of its Items (standard library only)."""
