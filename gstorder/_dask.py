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

from ._progress import Progress
from .errors import EmptyFrameError, InvalidArgumentError
from .frames import Frame, as_frame
from .parallel import threads
from .pipeline import _sink, check_frame, frame_parts, frame_time, results, selected_positions

__all__ = ["run_on_dask", "local_client"]


@contextlib.contextmanager
def local_client(workers: int):
    """A temporary local dask cluster of ``workers`` processes (one task thread each) and its client."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise ImportError("running on several workers needs dask.distributed: pip install distributed") from exc
    workers = int(workers)
    if workers < 1:
        raise InvalidArgumentError(f"workers must be a positive integer, got {workers}")
    with _main_not_rerun():
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=40)
    with cluster, Client(cluster) as client:
        yield client


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


class _Source:
    """Frames a task can read by position: a trajectory file (with its frame offsets) or frames in memory."""

    def __init__(self, frames):
        from .io import Trajectory

        if isinstance(frames, (str, os.PathLike)):
            frames = Trajectory(frames)
        if isinstance(frames, Trajectory):
            self.trajectory, self.frames = frames, None
            len(frames)  # index the frame offsets once, here, so tasks seek
        else:
            if isinstance(frames, Frame) or not hasattr(frames, "__iter__") or hasattr(frames, "get_positions"):
                frames = [frames]
            self.trajectory, self.frames = None, [as_frame(f) for f in frames]

    def __len__(self) -> int:
        return len(self.trajectory) if self.trajectory is not None else len(self.frames)

    def task_source(self, positions):
        """What a task needs to read ``positions``: the trajectory itself, or just those frames."""
        if self.trajectory is not None:
            return self.trajectory
        return {k: self.frames[k] for k in positions}

    @staticmethod
    def read(source, k) -> Frame:
        return source[k]


class _First:
    """What frame checks need of the first frame (not the frame itself)."""

    def __init__(self, frame: Frame):
        self.n, self.formula, self.text = len(frame), frame.formula, frame.describe()

    def __len__(self) -> int:
        return self.n

    def describe(self) -> str:
        return self.text


def _analyse_chunk(analyses, source, positions, first, n_threads, block_size, parallel, same_composition, desc):
    """Parts of every analysis for the frames at ``positions`` (one dask task)."""
    out = []
    with threads(n_threads):
        for k in positions:
            frame = _Source.read(source, k)
            if not len(frame):
                raise EmptyFrameError(f"{frame.describe()} has no atoms; {desc} needs at least one")
            check_frame(frame, first, analyses, same_composition)
            out.append((frame_time(frame), frame_parts(frame, analyses, block_size=block_size, parallel=parallel)))
    return out


def _analyse_in_order(analyses, source, positions, n_threads, desc):
    """Times, parts and final state of the sequential analyses over every frame, in order (one dask task)."""
    parts, times = [[] for _ in analyses], []
    with threads(n_threads):
        for k in positions:
            frame = _Source.read(source, k)
            if not len(frame):
                raise EmptyFrameError(f"{frame.describe()} has no atoms; {desc} needs at least one")
            for store, part in zip(parts, frame_parts(frame, analyses)):
                store.append(part)
            times.append(frame_time(frame))
    return times, parts, analyses  # their state (e.g. the layers found) is what their results are made of


def _task_threads(client) -> int:
    """Numba threads per task: the cores of a worker's host shared among the workers on it."""
    cores = client.run(os.cpu_count)
    info = client.scheduler_info(n_workers=-1)["workers"]
    per_host = {}
    for address in info:
        host = info[address].get("host", address)
        per_host.setdefault(host, []).append(cores.get(address) or 1)
    return max(1, min(c[0] // len(c) for c in per_host.values())) if per_host else 1


def run_on_dask(frames, analyses, *, client=None, workers=None, index=None, block_size=None, parallel=None,
                show_progress=None, desc="", same_composition=False, atoms_sink=None, chunk_frames=None) -> dict:
    """:func:`gstorder.pipeline.run` with chunks of frames as tasks on a dask client (or a local cluster of ``workers``)."""
    if client is None:
        with local_client(workers) as own:
            return run_on_dask(frames, analyses, client=own, index=index, block_size=block_size, parallel=parallel,
                               show_progress=show_progress, desc=desc, same_composition=same_composition,
                               atoms_sink=atoms_sink, chunk_frames=chunk_frames)
    from dask.distributed import as_completed

    source = _Source(frames)
    positions = selected_positions(len(source), index)
    if not positions:
        raise EmptyFrameError(f"no frames selected for {desc} (index={index!r})")
    first = _Source.read(source.task_source(positions[:1]), positions[0])
    if not len(first):
        raise EmptyFrameError(f"{first.describe()} has no atoms; {desc} needs at least one")
    for a in analyses:
        a.setup(first)
    in_order = [a for a in analyses if a.sequential]
    chunked = [a for a in analyses if not a.sequential]
    n_workers = max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
    n_threads = _task_threads(client)
    if chunk_frames is None:
        chunk_frames = max(1, min(16, math.ceil(len(positions) / (4 * n_workers))))
    elif int(chunk_frames) < 1:
        raise InvalidArgumentError(f"chunk_frames must be a positive integer, got {chunk_frames}")
    chunks = [positions[k : k + int(chunk_frames)] for k in range(0, len(positions), int(chunk_frames))]
    where = {k: n for n, k in enumerate(positions)}
    by_frame, times = [None] * len(positions), [None] * len(positions)
    sequential_parts = None
    bar = Progress(total=len(positions), desc=desc, show=show_progress)
    futures = as_completed()
    pending = {}
    try:
        shipped = client.scatter(chunked, broadcast=True) if chunked else None
        if in_order:
            seq = client.submit(_analyse_in_order, in_order, source.task_source(positions), positions, n_threads, desc,
                                pure=False)
            pending[seq] = None
            futures.add(seq)
        todo = iter(chunks)

        def submit_next():
            chunk = next(todo, None)
            if chunk is not None and chunked:
                f = client.submit(_analyse_chunk, shipped, source.task_source(chunk), chunk, _First(first), n_threads,
                                  block_size, parallel, same_composition, desc, pure=False)
                pending[f] = chunk
                futures.add(f)

        for _ in range(2 * n_workers):
            submit_next()
        for future in futures:
            chunk = pending.pop(future)
            if chunk is None:
                sequential_times, sequential_parts, in_order = future.result()
                if not chunked:
                    bar.update(len(positions))
                continue
            for k, (time, parts) in zip(chunk, future.result()):
                n = where[k]
                times[n] = time
                by_frame[n] = [_sink(atoms_sink, n, time, part) for part in parts]
            bar.update(len(chunk))
            submit_next()
    finally:
        bar.close()
        for future in list(pending):
            future.cancel()
    if not chunked:  # only sequential analyses: their task read the times
        times = sequential_times
    parts = {a.name: [row[m] for row in by_frame] for m, a in enumerate(chunked)}
    for a, p in zip(in_order, sequential_parts or []):
        parts[a.name] = [_sink(atoms_sink, n, times[n], part) for n, part in enumerate(p)]
    finished = {a.name: a for a in in_order}
    analyses = [finished.get(a.name, a) for a in analyses]
    return results(analyses, [parts[a.name] for a in analyses], times)
