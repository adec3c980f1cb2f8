"""Benchmarks of the repository (``make bench``): figures printed as a table and saved as JSON.

Each module of figures exposes ``figures(quick: bool) -> list[Figure]``; ``bench.__main__``
lists the modules it runs.
"""
