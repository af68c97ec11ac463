"""Every built-in credit-assignment rule over 10 seeds at its tuned configuration, on both
networks, beside the v1 BPTT configuration and the baselines.

    python -m studies.rule_report [--seeds 10] [--sweeps 800] [--workers 2]
                                  [--out results/rule_report]

Rows: each rule at its tuned configuration (learners/tuned.json, chosen by `python -m
studies.tune` on the validation split; tables in docs/results/tune/), the same configuration on
the other network (the leak alpha flipped between the tuned value and 1 = the v1 non-leaky
network, or 0.3 when the tuned one is non-leaky), the v1 BPTT configuration, and e-prop with
symmetric feedback (W_hy^T: weight transport, not local). For model seeds 0..N-1 on the default
task: train accuracy, held-out correct (of 5), validation and unseen accuracy (all-3-bit; unseen
= the reported part of the sequences outside the data set), the sweep of convergence (train
accuracy 20/20 before an update), as medians with min–max over seeds and the number of seeds
that converged; and, per rule, the leak's effect on unseen accuracy as a paired comparison over
seeds (Wilcoxon signed-rank, bootstrap interval of the median difference: harness.stats).

Runs go through harness.sweep.run_sweep: parallel, and resumable from `<out>/runs/` (one JSON
per finished run). The committed report is docs/results/rule_report/. Writes
`<out>/rule_report.csv` (one row per row: the summary), `<out>/rule_report_seeds.csv` (one row
per row and seed) and `<out>/rule_report.md` (the table and the sentences that read it), and
results.json (provenance), all atomically.
"""
from __future__ import annotations

import json
import sys
import time

import pandas as pd

from harness.io import atomic_write_csv, atomic_write_json, atomic_write_text
from harness.sweep import run_sweep
from studies.common import (cli, finish_args, learner_names, median_spread as _mm, positive_int, prepare_out,
                            provenance, remove_stale, report_written, study_parser)

STUDY = "rule_report"
DEFAULT_SEEDS = 10
DEFAULT_SWEEPS = 800
DEFAULTS = {"learners": None, "seeds": DEFAULT_SEEDS, "sweeps": DEFAULT_SWEEPS,
            "out": "results/rule_report"}
QUICK = {"seeds": 2, "sweeps": 30, "out": "results/rule_report_quick"}
OUTPUTS = ["rule_report.csv", "rule_report_seeds.csv", "rule_report.md", "results.json"]

# (label, learner, hyperparameters, what the row shows)
def row_specs(seeds: int, sweeps: int, names=None) -> list[tuple[str, str, dict, str]]:
    import learners
    rows = []
    for name in names or learners.available():
        try:
            tuned = learners.get(name).tuned_hyper()
        except LookupError:
            tuned = {}
        a = float(tuned.get("alpha", 1.0))
        other = 1.0 if a != 1.0 else 0.3
        rows.append((name, name, tuned, "tuned"))
        rows.append((f"{name}, alpha={other:g}", name, {**tuned, "alpha": other},
                     f"the tuned configuration on the {'v1 non-leaky' if other == 1.0 else 'leaky'}"
                     " network"))
    rows.append(("bptt, v1 configuration", "bptt", {}, "the v1 procedure's values"))
    if "eprop" in (names or learners.available()):
        tuned = next(h for label, n, h, w in rows if label == "eprop")
        rows.append(("eprop, symmetric feedback", "eprop", {**tuned, "feedback": "readout"},
                     "learning signal through W_hy^T: weight transport, not local"))
    return rows


def full_config(learner: str, hyper: dict) -> dict:
    """Every hyperparameter of the row: the learner's defaults updated by `hyper`."""
    import dataclasses
    import learners
    return dataclasses.asdict(learners.get(learner)(**hyper).config)


def build_specs(rows, seeds: int, sweeps: int) -> list[dict]:
    """Specs carry every hyperparameter explicitly, so that a changed default is a new run (the
    resumable cache is keyed by the spec), never a stale one."""
    return [{"runner": "harness.sweep:train_run", "learner": learner,
             "hyper": full_config(learner, hyper), "seed": s, "sweeps": sweeps, "task": {}}
            for _, learner, hyper, _ in rows for s in range(seeds)]


