"""Reading trajectories frame by frame, without loading whole files.

:func:`read_frames` streams :class:`~gstorder.frames.Frame` objects from
extended XYZ, LAMMPS text dumps, VASP XDATCAR, ASE ``.traj``, POSCAR and CIF
files. :class:`Trajectory` adds ``len()`` and random access (it indexes the
frame offsets on first use).

Units on the way in
-------------------
Positions become Å, velocities Å/ps and times ps:

* extended XYZ: ``velo``/``vel``/``velocities`` columns are read as Å/fs
  (the libAtoms/quippy and GPUMD convention), ``momenta`` as ASE momenta
  (written by ``ase.io.write``); ``time_ps=`` is ps, ``time_fs=``, ``Time=``
  and ``time=`` are fs.
* LAMMPS dumps: ``units metal`` (velocities Å/ps, ``ITEM: TIME`` in ps) by
  default, or ``units="real"`` (Å/fs, fs). Without ``ITEM: TIME`` the time is
  ``step * timestep_fs / 1000`` when ``timestep_fs`` is given.
"""

from __future__ import annotations

import bz2
import gzip
import itertools
import lzma
import os
import re
import struct
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
from ase.data import atomic_numbers

from .._kernels.text import (BAD_NUMBER, OK, TOKEN_WIDTH, deferred_tokens, first_non_integer, format_rows, line_end,
                            newlines, parse_table)
from .._checks import choice, frame_index, positive
from ..errors import (ArgumentTypeError, GstorderWarning, InconsistentFramesError, InvalidArgumentError,
                     MissingDataError, TrajectoryFormatError, UnknownFormatError, UnknownSpeciesError)
from ..frames import ASE_VELOCITY_TO_A_PER_PS, Frame, as_frame, species_numbers
from ..parallel import n_tasks

__all__ = ["read_frames", "read_groups", "Trajectory", "write_lammps_dump", "FORMATS"]

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
        self._reader = _READERS[self.format](self.path, species=species, timestep_fs=timestep_fs, units=units)
        if groups is not None:
            self._reader.groups = read_groups(groups)
        self._offsets = None

    def __repr__(self):
        return f"Trajectory({str(self.path)!r}, format={self.format!r})"

    def _index(self):
        if self._offsets is None:
            self._offsets = self._reader.offsets()
        return self._offsets

    def __len__(self) -> int:
        return len(self._index())

    def __getitem__(self, key):
        if isinstance(key, slice):
            return list(self.iter(key))
        key = frame_index("index", key)
        n = len(self)
        k = key + n if key < 0 else key
        if not 0 <= k < n:
            raise IndexError(f"frame {key} out of range for {n} frames in {self.path}")
        return self._reader.read_at(self._index()[k], k)

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


# --------------------------------------------------------------------------- helpers


#: Compressed files are read through these, chosen by the last suffix; the format is guessed from the name before it.
_DECOMPRESSORS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open, ".lzma": lzma.open}

#: ASE's names of the formats gstorder reads itself.
_ASE_NAMES = {"lammps-dump-text": "lammps-dump", "lammps-dump-binary": "lammps-dump-binary", "vasp-xdatcar": "xdatcar",
              "vasp": "poscar", "netcdftrajectory": "netcdf"}


def _open_binary(path):
    """``path`` opened for reading bytes, decompressed on the fly when it ends in .gz, .bz2 or .xz."""
    return _DECOMPRESSORS.get(Path(path).suffix.lower(), open)(path, "rb")


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


def _label(frame: Frame, path, k: int) -> Frame:
    """Record where a frame came from (used in error messages), warning once if it holds NaN or infinite values."""
    frame.info["file"] = str(path)
    frame.info["frame_index"] = k
    _warn_non_finite(frame, path, k)
    return frame


def _warn_non_finite(frame: Frame, path, k: int) -> None:
    """One :class:`GstorderWarning` for a frame whose positions or velocities hold NaN or infinities.

    ASE and LAMMPS write and read such values; the analyses would turn them
    into NaN results far from their cause, so the warning names the file,
    the frame, the first bad atom (0-based, in the frame's order) and how
    many atoms are affected.
    """
    parts, total = [], np.zeros(len(frame), dtype=bool)
    for quantity, values in (("positions", frame.positions), ("velocities", frame.velocities)):
        if values is None or not values.size or (np.isfinite(values.min()) and np.isfinite(values.max())):
            continue  # the common case, in two passes without a per-entry mask (min and max propagate NaN)
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            atom = int(np.flatnonzero(bad)[0])
            parts.append(f"atom {atom} has non-finite {quantity} ({values[atom].tolist()})")
            total |= bad
    if parts:
        n = int(total.sum())
        warnings.warn(f"{path}: frame {k}: {'; '.join(parts)}; {n} atom{'s' * (n != 1)} in all", GstorderWarning,
                      stacklevel=4)


def _no_frames(path) -> TrajectoryFormatError:
    return TrajectoryFormatError(f"{path}: no frames (the file is empty or holds only blank lines)")


def _type_map(species) -> dict[int, int]:
    """Numeric LAMMPS/VASP type -> atomic number."""
    if species is None:
        return {}
    if isinstance(species, dict):
        keys, values = list(species.keys()), list(species.values())
    else:
        if isinstance(species, (str, bytes)) or not hasattr(species, "__iter__"):
            raise ArgumentTypeError(f"species must be a dict type -> element or a list of elements, got {species!r}")
        values = list(species)
        keys = list(range(1, len(values) + 1))
    numbers = species_numbers(values)
    return {int(k): int(z) for k, z in zip(keys, numbers)}


