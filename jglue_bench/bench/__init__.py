"""Benchmarks: each measures a baseline and ours in the same run, on the real JGLUE files, prints a table whose
LAST line is the ratio, and saves a JSON result (with device, torch threads and package versions) under
results/bench/. `jglue-bench bench --help` lists them; bench/cli.py wires them."""
