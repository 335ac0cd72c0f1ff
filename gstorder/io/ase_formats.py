"""ASE ``.traj``, POSCAR/CONTCAR and CIF files, read through ASE."""

from __future__ import annotations

from ..errors import TrajectoryFormatError
from ..frames import as_frame
from ._common import _label, _no_frames


class _AseReader:
    """Formats read through ASE (ASE .traj is random access already)."""

    ase_format = None

    def __init__(self, path, **_):
        self.path = path

    def _open(self):
        import ase.io

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


class _CifReader(_AseReader):
    ase_format = "cif"
