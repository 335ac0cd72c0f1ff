"""LAMMPS text dumps (``dump custom``/``atom``), and the atom-table and box reading that binary dumps and NetCDF
share with them.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import MissingDataError, TrajectoryFormatError
from ..frames import Frame
from ._common import _open_binary
from ._text import _INTEGER, MAX_DIGITS, _TextReader, _too_many_digits, _as_int, _floats, _read_table, _symbols_to_numbers


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
            raise self.error(k, line_n, f"the number of atoms must be an integer ≥ 0, found {text[:80]!r}"
                             + _too_many_digits(text))
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
        if not re.fullmatch(rf"-?[0-9]{{1,{MAX_DIGITS}}}", value):
            raise self.error(k, line_t, f"the timestep must be an integer, found {value[:80]!r}" + _too_many_digits(value))
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
                    "species={1: 'Ge', 2: 'Sb', 3: 'Te'} (or a list for types 1, 2, ...; on the command line "
                    "--species 1=Ge,2=Sb,3=Te)"
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
        try:
            with np.errstate(over="ignore"):  # a box of 1e300 Å is read as written; its norm need not warn
                return Frame(positions, numbers, cell, pbc, velocities, masses, time, arrays=arrays, info=info)
        except (ValueError, MissingDataError) as exc:  # masses that are not positive, ...
            raise TrajectoryFormatError(f"{self.path}: frame {k}: {exc}") from None


#: Per-atom vectors of LAMMPS dumps: all three columns or none.
_LAMMPS_VECTORS = (("x", "y", "z"), ("xu", "yu", "zu"), ("xs", "ys", "zs"), ("xsu", "ysu", "zsu"), ("ix", "iy", "iz"),
                   ("vx", "vy", "vz"), ("fx", "fy", "fz"))


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
