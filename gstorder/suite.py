"""``gstorder.analyze``: every analysis of the paper in one pass over a trajectory, results in one tree.

The named analyses and their defaults (the paper's):

=================  ========================================================================
name               analyses run (groups of the result)
=================  ========================================================================
``rdf``            :class:`~gstorder.pairs.RDF` (r_max 8 Å, 0.02 Å bins)
``adf``            :class:`~gstorder.pairs.ADF` (bonds < 3.2 Å)
``motifs``         :class:`~gstorder.motifs.BondMotifs` (bonds < 3.2 Å)
``altbc``          :class:`~gstorder.altbc.ALTBC` (2.5-4.0 Å, 25°; raw and normalised map)
``kbar``           :class:`~gstorder.crystallinity.KBar` (rock-salt references)
``temperature``    :class:`~gstorder.thermal.TemperatureMap` (x-z, 60 x 36 pixels, 1 nm Gaussian; coarser below ~43,000 atoms)
``layers``         :class:`~gstorder.layers.ZProfile` and :class:`~gstorder.layers.TrackLayers` along z
``msd``            :class:`~gstorder.dynamics.MSD`
``density``        :class:`~gstorder.dynamics.Density`
=================  ========================================================================
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from . import __version__
from ._atomic import atomic_folder, commit, new_temp
from ._labels import attrs_of
from .altbc import ALTBC
from .crystallinity import KBar
from .dynamics import MSD, Density
from .errors import ArgumentTypeError, GstorderError, InvalidArgumentError, MissingDataError
from .frames import Frame, as_frame
from .io import Trajectory
from .layers import TrackLayers, ZProfile, find_layers
from .motifs import BondMotifs
from .pairs import ADF, RDF
from .pipeline import Analysis, run, selected_positions
from .thermal import TemperatureMap

__all__ = ["analyze", "analyze_into", "ANALYSES", "AtomsWriter", "write_outputs"]

#: Named analyses: name -> what they need of the frames (for ``"all"``) and how to make them from options.
ANALYSES = ("rdf", "adf", "motifs", "altbc", "kbar", "temperature", "layers", "msd", "density")


def _make(name: str, options: dict, first: Frame, per_atom: bool) -> list[Analysis]:
    """The analyses behind one name, with the user's options over the defaults."""
    o = dict(options)
    if name == "rdf":
        return [RDF(**o)]
    if name == "adf":
        return [ADF(**o)]
    if name == "motifs":
        return [BondMotifs(per_atom=o.pop("per_atom", per_atom), **o)]
    if name == "altbc":
        o.setdefault("normalize", "both" if first.pbc.all() else False)
        return [ALTBC(**o)]
    if name == "kbar":
        return [KBar(per_atom=o.pop("per_atom", per_atom), **o)]
    if name == "temperature":
        o.setdefault("bins", _pixels(len(first)))
        return [TemperatureMap(per_atom=o.pop("per_atom", per_atom), **o)]
    if name == "layers":
        axis = o.pop("axis", "z")
        profile = {k: o.pop(k) for k in ("bin_width",) if k in o}
        return [ZProfile(axis, **profile), TrackLayers(axis, **o)]
    if name == "msd":
        return [MSD(**o)]
    if name == "density":
        return [Density(**o)]
    raise InvalidArgumentError(f"unknown analysis {name!r}; choose from {', '.join(ANALYSES)} or 'all'")


def _pixels(n_atoms: int, atoms_per_pixel: int = 20) -> tuple[int, int]:
    """The paper's 60 x 36 map, coarsened (same aspect) until a pixel holds about ``atoms_per_pixel`` atoms."""
    nu, nv = 60, 36
    scale = min(1.0, np.sqrt(n_atoms / atoms_per_pixel / (nu * nv)))
    return max(1, int(round(nu * scale))), max(1, int(round(nv * scale)))


