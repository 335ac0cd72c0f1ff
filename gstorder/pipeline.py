"""One pass over a trajectory: each frame read once, each neighbour list searched once, every analysis fed.

Every analysis is an object with a small protocol (:class:`Analysis`):
``setup`` fixes what the first frame decides (species, grids),
``begin_frame`` / ``add_block`` / ``end_frame`` turn one frame into a small
*part* (histogram counts, per-frame numbers, optionally per-atom arrays),
and ``result`` assembles the parts of all frames, in frame order, into an
xarray object. Parts are computed from one frame alone, so frames can be
analysed anywhere — in this process or as dask tasks on a cluster — and the
reduction (counts summed, per-frame rows stacked) is the same either way.
Analyses that follow atoms from frame to frame (``sequential = True``:
MSD, layer tracking) keep state between frames and see the frames in order.

:func:`run` is the one owner of the frame loop: the public functions
(``rdf``, ``kbar``, ...) are thin wrappers around it, and
:func:`gstorder.analyze` runs many analyses in one pass, optionally on a
``dask.distributed`` client.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, replace
from typing import Any, Iterator

import numpy as np
from ase.data import chemical_symbols

from . import _checks, neighbors
from ._progress import progress
from .errors import ArgumentTypeError, EmptyFrameError, InconsistentFramesError, InvalidArgumentError, MissingDataError
from .frames import Frame, species_numbers
from .parallel import DEFAULT_BLOCK_SIZE
from .registry import RUN_OPTIONS, Entry, Requires
from .source import Source, no_frames, selected_positions

__all__ = ["Analysis", "Need", "Part", "Plan", "FrameNeighbours", "run", "frame_parts", "analyse_frames", "analysis_frames",
           "selected_positions", "READING", "SEARCHES"]


# --------------------------------------------------------------------------- the protocol


@dataclass(frozen=True)
class Need:
    """A neighbour list an analysis needs.

    Attributes
    ----------
    cutoff : float or tuple
        Cut-off in Å, or a per-species-pair table as a sorted tuple of
        ``((a, b), cutoff)`` items (build with :meth:`of`).
    full : bool
        Both directions of every pair (``False``: a half list is enough; the
        analysis must then also accept a full list).
    centres : tuple of str or None
        Centre species (``None``: every atom).
    select : Selection or None
        Centre atoms chosen by :mod:`gstorder.selection` (with ``centres``: both).
    """

    cutoff: Any
    full: bool = True
    centres: tuple | None = None
    select: Any = None

    @classmethod
    def of(cls, cutoff, *, full: bool = True, centres=None, select=None) -> "Need":
        """A validated need from a scalar or dict cut-off and centre species (a symbol or list)."""
        if isinstance(cutoff, dict):
            items = []
            for key, value in cutoff.items():
                if not (isinstance(key, tuple) and len(key) == 2):
                    raise InvalidArgumentError(f"per-pair cut-off keys must be pairs of species, got {key!r}")
                species_numbers(key)
                items.append((tuple(str(s) for s in key), _checks.positive(f"cutoff[{key!r}]", value, unit="Å")))
            if not items:
                raise InvalidArgumentError("a per-pair cut-off table needs at least one pair")
            value = tuple(sorted(items))
        else:
            value = _checks.positive("cutoff", cutoff, unit="Å")
        if centres is not None:
            centres = (str(centres),) if isinstance(centres, (str, int, np.integer)) else tuple(str(c) for c in centres)
            species_numbers(centres)
        return cls(value, bool(full), centres, select)

    @property
    def table(self):
        """The cut-off as :func:`gstorder.neighbors.build` takes it (a float or a dict)."""
        return dict(self.cutoff) if isinstance(self.cutoff, tuple) else self.cutoff

    @property
    def reach(self) -> float:
        """Largest distance searched, Å."""
        return max(v for _, v in self.cutoff) if isinstance(self.cutoff, tuple) else self.cutoff


@dataclass
class Part:
    """What one frame contributes to one analysis.

    Attributes
    ----------
    data : object
        Small and picklable: counts, per-frame numbers.
    atoms : dict of str to (ndarray, dict), optional
        Per-atom arrays (name -> values over atoms, attrs), kept in memory or
        streamed to disk by the runner.
    """

    data: Any
    atoms: dict | None = None


class Analysis:
    """Base class of the analyses the runner feeds.

    Subclasses declare themselves in class attributes (see
    :mod:`gstorder.registry`): ``name``, ``parameters`` (a tuple of
    :class:`~gstorder.registry.Parameter`), ``summary``, ``requires``,
    ``figures`` and ``rows``. ``__init__`` checks the keyword values against
    ``parameters`` (once, at the boundary), stores each as an attribute and in
    :attr:`values`, and calls :meth:`prepare`, where a subclass derives what
    it needs (bins, ``needs``: a tuple of :class:`Need`). Subclasses implement
    :meth:`end_frame` and :meth:`result`; those with neighbour lists
    implement :meth:`add_block`. Frame methods must not warn or print (they
    may run on a remote worker): they record what they notice in the part,
    and :meth:`result` warns.
    """

    name: str = "analysis"
    #: Declared parameters (:class:`~gstorder.registry.Parameter`), in the order of the public function.
    parameters: tuple = ()
    #: One line: what it computes (``--help``, the config file).
    summary: str = ""
    #: Place among :data:`~gstorder.registry.ANALYSES` (reports, configs); ties keep the registration order.
    order: float = 100.0
    #: What the frames must carry (:class:`~gstorder.registry.Requires`).
    requires = Requires()
    #: Figures of its result (:class:`~gstorder.registry.Figure`).
    figures: tuple = ()
    #: ``rows(ds, tree) -> [(label, value)]``: its key numbers in the report from its own result ``ds`` (windows as the
    #: figures show them; the report skips an analysis without one) and the whole run ``tree`` (None: no rows).
    rows = None
    #: Where the rows go: ``"run"`` (beside the cell: properties of the frames themselves) or ``"results"``.
    rows_section: str = "results"
    #: Honours ``select=`` (centre atoms); others refuse it.
    selectable: bool = False
    #: Its result averages over frames, so ``window=`` gives it a ``window`` dimension.
    windowed: bool = False
    needs: tuple = ()
    #: Follows atoms from frame to frame: sees every frame in order, in one process.
    sequential: bool = False
    #: Largest block of centre atoms it can take (bounds its buffers).
    max_block: int | None = None
    #: Every frame must hold the same atoms (per-atom or unwrapped results).
    same_atoms: bool = False
    #: Threaded kernels (None: by size); set by the runner.
    parallel = None
    #: The centre selection (:class:`~gstorder.selection.Selection`) or None; set by the runner.
    selection = None

    def __init__(self, **values):
        entry = Entry(self.name, (type(self),))
        checked = entry.resolve(values)
        self.values = {p.name: checked.get(p.name, p.default) for p in self.parameters}
        for key, value in self.values.items():
            setattr(self, key, value)
        self.prepare()

    def prepare(self) -> None:
        """Derive what the checked parameter values decide (bins, neighbour needs); runs at the end of ``__init__``."""

    def select(self, selection) -> None:
        """Take only the centre atoms of ``selection`` (a :class:`~gstorder.selection.Selection`); neighbours stay all atoms.

        The default restricts the centres of every neighbour need; analyses
        that use the selection otherwise extend this.
        """
        if not self.selectable:
            raise InvalidArgumentError(f"{self.name} does not take select= (it analyses every atom)")
        self.selection = selection
        self.needs = tuple(replace(n, select=selection) for n in self.needs)

    def centre_mask(self, frame: Frame) -> np.ndarray:
        """The selected centre atoms of ``frame`` (every atom without a selection)."""
        return np.ones(len(frame), dtype=bool) if self.selection is None else self.selection.mask(frame)

    @classmethod
    def call(cls, frames, options: dict):
        """Run this analysis alone over ``frames`` (the body of its thin public function): parameters and run options."""
        run_options = {k: options.pop(k) for k in list(options) if k in RUN_OPTIONS}
        return run(frames, [cls(**options)], **run_options)[cls.name]

    def setup(self, frame: Frame) -> None:
        """Fix what the first frame decides (species, grids). Runs once, before any frame."""

    def begin_frame(self, frame: Frame) -> Any:
        """Per-frame scratch state handed to :meth:`add_block` and :meth:`end_frame`."""
        return None

    def add_block(self, state, frame: Frame, lists: "BlockLists") -> None:
        """Take one block of centre atoms; ``lists[need]`` is its neighbour list for each of ``needs``."""

    def end_frame(self, state, frame: Frame) -> Part:
        raise NotImplementedError

    def result(self, parts: list, times: np.ndarray):
        """The labelled result from the parts of every frame (in order) and their times (ps, NaN if unknown)."""
        raise NotImplementedError

    def recorded(self) -> dict:
        """Parameters recorded with the run (the declared values; plain numbers and text)."""
        return dict(getattr(self, "values", {}))


# --------------------------------------------------------------------------- shared neighbour lists


class FrameNeighbours:
    """The neighbour lists of one frame for a set of needs, block by block of centre atoms.

    One search per kind of list: the full lists share one cell list at the
    largest full cut-off, and a half list reaching further (e.g. an RDF to
    8 Å beside SOAP at 5.5 Å) gets its own, cheaper half search; every other
    need — shorter cut-offs, per-pair tables, centre species, half lists
    within the full reach — is that search filtered (:class:`BlockLists`).
    Each block of centres is searched once per kind, so memory stays bounded
    by the block size.

    Attributes
    ----------
    searches : int
        Neighbour searches made (one per kind per block).
    """

    def __init__(self, frame: Frame, needs, *, block_size: int = DEFAULT_BLOCK_SIZE, parallel=None):
        needs = tuple(dict.fromkeys(needs))
        if not needs:
            raise InvalidArgumentError("FrameNeighbours needs at least one Need")
        if block_size < 1:
            raise InvalidArgumentError(f"block_size must be positive, got {block_size}")
        self.frame, self.needs, self.block_size, self.parallel = frame, needs, int(block_size), parallel
        self._masks = {n: _centre_mask(frame, n) for n in needs if n.centres is not None or n.select is not None}
        if len(self._masks) < len(needs):
            self.centres = np.arange(len(frame), dtype=np.int64)
        else:
            union = np.zeros(len(frame), dtype=bool)
            for m in self._masks.values():
                union |= m
            self.centres = np.flatnonzero(union)
        full_reach = max((n.reach for n in needs if n.full), default=0.0)
        half_reach = max((n.reach for n in needs if not n.full and n.reach > full_reach), default=0.0)
        self._grids = [(neighbors._Grid(frame, reach), full) for reach, full in ((full_reach, True), (half_reach, False))
                       if reach > 0]
        self._types = None
        self._tables = {}
        self.searches = 0

    def blocks(self) -> Iterator["BlockLists"]:
        for start in range(0, len(self.centres), self.block_size):
            chunk = self.centres[start : start + self.block_size]
            bases = [grid.query(chunk, full=full, parallel=self.parallel) for grid, full in self._grids]
            self.searches += len(bases)
            yield BlockLists(self, bases)

    def pair_cutoffs(self, nl, table) -> np.ndarray:
        """Per-pair cut-offs of a per-species-pair table for the pairs of ``nl``."""
        if self._types is None:
            self._types = np.searchsorted(np.unique(self.frame.numbers), self.frame.numbers)
        key = tuple(sorted(table.items()))
        if key not in self._tables:  # once per frame, not once per block
            self._tables[key] = neighbors._cutoff_tables(self.frame, table)[1]
        matrix = self._tables[key]
        return matrix[self._types[nl.i], self._types[nl.j]]


class BlockLists:
    """The neighbour lists of one block of centres, by :class:`Need` (filtered from the block's searches, cached)."""

    def __init__(self, owner: FrameNeighbours, bases):
        self._owner, self.bases, self._cache = owner, bases, {}

    @property
    def centers(self) -> np.ndarray:
        return self.bases[0].centers

    @property
    def parallel(self):
        """The runner's choice of threaded kernels (``None``: by size), to pass to :func:`~gstorder.parallel.n_tasks`."""
        return self._owner.parallel

    def __getitem__(self, need: Need):
        if need not in self._cache:
            self._cache[need] = self._derive(need)
        return self._cache[need]

    def _derive(self, need: Need):
        # filter the shortest list made so far that holds every pair needed (fewer pairs to sift)
        made = [done for n, done in self._cache.items()
                if n.centres is None and n.select is None and not isinstance(n.cutoff, tuple)]
        nl = min((done for done in made + self.bases if done.full >= need.full and done.cutoff >= need.reach), key=len)
        if need in self._owner._masks:
            keep = self._owner._masks[need][nl.centers]
            if not keep.all():
                nl = nl.take(keep)
        if isinstance(need.cutoff, tuple):
            out = nl.select(nl.distances < self._owner.pair_cutoffs(nl, need.table))
            out.cutoff = need.reach
            return out
        return nl if need.cutoff >= nl.cutoff else nl.within(need.cutoff)


def _centre_mask(frame: Frame, need: Need) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool) if need.centres is None else np.isin(frame.numbers, species_numbers(need.centres))
    return mask if need.select is None else mask & need.select.mask(frame)


