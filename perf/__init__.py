"""Benchmark scripts (``make perf``): figures and ratios against baselines measured in the same
run."""
