"""LAMMPS decks: :func:`lammps_deck` writes the data file, atom groups and input script that run a protocol with
``pair_style quip`` and ``fix heat``, as :func:`~gstorder.md.run` does on ASE.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from ase.io import write

from .. import _atomic
from .._checks import count, non_negative, positive
from ..errors import ArgumentTypeError, InvalidArgumentError, PotentialFileError, UnknownSpeciesError
from .potentials import _check_gap_xml
from .protocols import protocol
from .runner import LANGEVIN_DAMP_PS, TIMESTEP_FS, _check_atoms, _check_segments, _held_atoms


def lammps_deck(segments, atoms, potential, directory, *, species=("Ge", "Sb", "Te"), xml_label: str | None = None,
                copy_potential: bool = True, pair_style: tuple | None = None, timestep_fs: float = TIMESTEP_FS,
                temperature_K: float | None = None, seed: int = 12345, dump_every: int = 500, thermo_every: int = 100,
                langevin_damp_ps: float = LANGEVIN_DAMP_PS, npt_damp_ps: tuple = (0.1, 1.0)):
    """Write a LAMMPS data file and input script running ``segments`` with ``pair_style quip``.

    Parameters
    ----------
    segments : list of Segment or str
        As for :func:`run`, or a protocol name (then pass ``protocol(...)``
        for non-default parameters).
    atoms : ase.Atoms
        The model; a per-atom ``fixed`` array becomes the group ``fixed``
        (forces and velocities zeroed), heat-pulse regions become groups of
        atom ids, so the deck does exactly what :func:`run` does. Atoms with
        momenta keep their velocities (written to ``data.lmp``) unless
        ``temperature_K`` is given, as in :func:`run`.
    potential : path
        The GAP XML file (``pair_coeff * * FILE "Potential xml_label=LABEL" Z...``);
        it must exist, with the sparseX files it names beside it.
    directory : path
        Receives ``data.lmp``, ``groups.lmp`` (``fixed``, ``heater`` and the
        heat regions) and ``in.lmp``, replaced as a set (see
        :func:`gstorder._atomic.atomic_files`: a write killed midway is
        finished by the next call on the folder); the run writes ``dump.lammpstrj``
        (id type x y z vx vy vz ix iy iz in metal units, 17 significant
        digits, with ``TIME`` and ``UNITS``) and ``log.lammps``. Read the dump
        back with the tags: ``gstorder.read_frames("dump.lammpstrj",
        species=[...], groups="groups.lmp")``. Run it with
        ``cd directory && mpirun -np N lmp -in in.lmp``.
    species : sequence of str
        LAMMPS atom types 1, 2, 3... in this order.
    xml_label : str, optional
        Which potential of the file to use; by default the one the file
        holds (its ``<Potential label=...>``). A file holding several needs it.
    copy_potential : bool
        True (default): the XML file and its sparseX files are placed in
        ``directory`` (hard-linked where possible, else copied; files already
        there and unchanged are kept), so the folder runs anywhere on its
        own. False: the deck names the potential by its path relative to
        ``directory``, so the deck and the potential move together.
    pair_style : (str, str), optional
        Replace quip by another ``(pair_style, pair_coeff)`` (for tests or
        other potentials); ``potential`` is then not used.
    temperature_K : float, optional
        Initial velocities (default: the atoms' own, or the first segment's
        target if they have none).

    Returns
    -------
    pathlib.Path
        The input script.

    Raises
    ------
    PotentialNotFoundError
        The potential or a sparseX file it names does not exist.
    PotentialFileError
        The potential is not a GAP XML file, holds no potential labelled
        ``xml_label``, or holds several and ``xml_label`` is not given.

    Notes
    -----
    The thermo output's ``temp`` and ``ke`` are those of the moving atoms
    (``compute Tmobile mobile temp`` with 3 degrees of freedom per moving
    atom, 2 KE / 3 N k_B, as in :func:`run`'s thermo log); energies are
    printed with 15 significant digits.
    """
    from ase.data import atomic_numbers

    if isinstance(segments, str):
        segments = protocol(segments)
    _check_atoms(atoms)
    if not isinstance(directory, (str, os.PathLike)):
        raise ArgumentTypeError(f"directory must be a folder name, got {type(directory).__name__} {directory!r}")
    if pair_style is None and not isinstance(potential, (str, os.PathLike)):
        raise ArgumentTypeError(f"potential must be a file name, got {type(potential).__name__} {potential!r}")
    if isinstance(species, str) or not all(isinstance(s, str) for s in species):
        raise ArgumentTypeError(f"species must be a sequence of element symbols, got {species!r}")
    species = list(species)
    unknown = [s for s in species if s not in atomic_numbers]
    if unknown or len(set(species)) != len(species):
        raise UnknownSpeciesError(f"species must name distinct elements, got {species}" +
                                  (f" ({', '.join(unknown)} unknown)" if unknown else ""))
    missing = sorted(set(atoms.get_chemical_symbols()) - set(species))
    if missing:
        raise UnknownSpeciesError(f"species {missing} of the atoms are not among the LAMMPS types {species}")
    if xml_label is not None and not isinstance(xml_label, str):
        raise ArgumentTypeError(f"xml_label must be a string, got {type(xml_label).__name__} {xml_label!r}")
    if not isinstance(copy_potential, (bool, np.bool_)):
        raise ArgumentTypeError(f"copy_potential must be True or False, got {type(copy_potential).__name__} "
                                f"{copy_potential!r}")
    if pair_style is not None and (np.shape(pair_style) != (2,) or not all(isinstance(p, str) for p in pair_style)):
        raise ArgumentTypeError(f"pair_style must be (pair_style, pair_coeff) strings, got {pair_style!r}")
    timestep_fs = positive("timestep_fs", timestep_fs, unit="fs")
    temperature_K = None if temperature_K is None else non_negative("temperature_K", temperature_K, unit="K")
    seed = count("seed", seed, minimum=1)  # LAMMPS wants positive seeds
    dump_every = count("dump_every", dump_every)
    thermo_every = count("thermo_every", thermo_every)
    langevin_damp_ps = positive("langevin_damp_ps", langevin_damp_ps, unit="ps")
    if np.shape(npt_damp_ps) != (2,):
        raise InvalidArgumentError(f"npt_damp_ps must be (thermostat, barostat) damping times in ps, got {npt_damp_ps!r}")
    npt_damp_ps = tuple(positive("npt_damp_ps", t, unit="ps") for t in npt_damp_ps)
    fixed, segments = _held_atoms(atoms, _check_segments(segments, atoms))
    directory = Path(directory)
    place = None
    if pair_style is None:
        potential = Path(potential)
        init_args, sparse = _quip_potential(potential, xml_label)
    keep_velocities = temperature_K is None and atoms.has("momenta")
    files = {"data.lmp": lambda fh: write(fh, atoms, format="lammps-data", specorder=species, masses=True,
                                          units="metal", atom_style="atomic", velocities=keep_velocities)}
    groups = {"fixed": fixed}
    if "heater" in atoms.arrays:  # a tag only, for read_frames(groups=...) to give back
        groups["heater"] = np.asarray(atoms.arrays["heater"], dtype=bool)
    for k, seg in enumerate(segments):
        if seg.heat is not None:
            groups[f"heat{k}"] = seg.heat.region  # never empty: _check_segments refused that
    group_lines = [line for name, mask in groups.items() for line in _group_lines(name, mask)]
    files["groups.lmp"] = lambda fh: fh.write("\n".join(group_lines) + "\n")
    if pair_style is None:
        zs = " ".join(str(atomic_numbers[s]) for s in species)
        if copy_potential:
            place = _place_potential(potential, sparse, directory)
            name = potential.name
        else:
            name = os.path.relpath(potential.resolve(), directory.resolve())
        pair_style = ("quip", f"* * {_quoted(name)} {_quoted(init_args)} {zs}")
    t0 = temperature_K if temperature_K is not None else segments[0].target(0.0)
    dt_ps = timestep_fs / 1000.0
    start = ([] if keep_velocities else  # velocities from data.lmp, as run() keeps the atoms' own
             [f"velocity mobile create {0.0 if np.isnan(t0) else t0} {seed} mom yes rot no dist gaussian"])
    lines = [
        "# written by gstorder.md.lammps_deck", "units metal", "atom_style atomic", "boundary " + " ".join(
            "p" if p else "f" for p in atoms.pbc), "read_data data.lmp", "include groups.lmp",
        "group mobile subtract all fixed", f"pair_style {pair_style[0]}", f"pair_coeff {pair_style[1]}",
        f"timestep {dt_ps}", *start, "velocity fixed set 0.0 0.0 0.0", "fix freeze fixed setforce 0.0 0.0 0.0",
        "compute Tmobile mobile temp", "compute_modify Tmobile extra/dof 0",  # 2 KE / 3 N_mobile k_B, as run() logs it
        f"thermo {thermo_every}", "thermo_style custom step time temp pe ke etotal vol press",
        "thermo_modify flush yes temp Tmobile format float %.15g",
        f"dump traj all custom {dump_every} dump.lammpstrj id type x y z vx vy vz ix iy iz",
        "dump_modify traj sort id time yes units yes format float %.17g",
    ]
    for k, seg in enumerate(segments):
        n = max(1, int(round(seg.duration_ps / dt_ps)))
        lines.append(f"# segment {k}: {seg.label or seg.ensemble}, {seg.duration_ps:g} ps")
        fixes = []
        if seg.ensemble == "nvt":
            t_a, t_b = seg.target(0.0), seg.target(1.0)
            lines.append(f"fix s{k}lang mobile langevin {t_a} {t_b} {langevin_damp_ps} {seed + k + 1}")
            lines.append(f"fix s{k}nve mobile nve")
            fixes += [f"s{k}lang", f"s{k}nve"]
        elif seg.ensemble == "npt":
            t_a, t_b = seg.target(0.0), seg.target(1.0)
            bar = seg.pressure_GPa * 1e4
            lines.append(f"fix s{k}npt mobile npt temp {t_a} {t_b} {npt_damp_ps[0]} iso {bar} {bar} {npt_damp_ps[1]}")
            fixes.append(f"s{k}npt")
        else:
            lines.append(f"fix s{k}nve mobile nve")
            fixes.append(f"s{k}nve")
        if seg.heat is not None:
            lines.append(f"fix s{k}heat heat{k} heat 1 {seg.heat.power}")
            fixes.append(f"s{k}heat")
        lines.append(f"run {n}")
        lines += [f"unfix {f}" for f in fixes]
    files["in.lmp"] = lambda fh: fh.write("\n".join(lines) + "\n")
    if place is not None:
        place()
    _atomic.atomic_files(directory, files)
    return directory / "in.lmp"


def _quip_potential(path: Path, xml_label):
    """The QUIP init string for ``pair_coeff`` (the label given, or the file's only one) and the sparseX files needed.

    ``"Potential"`` alone makes QUIP abort ("too few or too many Potential_Simple types"): the label is always written.
    """
    held = _check_gap_xml(path, xml_label)
    if xml_label is None:
        if len(held["potentials"]) > 1 or (not held["potentials"] and len(held["gaps"]) > 1):
            raise PotentialFileError(f"{path} holds several potentials ({', '.join(held['potentials'] or held['gaps'])}): "
                                     "choose one with xml_label=")
        if not held["potentials"]:  # no <Potential> element: QUIP finds the one GAP by itself
            return "IP GAP", held["sparse"]
        xml_label = held["potentials"][0]
    if xml_label in held["potentials"]:
        return f"Potential xml_label={xml_label}", held["sparse"]
    return f"IP GAP label={xml_label}", held["sparse"]


def _place_potential(path: Path, sparse, directory: Path):
    """A function that puts the GAP file and its sparseX files into ``directory`` (each atomically, unchanged ones kept)."""
    names = [path.name, *sparse]

    def place():
        directory.mkdir(parents=True, exist_ok=True)
        for name in names:
            source, target = path.parent / name, directory / name
            if target.exists() and (os.path.samefile(source, target) or _same_file(source, target)):
                continue
            tmp = _atomic.new_temp(target)
            os.unlink(tmp)
            try:
                os.link(source, tmp)
            except OSError:  # another file system, or links not allowed
                shutil.copy2(source, tmp)
            os.replace(tmp, target)

    return place


def _same_file(a: Path, b: Path) -> bool:
    sa, sb = a.stat(), b.stat()
    return sa.st_size == sb.st_size and sa.st_mtime_ns == sb.st_mtime_ns


def _quoted(text: str) -> str:
    """One LAMMPS argument: quoted so spaces stay inside it."""
    if '"' in text:
        raise InvalidArgumentError(f"LAMMPS cannot take {text!r}: it holds a double quote")
    return f'"{text}"'


def _group_lines(name, mask, per_line=500):
    ids = np.flatnonzero(mask) + 1
    if not len(ids):
        return [f"group {name} empty"]
    return [f"group {name} id " + " ".join(map(str, ids[k : k + per_line])) for k in range(0, len(ids), per_line)]
