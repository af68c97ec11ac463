"""Every ByteDMD reference vector reproduced through its numpy form (tracked arrays)."""
import json
from pathlib import Path

import numpy as np
import pytest

from metrics.api import bytedmd, bytedmd_trace, trace_call
from metrics.oracle import oracle_bytedmd

from reference import load

VECTORS = load()["bytedmd"]


def make_arg(desc: str):
    kind = desc.split(":", 1)[1].strip()
    if kind == "scalar":
        return 1.0
    assert kind.startswith("shape"), desc
    shape = tuple(int(s) for s in kind[len("shape"):].strip(" ()").split(",") if s.strip())
    return np.ones(shape)


@pytest.mark.parametrize("vec", VECTORS, ids=[v["name"] for v in VECTORS])
def test_reference_vector(vec):
    func = eval(vec["numpy"])
    args = tuple(make_arg(a) for a in vec["args"])
    bpe = vec["bytes_per_element"]
    # the oracle on the tracked trace
    _, trace = trace_call(func, args, bytes_per_element=bpe)
    r = oracle_bytedmd(trace)
    assert r["cost"] == vec["cost"]
    assert r["reads"] == vec["reads"] == trace.n_reads
    if "trace" in vec:
        assert r["depths"] == vec["trace"]
    # the public API (engine when present)
    assert bytedmd(func, args, bytes_per_element=bpe) == vec["cost"]
    depths = bytedmd_trace(func, args, bytes_per_element=bpe)
    assert len(depths) == vec["reads"]
    if "trace" in vec:
        assert depths.tolist() == vec["trace"]


def test_all_vectors_present():
    assert len(VECTORS) >= 15
