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


class ExitsProcess(BPTT):
    """Kills its own process in its update (os._exit): not an exception anyone can catch."""
    name = ""

    def update(self, state, grads):
        import os
        os._exit(3)


class Segfaults(BPTT):
    """Crashes its process with a segmentation fault in its update."""
    name = ""

    def update(self, state, grads):
        import ctypes
        ctypes.string_at(0)


class Hangs(BPTT):
    """Never finishes its first update (sleeps a minute)."""
    name = ""

    def update(self, state, grads):
        import time
        time.sleep(60)
        return super().update(state, grads)


class UsesNorm(BPTT):
    """Trains like BPTT but clips with a nuclear norm (np.linalg.svd), which the tracked arrays do
    not model: its training row is valid, its data-movement measurement fails."""
    name = ""

    def update(self, state, grads):
        grads = {k: v / max(1.0, float(np.linalg.svd(np.atleast_2d(v), compute_uv=False).sum()))
                 for k, v in grads.items()}
        return super().update(state, grads)


class FinalOnly(BPTT):
    """Declares final targets only: a per_step task refuses it (studies skip it, with the reason)."""
    name = ""
    TARGETS = ("final",)
