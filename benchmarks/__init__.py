"""Benchmarks: scripts that print Markdown tables; their results are recorded in README."""
