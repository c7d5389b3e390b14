"""Giving memory the search no longer needs back to the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable
from functools import cache


@cache
def _trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
        return trim
    except (OSError, AttributeError):  # not glibc: nothing to trim, the allocator keeps it
        return None


def return_freed_memory() -> None:
    """Collect unreachable objects and let glibc return freed heap pages (a no-op elsewhere).

    A large model's Python and solver objects free hundreds of megabytes that glibc keeps in its
    heaps; the next search's peak would come on top of them.
    """
    gc.collect()
    trim = _trim()
    if trim is not None:
        trim(0)
