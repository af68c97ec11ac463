"""Compact storage of big traces: trace chunks and label arrays kept zlib-compressed, in memory or
in files under a spill directory, decoded when a cost model reads them.

The on-disk (and in-memory) format of one stored chunk (`PackedChunk`), instructions
first_value .. first_value + n - 1:

    reads   stored as the distance from the reading instruction back to the value read,
            rel = reader id - read id (>= 1 for a valid trace; any int64 round-trips), as int32
            when every distance fits, else int64, then zlib level 1. Reads are mostly of recent
            values and in regular patterns, so this takes about 1 byte per read on the RNN
            rules (BPTT: ~1.0 byte per read, against 8 for the raw int64 ids).
    nreads, value_bytes, phase      uint8 per value, zlib level 1 (long runs: ~0 bytes)
    label segment (`PackedLabel`)   uint16 per value, zlib level 1

Decoding gives exactly the arrays that were stored (the tests check the round trip), so every
price of a stored trace equals the price of the same trace in memory.

Where the files go (`resolve_spill_dir`): the `spill_dir` argument when given, else the
directory named by the environment variable RNN_DM_SPILL_DIR (the studies set it from
`--spill-dir`, default `<--out>/spill`), else nowhere: the compressed chunks stay in memory
(about 1.2 bytes per read). The system temp folder is used only when asked for by name. Each
writer makes its own subfolder (`mkdtemp`) under the spill directory and removes it when closed;
before writing it checks the free space (`check_free_space`) and fails with `SpillSpaceError`
naming the folder, the bytes needed and the bytes free.

Units: bytes; ids are value ids (metrics/trace.py).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import weakref
import zlib

import numpy as np

SPILL_ENV = "RNN_DM_SPILL_DIR"
BYTES_PER_READ_ESTIMATE = 2.0      # upper estimate of a stored trace, bytes per read (free space)
_LEVEL = 1                          # zlib level: ~1 byte per read at ~300 MB/s


class SpillSpaceError(OSError):
    """Not enough free space in the spill directory for a trace."""


def resolve_spill_dir(spill_dir=None) -> str | None:
    """The spill directory: `spill_dir` if given, else $RNN_DM_SPILL_DIR if set (non-empty),
    else None (keep compressed chunks in memory)."""
    if spill_dir is None:
        spill_dir = os.environ.get(SPILL_ENV) or None
    if spill_dir is None:
        return None
    if not isinstance(spill_dir, (str, os.PathLike)):
        raise TypeError(f"spill_dir must be a folder path or None, got {type(spill_dir).__name__}")
    return os.fspath(spill_dir)


def check_free_space(folder: str, need_bytes: float, what: str = "the trace") -> None:
    """Raise SpillSpaceError unless `folder` (or its nearest existing parent) has more than
    `need_bytes` free."""
    probe = os.path.abspath(folder)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    free = shutil.disk_usage(probe).free
    if need_bytes >= free:
        raise SpillSpaceError(f"spill directory {folder}: {what} needs about "
                              f"{need_bytes / 1e9:.2f} GB but only {free / 1e9:.2f} GB are free "
                              f"(choose another with spill_dir= / --spill-dir / ${SPILL_ENV})")


def _pack(a: np.ndarray) -> bytes:
    return zlib.compress(np.ascontiguousarray(a).tobytes(), _LEVEL)


def _unpack(blob: bytes, dtype) -> np.ndarray:
    return np.frombuffer(zlib.decompress(blob), dtype=dtype)


class SpillFolder:
    """Where one writer's blobs live: a subfolder of the spill directory (removed by `close`,
    or when the writer is garbage-collected), or memory when the spill directory is None."""

    def __init__(self, parent: str | None, prefix: str = "trace_"):
        self.parent = parent
        self.path = None
        self._made_parent = False
        self._finalizer = None
        self._prefix = prefix
        self._count = 0

    def _folder(self) -> str:
        if self.path is None:
            if not os.path.isdir(self.parent):
                os.makedirs(self.parent, exist_ok=True)
                self._made_parent = True
            self.path = tempfile.mkdtemp(prefix=self._prefix, dir=self.parent)
            self._finalizer = weakref.finalize(self, _remove, self.path,
                                               self.parent if self._made_parent else None)
        return self.path

    def put(self, blob: bytes):
        """Store a blob; returns a handle for `get` (the bytes themselves when in memory)."""
        if self.parent is None:
            return blob
        folder = self._folder()
        check_free_space(folder, len(blob) + (1 << 20), "a trace chunk")
        path = os.path.join(folder, f"{self._count:06d}.z")
        self._count += 1
        with open(path, "wb") as f:
            f.write(blob)
        return path

    @staticmethod
    def get(handle) -> bytes:
        if isinstance(handle, bytes):
            return handle
        with open(handle, "rb") as f:
            return f.read()

    def disk_bytes(self) -> int:
        """Bytes of the files written so far (0 in memory)."""
        if self.path is None or not os.path.isdir(self.path):
            return 0
        return sum(os.path.getsize(os.path.join(self.path, f)) for f in os.listdir(self.path))

    def close(self):
        if self._finalizer is not None:
            self._finalizer()


def _remove(path, parent):
    shutil.rmtree(path, ignore_errors=True)
    if parent is not None:
        try:
            os.rmdir(parent)              # the spill directory this writer created, if now empty
        except OSError:
            pass


class PackedChunk:
    """A metrics.trace.TraceChunk stored compactly (module docstring); the arrays `nreads`,
    `reads`, `value_bytes`, `phase` are decoded on each access (hold the result while using it)."""

    def __init__(self, first_value: int, nreads, reads, value_bytes, phase, store: SpillFolder):
        nreads = np.ascontiguousarray(nreads, np.uint8)
        reads = np.asarray(reads, np.int64)
        self.first_value = int(first_value)
        self._n = int(nreads.shape[0])
        self._m = int(reads.shape[0])
        rel = self._readers(nreads) - reads
        self._rel_dtype = np.int32 if (not rel.size or (int(rel.min()) >= -2 ** 31
                                                       and int(rel.max()) < 2 ** 31)) else np.int64
        self._store = store
        self._h = {k: store.put(_pack(a)) for k, a in (
            ("nreads", nreads), ("reads", rel.astype(self._rel_dtype)),
            ("value_bytes", np.asarray(value_bytes, np.uint8)),
            ("phase", np.asarray(phase, np.uint8)))}

    def _readers(self, nreads) -> np.ndarray:
        return np.repeat(np.arange(self.first_value, self.first_value + self._n, dtype=np.int64),
                         nreads)

    def _get(self, key, dtype):
        return _unpack(self._store.get(self._h[key]), dtype)

    @property
    def n_values(self) -> int:
        return self._n

    @property
    def n_reads(self) -> int:
        return self._m

    @property
    def nreads(self) -> np.ndarray:
        return self._get("nreads", np.uint8)

    @property
    def reads(self) -> np.ndarray:
        rel = self._get("reads", self._rel_dtype)
        out = self._readers(self.nreads)
        out -= rel
        return out

    @property
    def value_bytes(self) -> np.ndarray:
        return self._get("value_bytes", np.uint8)

    @property
    def phase(self) -> np.ndarray:
        return self._get("phase", np.uint8)

    def stored_bytes(self) -> int:
        return sum(len(h) if isinstance(h, bytes) else os.path.getsize(h) for h in self._h.values())


class PackedLabel:
    """A trace's uint16 label array stored in compressed segments (one per chunk range); slicing
    decodes the segments it touches. `len()` is the number of values."""

    def __init__(self, bounds: list, segments: list, store: SpillFolder):
        self._bounds = [int(b) for b in bounds]           # segment k covers bounds[k]..bounds[k+1]
        self._store = store
        self._h = [store.put(_pack(np.asarray(s, np.uint16))) for s in segments]
        self.dtype = np.dtype(np.uint16)

    def __len__(self) -> int:
        return self._bounds[-1]

    @property
    def shape(self) -> tuple:
        return (len(self),)

    def __getitem__(self, key):
        if not isinstance(key, slice):
            raise TypeError("PackedLabel supports slices only")
        start, stop, step = key.indices(len(self))
        if step != 1:
            raise TypeError("PackedLabel supports step-1 slices only")
        parts = []
        for k in range(len(self._h)):
            lo, hi = self._bounds[k], self._bounds[k + 1]
            if hi <= start or lo >= stop or hi == lo:
                continue
            seg = _unpack(self._store.get(self._h[k]), np.uint16)
            parts.append(seg[max(start, lo) - lo:min(stop, hi) - lo])
        return np.concatenate(parts) if parts else np.zeros(0, np.uint16)

    def __array__(self, dtype=None, copy=None):
        a = self[:]
        return a if dtype is None else a.astype(dtype)

    def stored_bytes(self) -> int:
        return sum(len(h) if isinstance(h, bytes) else os.path.getsize(h) for h in self._h)
