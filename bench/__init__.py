"""Benchmarks and the realistic archive generator (not run by the test suite).

`python -m bench.generate --records N --root PATH --seed S` writes an archive; `python -m bench.run
--root PATH` measures the index against plain-file baselines on that same tree.
"""