class _LineReader:
    """Buffered binary line reader that counts lines (1-based) for error messages.

    ``read_table_lines`` hands a whole block of lines to the Numba table
    parser as one byte array, without splitting it into Python objects.
    """

    CHUNK = 1 << 22
    #: Most bytes reserved ahead for a table (beyond it the buffer grows by half as lines arrive).
    MAX_ESTIMATE = 1 << 30

    def __init__(self, fh, lineno=0):
        self.fh = fh
        self.lineno = lineno
        self.base = fh.tell()  # file offset of buf[0]
        self.buf = b""
        self.pos = 0

    def tell(self):
        return self.base + self.pos, self.lineno

    def _more(self) -> bool:
        chunk = self.fh.read(self.CHUNK)
        if not chunk:
            return False
        self.base += self.pos
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def readline(self) -> bytes:
        end = self.buf.find(b"\n", self.pos)
        while end < 0:
            searched = len(self.buf) - self.pos
            if not self._more():
                line = bytes(self.buf[self.pos :])
                self.pos = len(self.buf)
                if line:
                    self.lineno += 1
                return line
            end = self.buf.find(b"\n", searched)
        line = bytes(self.buf[self.pos : end + 1])  # the buffer may be a bytearray after a table
        self.pos = end + 1
        self.lineno += 1
        return line

    def peek(self) -> bytes:
        """The next line, left unread (empty at the end of the file)."""
        while self.buf.find(b"\n", self.pos) < 0 and self._more():
            pass
        end = self.buf.find(b"\n", self.pos)
        return bytes(self.buf[self.pos : len(self.buf) if end < 0 else end + 1])

    def skip_blank(self) -> int:
        """Move past blank lines; the number of the last one skipped (0 if none)."""
        last = 0
        while True:
            line = self.peek()
            if not line or line.strip():
                return last
            self.readline()
            last = self.lineno

    def readlines(self, n) -> list[bytes]:
        out = []
        for _ in range(n):
            line = self.readline()
            if not line:
                break
            out.append(line)
        return out

    def skip_lines(self, n) -> int:
        """Move past the next ``n`` lines without reading them (indexing frames); how many there were."""
        found = 0
        while True:
            end, got = line_end(np.frombuffer(self.buf, np.uint8)[self.pos :], n - found)
            if end >= 0:
                self.pos += end
                found = n
                break
            found += got
            partial = len(self.buf) > self.pos and not self.buf.endswith(b"\n")
            self.base += len(self.buf)
            self.buf, self.pos = self.fh.read(4 * self.CHUNK), 0
            if not self.buf:  # end of file: a last line without its newline still counts
                found += partial
                break
        self.lineno += found
        return found

    def read_table_lines(self, n) -> tuple[np.ndarray, np.ndarray]:
        """The next ``n`` lines as (bytes as a uint8 array, offset of each line in it); fewer at the end of the file.

        Reads what the lines so far say the rest will take, straight into one
        array (no per-chunk copies of a 30 MB frame), and finds the line
        ends in parallel.
        """
        head = np.frombuffer(self.buf, np.uint8)[self.pos :]
        ends = newlines(head, 0, len(head), n_tasks(len(head)))
        if len(ends) >= n:
            data, size = head, len(head)
        else:
            average = (ends[-1] + 1) / len(ends) if len(ends) else 64.0
            estimate = min(int((n - len(ends)) * average * 1.02), self.MAX_ESTIMATE)  # a corrupt count reserves no more
            data = np.empty(len(head) + estimate + self.CHUNK, np.uint8)
            data[: len(head)] = head
            size = len(head)
            while len(ends) < n:
                if size == len(data):  # the estimate fell short: grow
                    data = np.concatenate([data, np.empty(len(data) // 2, np.uint8)])
                got = self.fh.readinto(memoryview(data)[size:])
                if not got:
                    break
                ends = np.concatenate([ends, newlines(data, size, size + got, n_tasks(got))])
                size += got
        if len(ends) >= n:
            stop = int(ends[n - 1]) + 1
        else:  # end of file: a last line without its newline still counts
            stop = size
            if size and (not len(ends) or ends[-1] != size - 1):
                ends = np.append(ends, size - 1)
        found = min(n, len(ends))
        starts = np.empty(found, np.int64)
        if found:
            starts[0] = 0
            starts[1:] = ends[: found - 1] + 1
        self.lineno += found
        self.base += self.pos + stop
        self.buf, self.pos = bytes(data[stop:size]), 0
        return data[:stop], starts


def _read_table(reader, k, first_line, buf, starts, names, text=()) -> tuple[np.ndarray, np.ndarray]:
    """Columns ``names`` of the lines at ``starts``: numbers (n, columns not in ``text``) and text (n, columns in ``text``).

    Numbers equal Python's ``float()`` of each token; a malformed row raises
    :class:`TrajectoryFormatError` naming its line and column.
    """
    kinds = np.array([1 if name in text else 0 for name in names], dtype=np.int64)
    n = len(starts)
    numbers = np.empty((n, int((kinds == 0).sum())))
    chars = np.zeros((n, int(kinds.sum()), _TEXT_WIDTH), np.uint8)
    status, row, deferred = parse_table(buf, starts, kinds, numbers, chars, n_tasks(n))
    if status != OK:
        line = _line_text(buf, starts, row)
        tokens = line.split()
        if status != BAD_NUMBER:
            message = f"expected {len(names)} columns, found {len(tokens)}: {_text(line)!r}"
        else:
            c = next((c for c, (tok, kind) in enumerate(zip(tokens, kinds)) if not _is_token(tok, kind)), None)
            message = f"cannot read {names[c]} from {_text(tokens[c])!r}" if c is not None else f"cannot read {_text(line)!r}"
        raise reader.error(k, first_line + row, message)
    if deferred:
        rows, cols, digits = deferred_tokens(buf, starts, kinds, numbers, chars, deferred)
        numbers[rows, cols] = digits.view(f"S{TOKEN_WIDTH}").ravel().astype(float)
    return numbers, chars.view(f"S{_TEXT_WIDTH}")[..., 0]


#: Longest text field of a table (species names, flags).
_TEXT_WIDTH = 16


def _line_text(buf, starts, row) -> bytes:
    """Row ``row`` of a table, as bytes split the way the table parser splits them (at most its first 200 bytes)."""
    return bytes(buf[starts[row] : starts[row] + 200]).split(b"\n", 1)[0].strip()


def _text(data: bytes, width=80) -> str:
    """Bytes from a file for an error message: undecodable bytes replaced, at most ``width`` characters."""
    return data.decode(errors="replace")[:width]


#: A count or step: ASCII digits only (``int()`` would also take ``1_0`` and other scripts' digits).
_INTEGER = re.compile(r"[0-9]+")

#: A number as ``float()`` reads it, without the underscores and non-ASCII digits ``float()`` also takes.
_FLOAT = re.compile(rb"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)", re.IGNORECASE)


def _floats(text) -> np.ndarray | None:
    """The numbers of a header line (str or bytes) split at ASCII whitespace, as tables are; None if any is not one."""
    words = (text.encode(errors="replace") if isinstance(text, str) else text).split()
    if not all(_FLOAT.fullmatch(w) for w in words):
        return None
    return np.array([float(w) for w in words])


def _is_token(tok: bytes, kind: int) -> bool:
    if kind == 1:
        return len(tok) <= _TEXT_WIDTH
    data = np.frombuffer(tok, np.uint8)
    out = np.empty((1, 1))
    return parse_table(data, np.zeros(1, np.int64), np.zeros(1, np.int64), out, np.zeros((1, 0, 1), np.uint8), 1)[0] == OK


class _TextReader:
    """Common streaming logic for block-structured text formats.

    Subclasses implement ``_read_block(lr, k)`` returning the raw block (or
    ``None`` at a clean end of file) and ``_parse(block, k)`` returning a
    :class:`Frame`.
    """

    def __init__(self, path, *, species=None, timestep_fs=None, units="metal"):
        self.groups = {}
        self.path = path
        self.types = _type_map(species)
        self.timestep_fs = timestep_fs
        self.units = units

    def error(self, k, lineno, message):
        return TrajectoryFormatError(f"{self.path}: frame {k}, line {lineno}: {message}")

    #: True while :meth:`offsets` scans the file: atom lines are then skipped, not read.
    _scanning = False

    def offsets(self):
        out = []
        self._scanning = True
        try:
            with _open_binary(self.path) as fh:
                lr = _LineReader(fh)
                k = 0
                while True:
                    pos = lr.tell()
                    if self._read_block(lr, k) is None:
                        if not out:
                            raise _no_frames(self.path)
                        return out
                    out.append(pos)
                    k += 1
        finally:
            self._scanning = False

    def _table_lines(self, lr, k, n):
        """The next ``n`` atom lines of frame k for :func:`_read_table` (``None`` while scanning); truncation is an error."""
        if n == 0:  # a frame without atoms: no line is its (the line readers would take "the last line" for line -1)
            return None if self._scanning else (np.empty(0, np.uint8), np.empty(0, np.int64))
        found = lr.skip_lines(n) if self._scanning else None
        if found is None:
            table = lr.read_table_lines(n)
            found = len(table[1])
        if found < n:
            raise self.error(k, lr.lineno + 1, f"file ends after {found} of {n} atom lines (truncated?)")
        return None if self._scanning else table

    def read_at(self, offset, k):
        pos, lineno = offset
        with _open_binary(self.path) as fh:
            fh.seek(pos)
            lr = _LineReader(fh, lineno)
            self._seek_state(k)
            block = self._read_block(lr, k)
            if block is None:
                raise self.error(k, lr.lineno, "unexpected end of file")
            return self._finish(self._parse(block, k), k)

    def _seek_state(self, k):
        """Restore any state a random access needs (XDATCAR headers)."""

    def stream(self, start, stop, step):
        with _open_binary(self.path) as fh:
            lr = _LineReader(fh)
            k = 0
            while stop is None or k < stop:
                block = self._read_block(lr, k)
                if block is None:
                    if k == 0:
                        raise _no_frames(self.path)
                    return
                if k >= start and (k - start) % step == 0:
                    yield self._finish(self._parse(block, k), k)
                k += 1

    def _finish(self, frame, k):
        return _label(frame, self.path, k)


def _as_int(values, reader, k, first_line, what):
    """Integers from numbers a table read; inf, NaN, fractions and overflow are errors naming the line."""
    rows = values if values.ndim == 2 else values[:, None]  # (atoms, columns), also for frames without atoms
    row = first_non_integer(rows)
    if row >= 0:
        raise reader.error(k, first_line + row, f"{what} must be integers, found {rows[row]}")
    return values.astype(np.int64)


#: Why atoms named X are refused, and what to do about them.
_DUMMY = ("dummy atoms 'X' have no element (ASE reads them as atomic number 0, which no analysis can use); "
          "write their element in place of X, or drop them")


def _symbols_to_numbers(tok, reader, k, first_line):
    """Atomic numbers of chemical symbols given as bytes (``'Sb3+'`` reads as Sb); unknown ones name their line."""
    symbols = tok if tok.dtype.kind == "S" else tok.astype("S")
    uniq, inverse = np.unique(symbols, return_inverse=True)
    zs = []
    for s in uniq:
        text = s.decode(errors="replace")
        label = re.fullmatch(r"([A-Za-z]+)[0-9]*[+-]?", text)  # a symbol, or an oxidation-state label like Sb3+
        key = label.group(1).capitalize() if label else ""
        if key not in atomic_numbers or key == "X":
            bad = int(np.nonzero(symbols == s)[0][0])
            raise reader.error(k, first_line + bad, _DUMMY if key == "X" else f"unknown chemical species {text!r}")
        zs.append(atomic_numbers[key])
    return np.array(zs, dtype=np.int64)[inverse.reshape(-1)]


# --------------------------------------------------------------------------- extxyz

_PROPERTY_DTYPES = {"R": "R", "I": "I", "S": "S", "L": "L"}

#: Quotes and brackets that group an extended XYZ comment's text, and what closes each.
_GROUPS = {'"': '"', "'": "'", "[": "]", "{": "}"}


def _parse_comment(line: str) -> dict:
    """``key=value`` pairs of an extended XYZ comment line, grouped as ASE groups them.

    Whitespace separates pairs (also around ``=``); quotes and brackets group
    text, whitespace and ``=`` included, up to their closing character (the
    characters themselves are dropped, even inside a word); a backslash takes
    the next character as it is. A bare key is True. Where the grouping ends
    a line unclosed (``[ pbc="T T F"``), ASE reads the rest as one odd key,
    and so does this.
    """
    pairs = [[[]]]  # pairs of parts (key, value...) of characters
    closer = None
    escaped = False
    for char in line.strip():
        if escaped:
            pairs[-1][-1].append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif closer is not None:
            if char == closer:
                closer = None
            else:
                pairs[-1][-1].append(char)
        elif char in _GROUPS:
            closer = _GROUPS[char]
        elif char.isspace():
            if pairs[-1][-1]:
                pairs.append([[]])
        elif char == "=":
            if pairs[-1] == [[]] and len(pairs) > 1:  # 'key = value': the '=' belongs to the pair before
                pairs.pop()
            pairs[-1].append([])
        else:
            pairs[-1][-1].append(char)
    out = {}
    for pair in pairs:
        key = "".join(pair[0])
        if not key and len(pair) == 1:
            continue
        out[key] = True if len(pair) == 1 else "=".join("".join(part) for part in pair[1:])
    return out


class _ExtxyzReader(_TextReader):
    """Extended XYZ as ASE reads it, plus ASE-compatible corners.

    Cell vectors may follow the atom lines as ``VEC1 ax ay az`` ... lines (up
    to 3; each makes its axis periodic; the comment line is then a plain
    comment, as ASE takes it). Blank lines end the file: trailing ones are
    fine, frames after them are an error (ASE silently stops reading there).
    """

    def _read_block(self, lr, k):
        blank = lr.skip_blank()
        line = lr.readline()
        if not line:
            return None
        if blank:
            raise self.error(k, blank, "blank line between frames (ASE stops reading there); remove it")
        count_line = lr.lineno
        words = line.split()
        if not words or not _INTEGER.fullmatch(words[0].decode(errors="replace")):
            found = line.strip().decode(errors="replace")[:80]
            raise self.error(k, count_line, f"expected the number of atoms, found {found!r}")
        n = int(words[0])
        comment = lr.readline()
        if not comment:
            raise self.error(k, count_line + 1, "file ends before the comment line (truncated?)")
        table = self._table_lines(lr, k, n)
        vectors = []
        while lr.peek().lstrip().startswith(b"VEC"):
            line = lr.readline().decode(errors="replace")
            label, *values = line.split()
            if label != f"VEC{len(vectors) + 1}" or len(values) != 3:
                raise self.error(k, lr.lineno, f"expected 'VEC{len(vectors) + 1} ax ay az', found {line.strip()[:80]!r}")
            vectors.append((values, lr.lineno))
        return n, count_line, comment.decode(errors="replace"), table, vectors

    def _parse(self, block, k):
        n, count_line, comment, (buf, starts), vectors = block
        first = count_line + 2
        keys = {"comment": comment.strip()} if vectors else _parse_comment(comment)
        props = keys.pop("Properties", None)
        if props is None:  # ASE would ignore a lowercase 'properties=' and read species and pos: honour it instead
            props = next((keys.pop(key) for key in list(keys) if key.lower() == "properties"), "species:S:1:pos:R:3")
        props = str(props)
        fields = props.split(":")
        if len(fields) % 3 or not fields:
            raise self.error(k, count_line + 1, f"malformed Properties={props!r}")
        spec = []
        for a in range(0, len(fields), 3):
            name, kind, width = fields[a], fields[a + 1], fields[a + 2]
            if kind not in _PROPERTY_DTYPES or not width.isdigit():
                raise self.error(k, count_line + 1, f"malformed Properties entry {name}:{kind}:{width}")
            spec.append((name, kind, int(width)))
        width = sum(w for _, _, w in spec)
        if n and width > len(bytes(buf[starts[0] : starts[1] if n > 1 else len(buf)]).split()):  # before allocating
            found = _text(_line_text(buf, starts, 0))
            raise self.error(k, first, f"Properties={props[:80]!r} declares {width} columns, the first atom line has "
                             f"fewer: {found!r}")
        names = [name for name, _, width in spec for _ in range(width)]
        text_names = {name for name, kind, _ in spec if kind in "SL"}
        numbers_table, text_table = _read_table(self, k, first, buf, starts, names, text=text_names)
        cols, c_num, c_text = {}, 0, 0
        for name, kind, width in spec:
            if kind in "SL":
                part = text_table[:, c_text : c_text + width]
                c_text += width
                cols[name] = part if kind == "S" else np.isin(part, [b"T", b"True", b"true", b"1"])
            else:
                part = numbers_table[:, c_num : c_num + width]
                c_num += width
                cols[name] = _as_int(part, self, k, first, name) if kind == "I" else part
            if width == 1:
                cols[name] = cols[name].reshape(-1)

        if "species" in cols:
            numbers = _symbols_to_numbers(cols.pop("species"), self, k, first)
            cols.pop("Z", None)
        elif "Z" in cols:
            numbers = cols.pop("Z")
        else:
            raise self.error(k, count_line + 1, "no 'species' or 'Z' column in Properties")
        for name, kind, _ in spec:
            if kind == "S" and name in cols:
                cols[name] = np.char.decode(cols[name], "utf-8", "replace")
        positions = cols.pop("pos", None)
        if positions is None:
            positions = cols.pop("positions", None)
        if positions is None:
            raise self.error(k, count_line + 1, "no 'pos' column in Properties")

        cell = np.zeros((3, 3))
        pbc = np.zeros(3, dtype=bool)
        if "Lattice" in keys:
            cell = _floats(str(keys.pop("Lattice")).replace(",", " "))
            if cell is None or cell.shape != (9,):
                raise self.error(k, count_line + 1, "Lattice must hold 9 numbers")
            cell = cell.reshape(3, 3)
            if not np.isfinite(cell).all():
                raise self.error(k, count_line + 1, f"Lattice holds non-finite numbers: {cell.ravel().tolist()}")
            pbc[:] = True
        for axis, (values, lineno) in enumerate(vectors):
            vector = _floats(" ".join(values))
            if vector is None:
                raise self.error(k, lineno, f"cannot read a cell vector from {' '.join(values)[:80]!r}")
            cell[axis] = vector
            if not np.isfinite(cell[axis]).all():
                raise self.error(k, lineno, f"cell vector {cell[axis].tolist()} is not finite")
            pbc[axis] = True
        if "pbc" in keys:
            flags = str(keys.pop("pbc")).replace(",", " ").split()
            if len(flags) not in (1, 3) or not set(flags) <= _TRUE | _FALSE:
                raise self.error(k, count_line + 1, f"pbc must be 1 or 3 flags (T or F), got {flags}")
            pbc = np.broadcast_to([f in _TRUE for f in flags], (3,)).copy()

        masses = cols.pop("mass", cols.pop("masses", None))
        velocities = None
        for name in ("velo", "vel", "velocities"):
            if name in cols:
                velocities = cols.pop(name) * 1000.0  # Å/fs -> Å/ps
                break
        if velocities is None and "momenta" in cols:
            from ase.data import atomic_masses

            m = masses if masses is not None else atomic_masses[numbers]
            velocities = cols.pop("momenta") / m[:, None] * ASE_VELOCITY_TO_A_PER_PS

        time = None
        for key, scale in (("time_ps", 1.0), ("time_fs", 1e-3), ("Time", 1e-3), ("time", 1e-3)):
            if key in keys:
                try:
                    time = float(keys.pop(key)) * scale
                except ValueError:
                    raise self.error(k, count_line + 1, f"{key}= is not a number") from None
                break
        info = {key: _info_value(value) for key, value in keys.items()}
        try:
            return Frame(positions, numbers, cell, pbc, velocities, masses, time, arrays=cols, info=info)
        except (ValueError, MissingDataError) as exc:
            raise self.error(k, count_line + 1, str(exc)) from None


#: Boolean flags of extended XYZ ``pbc=`` as ASE reads them.
_TRUE = {"T", "True", "true", "TRUE", "1"}
_FALSE = {"F", "False", "false", "FALSE", "0"}


def _info_value(value):
    if value is True:
        return True
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    parts = value.split()
    if len(parts) > 1:
        try:
            return np.array(parts, dtype=float)
        except ValueError:
            pass
    return value


# --------------------------------------------------------------------------- LAMMPS dump


class _LammpsDumpReader(_TextReader):
    #: The items of a LAMMPS text dump frame header (``ATOMS`` ends it).
    _ITEMS = ("UNITS", "TIMESTEP", "TIME", "NUMBER OF ATOMS", "BOX BOUNDS", "ATOMS")

    def _read_block(self, lr, k):
        header = {}
        start = None
        while True:
            line = lr.readline()
            if not line:
                if start is None:
                    return None
                raise self.error(k, lr.lineno, "file ends inside a frame header (truncated?)")
            if start is None:
                if not line.strip():
                    continue
                start = lr.lineno
            text = line.strip().decode(errors="replace")
            if not text.startswith("ITEM:"):
                raise self.error(k, lr.lineno, f"expected an 'ITEM:' line, found {text[:80]!r}")
            words = [w.decode(errors="replace") for w in line.strip()[5:].split()]  # ASCII whitespace, as in tables
            item = next((name for name in self._ITEMS if words[: len(name.split())] == name.split()), None)
            if item is None:
                raise self.error(k, lr.lineno, f"unknown item {text[:80]!r}; a LAMMPS dump frame has "
                                 f"{', '.join(self._ITEMS)}")
            if item in header:
                raise self.error(k, lr.lineno, f"a second 'ITEM: {item}' in one frame (a corrupt ITEM: ATOMS line?)")
            if item == "ATOMS":
                header["ATOMS"] = (words[1:], lr.lineno)
                break
            if item == "BOX BOUNDS":
                rows = lr.readlines(3)
                if len(rows) < 3:
                    raise self.error(k, lr.lineno + 1, "file ends inside BOX BOUNDS (truncated?)")
                header["BOX BOUNDS"] = (words[2:], rows, lr.lineno - 2)
            else:
                if len(words) != len(item.split()):
                    raise self.error(k, lr.lineno, f"unexpected words after 'ITEM: {item}': {text[:80]!r}")
                value = lr.readline()
                if not value:
                    raise self.error(k, lr.lineno + 1, f"file ends after 'ITEM: {item}' (truncated?)")
                header[item] = (value.strip().decode(errors="replace"), lr.lineno)
        for item in ("TIMESTEP", "NUMBER OF ATOMS", "BOX BOUNDS"):
            if item not in header:
                raise self.error(k, start, f"no 'ITEM: {item}' in the frame header")
        text, line_n = header["NUMBER OF ATOMS"]
        if not _INTEGER.fullmatch(text) or int(text) < 0:
            raise self.error(k, line_n, f"the number of atoms must be an integer ≥ 0, found {text[:80]!r}")
        table = self._table_lines(lr, k, int(text))
        return header, table

    def _parse(self, block, k):
        header, (buf, starts) = block
        names, atoms_line = header["ATOMS"]
        first = atoms_line + 1
        flags, rows, box_line = header["BOX BOUNDS"]
        bounds = [_floats(r) for r in rows]
        if any(b is None or len(b) != len(bounds[0]) for b in bounds):
            raise self.error(k, box_line, "BOX BOUNDS rows must hold 2, 3 or 4 numbers each, the same in every row")
        bounds = np.array(bounds)
        value, line_t = header["TIMESTEP"]
        if not re.fullmatch(r"-?[0-9]+", value):
            raise self.error(k, line_t, f"the timestep must be an integer, found {value[:80]!r}")
        step, time = int(value), None
        if "TIME" in header:
            value, line_t = header["TIME"]
            time = _floats(value)
            if time is None or len(time) != 1 or not np.isfinite(time).all():
                raise self.error(k, line_t, f"the time must be a finite number, found {value[:80]!r}")
            time = float(time[0])
        units = header["UNITS"][0] if "UNITS" in header else None
        table, text = _read_table(self, k, first, buf, starts, names, text=("element",))
        box = _lammps_box(bounds, flags, lambda message: self.error(k, box_line, message))
        return self._frame(k, names, table, text, box, step, time, units, first, atoms_line)

    def _units(self, k, units):
        """The dump's own units (``ITEM: UNITS``, binary header) if it names them, else the reader's.

        LAMMPS names them once, in the first frame (``dump_modify units yes``);
        they hold for the whole file.
        """
        if units in (None, ""):
            if k == 0:
                return self.units
            if not hasattr(self, "_file_units"):
                self._file_units = self._first_units()
            units = self._file_units or self.units
        if units not in ("metal", "real"):
            raise MissingDataError(f"{self.path}: frame {k}: the dump is in LAMMPS units {units!r}; gstorder reads "
                                   "'metal' and 'real' dumps (convert positions to Å, velocities to Å/ps)")
        return units

    def _first_units(self):
        """The units the first frame names, or None."""
        with _open_binary(self.path) as fh:
            head = fh.read(4096).split(b"\n")
        return head[1].strip().decode(errors="replace") if head[0].strip() == b"ITEM: UNITS" and len(head) > 1 else None

    def _frame(self, k, names, table, text, box, step, time, units, first, atoms_line, types=None):
        """A Frame from the atom table of a dump frame (text or binary) and its header values.

        ``box`` is (cell, origin, pbc); ``step``/``time`` (dump time units)
        may be None; ``units`` (the dump's own UNITS item) overrides the
        reader's; ``first``/``atoms_line`` number rows in error messages;
        ``types`` (type -> atomic number) overrides ``species=``.
        """
        cell, origin, pbc = box
        type_map = self.types if types is None else types
        n = len(table)
        units = self._units(k, units)
        numeric = [name for name in names if name != "element"]
        col = {name: c for c, name in enumerate(numeric)}
        for name, what in (("id", "atom ids"), ("type", "atom types"), ("ix", "image flags"), ("iy", "image flags"),
                           ("iz", "image flags")):
            if name in col:  # before sorting by id, so that errors name the right line
                _as_int(table[:, col[name]], self, k, first, what)

        def get(keys, what, conv=None):
            values = table[:, [col[x] for x in keys]]
            return values if conv is None else conv(values, self, k, first, what)

        if "id" in col:
            ids = get(["id"], "atom ids", _as_int).reshape(-1)
            if (ids[1:] < ids[:-1]).any():  # LAMMPS writes ids in any order when it runs on several processors
                order = np.argsort(ids, kind="stable")
                table, text, ids = table[order], text[order], ids[order]
            if (ids[1:] == ids[:-1]).any():
                raise self.error(k, first, "duplicate atom ids")
        elif self.groups:
            raise self.error(k, atoms_line, "groups= needs the 'id' column")
        if "element" in names:
            numbers = _symbols_to_numbers(text[:, 0], self, k, first)
        elif "type" in col:
            types = get(["type"], "atom types", _as_int).reshape(-1)
            lo, hi = (types.min(), types.max()) if n else (0, 0)
            present = np.unique(types) if hi - lo > 4096 else np.flatnonzero(np.bincount(types - lo)) + lo
            missing = sorted(set(present.tolist()) - set(type_map))
            if missing:
                raise MissingDataError(
                    f"{self.path}: frame {k}: LAMMPS types {missing} have no element; pass "
                    "species={1: 'Ge', 2: 'Sb', 3: 'Te'} (or a list for types 1, 2, ...)"
                )
            lut = np.zeros(max(type_map) + 1, dtype=np.int64)
            for t, z in type_map.items():
                lut[t] = z
            numbers = lut[types]
        else:
            raise self.error(k, atoms_line, "no 'type' or 'element' column")

        for keys in _LAMMPS_VECTORS:
            present = [x for x in keys if x in col]
            if 0 < len(present) < 3:
                raise self.error(k, atoms_line, f"columns {' '.join(present)} without "
                                 f"{' '.join(x for x in keys if x not in col)}: a vector needs all three")
        used = {"id", "type", "element"}
        positions, unwrapped = None, False
        for keys, scaled in ((("x", "y", "z"), False), (("xu", "yu", "zu"), False), (("xs", "ys", "zs"), True), (("xsu", "ysu", "zsu"), True)):
            if all(x in col for x in keys):
                positions = get(list(keys), "positions")
                with np.errstate(invalid="ignore", over="ignore"):  # inf coordinates: NaN positions, warned about once
                    positions = positions @ cell if scaled else positions - origin
                unwrapped = keys[0].endswith("u")
                used.update(keys)
                break
        if positions is None:
            raise self.error(k, atoms_line, "no position columns (x y z, xu yu zu, xs ys zs or xsu ysu zsu)")
        arrays = {name: np.isin(ids, members) for name, members in self.groups.items()}
        if all(x in col for x in ("ix", "iy", "iz")):
            if not unwrapped:  # flags of unwrapped positions are already applied: adding them again would double
                arrays["image"] = get(["ix", "iy", "iz"], "image flags", _as_int)
            used.update(("ix", "iy", "iz"))
        velocities = None
        if all(x in col for x in ("vx", "vy", "vz")):
            velocities = get(["vx", "vy", "vz"], "velocities") * (1000.0 if units == "real" else 1.0)
            used.update(("vx", "vy", "vz"))
        masses = None
        if "mass" in col:
            masses = get(["mass"], "masses").reshape(-1)
            used.add("mass")
        for name in numeric:
            if name not in used:
                arrays[name] = get([name], name).reshape(-1)

        info = {"origin": origin}
        if step is not None:
            info["step"] = step
        if time is not None:
            time = time * (1e-3 if units == "real" else 1.0)
        elif step is not None and self.timestep_fs is not None:
            time = step * self.timestep_fs / 1000.0
        with np.errstate(over="ignore"):  # a box of 1e300 Å is read as written; its norm need not warn
            return Frame(positions, numbers, cell, pbc, velocities, masses, time, arrays=arrays, info=info)


#: Per-atom vectors of LAMMPS dumps: all three columns or none.
_LAMMPS_VECTORS = (("x", "y", "z"), ("xu", "yu", "zu"), ("xs", "ys", "zs"), ("xsu", "ysu", "zsu"), ("ix", "iy", "iz"),
                   ("vx", "vy", "vz"), ("fx", "fy", "fz"))


class _LammpsBinaryReader(_LammpsDumpReader):
    """LAMMPS binary dumps (``dump custom ... file.bin``), as LAMMPS's own ``read_dump`` reads them.

    Each frame is a header (magic string ``DUMPCUSTOM``/``DUMPATOM``, byte
    order flag, step, atom count, box, columns) and chunks of doubles. Only
    the layout LAMMPS has written since 2021 (revision 2, which names its
    columns) can be read without guessing; older files are refused with the
    conversion to text named. Atom rows go through the same code as text
    dumps, so ids, types, scaled or unwrapped positions, image flags, units
    and groups mean the same.
    """

    _BOUNDARY = "pfsm"

    @property
    def _size(self):
        """Bytes in the file (no limit for a compressed one, whose seeks stop at its end)."""
        return float("inf") if self.path.suffix.lower() in _DECOMPRESSORS else os.path.getsize(self.path)

    def error(self, k, where, message):
        return TrajectoryFormatError(f"{self.path}: frame {k}, {where}: {message}")

    def _read(self, fh, size, k, what):
        """The next ``size`` bytes; a file that ends first is an error (a corrupt size reserves no memory first)."""
        if fh.tell() + size > self._size:
            raise self.error(k, f"byte {fh.tell()}", f"file ends inside the {what} (truncated?)")
        parts, left = [], size
        while left > 0:
            part = fh.read(min(left, 1 << 26))
            if not part:
                raise self.error(k, f"byte {fh.tell()}", f"file ends inside the {what} (truncated?)")
            parts.append(part)
            left -= len(part)
        return b"".join(parts)

    def _header(self, fh, k):
        """The frame header at the file position (None at a clean end of file); leaves fh at the first chunk."""
        start = fh.tell()
        raw = fh.read(8)
        if not raw:
            return None
        if len(raw) < 8:
            raise self.error(k, f"byte {start}", "file ends inside the frame header (truncated?)")
        where = f"byte {start}"
        size = -int.from_bytes(raw, "little", signed=True)
        if not 0 < size <= 64:
            raise self.error(k, where, "not a LAMMPS binary dump of 2021 or later (no DUMPCUSTOM/DUMPATOM header); "
                             "convert older files with LAMMPS's tools/binary2txt and read the text")
        magic = self._read(fh, size, k, "frame header")
        if magic not in (b"DUMPCUSTOM", b"DUMPATOM"):
            raise self.error(k, where, f"unknown binary dump kind {magic[:64]!r}")
        endian = int.from_bytes(self._read(fh, 4, k, "frame header"), "little")
        order = {1: "<", 1 << 24: ">"}.get(endian)
        if order is None:
            raise self.error(k, where, f"byte-order flag {endian:#x} is neither 1 nor 1<<24 (corrupt file?)")

        def unpack(fmt):
            return struct.unpack(order + fmt, self._read(fh, struct.calcsize(order + fmt), k, "frame header"))

        revision, step, natoms, triclinic = unpack("iqqi")
        if triclinic not in (0, 1):  # LAMMPS's general triclinic flag (2) has another box layout
            raise self.error(k, where, f"box flag {triclinic}: general-triclinic binary dumps are not read; write "
                             "the dump with 'dump_modify triclinic/general no' or as text")
        boundary = unpack("6i")
        box = np.array(unpack("9d" if triclinic else "6d"))
        (size_one,) = unpack("i")
        if revision < 2:
            raise self.error(k, where, "binary dump of revision 1 carries no column names; write it with LAMMPS "
                             "2021 or later or convert it with LAMMPS's tools/binary2txt")
        (length,) = unpack("i")
        units = self._read(fh, length, k, "frame header").decode(errors="replace") if length > 0 else None
        (has_time,) = unpack("b")
        time = unpack("d")[0] if has_time else None
        (length,) = unpack("i")
        names = self._read(fh, length, k, "frame header").decode(errors="replace").split() if length >= 0 else []
        (nchunk,) = unpack("i")
        if natoms < 0 or nchunk < 0 or size_one != len(names) or min(boundary, default=0) < 0 or max(boundary) > 3:
            raise self.error(k, where, f"inconsistent header ({natoms} atoms, {nchunk} chunks, {size_one} values "
                             f"per atom for columns {names[:16]}): corrupt file?")
        flags = ["".join(self._BOUNDARY[b] for b in boundary[2 * d : 2 * d + 2]) for d in range(3)]
        bounds = box[:6].reshape(3, 2)
        if triclinic:
            bounds = np.column_stack([bounds, box[6:]])
            flags = ["xy", "xz", "yz"] + flags
        return dict(order=order, step=step, natoms=natoms, bounds=bounds, flags=flags, units=units, time=time,
                    names=names, nchunk=nchunk, where=where)

    def _first_units(self):
        with _open_binary(self.path) as fh:
            return self._header(fh, 0)["units"]

    def _chunks(self, fh, header, k, read):
        """The atom values of the frame (natoms, columns), or None after moving past them when ``read`` is false."""
        expected = header["natoms"] * len(header["names"])
        chunks, got = [], 0
        for _ in range(header["nchunk"]):
            (n,) = struct.unpack(header["order"] + "i", self._read(fh, 4, k, "atom data"))
            if n < 0 or got + n > expected:
                raise self.error(k, header["where"], f"atom data chunks exceed {header['natoms']} atoms (corrupt file?)")
            if read:
                chunks.append(np.frombuffer(self._read(fh, 8 * n, k, "atom data"), dtype=header["order"] + "f8"))
            else:  # skipping while indexing: a seek past the end is how truncation shows
                target = fh.tell() + 8 * n
                if fh.seek(target) != target or target > self._size:
                    raise self.error(k, header["where"], "file ends inside the atom data (truncated?)")
            got += n
        if got != expected:
            raise self.error(k, header["where"], f"atom data hold {got} of {expected} values (truncated?)")
        if not read:
            return None
        data = np.concatenate(chunks) if chunks else np.empty(0)
        return data.astype(float).reshape(header["natoms"], len(header["names"]))

    def offsets(self):
        out = []
        with _open_binary(self.path) as fh:
            for k in itertools.count():
                pos = fh.tell()
                header = self._header(fh, k)
                if header is None:
                    if not out:
                        raise _no_frames(self.path)
                    return out
                self._chunks(fh, header, k, read=False)
                out.append(pos)

    def _frame_at(self, fh, k, read=True):
        header = self._header(fh, k)
        if header is None:
            return None
        table = self._chunks(fh, header, k, read)
        if not read:
            return True
        bounds = header["bounds"]
        box = _lammps_box(bounds, header["flags"], lambda message: self.error(k, header["where"], message))
        text = np.empty((len(table), 0), f"S{_TEXT_WIDTH}")
        frame = self._frame(k, header["names"], table, text, box, header["step"], header["time"], header["units"],
                            1, 0)
        return _label(frame, self.path, k)

    def read_at(self, offset, k):
        with _open_binary(self.path) as fh:
            fh.seek(offset)
            frame = self._frame_at(fh, k)
            if frame is None:
                raise self.error(k, f"byte {offset}", "unexpected end of file")
            return frame

    def stream(self, start, stop, step):
        with _open_binary(self.path) as fh:
            for k in itertools.count():
                if stop is not None and k >= stop:
                    return
                wanted = k >= start and (k - start) % step == 0
                frame = self._frame_at(fh, k, read=wanted)
                if frame is None:
                    if k == 0:
                        raise _no_frames(self.path)
                    return
                if wanted:
                    yield frame


def _non_negative(value: int) -> int:
    if value < 0:
        raise ValueError(f"a count, length or offset of {value} (corrupt header)")
    return value


class _NetcdfReader(_LammpsDumpReader):
    """AMBER-convention NetCDF trajectories (LAMMPS ``dump netcdf``, ASE, MDAnalysis, cpptraj) through netCDF4.

    Per-atom variables become the columns of a LAMMPS dump (``coordinates``
    -> x y z, ``unwrapped_coordinates`` -> xu yu zu, ``scaled_coordinates``
    -> xs ys zs, ``velocities`` -> vx vy vz, ``id``, ``type``, scalar extras
    by name), so they mean what they mean in a dump. Species come from
    ``species=`` for LAMMPS ``type`` variables, or from ASE's ``atom_types``
    / ``Z`` atomic numbers. Units follow the variables' ``units``
    attributes (Å; Å/ps or Å/fs; ps or fs), AMBER's defaults where absent.
    """

    _POSITIONS = {"coordinates": ("x", "y", "z"), "unwrapped_coordinates": ("xu", "yu", "zu"),
                  "scaled_coordinates": ("xs", "ys", "zs")}
    _VECTORS = {**_POSITIONS, "velocities": ("vx", "vy", "vz"), "forces": ("fx", "fy", "fz")}

    def error(self, k, where, message):
        return TrajectoryFormatError(f"{self.path}: frame {k}: {message}")

    def _check_classic_header(self):
        """Parse a NetCDF-3 (CDF-1/CDF-2) header with SciPy's pure-Python reader before the C library sees it.

        The netCDF C library can crash the process on a corrupt classic
        header (a segfault no Python code can catch); SciPy raises instead.
        NetCDF-4 (HDF5) and CDF-5 files go to netCDF4 directly. Once per
        reader: random access opens the file for every frame.
        """
        if self.__dict__.get("_header_checked"):
            return
        with open(self.path, "rb") as fh:
            magic = fh.read(4)
        if magic not in (b"CDF\x01", b"CDF\x02"):
            return
        from scipy.io import netcdf_file

        class Strict(netcdf_file):
            """Counts, lengths and offsets of a classic header are never negative (SciPy would read them as empty)."""

            def _unpack_int(self):
                return _non_negative(super()._unpack_int())

            def _unpack_int64(self):
                return _non_negative(super()._unpack_int64())

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SciPy warns about arrays still mapped at close
                with Strict(self.path, "r", mmap=True) as nc:
                    for var in nc.variables.values():
                        var.data.shape  # noqa: B018 - maps each variable: its offsets must lie in the file
                    names = set(nc.variables)
        except Exception as exc:  # SciPy raises ValueError, TypeError, OverflowError, ... for corrupt headers
            raise TrajectoryFormatError(f"{self.path}: corrupt NetCDF header ({type(exc).__name__}: {exc})") from None
        if not names & set(self._POSITIONS):
            raise TrajectoryFormatError(f"{self.path}: not an AMBER-convention trajectory (no coordinates variable)")
        self._header_checked = True

    def _open_dataset(self):
        if self.path.suffix.lower() in _DECOMPRESSORS:
            raise UnknownFormatError(f"{self.path}: compressed NetCDF is not read; decompress it first "
                                     "(NetCDF-4 files compress internally)")
        import netCDF4

        self._check_classic_header()
        try:
            ds = netCDF4.Dataset(str(self.path), "r")
        except Exception as exc:  # netCDF4 raises OSError, UnicodeDecodeError, ... for corrupt headers
            raise TrajectoryFormatError(f"{self.path}: not a readable NetCDF file ({exc})") from None
        missing = [d for d in ("frame", "atom") if d not in ds.dimensions]
        if missing or not any(v in ds.variables for v in self._POSITIONS):
            ds.close()
            raise TrajectoryFormatError(f"{self.path}: not an AMBER-convention trajectory (needs 'frame' and 'atom' "
                                        f"dimensions and a coordinates variable; missing {missing or 'coordinates'})")
        ds.set_auto_mask(False)
        if ds.data_model.startswith("NETCDF3"):  # uncompressed: each frame's coordinates must fit in the file
            name = next(v for v in self._POSITIONS if v in ds.variables)
            n_atoms = ds.dimensions["atom"].size
            need = n_atoms * 3 * ds.variables[name].dtype.itemsize
            if need > os.path.getsize(self.path):
                ds.close()
                raise TrajectoryFormatError(f"{self.path}: the header declares {n_atoms} atoms, whose coordinates "
                                            f"({need} bytes) the file cannot hold (truncated or corrupt)")
        return ds

    def offsets(self):
        with self._open() as ds:
            return list(range(ds.dimensions["frame"].size))

    def _open(self):
        ds = self._open_dataset()
        if ds.dimensions["frame"].size == 0:
            ds.close()
            raise _no_frames(self.path)
        return ds

    def read_at(self, offset, k):
        with self._open() as ds:
            return self._frame_of(ds, offset)

    def stream(self, start, stop, step):
        with self._open() as ds:
            n = ds.dimensions["frame"].size
            for k in range(start, n if stop is None else min(stop, n), step):
                yield self._frame_of(ds, k)

    def _frame_of(self, ds, k):
        natoms = ds.dimensions["atom"].size

        def value(name):  # one frame of a variable (variables without a frame dimension are constant)
            var = ds.variables[name]
            try:
                data = var[k] if var.dimensions and var.dimensions[0] == "frame" else var[:]
            except (OSError, RuntimeError, IndexError, UnicodeDecodeError) as exc:
                raise self.error(k, None, f"cannot read {name!r}: {exc}") from None
            return np.asarray(data)

        def unit(name):
            return str(getattr(ds.variables[name], "units", "")).lower()

        names, columns = [], []
        for name, var in ds.variables.items():
            dims = var.dimensions[1:] if var.dimensions[:1] == ("frame",) else var.dimensions
            if not dims or dims[0] != "atom" or var.dtype.kind not in "iuf":
                continue
            data = value(name).reshape(natoms, -1)
            if name in self._VECTORS and data.shape[1] == 3:
                names += list(self._VECTORS[name])
            elif name in ("atom_types", "Z") and "type" not in ds.variables:
                names.append("type")
            elif data.shape[1] == 1:
                names.append(name)
            else:
                continue
            columns.append(data.astype(float))
        table = np.concatenate(columns, axis=1) if columns else np.empty((natoms, 0))

        for name in ("coordinates", "unwrapped_coordinates", "cell_lengths", "cell_origin"):
            if name in ds.variables and unit(name) and not unit(name).startswith("angstrom"):
                raise MissingDataError(f"{self.path}: {name!r} in units {unit(name)!r}; gstorder reads Å")
        units = None
        for name in ("velocities", "time"):
            text = unit(name) if name in ds.variables else ""
            if "femtosecond" in text:
                units = "real"
            elif "picosecond" in text:
                units = units or "metal"
            elif text:
                raise MissingDataError(f"{self.path}: {name!r} in units {text!r}; gstorder reads Å/ps or Å/fs, ps or fs")
        units = units or "metal"

        if "cell_lengths" in ds.variables:
            from ase.geometry import cellpar_to_cell

            lengths = value("cell_lengths").reshape(3).astype(float)
            angles = value("cell_angles").reshape(3).astype(float) if "cell_angles" in ds.variables else np.full(3, 90.0)
            pbc = lengths > 1e-6
            try:
                if not (np.isfinite(lengths).all() and ((0 < angles) & (angles < 180)).all()):
                    raise ValueError
                cell = cellpar_to_cell(np.concatenate([np.where(pbc, lengths, 1.0), angles])) * pbc[:, None]
            except (ValueError, AssertionError):  # ASE asserts on angles no cell has
                raise self.error(k, None, f"no cell has lengths {lengths.tolist()} and angles {angles.tolist()}") from None
            if not np.isfinite(cell).all():
                raise self.error(k, None, f"no cell has lengths {lengths.tolist()} and angles {angles.tolist()}")
        else:
            cell, pbc = np.zeros((3, 3)), np.zeros(3, dtype=bool)
        origin = value("cell_origin").reshape(3).astype(float) if "cell_origin" in ds.variables else np.zeros(3)
        time = float(value("time").reshape(-1)[0]) if "time" in ds.variables else None
        if time is not None and not np.isfinite(time):
            time = None
        types = None
        if not self.types and "type" not in ds.variables and "type" in names:  # ASE's atom_types/Z: atomic numbers
            types = {z: z for z in range(1, 119)}
        text = np.empty((natoms, 0), f"S{_TEXT_WIDTH}")
        frame = self._frame(k, names, table, text, (cell, origin, pbc), None, time, units, 1, 0, types=types)
        return _label(frame, self.path, k)


def _lammps_box(bounds, flags, error):
    """(cell, origin, pbc) of a LAMMPS ``BOX BOUNDS`` item (text or binary dump).

    Rows are ``lo hi`` (orthogonal), ``lo_bound hi_bound tilt`` (restricted
    triclinic; the tilts in the order the ``xy xz yz`` labels give them) or
    ``ax ay az origin`` (general triclinic, ``BOX BOUNDS abc origin``).
    ``error(message)`` builds the exception for a malformed box.
    """
    if bounds.ndim != 2 or bounds.shape[0] != 3 or bounds.shape[1] not in (2, 3, 4):
        raise error("BOX BOUNDS must be 3 rows of 2, 3 or 4 numbers")
    if not np.isfinite(bounds).all():
        raise error(f"BOX BOUNDS hold non-finite numbers: {bounds.tolist()}")
    tilts = [f for f in flags if f in ("xy", "xz", "yz")]
    bflags = [f for f in flags if f not in ("xy", "xz", "yz", "abc", "origin")]
    if len(bflags) not in (0, 3) or not all(re.fullmatch("[pfsm]{2}", f) for f in bflags):
        raise error(f"BOX BOUNDS labels {' '.join(flags)[:80]!r}: expected a boundary (pp, ff, fs, ...) for each of x, y, z")
    # dumps of LAMMPS before 2009 name no boundaries: their boxes are taken as periodic (ASE takes them as not)
    pbc = np.array([f == "pp" for f in bflags]) if bflags else np.ones(3, dtype=bool)
    if "abc" in flags:
        if bounds.shape[1] != 4:
            raise error("'BOX BOUNDS abc origin' rows must hold 4 numbers: a cell vector and one origin component")
        return bounds[:, :3].copy(), bounds[:, 3].copy(), pbc
    if bounds.shape[1] == 4:
        raise error("BOX BOUNDS rows of 4 numbers need the 'abc origin' labels")
    if bounds.shape[1] == 3:
        if sorted(tilts) != ["xy", "xz", "yz"]:
            tilts = ["xy", "xz", "yz"]
        tilt = dict(zip(tilts, bounds[:, 2]))
        xy, xz, yz = tilt["xy"], tilt["xz"], tilt["yz"]
        xlo = bounds[0, 0] - min(0.0, xy, xz, xy + xz)
        xhi = bounds[0, 1] - max(0.0, xy, xz, xy + xz)
        ylo, yhi = bounds[1, 0] - min(0.0, yz), bounds[1, 1] - max(0.0, yz)
    else:
        xy = xz = yz = 0.0
        xlo, xhi, ylo, yhi = bounds[0, 0], bounds[0, 1], bounds[1, 0], bounds[1, 1]
    zlo, zhi = bounds[2, 0], bounds[2, 1]
    cell = np.array([[xhi - xlo, 0, 0], [xy, yhi - ylo, 0], [xz, yz, zhi - zlo]])
    if not (np.diag(cell) > 0).all():
        raise error(f"BOX BOUNDS give box lengths {np.diag(cell).tolist()}: every hi must exceed its lo")
    return cell, np.array([xlo, ylo, zlo]), pbc


#: Digits after the decimal point in written dumps (1e-6 Å, Å/ps, and of every result column).
DECIMALS = 6


def write_lammps_dump(path, frames, columns=None, *, step=None) -> None:
    """Write frames with per-atom results as a LAMMPS text dump that OVITO, LAMMPS and gstorder read.

    Columns ``id type element x y z`` (types numbered by atomic number,
    1 for the lightest species present), then ``vx vy vz`` when every
    frame has velocities (Å/ps, LAMMPS metal units), then ``columns``.
    Triclinic cells get LAMMPS' tilted ``BOX BOUNDS xy xz yz`` header. The
    file is written beside ``path`` and renamed, so it is complete or absent.

    Parameters
    ----------
    path : str or path-like
        Output file (``.lammpstrj``; ``.gz``, ``.bz2`` or ``.xz`` compress it, and it reads back as it is).
    frames : path, Frame, ase.Atoms, Trajectory or iterable of them
    columns : dict or xarray.Dataset, optional
        Per-atom numbers by column name: arrays of shape (n_frames, n_atoms)
        or (n_atoms,) for every frame, or a Dataset whose (``frame``,
        ``atom``) variables are taken (e.g. ``kbar(...)`` with ``k`` and
        ``kbar``). Booleans are written as 0/1.
    step : sequence of int, optional
        ``ITEM: TIMESTEP`` values; default each frame's ``info["step"]`` or its position.

    Examples
    --------
    >>> import gstorder, tempfile, os
    >>> frame = gstorder.as_frame(gstorder.structures.trigonal("GeTe"))
    >>> path = os.path.join(tempfile.mkdtemp(), "k.lammpstrj")
    >>> gstorder.io.write_lammps_dump(path, frame, {"kbar": [0.5] * len(frame)})
    >>> next(gstorder.read_frames(path)).arrays["kbar"][:2]
    array([0.5, 0.5])
    """
    from .._atomic import atomic_write
    from ..frames import iter_frames

    frames = list(iter_frames(frames))
    if not frames:
        raise InvalidArgumentError("no frames to write")
    if columns is None:
        columns = {}
    elif hasattr(columns, "data_vars"):  # an xarray Dataset: its per-atom variables
        columns = {name: var.values for name, var in columns.data_vars.items() if set(var.dims) == {"frame", "atom"}}
    table = {}
    for name, values in dict(columns).items():
        if not re.fullmatch(r"[A-Za-z_][\w\[\]]*", str(name)) or name in ("id", "type", "element", "x", "y", "z", "vx", "vy", "vz"):
            raise InvalidArgumentError(f"column name {name!r} is not a free LAMMPS dump column name")
        values = np.asarray(values)
        if values.dtype.kind not in "biuf":
            raise ArgumentTypeError(f"column {name!r} must hold numbers or booleans, not {values.dtype}")
        if values.ndim == 1 and len(values) == len(frames[0]):
            values = np.broadcast_to(values, (len(frames), len(frames[0])))
        if values.shape != (len(frames), len(frames[0])):
            raise InvalidArgumentError(f"column {name!r} has shape {values.shape}; expected ({len(frames)}, {len(frames[0])}) "
                             "(frames, atoms) or (atoms,)")
        table[name] = values.astype(float)
    if step is not None and len(step) != len(frames):
        raise InvalidArgumentError(f"{len(step)} steps for {len(frames)} frames")
    species = np.unique(np.concatenate([f.numbers for f in frames]))
    from ase.data import chemical_symbols

    with_velocities = all(f.velocities is not None for f in frames)
    names = ["id", "type", "element", "x", "y", "z"] + (["vx", "vy", "vz"] if with_velocities else []) + list(table)

    symbols = [chemical_symbols[z].encode() for z in range(len(chemical_symbols))]
    letters = np.zeros((len(symbols), 2), np.uint8)
    for z, s in enumerate(symbols):
        letters[z, : len(s)] = np.frombuffer(s[:2], np.uint8)
    lengths = np.array([len(s) for s in symbols], np.int64)

    def write(fh):
        for k, frame in enumerate(frames):
            if len(frame) != len(frames[0]):
                raise InconsistentFramesError(f"{frame.describe()} has {len(frame)} atoms, the first frame {len(frames[0])}")
            a, b, c = frame.cell
            if np.any(np.abs([a[1], a[2], b[2]]) > 1e-12 * max(1.0, np.abs(frame.cell).max())):
                raise InvalidArgumentError(f"{frame.describe()}: LAMMPS needs a lower-triangular cell (a along x, b in the xy "
                                 "plane); rotate it first (ase.Atoms.set_cell(..., scale_atoms=True) on cellpar)")
            xy, xz, yz = float(b[0]), float(c[0]), float(c[1])
            hx, hy, hz = float(a[0]), float(b[1]), float(c[2])
            number = frame.info.get("step", k) if step is None else step[k]
            flags = " ".join("pp" if p else "ff" for p in frame.pbc)
            if xy or xz or yz:
                box = (f"ITEM: BOX BOUNDS xy xz yz {flags}\n{min(0.0, xy, xz, xy + xz)!r} {hx + max(0.0, xy, xz, xy + xz)!r} "
                       f"{xy!r}\n{min(0.0, yz)!r} {hy + max(0.0, yz)!r} {xz!r}\n0.0 {hz!r} {yz!r}\n")
            else:
                box = f"ITEM: BOX BOUNDS {flags}\n0.0 {hx!r}\n0.0 {hy!r}\n0.0 {hz!r}\n"
            fh.write((f"ITEM: TIMESTEP\n{int(number)}\nITEM: NUMBER OF ATOMS\n{len(frame)}\n{box}"
                      f"ITEM: ATOMS {' '.join(names)}\n").encode())
            body = np.hstack([frame.positions] + ([frame.velocities] if with_velocities else [])
                             + [v[k][:, None] for v in table.values()])
            finite = body[np.isfinite(body)]
            if finite.size and np.abs(finite).max() >= 1e12:
                raise InvalidArgumentError(f"{frame.describe()}: values of 1e12 or more do not fit the dump's fixed-point columns")
            ints = np.column_stack([np.arange(1, len(frame) + 1), np.searchsorted(species, frame.numbers) + 1])
            out = np.empty(len(frame) * (48 + 22 * body.shape[1]), np.uint8)
            size = format_rows(ints.astype(np.int64), letters[frame.numbers], lengths[frame.numbers],
                               np.ascontiguousarray(body, dtype=float), DECIMALS, out)
            fh.write(out[:size].tobytes())

    def write_file(fh):
        opener = _DECOMPRESSORS.get(Path(path).suffix.lower())
        if opener is None:
            write(fh)
            return
        with opener(fh, "wb") as packed:
            write(packed)

    atomic_write(path, write_file)


# --------------------------------------------------------------------------- XDATCAR


class _XdatcarReader(_TextReader):
    """VASP XDATCAR, fixed or variable cell (header repeated per frame).

    A header is a comment line, the scale factor (one number; negative is the
    cell volume), three lattice rows of exactly 3 numbers, the species line
    (absent in VASP 4 files, which need ``species=``) and a line of positive
    atom counts, one per species. Each configuration is a ``Direct`` (or
    ``Cartesian``, scaled like the lattice) line and one row of exactly 3
    coordinates per atom. Blank lines end the file, as in extended XYZ.
    """

    def __init__(self, path, **kwargs):
        super().__init__(path, **kwargs)
        self._header = None
        self._headers = {}

    def _seek_state(self, k):
        if k not in self._headers:
            self.offsets()
        self._header = self._headers[k]

    def offsets(self):
        self._header = None
        return super().offsets()

    def stream(self, start, stop, step):
        self._header = None
        yield from super().stream(start, stop, step)

    def _numbers(self, k, lineno, row, what):
        """The numbers of a header row (a TrajectoryFormatError naming the line and ``what`` if any is not one)."""
        values = _floats(row)
        if values is None:
            raise self.error(k, lineno, f"cannot read {what} from {row.decode(errors='replace').strip()[:80]!r}")
        if not np.isfinite(values).all():
            raise self.error(k, lineno, f"{what} must be finite, found {values.tolist()}")
        return values

    def _read_header(self, lr, k, comment_line):
        """(cell, atomic number and count of each species, coordinate scale) and the configuration line of VASP 4 files."""
        rows = lr.readlines(6)
        if len(rows) < 6:
            raise self.error(k, lr.lineno + 1, "file ends inside the XDATCAR header (truncated?)")
        scale = self._numbers(k, comment_line + 1, rows[0], "the scale factor")
        if len(scale) != 1 or scale[0] == 0:
            raise self.error(k, comment_line + 1, f"the scale factor must be one non-zero number, found {scale.tolist()}")
        cell = np.zeros((3, 3))
        for a in range(3):
            vector = self._numbers(k, comment_line + 2 + a, rows[1 + a], "a lattice vector")
            if len(vector) != 3:
                raise self.error(k, comment_line + 2 + a, f"a lattice vector has 3 components, found {len(vector)}")
            cell[a] = vector
        volume = abs(np.linalg.det(cell))
        if volume == 0:
            raise self.error(k, comment_line + 2, f"the lattice vectors {cell.tolist()} span no volume")
        factor = (-scale[0] / volume) ** (1.0 / 3.0) if scale[0] < 0 else scale[0]
        words = rows[4].split()
        if words and all(w.isdigit() for w in words):  # VASP 4: no species line
            counts_line, counts_row, config = comment_line + 5, rows[4], rows[5]
            missing = [t for t in range(1, len(words) + 1) if t not in self.types]
            if missing:
                raise MissingDataError(f"{self.path}: frame {k}: no species line and no element for types {missing}; "
                                       "pass species=['Ge', 'Sb', 'Te'] in the order of the counts line")
            zs = [self.types[t] for t in range(1, len(words) + 1)]
        else:
            counts_line, counts_row, config = comment_line + 6, rows[5], None
            zs = [self._species(k, comment_line + 5, w.decode(errors="replace")) for w in words]
        counts = counts_row.split()
        if not counts or not all(c.isdigit() and int(c) > 0 for c in counts):
            raise self.error(k, counts_line, f"atom counts must be positive integers, found "
                             f"{counts_row.decode(errors='replace').strip()[:80]!r}")
        if len(counts) != len(zs):
            raise self.error(k, counts_line, f"{len(counts)} atom counts for {len(zs)} species")
        return (cell * factor, zs, [int(c) for c in counts], factor), config

    def _species(self, k, lineno, word):
        """Atomic number of a species-line entry (``Ge``, ``Ge_d``, ``Ge/1a2b``)."""
        symbol = re.sub(r"[^A-Za-z].*", "", word)
        if symbol.capitalize() == "X":
            raise self.error(k, lineno, _DUMMY)
        try:
            return int(species_numbers([symbol])[0])
        except UnknownSpeciesError:
            raise self.error(k, lineno, f"unknown chemical species {word[:32]!r}") from None

    @staticmethod
    def _is_config(line):
        return line.strip().decode(errors="replace").lower().startswith(("direct", "cartesian"))

    def _read_block(self, lr, k):
        blank = lr.skip_blank()
        line = lr.readline()
        if not line:
            return None
        if blank:
            raise self.error(k, blank, "blank line between frames (ASE stops reading there); remove it")
        if self._header is None or not self._is_config(line):
            self._header, config = self._read_header(lr, k, lr.lineno)
            line = config if config is not None else lr.readline()
            if not line:
                raise self.error(k, lr.lineno + 1, "file ends before the first configuration (truncated?)")
            if not self._is_config(line):
                found = line.strip().decode(errors="replace")[:80]
                raise self.error(k, lr.lineno, f"expected 'Direct configuration=', found {found!r}")
        self._headers[k] = self._header
        direct = line.strip().decode(errors="replace").lower().startswith("direct")
        first = lr.lineno + 1
        return self._header, direct, first, self._table_lines(lr, k, sum(self._header[2]))

    def _parse(self, block, k):
        (cell, zs, counts, factor), direct, first, (buf, starts) = block
        coords, _ = _read_table(self, k, first, buf, starts, ["x", "y", "z"])
        numbers = np.repeat(np.array(zs, dtype=np.int64), counts)  # after the rows are read: counts are real then
        with np.errstate(invalid="ignore", over="ignore"):  # inf coordinates: NaN positions, warned about once
            positions = coords @ cell if direct else coords * factor
        return Frame(positions, numbers, cell, np.ones(3, dtype=bool))


# --------------------------------------------------------------------------- via ASE


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
