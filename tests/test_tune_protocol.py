"""studies.tune: the same search for every rule, scored on validation only; adopting the winners."""
import json

import learners
from studies import tune


def test_every_builtin_rule_gets_the_same_budget_with_the_leak_in_its_grid():
    for name in learners.available():
        space = tune.space_for(name)
        points = tune.trial_configs(space["grid"], space["budget"])
        assert len(points) == tune.BUDGET == 20, name
        assert {h["alpha"] for _, h in points} == {1.0, 0.3}, name
        cls = learners.get(name)
        for _, h in points:
            cls(**h)                       # every configuration is a valid one


def test_trials_are_scored_on_validation_and_adopted(tmp_path):
    tables = tune.tune(["bptt", "tbptt"], budget=2, seeds=[100], sweeps=3, workers=1,
                       out=tmp_path / "t", progress=False)
    assert set(tables) == {"bptt", "tbptt"}
    df = tables["bptt"]
    assert len(df) == 2 and "unseen_min" not in df and (df["score"] == df["validation_min"]).all()
    # the score is the validation accuracy of a plain run of that configuration
    import harness
    h = json.loads(df.iloc[0]["hyper"])
    r = harness.train(learners.get("bptt")(**h), seed=100, sweeps=3)
    assert df.iloc[0]["score"] == r.validation_acc
    path = tmp_path / "tuned.json"
    table = tune.adopt(tables, "docs/results/tune", path=path)
    assert json.loads(path.read_text()) == table
    assert table["bptt"]["hyper"] == h and table["bptt"]["trials"] == 2
