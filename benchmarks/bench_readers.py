"""Trajectory readers: gstorder against OVITO and ASE on the same files, in one run.

Files:

* the 532,980-atom device cell as a 3-frame LAMMPS text dump
  (``id type x y z vx vy vz``; make it with
  ``python benchmarks/bench_pipeline.py --make-dump PATH --frames 3``);
* a 96,768-atom rock-salt Ge1Sb2Te4 (rattled, with velocities) written 3
  times by ``ase.io.write`` as extended XYZ (made here if absent);
* the device dump's frames as a LAMMPS binary dump (the layout of
  ``dump custom ... file.bin``, one chunk per frame) and as an AMBER NetCDF
  file laid out as ``dump netcdf`` writes it (float32), both made here if
  absent.

Per reader: seconds to index the file (gstorder: ``len(Trajectory)``;
OVITO: ``import_file`` and ``num_frames``), then seconds per frame for
reading every frame in order (median of the frames; ASE reads each frame
with ``index=k``, which is how it streams). Every reader's positions are
checked against gstorder's. OVITO is skipped (and said so) when the
``ovito`` module is not installed.

    python benchmarks/bench_readers.py --dump /tmp/device3.lammpstrj [--xyz /tmp/big.xyz]

Results: a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def _gstorder(path, species):
    from gstorder import Trajectory

    t = time.perf_counter()
    traj = Trajectory(path, species=species)
    n = len(traj)
    index = time.perf_counter() - t
    times, last = [], None
    it = iter(traj)
    for _ in range(n):
        t = time.perf_counter()
        last = next(it)
        times.append(time.perf_counter() - t)
    return index, times, last.positions + last.info.get("origin", 0.0)


def _ase(path, fmt, n):
    from ase.io import read

    extra = {"colnames": COLUMNS.split()} if fmt == "lammps-dump-binary" else {}
    times, last = [], None
    for k in range(n):
        t = time.perf_counter()
        last = read(path, index=k, format=fmt, **extra)
        times.append(time.perf_counter() - t)
    return None, times, last.positions


def _ovito(path):
    try:
        from ovito.io import import_file
    except ImportError:
        return None
    t = time.perf_counter()
    pipeline = import_file(path)
    n = pipeline.source.num_frames
    index = time.perf_counter() - t
    times, data = [], None
    for k in range(n):
        t = time.perf_counter()
        data = pipeline.compute(k)
        times.append(time.perf_counter() - t)
    ids = np.asarray(data.particles.identifiers) if data.particles.identifiers is not None else None
    positions = np.asarray(data.particles.positions)
    if ids is not None:
        positions = positions[np.argsort(ids)]
    return index, times, positions


def _make_xyz(path):
    from ase.io import write

    from gstorder import structures

    atoms = structures.rocksalt("Ge1Sb2Te4", 24, seed=0)
    atoms.rattle(0.1, seed=0)
    atoms.set_velocities(np.random.default_rng(0).normal(0, 0.01, (len(atoms), 3)))
    write(path, [atoms] * 3, format="extxyz")


COLUMNS = "id type x y z vx vy vz"


def _make_binary(dump, path):
    """The dump's frames in LAMMPS's binary dump layout (revision 2, little endian, one chunk per frame)."""
    from gstorder import read_frames

    with open(path + ".part", "wb") as fh:
        for frame in read_frames(dump, species=["Ge", "Sb", "Te"]):
            n = len(frame.positions)
            cell, origin = frame.cell, frame.info["origin"]
            header = np.array([-10], "<i8").tobytes() + b"DUMPCUSTOM" + np.array([1, 2], "<i4").tobytes()
            header += np.array([frame.info["step"], n], "<i8").tobytes() + np.zeros(7, "<i4").tobytes()
            bounds = np.column_stack([origin, origin + cell.diagonal()]).ravel()
            header += bounds.astype("<f8").tobytes() + np.array([8, 0], "<i4").tobytes() + b"\x00"
            header += np.array([len(COLUMNS)], "<i4").tobytes() + COLUMNS.encode() + np.array([1, 8 * n], "<i4").tobytes()
            types = np.searchsorted([32, 51, 52], frame.numbers) + 1
            table = np.column_stack([np.arange(1, n + 1), types, frame.positions + origin, frame.velocities])
            fh.write(header + table.astype("<f8").tobytes())
    os.replace(path + ".part", path)


def _make_netcdf(dump, path):
    """The dump's frames as LAMMPS's dump netcdf lays them out (float32 coordinates and velocities)."""
    import netCDF4

    from gstorder import read_frames

    frames = list(read_frames(dump, species=["Ge", "Sb", "Te"]))
    n = len(frames[0].positions)
    with netCDF4.Dataset(path + ".part", "w", format="NETCDF3_64BIT_DATA") as ds:
        ds.Conventions = "AMBER"
        for name, size in (("frame", None), ("atom", n), ("spatial", 3), ("cell_spatial", 3), ("cell_angular", 3)):
            ds.createDimension(name, size)
        for name in ("cell_origin", "cell_lengths", "cell_angles"):
            ds.createVariable(name, "f4", ("frame", "cell_spatial"))
        for name in ("id", "type"):
            ds.createVariable(name, "i4", ("frame", "atom"))
        for name in ("coordinates", "velocities"):
            ds.createVariable(name, "f4", ("frame", "atom", "spatial"))
        ds["velocities"].units = "Angstrom/picosecond"
        for k, frame in enumerate(frames):
            ds["cell_lengths"][k] = frame.cell.diagonal()
            ds["cell_angles"][k] = [90, 90, 90]
            ds["cell_origin"][k] = frame.info["origin"]
            ds["id"][k] = np.arange(1, n + 1)
            ds["type"][k] = np.searchsorted([32, 51, 52], frame.numbers) + 1
            ds["coordinates"][k] = frame.positions + frame.info["origin"]
            ds["velocities"][k] = frame.velocities
    os.replace(path + ".part", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", required=True, help="LAMMPS text dump of the device cell")
    parser.add_argument("--xyz", default="/tmp/bench_readers.xyz", help="extended XYZ file (made if absent)")
    args = parser.parse_args()
    if not os.path.exists(args.xyz):
        _make_xyz(args.xyz)
    binary, netcdf = args.dump + ".bin", args.dump + ".nc"
    if not os.path.exists(binary):
        _make_binary(args.dump, binary)
    if not os.path.exists(netcdf):
        _make_netcdf(args.dump, netcdf)
    # compile the Numba kernels outside the clock
    _gstorder(args.xyz, None)
    rows = []
    gst = ["Ge", "Sb", "Te"]
    for path, fmt, species in ((args.dump, "lammps-dump-text", gst), (binary, "lammps-dump-binary", gst),
                               (netcdf, "netcdftrajectory", gst), (args.xyz, "extxyz", None)):
        index, times, ref = _gstorder(path, species)
        base = statistics.median(times)
        results = {"gstorder": (index, times, ref), "ASE": _ase(path, fmt, len(times))}
        ovito = _ovito(path)
        if ovito is not None:
            results["OVITO"] = ovito
        size = os.path.getsize(path) / len(times) / 1e6
        for name, (idx, ts, positions) in results.items():
            per = statistics.median(ts)
            diff = float(np.abs(positions - ref).max()) if positions.shape == ref.shape else float("nan")
            rows.append((os.path.basename(path), f"{len(ref):,}", f"{size:.0f}", name,
                         "—" if idx is None else f"{idx:.2f}", f"{per:.3f}", f"{per / base:.2f}", f"{diff:.1e}"))
        if ovito is None:
            print(f"OVITO not installed (pip install ovito): skipped on {path}")
    print("| file | atoms | MB per frame | reader | index (s) | s per frame | × gstorder | max abs position diff vs gstorder (Å) |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
