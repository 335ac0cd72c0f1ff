"""Regenerate data/gst124_rocksalt_189at_thermal.extxyz (the built-in example).

A 3x3x3 rock-salt-like Ge1Sb2Te4 cell (a = 6.0 Å; 108 Te on the anion
sites; 27 Ge, 54 Sb and 27 vacancies on the cation sites, seeded), as 20
frames 0.1 ps apart with harmonic thermal displacements (rms 0.12 Å) and
Maxwell-Boltzmann velocities at 300 K. It is synthetic (no force field): a
small, valid trajectory with velocities and time for the main job and the
tests. Run: python data/make_example.py
"""

from pathlib import Path

import numpy as np
from ase import units
from ase.build import bulk
from ase.io import write

OUT = Path(__file__).with_name("gst124_rocksalt_189at_thermal.extxyz")


def main(seed=124):
    rng = np.random.default_rng(seed)
    atoms = bulk("NaCl", "rocksalt", a=6.0, cubic=True).repeat(3)
    numbers = atoms.numbers.copy()
    cations = rng.permutation(np.nonzero(numbers == 11)[0])
    numbers[numbers == 17] = 52
    numbers[cations[:27]] = 32
    numbers[cations[27:81]] = 51
    atoms.numbers = numbers
    del atoms[cations[81:]]
    ideal = atoms.positions.copy()
    masses = atoms.get_masses()
    frames = []
    for k in range(20):
        frame = atoms.copy()
        frame.positions = ideal + rng.normal(0.0, 0.12 / np.sqrt(3), ideal.shape)
        velocities = rng.normal(size=ideal.shape) * np.sqrt(units.kB * 300.0 / masses)[:, None]
        velocities -= (masses[:, None] * velocities).sum(0) / masses.sum()
        frame.set_velocities(velocities)
        frame.info = {"time_ps": round(0.1 * k, 6), "comment": "synthetic thermal rock-salt Ge1Sb2Te4, see data/make_example.py"}
        frames.append(frame)
    write(OUT, frames, format="extxyz")
    print(f"wrote {OUT} ({len(frames)} frames of {len(atoms)} atoms)")


if __name__ == "__main__":
    main()
