"""validation_acc beside unseen_acc, and the optional pre-update accuracy log (eval_every)."""
import numpy as np
import pandas as pd
import pytest

import harness
import learners
from harness.training import accuracy, first_sweep_reaching


@pytest.fixture(scope="module")
def task():
    return harness.SequenceLookup()


def test_final_accuracies_on_their_parts(task):
    L = learners.get("bptt")()
    r = harness.train(L, task, seed=0, sweeps=15)
    vb, ub = task.validation_batch(), task.unseen_batch()
    assert r.validation_acc == accuracy(L.predict(r.state, vb), vb.targets)
    assert r.unseen_acc == accuracy(L.predict(r.state, ub), ub.targets)
    assert list(r.history.columns) == ["sweep", "loss", "train_acc", "test_acc"]   # default off


def test_logged_accuracy_is_the_final_accuracy_of_the_run_stopped_there(task):
    # accounting identity: the figure logged at sweep s is pre-update (weights after s-1 updates),
    # so it equals the final accuracy of the same run stopped after s-1 sweeps
    r = harness.train(learners.get("bptt")(), task, seed=1, sweeps=13, eval_every=4)
    h = r.history.set_index("sweep")
    logged = h["validation_acc"].dropna()
    assert list(logged.index) == [1, 5, 9, 13]
    assert h["unseen_acc"].dropna().index.equals(logged.index)
    assert h["validation_acc"].isna().sum() == 13 - 4
    for s in (5, 9, 13):
        stopped = harness.train(learners.get("bptt")(), task, seed=1, sweeps=s - 1)
        assert h.loc[s, "validation_acc"] == stopped.validation_acc
        assert h.loc[s, "unseen_acc"] == stopped.unseen_acc
    # the initial weights (sweep 1, no update yet) are scored too
    L = learners.get("bptt")()
    init = L.init(task, np.random.default_rng(1))
    vb = task.validation_batch()
    assert h.loc[1, "validation_acc"] == accuracy(L.predict(init, vb), vb.targets)


def test_logging_does_not_change_the_run(task):
    a = harness.train(learners.get("bptt")(), task, seed=2, sweeps=10)
    b = harness.train(learners.get("bptt")(), task, seed=2, sweeps=10, eval_every=1)
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k])
    assert a.history[["loss", "train_acc", "test_acc"]].equals(b.history[["loss", "train_acc",
                                                                           "test_acc"]])
    assert b.history["validation_acc"].notna().all()


def test_variable_timing_identity():
    task = harness.SequenceLookup(variable_timing=True)
    L = learners.get("bptt").for_task(task, n_hidden=8)
    r = harness.train(L, task, seed=0, sweeps=4, eval_every=3)
    stopped = harness.train(learners.get("bptt").for_task(task, n_hidden=8), task, seed=0, sweeps=3)
    assert r.history.set_index("sweep").loc[4, "validation_acc"] == stopped.validation_acc


def test_first_sweep_reaching():
    h = pd.DataFrame({"sweep": [1, 2, 3, 4, 5],
                      "validation_acc": [0.1, np.nan, 0.4, np.nan, 0.6]})
    assert first_sweep_reaching(h, "validation_acc", 0.4) == 3
    assert first_sweep_reaching(h, "validation_acc", 0.5) == 5
    assert first_sweep_reaching(h, "validation_acc", 0.7) is None       # censored
    # reached only by the final weights (after all 5 updates): sweep 6, the whole budget
    assert first_sweep_reaching(h, "validation_acc", 0.7, final=0.72) == 6
    assert first_sweep_reaching(h, "validation_acc", 0.7, final=0.69) is None
    assert first_sweep_reaching(h, "validation_acc", 0.7, final=0.7) == 6   # >=, as a logged sweep
    assert first_sweep_reaching(h, "validation_acc", 0.5, final=0.9) == 5
    with pytest.raises(ValueError, match="no column 'unseen_acc'.*eval_every"):
        first_sweep_reaching(h, "unseen_acc", 0.5)


def test_first_sweep_reaching_matches_converged_sweep(task):
    r = harness.train(learners.get("bptt")(), task, seed=0, sweeps=30)
    assert r.converged_sweep == 22
    assert first_sweep_reaching(r.history, "train_acc", harness.training.CONVERGED_ACC) == 22


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "5"])
def test_bad_eval_every(task, bad):
    with pytest.raises(ValueError, match="eval_every must be a positive integer or None"):
        harness.train(learners.get("bptt")(), task, sweeps=2, eval_every=bad)


def test_sweep_row_carries_validation_and_the_log(tmp_path):
    from harness.sweep import run_sweep
    spec = {"runner": "harness.sweep:train_run", "learner": "bptt", "seed": 0, "sweeps": 5,
            "task": {"dataset_seed": 1}, "eval_every": 2}
    row, = run_sweep([spec], tmp_path, workers=1, progress=False)
    assert row["error"] is None and 0 <= row["validation_acc"] <= 1
    assert row["history"]["validation_acc"][1] is None            # sweep 2: not logged
    again, = run_sweep([spec], tmp_path, workers=1, progress=False)  # resumed from the JSON
    assert again["history"] == row["history"]
    direct = harness.train(learners.get("bptt")(), harness.SequenceLookup(dataset_seed=1),
                           seed=0, sweeps=4)
    assert row["history"]["unseen_acc"][4] == direct.unseen_acc