# --------------------------------------------------------------------------- the frame loop


#: Names of the stages :func:`run` clocks besides the analyses (``seconds=``).
READING, SEARCHES = "reading frames", "neighbour searches"


def frame_parts(frame: Frame, analyses, *, block_size: int | None = None, parallel=None, seconds: dict | None = None) -> list:
    """Every analysis' :class:`Part` of one frame, from one neighbour search per block of centres.

    ``seconds`` (optional) accumulates wall-clock seconds per stage: each
    analysis' own work under its name, the shared searches under :data:`SEARCHES`.
    """
    spent = np.zeros(len(analyses))

    def clocked(k, method, *args):
        start = _time.perf_counter()
        out = method(*args)
        spent[k] += _time.perf_counter() - start
        return out

    states = [clocked(k, a.begin_frame, frame) for k, a in enumerate(analyses)]
    needs = [n for a in analyses for n in a.needs]
    searched = 0.0
    if needs and len(frame):
        size = min([block_size or DEFAULT_BLOCK_SIZE] + [a.max_block for a in analyses if a.max_block])
        start, before = _time.perf_counter(), spent.sum()
        for lists in FrameNeighbours(frame, needs, block_size=size, parallel=parallel).blocks():
            for k, (a, state) in enumerate(zip(analyses, states)):
                if a.needs:
                    clocked(k, a.add_block, state, frame, lists)
        searched = _time.perf_counter() - start - (spent.sum() - before)  # the blocks' searches: the loop less the analyses
    parts = [clocked(k, a.end_frame, state, frame) for k, (a, state) in enumerate(zip(analyses, states))]
    if seconds is not None:
        add_seconds(seconds, {a.name: float(t) for a, t in zip(analyses, spent)})
        if needs:
            add_seconds(seconds, {SEARCHES: float(searched)})
    return parts


