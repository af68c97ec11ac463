"""Node perturbation (and weight perturbation, its sibling) beyond tests/test_learners_rules.py,
test_schedules.py and test_per_step_rules.py: each readout tanh computed once per pass (a
measurement prices exactly these), the readout's exact gradient summed over segments of different
lengths on final targets, pack_generator's refusal of a generator it cannot pack, and both rules'
clean output on final targets equal to predict's."""
import numpy as np
import pytest

import learners
from learners.node_perturbation import pack_generator
from test_rules_edges_1 import _with_rule_state, case, grads_of, readout_calls


@pytest.mark.parametrize("n", [1, 3])
def test_each_readout_is_computed_once_per_pass(n, monkeypatch):
    """Per segment, the clean pass and each of the n perturbed passes compute the readout once
    per step on a per_step batch (the clean output is its last step's, not recomputed) and once
    at the end on a final batch."""
    for per_step, steps in ((True, (3, 6)), (False, (1, 1))):
        state, batch = case(23, per_step=per_step)
        L, state = _with_rule_state("node_perturbation", {"n_perturb": n}, state)
        calls = readout_calls(monkeypatch)
        L.forward(state, batch)
        monkeypatch.undo()
        want = [(2, 3)] * (steps[0] * (1 + n)) + [(1, 3)] * (steps[1] * (1 + n))
        assert calls == want, per_step


def test_readout_gradient_sums_over_segments_on_final_targets():
    """Segments of 3 and 6 steps: the readout takes BPTT's gradient, both segments' terms."""
    state, batch = case(24, per_step=False)
    L, state = _with_rule_state("node_perturbation", {}, state)
    g = L.credit(state, batch, L.forward(state, batch))
    ref = grads_of(learners.get("bptt")(n_hidden=4), state, batch)
    for k in ("W_hy", "b_y"):
        assert np.max(np.abs(g[k] - ref[k])) < 1e-14, k


def test_pack_generator_refuses_other_bit_generators():
    gen = np.random.Generator(np.random.MT19937(0))
    with pytest.raises(ValueError, match="^pack_generator: needs a PCG64 generator, got "
                                         "MT19937$"):
        pack_generator(gen)


@pytest.mark.parametrize("name", ["node_perturbation", "weight_perturbation"])
def test_the_clean_output_on_final_targets_is_predicts(name):
    """Segments of 3 and 6 steps over 3 letters (so a loop over the letters instead of the steps
    shows): the clean pass's output is predict's, bit for bit."""
    state, batch = case(25, per_step=False)
    L, state = _with_rule_state(name, {"alpha": 0.3}, state)
    assert np.array_equal(L.forward(state, batch)["y"], L.predict(state, batch))


@pytest.mark.parametrize("name, config", [("node_perturbation", "NodePerturbationConfig"),
                                          ("weight_perturbation", "WeightPerturbationConfig")])
def test_one_perturbation_is_the_fewest(name, config):
    """n_perturb = 1 (one perturbed pass per update) is accepted; 0 is refused in one line."""
    assert learners.get(name)(n_perturb=1).config.n_perturb == 1
    with pytest.raises(ValueError) as e:
        learners.get(name)(n_perturb=0)
    assert str(e.value) == f"{config}: n_perturb must be an integer >= 1, got 0 (int)"
