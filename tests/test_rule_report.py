"""studies.rule_report: rows for both networks and the leak's paired effect."""
import json

import pandas as pd

from studies import rule_report


def test_rows_pair_each_tuned_rule_with_the_other_network():
    rows = rule_report.row_specs(2, 5)
    labels = [r[0] for r in rows]
    for label, learner, hyper, what in rows:
        if what == "tuned":
            twin = [r for r in rows if r[0].startswith(f"{label}, alpha=")]
            assert len(twin) == 1
            assert twin[0][2]["alpha"] != hyper.get("alpha", 1.0)
            assert {k: v for k, v in twin[0][2].items() if k != "alpha"} == \
                {k: v for k, v in hyper.items() if k != "alpha"}
    assert "bptt, v1 configuration" in labels and "eprop, symmetric feedback" in labels


def test_leak_effect_states_a_direction_only_with_evidence():
    seeds = range(10)
    per_seed = pd.DataFrame(
        [{"rule": "r", "learner": "r", "seed": s, "unseen_acc": 0.6 + 0.01 * s, "error": None}
         for s in seeds]
        + [{"rule": "r, alpha=1", "learner": "r", "seed": s, "unseen_acc": 0.5 + 0.01 * s,
            "error": None} for s in seeds]
        + [{"rule": "q", "learner": "q", "seed": s, "unseen_acc": 0.5 + 0.01 * (s % 2),
            "error": None} for s in seeds]
        + [{"rule": "q, alpha=0.3", "learner": "q", "seed": s,
            "unseen_acc": 0.5 + 0.01 * ((s + 1) % 2), "error": None} for s in seeds])
    summary = pd.DataFrame([
        {"rule": "r", "learner": "r", "what": "tuned", "config": json.dumps({"alpha": 0.3})},
        {"rule": "r, alpha=1", "learner": "r", "what": "x", "config": json.dumps({"alpha": 1.0})},
        {"rule": "q", "learner": "q", "what": "tuned", "config": json.dumps({"alpha": 1.0})},
        {"rule": "q, alpha=0.3", "learner": "q", "what": "x", "config": json.dumps({"alpha": 0.3})}])
    out = rule_report.leak_effect(per_seed, summary)
    assert len(out) == 2
    assert out[0].startswith("- r:") and out[0].endswith("leaky > non-leaky.")
    assert "won/tied/lost 10/0/0" in out[0]
    assert out[1].startswith("- q:") and out[1].endswith("no detectable difference.")