def add_seconds(seconds: dict, more: dict) -> None:
    """Add ``more`` (stage -> s) into ``seconds``."""
    for stage, t in more.items():
        seconds[stage] = seconds.get(stage, 0.0) + t


@dataclass
class Plan:
    """What one run does: its analyses, the frames each one takes and how frames are checked.

    Attributes
    ----------
    analyses : list of Analysis
    frames_of : dict of str to set of int, optional
        Analysis name -> positions (counted among the run's selected frames)
        it takes; an analysis not named takes every frame.
    first : Frame or None
        The first selected frame, once read (the analyses are set up on it).
    same_composition : bool
        Refuse frames whose atoms differ from the first.
    block_size, parallel
        Neighbour blocks and threaded kernels.
    desc : str
        What the run is called in messages and progress.
    """

    analyses: list
    frames_of: dict | None = None
    first: Any = None
    same_composition: bool = False
    block_size: int | None = None
    parallel: Any = None
    desc: str = "analysis"

    def takes(self, a, n: int) -> bool:
        return self.frames_of is None or a.name not in self.frames_of or n in self.frames_of[a.name]


def analyse_frames(plan: Plan, numbered_frames, seconds: dict | None = None):
    """The one loop body: ``(n, time, {name: Part})`` for each ``(n, frame)``, in process or in a dask task.

    Each frame is checked (atoms, against the plan's first frame), the
    analyses that take frame ``n`` share one neighbour search per block, and
    the first frame seen sets the analyses up when the plan has none yet.
    ``seconds`` (optional) accumulates the seconds of each stage (see
    :func:`frame_parts`), with getting each frame under :data:`READING`.
    """
    frames = iter(numbered_frames)
    while True:
        start = _time.perf_counter()
        n, frame = next(frames, (None, None))
        if frame is None:
            return
        if seconds is not None:
            add_seconds(seconds, {READING: _time.perf_counter() - start})
        if not len(frame):
            raise EmptyFrameError(f"{frame.describe()} has no atoms; {plan.desc} needs at least one")
        if plan.first is None:
            plan.first = frame
            for a in plan.analyses:
                a.setup(frame)
        else:
            check_frame(frame, plan.first, plan.analyses, plan.same_composition)
        on = [a for a in plan.analyses if plan.takes(a, n)]
        parts = frame_parts(frame, on, block_size=plan.block_size, parallel=plan.parallel, seconds=seconds)
        yield n, frame_time(frame), {a.name: p for a, p in zip(on, parts)}


