"""How the data movement of each credit-assignment rule grows with the sequence length T.

    python -m studies.scaling [--learners bptt,rtrl] [--lengths 5,10,20,40,80] [--hidden 30,60]
                              [--seeds 3] [--sweeps 800] [--max-reads 1e8]
                              [--max-train-reads 2e11] [--out results/scaling] [--workers 2]
                              [--backend local|ray] [--quick]

For every learner, hidden size H and sequence length T (fixed timing, SequenceLookup(length=T)):

- ByteDMD of one update (harness.measure.measure_update, warm after 3 sweeps, reuse=False),
  with its reads and the forward / credit / update split;
- plain training runs (harness.train, --seeds seeds, --sweeps sweeps): train / held-out /
  unseen accuracy (unseen is a fixed 10,000-sequence sample when T >= 8);
- peak heap memory (memray): of the plain training run (seed 0) when training is affordable,
  otherwise of one plain update; the column `peak_memory_of` says which. The one-update peak
  (the learner's own allocations, without the harness's evaluation) is also kept for every
  affordable point: `peak_memory_update_bytes`.

Each (learner, H, T) measurement and each training seed is one spec of harness.sweep.run_sweep
(parallel, resumable from --out/runs/, failure-tolerant).

Affordability. Before anything is measured, the reads of one tracked update are estimated. Tiny
probes (T = 2, 3 at H = 8, 16) give, per learner, reads(T, H) = a(H) + b(H) T with a and b power
laws in H; once a (learner, H) has measured points, its estimate at the next T is extrapolated
linearly in T from them (lengths are processed in increasing order). A measurement whose
estimated reads exceed --max-reads (tracked, about 0.4 us and 30 bytes each) is skipped, and so
is training whose estimated reads (per update x sweeps) exceed --max-train-reads; skipped points
are recorded with the reason. `est_reads` sits next to the measured `reads` in scaling.csv so
the estimate can be checked.

Outputs in --out: scaling.csv (one row per learner, H, T), scaling_fits.csv (growth exponent of
ByteDMD per update in T per learner and H, fit_power_law; the T at which each rule's cost drops
below BPTT's at the same H, crossing_point), summary.md, scaling.png, results.json (config, git
commit, package versions, wall time), runs/.
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import math
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from harness.io import atomic_write_bytes, atomic_write_csv, atomic_write_json, atomic_write_text
from harness.sweep import run_sweep
from harness.training import run_update

DEFAULT_OUT = "results/scaling"
DEFAULT_LENGTHS = (5, 10, 20, 40, 80)
DEFAULT_HIDDEN = (30, 60)
DEFAULT_SEEDS = 3
DEFAULT_MAX_READS = 1e8          # tracked reads of one measured update (~40 s, ~3 GB)
DEFAULT_MAX_TRAIN_READS = 3e11   # estimated reads of one plain training run (~4e9 plain reads/s)
PROBE_LENGTHS = (2, 3)
PROBE_HIDDEN = (8, 16)
WARM_SWEEPS = 3
REFERENCE = "bptt"
MIN_EXPONENT_GAP = 0.05          # exponents closer than this are treated as equal (no extrapolated crossing)
QUICK = {"lengths": (5, 10, 20), "hidden": (30,), "seeds": 1, "sweeps": 60,
         "max_reads": 2e7, "max_train_reads": 1e10}

CSV_COLUMNS = ["learner", "n_hidden", "T", "status", "est_reads", "reads", "writes", "bytedmd",
               "bytedmd_forward", "bytedmd_credit", "bytedmd_update", "peak_memory_bytes",
               "peak_memory_of", "peak_memory_update_bytes", "train_runs", "train_ok",
               "train_acc", "test_acc",
               "unseen_acc", "unseen_acc_min", "unseen_acc_max", "converged_runs",
               "converged_sweep", "baseline_unseen_acc", "unseen_is_sample", "sweeps",
               "skip_reason", "error"]
FIT_COLUMNS = ["learner", "n_hidden", "points", "T_min", "T_max", "exponent", "coef", "r2",
               "update_memory_exponent", "memory_points", "crossing_T", "crossing_T_extrapolated",
               "crossing_note"]


# ---- runners (executed by harness.sweep in worker processes) ---------------------------------

def _one_plain_update(learner, task, seed):
    state = learner.init(task, np.random.default_rng(seed))
    timing_rng = task.timing_rng(seed) if task.variable_timing else None
    new_state, _ = run_update(learner, state, task.train_batch(timing_rng))
    return None


def measure_point(spec: dict) -> dict:
    """One (learner, H, T): ByteDMD of one warm update (spec["bytedmd"], default True) and,
    with spec["memory"] == "update", the memray peak of one plain update. Units: ByteDMD cost
    units; reads and writes in elements; memory in bytes."""
    from harness.measure import measure_update, peak_memory_bytes
    from harness.sweep import make_learner, make_task
    task = make_task(spec.get("task"))
    seed = spec.get("seed", 0)
    out = {}
    t0 = time.perf_counter()
    if spec.get("bytedmd", True):
        rep = measure_update(make_learner(spec, task), task, seed=seed,
                             warm_sweeps=spec.get("warm_sweeps", WARM_SWEEPS), reuse=False)
        phase = dict(zip(rep.by_phase["phase"], rep.by_phase["bytedmd"]))
        out.update(bytedmd=int(rep.bytedmd), reads=int(rep.reads), writes=int(rep.writes),
                   read_bytes=int(rep.read_bytes), escapes=int(rep.escapes),
                   bytedmd_forward=int(phase.get("forward", 0)),
                   bytedmd_credit=int(phase.get("credit", 0)),
                   bytedmd_update=int(phase.get("update", 0)))
    if spec.get("memory") == "update":
        peak, _ = peak_memory_bytes(_one_plain_update, make_learner(spec, task), task, seed)
        out["peak_memory_bytes"] = int(peak)
    out["wall_s"] = time.perf_counter() - t0
    return out


def train_point(spec: dict) -> dict:
    """One plain training run (harness.sweep.train_run) under memray: accuracies, convergence
    and its peak heap memory in bytes. The per-sweep history is dropped."""
    from harness.measure import peak_memory_bytes
    from harness.sweep import make_task, train_run
    peak, row = peak_memory_bytes(train_run, spec)
    row.pop("history", None)
    row["peak_memory_bytes"] = int(peak)
    row["unseen_is_sample"] = bool(make_task(spec.get("task")).unseen_is_sample)
    return row


# ---- read estimates ---------------------------------------------------------------------------

def _power(h, v_lo, v_hi, h_lo, h_hi):
    """v(h) from two points, as a power law when both are positive, else linear in h."""
    if v_lo > 0 and v_hi > 0:
        k = math.log(v_hi / v_lo) / math.log(h_hi / h_lo)
        return v_hi * (h / h_hi) ** k
    return v_hi + (v_hi - v_lo) / (h_hi - h_lo) * (h - h_hi)


def probe_model(probe_reads: dict):
    """From {(T, H): reads} at PROBE_LENGTHS x PROBE_HIDDEN, a function est(T, H): reads =
    a(H) + b(H) T, with a and b power laws in H through the two probe sizes."""
    (t0, t1), (h0, h1) = PROBE_LENGTHS, PROBE_HIDDEN
    ab = {}
    for h in (h0, h1):
        b = (probe_reads[(t1, h)] - probe_reads[(t0, h)]) / (t1 - t0)
        ab[h] = (probe_reads[(t0, h)] - b * t0, b)

    def est(T, H):
        a = _power(H, ab[h0][0], ab[h1][0], h0, h1)
        b = _power(H, ab[h0][1], ab[h1][1], h0, h1)
        return max(a + b * T, 1.0)
    return est


def estimate_reads(T: int, measured: list[tuple[int, int]], model, H: int) -> float:
    """Reads of one update at length T: linear in T through the two largest measured lengths
    below T; proportional to T from a single one (an over-estimate when the T-independent part
    is positive); else the probe model."""
    pts = sorted((t, r) for t, r in measured if t < T)
    if len(pts) >= 2:
        (ta, ra), (tb, rb) = pts[-2], pts[-1]
        return float(max(rb + (rb - ra) / (tb - ta) * (T - tb), rb))
    if len(pts) == 1:
        t1, r1 = pts[0]
        return float(r1 * T / t1)
    return float(model(T, H))


# ---- the study --------------------------------------------------------------------------------

def _csv_ints(s):
    return tuple(int(v) for v in str(s).split(",") if v.strip())


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m studies.scaling", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--learners", default=None,
                   help="comma-separated learner names or 'module:Class' paths (default: all built-in)")
    p.add_argument("--lengths", type=_csv_ints, default=None,
                   help="sequence lengths T (default %s)" % ",".join(map(str, DEFAULT_LENGTHS)))
    p.add_argument("--hidden", type=_csv_ints, default=None,
                   help="hidden sizes (default %s)" % ",".join(map(str, DEFAULT_HIDDEN)))
    p.add_argument("--seeds", type=int, default=None, help=f"training seeds 0..N-1 (default {DEFAULT_SEEDS})")
    p.add_argument("--sweeps", type=int, default=None, help="sweeps per training run (default 800)")
    p.add_argument("--max-reads", type=float, default=None,
                   help=f"skip a ByteDMD measurement estimated above this many tracked reads "
                        f"(default {DEFAULT_MAX_READS:.0e})")
    p.add_argument("--max-train-reads", type=float, default=None,
                   help=f"skip training estimated above this many reads (per update x sweeps; "
                        f"default {DEFAULT_MAX_TRAIN_READS:.0e})")
    p.add_argument("--out", default=DEFAULT_OUT, help="output folder (default %(default)s)")
    p.add_argument("--workers", type=int, default=None, help="parallel processes (default: all cores)")
    p.add_argument("--backend", default="local", choices=["local", "ray"])
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--quick", action="store_true",
                   help="T = 5,10,20, hidden 30, 1 seed, 60 sweeps, small budgets (for tests)")
    args = p.parse_args(argv)
    defaults = dict(lengths=DEFAULT_LENGTHS, hidden=DEFAULT_HIDDEN, seeds=DEFAULT_SEEDS,
                    sweeps=None, max_reads=DEFAULT_MAX_READS,
                    max_train_reads=DEFAULT_MAX_TRAIN_READS)
    if args.quick:
        defaults.update(QUICK)
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    args.lengths, args.hidden = tuple(sorted(set(args.lengths))), tuple(sorted(set(args.hidden)))
    if not args.lengths or min(args.lengths) < 2:
        p.error("--lengths: every T must be >= 2 (the task needs 25 distinct sequences)")
    if not args.hidden or min(args.hidden) < 1 or args.seeds < 0:
        p.error("--hidden must be positive and --seeds >= 0")
    return args


def learner_names(arg):
    import learners
    names = learners.available() if not arg else [n.strip() for n in arg.split(",") if n.strip()]
    for n in names:
        try:
            learners.get(n)
        except ValueError as e:
            raise SystemExit(str(e)) from e
    return names


def has_n_hidden(name: str) -> bool:
    import learners
    cls = learners.get(name)
    return any(f.name == "n_hidden" for f in dataclasses.fields(cls.Config))


def _spec(runner, name, H, T, **extra):
    return {"runner": f"studies.scaling:{runner}", "learner": name, "hyper": {"n_hidden": H},
            "task": {"length": T}, "seed": 0, **extra}


def _short(err: str | None) -> str | None:
    return None if err is None else str(err).splitlines()[0][:300]


def run_study(args, names) -> tuple[pd.DataFrame, dict]:
    out = Path(args.out)
    sweeps = args.sweeps
    from harness.training import DEFAULT_SWEEPS_FIXED
    n_sweeps = sweeps or DEFAULT_SWEEPS_FIXED
    sweep_kw = dict(workers=args.workers, backend=args.backend, progress=not args.no_progress)
    points = {}          # (name, H, T) -> row dict
    usable = [n for n in names if has_n_hidden(n)]
    for n in names:
        if n not in usable:
            for H in args.hidden:
                for T in args.lengths:
                    points[(n, H, T)] = {"status": "skipped", "skip_reason":
                                         "the learner's Config has no n_hidden hyperparameter"}

    # 1. probes: tiny tracked updates from which the first reads estimates come
    probe_specs = [_spec("measure_point", n, h, t, warm_sweeps=WARM_SWEEPS, probe=True)
                   for n in usable for h in PROBE_HIDDEN for t in PROBE_LENGTHS]
    probe_rows = run_sweep(probe_specs, out, desc="scaling probes", **sweep_kw) if probe_specs else []
    models, probe_error = {}, {}
    for n in usable:
        rs = [(s, r) for s, r in zip(probe_specs, probe_rows) if s["learner"] == n]
        bad = [r for _, r in rs if r.get("error")]
        if bad:
            probe_error[n] = _short(bad[0]["error"])
        else:
            models[n] = probe_model({(s["task"]["length"], s["hyper"]["n_hidden"]): r["reads"]
                                     for s, r in rs})

    # 2. lengths in increasing order, so each estimate can lean on the measured shorter ones
    measured: dict[tuple, list] = {}
    train_rows: dict[tuple, list] = {}
    for T in args.lengths:
        specs, plan = [], []
        for n in usable:
            for H in args.hidden:
                key = (n, H, T)
                if n in probe_error:
                    points[key] = {"status": "failed", "error": f"probe failed: {probe_error[n]}"}
                    continue
                est = estimate_reads(T, measured.get((n, H), []), models[n], H)
                row = {"est_reads": est, "sweeps": n_sweeps}
                reasons = []
                do_bytedmd = est <= args.max_reads
                if not do_bytedmd:
                    reasons.append(f"ByteDMD not measured: estimated {est:.2g} reads per update "
                                   f"> --max-reads {args.max_reads:.2g}")
                do_train = args.seeds > 0 and est * n_sweeps <= args.max_train_reads
                if args.seeds > 0 and not do_train:
                    reasons.append(f"not trained: estimated {est * n_sweeps:.2g} reads for "
                                   f"{n_sweeps} sweeps > --max-train-reads {args.max_train_reads:.2g}")
                mem_update = est <= args.max_train_reads
                if not mem_update:
                    reasons.append("peak memory not measured: one plain update estimated above "
                                   "--max-train-reads")
                row["skip_reason"] = "; ".join(reasons) or None
                row["peak_memory_of"] = (f"plain training run ({n_sweeps} sweeps, seed 0)"
                                         if do_train else "one plain update" if mem_update else None)
                points[key] = row
                if do_bytedmd or mem_update:
                    specs.append(_spec("measure_point", n, H, T, warm_sweeps=WARM_SWEEPS,
                                       bytedmd=do_bytedmd,
                                       memory="update" if mem_update else None))
                    plan.append(("measure", key, est))
                if do_train:
                    for s in range(args.seeds):
                        sp = _spec("train_point", n, H, T, sweeps=sweeps)
                        sp["seed"] = s
                        specs.append(sp)
                        plan.append(("train", key, est * n_sweeps / 3e3))
        if not specs:
            continue
        order = sorted(range(len(specs)), key=lambda i: -plan[i][2])   # longest first
        rows = run_sweep([specs[i] for i in order], out, desc=f"scaling T={T}", **sweep_kw)
        for i, r in zip(order, rows):
            kind, key, _ = plan[i]
            row = points[key]
            if kind == "train":
                train_rows.setdefault(key, []).append(r)
                continue
            if r.get("error"):
                row["error"] = f"measurement failed: {_short(r['error'])}"
                row["measure_failed"] = True
                continue
            for c in ("reads", "writes", "bytedmd", "bytedmd_forward", "bytedmd_credit",
                      "bytedmd_update"):
                if c in r:
                    row[c] = r[c]
            if "peak_memory_bytes" in r:
                row["peak_memory_update_bytes"] = r["peak_memory_bytes"]
                if not str(row.get("peak_memory_of")).startswith("plain training"):
                    row["peak_memory_bytes"] = r["peak_memory_bytes"]
            if r.get("reads") is not None:
                measured.setdefault(key[:2], []).append((T, int(r["reads"])))

    # 3. one row per point
    recs = []
    for (n, H, T), row in points.items():
        rec = {"learner": n, "n_hidden": H, "T": T, **row}
        trs = train_rows.get((n, H, T), [])
        ok = [r for r in trs if not r.get("error")]
        rec["train_runs"], rec["train_ok"] = len(trs), len(ok)
        if ok:
            un = [r["unseen_acc"] for r in ok]
            conv = [r["converged_sweep"] for r in ok if r.get("converged_sweep") is not None]
            rec.update(train_acc=float(np.median([r["train_acc"] for r in ok])),
                       test_acc=float(np.median([r["test_acc"] for r in ok])),
                       unseen_acc=float(np.median(un)), unseen_acc_min=float(min(un)),
                       unseen_acc_max=float(max(un)), converged_runs=len(conv),
                       converged_sweep=float(np.median(conv)) if conv else None,
                       baseline_unseen_acc=ok[0]["baseline_unseen_acc"],
                       unseen_is_sample=ok[0].get("unseen_is_sample"))
            seed0 = [r for r in ok if r.get("seed") == 0] or ok
            rec["peak_memory_bytes"] = seed0[0]["peak_memory_bytes"]
        elif str(rec.get("peak_memory_of")).startswith("plain training"):
            # every training run failed: fall back to the one-update peak
            rec["peak_memory_bytes"] = rec.get("peak_memory_update_bytes")
            rec["peak_memory_of"] = ("one plain update" if rec.get("peak_memory_update_bytes")
                                     is not None else None)
        bad = [r for r in trs if r.get("error")]
        if bad:
            msg = f"training failed ({len(bad)}/{len(trs)} seeds): {_short(bad[0]['error'])}"
            rec["error"] = f"{rec['error']}; {msg}" if rec.get("error") else msg
        if rec.get("status") is None:          # the status of the ByteDMD measurement
            rec["status"] = ("measured" if rec.get("bytedmd") is not None
                             else "failed" if rec.pop("measure_failed", False) else "skipped")
        rec.pop("measure_failed", None)
        recs.append(rec)
    df = pd.DataFrame(recs, columns=CSV_COLUMNS)
    df = df.sort_values(["learner", "n_hidden", "T"], kind="stable").reset_index(drop=True)
    for c in ("est_reads", "reads", "writes", "bytedmd", "bytedmd_forward", "bytedmd_credit",
              "bytedmd_update", "peak_memory_bytes", "peak_memory_update_bytes", "train_runs", "train_ok", "converged_runs"):
        df[c] = pd.to_numeric(df[c], errors="coerce").round().astype("Int64")
    return df, {"probe_errors": probe_error}


# ---- fits, crossings --------------------------------------------------------------------------

def fits_frame(df: pd.DataFrame, reference: str = REFERENCE) -> pd.DataFrame:
    """Per learner and H: the power-law exponent of ByteDMD per update in T (and of the peak
    heap memory of one plain update), and where the rule's cost first
    drops below the reference's at the same H: measured (crossing_point over the lengths both
    measured) and extrapolated from the two fitted power laws."""
    from studies.analysis import crossing_point, fit_power_law
    recs = []
    fits = {}
    for (n, H), g in df.groupby(["learner", "n_hidden"], sort=True):
        m = g[g["bytedmd"].notna()]
        rec = {"learner": n, "n_hidden": int(H), "points": len(m)}
        if len(m):
            rec.update(T_min=int(m["T"].min()), T_max=int(m["T"].max()))
        if m["T"].nunique() >= 2:
            f = fit_power_law(m["T"].astype(float), m["bytedmd"].astype(float))
            rec.update(exponent=f["exponent"], coef=f["coef"], r2=f["r2"])
            fits[(n, H)] = f
        mem = g[g["peak_memory_update_bytes"].notna()]
        rec["memory_points"] = len(mem)
        if mem["T"].nunique() >= 2:
            rec["update_memory_exponent"] = fit_power_law(
                mem["T"].astype(float), mem["peak_memory_update_bytes"].astype(float))["exponent"]
        recs.append(rec)
    for rec in recs:
        n, H = rec["learner"], rec["n_hidden"]
        if n == reference:
            rec["crossing_note"] = "reference"
            continue
        ref = df[(df["learner"] == reference) & (df["n_hidden"] == H) & df["bytedmd"].notna()]
        mine = df[(df["learner"] == n) & (df["n_hidden"] == H) & df["bytedmd"].notna()]
        both = mine.merge(ref, on="T", suffixes=("", "_ref"))
        if ref.empty:
            rec["crossing_note"] = f"no {reference} points at this H"
            continue
        if both.empty:
            rec["crossing_note"] = f"no length measured for both this rule and {reference}"
        else:
            x, a, b = (both["T"].astype(float).to_numpy(), both["bytedmd"].astype(float).to_numpy(),
                       both["bytedmd_ref"].astype(float).to_numpy())
            c = crossing_point(x, a, b)
            lo, hi = int(x.min()), int(x.max())
            if c is None:
                ratio = a[np.argmax(x)] / b[np.argmax(x)]
                rec["crossing_note"] = (f"not below {reference} at any measured T in [{lo}, {hi}] "
                                        f"({ratio:.3g}x {reference} at T={hi})")
            elif c == x.min() and a[np.argmin(x)] < b[np.argmin(x)]:
                rec["crossing_T"] = c
                rec["crossing_note"] = f"already below {reference} at the smallest common T={lo}"
            else:
                rec["crossing_T"] = c
                rec["crossing_note"] = f"drops below {reference} at T = {c:.3g} (measured)"
        fr, fm = fits.get((reference, H)), fits.get((n, H))
        if fr and fm and pd.isna(rec.get("crossing_T")):
            gap = fr["exponent"] - fm["exponent"]
            if gap > MIN_EXPONENT_GAP:
                tx = (fm["coef"] / fr["coef"]) ** (1.0 / gap)
                rec["crossing_T_extrapolated"] = tx
                rec["crossing_note"] += (f"; the fits (exponent {fm['exponent']:.2f} vs "
                                         f"{fr['exponent']:.2f}) cross at T ≈ {tx:.3g}")
            else:
                rec["crossing_note"] += (f"; exponent {fm['exponent']:.2f} is not below "
                                         f"{reference}'s {fr['exponent']:.2f} by more than "
                                         f"{MIN_EXPONENT_GAP}: no crossing expected at larger T")
    return pd.DataFrame(recs, columns=FIT_COLUMNS)


# ---- tables and the figure --------------------------------------------------------------------

def _g(v, fmt="{:.3g}"):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "–"
    return fmt.format(float(v))


def summary_markdown(df: pd.DataFrame, fits: pd.DataFrame, args, wall_s: float | None) -> str:
    Ts = list(args.lengths)
    lines = ["# Scaling with sequence length: data movement per update vs T", "",
             f"Fixed-timing SequenceLookup(length=T); hidden sizes {', '.join(map(str, args.hidden))}; "
             f"ByteDMD of one update after {WARM_SWEEPS} warm sweeps (cost units, "
             f"COST_MODEL.md section 1); budgets: --max-reads {args.max_reads:.2g} tracked reads per "
             f"measured update, --max-train-reads {args.max_train_reads:.2g}. "
             f"'skip' = estimated over budget (reason in scaling.csv and below).", "",
             "## ByteDMD per update", "",
             "| learner | H | " + " | ".join(f"T={t}" for t in Ts) + " |",
             "|---|---|" + "---|" * len(Ts)]
    for (n, H), g in df.groupby(["learner", "n_hidden"], sort=True):
        cells = []
        for t in Ts:
            r = g[g["T"] == t]
            if r.empty:
                cells.append("")
                continue
            r = r.iloc[0]
            cells.append(_g(r["bytedmd"]) if pd.notna(r["bytedmd"]) else
                         ("failed" if r["status"] == "failed" else "skip"))
        lines.append(f"| {n} | {H} | " + " | ".join(cells) + " |")
    lines += ["", "## Growth in T and crossings below BPTT", "",
              "Exponent k of ByteDMD per update ~ c T^k (least squares in log-log over the measured "
              "lengths); update-memory exponent: the same for the peak heap memory of one plain update.", "",
              "| learner | H | points | T range | exponent k | r² | update-memory exponent | "
              "crossing T (measured) | crossing T (extrapolated from fits) | note |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for _, f in fits.iterrows():
        rng = f"{f['T_min']:.0f}–{f['T_max']:.0f}" if pd.notna(f["T_min"]) else "–"
        lines.append(f"| {f['learner']} | {f['n_hidden']} | {f['points']} | {rng} | "
                     f"{_g(f['exponent'], '{:.2f}')} | {_g(f['r2'], '{:.3f}')} | "
                     f"{_g(f['update_memory_exponent'], '{:.2f}')} | {_g(f['crossing_T'])} | "
                     f"{_g(f['crossing_T_extrapolated'])} | {f['crossing_note'] if isinstance(f['crossing_note'], str) else ''} |")
    lines += ["", "## Accuracy and memory", "",
              "Medians over the training seeds ([min–max] for unseen). Unseen: every sequence "
              "outside the data set for T < 8, a fixed sample of 10,000 for T >= 8; baseline: the best "
              "constant code on unseen. Peak memory: memray heap peak of the plain training run "
              "(seed 0; it includes the harness's evaluation on the whole unseen split at once) "
              "or, where training is over budget, of one plain update (column 'memory of'); "
              "'update peak' is always the one-update peak (the learner's own allocations).", "",
              "| learner | H | T | runs ok | train acc | held-out acc | unseen acc | baseline unseen | "
              "converged runs | peak memory (MiB) | memory of | update peak (MiB) |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in df.iterrows():
        un = (f"{_g(r['unseen_acc'])} [{_g(r['unseen_acc_min'])}–{_g(r['unseen_acc_max'])}]"
              if pd.notna(r["unseen_acc"]) else "–")
        mem = _g(r["peak_memory_bytes"] / 2**20, "{:.1f}") if pd.notna(r["peak_memory_bytes"]) else "–"
        conv = f"{r['converged_runs']}/{r['train_ok']}" if pd.notna(r["unseen_acc"]) else "–"
        upd = (_g(r["peak_memory_update_bytes"] / 2**20, "{:.2f}")
               if pd.notna(r["peak_memory_update_bytes"]) else "–")
        lines.append(f"| {r['learner']} | {r['n_hidden']} | {r['T']} | "
                     f"{r['train_ok']}/{r['train_runs']} | {_g(r['train_acc'])} | "
                     f"{_g(r['test_acc'])} | {un} | {_g(r['baseline_unseen_acc'])} | {conv} | "
                     f"{mem} | {r['peak_memory_of'] if isinstance(r['peak_memory_of'], str) else '–'} | "
                     f"{upd} |")
    skipped = df[df["skip_reason"].notna()]
    if len(skipped):
        lines += ["", "## Skipped (estimated over budget)", ""]
        for _, r in skipped.iterrows():
            lines.append(f"- {r['learner']} H={r['n_hidden']} T={r['T']}: {r['skip_reason']}")
    failed = df[df["error"].notna()]
    if len(failed):
        lines += ["", "## Failures", ""]
        for _, r in failed.iterrows():
            lines.append(f"- {r['learner']} H={r['n_hidden']} T={r['T']}: {r['error']}")
    if wall_s is not None:
        lines += ["", f"Wall time of this invocation: {wall_s:.0f} s "
                      "(finished points were resumed from runs/, not redone)."]
    return "\n".join(lines) + "\n"


def plot_message(fits: pd.DataFrame) -> str:
    ok = fits[fits["exponent"].notna()]
    if ok.empty:
        return "ByteDMD per update vs sequence length"
    ks = ok["exponent"]
    head = (f"ByteDMD per update grows as $T^{{{ks.min():.2f}}}$ to $T^{{{ks.max():.2f}}}$"
            if ks.max() - ks.min() > 0.05 else f"ByteDMD per update grows as $T^{{{ks.mean():.2f}}}$")
    below = fits[fits["crossing_T"].notna()]
    if len(below):
        b = below.sort_values("crossing_T").iloc[0]
        if str(b["crossing_note"]).startswith("already below"):
            tail = (f";\n{b['learner']} (H={b['n_hidden']}) costs less than {REFERENCE} at every "
                    f"measured T")
        else:
            tail = (f";\n{b['learner']} (H={b['n_hidden']}) drops below {REFERENCE} at "
                    f"T ≈ {b['crossing_T']:.3g}")
    elif (fits["learner"] == REFERENCE).any() and (fits["learner"] != REFERENCE).any():
        tail = f";\nno rule drops below {REFERENCE} in the measured range"
    else:
        tail = ""
    return head + tail


def plot_scaling(df: pd.DataFrame, fits: pd.DataFrame, path):
    """Log-log ByteDMD per update vs T: one colour per learner, one marker per hidden size."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    names = sorted(df["learner"].unique())
    hidden = sorted(df["n_hidden"].unique())
    cmap = plt.get_cmap("tab10")
    colors = {n: cmap(i % 10) for i, n in enumerate(names)}
    markers = dict(zip(hidden, ["o", "s", "^", "D", "v", "P"]))
    styles = dict(zip(hidden, ["-", "--", ":", "-."] * 2))
    fig, ax = plt.subplots(figsize=(7.0, 4.8))
    for (n, H), g in df[df["bytedmd"].notna()].groupby(["learner", "n_hidden"]):
        g = g.sort_values("T")
        ax.plot(g["T"].astype(float), g["bytedmd"].astype(float), color=colors[n],
                marker=markers[H], linestyle=styles[H], linewidth=1.4, markersize=5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    Ts = sorted(df["T"].unique())
    ax.set_xticks(Ts)
    ax.set_xticklabels([str(t) for t in Ts])
    ax.minorticks_off()
    ax.set_xlabel("sequence length T (time steps per sequence)")
    ax.set_ylabel("ByteDMD per update (cost units: Σ ⌈√depth⌉ per byte read)")
    ax.set_title(plot_message(fits), fontsize=9.5)
    ax.grid(True, which="major", alpha=0.3)
    measured = set(df.loc[df["bytedmd"].notna(), "learner"])
    handles = [Line2D([], [], color=colors[n], linewidth=2,
                      label=n if n in measured else f"{n} (no point within budget)")
               for n in names]
    handles += [Line2D([], [], color="0.3", marker=markers[H], linestyle=styles[H],
                       label=f"H = {H} hidden units") for H in hidden]
    ax.legend(handles=handles, fontsize=8, loc="upper left", frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def provenance(args, names, wall_s) -> dict:
    import importlib.metadata as md
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parent.parent).stdout.strip() or None
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True,
                               cwd=Path(__file__).resolve().parent.parent).stdout.strip() != ""
    except OSError:
        commit, dirty = None, None
    versions = {}
    for pkg in ("numpy", "numba", "pandas", "matplotlib", "memray", "ray"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    config = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()}
    config.update(learners=names, warm_sweeps=WARM_SWEEPS, probe_lengths=list(PROBE_LENGTHS),
                  probe_hidden=list(PROBE_HIDDEN), reference=REFERENCE)
    return {"config": config, "git_commit": commit, "git_dirty": dirty,
            "python": platform.python_version(), "packages": versions, "wall_s": wall_s,
            "command": " ".join(["python -m studies.scaling"] + (sys.argv[1:] if __name__ == "__main__" else []))}


def main(argv=None):
    t0 = time.perf_counter()
    args = parse_args(argv)
    names = learner_names(args.learners)
    out = Path(args.out)
    df, _ = run_study(args, names)
    fits = fits_frame(df)
    wall = time.perf_counter() - t0
    atomic_write_csv(out / "scaling.csv", df)
    atomic_write_csv(out / "scaling_fits.csv", fits)
    summary = summary_markdown(df, fits, args, wall)
    atomic_write_text(out / "summary.md", summary)
    plot_scaling(df, fits, out / "scaling.png")
    atomic_write_json(out / "results.json", provenance(args, names, wall))
    print(summary)
    print(f"wrote {out}/: scaling.csv, scaling_fits.csv, summary.md, scaling.png, results.json")
    return 1 if df["bytedmd"].notna().sum() == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
