"""Benchmarks: Guatu against raw Temporal on the same server and worker settings, one run."""
