"""The number format a study prices its measurements in: the flags, the runs' spec entries, the
results folder's record, and the sentence the summaries print (docs/formats.md).

    --bytes-per-element {8,4,2}   every float64 value priced at 8, 4 or 2 bytes (float64, float32,
                                  float16 pricing; default 8, the numbers measured before the flag);
                                  an array a rule stores narrower keeps its own width
                                  (e.g. --hyper eprop.trace_dtype=float16: 2 bytes)
    --price-as DTYPE=BYTES        values of a floating dtype priced at BYTES bytes, without rounding
                                  them to that format (float16=1: an fp8 trace's movement, fp16's
                                  numbers); repeatable

Both are pricing only: nothing in the arithmetic changes. A rule's storage-format hyperparameter
(trace_dtype, history_dtype, influence_dtype) is what really rounds. The format goes into every
measuring run's spec (so it is part of the run's key: two widths are two runs) and into the
results folder (`.format`, results.json): a folder holding results at one format refuses runs at
another (--force replaces it). Units: bytes.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

ELEMENT_WIDTHS = (8, 4, 2)                       # bytes per element the studies offer
FORMAT_NAMES = {8: "float64", 4: "float32", 2: "float16"}
DEFAULT_WIDTH = 8
PRICE_DTYPES = ("float64", "float32", "float16")
MARKER = ".format"


def element_width(s):
    """'4' -> 4: one of ELEMENT_WIDTHS (argparse type)."""
    try:
        v = int(str(s).strip())
    except ValueError:
        v = None
    if v not in ELEMENT_WIDTHS:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(map(str, ELEMENT_WIDTHS))} (bytes per value: "
            f"{', '.join(FORMAT_NAMES[w] for w in ELEMENT_WIDTHS)} pricing), got {s!r}")
    return v


def price_setting(s):
    """'float16=1' -> ('float16', 1) (argparse type): a floating dtype and a width of 1..8 bytes."""
    dtype, eq, width = str(s).partition("=")
    dtype = dtype.strip()
    try:
        w = int(width)
    except ValueError:
        w = None
    if not eq or dtype not in PRICE_DTYPES or w is None or not 1 <= w <= 8:
        raise argparse.ArgumentTypeError(f"expected DTYPE=BYTES with DTYPE one of "
                                         f"{', '.join(PRICE_DTYPES)} and BYTES in 1..8, got {s!r}")
    return dtype, w


def add_format_flags(group) -> None:
    """The two format flags, in the shared parser's group."""
    group.add_argument("--bytes-per-element", type=element_width, default=None, metavar="{8,4,2}",
                       help="bytes each float64 value is priced at: 8 (float64, the default), 4 "
                            "(float32) or 2 (float16); arrays a rule stores narrower keep their "
                            "width; pricing only, nothing is rounded (docs/formats.md)")
    group.add_argument("--price-as", type=price_setting, action="append", default=[],
                       metavar="DTYPE=BYTES",
                       help="price every value of a floating dtype at BYTES bytes without "
                            "rounding it to that format, e.g. float16=1 (repeatable)")


def finish_format(p, args, measures: bool) -> None:
    """Fill the format of a measuring study (default 8 bytes, no price_as); a study that measures
    nothing refuses the flags (p.error: one line, exit 2)."""
    if not measures:
        given = [f for f, v in (("--bytes-per-element", args.bytes_per_element),
                                ("--price-as", args.price_as)) if v]
        if given:
            p.error(f"{' and '.join(given)}: this study trains and scores only; it measures no "
                    "data movement (use compare_learners or scaling)")
        args.price_as = None
        return
    if args.bytes_per_element is None:
        args.bytes_per_element = DEFAULT_WIDTH
    seen = {}
    for dtype, w in args.price_as:
        if dtype in seen and seen[dtype] != w:
            p.error(f"--price-as {dtype}: given twice ({seen[dtype]} and {w} bytes)")
        seen[dtype] = w
    args.price_as = dict(sorted(seen.items()))


