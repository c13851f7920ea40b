"""Builders of tiny models for rlsuite's tests and benchmarks (not used by the shipped commands).

Each builder makes a small, randomly initialised model from a config and saves it to a folder, so
the real loading code (``from_pretrained(folder)``) runs offline on it.
"""
