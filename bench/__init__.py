"""Benchmarks: each platform operation timed against a hand-written raw-SQL baseline doing the same work.

Run with ``python -m bench`` (``--help`` for options). Cases live in ``bench/cases_*.py`` modules,
found automatically; see :mod:`bench.harness` for how to write one.
"""
