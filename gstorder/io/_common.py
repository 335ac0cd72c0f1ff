"""What every reader shares: files opened through their decompressor, frames labelled with their file and index
(warning once about NaN or infinite values), and the error for a file without frames.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import warnings
import zlib
from pathlib import Path

import numpy as np

from ..errors import GstorderWarning, InvalidArgumentError, SingularCellError, TrajectoryFormatError
from ..frames import Frame, cell_basis


#: Compressed files are read through these, chosen by the last suffix; the format is guessed from the name before it.
_DECOMPRESSORS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open, ".lzma": lzma.open}


class _StreamError(TrajectoryFormatError):
    """Bytes that cannot be read as a trajectory's text whatever the format: a corrupt or truncated compressed
    stream, a line longer than any real one. Readers catch it to name the frame and line; ``detail`` says what."""

    def __init__(self, path, detail):
        super().__init__(f"{path}: {detail}")
        self.detail = detail


#: Decompressors' failures on a corrupt or truncated stream (``BadGzipFile`` is an ``OSError``).
_STREAM_ERRORS = (EOFError, zlib.error, lzma.LZMAError, OSError)


class _Decompressed:
    """A compressed file read through its decompressor, whose failures (``EOFError``, ``zlib.error``,
    ``BadGzipFile``, ``LZMAError``, ``OSError``) become :class:`_StreamError` naming the byte reached.

    Reads go through the decompressor in pieces, so the bytes before a failure are delivered first and the
    failure is raised by the next read: readers then name the frame that the damage cut.
    """

    compressed = True
    PIECE = 1 << 16

    def __init__(self, path):
        self.name = str(path)
        self.suffix = Path(path).suffix.lower()
        self._fh = _DECOMPRESSORS[self.suffix](path, "rb")
        self._pending = None

    def _error(self, exc):
        try:
            where = f" after {self._fh.tell()} bytes of decompressed data"
        except Exception:  # the decompressor may be unusable now
            where = ""
        return _StreamError(self.name, f"the {self.suffix} stream is corrupt or truncated{where} "
                            f"({type(exc).__name__}: {exc})")

    def _pieces(self, size, take):
        """Call ``take(n)`` (bytes delivered, 0 at the end) for up to ``size`` bytes (all if negative)."""
        if self._pending is not None:
            raise self._pending
        got = 0
        while size < 0 or got < size:
            try:
                n = take(self.PIECE if size < 0 else min(self.PIECE, size - got))
            except _STREAM_ERRORS as exc:
                if not got:
                    raise self._error(exc) from None
                self._pending = self._error(exc)
                break
            if not n:
                break
            got += n
        return got

    def read(self, size=-1):
        out = bytearray()

        def take(n):
            piece = self._fh.read1(n)
            out.extend(piece)
            return len(piece)

        self._pieces(-1 if size is None else size, take)
        return bytes(out)

    def readinto(self, buffer):
        view = memoryview(buffer).cast("B")
        done = [0]

        def take(n):
            got = self._fh.readinto1(view[done[0] : done[0] + n])
            done[0] += got
            return got

        return self._pieces(len(view), take)

    def seek(self, offset, whence=0):
        self._pending = None
        try:
            return self._fh.seek(offset, whence)
        except _STREAM_ERRORS as exc:
            raise self._error(exc) from None

    def tell(self):
        return self._fh.tell()

    def close(self):
        self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _open_binary(path):
    """``path`` opened for reading bytes, decompressed on the fly when it ends in .gz, .bz2 or .xz.

    A decompressed stream has ``compressed = True``; its failures raise :class:`_StreamError`.
    """
    return _Decompressed(path) if Path(path).suffix.lower() in _DECOMPRESSORS else open(path, "rb")


def _file_size(fh):
    """Bytes in the file behind ``fh``, or None when it is decompressed (its size is unknown until read)."""
    return None if getattr(fh, "compressed", False) else os.fstat(fh.fileno()).st_size


def _available_memory() -> int:
    """Bytes this process may still allocate: the kernel's MemAvailable, within a cgroup's memory limit if any."""
    available = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return 1 << 62
    try:
        with open("/sys/fs/cgroup/memory.max") as fh:
            limit = fh.read().strip()
        with open("/sys/fs/cgroup/memory.current") as fh:
            used = int(fh.read())
        if limit != "max":
            available = min(available, int(limit) - used)
    except (OSError, ValueError):
        pass
    return max(available, 0)


def _check_memory(path, k, n_atoms, bytes_per_atom, what="atoms"):
    """Refuse (TrajectoryFormatError naming the sizes) a frame of ``n_atoms`` that cannot fit in the memory available.

    For frames whose size the file cannot bound (compressed streams): checked before anything is allocated.
    """
    need = n_atoms * bytes_per_atom
    available = _available_memory()
    if need > available:
        raise TrajectoryFormatError(f"{path}: frame {k}: {n_atoms} {what} would take at least {_size(need)} in memory, "
                                    f"more than the {_size(available)} available (a corrupt count, or a frame too "
                                    "large for this machine)")


def _size(nbytes) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024


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


def _cell_problem(frame: Frame) -> str:
    """Why a frame's periodic cell cannot be used (non-finite, or its periodic vectors span no volume), or ''."""
    if not frame.pbc.any():
        return ""
    try:
        cell_basis(frame)
    except (InvalidArgumentError, SingularCellError) as exc:
        return str(exc).split(": ", 1)[-1]  # without the frame's description: the reader names file, frame and line
    return ""


def _no_frames(path) -> TrajectoryFormatError:
    return TrajectoryFormatError(f"{path}: no frames (the file is empty or holds only blank lines)")