def run(frames, analyses, *, index=None, select=None, window=None, block_size: int | None = None, parallel=None,
        show_progress=None, workers: int | None = None, desc: str | None = None, same_composition: bool = False,
        atoms_sink=None, client=None, chunk_frames: int | None = None, frames_of: dict | None = None,
        seconds: dict | None = None) -> dict:
    """Run analyses over frames: each frame read once and analysed in one pass, here or on dask workers.

    Parameters
    ----------
    frames : path, Frame, ase.Atoms, Trajectory, Source or iterable of them
    analyses : list of Analysis
        With distinct names.
    index : int or slice, optional
        Frames to use.
    select : selection, optional
        Centre atoms of every analysis that takes a selection (see
        :func:`gstorder.selection.selection`); an analysis that cannot is an error.
    window : int or float, optional
        Frames (int) or ps (float) per window: analyses whose results average
        over frames return one result per window, stacked along ``window``.
    block_size : int, optional
        Centre atoms per neighbour-list block (bounds memory).
    parallel : bool, optional
        Force the threaded (True) or serial (False) kernels.
    show_progress : bool, optional
        Progress over frames (default: a bar on a terminal, log lines on long jobs elsewhere).
    workers : int, optional
        Without ``client``: start a local dask cluster of this many worker
        processes for the run (1 or ``None``: in this process).
    same_composition : bool
        Refuse frames whose atom count or composition differs from the first
        (:class:`~gstorder.errors.InconsistentFramesError`) instead of mixing them.
    atoms_sink : callable, optional
        ``atoms_sink(position, time, atoms)`` receives each frame's per-atom
        arrays (``position`` counts the selected frames from 0, ``time`` in
        ps), e.g. to stream them to disk; the results then hold none.
    client : dask.distributed.Client, optional
        Analyse chunks of frames as tasks on this client's workers (which
        must be able to read the trajectory file); ``None``: in this process.
    chunk_frames : int, optional
        Frames per dask task (default: about four tasks per worker, at most 16 frames).
    frames_of : dict, optional
        Analysis name -> int or slice: the frames it takes, among the selected ones (default all).
    seconds : dict, optional
        Wall-clock seconds of each stage are added to it, summed over frames
        (on dask: over the tasks of all workers, so the sum can exceed the
        wall time): each analysis under its name (filtering the shared lists
        to its cut-offs included, when it asks first), :data:`READING` and
        :data:`SEARCHES`. Not clocked: the set-up on the first frame, the
        per-atom sink and the assembly of the results.

    Returns
    -------
    dict
        Analysis name -> its result. The results are the same with or
        without dask: histograms are exact integer counts summed over
        frames, per-frame numbers are stacked in frame order.
    """
    from .selection import selection as as_selection

    analyses = _check_analyses(analyses)
    index = _checks.frame_index("index", index)
    block_size = None if block_size is None else _checks.count("block_size", block_size)
    if workers is not None:
        from ._dask import check_workers

        workers = check_workers("workers", workers)
    chunk_frames = None if chunk_frames is None else _checks.count("chunk_frames", chunk_frames)
    window = check_window(window)
    for name, value in (("parallel", parallel), ("show_progress", show_progress)):
        if value is not None:
            _checks.flag(name, value)
    select = as_selection(select)
    if select is not None:
        for a in analyses:
            a.select(select)
    for a in analyses:
        a.parallel = parallel
    desc = desc or "+".join(a.name for a in analyses)
    source = Source(frames)
    plan = Plan(analyses, None, None, same_composition, block_size, parallel, desc)
    if frames_of:
        positions = source.positions(index)
        if not positions:
            raise no_frames(desc, index)
        plan.frames_of = {name: set(selected_positions(len(positions), _checks.frame_index(f"{name} frames", sub)))
                          for name, sub in frames_of.items()}
    if client is not None or (workers is not None and workers != 1):
        from ._dask import run_on_dask

        parts, times = run_on_dask(source, plan, index=index, client=client, workers=workers, show_progress=show_progress,
                                   atoms_sink=atoms_sink, chunk_frames=chunk_frames, seconds=seconds)
    else:
        parts, times = {a.name: {} for a in analyses}, {}
        total = len(source.positions(index)) if source.trajectory is not None or source._frames is not None else None
        numbered = enumerate(progress(source.iter(index), total=total, desc=desc, show=show_progress))
        for n, time, frame_parts_ in analyse_frames(plan, numbered, seconds):
            times[n] = time
            for name, part in frame_parts_.items():
                parts[name][n] = sink(atoms_sink, n, time, part)
        if not times:
            raise no_frames(desc, index)
    return results(plan.analyses, parts, times, window)


