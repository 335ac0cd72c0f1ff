"""The registry of analyses: each analysis declared once, everything else made from that declaration.

An analysis is a subclass of :class:`gstorder.pipeline.Analysis` whose class
attributes declare what gstorder needs to know about it:

``name``
    Its name in :data:`ANALYSES`, in ``gstorder analyze`` (``--set NAME.key=...``),
    in the config file (one TOML table ``[NAME]``) and as its group in ``results.nc``.
``parameters``
    A tuple of :class:`Parameter`: name, default, unit, one-line meaning and
    check (a :mod:`gstorder._checks` function). The analysis' ``__init__``,
    its thin public function (:func:`public`), the config file, the CLI's
    ``--set`` and ``--help``, and the parameters recorded in the results all come from it.
``requires``
    A :class:`Requires`: what the frames must carry (velocities,
    periodicity, species, several frames) for ``analyze(..., "all")`` to run it.
``figures``, ``rows``
    Its figures (:class:`Figure`) and its key-number rows in the report.

:func:`register` adds a class (or several that share one name, such as the
z profile and the layer tracking of ``layers``) to :data:`ANALYSES`.
Adding an analysis is one module and its registration.
"""

from __future__ import annotations

import difflib
import inspect
import textwrap
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import ArgumentTypeError, GstorderDeprecationWarning, InvalidArgumentError

__all__ = ["Parameter", "Requires", "Figure", "Entry", "ANALYSES", "RUN_OPTIONS", "register", "public", "closest"]


@dataclass(frozen=True)
class Parameter:
    """One parameter of an analysis, declared once.

    Attributes
    ----------
    name : str
        Keyword name (and config key).
    default : object
        Default value (``None``: unset, the analysis decides).
    doc : str
        One-line meaning, shown in docstrings, ``--help`` and ``gstorder config``.
    unit : str
        Unit (``"Å"``, ``"K"``, ...), empty when dimensionless.
    check : callable, optional
        ``check(name, value) -> value``: validates and normalises a value
        (not called for ``None`` when the default is ``None``).
    kind : str
        What a config file writes: ``"float"``, ``"int"``, ``"bool"``,
        ``"str"``, ``"list"`` or ``"table"`` (a TOML inline table), or
        ``"python"`` for values only Python can pass (masks, results, objects).
    auto : callable, optional
        ``auto(first_frame) -> value``: the value ``gstorder analyze`` uses when
        the user leaves the parameter unset (e.g. grid sizes from the atom count).
    auto_doc : str
        What ``auto`` chooses, in words.
    aliases : tuple of str
        Deprecated spellings, accepted with a :class:`~gstorder.errors.GstorderDeprecationWarning`.
    """

    name: str
    default: Any
    doc: str
    unit: str = ""
    check: Callable | None = None
    kind: str = "float"
    auto: Callable | None = None
    auto_doc: str = ""
    aliases: tuple = ()

    def validate(self, value, *, where: str = ""):
        """``value`` checked and normalised (``where`` prefixes the name in messages, e.g. ``"rdf."``)."""
        if value is None and self.default is None:
            return None
        if self.kind == "python" or self.check is None:
            return value
        return self.check(where + self.name, value)

    def describe(self) -> str:
        """One line: meaning, unit and default."""
        unit = f" ({self.unit})" if self.unit else ""
        if self.auto is not None:
            default = f"in analyze: {self.auto_doc}" + ("" if self.default is None else f"; alone: {self.default!r}")
        else:
            default = repr(self.default)
        return f"{self.doc}{unit}; default {default}"


