"""The paper's MD protocols: :func:`protocol` names their segments (for :func:`~gstorder.md.run` or
:func:`~gstorder.md.lammps_deck`), and :func:`melt_quench`, :func:`anneal`, ... run them.
"""

from __future__ import annotations

import numpy as np

from .._checks import non_negative, positive, real
from ..errors import InvalidArgumentError
from .runner import HeatPulse, Segment, _check_atoms, run


def protocol(name: str, **params) -> list:
    """The segments of a named protocol, for :func:`run` or :func:`lammps_deck`.

    Names and parameters as the functions :func:`melt_quench`,
    :func:`anneal`, :func:`heat_ramp`, :func:`set_pulses`,
    :func:`reset_pulse` and :func:`device_melt`.

    Examples
    --------
    >>> [s.label for s in protocol("melt_quench")]
    ['melt', 'cool', 'hold', 'quench', 'final']
    """
    builders = {"melt_quench": _melt_quench, "anneal": _anneal, "heat_ramp": _heat_ramp, "set_pulses": _set_pulses,
                "reset_pulse": _reset_pulse, "device_melt": _device_melt}
    if name not in builders:
        raise InvalidArgumentError(f"protocol={name!r}; choose one of {', '.join(builders)}")
    return builders[name](**params)


def _melt_quench(*, melt_K=3000.0, melt_ps=20.0, melting_point_K=900.0, cool_rate_K_per_s=1e14, hold_ps=30.0,
                 quench_rate_K_per_s=2.5e13, final_K=300.0, final_hold_ps=30.0, time_scale=1.0):
    ps = 1e12
    cool_rate_K_per_s = positive("cool_rate_K_per_s", cool_rate_K_per_s, unit="K/s")
    quench_rate_K_per_s = positive("quench_rate_K_per_s", quench_rate_K_per_s, unit="K/s")
    time_scale = positive("time_scale", time_scale)
    if not real("melt_K", melt_K, unit="K") > real("melting_point_K", melting_point_K, unit="K") > real("final_K", final_K, unit="K"):
        raise InvalidArgumentError(f"melt_K > melting_point_K > final_K is needed, got {melt_K}, {melting_point_K}, {final_K}")
    return [
        Segment(melt_ps * time_scale, "nvt", melt_K, label="melt"),
        Segment((melt_K - melting_point_K) / cool_rate_K_per_s * ps * time_scale, "nvt", (melt_K, melting_point_K), label="cool"),
        Segment(hold_ps * time_scale, "nvt", melting_point_K, label="hold"),
        Segment((melting_point_K - final_K) / quench_rate_K_per_s * ps * time_scale, "nvt", (melting_point_K, final_K),
                label="quench"),
        Segment(final_hold_ps * time_scale, "nvt", final_K, label="final"),
    ]


def _anneal(*, temperature_K=600.0, duration_ps=100.0, ensemble="nvt"):
    return [Segment(duration_ps, ensemble, temperature_K, label="anneal")]


def _heat_ramp(*, start_K=300.0, end_K=1200.0, rate_K_per_ps=10.0):
    rate_K_per_ps = positive("rate_K_per_ps", rate_K_per_ps, unit="K/ps")
    if non_negative("start_K", start_K, unit="K") == non_negative("end_K", end_K, unit="K"):
        raise InvalidArgumentError(f"start_K and end_K are both {start_K}: a ramp needs two temperatures")
    return [Segment(abs(end_K - start_K) / rate_K_per_ps, "nvt", (start_K, end_K), label="ramp")]


def _set_pulses(*, pulses=((650.0, 100.0), (600.0, 100.0), (600.0, 50.0))):
    return [Segment(d, "nvt", t, label=f"pulse {k + 1}") for k, (t, d) in enumerate(pulses)]


def _first_anneal(anneal_K, anneal_ps):
    """The paper's 300 K NVT anneal before a pulse (none when ``anneal_ps`` is 0)."""
    anneal_ps = non_negative("anneal_ps", anneal_ps, unit="ps")
    return [Segment(anneal_ps, "nvt", anneal_K, label="anneal")] if anneal_ps > 0 else []


def _reset_pulse(*, region, energy_eV=1650.0, pulse_ps=30.0, relax_ps=70.0, anneal_K=300.0, anneal_ps=10.0):
    heat = HeatPulse(np.asarray(region, dtype=bool), real("energy_eV", energy_eV, unit="eV") /
                     positive("pulse_ps", pulse_ps, unit="ps"))
    return _first_anneal(anneal_K, anneal_ps) + [Segment(pulse_ps, "nve", heat=heat, label="pulse"),
                                                 Segment(relax_ps, "nve", label="relax")]


