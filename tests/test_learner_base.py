"""learners/base.py, the learner interface: the tuned-configuration lookup and the one-line
messages of the hyperparameter checks every rule shares."""
import pathlib
from dataclasses import dataclass

import numpy as np
import pytest

import harness
import learners
import learners.base as base
from learners.base import Learner, flag


@dataclass
class Cfg:
    on: object = "x" * 80


def test_a_flag_accepts_true_and_false_only_and_names_the_config_and_value():
    FG = learners.get("forward_gradient")
    assert FG(tangent_readout=True).config.tangent_readout is True
    for bad in (1, "yes", None):
        with pytest.raises(ValueError) as e:
            FG(tangent_readout=bad)
        assert str(e.value) == ("ForwardGradientConfig: tangent_readout must be True or False, "
                                f"got {bad!r}")
    with pytest.raises(ValueError, match=r"^Cfg: on must be True or False, got 'x{56}\.\.\.$"):
        flag(Cfg(), "on")


def test_a_rule_without_a_tuned_configuration_is_named_in_the_error():
    class Untuned(Learner):
        name = "untuned_rule"

    class Nameless(Learner):
        pass
    msg = ("learner {} has no tuned configuration in learners/tuned.json "
           "(run python -m studies.tune --adopt)")
    with pytest.raises(LookupError) as e:
        Untuned.tuned_hyper()
    assert str(e.value) == msg.format("'untuned_rule'")
    with pytest.raises(LookupError) as e:
        Nameless.tuned()
    assert str(e.value) == msg.format("'Nameless'")


def test_a_rules_tuned_configuration_is_its_entry_in_tuned_json_as_a_copy():
    """tuned_hyper() is the "hyper" of the rule's entry in learners/tuned.json, read by the
    rule's name; a caller that changes it changes nothing for the next caller."""
    import json
    table = json.loads((pathlib.Path(base.__file__).with_name("tuned.json")).read_text())
    assert table, "learners/tuned.json lists no rule"
    for name, entry in table.items():
        rule = learners.get(name)
        hyper = rule.tuned_hyper()
        assert hyper == entry["hyper"] and hyper
        hyper.clear()
        assert rule.tuned_hyper() == entry["hyper"]


def test_a_checkout_without_tuned_json_has_no_tuned_rules(monkeypatch):
    """learners/tuned.json is written by studies.tune --adopt; without it every rule still
    constructs at its defaults and `tuned()` raises LookupError naming the rule (not a
    FileNotFoundError)."""
    exists = pathlib.Path.exists
    monkeypatch.setattr(pathlib.Path, "exists",
                        lambda self: False if self.name == "tuned.json" else exists(self))
    monkeypatch.setattr(base, "_TUNED", None)       # read the table afresh
    with pytest.raises(LookupError, match=r"^learner 'bptt' has no tuned configuration"):
        learners.get("bptt").tuned()
    assert learners.get("bptt")().config.lr > 0


def test_for_task_on_a_rule_with_no_task_defaults():
    """A rule of its own without TASK_DEFAULTS takes its constructor defaults on both timings,
    the user's keywords on top."""
    class Plain(learners.get("bptt")):
        TASK_DEFAULTS = {}
    vt = harness.SequenceLookup(variable_timing=True)
    assert Plain.for_task(vt).config == Plain().config
    assert Plain.for_task(vt, lr=0.5).config == Plain(lr=0.5).config
    assert Plain.for_task(harness.SequenceLookup()).config == Plain().config
    # the shared network's own variable-timing defaults (the v1 values) under the user's
    c = learners.get("bptt").for_task(vt, lr=0.1).config
    assert (c.n_hidden, c.lr, c.clip, c.init_scale) == (60, 0.1, 1.0, 0.2)


@dataclass
class X:
    x: object = 0.0


