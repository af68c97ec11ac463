"""The scaling study's plan: read estimates (so that nothing over budget is run), the runs of
each sequence length, and one row per (learner, H, T) assembled from their results."""
from __future__ import annotations

import math

import numpy as np

from studies.number_format import spec_format, study_format

PROBE_LENGTHS = (2, 3)
PROBE_HIDDEN = (8, 16)
WARM_SWEEPS = 3


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



def _spec(runner, name, H, T, hyper=None, schedule="batched", task_kind="final", **extra):
    task = {"length": T} if task_kind == "final" else {"length": T, "target_kind": task_kind}
    return {"runner": f"studies.scaling:{runner}", "learner": name,
            "hyper": {**(hyper or {}), "n_hidden": H}, "task": task, "seed": 0,
            "schedule": schedule, **extra}


def short(err: str | None) -> str | None:
    return None if err is None else str(err).splitlines()[0][:300]


def supports(name: str, schedule: str) -> bool:
    """Whether the learner declares `schedule` in its SCHEDULES (harness/schedules.py)."""
    import learners
    from harness.schedules import supported
    return schedule in supported(learners.get(name))


def probe_specs(usable, hyper, schedules=("batched",), task_kind="final", fmt=None):
    """Tiny measurements (PROBE_LENGTHS x PROBE_HIDDEN) of every learner in every listed schedule
    it supports, on the study's task kind: the read estimates before anything long is run (in
    the number format `fmt`)."""
    return [_spec("measure_point", n, h, t, hyper.get(n), sched, task_kind,
                  warm_sweeps=WARM_SWEEPS, probe=True, **spec_format(fmt))
            for n in usable for sched in schedules if supports(n, sched)
            for h in PROBE_HIDDEN for t in PROBE_LENGTHS]


def probe_models(usable, specs, rows):
    """({(learner, schedule): est(T, H)}, {(learner, schedule): error of its failed probe})."""
    models, errors = {}, {}
    groups = {}
    for s, r in zip(specs, rows):
        groups.setdefault((s["learner"], s["schedule"]), []).append((s, r))
    for key, rs in groups.items():
        bad = [r for _, r in rs if r.get("error")]
        if bad:
            errors[key] = short(bad[0]["error"])
        else:
            models[key] = probe_model({(s["task"]["length"], s["hyper"]["n_hidden"]): r["reads"]
                                       for s, r in rs})
    return models, errors


def unsupported_row(name: str, schedule: str) -> dict:
    import learners
    from harness.schedules import supported
    return {"status": "unsupported",
            "skip_reason": f"schedule {schedule!r} not supported: the learner declares "
                           f"{', '.join(supported(learners.get(name)))}"}


def hierarchy_extra(args) -> dict:
    """{"hierarchy": its dict} for a measurement priced on --hierarchy (so the run's key holds
    it), {} on the default hierarchy."""
    h = getattr(args, "hierarchy_obj", None)
    return {} if h is None else {"hierarchy": h.to_dict()}


