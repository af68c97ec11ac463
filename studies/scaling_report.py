"""The scaling study's outputs, from measured points only: growth exponents (fits_frame), the
measured crossings below BPTT (crossings_frame), where BPTT's stored history outgrows each cache
level (history_overflow), the summary tables (summary_markdown) and the figures (plot_cost).

Crossings are never extrapolated: studies.analysis.crossing_point interpolates (log-log) only
between two measured lengths that bracket the crossing; with no crossing the note says
"none up to T = <largest length measured for both>"."""
from __future__ import annotations

import numpy as np
import pandas as pd

from studies.common import cell, learner_style, pyplot, save_figure
from studies import number_format
from studies.scaling_plan import WARM_SWEEPS

REFERENCE = "bptt"
COSTS = {"bytedmd": "ByteDMD", "energy_pj_per_update": "energy"}     # column -> cost model
FIT_COLUMNS = ["learner", "schedule", "n_hidden", "points", "T_min", "T_max", "exponent",
               "coef", "r2", "energy_exponent", "update_memory_exponent", "memory_points"]
CROSSING_COLUMNS = ["learner", "schedule", "n_hidden", "cost", "versus", "common_T",
                    "T_max_common", "crossing_T", "ratio_at_T_max", "below_at_T_max", "note"]
OVERFLOW_COLUMNS = ["schedule", "n_hidden", "level", "capacity_bytes", "overflow_T",
                    "peak_live_bytes_at_T", "T_max_measured", "note"]
_LINES = {"batched": "--", "per_sequence": ":", "online": "-"}


def _measured(df, col):
    return df[pd.to_numeric(df[col], errors="coerce").notna()]


