"""riddle's benchmarks: run each from the repository's root as `python -m bench.NAME` (bench/common.py)."""
