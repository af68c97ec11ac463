"""Hypothesis runs derandomized by default, so the suite (and CI) gives the same verdict on every
run; `python -m pytest --hypothesis-profile=explore` draws fresh random examples instead."""
from hypothesis import settings

settings.register_profile("default", derandomize=True, deadline=None)
settings.register_profile("explore", derandomize=False, deadline=None, max_examples=1000)
settings.load_profile("default")
