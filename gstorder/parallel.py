"""Thread control for gstorder's Numba kernels."""

from __future__ import annotations

import contextlib

import numba

__all__ = ["threads", "use_parallel", "map_frames"]


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
    n = int(n)
    if not 1 <= n <= numba.config.NUMBA_NUM_THREADS:
        raise ValueError(f"threads must be between 1 and {numba.config.NUMBA_NUM_THREADS}, got {n}")
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(old)


def use_parallel(work_items: int, threshold: int = 2048) -> bool:
    """Whether a parallel kernel pays for ``work_items`` items."""
    return numba.get_num_threads() > 1 and work_items >= threshold


_SHARED = None


def _init_worker(shared, threads):
    global _SHARED
    _SHARED = shared
    numba.set_num_threads(threads)


def _call(func, frame):
    return func(frame, _SHARED)


def map_frames(func, frames, *, shared=None, workers: int | None = None):
    """Yield ``(frame, func(frame, shared))`` for each frame, in order.

    With ``workers`` > 1 the calls run in that many worker processes (started
    fresh, so Numba's threads are never forked), each with one Numba thread;
    at most ``2 * workers`` frames are in flight, so memory stays bounded on
    long trajectories. ``func`` must be a module-level function and
    ``shared`` picklable; it is sent to each worker once.

    Parameters
    ----------
    func : callable
        ``func(frame, shared) -> result``.
    frames : iterable of Frame
    shared : object
        Read-only data every call needs (e.g. reference environments).
    workers : int, optional
        Processes; ``None`` or 1 runs in this process.
    """
    if workers is None or workers == 1:
        for frame in frames:
            yield frame, func(frame, shared)
        return
    workers = int(workers)
    if workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers}")
    import collections
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(shared, 1)) as pool:
        pending = collections.deque()
        for frame in frames:
            pending.append((frame, pool.submit(_call, func, frame)))
            if len(pending) >= 2 * workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