def fits_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Per learner, schedule and H: the power-law exponent of ByteDMD per update in T (coef, r2),
    of energy per update, and of the memray peak of one plain update, over the measured lengths.
    Descriptive only: no crossing is read off these fits."""
    from studies.analysis import fit_power_law
    recs = []
    for (n, sched, H), g in df.groupby(["learner", "schedule", "n_hidden"], sort=True):
        m = _measured(g, "bytedmd")
        rec = {"learner": n, "schedule": sched, "n_hidden": int(H), "points": len(m)}
        if len(m):
            rec.update(T_min=int(m["T"].min()), T_max=int(m["T"].max()))
        if m["T"].nunique() >= 2:
            f = fit_power_law(m["T"].astype(float), m["bytedmd"].astype(float))
            rec.update(exponent=f["exponent"], coef=f["coef"], r2=f["r2"])
        e = _measured(g, "energy_pj_per_update")
        if e["T"].nunique() >= 2:
            rec["energy_exponent"] = fit_power_law(
                e["T"].astype(float), e["energy_pj_per_update"].astype(float))["exponent"]
        mem = _measured(g, "peak_memory_update_bytes")
        rec["memory_points"] = len(mem)
        if mem["T"].nunique() >= 2:
            rec["update_memory_exponent"] = fit_power_law(
                mem["T"].astype(float), mem["peak_memory_update_bytes"].astype(float))["exponent"]
        recs.append(rec)
    return pd.DataFrame(recs, columns=FIT_COLUMNS)


def reference_curve(df: pd.DataFrame, col: str, H, schedule: str | None,
                    reference: str = REFERENCE) -> pd.Series:
    """The reference's cost per T at hidden size H: in `schedule`, or (schedule=None) in its best
    schedule at each T -- the minimum over every schedule it supports among those in df, at the
    lengths where all of them were measured (a length where one is missing is left out, so the
    'best' is never a partial minimum)."""
    ref = df[(df["learner"] == reference) & (df["n_hidden"] == H)
             & (df["status"] != "unsupported")]
    if schedule is not None:
        m = _measured(ref[ref["schedule"] == schedule], col)
        return pd.Series(m[col].astype(float).to_numpy(), index=m["T"].astype(int).to_numpy())
    scheds = set(ref["schedule"])
    best = {}
    for T, g in ref.groupby("T"):
        v = pd.to_numeric(g[col], errors="coerce")
        if set(g["schedule"]) == scheds and v.notna().all():
            best[int(T)] = float(v.min())
    return pd.Series(best, dtype=float)


def _crossing(rule: pd.Series, ref: pd.Series, what: str) -> dict:
    from studies.analysis import crossing_point
    common = sorted(set(rule.index) & set(ref.index))
    rec = {"common_T": len(common)}
    if not common:
        return rec | {"note": f"no length measured for both this rule and {what}"}
    x = np.array(common, float)
    a, b = rule.loc[common].to_numpy(float), ref.loc[common].to_numpy(float)
    lo, hi = common[0], common[-1]
    rec.update(T_max_common=hi, ratio_at_T_max=a[-1] / b[-1], below_at_T_max=bool(a[-1] < b[-1]))
    c = crossing_point(x, a, b)
    tail = f" ({a[-1] / b[-1]:.3g}x {what} at T = {hi})"
    if c is None:
        return rec | {"note": f"none up to T = {hi}{tail}"}
    rec["crossing_T"] = c
    if not rec["below_at_T_max"]:          # below somewhere, but not at the largest length
        tail = (f"; not below at the largest common T = {hi} ({a[-1] / b[-1]:.3g}x): "
                "the measured costs cross more than once")
    if c == lo and a[0] < b[0]:
        return rec | {"note": f"below {what} already at the smallest common T = {lo}{tail}"}
    return rec | {"note": f"drops below {what} at T ≈ {c:.3g} (between measured lengths){tail}"}


def crossings_frame(df: pd.DataFrame, reference: str = REFERENCE) -> pd.DataFrame:
    """Per rule (not the reference), schedule, H and cost model (ByteDMD, energy): the measured T
    at which the rule's cost per update drops below the reference's, against the reference in
    the same schedule and in its best schedule at each T (reference_curve)."""
    recs = []
    for (n, sched, H), g in df.groupby(["learner", "schedule", "n_hidden"], sort=True):
        if n == reference or (g["status"] == "unsupported").all():
            continue
        for col, cost in COSTS.items():
            m = _measured(g, col)
            rule = pd.Series(m[col].astype(float).to_numpy(), index=m["T"].astype(int).to_numpy())
            for versus, ref_sched in ((f"{reference} {sched}", sched),
                                      (f"{reference} best schedule", None)):
                ref = reference_curve(df, col, H, ref_sched, reference)
                base = {"learner": n, "schedule": sched, "n_hidden": int(H), "cost": cost,
                        "versus": versus}
                if rule.empty:
                    recs.append(base | {"common_T": 0, "note": f"no {cost} measured for this rule"})
                elif ref.empty:
                    recs.append(base | {"common_T": 0, "note": f"no {versus} points at this H"})
                else:
                    recs.append(base | _crossing(rule, ref, versus))
    return pd.DataFrame(recs, columns=CROSSING_COLUMNS)


def history_overflow(df: pd.DataFrame, hierarchy=None, reference: str = REFERENCE) -> pd.DataFrame:
    """Per schedule and H of the reference, and per cache level of `hierarchy` (default
    metrics.hierarchy.DEFAULT_HIERARCHY; every level but the last): the first measured T at which
    the reference's exact peak live bytes of one update (its stored history) exceed the level's
    capacity in bytes. Measured lengths only; none when not exceeded up to the largest."""
    from metrics.hierarchy import DEFAULT_HIERARCHY
    h = hierarchy or DEFAULT_HIERARCHY
    recs = []
    ref = _measured(df[df["learner"] == reference], "peak_live_bytes")
    for (sched, H), g in ref.groupby(["schedule", "n_hidden"], sort=True):
        g = g.sort_values("T")
        Ts, live = g["T"].astype(int).to_numpy(), g["peak_live_bytes"].astype(float).to_numpy()
        for lv in h.levels[:-1]:
            cap = int(lv.capacity_bytes)
            over = np.flatnonzero(live > cap)
            rec = {"schedule": sched, "n_hidden": int(H), "level": lv.name, "capacity_bytes": cap,
                   "T_max_measured": int(Ts[-1])}
            if over.size == 0:
                rec["note"] = f"not exceeded up to T = {Ts[-1]} ({live[-1]:.4g} bytes there)"
            else:
                i = int(over[0])
                rec.update(overflow_T=int(Ts[i]), peak_live_bytes_at_T=int(live[i]))
                rec["note"] = (f"exceeded already at the smallest measured T = {Ts[i]}" if i == 0
                               else f"exceeded at T = {Ts[i]} ({live[i - 1]:.4g} bytes at "
                                    f"T = {Ts[i - 1]}, {live[i]:.4g} at T = {Ts[i]})")
            recs.append(rec)
    return pd.DataFrame(recs, columns=OVERFLOW_COLUMNS)


# ---- tables ---------------------------------------------------------------------------------

def _table(df, col, Ts, scale=1.0, fmt="{:.3g}"):
    lines = ["| learner | schedule | H | " + " | ".join(f"T={t}" for t in Ts) + " |",
             "|---|---|---|" + "---|" * len(Ts)]
    for (n, sched, H), g in df.groupby(["learner", "schedule", "n_hidden"], sort=True):
        cells = []
        for t in Ts:
            r = g[g["T"] == t]
            if r.empty:
                cells.append("")
                continue
            r = r.iloc[0]
            v = pd.to_numeric(pd.Series([r[col]]), errors="coerce").iloc[0]
            cells.append(cell(v * scale, fmt) if pd.notna(v) else
                         {"failed": "failed", "unsupported": "n/a"}.get(r["status"], "skip"))
        lines.append(f"| {n} | {sched} | {H} | " + " | ".join(cells) + " |")
    return lines


def hierarchy_name(h=None) -> str:
    """How the report names the hierarchy energy is priced on."""
    if h is None:
        return "default hierarchy"
    return f"hierarchy {h.source}" if getattr(h, "source", "") else "a given hierarchy"


def summary_markdown(df: pd.DataFrame, fits: pd.DataFrame, args, wall_s: float | None,
                     crossings: pd.DataFrame | None = None,
                     overflow: pd.DataFrame | None = None) -> str:
    from metrics.hierarchy import DEFAULT_HIERARCHY
    Ts = list(args.lengths)
    h = getattr(args, "hierarchy_obj", None)
    crossings = crossings_frame(df) if crossings is None else crossings
    overflow = history_overflow(df, h) if overflow is None else overflow
    hname = hierarchy_name(h)
    h = h or DEFAULT_HIERARCHY
    width = getattr(args, "bytes_per_element", None) or 8      # studies/number_format.py
    levels = ", ".join(f"{lv.name} {lv.pj_per_byte:g} pJ/B" for lv in h.levels)
    lines = ["# Scaling with sequence length: data movement per update vs T", "",
             f"Fixed-timing SequenceLookup(length=T"
             + ("" if getattr(args, "task", "final") == "final" else
                f", target_kind={args.task!r}: a target at every step, the per-step loss of "
                f"learners/rnn.py") + "); hidden sizes "
             f"{', '.join(map(str, args.hidden))}; schedules {', '.join(args.schedules)} "
             f"(harness/schedules.py; a rule is measured in each it declares, 'n/a' otherwise). "
             f"One update after {WARM_SWEEPS} warm sweeps in its schedule: ByteDMD (cost units, "
             f"docs/cost_model.md section 1), energy on the {hname} (docs/energy.md: "
             f"{levels}, {h.pj_per_op:g} pJ/op), exact peak live bytes. Budgets: --max-reads "
             f"{args.max_reads:.2g} tracked reads per measured update, --max-energy-reads "
             f"{args.max_energy_reads:.2g}, --max-train-reads {args.max_train_reads:.2g}. "
             "'skip' = over budget (reason in scaling.csv and below). "
             + number_format.note(number_format.study_format(args)), "",
             f"## ByteDMD per update ({width} bytes per value)", ""]
    lines += _table(df, "bytedmd", Ts)
    lines += ["", f"## Energy per update (µJ, {hname}, {width} bytes per value)", ""]
    lines += _table(df, "energy_pj_per_update", Ts, 1e-6)
    lines += ["", "## Peak live bytes of one update (KiB, exact)", ""]
    lines += _table(df, "peak_live_bytes", Ts, 1 / 1024, "{:.1f}")
    lines += ["", f"## Crossings below {REFERENCE.upper()} (measured)", "",
              f"The T at which a rule's cost per update drops below {REFERENCE}'s, from measured "
              "lengths only (log-log interpolation between the two measured lengths that bracket "
              f"it; no extrapolation): against {REFERENCE} in the same schedule and in its best "
              "schedule at each T (the minimum over its measured schedules, at lengths where all "
              "were measured).", "",
              "| learner | schedule | H | cost | versus | lengths compared | crossing T | "
              "ratio at largest common T | note |", "|---|---|---|---|---|---|---|---|---|"]
    for _, c in crossings.iterrows():
        lines.append(f"| {c['learner']} | {c['schedule']} | {c['n_hidden']} | {c['cost']} | "
                     f"{c['versus']} | {c['common_T']} | {cell(c['crossing_T'])} | "
                     f"{cell(c['ratio_at_T_max'])} | {c['note']} |")
    lines += ["", f"## {REFERENCE.upper()}'s stored history vs the cache levels", "",
              f"First measured T at which {REFERENCE}'s exact peak live bytes of one update "
              f"exceed each level's capacity ({hname}; marked on the figures).", "",
              "| schedule | H | level | capacity (bytes) | first T over | peak live bytes there "
              "| note |", "|---|---|---|---|---|---|---|"]
    for _, o in overflow.iterrows():
        lines.append(f"| {o['schedule']} | {o['n_hidden']} | {o['level']} | "
                     f"{o['capacity_bytes']:,} | {cell(o['overflow_T'], '{:.0f}')} | "
                     f"{cell(o['peak_live_bytes_at_T'], '{:,.0f}')} | {o['note']} |")
    lines += ["", "## Growth in T", "",
              "Exponent k of cost per update ~ c T^k (least squares in log-log over the measured "
              "lengths; descriptive, not used for crossings); update-memory exponent: the same "
              "for the memray peak of one plain update.", "",
              "| learner | schedule | H | points | T range | ByteDMD exponent | r² | "
              "energy exponent | update-memory exponent |", "|---|---|---|---|---|---|---|---|---|"]
    for _, f in fits.iterrows():
        rng = f"{f['T_min']:.0f}–{f['T_max']:.0f}" if pd.notna(f["T_min"]) else "–"
        lines.append(f"| {f['learner']} | {f['schedule']} | {f['n_hidden']} | {f['points']} | "
                     f"{rng} | {cell(f['exponent'], '{:.2f}')} | {cell(f['r2'], '{:.3f}')} | "
                     f"{cell(f['energy_exponent'], '{:.2f}')} | "
                     f"{cell(f['update_memory_exponent'], '{:.2f}')} |")
    lines += _accuracy_lines(df)
    skipped = df[df["skip_reason"].notna() & (df["status"] != "unsupported")]
    if len(skipped):
        lines += ["", "## Skipped (over budget)", ""]
        lines += [f"- {r['learner']} {r['schedule']} H={r['n_hidden']} T={r['T']}: "
                  f"{r['skip_reason']}" for _, r in skipped.iterrows()]
    uns = df[df["status"] == "unsupported"].drop_duplicates(["learner", "schedule"])
    if len(uns):
        lines += ["", "## Not supported (a schedule, or the task's target kind)", ""]
        lines += [f"- {r['learner']} {r['schedule']}: {r['skip_reason']}" for _, r in uns.iterrows()]
    failed = df[df["error"].notna()]
    if len(failed):
        lines += ["", "## Failures", ""]
        lines += [f"- {r['learner']} {r['schedule']} H={r['n_hidden']} T={r['T']}: {r['error']}"
                  for _, r in failed.iterrows()]
    if wall_s is not None:
        lines += ["", f"Wall time of this invocation: {wall_s:.0f} s "
                      "(finished points were resumed from runs/, not redone)."]
    return "\n".join(lines) + "\n"


def _accuracy_lines(df):
    rows = df[pd.to_numeric(df["train_runs"], errors="coerce").fillna(0) > 0]
    if rows.empty:
        return ["", "## Accuracy", "", "No training runs (--seeds 0, or every one over "
                "--max-train-reads): per-update measurements only."]
    lines = ["", "## Accuracy and memory", "",
             "Batched training runs only. Medians over the training seeds ([min–max] for "
             "unseen). Unseen: every sequence outside the data set for T < 8, a fixed sample of "
             "10,000 for T >= 8; baseline: the best constant code on unseen. Peak memory: memray "
             "heap peak of the plain training run (seed 0) or, where training is over budget, of "
             "one plain update; 'update peak' is always the one-update peak.", "",
             "| learner | H | T | runs ok | train acc | held-out acc | unseen acc | baseline unseen | "
             "converged runs | peak memory (MiB) | update peak (MiB) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in rows.iterrows():
        un = (f"{cell(r['unseen_acc'])} [{cell(r['unseen_acc_min'])}–{cell(r['unseen_acc_max'])}]"
              if pd.notna(r["unseen_acc"]) else "–")
        conv = f"{r['converged_runs']}/{r['train_ok']}" if pd.notna(r["unseen_acc"]) else "–"
        mem = lambda v: cell(v / 2**20, "{:.2f}") if pd.notna(v) else "–"  # noqa: E731
        lines.append(f"| {r['learner']} | {r['n_hidden']} | {r['T']} | "
                     f"{r['train_ok']}/{r['train_runs']} | {cell(r['train_acc'])} | "
                     f"{cell(r['test_acc'])} | {un} | {cell(r['baseline_unseen_acc'])} | {conv} | "
                     f"{mem(r['peak_memory_bytes'])} | {mem(r['peak_memory_update_bytes'])} |")
    return lines


# ---- figures ----------------------------------------------------------------------------------

def plot_message(crossings: pd.DataFrame, cost: str, df: pd.DataFrame | None = None) -> str:
    """The figure's one message: which rules are below the reference in its best schedule at the
    largest length measured for both, and which are not (measured, not extrapolated)."""
    head = f"{cost} per update vs sequence length"
    c = crossings[(crossings["cost"] == cost)
                  & (crossings["versus"] == f"{REFERENCE} best schedule")
                  & crossings["ratio_at_T_max"].notna()]
    if c.empty:
        return head

    def who(rows):
        return "; ".join(f"{n} ({', '.join(dict.fromkeys(g['schedule']))})"
                         for n, g in rows.groupby("learner", sort=True)) or "none"
    below = c[c["below_at_T_max"].astype(bool)]
    above = c[~c["below_at_T_max"].astype(bool)]
    import textwrap
    T = int(c["T_max_common"].max())
    lines = [f"{head}; against {REFERENCE} in its best schedule, measured up to T = {T}:"]
    lines += textwrap.wrap(f"below: {who(below)}", 95) + textwrap.wrap(f"not below: {who(above)}", 95)
    return "\n".join(lines)


def plot_cost(df: pd.DataFrame, crossings: pd.DataFrame, overflow: pd.DataFrame, col: str,
              path, ylabel: str, scale: float = 1.0, width: int | None = None):
    """Log-log cost per update (column `col`, times `scale`) vs T: each learner in its fixed
    colour (studies.figures.learner_style), one line style per schedule, one marker per H; dotted
    verticals where the reference's stored history (peak live bytes, one schedule and the
    smallest H) first exceeds a cache level; `width`: the bytes per value priced (in the x label).
    Written as PNG and PDF."""
    from matplotlib.lines import Line2D
    plt = pyplot()
    m = _measured(df, col)
    names = sorted(m["learner"].unique())      # the rules with a measured point
    hidden = sorted(df["n_hidden"].unique())
    scheds = [s for s in dict.fromkeys(df["schedule"]) if s in set(m["schedule"])]
    markers = dict(zip(hidden, ["o", "s", "^", "D", "v", "P"]))
    many = len(names) > 6                     # the legend goes beside the axes
    fig, ax = plt.subplots(figsize=(9.6, 5.6) if many else (7.4, 5.0))
    for (n, sched, H), g in m.groupby(["learner", "schedule", "n_hidden"]):
        g = g.sort_values("T")
        ax.plot(g["T"].astype(float), g[col].astype(float) * scale, color=learner_style(n)[0],
                marker=markers[H], linestyle=_LINES.get(sched, "-."), linewidth=1.4, markersize=4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    Ts = sorted(df["T"].unique())
    ax.set_xticks(Ts)
    ax.set_xticklabels([str(t) for t in Ts], fontsize=8)
    ax.minorticks_off()
    ax.set_xlabel("sequence length T (time steps per sequence)"
                  + (f"; float64 values priced at {width} bytes" if width else ""))
    ax.set_ylabel(ylabel)
    cost = COSTS[col] if col in COSTS else col
    ax.set_title(plot_message(crossings, cost, df) if len(crossings) else f"{cost} per update",
                 fontsize=9.5)
    ax.grid(True, which="major", alpha=0.3)
    handles = [Line2D([], [], color=learner_style(n)[0], linewidth=2, label=n) for n in names]
    handles += [Line2D([], [], color="0.3", linestyle=_LINES.get(s, "-."), label=f"{s} schedule")
                for s in scheds]
    if len(hidden) > 1:
        handles += [Line2D([], [], color="0.3", marker=markers[H], linestyle="none",
                           label=f"H = {H}") for H in hidden]
    marks = _overflow_marks(overflow, Ts[0] if Ts else None)
    for i, (T, label) in enumerate(marks):
        ax.axvline(T, color="0.45", linestyle=":", linewidth=1.0)
        ax.text(T, 0.02 + 0.06 * i, " " + label, transform=ax.get_xaxis_transform(),
                fontsize=7, color="0.3", rotation=0, va="bottom")
    if marks:
        handles.append(Line2D([], [], color="0.45", linestyle=":", label=_overflow_legend(overflow)))
    if many:
        ax.legend(handles=handles, fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  frameon=False)
    else:
        ax.legend(handles=handles, fontsize=7.5, loc="upper left", frameon=False)
    fig.tight_layout()
    return save_figure(fig, path)


def _overflow_pick(overflow: pd.DataFrame) -> pd.DataFrame:
    """The overflow rows drawn: the reference's online schedule if measured (else the first),
    at the smallest H."""
    if overflow.empty:
        return overflow
    scheds = list(dict.fromkeys(overflow["schedule"]))
    s = "online" if "online" in scheds else scheds[0]
    o = overflow[overflow["schedule"] == s]
    return o[o["n_hidden"] == o["n_hidden"].min()]


def _overflow_marks(overflow, T_min):
    o = _overflow_pick(overflow)
    o = o[o["overflow_T"].notna() & (o["overflow_T"] > (T_min or 0))]
    return [(float(r["overflow_T"]), f"> {r['level']}") for _, r in o.iterrows()]


def _overflow_legend(overflow):
    o = _overflow_pick(overflow)
    r = o.iloc[0]
    early = o[o["note"].str.startswith("exceeded already")]
    tail = (f"\n(over {', '.join(early['level'])} already at T = {int(early['overflow_T'].min())})"
            if len(early) else "")
    return (f"{REFERENCE} ({r['schedule']}, H={r['n_hidden']}): peak live bytes first over a "
            f"cache level{tail}")
