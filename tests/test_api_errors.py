"""Bad input to the Python API: a one-line ValueError/TypeError naming the argument, never a raw
traceback from deep inside, never a silently accepted value. A hypothesis fuzz over every built-in
learner's hyperparameters and SequenceLookup's parameters with hostile values."""
import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import harness
import learners
import metrics
from harness.measure import measure_run, measure_update

HOSTILE = st.one_of(
    st.sampled_from([None, True, False, "0.3", "", "nan", [1], {}, (2,), np.array([1.0, 2.0]),
                     float("nan"), float("inf"), -float("inf"), np.float64("nan"),
                     np.bool_(True), -1, 0, -0.5, 0.0, 2.5, 1e308, 10 ** 30, 2 ** 63,
                     np.int64(-3), 10 ** 5000, "global\nper_parameter"]),
    st.integers(min_value=-10, max_value=10 ** 7),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5))


def one_line_naming(err: Exception, name: str):
    msg = str(err)
    assert "\n" not in msg, msg
    assert name in msg, (name, msg)


FIELDS = [(n, f.name) for n in learners.available()
          for f in dataclasses.fields(learners.get(n).Config)]


@pytest.mark.parametrize("learner, field", FIELDS)
@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(value=HOSTILE)
def test_learner_hyperparameter_fuzz(learner, field, value):
    try:
        obj = learners.get(learner)(**{field: value})
    except (ValueError, TypeError) as e:
        one_line_naming(e, field)
        return
    # accepted: the value must be a sensible one of its kind
    v = getattr(obj.config, field)
    assert not isinstance(v, (str, list, dict, np.ndarray)) or field in (
        "clip_mode", "feedback", "trace_dtype", "history_dtype", "influence_dtype"), (field, value)
    if isinstance(v, float):
        assert math.isfinite(v), (field, value)


TASK_FIELDS = ["n_letters", "length", "n_sequences", "n_train", "variable_timing", "max_timing",
               "dataset_seed", "teacher_seed", "validation_fraction"]


@pytest.mark.parametrize("field", TASK_FIELDS)
@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(value=HOSTILE.filter(lambda v: not (isinstance(v, int) and 0 < v < 10 ** 7
                                           and not isinstance(v, bool))) | st.integers(1, 40))
def test_sequence_lookup_fuzz(field, value):
    try:
        harness.SequenceLookup(**{field: value})
    except (ValueError, TypeError) as e:
        one_line_naming(e, field)


@pytest.mark.parametrize("kw, name, words", [
    (dict(n_hidden=2.5), "n_hidden", "integer"),
    (dict(n_hidden=True), "n_hidden", "integer"),
    (dict(alpha="0.3"), "alpha", "str"),
    (dict(lr=float("nan")), "lr", "finite"),
    (dict(lr=float("inf")), "lr", "finite"),
    (dict(momentum=float("inf")), "momentum", "finite"),
    (dict(weight_decay=float("inf")), "weight_decay", "finite"),
    (dict(clip="1"), "clip", "str"),
    (dict(lr=True), "lr", "bool"),
])
def test_named_bad_hyperparameters(kw, name, words):
    with pytest.raises(ValueError) as e:
        learners.get("bptt")(**kw)
    one_line_naming(e.value, name)
    assert words in str(e.value)


def test_train_and_measure_reject_a_non_task():
    for bad, kind in (("task", "str"), (5, "int"), ({}, "dict")):     # named by its type
        with pytest.raises(TypeError, match=rf"^train\(\): task must be a harness.SequenceLookup "
                                            rf"\(or None for the v1 task\), got {kind}$"):
            harness.train(learners.get("bptt")(), task=bad, sweeps=1)
    with pytest.raises(TypeError, match=r"measure_update\(\): task must be"):
        measure_update(learners.get("bptt")(), task=3)


@pytest.mark.parametrize("func", [measure_update, measure_run, harness.train])
def test_a_learner_class_suggests_the_parentheses(func):
    with pytest.raises(TypeError, match=r"learner must be a learner instance, got the class BPTT "
                                        r"\(did you forget the parentheses"):
        func(learners.get("bptt"))


def test_measure_update_counts():
    with pytest.raises(ValueError, match="warm_sweeps must be an integer >= 0"):
        measure_update(learners.get("bptt")(), warm_sweeps=-1)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        measure_update(learners.get("bptt")(), seed=1.5)


@pytest.mark.parametrize("big", [2 ** 61, 2 ** 62, 2 ** 63 - 1, 2 ** 64, 10 ** 30])
def test_ard_dmc_never_wrap_around(big):
    # write a, write b, read a: the read's distance is the clock since a was written = 2 * big
    events = [("write", "a", big), ("write", "b", big), ("read", "a", 3)]
    assert metrics.ard(events) == pytest.approx(2 * big, rel=1e-15)
    assert metrics.dmc(events) == pytest.approx(3 * math.sqrt(2 * big), rel=1e-15)
    assert metrics.ard(events) > 0 and metrics.dmc(events) > 0


def test_ard_dmc_python_path_equals_kernel():
    rng = np.random.default_rng(0)
    kind = rng.integers(0, 2, 300)
    buf = rng.integers(0, 7, 300)
    size = rng.integers(0, 50, 300)
    from metrics.ard_dmc import _ard_dmc_python
    fast = metrics.ard_dmc_arrays(kind, buf, size)
    _, dense = np.unique(buf, return_inverse=True)
    num, den, dmc = _ard_dmc_python(kind, dense, size.tolist())
    assert fast[0] == pytest.approx(num / den, rel=1e-12)
    assert fast[1] == pytest.approx(dmc, rel=1e-12)


@pytest.mark.parametrize("size", [float("inf"), float("nan"), "3", None, -1, 2.5, True])
def test_ard_bad_sizes(size):
    with pytest.raises(ValueError, match="event 0: size must be a non-negative integer"):
        metrics.ard([("write", "a", size)])
