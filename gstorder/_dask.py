"""The one-pass runner on dask.distributed: chunks of frames as tasks, parts gathered and reduced in frame order.

Each task reads its frames itself (a :class:`~gstorder.io.Trajectory`
travels with its frame offsets, so a task seeks to its frames instead of
re-reading the file from the start; in-memory frames travel with the task)
and returns every analysis' :class:`~gstorder.pipeline.Part` of each frame.
The client keeps a bounded number of tasks in flight, streams per-atom
arrays to the sink as they arrive, and reduces the parts in frame order, so
the results equal the in-process ones. Analyses that follow atoms from frame
to frame (``sequential``) run as one task over all frames, beside the others.
"""

from __future__ import annotations

import contextlib
import math
import os

from . import _checks
from ._progress import Progress
from .errors import EmptyFrameError, InvalidArgumentError
from .frames import Frame
from .parallel import threads
from .pipeline import Plan, add_seconds, analyse_frames, sink
from .source import Source, no_frames, read_from

__all__ = ["run_on_dask", "local_client", "check_workers", "MAX_LOCAL_WORKERS"]

#: Most worker processes a local cluster may start: four per core (more only thrash; a cluster has a scheduler for that).
MAX_LOCAL_WORKERS = 4 * (os.cpu_count() or 1)


def check_workers(name: str, value) -> int:
    """A number of local worker processes: a positive integer, at most :data:`MAX_LOCAL_WORKERS`."""
    value = _checks.count(name, value)
    if value > MAX_LOCAL_WORKERS:
        raise InvalidArgumentError(f"{name}={value}: a local cluster takes at most {MAX_LOCAL_WORKERS} worker processes "
                                   "on this machine (4 per core); for more, start a dask cluster and pass its scheduler")
    return value


#: Workers of gstorder's own clusters keep glibc's malloc defaults. dask sets MALLOC_TRIM_THRESHOLD_=65536 in its
#: workers to hand freed memory back sooner; setting it at all switches off glibc's adaptive mmap threshold, so
#: every array above 128 kB is mapped afresh and page-faulted in: 8 % of a device frame's one pass (36.7 s against
#: 33.9 s for 2 frames on one worker, docs/benchmarks.md). For your own cluster, set
#: ``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_`` to null in its dask config likewise.
KEEP_MALLOC_DEFAULTS = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