def results(analyses, parts: dict, times: dict, window=None) -> dict:
    """Every analysis' result from its parts (name -> {position: Part}) and the frame times (position -> ps)."""
    out = {}
    for a in analyses:
        mine = sorted(parts[a.name])
        if not mine:
            raise EmptyFrameError(f"no frames selected for {a.name}")
        t = np.array([times[n] for n in mine], dtype=float)
        p = [parts[a.name][n] for n in mine]
        out[a.name] = a.result(p, t) if window is None or not a.windowed else windowed(a, p, t, window)
    return out


def check_window(window):
    """``window`` as frames (a positive int) or ps (a positive float), or None."""
    if window is None:
        return None
    if isinstance(window, (int, np.integer)) and not isinstance(window, (bool, np.bool_)):
        return _checks.count("window", window)
    return _checks.positive("window", window, unit="ps")


def windows(times: np.ndarray, window) -> list[np.ndarray]:
    """Positions (into ``times``) of each window: ``window`` consecutive frames, or frames within ``window`` ps."""
    n = len(times)
    if isinstance(window, int):
        return [np.arange(k, min(n, k + window)) for k in range(0, n, window)]
    if not np.isfinite(times).all():
        raise MissingDataError(f"window={window} ps needs frame times; these frames carry none (give timestep_fs= or "
                               "a window in frames, window=int)")
    slot = np.floor((times - times[0]) / window + 1e-9).astype(np.int64)
    return [np.flatnonzero(slot == s) for s in np.unique(slot)]


