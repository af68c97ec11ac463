"""The record a tracked run produces and the cost models price: a scalar program.

This module imports nothing of the project: recording (metrics.tracking) and pricing (the rest
of metrics) both build on it.

Contract (shared by `metrics.tracking`, which writes it, and every cost model in `metrics`):

* Values are numbered 0, 1, 2, ... in creation order. Value v is created by instruction v: every
  instruction creates exactly one value (an escape such as float(x) creates one that is never
  read, which leaves the stack at once and so costs nothing).
* `nreads[v]` (uint8) is how many reads instruction v makes. 0 means v was pushed from outside at
  no cost: a function argument at initialization or an input that enters the program later.
* `reads` (int64) holds the value ids read, instruction after instruction, in read order:
  instruction v reads `reads[offsets[v] : offsets[v] + nreads[v]]`. A value read twice by one
  instruction (a + a) appears twice.
* `value_bytes[v]` (uint8): the width of value v in bytes.
* `phase[v]` (uint8): index into `phase_names` of the phase instruction v ran in; its reads are
  attributed to that phase.
* `label[v]` (uint16): index into `label_names` naming the array value v belongs to (0 is
  "(unnamed)"); a read of v is attributed to that label.
* `keep`: ids of the values that stay on the stack to the end (what the program returns).
* `buffer_events`: buffer-level events for ARD/DMC (docs/cost_model.md section 3): arrays `kind`
  (0 = write, 1 = read), `buffer` (int64 id) and `size` (elements).
* `escapes`: how many elements left tracking (float(), bool(), np.asarray(), ...).
* `escape_runs` (int64, (k, 2)): (first value id, count) of the escape instructions. Their
  outputs are Python numbers or plain data, not values of the program: never read, and not
  touched for reuse distances (docs/cost_model.md section 4).
* `elementwise_runs` (int64, (k, 2)): (first value id, count) of the instructions of elementwise
  operations (one instruction per output element: ufuncs, where, clip). Pricing ignores it;
  metrics.reorder uses it to evaluate elementwise chains one element at a time.

Large traces are held as a list of chunks (`TraceChunk`), each covering a contiguous range of
values, so that a run of 10^9 reads can be stored compactly and streamed: a chunk may be a
metrics.trace_store.PackedChunk (the same attributes, decoded on access) and `label` a
PackedLabel (slices and len()).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

WRITE, READ = 0, 1


def run_mask(runs, n: int) -> np.ndarray:
    """bool mask over value ids 0..n-1, True inside the (first value id, count) runs (as
    trace.escape_runs and trace.elementwise_runs hold them)."""
    mask = np.zeros(n, np.bool_)
    for first, count in np.asarray(runs, np.int64).reshape(-1, 2):
        mask[first:first + count] = True
    return mask


@dataclass
class TraceChunk:
    """Instructions first_value .. first_value + len(nreads) - 1 with their reads."""
    first_value: int
    nreads: np.ndarray        # uint8, (n,)
    reads: np.ndarray         # int64, (nreads.sum(),)
    value_bytes: np.ndarray   # uint8, (n,)
    phase: np.ndarray         # uint8, (n,)

    @property
    def n_values(self) -> int:
        return int(self.nreads.shape[0])

    @property
    def n_reads(self) -> int:
        return int(self.reads.shape[0])


@dataclass
class Trace:
    chunks: list                                  # list[TraceChunk], in value order
    keep: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    phase_names: list = field(default_factory=lambda: ["(none)"])
    label: np.ndarray | None = None               # uint16 (n_values,) or None
    label_names: list = field(default_factory=lambda: ["(unnamed)"])
    buffer_kind: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    buffer_id: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    buffer_size: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    escapes: int = 0
    escape_runs: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    elementwise_runs: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))

    @property
    def n_values(self) -> int:
        return sum(c.n_values for c in self.chunks)

    @property
    def n_reads(self) -> int:
        return sum(int(c.n_reads) for c in self.chunks)

    @classmethod
    def from_arrays(cls, nreads, reads, value_bytes, phase=None, **kw) -> "Trace":
        nreads = np.ascontiguousarray(nreads, dtype=np.uint8)
        n = nreads.shape[0]
        vb = np.ascontiguousarray(np.broadcast_to(np.asarray(value_bytes, dtype=np.uint8), (n,)))
        ph = np.zeros(n, np.uint8) if phase is None else np.ascontiguousarray(phase, dtype=np.uint8)
        chunk = TraceChunk(0, nreads, np.ascontiguousarray(reads, dtype=np.int64), vb, ph)
        keep = np.ascontiguousarray(kw.pop("keep", np.zeros(0, np.int64)), dtype=np.int64)
        return cls(chunks=[chunk], keep=keep, **kw)

    def arrays(self):
        """(nreads, reads, value_bytes, phase) of the whole trace, concatenated in memory."""
        if len(self.chunks) == 1:
            c = self.chunks[0]
            return c.nreads, c.reads, c.value_bytes, c.phase
        return (np.concatenate([c.nreads for c in self.chunks]),
                np.concatenate([c.reads for c in self.chunks]),
                np.concatenate([c.value_bytes for c in self.chunks]),
                np.concatenate([c.phase for c in self.chunks]))


class ProgramBuilder:
    """Write a scalar program by hand (for tests and examples): values are ints.

        p = ProgramBuilder(bytes_per_value=1)
        a0, a1 = p.push(), p.push()        # arguments, pushed in order (last pushed is on top)
        s = p.op(a0, a1)                   # one instruction reading a0 then a1
        trace = p.trace(keep=[s])
    """

    def __init__(self, bytes_per_value: int = 1):
        self.bytes = bytes_per_value
        self.nreads, self.reads, self.value_bytes, self.phase = [], [], [], []
        self._phase = 0
        self.phase_names = ["(none)"]

    def _new(self, reads, nbytes):
        self.nreads.append(len(reads))
        self.reads.extend(int(r) for r in reads)
        self.value_bytes.append(self.bytes if nbytes is None else nbytes)
        self.phase.append(self._phase)
        return len(self.nreads) - 1

    def push(self, nbytes: int | None = None) -> int:
        return self._new((), nbytes)

    def op(self, *inputs: int, nbytes: int | None = None) -> int:
        if not inputs:
            raise ValueError("an instruction reads at least one value; use push() for inputs")
        return self._new(inputs, nbytes)

    def set_phase(self, name: str):
        if name not in self.phase_names:
            self.phase_names.append(name)
        self._phase = self.phase_names.index(name)

    def trace(self, keep=()) -> Trace:
        return Trace.from_arrays(np.array(self.nreads, np.uint8), np.array(self.reads, np.int64),
                                 np.array(self.value_bytes, np.uint8), np.array(self.phase, np.uint8),
                                 keep=np.array(list(keep), np.int64),
                                 phase_names=list(self.phase_names))
