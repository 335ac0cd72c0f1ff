""":func:`read_frames`, :class:`Trajectory` and :func:`read_groups`: a file's format guessed or named, and its
frames streamed or read at random through that format's reader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from .._checks import choice, frame_index, positive
from ..errors import ArgumentTypeError, InvalidArgumentError, TrajectoryFormatError, UnknownFormatError
from ..frames import Frame
from ._common import _DECOMPRESSORS, _open_binary
from .ase_formats import _CifReader, _PoscarReader, _TrajReader
from .extxyz import _ExtxyzReader
from .lammps_binary import _LammpsBinaryReader
from .lammps_dump import _LammpsDumpReader
from .netcdf import _NetcdfReader
from .xdatcar import _XdatcarReader


FORMATS = ("extxyz", "lammps-dump", "lammps-dump-binary", "netcdf", "xdatcar", "traj", "poscar", "cif")


def read_frames(path, *, index=None, format=None, species=None, timestep_fs=None, units="metal",
                groups=None) -> Iterator[Frame]:
    """Stream frames from a trajectory file.

    Parameters
    ----------
    path : str or path-like
        The trajectory file.
    index : int or slice, optional
        Which frames: an int (negative counts from the end) or a
        ``slice(start, stop, step)``; default all. Frames outside the
        selection are skipped without being parsed.
    format : str, optional
        One of :data:`FORMATS`; guessed from the name and first line if
        omitted.
    species : dict or sequence, optional
        Element of each numeric type for LAMMPS dumps (``{1: 'Ge', 2: 'Sb',
        3: 'Te'}`` or ``['Ge', 'Sb', 'Te']`` for types 1, 2, 3) and for
        VASP files without a species line.
    timestep_fs : float, optional
        MD time step in fs, to turn LAMMPS step numbers into times.
    units : {'metal', 'real'}
        LAMMPS units of a dump (velocities Å/ps or Å/fs).
    groups : path or dict, optional
        LAMMPS groups of a dump's atoms: a file of ``group NAME id ...``
        lines (``groups.lmp`` of :func:`gstorder.md.lammps_deck`) or a dict
        name -> atom ids. Each group becomes a boolean per-atom array, so
        ``fixed`` and ``heater`` tags survive a LAMMPS run (the temperature
        map then leaves the fixed atoms out, as it does for ASE runs).

    Yields
    ------
    Frame

    Raises
    ------
    TrajectoryFormatError
        For a truncated, corrupt or inconsistent file, or one without frames;
        the message names the file, the frame and the line.
    InvalidArgumentError, ArgumentTypeError
        For ``units``, ``timestep_fs`` (finite, > 0) or ``index`` (integers,
        positive step) out of range or of the wrong type.
    IndexError
        For an integer ``index`` beyond the last frame.

    Warns
    -----
    GstorderWarning
        Once per frame holding NaN or infinite positions or velocities,
        naming the file, the frame and the first such atom.
    """
    traj = Trajectory(path, format=format, species=species, timestep_fs=timestep_fs, units=units, groups=groups)
    yield from traj.iter(index)


def read_groups(source) -> dict[str, np.ndarray]:
    """LAMMPS groups as atom ids: from a file of ``group NAME id ID ...`` / ``group NAME empty`` lines, or a dict.

    Lines naming the same group add to it; other commands and comments are
    skipped; ``id`` ranges ``A:B`` are expanded.
    """
    if isinstance(source, dict):
        return {str(k): np.asarray(v, dtype=np.int64).reshape(-1) for k, v in source.items()}
    groups: dict[str, list] = {}
    with open(source, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            words = raw.decode("utf-8", "replace").split("#")[0].split()
            if len(words) < 3 or words[0] != "group":
                continue
            name, style, args = words[1], words[2], words[3:]
            ids = groups.setdefault(name, [])
            if style == "empty":
                continue
            if style != "id":
                raise TrajectoryFormatError(f"{source}: line {lineno}: group style {style!r}; only 'id' lists (and 'empty') are read")
            for word in args:
                lo, _, hi = word.partition(":")
                try:
                    ids.extend(range(int(lo), int(hi or lo) + 1))
                except ValueError:
                    raise TrajectoryFormatError(f"{source}: line {lineno}: {word!r} is not an atom id or range") from None
    return {name: np.array(ids, dtype=np.int64) for name, ids in groups.items()}


class Trajectory:
    """A trajectory file opened for lazy, random access.

    ``len(traj)`` counts frames (scanning the file once, without parsing
    atoms), ``traj[k]`` reads one frame, ``traj[a:b:c]`` returns a list, and
    iteration streams. Parameters as in :func:`read_frames`.

    A file that changes after it was indexed (a run still appending to it, a
    truncated or rewritten file; seen by its size, modification time and
    inode) is indexed again at the next ``len()`` or ``traj[k]``, so frames
    are always read from the file as it is.
    """

    def __init__(self, path, *, format=None, species=None, timestep_fs=None, units="metal", groups=None):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no trajectory file at {str(self.path)!r}")
        if format is not None and not isinstance(format, str):
            raise ArgumentTypeError(f"format must be a string, one of {', '.join(FORMATS)}; got {type(format).__name__}")
        self.format = _guess_format(self.path) if format is None else _ASE_NAMES.get(format, format)
        if self.format not in FORMATS:
            raise UnknownFormatError(f"format={format!r} is not supported; choose one of {', '.join(FORMATS)}")
        choice("units", units, ("metal", "real"))
        if timestep_fs is not None:
            timestep_fs = positive("timestep_fs", timestep_fs, unit="fs")
        if groups is not None and self.format != "lammps-dump":
            raise InvalidArgumentError(f"groups= names atoms by LAMMPS id and applies to LAMMPS dumps, not {self.format} files")
        self._options = dict(species=species, timestep_fs=timestep_fs, units=units)
        self._groups = None if groups is None else read_groups(groups)
        self._new_reader()

    def _new_reader(self):
        self._reader = _READERS[self.format](self.path, **self._options)
        if self._groups is not None:
            self._reader.groups = self._groups
        self._offsets = None
        self._stamp = None

    def __repr__(self):
        return f"Trajectory({str(self.path)!r}, format={self.format!r})"

    def _file_stamp(self):
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise FileNotFoundError(f"the trajectory file {str(self.path)!r} is gone (it was there when opened)") from None
        return stat.st_size, stat.st_mtime_ns, stat.st_ino

    def _index(self):
        """The frame offsets, indexed afresh when the file changed (size, modification time or inode) since the
        last indexing: an appended, truncated or rewritten file is read as it is now, never through stale offsets."""
        stamp = self._file_stamp()
        if self._offsets is not None and stamp != self._stamp:
            self._new_reader()  # drops the offsets and what the reader cached (XDATCAR headers, dump units)
        if self._offsets is None:
            self._offsets = self._reader.offsets()
            self._stamp = stamp
        return self._offsets

    def __len__(self) -> int:
        return len(self._index())

    def __getitem__(self, key):
        if isinstance(key, slice):
            return list(self.iter(key))
        key = frame_index("index", key)
        was = self._stamp
        offsets = self._index()
        n = len(offsets)
        k = key + n if key < 0 else key
        if not 0 <= k < n:
            changed = " (the file changed since it was last indexed)" if was is not None and was != self._stamp else ""
            raise IndexError(f"frame {key} out of range for {n} frames in {self.path}{changed}")
        return self._reader.read_at(offsets[k], k)

    def __iter__(self) -> Iterator[Frame]:
        return self.iter(None)

    def iter(self, index=None) -> Iterator[Frame]:
        """Stream the frames selected by ``index`` (int or slice)."""
        index = slice(None) if index is None else frame_index("index", index)
        if not isinstance(index, slice):
            yield self[index]
            return
        start, stop, step = index.start, index.stop, index.step
        if (start or 0) < 0 or (stop or 0) < 0:
            start, stop, step = slice(start, stop, step).indices(len(self))
        start, step = start or 0, step or 1
        yield from self._reader.stream(start, stop, step)


#: ASE's names of the formats gstorder reads itself.
_ASE_NAMES = {"lammps-dump-text": "lammps-dump", "lammps-dump-binary": "lammps-dump-binary", "vasp-xdatcar": "xdatcar",
              "vasp": "poscar", "netcdftrajectory": "netcdf"}


def _guess_format(path: Path) -> str:
    name = path.name.lower()
    if path.suffix.lower() in _DECOMPRESSORS:
        name = name[: -len(path.suffix)]
    suffix = Path(name).suffix
    if suffix in (".xyz", ".extxyz"):
        return "extxyz"
    if suffix == ".traj":
        return "traj"
    if suffix in (".nc", ".ncdf", ".netcdf"):
        return "netcdf"
    if suffix == ".bin":
        return "lammps-dump-binary"
    if suffix == ".cif":
        return "cif"
    if "xdatcar" in name:
        return "xdatcar"
    if any(k in name for k in ("poscar", "contcar")) or suffix == ".vasp":
        return "poscar"
    if suffix in (".lammpstrj", ".dump") or "dump" in name:
        return "lammps-dump"
    with _open_binary(path) as fh:
        head = fh.read(32)
    if head[8:18] == b"DUMPCUSTOM" or head[8:16] == b"DUMPATOM":
        return "lammps-dump-binary"
    if head.startswith((b"CDF", b"\x89HDF")):
        return "netcdf"
    first = head.split(b"\n", 1)[0].strip()
    if first.startswith(b"ITEM:"):
        return "lammps-dump"
    if first.isdigit():
        return "extxyz"
    raise UnknownFormatError(f"cannot guess the format of {str(path)!r}; pass format= one of {', '.join(FORMATS)}")


_READERS = {
    "extxyz": _ExtxyzReader,
    "lammps-dump": _LammpsDumpReader,
    "lammps-dump-binary": _LammpsBinaryReader,
    "netcdf": _NetcdfReader,
    "xdatcar": _XdatcarReader,
    "traj": _TrajReader,
    "poscar": _PoscarReader,
    "cif": _CifReader,
}