@pytest.mark.parametrize("lo, hi, lo_open, hi_open, shown, inside, outside", [
    (0, 1, False, False, "[0, 1]", [0, 1, 0.5], [-1e-9, 1 + 1e-9]),
    (0, 1, True, False, "(0, 1]", [1e-300, 1], [0, -0.0]),
    (0, 1, False, True, "[0, 1)", [0, 1 - 1e-16], [1, 1.0]),
    (0, 1, True, True, "(0, 1)", [0.5], [0, 1]),
    (None, 2.5, False, False, "[-inf, 2.5]", [-1e300, 2.5], [2.5000001]),
    (-1, None, True, False, "(-1, inf)", [1e300], [-1]),
])
def test_number_checks_each_end_of_its_interval(lo, hi, lo_open, hi_open, shown, inside, outside):
    """The shared number check, as a rule of one's own may call it: open and closed ends,
    missing ends, and the interval written in the one-line message."""
    for v in inside:
        base.number(X(v), "x", lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)
    for v in outside:
        with pytest.raises(ValueError) as e:
            base.number(X(v), "x", lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)
        assert str(e.value) == (f"X: x must be a finite number in {shown}, got {v!r} "
                                f"({type(v).__name__})")


def test_a_learner_shows_its_class_and_full_configuration():
    """repr names the rule's class and every hyperparameter (what a log line or a failed run's
    report shows of the learner)."""
    L = learners.get("tbptt")(k=5, lr=0.5)
    assert repr(L) == f"TBPTT({L.config!r})"
    assert repr(L).startswith("TBPTT(TBPTTConfig(n_hidden=30, lr=0.5,") and "k=5)" in repr(L)


@pytest.mark.parametrize("value, shown", [
    (10 ** 5000, "<int too large to print>"),                  # repr() refuses such an int
    ("a" * 58, repr("a" * 58)),                                # 60 characters: shown whole
    ("a" * 59, repr("a" * 59)[:57] + "..."),                   # 61: cut to 57 and "..."
    (np.zeros((2, 40)), " ".join(repr(np.zeros((2, 40))).split())[:57] + "..."),
    (np.zeros(2), "array([0., 0.])"),                          # one space where repr has one
], ids=["huge-int", "60-chars", "61-chars", "multi-line", "short"])
def test_a_bad_value_is_shown_on_one_line_in_at_most_60_characters(value, shown):
    assert base.short_repr(value) == shown and len(shown) <= 60


def test_integer_defaults_to_at_least_1_with_no_upper_bound():
    """integer(config, name) with no bounds given: the documented default, lo = 1, hi = None."""
    @dataclass
    class C:
        n: object = 1
    for ok in (1, 2, 10 ** 30, np.int64(7)):
        base.integer(C(ok), "n")
    for bad in (0, -1):
        with pytest.raises(ValueError, match=r"^test_integer_defaults_to_at_least_1_with_no_upper_"
                                             r"bound\.<locals>\.C: n must be an integer >= 1, got"):
            base.integer(C(bad), "n")


def test_a_rule_without_a_dataclass_config_is_named_in_the_error():
    """A rule file that forgets `Config`, or makes it a plain class, fails at construction with
    one line naming the rule's class."""
    class NoConfig(Learner):
        name = "no_config"

    class PlainConfig(Learner):
        name = "plain_config"

        class Config:
            lr: float = 0.1

    for cls in (NoConfig, PlainConfig):
        with pytest.raises(TypeError) as e:
            cls()
        assert str(e.value) == f"{cls.__name__} must define a dataclass `Config`"


def test_a_rule_is_named_by_its_name_or_else_its_class():
    """rule_name, for messages and results: an instance or a class alike."""
    class Nameless(learners.get("bptt")):
        name = ""
    for rule in (learners.get("bptt"), learners.get("bptt")()):
        assert base.rule_name(rule) == "bptt"
    for rule in (Nameless, Nameless()):
        assert base.rule_name(rule) == "Nameless"
