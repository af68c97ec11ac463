"""Escapes at their edges (docs/cost_model.md section 2): which elements of a tracked array leave
the model (tracked values, constants, none at all), what the buffer event records, the names of
the converting methods, conversions inside np.vectorize's function, and how an unknown call numpy
makes internally is named when the user's call spans lines or Python records no columns."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from metrics.trace import READ
from metrics.tracking import EscapeError, NotModelledError, Tracker
from metrics.tracking.array import TrackedArray
from test_tracked_array_methods import events
from test_tracking_correctness import _escaped_ids as escape_reads


def test_value_zero_escapes_beside_a_constant():
    """Value id 0 is the first tracked value, not a constant: it escapes (one instruction, one
    read of it) though a constant sits next to it; the read event covers the whole buffer."""
    tr = Tracker()
    (a,) = tr.track_args(np.array([1.0, 2.0]))              # ids 0, 1
    b = np.concatenate([np.zeros(1), a[:1]])                # ids -1 (a constant), 0
    assert b.ids.tolist() == [-1, 0]
    n, ev = tr.n_values, len(events(tr))
    out = np.asarray(b)
    assert out.tolist() == [0.0, 1.0]
    assert tr.escapes == 1 and escape_reads(tr, n) == [0]
    assert events(tr, ev) == [(READ, b._buf, 2)]           # elements of the buffer, not escapes
    assert tr.trace().escape_runs.tolist() == [[n, 1]]


def test_constants_and_empty_arrays_do_not_escape():
    """Nothing tracked leaves: no instruction, no event, no escape counted, in strict mode too."""
    for strict in (False, True):
        tr = Tracker(strict=strict)
        (a,) = tr.track_args(np.array([1.0, 2.0]))
        zeros, empty = np.zeros_like(a), a[:0]
        n, ev = tr.n_values, len(events(tr))
        assert np.asarray(zeros).tolist() == [0.0, 0.0] and zeros.tolist() == [0.0, 0.0]
        assert np.asarray(empty).shape == (0,) and empty.tolist() == []
        assert tr.n_values == n and len(events(tr)) == ev and tr.escapes == 0


def test_strict_mode_names_the_conversion_and_counts_the_tracked_elements():
    tr = Tracker(strict=True)
    (a,) = tr.track_args(np.array([1.0, 2.0, 3.0]))
    b = np.concatenate([np.zeros(2), a[1:]])                # 2 constants, 2 tracked
    with pytest.raises(EscapeError, match=r"^\.tolist\(\) makes 2 tracked element\(s\) leave "
                                          r"the model \(strict mode\)$"):
        b.tolist()
    with pytest.raises(EscapeError, match=r"^float\(\) makes 1 tracked element\(s\)"):
        float(a[0])
    assert tr.escapes == 0


def test_format_passes_the_spec_and_escapes_the_element():
    tr = Tracker()
    (a,) = tr.track_args(np.array([1.25, 2.5]))
    assert format(a[0], ".3f") == "1.250" and f"{a[1]:>6.1f}" == "   2.5"
    assert tr.escapes == 2


def test_converting_methods_carry_the_names_of_what_they_stand_for():
    """help(TrackedArray) and tracebacks show the converting methods under the names of the
    conversions they wrap (ndarray.tolist, float, int, ...)."""
    names = {m: getattr(TrackedArray, m).__name__ for m in
             ("__float__", "__int__", "__complex__", "__bool__", "__index__", "tolist")}
    assert names == {"__float__": "float", "__int__": "int", "__complex__": "complex",
                     "__bool__": "bool", "__index__": "index", "tolist": "tolist"}


def test_a_call_spanning_lines_is_named_by_its_place():
    """The user's call is quoted only when its text lies on one line; otherwise the error names
    the file and line."""
    rng = np.random.default_rng(0)
    tr = Tracker()
    (a,) = tr.track_args(np.arange(4.0))
    with pytest.raises(NotModelledError) as e:
        rng.permutation(
            a)
    line = sys._getframe(0).f_lineno - 2
    assert str(e.value).startswith(f"the call at test_escape_edges.py:{line}, which calls "
                                   f"numpy.may_share_memory on a tracked array,")


def test_without_column_positions_the_call_is_named_by_its_place(tmp_path):
    """Python run with -X no_debug_ranges records no columns: the error names the place."""
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent("""\
        import numpy as np
        from metrics.tracking import NotModelledError, Tracker
        tr = Tracker()
        (a,) = tr.track_args(np.arange(4.0))
        try:
            np.random.default_rng(0).permutation(a)
        except NotModelledError as e:
            print(e)
        """))
    root = str(Path(__file__).resolve().parents[1])        # this checkout's metrics package
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    out = subprocess.run([sys.executable, "-X", "no_debug_ranges", str(script)],
                         capture_output=True, text=True, check=True, env=env)
    assert out.stdout.startswith("the call at user_script.py:6, which calls "
                                 "numpy.may_share_memory"), out.stdout


@pytest.mark.parametrize("depth", [0, 1, 2, 3, 5])
def test_a_conversion_inside_the_vectorized_function_is_the_programs_at_any_depth(depth):
    """np.vectorize without otypes calls the function once more, on the first elements, to learn
    the output type. Its own conversion of the arguments there is numpy's (not counted); a
    conversion the function makes, directly or through helpers, runs once per call, the probe's
    included: 4 argument elements + 5 calls x 2 elements of w, whatever the helpers' depth."""
    def escapes(otypes):
        tr = Tracker()
        a, w = tr.track_args(np.arange(4.0), np.array([2.0, 3.0]))

        def convert(k):
            return np.asarray(w) if k == 0 else convert(k - 1)

        out = np.vectorize(lambda v: v + convert(depth).sum(), otypes=otypes)(a)
        assert out.tolist() == [5.0, 6.0, 7.0, 8.0]
        return tr.escapes

    assert escapes(None) == 4 + 5 * 2
    assert escapes([float]) == 4 + 4 * 2                   # no probe


def test_code_run_in_a_namespace_without_a_module_name_converts_and_is_named():
    """Frames of code run by exec() in a bare namespace have no __name__ in their globals; the
    tracker's frame walks take them as ordinary callers."""
    tr = Tracker()
    (a,) = tr.track_args(np.arange(3.0))
    ns = {"np": np, "a": a}
    exec("out = np.asarray(a)", ns)
    assert ns["out"].tolist() == [0.0, 1.0, 2.0] and tr.escapes == 3
    exec("v = np.vectorize(lambda x: x + 1)(a)", ns)
    assert ns["v"].tolist() == [1.0, 2.0, 3.0] and tr.escapes == 6
    with pytest.raises(NotModelledError, match=r"^the call at <string>:1, which calls "
                                               r"numpy\.fft\.fft on a tracked array, is not"):
        exec("np.fft.fft(a)", ns)                          # no source text to quote