def plan_length(T, usable, args, hyper, n_sweeps, measured, models, probe_error, points):
    """The runs at length T within budget, longest first: (specs, [(kind, point, cost)]); every
    point (learner, schedule, H, T) gets its estimate, the reasons for what is skipped, and what
    its memory is of. Training (accuracy) runs only for the batched schedule's rows."""
    specs, plan = [], []
    kind = getattr(args, "task", "final")
    for n in usable:
        for sched in args.schedules:
            for H in args.hidden:
                key = (n, sched, H, T)
                if not supports(n, sched):
                    points[key] = unsupported_row(n, sched)
                    continue
                if (n, sched) in probe_error:
                    points[key] = {"status": "failed",
                                   "error": f"probe failed: {probe_error[(n, sched)]}"}
                    continue
                est = estimate_reads(T, measured.get((n, sched, H), []), models[(n, sched)], H)
                row = {"est_reads": est, "sweeps": n_sweeps}
                reasons = []
                do_bytedmd = est <= args.max_reads
                if not do_bytedmd:
                    reasons.append(f"ByteDMD not measured: estimated {est:.2g} reads per update "
                                   f"> --max-reads {args.max_reads:.2g}")
                want_train = args.seeds > 0 and sched == "batched"
                do_train = want_train and est * n_sweeps <= args.max_train_reads
                if want_train and not do_train:
                    reasons.append(f"not trained: estimated {est * n_sweeps:.2g} reads for "
                                   f"{n_sweeps} sweeps > --max-train-reads "
                                   f"{args.max_train_reads:.2g}")
                mem_update = est <= args.max_train_reads
                if not mem_update:
                    reasons.append("peak memory not measured: one plain update estimated above "
                                   "--max-train-reads")
                row["skip_reason"] = "; ".join(reasons) or None
                row["peak_memory_of"] = (f"plain training run ({n_sweeps} sweeps, seed 0)"
                                         if do_train else "one plain update" if mem_update
                                         else None)
                points[key] = row
                if do_bytedmd or mem_update:
                    specs.append(_spec("measure_point", n, H, T, hyper.get(n), sched, kind,
                                       warm_sweeps=WARM_SWEEPS, bytedmd=do_bytedmd,
                                       memory="update" if mem_update else None,
                                       max_energy_reads=args.max_energy_reads,
                                       **hierarchy_extra(args),
                                       **spec_format(study_format(args))))
                    plan.append(("measure", key, est))
                if do_train:
                    for s in range(args.seeds):
                        sp = _spec("train_point", n, H, T, hyper.get(n), task_kind=kind,
                                   sweeps=args.sweeps)
                        del sp["schedule"]                  # training is batched
                        sp["seed"] = s
                        specs.append(sp)
                        plan.append(("train", key, est * n_sweeps / 3e3))
    order = sorted(range(len(specs)), key=lambda i: -plan[i][2])   # longest first
    return [specs[i] for i in order], [plan[i] for i in order]


MEASURED_COLUMNS = ("reads", "writes", "bytedmd", "bytedmd_forward", "bytedmd_credit",
                    "bytedmd_update", "energy_pj_per_update", "peak_live_bytes")


def absorb(T, plan, rows, points, train_rows, measured):
    """Put the results of length T's runs into their points' rows."""
    for (kind, key, _), r in zip(plan, rows):
        row = points[key]
        if kind == "train":
            train_rows.setdefault(key, []).append(r)
            continue
        if r.get("error"):
            row["error"] = f"measurement failed: {short(r['error'])}"
            row["measure_failed"] = True
            continue
        for c in MEASURED_COLUMNS:
            if c in r:
                row[c] = r[c]
        if r.get("energy_note"):
            row["skip_reason"] = "; ".join(x for x in (row.get("skip_reason"), r["energy_note"])
                                           if x)
        if "peak_memory_bytes" in r:
            row["peak_memory_update_bytes"] = r["peak_memory_bytes"]
            if not str(row.get("peak_memory_of")).startswith("plain training"):
                row["peak_memory_bytes"] = r["peak_memory_bytes"]
        if r.get("reads") is not None:
            measured.setdefault(key[:3], []).append((T, int(r["reads"])))


def point_record(key, row, trs) -> dict:
    """One scaling.csv row: the point's measurement and the summary of its training runs."""
    n, sched, H, T = key
    rec = {"learner": n, "schedule": sched, "n_hidden": H, "T": T, **row}
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
        msg = f"training failed ({len(bad)}/{len(trs)} seeds): {short(bad[0]['error'])}"
        rec["error"] = f"{rec['error']}; {msg}" if rec.get("error") else msg
    if rec.get("status") is None:          # the status of the ByteDMD measurement
        rec["status"] = ("measured" if rec.get("bytedmd") is not None
                         else "failed" if rec.pop("measure_failed", False) else "skipped")
    rec.pop("measure_failed", None)
    return rec
