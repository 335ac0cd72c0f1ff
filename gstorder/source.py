"""Frames from whatever the user passed: one object, opened once at the boundary.

:class:`Source` turns a path, a :class:`~gstorder.io.Trajectory`, a
:class:`~gstorder.frames.Frame`, an ``ase.Atoms`` or a list (or iterator) of
them into one thing with ``len``, ``read(k)`` and iteration. Every analysis,
the one-pass runner and its dask tasks read frames through it.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

from ase import Atoms

from . import _checks
from .errors import ArgumentTypeError, EmptyFrameError
from .frames import Frame, as_frame
from .io import Trajectory

__all__ = ["Source", "iter_frames", "selected_positions"]


class Source:
    """Frames by position: a trajectory file (read lazily, with its index of frame offsets) or frames in memory.

    Parameters
    ----------
    frames : path, Trajectory, Frame, ase.Atoms, Source, or a list or iterator of frames
        A path is opened as a :class:`~gstorder.io.Trajectory` with the
        reader options; an iterator is read as it is iterated, and only
        ``len`` or ``read`` (random access) keep its frames in memory.
    format, species, timestep_fs, groups
        As in :func:`gstorder.read_frames` (paths only).

    Examples
    --------
    >>> from gstorder import structures
    >>> from gstorder.source import Source
    >>> source = Source([structures.rocksalt("GeTe", 1, a=6.0)] * 3)
    >>> len(source), len(source.read(-1))
    (3, 8)
    """

    def __init__(self, frames: Any, *, format=None, species=None, timestep_fs=None, groups=None):
        if isinstance(frames, Source):
            self.trajectory, self._frames, self._stream = frames.trajectory, frames._frames, frames._stream
            return
        if isinstance(frames, (str, os.PathLike)):
            frames = Trajectory(frames, format=format, species=species, timestep_fs=timestep_fs, groups=groups)
        self.trajectory, self._frames, self._stream = None, None, None
        if isinstance(frames, Trajectory):
            self.trajectory = frames
        elif isinstance(frames, (Frame, Atoms)):  # one frame, whose len() counts atoms
            self._frames = [frames]
        elif isinstance(frames, (list, tuple)):
            self._frames = frames
        else:
            try:
                self._stream = iter(frames)
            except TypeError:
                raise ArgumentTypeError(f"frames must be a path, Frame, ase.Atoms, Trajectory or an iterable of them, got "
                                        f"{type(frames).__name__}") from None

    @property
    def path(self):
        """The trajectory file, or None for frames in memory."""
        return None if self.trajectory is None else self.trajectory.path

    @property
    def format(self) -> str:
        return "frames" if self.trajectory is None else self.trajectory.format

    def _materialised(self) -> list:
        if self._frames is None:
            self._frames, self._stream = list(self._stream), None
        return self._frames

    def __len__(self) -> int:
        if self.trajectory is not None:
            return len(self.trajectory)
        return len(self._materialised())

    def read(self, k: int) -> Frame:
        """Frame ``k`` (negative counts from the end)."""
        if self.trajectory is not None:
            return self.trajectory[k]
        return as_frame(self._materialised()[k])

    def iter(self, index=None) -> Iterator[Frame]:
        """Stream the frames ``index`` (an int or slice) selects, in order."""
        index = _checks.frame_index("index", index)
        if self.trajectory is not None:
            yield from self.trajectory.iter(index)
            return
        if self._stream is not None and index is not None and (not isinstance(index, slice) or any(
                (x or 0) < 0 for x in (index.start, index.stop))):
            self._materialised()  # negative positions need the length
        if self._stream is not None:
            stream, self._stream = self._stream, None  # an iterator is read once
            if index is None:
                items = stream
            else:
                import itertools

                sl = index if isinstance(index, slice) else slice(index, index + 1)
                items = itertools.islice(stream, sl.start, sl.stop, sl.step)
        else:
            frames = self._frames
            items = frames if index is None else frames[index] if isinstance(index, slice) else [frames[index]]
        for item in items:
            yield as_frame(item)

    def __iter__(self) -> Iterator[Frame]:
        return self.iter(None)

    def positions(self, index=None) -> list[int]:
        """File positions of the frames ``index`` selects (needs the length)."""
        return selected_positions(len(self), index)

    def task_source(self, positions):
        """What a dask task needs to read ``positions``: the trajectory (which seeks), or just those frames."""
        if self.trajectory is not None:
            return self.trajectory
        frames = self._materialised()
        return {k: as_frame(frames[k]) for k in positions}

    def describe(self) -> str:
        return str(self.path) if self.path is not None else "frames in memory"


def read_from(task_source, k: int) -> Frame:
    """Frame ``k`` of what :meth:`Source.task_source` gave a task."""
    return task_source[k]


def iter_frames(frames: Any, *, index: slice | int | None = None) -> Iterator[Frame]:
    """Iterate over frames given in any form gstorder accepts.

    Parameters
    ----------
    frames : path, Frame, ase.Atoms, Trajectory, or iterable of these
        A trajectory file path (read lazily with :func:`gstorder.read_frames`),
        a single frame or ``ase.Atoms``, or a list/iterator of them.
    index : slice or int, optional
        Which frames to use (``slice(start, stop, step)``); default all.

    Yields
    ------
    Frame
    """
    return Source(frames).iter(index)


def selected_positions(n: int, index) -> list[int]:
    """File positions of the frames ``index`` selects among ``n``."""
    if index is None:
        return list(range(n))
    index = _checks.frame_index("index", index)
    if isinstance(index, slice):
        return list(range(n)[index])
    k = index
    if not -n <= k < n:
        raise IndexError(f"frame {index} out of range for {n} frames")
    return [k % n]


def no_frames(desc: str, index) -> EmptyFrameError:
    return EmptyFrameError(f"no frames selected for {desc} (index {_checks.index_text(index)})")
