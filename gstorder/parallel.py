"""Thread control for gstorder's Numba kernels."""

from __future__ import annotations

import contextlib

import numba

from . import _checks

__all__ = ["threads", "use_parallel", "n_tasks", "DEFAULT_BLOCK_SIZE"]


@contextlib.contextmanager
def threads(n: int | None):
    """Run the enclosed code with ``n`` Numba threads, then restore the old count.

    Parameters
    ----------
    n : int or None
        Number of threads (1 runs the serial kernels); ``None`` changes nothing.

    Examples
    --------
    >>> import gstorder
    >>> with gstorder.threads(1):
    ...     pass
    """
    if n is None:
        yield
        return
    n = _checks.count("threads", n, maximum=numba.config.NUMBA_NUM_THREADS)
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(old)


def use_parallel(work_items: int, threshold: int = 2048) -> bool:
    """Whether a parallel kernel pays for ``work_items`` items."""
    return numba.get_num_threads() > 1 and work_items >= threshold


#: Atoms per block of centres: bounds the pairs held at once on device-scale frames.
DEFAULT_BLOCK_SIZE = 65536


def n_tasks(work_items: int, parallel=None) -> int:
    """Number of kernel tasks (each with its own histogram buffer): 1 for serial runs."""
    if parallel is None:
        parallel = use_parallel(work_items)
    return 4 * numba.get_num_threads() if parallel else 1
