"""Benchmarks, each beside the baseline it has to beat."""
