"""A thin GAP-MD runner: the paper's protocols on ASE (+ quippy), heat pulses, checkpoints.

Time step 2 fs by default. Ensembles: ``"nvt"`` (Langevin), ``"npt"``
(Nosé–Hoover thermostat with Parrinello–Rahman barostat, ASE's ``NPT``),
``"nve"`` (velocity Verlet). Heat pulses add exactly P·Δt per step to a
region by rescaling its atoms' velocities relative to the region's
centre-of-mass velocity (the HEX scheme of LAMMPS ``fix heat``), so momentum
is unchanged. Fixed atoms (a per-atom ``fixed`` array, as made by
:func:`gstorder.structures.mushroom_cell`) are held by ``FixAtoms``.

Output: an extended XYZ trajectory (positions, velocities, ``time_ps``) that
:func:`gstorder.read_frames` reads back, and a CSV thermo log. Both are
written under ``.gstorder-<name>.<pid>.part`` names and renamed when the run
completes; a checkpoint lets an interrupted run resume and give the same
trajectory, bit for bit.

Modules: :mod:`~gstorder.md.potentials` (GAP calculators), :mod:`~gstorder.md.regions` (atom
selections), :mod:`~gstorder.md.runner` (segments, heat pulses, the run and its checkpoints),
:mod:`~gstorder.md.protocols` (the paper's protocols) and :mod:`~gstorder.md.lammps` (LAMMPS decks).
"""

from __future__ import annotations

from .lammps import lammps_deck
from .potentials import DEMO_GAP, demo_gap, gap  # noqa: F401 - DEMO_GAP as before the split
from .protocols import anneal, device_melt, heat_ramp, melt_quench, protocol, reset_pulse, set_pulses
from .regions import half_cylinder, slab, sphere
from .runner import LANGEVIN_DAMP_PS, TIMESTEP_FS, HeatPulse, Segment, _warn_if_long, run  # noqa: F401 - as before

__all__ = ["gap", "demo_gap", "HeatPulse", "Segment", "run", "protocol", "lammps_deck", "melt_quench", "anneal", "heat_ramp", "set_pulses",
           "reset_pulse", "device_melt", "half_cylinder", "slab", "sphere", "TIMESTEP_FS"]