def study_format(args) -> dict | None:
    """{"bytes_per_element": w, "price_as": {...}} of a measuring study's args; None otherwise."""
    w = getattr(args, "bytes_per_element", None)
    return None if w is None else {"bytes_per_element": int(w),
                                   "price_as": dict(getattr(args, "price_as", None) or {})}


def spec_format(fmt: dict | None) -> dict:
    """The entries a measuring run's spec carries (so the run's key includes them)."""
    if fmt is None:
        return {}
    out = {"bytes_per_element": fmt["bytes_per_element"]}
    if fmt.get("price_as"):
        out["price_as"] = dict(fmt["price_as"])
    return out


def measure_kwargs(spec: dict) -> dict:
    """measure_update / measure_run keywords of a run's spec. A spec without the entries (a run
    from before the flag existed) was measured at dtype widths, which is width 8
    (harness.formats)."""
    return {"bytes_per_element": int(spec.get("bytes_per_element", DEFAULT_WIDTH)),
            "price_as": dict(spec.get("price_as") or {}) or None}


def of_specs(specs) -> dict | None:
    """The one format of measuring runs' specs (None: none measured); ValueError when they mix."""
    found = {json.dumps(spec_format({"bytes_per_element": s.get("bytes_per_element", 8),
                                     "price_as": s.get("price_as")}), sort_keys=True)
             for s in specs}
    if len(found) > 1:
        raise ValueError(f"the runs mix number formats: {', '.join(sorted(found))}")
    if not found:
        return None
    f = json.loads(found.pop())
    return {"bytes_per_element": f["bytes_per_element"], "price_as": f.get("price_as", {})}


def note(fmt: dict | None) -> str:
    """One sentence for a summary's header."""
    if fmt is None:
        return ""
    w = fmt["bytes_per_element"]
    s = (f"Number format: each float64 value priced at {w} bytes ({FORMAT_NAMES.get(w, '?')} "
         f"pricing, --bytes-per-element {w}); arrays a rule stores narrower keep their own width; "
         "pricing only, the arithmetic is float64 (docs/formats.md).")
    if fmt.get("price_as"):
        s += (" Priced as (not rounded to): " + ", ".join(f"{d} values at {b} bytes"
                                                          for d, b in fmt["price_as"].items())
              + ".")
    return s


def _folder_format(out: Path) -> dict | None:
    """The format recorded in a results folder: its marker, else its results.json config (a
    folder from before the flag: 8 bytes); None when it records none."""
    try:
        return json.loads((out / MARKER).read_text())
    except (OSError, ValueError):
        pass
    try:
        cfg = json.loads((out / "results.json").read_text())["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {"bytes_per_element": int(cfg.get("bytes_per_element") or DEFAULT_WIDTH),
            "price_as": dict(cfg.get("price_as") or {})}


def folder_conflict(out, fmt: dict | None) -> str | None:
    """Why results at `fmt` cannot go into the folder `out` (it holds another format), or None."""
    out = Path(out)
    if fmt is None or not out.is_dir():
        return None
    have = _folder_format(out)
    if have is None or spec_format(have) == spec_format(fmt):
        return None
    return (f"--out {out} holds results priced at {have['bytes_per_element']} bytes per element"
            + (f" (price-as {have['price_as']})" if have.get("price_as") else "")
            + f", not {fmt['bytes_per_element']}"
            + (f" (price-as {fmt['price_as']})" if fmt.get("price_as") else "")
            + ": a results folder holds one number format; choose another folder, or --force "
              "to replace it whole")


def record(out, fmt: dict | None) -> None:
    """Write the folder's format marker."""
    from harness.io import atomic_write_text
    if fmt is not None:
        atomic_write_text(Path(out) / MARKER, json.dumps(spec_format(fmt) | {
            "price_as": fmt.get("price_as") or {}}, sort_keys=True) + "\n")
