"""Offline replay: the pipeline over the whole log outside the live agents (in memory, staged, rebuild)."""
