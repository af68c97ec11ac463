"""Slow, obviously correct ByteDMD: a Python list as the LRU stack (docs/cost_model.md section 1).

The oracle every fast implementation is tested against. Do not optimize it.
"""
from __future__ import annotations

import math

from metrics.trace import Trace


def ceil_sqrt(n: int) -> int:
    r = math.isqrt(n)
    return r if r * r == n else r + 1


def byte_cost(depth_end: int, nbytes: int) -> int:
    """Cost of reading an element whose bytes occupy depths depth_end - nbytes + 1 .. depth_end."""
    return sum(ceil_sqrt(d) for d in range(depth_end - nbytes + 1, depth_end + 1))


def oracle_bytedmd(trace: Trace) -> dict:
    """Returns {"cost", "reads", "depths" (element depth of each read), "byte_depths" (depth in
    bytes of each read's deepest byte), "phase_cost" (dict by phase name)}."""
    nreads, reads, value_bytes, phase = (list(map(int, a)) for a in trace.arrays())
    keep = set(int(k) for k in trace.keep)
    n = len(nreads)

    # last read position of every value (by read index)
    last_read = {}
    for i, r in enumerate(reads):
        last_read[r] = i

    stack = []            # value ids, bottom first; the top of the stack is stack[-1]
    cost = 0
    depths, byte_depths = [], []
    phase_cost = {name: 0 for name in trace.phase_names}
    pos = 0
    for v in range(n):
        k = nreads[v]
        ins = reads[pos:pos + k]
        # 1. price every input against the stack as it was before the instruction
        for r in ins:
            idx = stack.index(r)  # raises if the value is not live: a malformed trace
            above = stack[idx:]
            d_bytes = sum(value_bytes[u] for u in above)
            c = byte_cost(d_bytes, value_bytes[r])
            cost += c
            phase_cost[trace.phase_names[phase[v]]] += c
            depths.append(len(above))
            byte_depths.append(d_bytes)
        # 2. distinct inputs move to the top in read order; a value read for the last time leaves
        seen = []
        for r in ins:
            if r not in seen:
                seen.append(r)
        for j, r in enumerate(seen):
            stack.remove(r)
        last_here = pos + k - 1
        for r in seen:
            if last_read[r] <= last_here and r not in keep:
                continue
            stack.append(r)
        # 3. the output is pushed for free; a value never read (and not kept) leaves at once
        if v in last_read or v in keep:
            stack.append(v)
        pos += k
    return {"cost": cost, "reads": len(reads), "depths": depths, "byte_depths": byte_depths,
            "phase_cost": phase_cost}


def oracle_reuse_distances(addresses) -> list:
    """LRU stack distance of each access: distinct other addresses since the previous access to
    the same address; -1 for a first access. A plain list simulation."""
    stack, out = [], []
    for a in addresses:
        a = int(a)
        if a in stack:
            i = stack.index(a)
            out.append(len(stack) - 1 - i)
            stack.pop(i)
        else:
            out.append(-1)
        stack.append(a)
    return out


def oracle_ard_dmc(events) -> tuple[float, float]:
    """ARD and DMC over (kind, buffer, size) events, docs/cost_model.md section 3."""
    clock, stamp = 0, {}
    num = den = dmc = 0.0
    for kind, buf, size in events:
        if kind == "write":
            stamp[buf] = clock
        elif kind == "read":
            if buf in stamp:
                dist = clock - stamp[buf]
                num += size * dist
                den += size
                dmc += size * math.sqrt(dist)
        else:
            raise ValueError(f"unknown event kind {kind!r}")
        clock += size
    return (num / den if den else 0.0), dmc
