"""Synthetic scenes (shared by the demo, the tests and the benchmark) and `make demo`."""
