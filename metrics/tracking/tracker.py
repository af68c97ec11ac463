"""The Tracker: records one scalar program (the metrics.trace contract) while numpy code runs on
its TrackedArrays. See metrics/tracking/__init__.py for the whole picture.

    tr = Tracker()
    A, B = tr.track_args(A0, B0)          # ByteDMD eager initialization (first arg on top)
    with tr.phase("forward"):
        C = np.tanh(A @ B)
    tr.label(C, "C")                      # reads of C's values are attributed to "C"
    trace = tr.trace(keep=C)              # a metrics.trace.Trace
"""
from __future__ import annotations

import contextlib

import numpy as np

from metrics.trace import READ, WRITE, Trace, TraceChunk
from metrics.trace_store import PackedChunk, PackedLabel, SpillFolder, resolve_spill_dir
from metrics.tracking.array import TrackedArray
from metrics.tracking.errors import ReadBudgetExceeded, not_modelled
from metrics.tracking.escapes import escape
from metrics.tracking.layout import I64, fresh_ids, ids_like, same_pattern
from metrics.tracking.plain_operands import PLAIN_ARRAYS, PlainArrays

_NUMBERS = (int, float, complex, np.generic)


class Tracker:
    """Records one scalar program. See the module docstring.

    bytes_per_element: width of every value in bytes (default: each value's dtype itemsize).
    strict: raise EscapeError when tracked data leaves the model instead of counting it.
    spill_reads: once more than this many reads are buffered in memory, they are stored as one
      compressed chunk (metrics/trace_store.py: about 1 byte per read on the RNN rules), so very
      long runs do not sit in RAM; a trace of more values than this gets a compressed label.
    spill_dir: where the compressed chunks go: this folder (a subfolder of it, removed by
      `close`), else $RNN_DM_SPILL_DIR, else memory (metrics.trace_store.resolve_spill_dir).
    max_reads: raise ReadBudgetExceeded as soon as the program has made more reads than this
      (None: no budget), so a study can skip a measurement that would not fit its budget.
    plain_arrays: what an untracked ndarray with at least one element is when it is a data
      operand of a modelled operation (0-d arrays and numpy scalars are constants either way):
      "constant" (default; docs/cost_model.md section 1.5, as the reference tracer has it) --
      free, never on the stack; "input" -- brought in on first use, its elements pushed at no
      cost in C order, and recognised afterwards by object identity (plain_operands.py, docs/tracking.md).
    """

    def __init__(self, bytes_per_element: int | None = None, strict: bool = False, *,
                 spill_reads: int = 50_000_000, spill_dir: str | None = None,
                 max_reads: int | None = None, plain_arrays: str = "constant"):
        if plain_arrays not in PLAIN_ARRAYS:
            raise ValueError(f"plain_arrays must be one of {PLAIN_ARRAYS}, got {plain_arrays!r}")
        self.plain_arrays = plain_arrays
        self._plain = PlainArrays(self)       # the plain arrays brought in (plain_arrays="input")
        if bytes_per_element is not None:
            if isinstance(bytes_per_element, bool) or int(bytes_per_element) != bytes_per_element \
                    or not 1 <= int(bytes_per_element) <= 255:
                raise ValueError(f"bytes_per_element must be an integer in 1..255, got "
                                 f"{bytes_per_element!r}")
            bytes_per_element = int(bytes_per_element)
        self.bytes_per_element = bytes_per_element
        self.strict = bool(strict)
        self.escapes = 0
        self.n_values = 0                     # next value id
        self.spill_reads = int(spill_reads)
        self.max_reads = None if max_reads is None else int(max_reads)
        self.total_reads = 0                  # reads recorded so far (elements)
        self.spill_dir = resolve_spill_dir(spill_dir)
        self._spill_store = SpillFolder(self.spill_dir, prefix="tracker_spill_")
        self._chunks: list[TraceChunk] = []
        self._pending: list = []              # (n, nreads int|array, reads, width, phase)
        self._pending_first = 0
        self._pending_reads = 0
        self.phase_names = ["(none)"]
        self._phase = 0
        self.label_names = ["(unnamed)"]
        self._label_updates: list = []        # (ids array, label index), applied in order
        self._n_buffers = 0
        self._ev_kind: list = []
        self._ev_buf: list = []
        self._ev_size: list = []
        self._escape_runs: list = []          # (first value id, count) of escape instructions
        self._elementwise_runs: list = []     # (first value id, count) of elementwise ops

    # ---- recording primitives --------------------------------------------------------------
    def _width(self, dtype) -> int:
        if self.bytes_per_element is not None:
            return self.bytes_per_element
        w = np.dtype(dtype).itemsize
        if not 1 <= w <= 255:
            raise not_modelled(f"values of dtype {np.dtype(dtype)} (itemsize {w}; a value is "
                               "1 to 255 bytes wide)")
        return w

    def _append(self, n: int, nreads, reads: np.ndarray, width: int) -> int:
        """Append n instructions; returns the id of the first."""
        first = self.n_values
        if n == 0:
            return first
        self._pending.append((n, nreads, reads, width, self._phase))
        self.n_values += n
        self._pending_reads += int(reads.shape[0])
        self.total_reads += int(reads.shape[0])
        if self.max_reads is not None and self.total_reads > self.max_reads:
            self._pending, self._pending_reads = [], 0
            raise ReadBudgetExceeded(self.total_reads, self.max_reads)
        if self._pending_reads > self.spill_reads:
            self._flush(spill=True)
        return first

    def _flush(self, spill: bool = False):
        if not self._pending:
            return
        nr = np.concatenate([np.full(n, k, np.uint8) if isinstance(k, (int, np.integer))
                             else np.asarray(k, np.uint8) for n, k, _, _, _ in self._pending])
        reads = np.concatenate([r for _, _, r, _, _ in self._pending]).astype(I64, copy=False)
        ns = np.array([p[0] for p in self._pending], np.int64)
        vb = np.repeat(np.array([p[3] for p in self._pending], np.uint8), ns)
        ph = np.repeat(np.array([p[4] for p in self._pending], np.uint8), ns)
        first = self._pending_first
        self._pending, self._pending_reads = [], 0
        self._pending_first = self.n_values
        if spill:
            self._chunks.append(PackedChunk(first, nr, reads, vb, ph, self._spill_store))
        else:
            self._chunks.append(TraceChunk(first, nr, reads, vb, ph))

    def stored_bytes(self) -> int:
        """Bytes of the compressed chunks and label written to the spill directory so far."""
        return self._spill_store.disk_bytes()

    def close(self):
        """Remove the spilled files (a trace returned before cannot be priced afterwards)."""
        self._spill_store.close()

    def _event(self, kind: int, buf: int, size: int):
        self._ev_kind.append(kind)
        self._ev_buf.append(buf)
        self._ev_size.append(int(size))

    def _new_buffer(self) -> int:
        self._n_buffers += 1
        return self._n_buffers - 1

    def _wrap(self, data, ids, buf=None, write=True) -> TrackedArray:
        if buf is None:
            buf = self._new_buffer()
            if write:
                self._event(WRITE, buf, data.size)
        return TrackedArray(data, ids, self, buf)

    # ---- bringing data in --------------------------------------------------------------------
    def _push(self, x, label=None) -> TrackedArray:
        if isinstance(x, TrackedArray):
            raise ValueError("track(): the array is already tracked")
        data = np.asarray(x)
        if data.dtype == object:
            raise not_modelled("tracking an object array")
        if data.ndim and any(s == 0 for s, n in zip(data.strides, data.shape) if n > 1):
            data = data.copy()     # overlapping memory (a broadcast view): distinct elements
        n = data.size
        first = self._append(n, 0, np.zeros(0, I64), self._width(data.dtype))
        ids = fresh_ids(data, np.arange(first, first + n, dtype=I64))
        t = self._wrap(data, ids)
        if label is not None:
            self.label(t, label)
        return t

    def track(self, x, label: str | None = None) -> TrackedArray:
        """Bring plain data in: its elements are pushed at no cost, in C order (the last element
        ends on top). Python numbers become 0-d arrays. The data is not copied. `label`: as
        label(), for the new array."""
        return self._push(x, label)

    def operand(self, x):
        """A data operand of a modelled operation as the program sees it: under
        plain_arrays="input" an untracked ndarray with at least one element is brought in (first
        use) or recognised (later uses) and returned as a TrackedArray; anything else (tracked
        arrays, numbers, numpy scalars, 0-d and empty arrays, every operand under "constant") is
        returned unchanged; a tracked array of another tracker is refused. Index arrays are not
        data operands: never pass them here."""
        if isinstance(x, TrackedArray):
            self._check(x)
            return x
        if self.plain_arrays == "constant":
            return x
        return self._plain.operand(x)

    def operands(self, xs):
        """operand() of each element of the sequence xs, as a list."""
        return [self.operand(x) for x in xs]

    def track_args(self, *args):
        """ByteDMD eager initialization: the last argument is pushed first, C order within each,
        so that the first argument ends on top. Returns the tracked arguments, in order.
        Arguments are recognised by object identity, as the reference tracer does
        (docs/cost_model.md section 1.2): an array passed more than once is pushed once, at the slot
        of its last occurrence, and every occurrence is the same tracked array; a copy is a
        separate argument. (Numbers are values, not objects: each is pushed.)"""
        out = [None] * len(args)
        pushed = {}                       # id(argument) -> its tracked array
        for i in range(len(args) - 1, -1, -1):
            x = args[i]
            if isinstance(x, _NUMBERS):
                out[i] = self._push(x)
            elif id(x) in pushed:
                out[i] = pushed[id(x)]
            else:
                out[i] = pushed[id(x)] = self._push(x)
        return tuple(out)

    # ---- phases, labels ------------------------------------------------------------------------
    @contextlib.contextmanager
    def phase(self, name: str):
        """Tag the instructions run inside the block with phase `name`."""
        if name not in self.phase_names:
            if len(self.phase_names) >= 256:
                raise ValueError("at most 255 phases")
            self.phase_names.append(name)
        prev, self._phase = self._phase, self.phase_names.index(name)
        try:
            yield
        finally:
            self._phase = prev

    def label(self, arr, label: str):
        """Label the values currently held by `arr`: reads of them are attributed to `label`
        (Trace.label_names, PriceResult.label_cost, Report.by_label). Returns arr."""
        if not isinstance(arr, TrackedArray):
            raise TypeError(f"label() needs a TrackedArray, got {type(arr).__name__}")
        self._check(arr)
        if label not in self.label_names:
            if len(self.label_names) >= 65535:
                raise ValueError("at most 65534 labels")
            self.label_names.append(label)
        ids = arr.ids[arr.ids >= 0]
        if ids.size:
            self._label_updates.append((ids, self.label_names.index(label)))
        return arr

    # ---- the result ---------------------------------------------------------------------------
    def trace(self, keep=None, keep_ids=None) -> Trace:
        """The program recorded so far as a metrics.trace.Trace. `keep`: what the program
        returns (tracked arrays, or tuples/lists/dicts of them; other leaves are ignored); their
        values stay on the stack to the end. `keep_ids`: extra value ids to keep."""
        self._flush(spill=self._pending_reads > self.spill_reads)
        ids = [np.zeros(0, I64)]
        _collect_ids(keep, ids, self)
        if keep_ids is not None:
            ids.append(np.asarray(keep_ids, I64).ravel())
        keep_arr = np.unique(np.concatenate(ids))
        keep_arr = keep_arr[keep_arr >= 0]
        label = None
        if self._label_updates:
            n = self.n_values
            if n > self.spill_reads:
                bounds = [c.first_value for c in self._chunks] + [n]
                segments = []
                for lo, hi in zip(bounds[:-1], bounds[1:]):
                    seg = np.zeros(hi - lo, np.uint16)
                    for u, li in self._label_updates:
                        sel = u[(u >= lo) & (u < hi)]
                        seg[sel - lo] = li
                    segments.append(seg)
                label = PackedLabel(bounds, segments, self._spill_store)
            else:
                label = np.zeros(n, np.uint16)
                for u, li in self._label_updates:
                    label[u] = li
        return Trace(chunks=list(self._chunks), keep=keep_arr, phase_names=list(self.phase_names),
                     label=label, label_names=list(self.label_names),
                     buffer_kind=np.array(self._ev_kind, np.uint8),
                     buffer_id=np.array(self._ev_buf, np.int64),
                     buffer_size=np.array(self._ev_size, np.int64),
                     escapes=int(self.escapes),
                     escape_runs=np.array(self._escape_runs, np.int64).reshape(-1, 2),
                     elementwise_runs=np.array(self._elementwise_runs, np.int64).reshape(-1, 2))

    # ---- helpers ------------------------------------------------------------------------------
    def _check(self, t):
        if t.tracker is not self:
            raise ValueError("tracked arrays from different trackers cannot be mixed")

    def _read_events(self, arrays):
        """A buffer read event for each tracked array among `arrays` (an operation read it)."""
        for x in arrays:
            if isinstance(x, TrackedArray):
                self._event(READ, x._buf, x.size)

    def _rearranged(self, rd, ri, sources, read_size=None) -> TrackedArray:
        """Wrap the result of a rearranging op: `rd` computed on the data, `ri` by the very same
        call on the ids. A view of a source shares its buffer; a new array is a new buffer (read
        event per tracked source, of `read_size` elements, default the source's size, then a
        write event)."""
        rd = np.asarray(rd)
        ri = np.asarray(ri)
        srcs = [s for s in sources if isinstance(s, TrackedArray)]
        for s in srcs:
            if rd.size and np.may_share_memory(rd, s.data):
                if not (ri.size and np.may_share_memory(ri, s.ids)):
                    raise RuntimeError("internal: a view of the data is not a view of the ids")
                if not same_pattern(rd, ri):
                    raise RuntimeError("internal: data and ids views have different layouts")
                return TrackedArray(rd, ri, self, s._buf)
        if any(ri.size and np.may_share_memory(ri, s.ids) for s in srcs) or not same_pattern(rd, ri):
            fixed = ids_like(rd)
            fixed[...] = ri
            ri = fixed
        for s in srcs:
            self._event(READ, s._buf, s.size if read_size is None else read_size)
        return self._wrap(rd, ri)

    def _store(self, rd, new_ids_c, out) -> TrackedArray:
        """Wrap a computed result `rd` (its new ids in C order), or write it into `out` (a
        tracked array: its slots now hold the new values; a plain one: the values escape)."""
        if out is None:
            return self._wrap(rd, fresh_ids(rd, new_ids_c))
        if isinstance(out, TrackedArray):
            out.ids[...] = np.asarray(new_ids_c).reshape(out.shape)
            self._event(WRITE, out._buf, out.size)
            return out
        escape(self, new_ids_c, self._width(rd.dtype), self._new_buffer(), rd.size,
               "out= into an untracked array")
        return out


def _collect_ids(obj, out: list, tracker):
    if isinstance(obj, TrackedArray):
        tracker._check(obj)
        out.append(obj.ids.ravel())
    elif isinstance(obj, dict):
        for v in obj.values():
            _collect_ids(v, out, tracker)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect_ids(v, out, tracker)
