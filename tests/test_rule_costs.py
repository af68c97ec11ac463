"""Every rule's data movement for one update on a small network, pinned as regression values.

The other tests check each rule's numbers (gradients against BPTT or finite differences,
estimators' means) and the pricing against oracles, but a rule's *program* can change without
changing a number it computes: an extra pass over an array, a sum started from a buffer of zeros
instead of its first term, a division by 1. The study would then report different data
movement for the same rule with every other test passing. These values are this project's own
measurements (`harness.measure.measure_update`, one update after one warm-up sweep, seed 0, 4
hidden units, the task below, the default number format), for every rule in the batched
schedule on final targets, and in each other case it declares among per-step targets (batched)
and the online schedule (final targets): reads and writes in elements, ByteDMD in cost units.
After an intended change to a rule, its handlers or the pricing, `python tests/test_rule_costs.py`
prints the new table to paste here (and the change's commit says why the numbers moved). A new
rule needs no edit here (its lines pin it once added); `tools/mutation.py --check-equivalents`
runs the mutants listed as equivalent against these pins.
"""
import pytest

import learners
from harness.measure import measure_update
from harness.task import SequenceLookup

# (rule, schedule, target kind): (reads, writes, ByteDMD), by `python tests/test_rule_costs.py`
PINNED = {
    ("bptt", "batched", "final"): (4932, 2601, 479810),
    ("bptt", "batched", "per_step"): (6348, 3345, 624788),
    ("bptt", "online", "final"): (5214, 2742, 564781),
    ("checkpointed_bptt", "batched", "final"): (6324, 3321, 609524),
    ("checkpointed_bptt", "batched", "per_step"): (7740, 4065, 760407),
    ("eprop", "batched", "final"): (4983, 2784, 680319),
    ("eprop", "batched", "per_step"): (7359, 4008, 1025654),
    ("eprop", "online", "final"): (4983, 2784, 552676),
    ("feedback_alignment", "batched", "final"): (4932, 2601, 489941),
    ("feedback_alignment", "batched", "per_step"): (6348, 3345, 636325),
    ("feedback_alignment", "online", "final"): (5214, 2742, 593821),
    ("forward_gradient", "batched", "final"): (4923, 2609, 483824),
    ("forward_gradient", "batched", "per_step"): (6291, 3317, 614415),
    ("node_perturbation", "batched", "final"): (15971, 8248, 2045686),
    ("node_perturbation", "batched", "per_step"): (19427, 10120, 2403153),
    ("node_perturbation", "online", "final"): (16227, 8376, 1677736),
    ("rtrl", "batched", "final"): (34596, 17433, 6128146),
    ("rtrl", "batched", "per_step"): (40044, 20193, 7109165),
    ("rtrl", "online", "final"): (34878, 17574, 4056774),
    ("snap1", "batched", "final"): (5540, 2905, 757140),
    ("snap1", "batched", "per_step"): (7916, 4129, 1093599),
    ("snap2", "batched", "final"): (5522, 2896, 657810),
    ("snap2", "batched", "per_step"): (8262, 4302, 1019934),
    ("tbptt", "batched", "final"): (4244, 2250, 410571),
    ("tbptt", "batched", "per_step"): (6412, 3378, 626897),
    ("tbptt", "online", "final"): (4526, 2391, 490316),
    ("uoro", "batched", "final"): (8628, 4517, 1223690),
    ("uoro", "batched", "per_step"): (11116, 5797, 1569862),
    ("weight_perturbation", "batched", "final"): (17396, 9062, 1598362),
    ("weight_perturbation", "batched", "per_step"): (22961, 11999, 2129114),
}


def cases(name: str) -> list[tuple[str, str]]:
    """(schedule, target kind) pinned for a rule: batched on final targets, and the per-step
    targets and online schedule where the rule declares them."""
    rule = learners.get(name)
    return ([("batched", "final")] + [("batched", "per_step")] * ("per_step" in rule.TARGETS)
            + [("online", "final")] * ("online" in rule.SCHEDULES))


def movement(name: str, schedule: str, target_kind: str) -> tuple[int, int, int]:
    """(reads, writes, ByteDMD) of one update of rule `name` (elements, elements, cost units)
    on 3 letters, 3 per sequence, 6 sequences, 4 of them for training."""
    task = SequenceLookup(n_letters=3, length=3, n_sequences=6, n_train=4,
                          target_kind=target_kind)
    report = measure_update(learners.get(name)(n_hidden=4), task, seed=0, warm_sweeps=1,
                            reuse=False, schedule=schedule)
    return report.reads, report.writes, report.bytedmd


def test_the_pinned_cases_are_each_pinned_rules_declared_cases():
    """A rule renamed or removed, or a case a rule no longer declares (or newly declares), is
    noticed here; a rule added needs no edit of this file."""
    rules = {name for name, _, _ in PINNED}
    assert rules <= set(learners.available())
    assert sorted(PINNED) == sorted((n, *c) for n in rules for c in cases(n))


@pytest.mark.parametrize("name, schedule, target_kind", sorted(PINNED))
def test_one_update_moves_the_pinned_data(name, schedule, target_kind):
    measured = movement(name, schedule, target_kind)
    pinned = PINNED[name, schedule, target_kind]
    assert measured == pinned, \
        f"{name}, {schedule}, {target_kind}: measured {measured}, pinned {pinned}"


if __name__ == "__main__":
    for rule in learners.available():
        for case in cases(rule):
            print(f"    {(rule, *case)!r}: {movement(rule, *case)},")