@dataclass(frozen=True)
class Requires:
    """What an analysis needs of the frames (``analyze(..., "all")`` skips it, with the reason, otherwise).

    Attributes
    ----------
    velocities : bool
        Frames with velocities.
    periodic : bool
        Periodic in all three directions.
    species : frozenset of str, optional
        Every species of the frames in this set.
    several_frames : bool
        At least two frames (time series such as the MSD).
    min_frames : int
        At least this many frames (e.g. a fit over a range of lags).
    times : bool
        Frames that carry their simulation time, unless the analysis is
        given ``interval_ps`` (a lag axis in ps: diffusion, VDOS).
    check : callable, optional
        ``check(first_frame) -> reason or None``, for anything else.
    """

    velocities: bool = False
    periodic: bool = False
    species: frozenset | None = None
    several_frames: bool = False
    check: Callable | None = None
    min_frames: int = 0
    times: bool = False

    def why_not(self, first, n_frames: int, options: dict | None = None) -> str | None:
        """Why frames like ``first`` (``n_frames`` of them) cannot be analysed with ``options``, or None."""
        if self.velocities and first.velocities is None:
            return "the frames carry no velocities"
        if self.periodic and not first.pbc.all():
            return "the frames are not periodic in all three directions"
        if self.species is not None and not set(first.species) <= self.species:
            return f"it needs {', '.join(sorted(self.species))} only and the frames hold {first.species}"
        if self.several_frames and n_frames < 2:
            return f"it needs several frames and {n_frames} was selected"
        if n_frames < self.min_frames:
            return f"it needs at least {self.min_frames} frames and {n_frames} were selected"
        if self.times and first.time is None and (options if isinstance(options, dict) else {}).get("interval_ps") is None:
            return "the frames carry no times (read the trajectory with timestep_fs=, or give it interval_ps=)"
        return self.check(first) if self.check is not None else None

    def __or__(self, other: "Requires") -> "Requires":
        species = self.species if other.species is None else other.species if self.species is None else \
            self.species & other.species
        checks = [c for c in (self.check, other.check) if c is not None]
        return Requires(self.velocities or other.velocities, self.periodic or other.periodic, species,
                        self.several_frames or other.several_frames,
                        None if not checks else (lambda first: next((w for c in checks if (w := c(first))), None)),
                        max(self.min_frames, other.min_frames), self.times or other.times)


@dataclass(frozen=True)
class Figure:
    """A figure of an analysis: ``<name>.png`` drawn from its result by ``draw(ds) -> matplotlib Figure or None``."""

    name: str
    draw: Callable
    caption: str


#: Options of the run every public analysis function takes besides its parameters (name -> meaning).
RUN_OPTIONS = {
    "index": "frames to use: an int or slice (default all)",
    "select": "centre atoms: species, a region, LAMMPS groups or a mask (see :mod:`gstorder.selection`)",
    "window": "frames (int) or ps (float) per window: averaged results gain a 'window' dimension",
    "block_size": "centre atoms per neighbour-list block (bounds memory)",
    "parallel": "force the threaded (True) or serial (False) kernels",
    "workers": "analyse frames in this many local dask worker processes",
    "show_progress": "progress over frames (default: a bar on a terminal, log lines on long jobs elsewhere)",
}


@dataclass(frozen=True)
class Entry:
    """One name of :data:`ANALYSES`: the analysis classes it runs and their declarations, merged.

    Most entries hold one class; ``layers`` holds the z profile and the layer
    tracking, which share ``axis``.
    """

    name: str
    classes: tuple
    parameters: tuple = field(init=False)

    def __post_init__(self):
        merged = {}
        for cls in self.classes:
            for p in cls.parameters:
                merged.setdefault(p.name, p)
        object.__setattr__(self, "parameters", tuple(merged.values()))

    @property
    def summary(self) -> str:
        return self.classes[0].summary

    @property
    def requires(self) -> Requires:
        out = Requires()
        for cls in self.classes:
            out = out | cls.requires
        return out

    @property
    def groups(self) -> tuple:
        """Group names of the results (the classes' names)."""
        return tuple(c.name for c in self.classes)

    def parameter(self, key: str, *, where: str = "") -> Parameter:
        """The declaration of ``key`` (an alias warns), or an error naming the closest valid key."""
        for p in self.parameters:
            if key == p.name:
                return p
            if key in p.aliases:
                warnings.warn(f"{where}{key} is deprecated; spell it {p.name}", GstorderDeprecationWarning, stacklevel=5)
                return p
        raise ArgumentTypeError(f"unknown parameter {where}{key} of {self.name}"
                                f"{closest(key, [p.name for p in self.parameters], where)}")

    def resolve(self, values: dict, *, where: str = "") -> dict:
        """User values checked and keyed by their declared names (defaults not filled in)."""
        out = {}
        for key, value in values.items():
            p = self.parameter(str(key), where=where)
            if p.name in out:
                raise InvalidArgumentError(f"{where}{p.name} given twice (also as a deprecated spelling)")
            out[p.name] = p.validate(value, where=where)
        return out

    def build(self, values: dict, first=None) -> list:
        """The analysis objects for checked ``values``, unset parameters from ``auto(first)`` or their defaults."""
        values = dict(values)
        if first is not None:
            for p in self.parameters:
                if p.name not in values and p.auto is not None:
                    values[p.name] = p.auto(first)
        out = []
        for cls in self.classes:
            own = {p.name for p in cls.parameters}
            out.append(cls(**{k: v for k, v in values.items() if k in own}))
        return out


