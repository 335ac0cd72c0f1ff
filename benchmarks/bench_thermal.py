"""Temperature map and z-profile of the 532,980-atom device frame: gstorder against NumPy + scipy.ndimage.

The reference does the same work the obvious way: per-atom kinetic energies
with NumPy, ``np.histogram2d`` for ΣKE and atom counts on the 60 x 36 grid,
``scipy.ndimage.gaussian_filter`` (1 nm, wrapping) on both, then the
division; and ``np.histogram`` per species for the z profile. Set-up and a
warm-up call happen outside the timed region; medians of 7 calls.

    python benchmarks/bench_thermal.py
"""

from __future__ import annotations

import platform
import time

import numba
import numpy as np
from scipy.ndimage import gaussian_filter

import gstorder
from gstorder import layers, structures, temperature_map
from gstorder.thermal import EV_PER_AMU_A2_PS2, KB_EV


def device_frame():
    frame = gstorder.as_frame(structures.device_cell())
    rng = np.random.default_rng(0)
    m = frame.atom_masses
    frame.velocities = rng.normal(size=(len(frame), 3)) * np.sqrt(KB_EV * 600.0 / (m * EV_PER_AMU_A2_PS2))[:, None]
    return frame


def numpy_map(frame, bins=(60, 36), sigma_nm=1.0):
    m, v = frame.atom_masses, frame.velocities
    v = v - (m[:, None] * v).sum(0) / m.sum()
    ke = 0.5 * m * (v**2).sum(1) * EV_PER_AMU_A2_PS2
    lx, lz = frame.cell[0, 0], frame.cell[2, 2]
    x, z = frame.positions[:, 0] % lx, frame.positions[:, 2] % lz
    rng = ((0, lx), (0, lz))
    h_ke = np.histogram2d(x, z, bins=bins, range=rng, weights=ke)[0]
    h_n = np.histogram2d(x, z, bins=bins, range=rng)[0]
    sig = (10 * sigma_nm / (lx / bins[0]), 10 * sigma_nm / (lz / bins[1]))
    return 2 * gaussian_filter(h_ke, sig, mode="wrap") / (3 * KB_EV * gaussian_filter(h_n, sig, mode="wrap"))


def numpy_profile(frame, bin_width=0.2):
    lz = frame.cell[2, 2]
    z = frame.positions[:, 2] % lz
    n = int(round(lz / bin_width))
    return [np.histogram(z[frame.numbers == s], bins=n, range=(0, lz))[0] for s in (32, 51, 52)]


def median_time(call, repeats=7):
    call()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    frame = device_frame()
    rows = []
    for name, call in [
        ("gstorder temperature_map (2 threads)", lambda: temperature_map(frame, exclude=None)),
        ("NumPy histogram2d + scipy.ndimage", lambda: numpy_map(frame)),
        ("gstorder layers.z_profile (2 threads)", lambda: layers.z_profile(frame, bin_width=0.2)),
        ("NumPy histogram per species", lambda: numpy_profile(frame)),
        ("gstorder layers.find_layers", lambda: layers.find_layers(frame)),
    ]:
        rows.append((name, median_time(call)))
    with gstorder.threads(1):
        rows.insert(1, ("gstorder temperature_map (1 thread)", median_time(lambda: temperature_map(frame, exclude=None))))
    ours = numpy_map(frame)
    theirs = temperature_map(frame, exclude=None).temperature.values[0]
    print(f"Machine: {platform.machine()}, 2 cores, Python {platform.python_version()}, numba {numba.__version__}; "
          f"{len(frame):,} atoms; max |T_gstorder - T_numpy| = {np.abs(ours - theirs).max():.2e} K\n")
    print("| task (532,980 atoms) | median time (ms) |")
    print("|---|---:|")
    for name, t in rows:
        print(f"| {name} | {1000 * t:.1f} |")


if __name__ == "__main__":
    main()
