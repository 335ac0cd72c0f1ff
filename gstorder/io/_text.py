"""Machinery of the text readers: a buffered line reader that counts lines, tables parsed by the Numba kernels,
header numbers, species names, and the block-by-block streaming the extended XYZ, LAMMPS dump and XDATCAR
readers build on.
"""

from __future__ import annotations

import re

import numpy as np
from ase.data import atomic_numbers

from .._kernels.text import (BAD_NUMBER, OK, TOKEN_WIDTH, deferred_tokens, first_non_integer, line_end, newlines,
                             parse_table)
from ..errors import ArgumentTypeError, TrajectoryFormatError
from ..frames import species_numbers
from ..parallel import n_tasks
from ._common import _StreamError, _check_memory, _file_size, _label, _no_frames, _open_binary


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
    A line longer than :attr:`MAX_LINE` bytes is refused as soon as that many
    bytes pass without a line end (no trajectory has such lines; a file of
    digits without a newline would otherwise be gathered whole).
    """

    CHUNK = 1 << 22
    #: Most bytes reserved ahead for a table (beyond it the buffer grows by half as lines arrive).
    MAX_ESTIMATE = 1 << 30
    #: Longest line read (bytes): far beyond real ones (an extended XYZ atom line of 3,331 SOAP numbers is ~80 kB).
    MAX_LINE = 1 << 24

    def __init__(self, fh, lineno=0):
        self.fh = fh
        self.lineno = lineno
        self.base = fh.tell()  # file offset of buf[0]
        self.buf = b""
        self.pos = 0
        self.size = _file_size(fh)  # None for a decompressed stream

    def tell(self):
        return self.base + self.pos, self.lineno

    def remaining(self):
        """Bytes left in the file after the current position, or None when it is decompressed on the fly."""
        return None if self.size is None else max(self.size - self.base - self.pos, 0)

    def _more(self) -> bool:
        chunk = self.fh.read(self.CHUNK)
        if not chunk:
            return False
        self.base += self.pos
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def _too_long(self):
        return _StreamError(getattr(self.fh, "name", "?"), f"the line runs over {self.MAX_LINE} bytes without a line "
                            "end, longer than any line of a trajectory (not a text trajectory, or corrupt)")

    def _line_end(self) -> int:
        """Index in ``buf`` of the next line's newline (reading more as needed), or -1 at the end of the file."""
        end = self.buf.find(b"\n", self.pos)
        while end < 0:
            searched = len(self.buf) - self.pos
            if searched > self.MAX_LINE:
                raise self._too_long()
            if not self._more():
                return -1
            end = self.buf.find(b"\n", searched)
        if end - self.pos > self.MAX_LINE:
            raise self._too_long()
        return end

    def readline(self) -> bytes:
        end = self._line_end()
        if end < 0:
            line = bytes(self.buf[self.pos :])
            self.pos = len(self.buf)
            if line:
                self.lineno += 1
            return line
        line = bytes(self.buf[self.pos : end + 1])  # the buffer may be a bytearray after a table
        self.pos = end + 1
        self.lineno += 1
        return line

    def peek(self) -> bytes:
        """The next line, left unread (empty at the end of the file)."""
        end = self._line_end()
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
        """Move past the next ``n`` lines without reading them (indexing frames); how many there were.

        A line over :attr:`MAX_LINE` is refused as reading does (to within a
        chunk: only lines that span chunks are measured).
        """
        found = 0
        open_line = 0  # bytes of the line still open at the end of the previous chunk
        while True:
            first = self.buf.find(b"\n", self.pos)
            if open_line and (first if first >= 0 else len(self.buf)) - self.pos + open_line > self.MAX_LINE:
                self.lineno += found
                raise self._too_long()
            end, got = line_end(np.frombuffer(self.buf, np.uint8)[self.pos :], n - found)
            if end >= 0:
                self.pos += end
                found = n
                break
            found += got
            last = self.buf.rfind(b"\n", self.pos)
            open_line = len(self.buf) - last - 1 if last >= 0 else open_line + len(self.buf) - self.pos
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

        Reads what the lines so far say the rest will take (never more than
        the file has left), straight into one array (no per-chunk copies of a
        30 MB frame), and finds the line ends in parallel. A line longer than
        :attr:`MAX_LINE` is refused as soon as it is seen.
        """
        head = np.frombuffer(self.buf, np.uint8)[self.pos :]
        ends = newlines(head, 0, len(head), n_tasks(len(head)))
        self._check_lines(ends, 0, len(head))
        if len(ends) >= n:
            data, size = head, len(head)
        else:
            average = (ends[-1] + 1) / len(ends) if len(ends) else 64.0
            estimate = min(int((n - len(ends)) * average * 1.02), self.MAX_ESTIMATE)  # a corrupt count reserves no more
            left = self.remaining()
            if left is not None:  # what the file holds after the buffer
                estimate = min(estimate, max(left - len(head), 0))
            data = np.empty(len(head) + estimate + self.CHUNK, np.uint8)
            data[: len(head)] = head
            size = len(head)
            while len(ends) < n:
                if size == len(data):  # the estimate fell short: grow
                    data = np.concatenate([data, np.empty(len(data) // 2, np.uint8)])
                got = self.fh.readinto(memoryview(data)[size : size + 4 * self.MAX_LINE])  # long lines seen early
                if not got:
                    break
                before = len(ends)
                ends = np.concatenate([ends, newlines(data, size, size + got, n_tasks(got))])
                size += got
                self._check_lines(ends, before, size)
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

    def _check_lines(self, ends, first, size):
        """Refuse a line longer than :attr:`MAX_LINE`: one of those ending at ``ends[first:]``, or the line still
        open at ``size`` (bytes read so far)."""
        previous = int(ends[first - 1]) if first else -1
        lengths = np.diff(np.concatenate([[previous], ends[first:], [size - 1]]))
        if len(lengths) and lengths.max() > self.MAX_LINE:
            self.lineno += first + int(np.argmax(lengths > self.MAX_LINE))
            raise self._too_long()


def _read_table(reader, k, first_line, buf, starts, names, text=()) -> tuple[np.ndarray, np.ndarray]:
    """Columns ``names`` of the lines at ``starts``: numbers (n, columns not in ``text``) and text (n, columns in ``text``).

    Numbers equal Python's ``float()`` of each token; a malformed row raises
    :class:`TrajectoryFormatError` naming its line and column.
    """
    kinds = np.array([1 if name in text else 0 for name in names], dtype=np.int64)
    n = len(starts)
    if n and len(names) > 1:  # before allocating n x columns: rows too short to hold them (a wide header on few bytes)
        lengths = np.diff(np.append(starts, len(buf)))
        short = np.flatnonzero(lengths < 2 * len(names) - 1)  # a character and a separator per column at least
        if len(short):
            row = int(short[0])
            found = len(bytes(buf[starts[row] : starts[row] + lengths[row]]).split())
            raise reader.error(k, first_line + row, f"expected {len(names)} columns, found {found}: "
                               f"{_text(_line_text(buf, starts, row))!r}")
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


#: Least memory a frame takes per atom (positions and atomic number), for refusing counts no memory can hold.
_BYTES_PER_ATOM = 32

#: Longest text field of a table (species names, flags).
_TEXT_WIDTH = 16


def _line_text(buf, starts, row) -> bytes:
    """Row ``row`` of a table, as bytes split the way the table parser splits them (at most its first 200 bytes)."""
    return bytes(buf[starts[row] : starts[row] + 200]).split(b"\n", 1)[0].strip()


def _text(data: bytes, width=80) -> str:
    """Bytes from a file for an error message: undecodable bytes replaced, at most ``width`` characters."""
    return data.decode(errors="replace")[:width]


#: Most digits of a count or step (real ones have at most 12; Python's ``int()`` refuses over 4,300).
MAX_DIGITS = 30
#: A count or step: ASCII digits only (``int()`` would also take ``1_0`` and other scripts' digits), at most
#: :data:`MAX_DIGITS` of them.
_INTEGER = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")


def _too_many_digits(text) -> str:
    """What an error message adds for a count or step refused for its length ('' if that is not why)."""
    return f" ({len(text)} characters; no count or step has over {MAX_DIGITS} digits)" if len(text) > MAX_DIGITS else ""

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

    def _first_line(self, lr, k):
        """Frame ``k``'s first line after any blank ones (None at the end); blank lines between frames are refused."""
        blank = lr.skip_blank()
        line = lr.readline()
        if line and blank:
            raise self.error(k, blank, "blank line between frames (ASE stops reading there); remove it")
        return line or None

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

    def _block(self, lr, k):
        """``_read_block``, with a corrupt compressed stream or an overlong line named by frame and line."""
        try:
            return self._read_block(lr, k)
        except _StreamError as exc:
            raise self.error(k, lr.lineno + 1, exc.detail) from None

    def offsets(self):
        out = []
        self._scanning = True
        try:
            with _open_binary(self.path) as fh:
                lr = _LineReader(fh)
                k = 0
                while True:
                    pos = lr.tell()
                    if self._block(lr, k) is None:
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
            if lr.remaining() is None:  # decompressed: the file cannot bound the count, the memory must
                _check_memory(self.path, k, n, _BYTES_PER_ATOM)
            table = lr.read_table_lines(n)
            found = len(table[1])
        if found < n:
            raise self.error(k, lr.lineno + 1, f"file ends after {found} of {n} atom lines (truncated?)")
        return None if self._scanning else table

    def read_at(self, offset, k):
        pos, lineno = offset
        with _open_binary(self.path) as fh:
            try:
                fh.seek(pos)
            except _StreamError as exc:
                raise self.error(k, lineno + 1, exc.detail) from None
            lr = _LineReader(fh, lineno)
            self._seek_state(k)
            block = self._block(lr, k)
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
                block = self._block(lr, k)
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
