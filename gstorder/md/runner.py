"""The MD runner: :class:`Segment` and :class:`HeatPulse` set up a run, :func:`run` integrates it on ASE and writes
the trajectory and thermo log, checkpoints let an interrupted run resume bit for bit.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import os
import re
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from ase import units
from ase.constraints import FixAtoms
from ase.io import write
from ase.md.velocitydistribution import Stationary

try:  # ASE >= 3.26
    from ase.md.velocitydistribution import thermalize_momenta as _thermalize
except ImportError:  # pragma: no cover
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as _thermalize

from .. import _atomic
from .._checks import choice, count, non_negative, positive, real
from .._progress import Progress
from . import _checkpoint
from ..errors import ArgumentTypeError, CheckpointError, CheckpointMismatchError, GstorderWarning, InvalidArgumentError


#: The paper's MD time step in fs.
TIMESTEP_FS = 2.0
#: Langevin damping time (ps) of both runners: ASE's friction 1/damp, LAMMPS' ``fix langevin`` damp.
LANGEVIN_DAMP_PS = 0.1

_THERMO = ("step", "time_ps", "segment", "temperature_K", "target_K", "potential_eV", "kinetic_eV", "total_eV",
           "heat_added_eV", "volume_A3")


@dataclass
class HeatPulse:
    """Add ``power`` eV/ps to the atoms of ``region`` (boolean mask), conserving their momentum.

    Every step the velocities relative to the region's centre-of-mass
    velocity are scaled by sqrt(1 + P·Δt / KE_rel), which adds exactly
    P·Δt (P < 0 removes heat).
    """

    region: np.ndarray
    power: float  # eV/ps

    def __post_init__(self):
        region = np.asarray(self.region)
        if region.ndim != 1 or region.dtype != bool:
            raise ArgumentTypeError(f"HeatPulse region must be a 1-D boolean mask over the atoms, got "
                                    f"{region.dtype} array of shape {region.shape}")
        if not isinstance(self.region, np.ndarray):
            self.region = region
        self.power = real("HeatPulse power", self.power, unit="eV/ps")

    def apply(self, atoms, dt_ps: float) -> float:
        mask = np.asarray(self.region, dtype=bool)
        if not mask.any():
            raise InvalidArgumentError("the heat-pulse region holds no atoms")
        m = atoms.get_masses()[mask]
        v = atoms.get_velocities()
        vr = v[mask]
        v_cm = (m[:, None] * vr).sum(0) / m.sum()
        rel = vr - v_cm
        ke = 0.5 * (m * (rel**2).sum(1)).sum()
        added = self.power * dt_ps
        if ke <= 0 or ke + added <= 0:
            raise InvalidArgumentError(f"cannot add {added:g} eV to a region with kinetic energy {ke:g} eV")
        v[mask] = v_cm + rel * np.sqrt(1.0 + added / ke)
        atoms.set_velocities(v)
        return added


@dataclass
class Segment:
    """One stage of a protocol.

    Attributes
    ----------
    duration_ps : float
    ensemble : {'nvt', 'npt', 'nve'}
    temperature_K : float or (float, float), optional
        Thermostat target, or a linear ramp (start, end); not for NVE.
    pressure_GPa : float
        NPT target pressure.
    heat : HeatPulse, optional
    label : str
    """

    duration_ps: float
    ensemble: str = "nvt"
    temperature_K: float | tuple | None = None
    pressure_GPa: float = 0.0
    heat: HeatPulse | None = None
    label: str = ""

    def __post_init__(self):
        choice("ensemble", self.ensemble, ("nvt", "npt", "nve"))
        self.duration_ps = positive("duration_ps", self.duration_ps, unit="ps")
        if self.ensemble != "nve" and self.temperature_K is None:
            raise InvalidArgumentError(f"a {self.ensemble.upper()} segment needs temperature_K")
        if self.temperature_K is not None:
            if np.ndim(self.temperature_K) == 0:
                self.temperature_K = non_negative("temperature_K", self.temperature_K, unit="K")
            elif np.shape(self.temperature_K) == (2,):
                self.temperature_K = tuple(non_negative("temperature_K", t, unit="K") for t in self.temperature_K)
            else:
                raise InvalidArgumentError(f"temperature_K must be a number or a (start, end) ramp, got {self.temperature_K!r}")
        self.pressure_GPa = real("pressure_GPa", self.pressure_GPa, unit="GPa")
        if self.heat is not None and not isinstance(self.heat, HeatPulse):
            raise ArgumentTypeError(f"heat must be a HeatPulse or None, got {type(self.heat).__name__}")
        if not isinstance(self.label, str):
            raise ArgumentTypeError(f"label must be a string, got {type(self.label).__name__} {self.label!r}")

    def target(self, fraction: float) -> float:
        t = self.temperature_K
        if t is None:
            return np.nan
        if np.ndim(t) == 0:
            return float(t)
        return float(t[0] + (t[1] - t[0]) * fraction)


@dataclass
class _State:
    segment: int = 0
    step: int = 0  # within the segment
    total_step: int = 0
    heat_added: float = 0.0
    start_ps: float = 0.0  # time of the run's first frame (continues the previous run's)
    parts: dict = field(default_factory=dict)  # "trajectory"/"thermo" -> the temporary file being appended to
    offsets: dict = field(default_factory=dict)  # temporary file -> its size at the checkpoint
    done: bool = False  # every step taken; only the renames of the outputs are left


#: Bumped whenever the checkpoint's content changes; an older checkpoint is refused, not misread.
_CHECKPOINT_FORMAT = "gstorder-md-checkpoint-3"
#: What Melchionna's NPT integrator carries from one step to the next (positions/cell history, thermostat, barostat).
_NPT_STATE = ("h", "h_past", "inv_h", "q", "q_past", "q_future", "eta", "eta_past", "zeta", "zeta_past", "zeta_integrated",
              "timeelapsed", "initialized", "tfact", "pfact", "desiredEkin")


def run(atoms, calculator, segments, *, trajectory="md.extxyz", thermo="md_thermo.csv", timestep_fs: float = TIMESTEP_FS,
        write_every: int = 50, seed=None, temperature_K: float | None = None, langevin_damp_ps: float = LANGEVIN_DAMP_PS,
        friction_per_ps: float | None = None, pressure_damping_ps: float = 1.0, thermostat_ps: float = 0.1,
        checkpoint=None, checkpoint_every: int = 500, hooks=(), show_progress=None):
    """Run segments of MD on ``atoms`` with ``calculator`` and write a trajectory and a thermo log.

    Parameters
    ----------
    atoms : ase.Atoms
        Modified in place. A per-atom ``fixed`` array marks atoms to hold.
    calculator : ASE calculator
        E.g. :func:`gap` or :func:`demo_gap`; any ASE calculator works.
    segments : list of Segment
        Checked as a whole before the first step (heat regions of the right
        length holding at least one atom that is not fixed, an upper-triangular
        periodic cell for NPT).
    trajectory, thermo : path
        Extended XYZ (every ``write_every`` steps and at the end of each
        segment) and CSV thermo log (same steps).
    timestep_fs : float
        Default 2 fs (the paper's); > 0.
    write_every, checkpoint_every : int
        ≥ 1.
    seed : int, optional
        Seeds the initial velocities and the Langevin noise.
    temperature_K : float, optional
        Draw initial Maxwell–Boltzmann velocities at this temperature
        (default: keep the atoms' velocities, or the first segment's target if they have none).
    langevin_damp_ps : float
        Langevin damping time (friction 1/damp), the same parameter and
        default (0.1 ps) as :func:`lammps_deck`'s ``fix langevin``, so both
        runners thermostat alike. ``friction_per_ps`` (older spelling) overrides it.
    thermostat_ps, pressure_damping_ps : float
        NPT thermostat and barostat time constants.
    checkpoint : path, optional
        Written (atomically) every ``checkpoint_every`` steps and once more
        before the outputs are renamed, as data only (an ``.npz`` archive of
        arrays and JSON, read with ``allow_pickle=False``: nothing in it is
        ever run; hook values must then be numbers, strings, arrays, or lists,
        tuples and dicts of them). If it exists when the run
        starts, the run resumes from it and gives the same trajectory and log,
        bit for bit, as without the interruption (NVT, NPT with its
        barostat, NVE, heat pulses), given a calculator whose results depend
        on the positions and cell alone (ASE's ``LennardJones`` keeps a
        neighbour list between calls and so differs in the last bit). It records the set-up (atoms and
        species, time step, protocol with its temperatures, pressures and heat
        regions, output and thermostat options, seed); resuming with another
        raises :class:`~gstorder.errors.CheckpointMismatchError`. A checkpoint
        that cannot be read raises :class:`~gstorder.errors.CheckpointError`,
        and so does a pickled checkpoint of an older gstorder (refused unread).
        One whose partial outputs are gone is dropped with a warning and the
        run starts afresh.
    hooks : sequence of (int, callable)
        ``(every, f)``: ``f(atoms, step, time_ps)`` is called every ``every``
        steps; its return values are collected.

    Notes
    -----
    Time is continuous across calls: the run starts at
    ``atoms.info["time_ps"]`` (0 for a fresh model), writes that starting
    frame, and leaves the final time there for the next call. After a few
    steps the run projects its duration and warns (``GstorderWarning``) when
    it will take more than an hour on this machine: device-scale models
    belong in :func:`lammps_deck` on a cluster.

    The outputs grow as ``.gstorder-<name>.<pid>.part`` files beside their
    final paths and are renamed when the run completes, so a final file is
    always complete.

    Returns
    -------
    dict
        ``trajectory``, ``thermo`` (final paths), ``hooks`` (list of
        ``(step, time_ps, value)``), ``heat_added_eV``.
    """
    _check_atoms(atoms)
    timestep_fs = positive("timestep_fs", timestep_fs, unit="fs")
    write_every = count("write_every", write_every)
    checkpoint_every = count("checkpoint_every", checkpoint_every)
    seed = None if seed is None else count("seed", seed, minimum=0)
    temperature_K = None if temperature_K is None else non_negative("temperature_K", temperature_K, unit="K")
    if friction_per_ps is None:
        friction_per_ps = 1.0 / positive("langevin_damp_ps", langevin_damp_ps, unit="ps")
    else:
        friction_per_ps = positive("friction_per_ps", friction_per_ps, unit="1/ps")
    pressure_damping_ps = positive("pressure_damping_ps", pressure_damping_ps, unit="ps")
    thermostat_ps = positive("thermostat_ps", thermostat_ps, unit="ps")
    for name, value in (("trajectory", trajectory), ("thermo", thermo), ("checkpoint", checkpoint)):
        if not isinstance(value, (str, os.PathLike)) and not (name == "checkpoint" and value is None):
            raise ArgumentTypeError(f"{name} must be a file name, got {type(value).__name__} {value!r}")
    hooks = [(count("hooks interval", every), _callable(f)) for every, f in hooks]
    fixed, segments = _held_atoms(atoms, _check_segments(segments, atoms))
    fingerprint = _fingerprint(atoms, segments, fixed, timestep_fs=timestep_fs, write_every=write_every, seed=seed,
                               temperature_K=temperature_K, friction_per_ps=friction_per_ps,
                               pressure_damping_ps=pressure_damping_ps, thermostat_ps=thermostat_ps)
    dt_ps = timestep_fs / 1000.0
    outputs = {"trajectory": trajectory, "thermo": thermo}

    rng = np.random.default_rng(seed)
    if fixed.any():
        atoms.set_constraint(FixAtoms(mask=fixed))
    atoms.calc = calculator
    resumed = None
    if checkpoint is not None and os.path.exists(checkpoint):
        resumed = _resume(checkpoint, atoms, rng, fingerprint, outputs)
    if resumed is None:
        state = _State(parts={key: str(_atomic.new_temp(path)) for key, path in outputs.items()})
        hook_values, dyn_state = [], None
        if temperature_K is not None or not atoms.has("momenta"):
            t0 = temperature_K if temperature_K is not None else segments[0].target(0.0)
            _thermalize(atoms, temperature_K=0.0 if np.isnan(t0) else t0, rng=rng)
            Stationary(atoms)
        with open(state.parts["thermo"], "w", newline="") as fh:
            csv.writer(fh).writerow(_THERMO)
        state.start_ps = float(atoms.info.get("time_ps", 0.0))
        _write(atoms, state, segments[0], segments[0].target(0.0), state.start_ps, fixed)
    else:
        state, hook_values, dyn_state = resumed
    steps = [max(1, int(round(s.duration_ps / dt_ps))) for s in segments]
    clock = (time.perf_counter(), state.total_step)
    bar = Progress(total=sum(steps), desc="md", show=show_progress, unit="step")
    bar.update(state.total_step)
    saved_at = None if resumed is None else state.total_step  # the step of the checkpoint on disk

    def save(dyn):
        nonlocal saved_at
        _save(checkpoint, atoms, rng, state, hook_values, dyn, fingerprint)
        saved_at = state.total_step

    try:
        while state.segment < len(segments):
            seg, n = segments[state.segment], steps[state.segment]
            dyn = _dynamics(atoms, seg, timestep_fs, friction_per_ps, thermostat_ps, pressure_damping_ps, rng)
            if dyn_state is not None:  # a resumed segment: NPT goes on with its barostat's history
                for name, value in dyn_state["integrator"].items():
                    setattr(dyn, name, value)
                atoms.set_momenta(dyn_state["momenta"], apply_constraint=False)  # NPT() zeroed the centre-of-mass momentum again
                dyn_state = None
            while state.step < n:
                if seg.temperature_K is not None and seg.ensemble == "nvt":
                    dyn.set_temperature(temperature_K=seg.target(state.step / n))
                dyn.run(1)
                if seg.heat is not None:
                    state.heat_added += seg.heat.apply(atoms, dt_ps)
                state.step += 1
                state.total_step += 1
                bar.update(1)
                if clock is not None and state.total_step - clock[1] == 10:
                    _warn_if_long(time.perf_counter() - clock[0], 10, sum(steps) - state.total_step, len(atoms))
                    clock = None
                time_ps = state.start_ps + state.total_step * dt_ps
                for k, (every, hook) in enumerate(hooks):
                    if state.total_step % every == 0:
                        value = hook(atoms, state.total_step, time_ps)
                        if checkpoint is not None:  # refused at once, not at the next checkpoint
                            _checkpoint.storable(value, f"the value hooks[{k}] returned at step {state.total_step}")
                        hook_values.append((state.total_step, time_ps, value))
                if state.total_step % write_every == 0 or state.step == n:
                    _write(atoms, state, seg, seg.target(state.step / n), time_ps, fixed)
                if checkpoint is not None and state.total_step % checkpoint_every == 0 and state.step < n:
                    save(dyn)
            state.segment += 1
            state.step = 0
            if checkpoint is not None and state.total_step % checkpoint_every == 0 and state.segment < len(segments):
                save(None)
    except (KeyboardInterrupt, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and not str(exc).startswith("Interrupt occ"):  # quippy's Ctrl-C: "Interrupt occured"
            raise
        raise KeyboardInterrupt(_interrupted(state, sum(steps), checkpoint, saved_at, checkpoint_every)) from None
    finally:
        bar.close()
    state.done = True
    if checkpoint is not None:  # a kill during the renames below is finished by the next call
        _save(checkpoint, atoms, rng, state, hook_values, None, fingerprint)
    return _finish(atoms, state, hook_values, outputs, checkpoint, dt_ps)


def _interrupted(state, total, checkpoint, saved_at, checkpoint_every) -> str:
    """What an interrupted run leaves behind and how to go on from it."""
    parts = " and ".join(p for p in state.parts.values() if os.path.exists(p)) or "no partial output"
    text = f"md.run interrupted at step {state.total_step} of {total}: kept {parts}"
    if checkpoint is None:
        return text + ("; no checkpoint= was given, so the run cannot resume (a new call starts afresh; pass "
                       "checkpoint= to make runs resumable)")
    if saved_at is None:
        return text + (f"; no checkpoint was written yet (one is every {checkpoint_every} steps), so the same call "
                       "starts afresh")
    return text + f" and the checkpoint {checkpoint} of step {saved_at}; the same call resumes from step {saved_at}"


def _finish(atoms, state, hook_values, outputs, checkpoint, dt_ps):
    """Rename the finished outputs into place (those a killed run renamed already stay) and drop the checkpoint."""
    for key, final in outputs.items():
        if os.path.exists(state.parts[key]):
            _atomic.commit(state.parts[key], final)
    atoms.info["time_ps"] = state.start_ps + state.total_step * dt_ps
    if checkpoint is not None and os.path.exists(checkpoint):
        os.unlink(checkpoint)
    return {"trajectory": str(outputs["trajectory"]), "thermo": str(outputs["thermo"]), "hooks": hook_values,
            "heat_added_eV": state.heat_added}


def _check_atoms(atoms):
    from ase import Atoms

    if not isinstance(atoms, Atoms):
        raise ArgumentTypeError(f"atoms must be an ase.Atoms, got {type(atoms).__name__}")
    if len(atoms) == 0:
        raise InvalidArgumentError("atoms holds no atoms")


def _callable(f):
    if not callable(f):
        raise ArgumentTypeError(f"a hook must be callable, got {type(f).__name__} {f!r}")
    return f


def _check_segments(segments, atoms):
    """The protocol as a list of Segments, checked as a whole against ``atoms`` before any step is taken."""
    if isinstance(segments, (Segment, str)) or not hasattr(segments, "__iter__"):
        raise ArgumentTypeError(f"segments must be a list of Segment, got {type(segments).__name__}")
    segments = list(segments)
    if not segments:
        raise InvalidArgumentError("segments is empty: give at least one Segment")
    fixed = np.asarray(atoms.arrays.get("fixed", np.zeros(len(atoms), bool)), dtype=bool)
    for k, seg in enumerate(segments):
        if not isinstance(seg, Segment):
            raise ArgumentTypeError(f"segments[{k}] must be a Segment, got {type(seg).__name__}")
        name = f"segments[{k}] ({seg.label or seg.ensemble})"
        if seg.heat is not None:
            region = np.asarray(seg.heat.region)
            if region.shape != (len(atoms),):
                raise InvalidArgumentError(f"{name}: the heat-pulse region has {region.size} entries for {len(atoms)} atoms")
            if not (region & ~fixed).any():
                raise InvalidArgumentError(f"{name}: the heat-pulse region holds no atoms" +
                                           (" that are not fixed" if region.any() else ""))
        if seg.ensemble == "npt":
            cell = atoms.cell.array
            if not atoms.pbc.all() or not np.allclose(cell, np.triu(cell)):
                raise InvalidArgumentError(f"{name}: NPT needs a periodic, upper-triangular cell (e.g. an orthogonal box)")
    return segments


def _fingerprint(atoms, segments, fixed, **options) -> dict:
    """What a run is set up with, in plain values: a checkpoint is resumed only by the same set-up."""
    import hashlib

    def digest(array):
        return hashlib.sha1(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]

    protocol = [(s.label, s.ensemble, s.duration_ps, s.temperature_K, s.pressure_GPa,
                 None if s.heat is None else (s.heat.power, digest(np.packbits(s.heat.region)))) for s in segments]
    return {"atoms": len(atoms), "species": atoms.get_chemical_formula(),
            "species order": digest(atoms.get_atomic_numbers().astype(np.int64)),
            "fixed atoms": digest(np.packbits(fixed)), "segments": protocol, **options}


def _warn_if_long(seconds, steps_done, steps_left, n_atoms, limit_s: float = 3600.0):
    """Warn when the steps left will take longer than ``limit_s`` at the pace of the first steps."""
    per_step = seconds / steps_done
    left = per_step * steps_left
    if left > limit_s:
        warnings.warn(f"this MD run will take about {left / 3600:.1f} h more on this machine ({1000 * per_step:.0f} ms per "
                      f"step, {1e6 * per_step / max(n_atoms, 1):.0f} µs per atom and step, {steps_left} steps left): "
                      "for device-scale models write a deck with gstorder.md.lammps_deck and run it on a cluster",
                      GstorderWarning, stacklevel=3)


def _held_atoms(atoms, segments):
    """The ``fixed`` mask of ``atoms`` and copies of the segments with fixed atoms taken out of every heat region.

    The copies are built anew, so a Segment or HeatPulse changed after it was made is checked again.
    """
    fixed = np.asarray(atoms.arrays.get("fixed", np.zeros(len(atoms), bool)), dtype=bool)
    out = [dataclasses.replace(seg, heat=None if seg.heat is None else
                               HeatPulse(np.asarray(seg.heat.region, dtype=bool) & ~fixed, seg.heat.power))
           for seg in segments]
    return fixed, out


def _dynamics(atoms, seg, timestep_fs, friction_per_ps, thermostat_ps, pressure_damping_ps, rng):
    dt = timestep_fs * units.fs
    if seg.ensemble == "nve":
        from ase.md.verlet import VelocityVerlet

        return VelocityVerlet(atoms, dt)
    if seg.ensemble == "nvt":
        from ase.md.langevin import Langevin

        return Langevin(atoms, dt, temperature_K=seg.target(0.0), friction=friction_per_ps / (1000 * units.fs), fixcm=False,
                        rng=rng)
    try:  # ASE >= 3.27 names Melchionna's NPT so
        from ase.md.melchionna import MelchionnaNPT as NPT
    except ImportError:  # pragma: no cover
        from ase.md.npt import NPT

    bulk_modulus = 40.0 * units.GPa  # order of magnitude for GST; sets the barostat mass
    return NPT(atoms, dt, temperature_K=seg.target(0.0), externalstress=seg.pressure_GPa * units.GPa,
               ttime=thermostat_ps * 1000 * units.fs, pfactor=(pressure_damping_ps * 1000 * units.fs) ** 2 * bulk_modulus)


def _write(atoms, state, seg, target_K, time_ps, fixed):
    snapshot = atoms.copy()
    snapshot.calc = None
    snapshot.info = {"time_ps": time_ps, "step": state.total_step, "segment": seg.label or state.segment}
    with open(state.parts["trajectory"], "a") as fh:
        write(fh, snapshot, format="extxyz")
    e_pot = atoms.get_potential_energy()
    e_kin = atoms.get_kinetic_energy()
    moving = max(1, int((~fixed).sum()))
    temp = 2 * e_kin / (3 * moving * units.kB)
    with open(state.parts["thermo"], "a", newline="") as fh:
        csv.writer(fh).writerow([state.total_step, f"{time_ps:.6f}", seg.label or state.segment, f"{temp:.3f}",
                                 f"{target_K:.3f}", f"{e_pot:.8f}", f"{e_kin:.8f}",
                                 f"{e_pot + e_kin:.8f}", f"{state.heat_added:.8f}",
                                 f"{atoms.get_volume() if atoms.pbc.all() else float('nan'):.6f}"])


def _save(path, atoms, rng, state, hook_values, dyn, fingerprint):
    """Write the checkpoint (atomically): atoms, random state, run state, hook values and the NPT integrator's state.

    Data only (see :mod:`gstorder.md._checkpoint`): arrays in an ``.npz`` archive, the rest as JSON in it.
    """
    state.offsets = {p: os.path.getsize(p) for p in state.parts.values() if os.path.exists(p)}
    dynamics = {name: copy.deepcopy(getattr(dyn, name)) for name in _NPT_STATE if hasattr(dyn, name)}
    blob = {"format": _CHECKPOINT_FORMAT, "fingerprint": fingerprint, "positions": atoms.get_positions(),
            "momenta": atoms.get_momenta(), "cell": atoms.cell.array.copy(), "rng": rng.bit_generator.state,
            "state": dataclasses.asdict(state), "hooks": hook_values, "dynamics": dynamics}
    _atomic.atomic_write(path, lambda fh: _checkpoint.write(fh, blob))


def _resume(path, atoms, rng, fingerprint, outputs):
    """Restore a run from its checkpoint: ``(state, hook values, integrator state)``, or None to start afresh."""
    try:
        blob = _checkpoint.read(path)
        if blob["format"] != _CHECKPOINT_FORMAT:
            raise ValueError(f"format {blob['format']!r}, not {_CHECKPOINT_FORMAT!r}")
        state = _State(**blob["state"])
        _check_state(state, outputs)
        old = blob["fingerprint"]
        arrays = {name: np.asarray(blob[name], dtype=float) for name in ("positions", "momenta", "cell")}
        for name, shape in (("positions", (old["atoms"], 3)), ("momenta", (old["atoms"], 3)), ("cell", (3, 3))):
            if arrays[name].shape != shape:
                raise ValueError(f"{name} of shape {arrays[name].shape}, not {shape}")
        np.random.Generator(type(rng.bit_generator)()).bit_generator.state = blob["rng"]  # checked on a spare
        hooks, dynamics = list(blob["hooks"]), dict(blob["dynamics"])
    except _checkpoint.PickledCheckpoint:
        raise CheckpointError(f"the checkpoint {path} cannot be read: it is a pickle, as gstorder wrote checkpoints "
                              "before they became data only, and a pickle can run code when it is loaded, so it is "
                              "refused unread; delete it to start the run afresh (or finish the run with the gstorder "
                              "version that wrote it, if you trust the file)") from None
    except Exception as exc:  # truncated or not a zip (BadZipFile, EOFError), not ours (KeyError, TypeError, ValueError)
        raise CheckpointError(f"the checkpoint {path} cannot be read ({type(exc).__name__}: {exc}): it is truncated, "
                              "corrupt or not a gstorder MD checkpoint; delete it to start the run afresh") from None
    changed = [key for key in fingerprint if old.get(key) != fingerprint[key]]
    if changed:
        details = "; ".join(f"{key}: checkpoint {_short(old.get(key))}, this run {_short(fingerprint[key])}" for key in changed)
        raise CheckpointMismatchError(f"the checkpoint {path} was written by a run set up differently ({details}); "
                                      "resume with the same set-up, or delete the checkpoint to start afresh")
    problem = _lost_output(state, outputs)
    if problem:
        warnings.warn(f"the checkpoint {path} cannot be resumed: {problem}; it is deleted and the run starts afresh",
                      GstorderWarning, stacklevel=3)
        for part in state.parts.values():
            if os.path.exists(part):
                os.unlink(part)
        os.unlink(path)
        return None
    atoms.set_cell(arrays["cell"])
    atoms.set_positions(arrays["positions"], apply_constraint=False)
    atoms.set_momenta(arrays["momenta"], apply_constraint=False)
    rng.bit_generator.state = blob["rng"]
    for part, size in state.offsets.items():  # drop what was written after the checkpoint
        if os.path.exists(part):
            with open(part, "r+b") as fh:
                fh.truncate(size)
    return state, hooks, {"integrator": dynamics, "momenta": arrays["momenta"]}


def _check_state(state, outputs):
    """Raise ValueError unless the run state read from a checkpoint has the types it is written with and names only
    the run's own partial outputs (``.gstorder-<name>.<pid>.part`` beside each output): a crafted checkpoint must
    not make the resume truncate or delete other files."""
    for name, kind in (("segment", int), ("step", int), ("total_step", int), ("heat_added", float), ("start_ps", float),
                       ("done", bool), ("parts", dict), ("offsets", dict)):
        if type(getattr(state, name)) is not kind:
            raise ValueError(f"run state {name}={getattr(state, name)!r:.80}")
    if set(state.parts) != set(outputs):
        raise ValueError(f"partial outputs for {sorted(state.parts)!r:.80}")
    for key, part in state.parts.items():
        final = os.fspath(outputs[key])
        name = os.path.basename(final)
        if (not isinstance(part, str) or _folder(part) != _folder(final)
                or not re.fullmatch(rf"\.gstorder-{re.escape(name)}\.\d+(-\d+)?\.part", os.path.basename(part))):
            raise ValueError(f"partial {key} file {part!r:.120} is not a temporary file beside {final!r:.120}")
    if not set(state.offsets) <= set(state.parts.values()) or not all(type(v) is int for v in state.offsets.values()):
        raise ValueError(f"offsets {state.offsets!r:.120}")


def _folder(path: str) -> str:
    return os.path.normpath(os.path.dirname(path) or ".")


def _lost_output(state, outputs):
    """Why the partial outputs a checkpoint refers to cannot be continued (or finished), or ''."""
    for key, part in state.parts.items():
        if os.path.exists(part):
            if os.path.getsize(part) < state.offsets.get(part, 0):
                return f"its partial {key} file {part} is shorter than when the checkpoint was written"
        elif not (state.done and os.path.exists(outputs[key])):
            return f"its partial {key} file {part} is gone"
    return ""


def _short(value, width: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
