"""Run configurations: one TOML table per analysis of :data:`gstorder.ANALYSES` plus a ``[run]`` table.

``gstorder config`` prints the complete default configuration, each
parameter with its unit and meaning as a comment; ``gstorder analyze TRAJ
--config run.toml --set kbar.reference=trigonal`` runs one. Every value is
checked before any frame is read; an unknown table or key, a wrong type or
an invalid value is a :class:`~gstorder.errors.ConfigError` naming the key
and the closest valid one. The effective configuration of a run is written
beside its results (``config.toml``) and stored in ``results.nc``, so
``gstorder analyze TRAJ --config OUT/config.toml`` repeats it exactly.

Besides its parameters, every analysis table takes ``frames`` (the frames
it analyses, ``"start:stop:step"`` counted among the run's frames) and
``select`` (its centre atoms, see :mod:`gstorder.selection`).
"""

from __future__ import annotations

import json
import math
import re
import sys

from . import _checks
from .errors import ConfigError, GstorderError
from ._dask import check_workers
from .registry import ANALYSES, Parameter, closest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["RUN", "PER_ANALYSIS", "default_config", "load", "parse_set", "merge", "validate", "to_toml", "frame_range"]


def frame_range(name: str, value):
    """Frames as an int or ``"start:stop:step"`` text (a slice), checked; returned as an int or slice."""
    if isinstance(value, slice) or value is None:
        return _checks.frame_index(name, value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if ":" not in text:
                return int(text)
            parts = [int(p) if p.strip() else None for p in text.split(":")]
            if len(parts) > 3:
                raise ValueError
        except ValueError:
            raise ConfigError(f"{name} = {value!r}: expected N or start:stop:step with integers") from None
        return _checks.frame_index(name, slice(*parts))
    return _checks.frame_index(name, value)


def _species_map(name, value):
    if isinstance(value, dict):
        table = {}
        for key, symbol in value.items():
            if not str(key).strip().isdigit() or not isinstance(symbol, str):
                raise ConfigError(f"{name}: expected LAMMPS type = element pairs such as {{1 = \"Ge\"}}, got {key!r} = {symbol!r}")
            table[int(key)] = symbol
        return table
    return _checks.strings(name, value)


def _window(name, value):
    from .pipeline import check_window

    return check_window(value)


def _selection(name, value):
    from .selection import selection

    selection(value)
    return value


def _analyses(name, value):
    names = [value] if isinstance(value, str) else _checks.strings(name, value)
    for n in names:
        if n != "all" and n not in ANALYSES:
            raise ConfigError(f"{name}: unknown analysis {n!r}{closest(n, list(ANALYSES))}")
    return value


#: The ``[run]`` table: how frames are read and the run is executed.
RUN = (
    Parameter("analyses", "all", "analyses to run: 'all' (every one the frames allow) or a list of names", check=_analyses,
              kind="list"),
    Parameter("frames", None, "frames to use: N or 'start:stop:step' (unset: all)", check=frame_range, kind="str"),
    Parameter("format", None, "file format (unset: guessed from the name)", check=lambda n, v: _checks.strings(n, v)[0],
              kind="str"),
    Parameter("species", None, "LAMMPS type map such as {1 = 'Ge', 2 = 'Sb', 3 = 'Te'} or a list of elements",
              check=_species_map, kind="table"),
    Parameter("timestep_fs", None, "MD time step (LAMMPS dumps without ITEM: TIME)", "fs", _checks.positive),
    Parameter("groups", None, "LAMMPS group file (e.g. the deck's groups.lmp): fixed/heater tags",
              check=lambda n, v: _checks.strings(n, v)[0], kind="str"),
    Parameter("select", None, "centre atoms of every analysis that takes a selection (see gstorder.selection)",
              check=_selection, kind="table"),
    Parameter("window", None, "frames (integer) or ps (float) per window: averaged results gain a window dimension",
              check=_window, kind="float"),
    Parameter("workers", None, "local dask worker processes (unset: this process)", check=lambda n, v: check_workers(n, v), kind="int"),
    Parameter("per_atom", False, "also write per-atom results (atoms.nc and atoms.lammpstrj)", check=_checks.flag,
              kind="bool"),
    Parameter("block_size", None, "centre atoms per neighbour-list block (bounds memory)", check=_checks.count, kind="int"),
)

#: Keys every analysis table takes besides its parameters.
PER_ANALYSIS = (
    Parameter("frames", None, "frames this analysis takes, counted among the run's: N or 'start:stop:step'",
              check=frame_range, kind="str"),
    Parameter("select", None, "its centre atoms (see gstorder.selection)", check=_selection, kind="table"),
)


def load(path_or_text, *, text: bool = False) -> dict:
    """A config file (or TOML ``text``) as a dict of tables; TOML syntax errors name the line."""
    try:
        if text:
            return tomllib.loads(path_or_text)
        with open(path_or_text, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path_or_text if not text else 'config'}: not valid TOML: {exc}") from None


def parse_set(items) -> dict:
    """``["kbar.reference=trigonal", "rdf.r_max=6"]`` as tables; values in TOML syntax, bare words as strings."""
    out: dict = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or "." not in key:
            raise ConfigError(f"--set {item!r}: expected TABLE.KEY=VALUE, e.g. kbar.reference=trigonal or rdf.r_max=6.0")
        table, _, name = key.partition(".")
        try:
            parsed = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value.strip()  # a bare word: trigonal
        out.setdefault(table.strip(), {})[name.strip()] = parsed
    return out


def merge(*configs) -> dict:
    """Tables of later configs override the keys of earlier ones (``--set`` beats the file, the file the defaults)."""
    out: dict = {}
    for config in configs:
        for table, values in (config or {}).items():
            if not isinstance(values, dict):
                raise ConfigError(f"{table} = {values!r}: settings go in tables, e.g. [{table}] or --set {table}.KEY=VALUE")
            out.setdefault(table, {}).update(values)
    return out


def validate(config: dict) -> tuple[dict, dict]:
    """Check every table and key: ``(run settings, {analysis: {key: value}})`` with declared names; nothing read yet.

    Raises
    ------
    ConfigError
        For an unknown table or key (naming the closest valid one), a value
        of the wrong type or out of range.
    """
    tables = ["run"] + list(ANALYSES)
    run, analyses = {}, {}
    for table, values in config.items():
        if table not in tables:
            raise ConfigError(f"unknown table [{table}]{closest(table, tables)}")
        if not isinstance(values, dict):
            raise ConfigError(f"[{table}] must be a table of settings, got {values!r}")
        declared = RUN if table == "run" else PER_ANALYSIS + ANALYSES[table].parameters
        checked = {}
        for key, value in values.items():
            p = _declared(declared, key, table)
            if p.kind == "python":
                raise ConfigError(f"{table}.{key} can only be set from Python (a mask or an object)")
            try:
                checked[p.name] = p.validate(value, where=f"{table}.")
            except ConfigError:
                raise
            except (GstorderError, ValueError, TypeError) as exc:
                raise ConfigError(f"{table}.{key} = {_toml_value(value)}: {exc}") from None
        (run if table == "run" else analyses.setdefault(table, {})).update(checked)
    return run, analyses


def _declared(declared, key, table) -> Parameter:
    for p in declared:
        if key == p.name or key in p.aliases:
            return p
    raise ConfigError(f"unknown key {table}.{key}{closest(key, [p.name for p in declared], table + '.')}")


# --------------------------------------------------------------------------- writing


def default_config() -> str:
    """The complete default configuration as TOML, every parameter's unit and meaning as a comment.

    Loading it back (:func:`load`, :func:`validate`) gives the defaults unchanged.
    """
    return to_toml({}, {})


def to_toml(run: dict, analyses: dict, *, header: str = "") -> str:
    """A configuration as TOML: ``run`` settings and each analysis' values over the defaults, commented.

    Parameters left unset (``None`` or chosen from the frames) are written as
    comments, so the file loads back to the same settings; values only Python
    can hold (masks, objects) are named in a comment.
    """
    lines = [header or "# gstorder analyze configuration: gstorder analyze TRAJ --config FILE",
             "# one table per analysis (gstorder.ANALYSES); --set TABLE.KEY=VALUE overrides a value", ""]
    lines += _table("run", RUN, run)
    for name, entry in ANALYSES.items():
        lines.append(f"# {name}: {entry.summary}")
        lines += _table(name, PER_ANALYSIS + entry.parameters, analyses.get(name, {}))
    return "\n".join(lines).rstrip() + "\n"


def _table(name, declared, values) -> list:
    lines = [f"[{name}]"]
    for p in declared:
        value = values[p.name] if p.name in values else (None if p.auto is not None else p.default)
        if isinstance(value, slice):
            value = ":".join("" if x is None else str(x) for x in (value.start, value.stop, value.step)).rstrip(":") or ":"
        comment = f"  # {p.doc}" + (f" ({p.unit})" if p.unit else "")
        if p.kind == "python" or (value is not None and not _toml_able(value)):
            lines.append(f"# {p.name}: set from Python, not written here{comment[1:]}")
        elif value is None:
            auto = f"; unset: {p.auto_doc}" if p.auto_doc else ""
            lines.append(f"# {p.name} = ...{comment}{auto}")
        else:
            lines.append(f"{p.name} = {_toml_value(value)}{comment}")
    lines.append("")
    return lines


def _toml_able(value) -> bool:
    if isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_toml_able(v) for v in value)
    if isinstance(value, dict):
        return all(_toml_able(v) for v in value.values())
    return False


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


def _toml_key(key) -> str:
    if isinstance(key, tuple):
        key = "-".join(map(str, key))
    key = str(key)
    return key if _BARE.match(key) else json.dumps(key, ensure_ascii=False)