def _applicable(name: str, first: Frame) -> str | None:
    """Why ``name`` cannot run on frames like ``first`` (for ``"all"``), or None."""
    if name == "temperature" and first.velocities is None:
        return "the frames carry no velocities"
    if name in ("density", "rdf", "altbc", "layers") and not first.pbc.all():
        return "the frames are not periodic in all three directions"
    if name == "kbar" and not set(first.species) <= {"Ge", "Sb", "Te"}:
        return f"k̄ references are Ge-Sb-Te crystals and the frames hold {first.species}"
    if name == "layers":
        try:
            if len(find_layers(first)) < 2:
                return "fewer than two atomic layers along z"
        except GstorderError as exc:
            return str(exc)
    return None


def _requested(analyses) -> dict:
    if isinstance(analyses, str):
        analyses = ANALYSES if analyses == "all" else (analyses,)
    if isinstance(analyses, dict):
        table = {str(k): dict(v or {}) for k, v in analyses.items()}
    else:
        table = {}
        for item in analyses:
            if isinstance(item, Analysis):  # a ready analysis object (also one of the user's own)
                table[item] = item
            elif isinstance(item, str):
                table[item] = {}
            else:
                raise ArgumentTypeError(f"analyses are names ({', '.join(ANALYSES)}), Analysis objects or a dict name -> options, "
                                f"got {item!r}")
    unknown = [k for k in table if isinstance(k, str) and k not in ANALYSES]
    if unknown:
        raise InvalidArgumentError(f"unknown analysis {unknown[0]!r}; choose from {', '.join(ANALYSES)} or 'all'")
    if not table:
        raise InvalidArgumentError("no analyses requested")
    return table


