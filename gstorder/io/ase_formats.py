"""ASE ``.traj``, POSCAR/CONTCAR and CIF files, read through ASE."""

from __future__ import annotations

from ..errors import TrajectoryFormatError
from ..frames import as_frame
from ._common import _StreamError, _cell_problem, _check_memory, _label, _no_frames, _open_binary
from ._text import MAX_DIGITS, _LineReader, _too_many_digits


class _AseReader:
    """Formats read through ASE (ASE .traj is random access already)."""

    ase_format = None

    def __init__(self, path, **_):
        self.path = path

    def _check(self):
        """Refuse what ASE would read at a cost out of proportion to the file (before ASE sees it)."""

    def _open(self):
        import ase.io

        self._check()
        try:
            if self.ase_format == "traj":
                from ase.io.trajectory import Trajectory as AseTrajectory

                frames = AseTrajectory(str(self.path))
            else:
                frames = ase.io.read(str(self.path), index=":", format=self.ase_format)
        except Exception as exc:  # ASE raises many types for corrupt files
            raise TrajectoryFormatError(f"{self.path}: cannot be read as {self.ase_format}: {exc}") from exc
        if len(frames) == 0:
            raise _no_frames(self.path)
        return frames

    def offsets(self):
        return list(range(len(self._open())))

    def _frame(self, frames, k):
        try:
            frame = as_frame(frames[k])
        except Exception as exc:  # a corrupt record deep in a .traj
            raise TrajectoryFormatError(f"{self.path}: frame {k}: {exc}") from exc
        problem = _cell_problem(frame)
        if problem:
            raise TrajectoryFormatError(f"{self.path}: frame {k}: {problem}")
        return _label(frame, self.path, k)

    def read_at(self, offset, k):
        return self._frame(self._open(), offset)

    def stream(self, start, stop, step):
        frames = self._open()
        n = len(frames)
        for k in range(start, n if stop is None else min(stop, n), step):
            yield self._frame(frames, k)


class _TrajReader(_AseReader):
    ase_format = "traj"


class _PoscarReader(_AseReader):
    ase_format = "vasp"

    def _check(self):
        """Refuse atom counts the file cannot hold: ASE makes a list entry and a position for each before reading one.

        The counts line is the sixth line (VASP 4) or the seventh (after the
        species line of VASP 5); ``!`` starts a comment, as ASE reads it.
        """
        try:
            with _open_binary(self.path) as fh:
                lr = _LineReader(fh)
                lines = lr.readlines(6)
                n = _counts(lines[5]) if len(lines) == 6 else None
                if n is None and len(lines) == 6:
                    lines += lr.readlines(1)
                    n = _counts(lines[6]) if len(lines) == 7 else None
                left = lr.remaining()
        except _StreamError as exc:
            raise TrajectoryFormatError(f"{self.path}: line {lr.lineno + 1}: {exc.detail}") from None
        if isinstance(n, str):
            raise TrajectoryFormatError(f"{self.path}: line {len(lines)}: {n}")
        if n is None:
            return  # no counts line: ASE says what it finds
        if left is None:
            _check_memory(self.path, 0, n, 128)  # ASE: a symbol entry, positions, numbers and more per atom
        elif 2 * n - 1 > left:  # each coordinate line takes at least a character and its line end
            raise TrajectoryFormatError(f"{self.path}: line {len(lines)}: the counts declare {n} atoms, whose "
                                        f"coordinate lines the {left} bytes left in the file cannot hold (truncated "
                                        "or corrupt)")


def _counts(line: bytes):
    """The number of atoms a POSCAR counts line declares, None if the line holds no counts, or why it is refused."""
    words = line.split(b"!")[0].split()
    if not words or not all(w.isdigit() for w in words):
        return None
    too_long = max(words, key=len)
    if len(too_long) > MAX_DIGITS:
        return "atom counts must be integers" + _too_many_digits(too_long)
    return sum(int(w) for w in words)


class _CifReader(_AseReader):
    ase_format = "cif"
