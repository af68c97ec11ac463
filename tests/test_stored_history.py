"""What BPTT's forward pass keeps for its backward pass (learners/bptt.py), and TBPTT's, which
inherits it: h_t for t >= first_credited(T) and r_t for the credited steps (r_t only where it
is not h_{t+1}, alpha < 1). Storage is data the rule moves: keeping more than credit reaches
would price a truncated rule as the full one."""
import numpy as np
import pytest

import learners
from harness.task import Batch
from test_per_step_rules import case


def kept(rule, batch, state):
    cache = rule.forward(state, batch)
    return ([sorted(H) for H in cache["hs"]],
            [sorted(R) for R in cache["rs"]] if "rs" in cache else None)


@pytest.mark.parametrize("alpha", [1.0, 0.5])
@pytest.mark.parametrize("name, k", [("bptt", None), ("tbptt", 2), ("tbptt", 5), ("tbptt", 9)])
@pytest.mark.parametrize("variable", [False, True])
def test_the_forward_keeps_the_history_credit_reaches(name, k, alpha, variable):
    state, batch = case(0, variable)
    batch = Batch(segments=batch.segments, targets=batch.targets)   # final targets only
    rule = learners.get(name)(alpha=alpha, **({} if k is None else {"k": k}))
    hs, rs = kept(rule, batch, state)
    lengths = [x.shape[1] for x in batch.segments]
    first = [0 if k is None else max(T - k, 0) for T in lengths]
    assert hs == [list(range(f, T + 1)) for f, T in zip(first, lengths)]
    if alpha == 1.0:
        assert rs is None                        # r_t is h_{t+1}: kept once
    else:
        assert rs == [list(range(f, T)) for f, T in zip(first, lengths)]


@pytest.mark.parametrize("k", [2, 5])
def test_per_step_targets_keep_every_step(k):
    """With a loss at every step every window is credited: the whole history is kept."""
    state, batch = case(1, variable=True)
    hs, _ = kept(learners.get("tbptt")(k=k), batch, state)
    assert hs == [list(range(0, x.shape[1] + 1)) for x in batch.segments]
