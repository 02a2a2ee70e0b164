"""Benchmarks against the peers: ``python -m benchmarks [NAME...]`` runs them and writes
each result as JSON and Markdown under ``benchmarks/results/``, stamped with the machine
and the date (see :mod:`benchmarks.__main__`)."""
