"""The tracker's errors, and how it names a numpy call in them."""
from __future__ import annotations


class NotModelledError(TypeError):
    """A numpy function, ufunc, method or keyword the tracker does not model."""


class EscapeError(RuntimeError):
    """Tracked data left the model (float(), bool(), np.asarray(), ...) under strict=True."""


class ReadBudgetExceeded(RuntimeError):
    """The program read more values than the Tracker's `max_reads` allowed (units: element reads)."""

    def __init__(self, reads: int, max_reads: int):
        super().__init__(f"tracked program exceeded its read budget: {reads} reads > "
                         f"max_reads {max_reads}")
        self.reads, self.max_reads = reads, max_reads


def fname(func) -> str:
    """'numpy.linalg.norm' for np.linalg.norm: the module and qualified name of a callable."""
    mod = getattr(func, "__module__", None) or "numpy"
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    return f"{mod}.{name}"


def not_modelled(what: str) -> NotModelledError:
    return NotModelledError(f"{what} is not modelled by the tracker")
