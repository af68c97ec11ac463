"""docs/adding_a_rule.md: the worked example, a rule outside the project, runs end to end."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import harness
import learners

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DIR = ROOT / "examples" / "my_rule"
DOC = ROOT / "docs" / "adding_a_rule.md"
RULE = "my_rules:ReadoutOnly"


@pytest.fixture
def example_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE_DIR))
    yield
    sys.modules.pop("my_rules", None)


def test_example_runs_through_the_main_study_by_dotted_path(tmp_path):
    """The documented command, with small --seeds/--sweeps, in a fresh process."""
    out = tmp_path / "out"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(EXAMPLE_DIR)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    proc = subprocess.run(
        [sys.executable, "-m", "studies.compare_learners", "--learners", f"{RULE},bptt",
         "--accuracy-only", "--seeds", "2", "--sweeps", "30", "--workers", "1", "--no-progress",
         "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(out / "results.csv")
    mine = df[df["learner"] == RULE]
    assert sorted(mine["seed"]) == [0, 1]
    assert mine["error"].isna().all(), mine["error"].tolist()
    assert mine["train_acc"].between(0, 1).all() and mine["unseen_acc"].between(0, 1).all()
    assert len(df[df["learner"] == "bptt"]) == 2
    summary = (out / "summary.md").read_text()
    assert f"| {RULE} | 2/2 |" in summary
    assert f"| {RULE} |" in proc.stdout                # the summary table is printed


def test_example_is_a_learner_that_trains_only_its_readout(example_on_path):
    cls = learners.get(RULE)
    assert issubclass(cls, learners.Learner) and cls.name == "readout_only"
    task = harness.SequenceLookup()
    init = cls().init(task, np.random.default_rng(0))
    r = harness.train(cls(), task, seed=0, sweeps=50)
    for k in ("W_xh", "W_hh", "b_h"):                  # the reservoir never changes
        assert np.array_equal(r.params[k], init[k]), k
    assert not np.array_equal(r.params["W_hy"], init["W_hy"])
    again = harness.train(cls(), task, seed=0, sweeps=50)
    assert all(np.array_equal(r.params[k], again.params[k]) for k in r.params)
    with pytest.raises(TypeError, match="window"):
        cls(window=3)
    with pytest.raises(ValueError, match="lr"):
        cls(lr=0)


def test_example_is_measurable_bit_identically(example_on_path):
    from harness.measure import measure_run
    cls = learners.get(RULE)
    task = harness.SequenceLookup()
    plain = harness.train(cls(), task, seed=0, sweeps=3)
    tracked, rep = measure_run(cls(), task, seed=0, sweeps=3)
    for k in plain.params:
        assert np.array_equal(plain.params[k], tracked.params[k]), k
    assert rep.reads > 0 and rep.bytedmd > 0


def test_doc_shows_the_example_file_verbatim():
    """The worked example in the doc is the file the test runs (no drift between the two)."""
    text = DOC.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    source = (EXAMPLE_DIR / "my_rules.py").read_text()
    assert source in blocks
    assert f"PYTHONPATH=examples/my_rule python -m studies.compare_learners" in text
    assert "RESULTS_PLACEHOLDER" not in text
