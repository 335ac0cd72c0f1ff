"""VASP XDATCAR, fixed or variable cell."""

from __future__ import annotations

import re

import numpy as np

from ..errors import MissingDataError, UnknownSpeciesError
from ..frames import Frame, species_numbers
from ._text import _DUMMY, MAX_DIGITS, _TextReader, _floats, _read_table, _too_many_digits


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
        if not counts or not all(c.isdigit() and len(c) <= MAX_DIGITS and int(c) > 0 for c in counts):
            raise self.error(k, counts_line, f"atom counts must be positive integers, found "
                             f"{counts_row.decode(errors='replace').strip()[:80]!r}"
                             + _too_many_digits(max(counts, key=len, default=b"")))
        if len(counts) != len(zs):
            raise self.error(k, counts_line, f"{len(counts)} atom counts for {len(zs)} species")
        return (cell * factor, zs, [int(c) for c in counts], factor), config

    def _species(self, k, lineno, word):
        """Atomic number of a species-line entry (``Ge``, ``Ge_d``, ``Ge/1a2b``, ``Ge_d_GW/1a2b``).

        A symbol, then nothing or a POTCAR suffix (``_`` or ``/`` and printable
        ASCII): ``Te\xe9`` or ``Te1`` are refused, not read as Te.
        """
        label = re.fullmatch(r"([A-Za-z]{1,3})(?:[_/][!-~]*)?", word)
        symbol = label.group(1) if label else ""
        if symbol.capitalize() == "X":
            raise self.error(k, lineno, _DUMMY)
        try:
            if not symbol:
                raise UnknownSpeciesError
            return int(species_numbers([symbol])[0])
        except UnknownSpeciesError:
            raise self.error(k, lineno, f"unknown chemical species {word[:32]!r}") from None

    @staticmethod
    def _is_config(line):
        return line.strip().decode(errors="replace").lower().startswith(("direct", "cartesian"))

    def _read_block(self, lr, k):
        line = self._first_line(lr, k)
        if line is None:
            return None
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
