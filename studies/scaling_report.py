"""The scaling study's outputs: growth exponents and crossings below BPTT (fits_frame), the
summary tables (summary_markdown) and the figure (plot_scaling)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from studies.common import cell, learner_style, pyplot, save_figure
from studies.scaling_plan import WARM_SWEEPS

REFERENCE = "bptt"
MIN_EXPONENT_GAP = 0.05          # exponents closer than this are treated as equal (no extrapolated crossing)
FIT_COLUMNS = ["learner", "n_hidden", "points", "T_min", "T_max", "exponent", "coef", "r2",
               "update_memory_exponent", "memory_points", "crossing_T", "crossing_T_extrapolated",
               "crossing_note"]


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



def summary_markdown(df: pd.DataFrame, fits: pd.DataFrame, args, wall_s: float | None) -> str:
    Ts = list(args.lengths)
    lines = ["# Scaling with sequence length: data movement per update vs T", "",
             f"Fixed-timing SequenceLookup(length=T); hidden sizes {', '.join(map(str, args.hidden))}; "
             f"ByteDMD of one update after {WARM_SWEEPS} warm sweeps (cost units, "
             f"docs/cost_model.md section 1); budgets: --max-reads {args.max_reads:.2g} tracked reads per "
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
            cells.append(cell(r["bytedmd"]) if pd.notna(r["bytedmd"]) else
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
                     f"{cell(f['exponent'], '{:.2f}')} | {cell(f['r2'], '{:.3f}')} | "
                     f"{cell(f['update_memory_exponent'], '{:.2f}')} | {cell(f['crossing_T'])} | "
                     f"{cell(f['crossing_T_extrapolated'])} | {f['crossing_note'] if isinstance(f['crossing_note'], str) else ''} |")
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
        un = (f"{cell(r['unseen_acc'])} [{cell(r['unseen_acc_min'])}–{cell(r['unseen_acc_max'])}]"
              if pd.notna(r["unseen_acc"]) else "–")
        mem = cell(r["peak_memory_bytes"] / 2**20, "{:.1f}") if pd.notna(r["peak_memory_bytes"]) else "–"
        conv = f"{r['converged_runs']}/{r['train_ok']}" if pd.notna(r["unseen_acc"]) else "–"
        upd = (cell(r["peak_memory_update_bytes"] / 2**20, "{:.2f}")
               if pd.notna(r["peak_memory_update_bytes"]) else "–")
        lines.append(f"| {r['learner']} | {r['n_hidden']} | {r['T']} | "
                     f"{r['train_ok']}/{r['train_runs']} | {cell(r['train_acc'])} | "
                     f"{cell(r['test_acc'])} | {un} | {cell(r['baseline_unseen_acc'])} | {conv} | "
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
    """Log-log ByteDMD per update vs T: each learner in its fixed colour, one marker and line
    style per hidden size. Written as PNG and PDF."""
    from matplotlib.lines import Line2D
    plt = pyplot()
    names = sorted(df["learner"].unique())
    hidden = sorted(df["n_hidden"].unique())
    colors = {n: learner_style(n)[0] for n in names}
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
    return save_figure(fig, path)