def _device_melt(*, region, power_eV_per_ps=55.0, duration_ps=50.0, anneal_K=300.0, anneal_ps=10.0):
    return _first_anneal(anneal_K, anneal_ps) + [
        Segment(duration_ps, "nve", heat=HeatPulse(np.asarray(region, dtype=bool), power_eV_per_ps), label="pulse")]


def melt_quench(atoms, calculator, *, melt_K: float = 3000.0, melt_ps: float = 20.0, melting_point_K: float = 900.0,
                cool_rate_K_per_s: float = 1e14, hold_ps: float = 30.0, quench_rate_K_per_s: float = 2.5e13,
                final_K: float = 300.0, final_hold_ps: float = 30.0, time_scale: float = 1.0, **run_options):
    """The paper's melt-quench (Methods): 3000 K for 20 ps, cool to the melting point at 10¹⁴ K/s,
    hold 30 ps, quench to 300 K at 2.5 × 10¹³ K/s, hold 30 ps; NVT. ``time_scale`` shortens every stage.
    ``run_options`` go to :func:`run`."""
    segments = _melt_quench(melt_K=melt_K, melt_ps=melt_ps, melting_point_K=melting_point_K,
                            cool_rate_K_per_s=cool_rate_K_per_s, hold_ps=hold_ps, quench_rate_K_per_s=quench_rate_K_per_s,
                            final_K=final_K, final_hold_ps=final_hold_ps, time_scale=time_scale)
    run_options.setdefault("temperature_K", melt_K)
    return run(atoms, calculator, segments, **run_options)


def anneal(atoms, calculator, *, temperature_K: float = 600.0, duration_ps: float = 100.0, ensemble: str = "nvt",
           **run_options):
    """Isothermal annealing (e.g. crystallisation at 600 K with the ``fixed`` layers held)."""
    return run(atoms, calculator, _anneal(temperature_K=temperature_K, duration_ps=duration_ps, ensemble=ensemble),
               **run_options)


def heat_ramp(atoms, calculator, *, start_K: float = 300.0, end_K: float = 1200.0, rate_K_per_ps: float = 10.0,
              **run_options):
    """Heat linearly from ``start_K`` to ``end_K`` at ``rate_K_per_ps`` (NVT)."""
    return run(atoms, calculator, _heat_ramp(start_K=start_K, end_K=end_K, rate_K_per_ps=rate_K_per_ps), **run_options)


def set_pulses(atoms, calculator, *, pulses=((650.0, 100.0), (600.0, 100.0), (600.0, 50.0)), **run_options):
    """A cumulative SET train: isothermal NVT pulses ``(temperature_K, duration_ps)`` one after another.

    A frame is written at the end of every pulse, so k̄ can be followed
    against pulse number (Fig. 4c).
    """
    return run(atoms, calculator, _set_pulses(pulses=pulses), **run_options)


def reset_pulse(atoms, calculator, *, region, energy_eV: float = 1650.0, pulse_ps: float = 30.0, relax_ps: float = 70.0,
                anneal_K: float = 300.0, anneal_ps: float = 10.0, **run_options):
    """An iterative-RESET step: ``anneal_ps`` of NVT at ``anneal_K`` (as the paper does first; 0 skips it), then
    ``energy_eV`` added to ``region`` over ``pulse_ps`` (NVE) and ``relax_ps`` of NVE.

    1,650 eV over 30 ps is the paper's 55 eV/ps pulse. A fresh model gets
    Maxwell-Boltzmann velocities at ``anneal_K`` (not 0 K).
    """
    segments = _reset_pulse(region=region, energy_eV=energy_eV, pulse_ps=pulse_ps, relax_ps=relax_ps, anneal_K=anneal_K,
                            anneal_ps=anneal_ps)
    _check_atoms(atoms)
    run_options.setdefault("temperature_K", None if atoms.has("momenta") else anneal_K)
    return run(atoms, calculator, segments, **run_options)


def device_melt(atoms, calculator, *, region, power_eV_per_ps: float = 55.0, duration_ps: float = 50.0,
                anneal_K: float = 300.0, anneal_ps: float = 10.0, **run_options):
    """Melting a device cell: ``anneal_ps`` of NVT at ``anneal_K`` (0 skips it), then a vertical high-energy
    pulse (NVE) of ``power_eV_per_ps`` into ``region``; a fresh model starts at ``anneal_K``, not 0 K."""
    segments = _device_melt(region=region, power_eV_per_ps=power_eV_per_ps, duration_ps=duration_ps, anneal_K=anneal_K,
                            anneal_ps=anneal_ps)
    _check_atoms(atoms)
    run_options.setdefault("temperature_K", None if atoms.has("momenta") else anneal_K)
    return run(atoms, calculator, segments, **run_options)
