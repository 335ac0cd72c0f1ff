"""Thread control for gstorder's Numba kernels."""

from __future__ import annotations

import contextlib
import functools
from concurrent.futures import ThreadPoolExecutor

import numba

from . import _checks

__all__ = ["threads", "use_parallel", "n_tasks", "DEFAULT_BLOCK_SIZE", "one_blas_thread", "thread_count", "thread_map",
           "over_row_chunks"]


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


@functools.cache
def _blas():
    """The loaded BLAS libraries, scanned once (each ``threadpool_limits`` call rescans them: 7 ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def one_blas_thread():
    """Run the enclosed code with every BLAS on one thread.

    Threaded OpenBLAS busy-waits after each product and so slows the Numba
    kernels that follow; gstorder splits its products over threads of its
    own instead (:func:`over_row_chunks`).
    """
    with _blas().limit(limits=1, user_api="blas"):
        yield


@functools.cache
def _pool(n: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=n, thread_name_prefix="gstorder")


def thread_count(work_items: int, parallel=None, threshold: int = 2048) -> int:
    """Threads for ``work_items`` items: the Numba thread count where a parallel kernel pays, else 1.

    ``parallel`` True or False forces the choice; None asks :func:`use_parallel`.
    """
    return numba.get_num_threads() if (use_parallel(work_items, threshold) if parallel is None else parallel) else 1


def thread_map(work, items, n_threads: int) -> list:
    """``[work(x) for x in items]`` on ``n_threads`` threads of one shared pool (in this thread for 1).

    For Numba kernels compiled ``nogil`` and NumPy work that releases the
    GIL; results in the order of ``items``; exceptions propagate.
    """
    if n_threads <= 1:
        return [work(x) for x in items]
    return list(_pool(n_threads).map(work, items))


def over_row_chunks(work, n_rows: int, parallel=None) -> None:
    """Call ``work(start, stop)`` on consecutive chunks of ``range(n_rows)``, one per thread, concurrently.

    For NumPy work that releases the GIL (products on one BLAS thread each,
    element-wise arithmetic); threads as :func:`thread_count` says.
    """
    n = max(1, min(thread_count(n_rows, parallel), n_rows))
    bounds = [n_rows * k // n for k in range(n + 1)]
    thread_map(lambda k: work(bounds[k], bounds[k + 1]), range(n), n)