#: Every registered analysis by name, in registration order (the order of reports and configs).
ANALYSES: dict[str, Entry] = {}


def register(*classes, name: str | None = None):
    """Register analysis classes under ``name`` (default: the first class' ``name``); returns the first class.

    Usable as a class decorator (``@register``) or called with several
    classes that run together under one name.
    """
    if not classes:
        raise ArgumentTypeError("register needs at least one Analysis class")
    from .pipeline import Analysis

    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, Analysis)):
            raise ArgumentTypeError(f"register takes Analysis subclasses, got {cls!r}")
    entry = Entry(name or classes[0].name, tuple(classes))
    ANALYSES[entry.name] = entry
    ordered = sorted(ANALYSES.values(), key=lambda e: e.classes[0].order)  # stable: registration order otherwise
    ANALYSES.clear()
    ANALYSES.update((e.name, e) for e in ordered)
    return classes[0]


def closest(key: str, valid, prefix: str = "") -> str:
    """'; did you mean X?' for the closest of ``valid``, else a list of the valid keys."""
    valid = list(valid)
    match = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
    if match:
        return f"; did you mean {prefix}{match[0]}?"
    return f"; valid: {', '.join(prefix + v for v in valid)}" if valid else ""


def public(cls, *, positional: tuple = (), run_options=tuple(RUN_OPTIONS)):
    """Make a function the thin public face of analysis ``cls``: signature and parameter docs from its declaration.

    The decorated function is written as ``def rdf(frames, **options): return
    RDF.call(frames, options)``; this sets its ``__signature__`` (``frames``,
    then ``positional`` parameters, then every declared parameter and the run
    options as keywords) and inserts a numpy-style *Parameters* section, made
    from the declarations, before the docstring's *Returns* (or *Raises*).
    """
    def decorate(function):
        P = inspect.Parameter
        params = [P("frames", P.POSITIONAL_OR_KEYWORD)]
        params += [P(p.name, P.POSITIONAL_OR_KEYWORD, default=p.default) for p in cls.parameters if p.name in positional]
        params += [P(p.name, P.KEYWORD_ONLY, default=p.default) for p in cls.parameters if p.name not in positional]
        params += [P(name, P.KEYWORD_ONLY, default=None) for name in run_options]
        function.__signature__ = inspect.Signature(params)
        function.__doc__ = _with_parameters(function.__doc__ or "", cls, run_options)
        function.analysis = cls
        return function

    return decorate


def _with_parameters(doc: str, cls, run_options) -> str:
    lines = ["Parameters", "----------", "frames : path, Frame, ase.Atoms, Trajectory or iterable of them"]
    for p in cls.parameters:
        lines.append(f"{p.name} : {p.kind}" + (f", in {p.unit}" if p.unit else ""))
        lines += textwrap.wrap(p.describe() + ".", 96, initial_indent="    ", subsequent_indent="    ")
        if p.aliases:
            lines.append(f"    (Deprecated spelling: {', '.join(p.aliases)}.)")
    lines.append(", ".join(run_options))
    lines += ["    " + f"{name}: {RUN_OPTIONS[name]}." for name in run_options]
    doc = inspect.cleandoc(doc)
    block = "\n".join(lines)
    for header in ("Returns\n-------", "Raises\n------", "Notes\n-----", "Examples\n--------"):
        at = doc.find(header)
        if at >= 0:
            return doc[:at] + block + "\n\n" + doc[at:]
    return doc + "\n\n" + block