def windowed(a: "Analysis", parts: list, times: np.ndarray, window):
    """``a``'s result per window, stacked along a ``window`` dimension (per-frame results averaged within each)."""
    import xarray as xr

    out, per_frame = [], False
    for w in windows(times, window):
        r = a.result([parts[k] for k in w], times[w])
        if "frame" in r.dims:
            r, per_frame = r.mean("frame", keep_attrs=True), True
        out.append(r)
    stacked = xr.concat(out, dim="window", combine_attrs="drop_conflicts")
    stacked.attrs["window_means"] = "frames" if per_frame else "counts"  # per-frame values averaged, or counts pooled
    spans = windows(times, window)
    return stacked.assign_coords(
        window=np.arange(len(spans)),
        window_start=("window", np.array([times[w[0]] for w in spans]), {"long_name": "window start", "units": "ps"}),
        window_end=("window", np.array([times[w[-1]] for w in spans]), {"long_name": "window end", "units": "ps"}),
        window_frames=("window", np.array([len(w) for w in spans]), {"long_name": "frames in the window", "units": ""}),
    )


def sink(atoms_sink, position, time, part: Part) -> Part:
    """Hand the part's per-atom arrays to the sink (if any) and keep the rest."""
    if atoms_sink is None or not part.atoms:
        return part
    atoms_sink(position, time, part.atoms)
    return Part(part.data)