def analyze(source, analyses="all", *, index=None, format=None, species=None, timestep_fs=None, groups=None, client=None,
            workers: int | None = None, per_atom=None, out=None, block_size: int | None = None,
            chunk_frames: int | None = None, show_progress=None) -> xr.DataTree:
    """Run many analyses over a trajectory in one pass: each frame read once, each neighbour list searched once.

    Parameters
    ----------
    source : path, Trajectory, Frame, ase.Atoms or list of them
        A trajectory file (any format :func:`gstorder.read_frames` reads) or frames.
    analyses : 'all', str, sequence of str or Analysis, or dict
        Names from :data:`ANALYSES`, or a dict name -> options (keyword
        arguments of the analysis, e.g. ``{"kbar": {"reference": "trigonal"},
        "rdf": {"r_max": 6.0}}``), or :class:`~gstorder.pipeline.Analysis`
        objects (e.g. ``gstorder.pairs.RDF(r_max=6.0)`` or your own). ``"all"`` (default) runs every analysis the
        frames allow (the temperature map needs velocities, k̄ Ge-Sb-Te
        frames, ...) and records why the others were skipped in
        ``attrs["skipped"]``; a named analysis that cannot run is an error.
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
        figure type, ``report.html`` (see :func:`write_outputs`), all or
        nothing (a failed run leaves the folder as it was).
    block_size, chunk_frames, show_progress
        Centre atoms per neighbour block; frames per dask task; progress.

    Returns
    -------
    xarray.DataTree
        One group per analysis (``rdf``, ``adf``, ``motifs``, ``altbc``,
        ``kbar``, ``temperature``, ``z_profile``, ``layers``, ``msd``,
        ``density``), each the Dataset its function returns, parameters in
        its attrs; the root's attrs describe the run. ``tree.to_netcdf(path)``
        saves it all in one file.

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
                   workers=workers,
                   block_size=block_size, chunk_frames=chunk_frames, show_progress=show_progress)
    if out is not None:
        return analyze_into(out, source, analyses, per_atom=per_atom, **options)[0]
    if per_atom is True:
        raise InvalidArgumentError("per_atom=True writes atoms.nc into the out= folder; pass out= or a file path")
    return _analyze(source, analyses, per_atom=per_atom, **options)


def analyze_into(folder, source, analyses="all", *, per_atom=None, parameters=None, **options) -> tuple:
    """:func:`analyze` writing its outputs to ``folder`` (all or nothing); returns the tree and the paths written."""
    folder = Path(folder)
    with atomic_folder(folder) as tmp:
        atoms = tmp / "atoms.nc" if per_atom is True else per_atom
        tree = _analyze(source, analyses, per_atom=atoms, **options)
        if per_atom is True:
            tree.attrs["per_atom_file"] = "atoms.nc"
        names = _write_into(tree, tmp, parameters=parameters, atoms_file=atoms if per_atom is True else None)
    return tree, {key: folder / name for key, name in names.items()}


def _analyze(source, analyses, *, index, format, species, timestep_fs, groups, client, workers, per_atom, block_size,
             chunk_frames, show_progress) -> xr.DataTree:
    requested = _requested(analyses)
    if isinstance(source, (str, os.PathLike)):
        source = Trajectory(source, format=format, species=species, timestep_fs=timestep_fs, groups=groups)
    frames = source if isinstance(source, Trajectory) else _frame_list(source)
    n_total = len(frames)
    positions = selected_positions(n_total, index)
    if not positions:
        raise MissingDataError(f"no frames selected (index={index!r}) among {n_total}")
    first = frames[positions[0]]
    if not len(first):
        raise MissingDataError(f"{first.describe()} has no atoms")
    skipped = {}
    if analyses == "all":
        for name in list(requested):
            why = _applicable(name, first)
            if why:
                skipped[name] = why
                del requested[name]
    objects = [a for name, options in requested.items()
               for a in ([options] if isinstance(options, Analysis) else _make(name, options, first, per_atom is not None))]
    sink = AtomsWriter(per_atom, first, len(positions)) if per_atom is not None else None
    try:
        found = run(frames, objects, index=index, block_size=block_size, show_progress=show_progress, client=client,
                    workers=workers, chunk_frames=chunk_frames, same_composition=True, atoms_sink=sink,
                    desc="analyze")
        if sink is not None:
            sink.close()
    finally:
        if sink is not None:
            sink.abort()
    tree = xr.DataTree.from_dict({name: _as_dataset(result) for name, result in found.items()})
    times = next((ds.time.values for ds in tree.children.values() if "time" in ds.coords), np.array([np.nan]))
    tree.attrs = attrs_of(
        gstorder_version=__version__, source=str(getattr(source, "path", "frames in memory")),
        format=getattr(source, "format", "frames"), n_frames=len(positions), n_frames_in_file=n_total,
        n_atoms=len(first), formula=first.formula,
        cell_lengths=" x ".join(f"{x:.3f}" for x in np.linalg.norm(first.cell, axis=1)), pbc=str(first.pbc.tolist()),
        time_first=float(times[0]), time_last=float(times[-1]), has_velocities=first.velocities is not None,
        index=repr(index), analyses={str(getattr(k, "name", k)): (v.parameters() if isinstance(v, Analysis) else v)
                                     for k, v in requested.items()}, skipped=skipped, per_atom_file=None if per_atom is None else str(per_atom),
    )
    return tree


def _frame_list(source) -> list:
    if isinstance(source, Frame) or hasattr(source, "get_positions"):
        return [as_frame(source)]
    return [as_frame(f) for f in source]


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


def write_outputs(tree: xr.DataTree, folder, *, parameters=None) -> dict:
    """Write a run's results to a folder: ``results.nc``, one PNG per figure type and ``report.html``.

    Everything is written into a temporary folder beside ``folder`` and moved
    in only when complete, so a failure leaves ``folder`` as it was.

    Returns
    -------
    dict
        ``"results"``, ``"report"`` and each figure's name -> its path.
    """
    folder = Path(folder)
    with atomic_folder(folder) as tmp:
        names = _write_into(tree, tmp, parameters=parameters)
    return {key: folder / name for key, name in names.items()}


def _write_into(tree, folder: Path, *, parameters=None, atoms_file=None) -> dict:
    from .report import write_figures, write_html

    tree.to_netcdf(folder / "results.nc")
    figures = write_figures(tree, folder)
    write_html(tree, folder, figures, parameters=parameters, atoms_file=atoms_file)
    names = {"results": "results.nc", "report": "report.html"}
    names.update({key: Path(p).name for key, p in figures.items()})
    if atoms_file is not None:
        names["atoms"] = Path(atoms_file).name
    return names
