"""Figures, written once for every study: one fixed colour and marker per learner, and atomic
PNG + PDF output."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

from harness.io import atomic_write_bytes

# One colour and marker per built-in learner, the same in every figure and run.
STYLE = {"bptt": ("#1f77b4", "o"), "tbptt": ("#ff7f0e", "s"), "rtrl": ("#2ca02c", "^"),
         "eprop": ("#d62728", "D"), "node_perturbation": ("#9467bd", "v"),
         "checkpointed_bptt": ("#17becf", "o"), "feedback_alignment": ("#8c564b", "P"),
         "snap1": ("#bcbd22", "<"), "snap2": ("#637939", ">"), "uoro": ("#e377c2", "X"),
         "forward_gradient": ("#7f7f7f", "*"), "weight_perturbation": ("#393b79", "h")}
_SPARE_COLOURS = ("#8c6d31", "#843c39", "#7b4173", "#e7ba52", "#5254a3", "#ad494a", "#a55194")
_SPARE_MARKERS = ("P", "X", "h", "<", ">", "p", "*")


def learner_style(name: str) -> tuple[str, str]:
    """(colour, marker) of a learner: fixed for the built-ins, from a hash of the name for any
    other rule (so it is the same in every figure and run)."""
    if name in STYLE:
        return STYLE[name]
    h = int(hashlib.sha1(str(name).encode()).hexdigest(), 16)
    return _SPARE_COLOURS[h % len(_SPARE_COLOURS)], _SPARE_MARKERS[(h // 97) % len(_SPARE_MARKERS)]


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path) -> Path:
    """Write `fig` as path (.png) and the same name .pdf, each atomically; close it."""
    plt = pyplot()
    path = Path(path)
    try:
        for suffix, kw in ((".png", {"dpi": 150}), (".pdf", {})):
            buf = io.BytesIO()
            fig.savefig(buf, format=suffix[1:], **kw)
            atomic_write_bytes(path.with_suffix(suffix), buf.getvalue())
    finally:
        plt.close(fig)
    return path
