"""Every rule's data movement for one update on a small network, pinned as regression values.

The other tests check each rule's numbers (gradients against BPTT or finite differences,
estimators' means) and the pricing against oracles, but a rule's *program* can change without
changing a number it computes: an extra pass over an array, a sum started from a buffer of zeros
instead of its first term, a copy where a view was meant. The study would then report different
data movement for the same rule with every other test passing. These values are this project's
own measurements (`harness.measure.measure_update`, one update after one warm-up sweep, seed 0,
4 hidden units, the task below, default format and schedule): reads and writes in elements,
ByteDMD in cost units. After an intended change to a rule, its handlers or the pricing,
`python tests/test_rule_costs.py` prints the new table to paste here (and the change's commit
says why the numbers moved). A new rule is pinned by adding its line.
"""
import pytest

import learners
from harness.measure import measure_update
from harness.task import SequenceLookup

# rule: (reads, writes, ByteDMD), measured by `python tests/test_rule_costs.py`
PINNED = {
    "bptt": (4932, 2601, 479810),
    "checkpointed_bptt": (6324, 3321, 609524),
    "eprop": (4983, 2784, 680319),
    "feedback_alignment": (4932, 2601, 489941),
    "forward_gradient": (4923, 2609, 483824),
    "node_perturbation": (15971, 8248, 2045686),
    "rtrl": (34596, 17433, 6128146),
    "snap1": (5540, 2905, 757140),
    "snap2": (5522, 2896, 657810),
    "tbptt": (4244, 2250, 410571),
    "uoro": (8628, 4517, 1223690),
    "weight_perturbation": (17396, 9062, 1598362),
}


def small_task() -> SequenceLookup:
    """3 letters, 3 per sequence, 6 sequences, 4 of them for training."""
    return SequenceLookup(n_letters=3, length=3, n_sequences=6, n_train=4)


def movement(name: str) -> tuple[int, int, int]:
    """(reads, writes, ByteDMD) of one update of rule `name` (elements, elements, cost units)."""
    report = measure_update(learners.get(name)(n_hidden=4), small_task(), seed=0,
                            warm_sweeps=1, reuse=False)
    return report.reads, report.writes, report.bytedmd


def test_every_pinned_rule_is_registered():
    """A rule renamed or removed is noticed here; a rule added needs no edit of this file (it
    is pinned once its line is added)."""
    assert set(PINNED) <= set(learners.available())


@pytest.mark.parametrize("name", sorted(PINNED))
def test_one_update_moves_the_pinned_data(name):
    measured = movement(name)
    assert measured == PINNED[name], f"{name}: measured {measured}, pinned {PINNED[name]}"


if __name__ == "__main__":
    for rule in learners.available():
        print(f"    {rule!r}: {movement(rule)},")
