"""Performance ratios of the emulator against baselines measured in the same run (``python -m bench``).

Absolute times drift on shared machines; each benchmark prints the ratio of the emulator's time to a baseline
timed alongside it, and fails when the ratio is over its target. See bench/README.md.
"""
