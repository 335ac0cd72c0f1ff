"""``gstorder.analyze``: every analysis of the paper in one pass over a trajectory, results in one tree.

The named analyses, their parameters and defaults are declared in
:data:`gstorder.ANALYSES` (``gstorder config`` prints them all).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from . import __version__, _checks
from ._atomic import atomic_folder, atomic_write, commit, new_temp
from ._labels import attrs_of
from .config import to_toml
from .errors import ArgumentTypeError, GstorderWarning, InvalidArgumentError, MissingDataError
from .frames import Frame
from .pipeline import Analysis, run
from .registry import ANALYSES, closest
from .selection import selection as as_selection
from .source import Source
from .species import implausible

__all__ = ["analyze", "analyze_into", "ANALYSES", "AtomsWriter", "write_outputs"]


def _requested(analyses, options=None) -> dict:
    table = _named(analyses)
    for name, values in (options or {}).items():
        if name not in ANALYSES:
            raise InvalidArgumentError(f"options for unknown analysis {name!r}{closest(name, list(ANALYSES))}")
        if name in table and not isinstance(table[name], Analysis):
            table[name] = {**values, **table[name]}
    return table


def _named(analyses) -> dict:
    if isinstance(analyses, str):
        analyses = list(ANALYSES) if analyses == "all" else (analyses,)
    table = {}
    if isinstance(analyses, dict):
        for k, v in analyses.items():
            if v is not None and not isinstance(v, dict):
                raise ArgumentTypeError(f"options of analysis {k!r} must be a dict of its parameters, got {v!r}")
            table[str(k)] = dict(v or {})
    else:
        for item in analyses:
            if isinstance(item, Analysis):  # a ready analysis object (also one of the user's own)
                table[item] = item
            elif isinstance(item, str):
                table[item] = {}
            else:
                raise ArgumentTypeError(f"analyses are names ({', '.join(ANALYSES)}), Analysis objects or a dict name -> "
                                        f"options, got {item!r}")
    unknown = [k for k in table if isinstance(k, str) and k not in ANALYSES]
    if unknown:
        raise InvalidArgumentError(f"unknown analysis {unknown[0]!r}{closest(unknown[0], list(ANALYSES))}; choose from "
                                   f"{', '.join(ANALYSES)} or 'all'")
    if not table:
        raise InvalidArgumentError("no analyses requested")
    return table


def analyze(source, analyses="all", *, index=None, format=None, species=None, timestep_fs=None, groups=None, client=None,
            workers: int | None = None, per_atom=None, out=None, block_size: int | None = None,
            chunk_frames: int | None = None, show_progress=None, select=None, window=None, options=None,
            force: bool = False) -> xr.DataTree:
    """Run many analyses over a trajectory in one pass: each frame read once, each neighbour list searched once.

    Parameters
    ----------
    source : path, Trajectory, Frame, ase.Atoms or list of them
        A trajectory file (any format :func:`gstorder.read_frames` reads) or frames.
    analyses : 'all', str, sequence of str or Analysis, or dict
        Names from :data:`gstorder.ANALYSES`, or a dict name -> options (its
        parameters, e.g. ``{"kbar": {"reference": "trigonal"}, "rdf":
        {"r_max": 6.0}}``, plus ``frames`` (an int or slice among the
        selected frames) and ``select`` (its centre atoms)), or
        :class:`~gstorder.pipeline.Analysis` objects (e.g.
        ``gstorder.pairs.RDF(r_max=6.0)`` or your own). ``"all"`` (default)
        runs every analysis the frames allow (the temperature map needs
        velocities, k̄ Ge-Sb-Te frames, ...) and records why the others were
        skipped in ``attrs["skipped"]``; a named analysis that cannot run is an error.
    index : int or slice, optional
        Frames to analyse (default all).
    format, species, timestep_fs, groups
        As in :func:`gstorder.read_frames` (for files); ``groups`` (e.g. the
        deck's ``groups.lmp``) gives LAMMPS dumps their ``fixed`` and
        ``heater`` tags back.
    client : dask.distributed.Client, optional
        Analyse chunks of frames as tasks on its workers (they must see the
        file); default: in this process.
    workers : int, optional
        Without ``client``: a local dask cluster of this many processes for the run.
    per_atom : path or True, optional
        Stream per-atom results (k and k̄, coordination, q and motif codes,
        atom temperatures) to this netCDF file (``True``: ``atoms.nc`` in
        ``out``), chunked by frame, as the frames are analysed: nothing per
        atom is held in memory.
    out : path, optional
        Also write the results to this folder: ``results.nc``, one PNG per
        figure type, ``report.html`` and ``config.toml`` (see
        :func:`write_outputs`), all or nothing (a failed run leaves the folder as it was). The
        folder is replaced as a whole; one that gstorder did not write and
        that is not empty is refused (:class:`~gstorder.errors.OutputFolderError`) unless ``force``.
    block_size, chunk_frames, show_progress
        Centre atoms per neighbour block; frames per dask task; progress.
    select : selection, optional
        Centre atoms of every analysis that takes a selection (see
        :mod:`gstorder.selection`); the others analyse every atom.
    window : int or float, optional
        Frames (int) or ps (float) per window: the averaged results (g(r),
        ADF, ALTBC, motifs, z profile) gain a ``window`` dimension.
    options : dict, optional
        Analysis name -> options for whichever of them run (e.g. with
        ``"all"``: ``{"kbar": {"reference": "trigonal"}}``); options given in
        ``analyses`` win.

    Returns
    -------
    xarray.DataTree
        One group per analysis (``rdf``, ``adf``, ``motifs``, ``altbc``,
        ``kbar``, ``temperature``, ``z_profile``, ``layers``, ``msd``,
        ``density``), each the Dataset its function returns, parameters in
        its attrs; the root's attrs describe the run, ``attrs["config"]`` its
        effective configuration as TOML, ``attrs["compute_seconds"]`` where
        the time went (the repr of a dict: stage -> wall-clock seconds summed
        over frames, slowest first; each analysis, ``reading frames`` and
        ``neighbour searches``; on dask summed over the workers' tasks).
        ``tree.to_netcdf(path)`` saves it all in one file.

    Raises
    ------
    InconsistentFramesError
        When frames differ in atom count or composition (they are never averaged together).

    Examples
    --------
    >>> import gstorder
    >>> from gstorder import structures
    >>> tree = gstorder.analyze(structures.rocksalt("GeTe", 3, a=6.0), ["rdf", "motifs"])
    >>> sorted(tree.children), float(tree["motifs"].coordination.sel(species="Ge")[0])
    (['motifs', 'rdf'], 6.0)
    """
    options = dict(index=index, format=format, species=species, timestep_fs=timestep_fs, groups=groups, client=client,
                   workers=workers, block_size=block_size, chunk_frames=chunk_frames, show_progress=show_progress,
                   select=select, window=window, options=options)
    if out is not None:
        return analyze_into(out, source, analyses, per_atom=per_atom, force=force, **options)[0]
    if per_atom is True:
        raise InvalidArgumentError("per_atom=True writes atoms.nc into the out= folder; pass out= or a file path")
    return _analyze(source, analyses, per_atom=per_atom, **options)


def analyze_into(folder, source, analyses="all", *, per_atom=None, parameters=None, force: bool = False, **options) -> tuple:
    """:func:`analyze` writing its outputs to ``folder`` (all or nothing); returns the tree and the paths written.

    ``folder`` is replaced as a whole (no file of an earlier output survives);
    a folder gstorder did not write is refused unless ``force`` (see
    :func:`gstorder._atomic.atomic_folder`).
    """
    folder = Path(folder)
    with atomic_folder(folder, force=_checks.flag("force", force)) as tmp:
        atoms = tmp / "atoms.nc" if per_atom is True else per_atom
        reader = {k: options.pop(k, None) for k in ("format", "species", "timestep_fs", "groups")}
        frames = Source(source, **reader)
        tree = _analyze(frames, analyses, per_atom=atoms, **options, **dict.fromkeys(reader))
        names = {}
        if per_atom is True:
            tree.attrs["per_atom_file"] = "atoms.nc"
            write_atoms_dump(tmp / "atoms.lammpstrj", frames, options.get("index"), atoms)
            names["atoms_dump"] = "atoms.lammpstrj"
        names = {**_write_into(tree, tmp, parameters=parameters, atoms_file=atoms if per_atom is True else None),
                 **names}
    return tree, {key: folder / name for key, name in names.items()}


def write_atoms_dump(path, frames, index, atoms_file) -> None:
    """The per-atom results of a run (``atoms.nc``) beside the positions, as a LAMMPS dump OVITO and ASE open as it is.

    Columns ``id type element x y z`` (``vx vy vz`` with velocities) and one
    per per-atom result (k and k̄, coordination, q, motif codes, atom
    temperatures, ...); ``ITEM: TIME`` in ps. Frames are read again one at a
    time, so memory stays bounded by a frame.
    """
    import netCDF4

    from .io.writers import write_dump_frames

    frames = Source(frames)
    first = frames.read(frames.positions(index)[0])
    with netCDF4.Dataset(atoms_file) as data:
        names = [n for n, v in data.variables.items() if v.dimensions == ("frame", "atom")]

        def rows():
            for n, frame in enumerate(frames.iter(index)):
                yield frame, frame.info.get("step", n), {name: np.ma.filled(np.ma.asarray(data[name][n, :], dtype=float),
                                                                             np.nan) for name in names}

        write_dump_frames(path, rows(), names, np.unique(first.numbers), first.velocities is not None)


def _build(requested, first, per_atom, run_selection):
    """The analysis objects of the requested names (per-analysis frames and selections), and their effective values."""
    objects, frames_of, effective = [], {}, {}
    for name, options in requested.items():
        if isinstance(options, Analysis):
            objects.append(options)
            continue
        options = dict(options)
        sub, own_selection = options.pop("frames", None), options.pop("select", None)
        entry = ANALYSES[name]
        values = entry.resolve(options)
        if "per_atom" in {p.name for p in entry.parameters}:
            values.setdefault("per_atom", per_atom is not None)
        built = entry.build(values, first)
        chosen = as_selection(own_selection) if own_selection is not None else run_selection
        for a in built:
            if chosen is not None and (own_selection is not None or a.selectable):
                a.select(chosen)
            if sub is not None:
                frames_of[a.name] = sub
            objects.append(a)
        effective[name] = {**{k: v for a in built for k, v in getattr(a, "values", {}).items()},
                           **({"frames": sub} if sub is not None else {}),
                           **({"select": own_selection} if own_selection is not None else {})}
    return objects, frames_of, effective


def _analyze(source, analyses, *, index, format, species, timestep_fs, groups, client, workers, per_atom, block_size,
             chunk_frames, show_progress, select=None, window=None, options=None) -> xr.DataTree:
    requested = _requested(analyses, options)
    frames = Source(source, format=format, species=species, timestep_fs=timestep_fs, groups=groups)
    n_total = len(frames)
    positions = frames.positions(index)
    if not positions:
        raise MissingDataError(f"no frames selected (index {_checks.index_text(index)}) among {n_total}")
    first = frames.read(positions[0])
    if not len(first):
        raise MissingDataError(f"{first.describe()} has no atoms")
    signs = implausible(first)
    if len(signs) >= 2:  # one sign alone can be real (a hot melt, an off-stoichiometric alloy); a wrong type map shows more
        warnings.warn(f"{first.describe()} does not look like a Ge-Sb-Te material: {'; '.join(signs)}; check the species "
                      "map (species= / --species): LAMMPS type numbers are usually 1=Ge, 2=Sb, 3=Te", GstorderWarning,
                      stacklevel=3)
    skipped = {}
    if analyses == "all":
        for name in list(requested):
            why = ANALYSES[name].requires.why_not(first, len(positions), requested[name])
            if why:
                skipped[name] = why
                del requested[name]
    objects, frames_of, effective = _build(requested, first, per_atom, as_selection(select))
    sink = AtomsWriter(per_atom, first, len(positions)) if per_atom is not None else None
    seconds = {}
    try:
        found = run(frames, objects, index=index, block_size=block_size, show_progress=show_progress, client=client,
                    workers=workers, chunk_frames=chunk_frames, same_composition=True, atoms_sink=sink,
                    desc="analyze", window=window, frames_of=frames_of or None, seconds=seconds)
        if sink is not None:
            sink.close()
    finally:
        if sink is not None:
            sink.abort()
    tree = xr.DataTree.from_dict({name: _as_dataset(result) for name, result in found.items()})
    times = next((ds.time.values for ds in tree.children.values() if "time" in ds.coords), np.array([np.nan]))
    names = analyses if isinstance(analyses, str) else [str(getattr(k, "name", k)) for k in requested]
    settings = dict(analyses=names, frames=index, format=frames.format if frames.path else None, species=species,
                    timestep_fs=timestep_fs, groups=None if groups is None else str(groups), select=select, window=window,
                    workers=workers, per_atom=per_atom is not None, block_size=block_size)
    tree.attrs = attrs_of(
        gstorder_version=__version__, source=frames.describe(),
        format=frames.format, n_frames=len(positions), n_frames_in_file=n_total,
        n_atoms=len(first), formula=first.formula,
        cell_lengths=" x ".join(f"{x:.3f}" for x in np.linalg.norm(first.cell, axis=1)), pbc=str(first.pbc.tolist()),
        time_first=float(times[0]), time_last=float(times[-1]), has_velocities=first.velocities is not None,
        index=repr(index), analyses={str(getattr(k, "name", k)): (v.recorded() if isinstance(v, Analysis) else
                                                                  dict(effective.get(k, {})))
                                     for k, v in requested.items()},
        skipped=skipped, per_atom_file=None if per_atom is None else str(per_atom),
        compute_seconds={stage: float(f"{t:.4g}") for stage, t in sorted(seconds.items(), key=lambda item: -item[1])},
        config=to_toml({k: v for k, v in settings.items() if v is not None}, effective,
                       header=f"# gstorder {__version__} analyze {frames.describe()}: the effective configuration of "
                              "this run (gstorder analyze TRAJ --config config.toml repeats it)"),
    )
    return tree


def _as_dataset(result) -> xr.Dataset:
    return result.to_dataset() if isinstance(result, xr.DataArray) else result


class AtomsWriter:
    """Per-atom results streamed to a netCDF file, one frame at a time (frames may arrive in any order).

    Variables over (``frame``, ``atom``) are created as they first arrive;
    ``symbol`` (atom) and ``time`` (frame, ps) label them. The file is
    written to a temporary file of :mod:`gstorder._atomic` and renamed by
    :meth:`close`; :meth:`abort` removes an unfinished file.
    """

    def __init__(self, path, first: Frame, n_frames: int):
        import netCDF4

        self.path = Path(path)
        self.tmp = new_temp(self.path)
        self.data = netCDF4.Dataset(self.tmp, "w", format="NETCDF4", clobber=True)
        self.data.createDimension("frame", n_frames)
        self.data.createDimension("atom", len(first))
        self.data.createVariable("atom", "i8", ("atom",))[:] = np.arange(len(first))
        symbol = self.data.createVariable("symbol", str, ("atom",))
        symbol[:] = first.symbols.astype(object)
        time = self.data.createVariable("time", "f8", ("frame",), fill_value=np.nan)
        time.units, time.long_name = "ps", "time"
        self.data.setncatts({"gstorder_version": __version__, "source": str(first.info.get("file", "frames in memory"))})
        self.n_atoms = len(first)

    def __call__(self, position: int, time: float, atoms: dict) -> None:
        self.data["time"][position] = time
        for name, (values, attrs) in atoms.items():
            if name not in self.data.variables:
                values = np.asarray(values)
                var = self.data.createVariable(name, values.dtype, ("frame", "atom"), chunksizes=(1, self.n_atoms),
                                               zlib=True, complevel=1)
                var.setncatts({k: (" ".join(map(str, v)) if isinstance(v, list) else v) for k, v in attrs.items()})
                var.coordinates = "symbol time"
            self.data[name][position, :] = values

    def close(self) -> None:
        if self.data is not None:
            self.data.close()
            self.data = None
            commit(self.tmp, self.path)

    def abort(self) -> None:
        if self.data is not None:
            self.data.close()
            self.data = None
        if self.tmp.exists():
            self.tmp.unlink()


def write_outputs(tree: xr.DataTree, folder, *, parameters=None, force: bool = False) -> dict:
    """Write a run's results to a folder: ``results.nc``, one PNG per figure type and ``report.html``.

    Everything is written into a temporary folder beside ``folder`` and moved
    in only when complete, so a failure leaves ``folder`` as it was.

    Returns
    -------
    dict
        ``"results"``, ``"report"`` and each figure's name -> its path.
    """
    folder = Path(folder)
    with atomic_folder(folder, force=_checks.flag("force", force)) as tmp:
        names = _write_into(tree, tmp, parameters=parameters)
    return {key: folder / name for key, name in names.items()}


def _write_into(tree, folder: Path, *, parameters=None, atoms_file=None) -> dict:
    from .report import write_figures, write_html

    tree.to_netcdf(folder / "results.nc")
    atomic_write(folder / "config.toml", lambda fh: fh.write(tree.attrs.get("config", "").encode("utf-8")))
    figures = write_figures(tree, folder)
    write_html(tree, folder, figures, parameters=parameters, atoms_file=atoms_file)
    names = {"results": "results.nc", "report": "report.html", "config": "config.toml"}
    names.update({key: Path(p).name for key, p in figures.items()})
    if atoms_file is not None:
        names["atoms"] = Path(atoms_file).name
    return names