@contextlib.contextmanager
def local_client(workers: int):
    """A temporary local dask cluster of ``workers`` processes (one task thread each) and its client."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise ImportError("running on several workers needs dask.distributed: pip install distributed") from exc
    import dask

    workers = int(workers)
    with _main_not_rerun(), _interrupts_to_this_process(), dask.config.set(KEEP_MALLOC_DEFAULTS):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=50)  # CRITICAL: a worker losing its scheduler on Ctrl-C logs an ERROR
    with cluster, Client(cluster) as client:
        yield client


@contextlib.contextmanager
def _interrupts_to_this_process():
    """Start worker processes with Ctrl-C ignored: this process stops the run (and them) alone, in one line.

    A Ctrl-C goes to the whole process group; workers that took it too would
    each print a traceback. An ignored signal stays ignored in the processes
    started meanwhile (a handler would not: exec resets it, and a blocked
    signal does not reach dask's worker-starting thread). The price: a Ctrl-C
    during the cluster's start (seconds) is ignored; from then on it stops the run.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def stop_workers(timeout: float = 5.0) -> None:
    """Terminate the worker processes this process started (after an interrupt), so none is left behind."""
    import multiprocessing

    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    for child in children:
        child.join(timeout)
        if child.is_alive():
            child.kill()


@contextlib.contextmanager
def _main_not_rerun():
    """Start worker processes without re-running the user's script in them.

    Spawned processes re-execute the ``__main__`` file: a script piped to
    ``python -`` (``__file__`` is ``<stdin>``) then kills every worker, and a
    script without an ``if __name__ == "__main__"`` guard would start
    clusters recursively. gstorder's tasks need nothing from ``__main__``
    (dask pickles objects defined there by value), so hide its path meanwhile.
    """
    import sys

    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


class _First:
    """What frame checks need of the first frame (not the frame itself)."""

    def __init__(self, frame: Frame):
        self.n, self.formula, self.text = len(frame), frame.formula, frame.describe()
        self.numbers = frame.numbers.astype("u1")  # atom by atom (atomic numbers < 256): 0.5 MB per 532,980 atoms

    def __len__(self) -> int:
        return self.n

    def describe(self) -> str:
        return self.text


def _analyse_task(plan: Plan, task_source, numbered, n_threads):
    """One dask task: the loop body over ``(n, file position)`` pairs, reading each frame from ``task_source``.

    Returns the rows, the sequential analyses (their final state) or None, and the seconds per stage.

    ``n_threads`` is the host's share per worker, capped by the worker's own
    Numba limit (NUMBA_NUM_THREADS, e.g. 1 for workers of one core each).
    """
    import numba

    seconds = {}
    with threads(min(n_threads, numba.config.NUMBA_NUM_THREADS)):
        rows = list(analyse_frames(plan, ((n, read_from(task_source, k)) for n, k in numbered), seconds))
    return rows, (plan.analyses if any(a.sequential for a in plan.analyses) else None), seconds


def _task_threads(client) -> int:
    """Numba threads per task: the cores of a worker's host shared among the workers on it."""
    cores = client.run(os.cpu_count)
    info = client.scheduler_info(n_workers=-1)["workers"]
    per_host = {}
    for address in info:
        host = info[address].get("host", address)
        per_host.setdefault(host, []).append(cores.get(address) or 1)
    return max(1, min(c[0] // len(c) for c in per_host.values())) if per_host else 1


def run_on_dask(source: Source, plan: Plan, *, index=None, client=None, workers=None, show_progress=None, atoms_sink=None,
                chunk_frames=None, seconds=None):
    """The frames of :func:`gstorder.pipeline.run` as dask tasks: parts (name -> {n: Part}) and times (n -> ps).

    Chunks of frames go to tasks of the analyses that take frames in any
    order; the sequential ones (MSD, layer tracking) run as one task over
    every frame, in order. Both run the one loop body,
    :func:`~gstorder.pipeline.analyse_frames`; ``seconds`` (optional) sums
    the tasks' seconds per stage.
    """
    if client is None:
        with local_client(workers) as own:
            return run_on_dask(source, plan, index=index, client=own, show_progress=show_progress, atoms_sink=atoms_sink,
                               chunk_frames=chunk_frames, seconds=seconds)
    from dask.distributed import as_completed

    positions = source.positions(index)
    if not positions:
        raise no_frames(plan.desc, index)
    first = source.read(positions[0])
    if not len(first):
        raise EmptyFrameError(f"{first.describe()} has no atoms; {plan.desc} needs at least one")
    for a in plan.analyses:
        a.setup(first)
    in_order = [a for a in plan.analyses if a.sequential]
    chunked = [a for a in plan.analyses if not a.sequential]
    n_workers = max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
    n_threads = _task_threads(client)
    if chunk_frames is None:
        chunk_frames = max(1, min(16, math.ceil(len(positions) / (4 * n_workers))))
    numbered = list(enumerate(positions))
    chunks = [numbered[k : k + chunk_frames] for k in range(0, len(numbered), chunk_frames)]
    parts, times = {a.name: {} for a in plan.analyses}, {}
    finished = {}
    bar = Progress(total=len(positions), desc=plan.desc, show=show_progress)
    futures = as_completed()
    pending = {}

    def task_plan(analyses):
        return Plan(analyses, plan.frames_of, _First(first), plan.same_composition, plan.block_size, plan.parallel,
                    plan.desc)

    try:
        if in_order:
            wanted = [(n, k) for n, k in numbered if any(plan.takes(a, n) for a in in_order)]
            seq = client.submit(_analyse_task, task_plan(in_order), source.task_source([k for _, k in wanted]), wanted,
                                n_threads, pure=False)
            pending[seq] = None
            futures.add(seq)
        shipped = client.scatter(task_plan(chunked), broadcast=True) if chunked else None
        todo = iter(chunks)

        def submit_next():
            chunk = next(todo, None)
            if chunk is not None and chunked:
                f = client.submit(_analyse_task, shipped, source.task_source([k for _, k in chunk]), chunk, n_threads,
                                  pure=False)
                pending[f] = chunk
                futures.add(f)

        for _ in range(2 * n_workers):
            submit_next()
        for future in futures:
            chunk = pending.pop(future)
            rows, state, spent = future.result()
            if seconds is not None:
                add_seconds(seconds, spent)
            if state is not None:  # the sequential analyses' final state (e.g. the layers found) makes their results
                finished.update({a.name: a for a in state})
            for n, time, frame_parts in rows:
                times[n] = time
                for name, part in frame_parts.items():
                    parts[name][n] = sink(atoms_sink, n, time, part)
            if chunk is None:
                if not chunked:
                    bar.update(len(positions))
                continue
            bar.update(len(chunk))
            submit_next()
    finally:
        bar.close()
        for future in list(pending):
            future.cancel()
    plan.analyses[:] = [finished.get(a.name, a) for a in plan.analyses]
    return parts, times
