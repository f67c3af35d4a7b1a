"""Benchmarks: python -m bench.ingest, python -m bench.forward (numbers go in README)."""
