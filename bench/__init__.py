"""Benchmarks (`make bench`): each prints a final `BENCH key=value ...` line and writes build/bench/<name>.json."""