def summarize(rows, results: list[dict], seeds: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-seed frame, per-rule summary frame)."""
    recs = []
    for (label, learner, hyper, note), chunk in zip(rows, _chunks(results, seeds)):
        for r in chunk:
            recs.append({"rule": label, "learner": learner, "hyper": json.dumps(hyper, sort_keys=True),
                         "seed": r["seed"], "train_acc": r.get("train_acc"),
                         "heldout_of5": (None if r.get("test_acc") is None
                                         else int(round(r["test_acc"] * 5))),
                         "unseen_acc": r.get("unseen_acc"),
                         "validation_acc": r.get("validation_acc"),
                         "converged_sweep": r.get("converged_sweep"),
                         "baseline_unseen_acc": r.get("baseline_unseen_acc"),
                         "majority_unseen_acc": r.get("majority_unseen_acc"),
                         "wall_s": r.get("wall_s"), "error": r.get("error")})
    per_seed = pd.DataFrame(recs)
    per_seed["converged_sweep"] = pd.to_numeric(per_seed["converged_sweep"]).astype("Int64")
    summary = []
    for label, learner, hyper, note in rows:
        d = per_seed[(per_seed["rule"] == label)]
        ok = d[d["error"].isna()]
        conv = ok["converged_sweep"].dropna().astype(int)
        cfg = full_config(learner, hyper)
        summary.append({
            "rule": label, "learner": learner, "config": json.dumps(cfg, sort_keys=True),
            "what": note, "n_seeds": len(d), "n_failed": int(d["error"].notna().sum()),
            "train_acc_median": ok["train_acc"].median(), "train_acc_min": ok["train_acc"].min(),
            "train_acc_max": ok["train_acc"].max(),
            "heldout_of5_median": ok["heldout_of5"].median(),
            "heldout_of5_min": ok["heldout_of5"].min(), "heldout_of5_max": ok["heldout_of5"].max(),
            "validation_acc_median": ok["validation_acc"].median(),
            "unseen_acc_median": ok["unseen_acc"].median(),
            "unseen_acc_min": ok["unseen_acc"].min(), "unseen_acc_max": ok["unseen_acc"].max(),
            "converged_median": float(conv.median()) if len(conv) else None,
            "converged_min": int(conv.min()) if len(conv) else None,
            "converged_max": int(conv.max()) if len(conv) else None,
            "n_converged": int(len(conv)),
            "wall_s_median": ok["wall_s"].median(),
        })
    return per_seed, pd.DataFrame(summary)


def _chunks(seq, n):
    return [seq[i:i + n] for i in range(0, len(seq), n)]


MARGIN = 0.05     # "clearly above the constant code" on unseen


def verdict(s: pd.Series, baseline: float) -> str:
    """Does the rule learn the task at this size?
    "yes": fits the training set (20/20) on at least half the seeds and beats the best constant
    code on unseen by MARGIN on every seed; "no": its median unseen_acc is not MARGIN above the
    constant code; "partly": in between (it generalizes on most seeds but fits the training set
    on fewer than half, or some seed stays near the constant code)."""
    if s["n_seeds"] - s["n_failed"] == 0 or s["unseen_acc_median"] <= baseline + MARGIN:
        return "no"
    if 2 * s["n_converged"] >= s["n_seeds"] and s["unseen_acc_min"] > baseline + MARGIN:
        return "yes"
    return "partly"


def markdown(summary: pd.DataFrame, per_seed: pd.DataFrame, seeds: int, sweeps: int,
             command: str) -> str:
    base = float(per_seed["baseline_unseen_acc"].dropna().iloc[0])
    major = float(per_seed["majority_unseen_acc"].dropna().iloc[0])
    lines = [
        f"# Credit-assignment rules over {seeds} seeds, {sweeps} sweeps, default task",
        "",
        f"Produced by `{command}`. Medians [min–max] over model seeds 0–{seeds - 1}; each rule "
        "at its tuned configuration (the search of `python -m studies.tune`, scored on "
        "validation; tables in `docs/results/tune/tune_<rule>.csv`) and the same configuration "
        "on the other network (alpha flipped). Held-out: correct of 5. Unseen: the reported "
        "part of the sequences outside the data set. Converged: first sweep with 20/20 train "
        "before the update, median [min–max] over the seeds that converged.",
        "",
        "| rule | train acc | held-out /5 | validation acc | unseen acc | converged sweep "
        "| converged | learns? |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, s in summary.iterrows():
        lines.append(
            f"| {s['rule']} | {_mm(_col(per_seed, s, 'train_acc'), '{:.2f}')} "
            f"| {_mm(_col(per_seed, s, 'heldout_of5'), '{:.0f}')} "
            f"| {_mm(_col(per_seed, s, 'validation_acc'), '{:.3f}')} "
            f"| {_mm(_col(per_seed, s, 'unseen_acc'), '{:.3f}')} "
            f"| {_mm(_col(per_seed, s, 'converged_sweep'), '{:.0f}')} "
            f"| {s['n_converged']}/{s['n_seeds']} "
            f"| {_bold(verdict(s, base))} |")
    lines += [f"| constant-code baseline (best constant code, in hindsight) | | | | {base:.3f} | | | |",
              f"| majority training code | | | | {major:.3f} | | | |", ""]
    lines += ["Configurations (every hyperparameter):", ""]
    for _, s in summary.iterrows():
        lines.append(f"- **{s['rule']}**: `{s['config']}`" + (f" ({s['what']})" if s["what"] != "defaults" else ""))
    lines += ["", "## Reading", ""]
    lines += sentences(summary, base, sweeps, per_seed)
    failed = per_seed[per_seed["error"].notna()]
    if len(failed):
        lines += ["", "Failed runs:", ""] + [f"- {r.rule} seed {r.seed}: {r.error}"
                                               for r in failed.itertuples()]
    return "\n".join(lines) + "\n"


def _bold(v: str) -> str:
    return v if v == "yes" else f"**{v}**"


def _col(per_seed, s, col):
    d = per_seed[(per_seed["rule"] == s["rule"]) & per_seed["error"].isna()]
    return d[col].tolist()


def leak_effect(per_seed: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """Per rule: unseen accuracy on the leaky network against the non-leaky one (the tuned row and
    its alpha-flipped twin), paired over seeds, with the verdict it supports."""
    from harness import stats
    out = []
    rules = [r for _, r in summary.iterrows() if r["what"] == "tuned"]
    for r in rules:
        twin = summary[(summary["learner"] == r["learner"])
                       & summary["rule"].str.startswith(f"{r['rule']}, alpha=")]
        if twin.empty:
            continue
        t = twin.iloc[0]
        a, b = (per_seed[(per_seed["rule"] == lab) & per_seed["error"].isna()]
                .set_index("seed")["unseen_acc"] for lab in (r["rule"], t["rule"]))
        both = pd.concat([a, b], axis=1, keys=["x", "y"]).dropna()
        if len(both) < 2:
            continue
        leaky_first = json.loads(r["config"]).get("alpha", 1.0) != 1.0
        x, y = (both["x"], both["y"]) if leaky_first else (both["y"], both["x"])
        cmp = stats.paired_comparison(x.to_numpy(float), y.to_numpy(float))
        v = stats.verdict(cmp, names=("leaky", "non-leaky"))
        out.append(f"- {r['learner']}: unseen accuracy leaky - non-leaky, median paired difference "
                   f"{stats.fmt_ci(cmp.median_diff, cmp.ci_lo, cmp.ci_hi)} over {cmp.n} seeds, "
                   f"won/tied/lost {cmp.won}/{cmp.tied}/{cmp.lost}, Wilcoxon p = "
                   f"{cmp.p_value:.3g}: {v}.")
    return out


def sentences(summary: pd.DataFrame, base: float, sweeps: int, per_seed=None) -> list[str]:
    by = {r["rule"]: r for _, r in summary.iterrows()}
    out = []
    out.append(f"- learns? yes: 20/20 on the training set on at least half the seeds and unseen_acc "
               f"above the constant code + {MARGIN} ({base + MARGIN:.3f}) on every seed; no: median "
               f"unseen_acc not above that; partly: in between.")
    for r in by.values():
        v = verdict(r, base)
        if v == "yes":
            continue
        why = []
        if 2 * r["n_converged"] < r["n_seeds"]:
            why.append(f"it fits the training set on only {r['n_converged']}/{r['n_seeds']} seeds "
                       f"(median train accuracy {r['train_acc_median']:.2f})")
        if r["unseen_acc_min"] <= base + MARGIN:
            why.append(f"its worst seed scores {r['unseen_acc_min']:.3f} on unseen, near the "
                       f"constant code's {base:.3f}")
        out.append(f"- **{r['rule']}** {'does not learn' if v == 'no' else 'learns only partly'} "
                   f"at this size: median unseen_acc {r['unseen_acc_median']:.3f} "
                   f"[{r['unseen_acc_min']:.3f}–{r['unseen_acc_max']:.3f}]"
                   + (f"; {'; '.join(why)}" if why else "") + ".")
    tuned = [r for r in by.values() if r["what"] == "tuned"]
    if tuned and all(verdict(r, base) == "yes" for r in tuned):
        out.append("- Every built-in rule at its tuned configuration learns the task at this size.")
    if per_seed is not None:
        effect = leak_effect(per_seed, summary)
        if effect:
            out.append("- The leak (same configuration, alpha flipped), paired over seeds; a "
                       "direction only where p < 0.05 and the 95% interval excludes 0:")
            out += ["  " + e for e in effect]
    return out


def parse_args(argv=None):
    p = study_parser("python -m studies.rule_report", __doc__, DEFAULTS, QUICK,
                     measures=False)
    p.add_argument("--sweeps", type=positive_int, default=None,
                   help=f"sweeps per run (default {DEFAULT_SWEEPS}; --quick {QUICK['sweeps']})")
    a = finish_args(p, argv, DEFAULTS, QUICK)
    if a.hyper:
        p.error("--hyper does not apply to rule_report: it reports every rule at its tuned "
                "configuration (use compare_learners --hyper)")
    return a


def main(argv=None) -> int:
    return cli(_main, argv)


def _main(argv) -> int:
    t0 = time.perf_counter()
    a = parse_args(argv)
    out = prepare_out(a.out, STUDY, a.force)
    rows = row_specs(a.seeds, a.sweeps, learner_names(a.learners))
    specs = build_specs(rows, a.seeds, a.sweeps)
    print(f"rule_report: {len(rows)} rules x {a.seeds} seeds, {a.sweeps} sweeps each",
          file=sys.stderr)
    # the costliest runs first, so the pool's last runs are short ones
    order = sorted(range(len(specs)), key=lambda i: specs[i]["learner"] not in ("rtrl", "node_perturbation"))
    done = run_sweep([specs[i] for i in order], out, workers=a.workers, backend=a.backend,
                     progress=not a.no_progress, desc="rule report", run_timeout=a.run_timeout)
    results = [None] * len(specs)
    for i, r in zip(order, done):
        results[i] = r
    per_seed, summary = summarize(rows, results, a.seeds)
    command = "python -m studies.rule_report" + (f" --learners {a.learners}" if a.learners else "") \
        + (f" --seeds {a.seeds}" if a.seeds != DEFAULT_SEEDS else "") \
        + (f" --sweeps {a.sweeps}" if a.sweeps != DEFAULT_SWEEPS else "")
    atomic_write_csv(out / "rule_report.csv", summary)
    atomic_write_csv(out / "rule_report_seeds.csv", per_seed)
    md = markdown(summary, per_seed, a.seeds, a.sweeps, command)
    atomic_write_text(out / "rule_report.md", md)
    names = sorted({learner for _, learner, _, _ in rows})
    atomic_write_json(out / "results.json", provenance(STUDY, vars(a), names,
                                                       wall_s=time.perf_counter() - t0))
    remove_stale(out, OUTPUTS, OUTPUTS)
    print(md)
    report_written(out, OUTPUTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
