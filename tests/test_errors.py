"""Bad input gets a clear error naming the problem."""
import numpy as np
import pytest

import harness
import learners
from learners.base import Learner


def test_unknown_learner_name():
    with pytest.raises(ValueError, match=r"unknown learner 'bpt'.*available: .*bptt"):
        learners.get("bpt")


@pytest.mark.parametrize("path, msg", [
    ("no_such_module_xyz:Rule", "cannot import module 'no_such_module_xyz'"),
    ("learners.bptt:Nope", "has no attribute 'Nope'"),
    ("numpy:ndarray", "not a subclass of learners.base.Learner"),
])
def test_bad_dotted_path(path, msg):
    with pytest.raises(ValueError, match=msg):
        learners.get(path)


def test_dotted_path_to_builtin_works():
    assert learners.get("learners.bptt:BPTT") is learners.get("bptt")


def test_unknown_and_bad_hyperparameters():
    with pytest.raises(TypeError, match=r"unknown hyperparameter\(s\) \['learning_rate'\]"):
        learners.get("bptt")(learning_rate=0.1)
    with pytest.raises(ValueError, match=r"n_hidden must be an integer in 1\.\.65536"):
        learners.get("bptt")(n_hidden=0)
    with pytest.raises(ValueError, match=r"lr must be a finite number in \(0, inf\)"):
        learners.get("bptt")(lr=-1.0)


def test_train_rejects_bad_arguments():
    task = harness.SequenceLookup()
    with pytest.raises(TypeError, match=r"^train\(\): learner must be a learner instance, got "
                                        r"the class BPTT \(did you forget the parentheses"):
        harness.train(learners.get("bptt"), task)
    with pytest.raises(TypeError, match=r"^train\(\): learner must be a learner instance "
                                        r"\(learners.get\(name\)\(\)\), got str$"):
        harness.train("bptt", task)
    with pytest.raises(ValueError, match="sweeps must be a positive integer"):
        harness.train(learners.get("bptt")(), task, sweeps=0)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        harness.train(learners.get("bptt")(), task, seed=-3)


def test_nan_divergence_names_the_sweep():
    # A huge learning rate with clipping off blows the weights up: the loss becomes NaN.
    lr = learners.get("bptt")(lr=1e200, clip=1e308, momentum=0.0)
    with pytest.raises(harness.DivergenceError, match=r"diverged: loss became nan at sweep (\d+)") as e:
        with np.errstate(all="ignore"):
            harness.train(lr, harness.SequenceLookup(), seed=0, sweeps=50)
    assert 1 < e.value.sweep <= 50


class _NaNAtSweep3(Learner):
    name = "nan3"
    from learners.rnn import RNNConfig as Config
    PARAMS = ("w",)

    def init(self, task, rng):
        return {"w": np.zeros(3), "n": np.zeros(1)}

    def forward(self, state, batch):
        y = np.zeros((batch.size, 3)) + state["w"]
        return {"y": y}

    def credit(self, state, batch, cache):
        return {}

    def update(self, state, grads):
        n = state["n"] + 1
        w = state["w"] + (np.nan if n[0] >= 3 else 0.0)
        return {"w": w, "n": n}


def test_divergence_reports_exact_sweep():
    with pytest.raises(harness.DivergenceError) as e:
        harness.train(_NaNAtSweep3(), harness.SequenceLookup(), seed=0, sweeps=10)
    assert e.value.sweep == 4
    assert str(e.value) == "learner 'nan3' diverged: loss became nan at sweep 4"


class _NamelessNaN(_NaNAtSweep3):
    name = ""


def test_divergence_of_a_rule_without_a_name_names_its_class():
    with pytest.raises(harness.DivergenceError, match=r"^learner '_NamelessNaN' diverged: "):
        harness.train(_NamelessNaN(), harness.SequenceLookup(), seed=0, sweeps=10)


@pytest.mark.parametrize("rule, name", [(_NaNAtSweep3, "nan3"), (_NamelessNaN, "_NamelessNaN")])
def test_weights_made_non_finite_by_the_last_update_are_divergence(rule, name):
    # sweep 3's loss is that of the weights before its update (finite); the update makes them
    # NaN, and no later sweep sees it: the final weights' check names the last sweep
    with pytest.raises(harness.DivergenceError) as e:
        harness.train(rule(), harness.SequenceLookup(), seed=0, sweeps=3)
    assert e.value.sweep == 3 and np.isnan(e.value.loss)
    assert str(e.value) == (f"learner {name!r} diverged: 'w' became non-finite in the update "
                            "at sweep 3")


class _Nameless:
    """A callable with no module, no __qualname__ and no __name__ on the instance."""
    __module__ = None

    def __call__(self):
        pass

    def __repr__(self):
        return "<nameless>"


def test_an_unmodelled_call_is_named_by_module_and_qualified_name():
    """The tracker's 'X is not modelled' errors name the call as a user would write it: module
    and qualified name (np.linalg.norm), a ufunc (no __qualname__) by its __name__, a callable
    without either by its repr, and numpy when it names no module."""
    from types import SimpleNamespace

    from metrics.tracking.errors import fname, not_modelled
    assert fname(np.linalg.norm) == "numpy.linalg.norm"
    assert fname(np.ndarray.tolist) == "numpy.ndarray.tolist"
    assert fname(np.add) == "numpy.add"               # a ufunc: its __qualname__ is None here
    assert fname(SimpleNamespace(__module__="mypkg", __name__="f")) == "mypkg.f"
    assert fname(_Nameless()) == "numpy.<nameless>"
    assert str(not_modelled(f"{fname(np.add)} with out=")) == \
        "numpy.add with out= is not modelled by the tracker"
