"""Extended XYZ as ASE reads it: the comment line's ``key=value`` pairs, ``Properties`` columns,
``Lattice``/``pbc`` and ``VEC`` cell lines.
"""

from __future__ import annotations

import numpy as np

from ..errors import MissingDataError
from ..frames import ASE_VELOCITY_TO_A_PER_PS, Frame
from ._common import _cell_problem
from ._text import _DUMMY, _INTEGER, _LineReader, _TextReader, _too_many_digits, _as_int, _floats, _line_text, _read_table, _symbols_to_numbers, _text


_PROPERTY_DTYPES = {"R": "R", "I": "I", "S": "S", "L": "L"}
#: Most columns an atom line can hold (one character and a space each).
_MAX_COLUMNS = _LineReader.MAX_LINE // 2


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
        line = self._first_line(lr, k)
        if line is None:
            return None
        count_line = lr.lineno
        words = line.split()
        if not words or not _INTEGER.fullmatch(words[0].decode(errors="replace")):
            found = line.strip().decode(errors="replace")[:80]
            raise self.error(k, count_line, f"expected the number of atoms, found {found!r}"
                             + _too_many_digits(line.split()[0] if line.split() else b""))
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
        return n, count_line, comment, table, vectors

    def _parse(self, block, k):
        n, count_line, comment, (buf, starts), vectors = block
        first = count_line + 2
        try:  # strictly: a damaged byte would otherwise turn 'Lattice=' into an unknown key and the cell into none
            comment = comment.decode()
        except UnicodeDecodeError as exc:
            raise self.error(k, count_line + 1, f"the comment line is not UTF-8 text (byte {exc.object[exc.start]:#04x} "
                             f"at column {exc.start + 1}: {_text(comment)!r}); ASE refuses it too; repair or remove "
                             "the damaged characters") from None
        keys = {"comment": comment.strip()} if vectors else _parse_comment(comment)
        props = keys.pop("Properties", None)
        if props is None:  # ASE would ignore a lowercase 'properties=' and read species and pos: honour it instead
            props = next((keys.pop(key) for key in list(keys) if key.lower() == "properties"), "species:S:1:pos:R:3")
        props = str(props)
        fields = props.split(":")
        if len(fields) % 3 or not fields:
            raise self.error(k, count_line + 1, f"malformed Properties={props[:80]!r}")
        spec = []
        for a in range(0, len(fields), 3):
            name, kind, width = fields[a], fields[a + 1], fields[a + 2]
            if kind not in _PROPERTY_DTYPES or not _INTEGER.fullmatch(width):
                raise self.error(k, count_line + 1, f"malformed Properties entry {f'{name}:{kind}:{width}'[:80]!r}")
            spec.append((name, kind, int(width)))
        width = sum(w for _, _, w in spec)
        if n and width > len(bytes(buf[starts[0] : starts[1] if n > 1 else len(buf)]).split()):  # before allocating
            found = _text(_line_text(buf, starts, 0))
            raise self.error(k, first, f"Properties={props[:80]!r} declares {width} columns, the first atom line has "
                             f"fewer: {found!r}")
        if width > _MAX_COLUMNS:  # a frame without atoms: what no line can hold, refused before naming each column
            raise self.error(k, count_line + 1, f"Properties={props[:80]!r} declares {width} columns, more than a line "
                             f"of {_LineReader.MAX_LINE} bytes can hold")
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
            if (numbers == 0).any():  # ASE's dummy atoms, refused as the species column refuses X
                raise self.error(k, first + int(np.argmax(numbers == 0)), "atomic number Z = 0: " + _DUMMY)
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
                value = keys.pop(key)
                time = _floats(str(value))
                if time is None or len(time) != 1:
                    raise self.error(k, count_line + 1, f"{key}= is not a number: {str(value)[:80]!r}")
                if not np.isfinite(time[0]):
                    raise self.error(k, count_line + 1, f"{key}= must be a finite number, found {str(value)[:80]!r}")
                time = float(time[0]) * scale
                break
        info = {key: _info_value(value) for key, value in keys.items()}
        try:
            frame = Frame(positions, numbers, cell, pbc, velocities, masses, time, arrays=cols, info=info)
        except (ValueError, MissingDataError) as exc:
            raise self.error(k, count_line + 1, str(exc)) from None
        problem = _cell_problem(frame)
        if problem:
            raise self.error(k, vectors[-1][1] if vectors else count_line + 1, problem)
        return frame


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
