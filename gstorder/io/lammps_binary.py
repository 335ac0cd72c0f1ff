"""LAMMPS binary dumps (revision 2, written since 2021), read through the text dump reader's atom table."""

from __future__ import annotations

import itertools
import os
import struct

import numpy as np

from ..errors import TrajectoryFormatError
from ._common import _DECOMPRESSORS, _StreamError, _check_memory, _label, _no_frames, _open_binary
from ._text import _TEXT_WIDTH
from .lammps_dump import _LammpsDumpReader, _lammps_box


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
        if read and self._size == float("inf"):  # decompressed: the file cannot bound the count, the memory must
            _check_memory(self.path, k, header["natoms"], 8 * max(len(header["names"]), 4))
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
                if not self._frame_at(fh, k, read=False):
                    if not out:
                        raise _no_frames(self.path)
                    return out
                out.append(pos)

    def _frame_at(self, fh, k, read=True):
        """Frame k at the file position (True when only moved past, None at the end of the file)."""
        start = fh.tell()
        try:
            return self._read_frame(fh, k, read)
        except _StreamError as exc:
            raise self.error(k, f"from byte {start}", exc.detail) from None

    def _read_frame(self, fh, k, read):
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
            try:
                fh.seek(offset)
            except _StreamError as exc:
                raise self.error(k, f"byte {offset}", exc.detail) from None
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
