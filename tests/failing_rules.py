"""Learners that fail on purpose, reached by dotted path in the study tests."""
import numpy as np

from learners.bptt import BPTT


class Explodes(BPTT):
    """Raises inside its update: a crashing rule."""
    name = ""

    def update(self, state, grads):
        raise RuntimeError("deliberate failure in update")


class Diverges(BPTT):
    """Its outputs become NaN at the 2nd sweep."""
    name = ""

    def update(self, state, grads):
        new = super().update(state, grads)
        new["W_hy"] = new["W_hy"] * np.nan
        return new