def frame_time(frame: Frame) -> float:
    """The frame's time in ps, NaN when unknown."""
    return np.nan if frame.time is None else float(frame.time)


def check_frame(frame: Frame, first, analyses, same_composition: bool) -> None:
    """Refuse a frame whose atoms differ from the first where an analysis (or the caller) needs the same ones."""
    if same_composition or any(a.same_atoms for a in analyses):
        if len(frame) != len(first):
            who = "this run" if same_composition else ", ".join(a.name for a in analyses if a.same_atoms)
            raise InconsistentFramesError(f"{frame.describe()} has other atoms than the first frame ({len(frame)} against "
                                          f"{len(first)} in {first.describe()}); {who} needs the same atoms in every "
                                          "frame: analyse the structures separately")
        following = [a.name for a in analyses if a.same_atoms and a.sequential]  # they follow atoms between frames
        changed = frame.numbers != first.numbers if following else None
        if following and changed.any():  # same count, other species: not the same atoms
            atom = int(np.argmax(changed))
            who = ", ".join(following)
            raise InconsistentFramesError(
                f"{frame.describe()}: atom {atom} is {chemical_symbols[frame.numbers[atom]]}, but "
                f"{chemical_symbols[first.numbers[atom]]} in {first.describe()} ({int(changed.sum())} atoms changed "
                f"species); {who} needs the same atoms in every frame: check the species map, or analyse the "
                "structures separately")
        if same_composition and frame.formula != first.formula:
            raise InconsistentFramesError(f"{frame.describe()} is {frame.formula}, the first frame {first.formula}; "
                                          "results of different compositions are not averaged: analyse them separately")


def _check_analyses(analyses) -> list:
    analyses = list(analyses)
    if not analyses:
        raise InvalidArgumentError("no analyses given")
    names = [a.name for a in analyses]
    for a in analyses:
        if not isinstance(a, Analysis):
            raise ArgumentTypeError(f"expected gstorder Analysis objects, got {type(a).__name__}")
    if len(set(names)) != len(names):
        raise InvalidArgumentError(f"analysis names must be distinct, got {names}")
    return analyses


def analysis_frames(frames: Any, index=None, *, desc: str, show_progress=None, allow_empty=False) -> Iterator[Frame]:
    """Frames of any accepted input, with progress, refusing empty frames.

    Raises
    ------
    EmptyFrameError
        For a frame without atoms (unless ``allow_empty``) or when no frame is selected.
    """
    source = Source(frames)
    total = len(source.positions(index)) if source.trajectory is not None or source._frames is not None else None
    count = 0
    for frame in progress(source.iter(index), total=total, desc=desc, show=show_progress):
        if len(frame) == 0 and not allow_empty:
            raise EmptyFrameError(f"{frame.describe()} has no atoms; {desc} needs at least one")
        count += 1
        yield frame
    if count == 0:
        raise no_frames(desc, index)
