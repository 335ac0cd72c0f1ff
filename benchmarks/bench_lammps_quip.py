"""LAMMPS + QUIP against ASE + quippy per atom and step, same demo GAP: python benchmarks/bench_lammps_quip.py

Needs the lmp of tools/build_lammps_quip.sh ($GSTORDER_LMP or ~/.cache/gstorder/lammps-quip/bin/lmp).
NVE, 2 fs, velocities at 600 K. ASE + quippy runs in one process (quippy's wheel has no MPI); LAMMPS on 1 and
2 MPI ranks (its "Loop time", i.e. without start-up, and the whole process). Peers alternate, best of REPEATS.
Besides wall time, CPU time (core-µs per atom and step: all ranks, start-up included for LAMMPS) is printed: on
a shared machine it is the number that survives other people's jobs, and the one to plan core-hours with.
"""
import resource
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.md.velocitydistribution import Stationary

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from lammps_quip import find_lmp, run_deck  # noqa: E402

from gstorder import md, structures  # noqa: E402
from gstorder.md.runner import _thermalize  # noqa: E402

REPEATS = 2
CELLS = {  # name: (builder, steps)
    "189-atom rock-salt Ge1Sb2Te4": (lambda: structures.rocksalt("Ge1Sb2Te4", (3, 3, 3), a=6.1, seed=0), 40),
    "1,512-atom rock-salt Ge1Sb2Te4": (lambda: structures.rocksalt("Ge1Sb2Te4", (6, 6, 6), a=6.1, seed=0), 10)}


def model(make):
    atoms = make()
    _thermalize(atoms, temperature_K=600.0, rng=np.random.default_rng(1))
    Stationary(atoms)
    return atoms


def ase_run(atoms, calc, work, steps):
    t, cpu = time.perf_counter(), time.process_time()
    md.run(atoms.copy(), calc, [md.Segment(steps * 0.002, "nve")], write_every=steps, trajectory=work / "a.xyz",
           thermo=work / "a.csv", show_progress=False)
    return time.perf_counter() - t, time.process_time() - cpu


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def lammps_run(atoms, work, ranks, lmp, steps):
    deck = work / f"deck{ranks}"
    md.lammps_deck([md.Segment(steps * 0.002, "nve")], atoms, md.DEMO_GAP, deck, dump_every=steps, thermo_every=steps)
    t, cpu = time.perf_counter(), children_cpu()
    log = run_deck(deck, ranks=ranks, lmp=lmp)
    wall, cpu = time.perf_counter() - t, children_cpu() - cpu
    loop = float(next(line for line in log.splitlines() if line.startswith("Loop time")).split()[3])
    return loop, wall, cpu


def main():
    lmp, why = find_lmp()
    if lmp is None:
        sys.exit(why)
    calc = md.demo_gap()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; NVE steps of 2 fs, best of {REPEATS}; "
          "µs per atom and step: wall (CPU, all ranks)")
    print("| cell | ASE + quippy (1 process) | LAMMPS + QUIP, 1 rank | LAMMPS + QUIP, 2 ranks | "
          "LAMMPS 1 rank / ASE (CPU) | LAMMPS 2 ranks / 1 rank (wall) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (make, steps) in CELLS.items():
        atoms = model(make)
        n = len(atoms) * steps
        best = {"ase": (np.inf, np.inf), 1: (np.inf, np.inf, np.inf), 2: (np.inf, np.inf, np.inf)}
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for _ in range(REPEATS):
                best["ase"] = min(best["ase"], ase_run(atoms, calc, work, steps))
                for ranks in (1, 2):
                    best[ranks] = min(best[ranks], lammps_run(atoms, work, ranks, lmp, steps))
        us = {k: 1e6 * v[0] / n for k, v in best.items()}  # wall: ASE's whole run, LAMMPS' loop
        cpu = {k: 1e6 * v[-1] / n for k, v in best.items()}
        print(f"| {name}, {steps} steps | {us['ase']:.0f} ({cpu['ase']:.0f}) | {us[1]:.0f} ({cpu[1]:.0f}) | "
              f"{us[2]:.0f} ({cpu[2]:.0f}) | {cpu[1] / cpu['ase']:.2f} | {us[2] / us[1]:.2f} |")


if __name__ == "__main__":
    main()
