"""LAMMPS decks: :func:`lammps_deck` writes the data file, atom groups and input script that run a protocol with
``pair_style quip`` and ``fix heat``, as :func:`~gstorder.md.run` does on ASE.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from ase.io import write

from .. import _atomic
from .._checks import count, non_negative, positive
from ..errors import ArgumentTypeError, InvalidArgumentError, UnknownSpeciesError
from .protocols import protocol
from .runner import LANGEVIN_DAMP_PS, TIMESTEP_FS, _check_atoms, _check_segments, _held_atoms


def lammps_deck(segments, atoms, potential, directory, *, species=("Ge", "Sb", "Te"), xml_label: str | None = None,
                pair_style: tuple | None = None, timestep_fs: float = TIMESTEP_FS, temperature_K: float | None = None,
                seed: int = 12345, dump_every: int = 500, thermo_every: int = 100, langevin_damp_ps: float = LANGEVIN_DAMP_PS,
                npt_damp_ps: tuple = (0.1, 1.0)):
    """Write a LAMMPS data file and input script running ``segments`` with ``pair_style quip``.

    Parameters
    ----------
    segments : list of Segment or str
        As for :func:`run`, or a protocol name (then pass ``protocol(...)``
        for non-default parameters).
    atoms : ase.Atoms
        The model; a per-atom ``fixed`` array becomes the group ``fixed``
        (forces and velocities zeroed), heat-pulse regions become groups of
        atom ids, so the deck does exactly what :func:`run` does.
    potential : path
        The GAP XML file (``pair_coeff * * FILE "Potential xml_label=LABEL" Z...``).
    directory : path
        Receives ``data.lmp``, ``groups.lmp`` (``fixed``, ``heater`` and the
        heat regions) and ``in.lmp``, replaced as a set (see
        :func:`gstorder._atomic.atomic_files`: a write killed midway is
        finished by the next call on the folder); the run writes ``dump.lammpstrj``
        (id type x y z vx vy vz ix iy iz) and ``log.lammps``. Read the dump
        back with the tags: ``gstorder.read_frames("dump.lammpstrj",
        species=[...], groups="groups.lmp")``.
    species : sequence of str
        LAMMPS atom types 1, 2, 3... in this order.
    pair_style : (str, str), optional
        Replace quip by another ``(pair_style, pair_coeff)`` (for tests or
        other potentials).
    temperature_K : float, optional
        Initial velocities (default: the first segment's target).

    Returns
    -------
    pathlib.Path
        The input script.
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
    files = {"data.lmp": lambda fh: write(fh, atoms, format="lammps-data", specorder=species, masses=True,
                                          units="metal", atom_style="atomic")}
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
        label = f" xml_label={xml_label}" if xml_label else ""
        pair_style = ("quip", f'* * {Path(potential).resolve()} "Potential{label}" {zs}')
    t0 = temperature_K if temperature_K is not None else segments[0].target(0.0)
    dt_ps = timestep_fs / 1000.0
    lines = [
        "# written by gstorder.md.lammps_deck", "units metal", "atom_style atomic", "boundary " + " ".join(
            "p" if p else "f" for p in atoms.pbc), "read_data data.lmp", "include groups.lmp",
        "group mobile subtract all fixed", f"pair_style {pair_style[0]}", f"pair_coeff {pair_style[1]}",
        f"timestep {dt_ps}", f"velocity mobile create {0.0 if np.isnan(t0) else t0} {seed} mom yes rot no dist gaussian",
        "velocity fixed set 0.0 0.0 0.0", "fix freeze fixed setforce 0.0 0.0 0.0",
        f"thermo {thermo_every}", "thermo_style custom step time temp pe ke etotal vol press",
        "thermo_modify flush yes",
        f"dump traj all custom {dump_every} dump.lammpstrj id type x y z vx vy vz ix iy iz",
        "dump_modify traj sort id time yes",
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
    _atomic.atomic_files(directory, files)
    return directory / "in.lmp"


def _group_lines(name, mask, per_line=500):
    ids = np.flatnonzero(mask) + 1
    if not len(ids):
        return [f"group {name} empty"]
    return [f"group {name} id " + " ".join(map(str, ids[k : k + per_line])) for k in range(0, len(ids), per_line)]
