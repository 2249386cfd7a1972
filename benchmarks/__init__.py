"""Benchmark scripts: run from the checkout as `python -m benchmarks.NAME`."""
