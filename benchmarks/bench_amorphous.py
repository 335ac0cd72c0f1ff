"""S(q), rings, cavities and the all-origin MSD at 12,096 atoms against their peers, and at device scale (issue 22).

Frames:

* ``amorphous``: the ab initio amorphous GeTe of ``../shared/extdata``
  (216 atoms, frame 0) repeated 2 × 4 × 7 into 12,096 atoms and rattled by
  0.02 Å (seed 0): an amorphous network of the size of the paper's
  12 × 12 × 12 model (its rings are 56 copies of the small cell's, shifted
  slightly by the rattle);
* ``device``: the paper's 532,980-atom trigonal Ge1Sb2Te4 cell
  (``structures.device_cell()``);
* ``walk``: 1,000 frames of 12,096 atoms on a Gaussian random walk
  (0.2 Å per coordinate and step, 10 fs apart, seed 0), wrapped into an
  18 Å cube, as ``gstorder.Frame`` objects in memory; the peers get the
  same unwrapped positions.

Tasks (peers in the same process and run):

* ``sq``: gstorder.structure_factor from the partial g(r) (neutron, Lorch,
  r_max = 8 Å by default, q to 12 Å⁻¹) at 12,096 atoms and on the device frame; its
  direct route (q to 6 Å⁻¹) against freud 3.4's StaticStructureFactorDirect
  (k_max 6 Å⁻¹) and StaticStructureFactorDebye (O(N²), k to 12 Å⁻¹) at 12,096 atoms;
* ``rings``: gstorder.rings (shortest-path, to 12 atoms) against matscipy
  1.3's Franzblau search (``neighbour_list``, ``distances_on_graph``,
  ``find_sp_rings`` with maxlength 13, i.e. what ``ring_statistics`` runs;
  its ``maxlength=`` wrapper overflows its own array once 13-rings exist) at
  12,096 atoms; gstorder alone on the device frame and on two structures of
  others in ``../shared/extdata`` (the 13,824-atom alpha-GeTe crystal and
  the 72,419-atom amorphous Ge2Sb2Te5 nanoparticle, whose atoms come in no
  spatial order);
* ``cavities``: gstorder.cavities (probe 2.8 Å, 0.2 Å grid) at 12,096
  atoms and on the device frame; at 12,096 atoms on a 0.4 Å grid against
  the SciPy way (cKDTree nearest-atom distance of every grid point with
  periodic boxsize, then ndimage.label with the periodic faces joined);
* ``msd``: gstorder.diffusion on the walk (unwrapping included) against
  MDAnalysis 2.11's EinsteinMSD(fft=True) on a MemoryReader universe and
  tidynamics.msd atom by atom, on the same unwrapped positions.

Each timed call runs after a warm-up (Numba kernels compiled or loaded from
cache; that first-call time is reported on its own); times are medians of
``--repeat`` calls (1 for the device frame and the slow peers). Peak extra
memory is VmHWM after resetting it through /proc/self/clear_refs minus the
resident set before the call. The load average before and after each task
is printed: the machine is shared.

    python benchmarks/bench_amorphous.py [--quick] [--repeat 3] [--tasks sq,rings,cavities,msd]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench_pipeline import hwm_reset, status_mb  # the peak-memory probes of the pipeline benchmark

ROOT = Path(__file__).resolve().parents[1]
AGETE = ROOT.parent / "shared" / "extdata" / "aGeTe_AIMD_300K_216at_400fr.extxyz"


def measure(call, repeat: int = 1):
    """(median seconds, peak extra MB of the first timed call, result of the last call)."""
    times, peak, out = [], float("nan"), None
    for k in range(repeat):
        before = status_mb("VmRSS")
        reset = hwm_reset()
        start = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - start)
        if k == 0 and reset:
            peak = status_mb("VmHWM") - before
    return float(np.median(times)), peak, out


def load() -> str:
    return os.getloadavg().__repr__() if hasattr(os, "getloadavg") else "n/a"


def row(*cells):
    print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


def amorphous_12k():
    from ase.io import read

    atoms = read(AGETE, index=0).repeat((2, 4, 7))
    atoms.rattle(0.02, seed=0)
    return atoms


def task_sq(repeat, quick, no_slow=False):
    import gstorder
    from gstorder import structure_factor

    atoms = amorphous_12k()
    frame = gstorder.as_frame(atoms)
    first = measure(lambda: structure_factor(gstorder.as_frame(amorphous_12k()[:216]), q_max=12.0))[0]
    print(f"\nS(q), load {load()}; first call (compile or cache load) {first:.2f} s\n")
    row("atoms", "code", "median (s)", "vs gstorder", "peak extra memory (MB)", "notes")
    row("---:", "---", "---:", "---:", "---:", "---")
    t, m, ours = measure(lambda: structure_factor(frame, q_max=12.0), repeat)
    row(f"{len(atoms):,}", "gstorder from g(r), q ≤ 12", f"{t:.3f}", "1.00x", f"{m:.0f}", f"main peak {float(ours.S.idxmax()):.2f} Å⁻¹")
    base = t
    t, m, direct = measure(lambda: structure_factor(frame, method="direct", q_max=6.0, dq=0.05), repeat)
    row(f"{len(atoms):,}", "gstorder direct, q ≤ 6", f"{t:.3f}", f"{t / base:.2f}x", f"{m:.0f}", f"{int(direct.n_k.sum()):,} ±k pairs")
    base_direct = t
    try:
        if no_slow:
            raise ImportError
        import freud

        box = freud.box.Box.from_matrix(atoms.cell.array.T)
        system = (box, box.wrap(atoms.positions))
        sf = freud.diffraction.StaticStructureFactorDirect(120, 6.0, 0.0)
        t, m, _ = measure(lambda: sf.compute(system), 1)
        row(f"{len(atoms):,}", "freud Direct, k ≤ 6", f"{t:.3f}", f"{t / base_direct:.2f}x vs direct", f"{m:.0f}",
            "part of each k shell only (non-negative octant)")
        debye = freud.diffraction.StaticStructureFactorDebye(240, 12.0, 0.05)
        t, m, _ = measure(lambda: debye.compute(system), 1)
        row(f"{len(atoms):,}", "freud Debye, k ≤ 12", f"{t:.3f}", f"{t / base:.2f}x", f"{m:.0f}", "O(N²) pairs")
    except ImportError:
        print("freud not run (not installed, or --no-slow-peers)")
    if not quick:
        device = gstorder.as_frame(gstorder.structures.device_cell())
        t, m, ds = measure(lambda: structure_factor(device, q_max=12.0), 1)
        row(f"{len(device):,}", "gstorder from g(r), q ≤ 12", f"{t:.3f}", "–", f"{m:.0f}", f"main peak {float(ds.S.idxmax()):.2f} Å⁻¹")
    print(f"\nload after: {load()}")


def task_rings(repeat, quick):
    import gstorder
    from gstorder import rings

    atoms = amorphous_12k()
    frame = gstorder.as_frame(atoms)
    first = measure(lambda: rings(gstorder.as_frame(amorphous_12k()[:216])))[0]
    print(f"\nRings to 12 atoms, load {load()}; first call {first:.2f} s\n")
    row("atoms", "code", "median (s)", "vs gstorder", "peak extra memory (MB)", "rings (3-12)")
    row("---:", "---", "---:", "---:", "---:", "---:")
    t, m, ds = measure(lambda: rings(frame, max_size=12), repeat)
    ours = ds["count"].values[0]
    row(f"{len(atoms):,}", "gstorder", f"{t:.3f}", "1.00x", f"{m:.0f}", f"{int(ours.sum()):,}")
    base = t
    try:
        from matscipy.ffi import distances_on_graph, find_sp_rings
        from matscipy.neighbours import neighbour_list

        def peer():
            i, j, r = neighbour_list("ijD", atoms, 3.2)
            return np.asarray(find_sp_rings(i, j, r, distances_on_graph(i, j), 13))

        t, m, theirs = measure(peer, 1)
        same = np.array_equal(theirs[3:13], ours)
        row(f"{len(atoms):,}", "matscipy", f"{t:.3f}", f"{t / base:.2f}x", f"{m:.0f}",
            f"{int(theirs[3:13].sum()):,} ({'equal' if same else 'DIFFERENT'})")
    except ImportError:
        print("matscipy not installed: its row is missing")
    if not quick:
        from ase.io import read

        extdata = ROOT.parent / "shared" / "extdata"
        for what, structure in (("alpha-GeTe crystal", lambda: read(extdata / "GeTe_alpha_13824at_altbc_POSCAR")),
                                ("a-GST225 nanoparticle", lambda: read(extdata / "aGST225_AET_asdep_nanoparticle_72419at.extxyz")),
                                ("device cell", gstorder.structures.device_cell)):
            other = gstorder.as_frame(structure())
            t, m, ds = measure(lambda: rings(other, max_size=12), repeat if len(other) < 100_000 else 1)
            row(f"{len(other):,} ({what})", "gstorder", f"{t:.2f}", "–", f"{m:.0f}",
                f"{int(ds['count'].values.sum()):,}; ABAB {float(ds.abab_fraction[0]):.0%} of atoms")
    print(f"\nload after: {load()}")


def _scipy_cavities(atoms, probe, spacing):
    from scipy import ndimage
    from scipy.spatial import cKDTree

    lengths = atoms.cell.lengths()
    shape = tuple(int(np.ceil(x / spacing - 1e-9)) for x in lengths)
    tree = cKDTree(atoms.positions % lengths, boxsize=lengths)
    axes = [(np.arange(n) + 0.5) * (x / n) for n, x in zip(shape, lengths)]
    free = np.empty(shape, dtype=bool)
    for i, x in enumerate(axes[0]):  # a plane at a time: bounded memory
        yz = np.stack(np.meshgrid(axes[1], axes[2], indexing="ij"), axis=-1).reshape(-1, 2)
        d, _ = tree.query(np.c_[np.full(len(yz), x), yz], distance_upper_bound=probe + 1e-9)
        free[i] = (d > probe).reshape(shape[1:])
    labels, n = ndimage.label(free)
    parent = np.arange(n + 1)

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for axis in range(3):
        for x, y in zip(np.take(labels, 0, axis=axis).ravel(), np.take(labels, -1, axis=axis).ravel()):
            if x and y:
                parent[find(x)] = find(y)
    return free.mean(), len({find(x) for x in range(1, n + 1)})


def task_cavities(repeat, quick):
    import gstorder
    from gstorder import cavities

    atoms = amorphous_12k()
    frame = gstorder.as_frame(atoms)
    first = measure(lambda: cavities(gstorder.as_frame(amorphous_12k()[:216])))[0]
    print(f"\nCavities (probe 2.8 Å), load {load()}; first call {first:.2f} s\n")
    row("atoms", "code", "grid (Å)", "median (s)", "vs gstorder", "peak extra memory (MB)", "volume fraction, cavities")
    row("---:", "---", "---:", "---:", "---:", "---:", "---")
    for spacing in (0.2, 0.4):
        t, m, ds = measure(lambda: cavities(frame, spacing=spacing), repeat)
        row(f"{len(atoms):,}", "gstorder", spacing, f"{t:.3f}", "1.00x", f"{m:.0f}",
            f"{float(ds.volume_fraction[0]):.4f}, {int(ds.n_cavities[0])}")
    t2, m2, (fraction, n) = measure(lambda: _scipy_cavities(atoms, 2.8, 0.4), 1)
    row(f"{len(atoms):,}", "SciPy cKDTree + ndimage.label", 0.4, f"{t2:.3f}", f"{t2 / t:.2f}x", f"{m2:.0f}",
        f"{fraction:.4f}, {n}")
    if not quick:
        device = gstorder.as_frame(gstorder.structures.device_cell())
        t, m, ds = measure(lambda: cavities(device), 1)
        row(f"{len(device):,}", "gstorder", 0.2, f"{t:.2f}", "–", f"{m:.0f}",
            f"{float(ds.volume_fraction[0]):.4f}, {int(ds.n_cavities[0])}")
    print(f"\nload after: {load()}")


def task_msd(repeat, quick):
    import gstorder
    from gstorder import diffusion
    from gstorder.frames import Frame

    n_atoms, n_frames = 12096, (200 if quick else 1000)
    rng = np.random.default_rng(0)
    cell = np.eye(3) * 18.0
    path = (rng.uniform(0, 18, (n_atoms, 3)) + np.cumsum(rng.normal(0, 0.2, (n_frames, n_atoms, 3)), axis=0)).astype(np.float32)
    path = path.astype(np.float64)  # exact in MDAnalysis' single precision too
    numbers = np.resize([32, 51, 52, 52], n_atoms)
    frames = [Frame(positions=p % 18.0, numbers=numbers, cell=cell, pbc=True, time=0.01 * k) for k, p in enumerate(path)]
    first = measure(lambda: diffusion(frames[:40]))[0]
    print(f"\nAll-origin MSD, {n_frames} frames of {n_atoms:,} atoms, load {load()}; first call {first:.2f} s\n")
    row("code", "median (s)", "vs gstorder", "peak extra memory (MB)", "max |MSD - gstorder| (Å²)")
    row("---", "---:", "---:", "---:", "---:")
    t, m, ds = measure(lambda: diffusion(frames), repeat)
    ours = ds.msd.sel(species="all").values
    row("gstorder.diffusion (unwrapping, per species, D)", f"{t:.2f}", "1.00x", f"{m:.0f}", "0")
    try:
        import MDAnalysis as mda
        from MDAnalysis.analysis.msd import EinsteinMSD
        from MDAnalysis.coordinates.memory import MemoryReader

        def peer():
            universe = mda.Universe.empty(n_atoms, trajectory=True)
            universe.load_new(path, format=MemoryReader)
            return EinsteinMSD(universe, select="all", msd_type="xyz", fft=True).run().results.timeseries

        t2, m2, theirs = measure(peer, 1)
        row("MDAnalysis EinsteinMSD(fft=True)", f"{t2:.2f}", f"{t2 / t:.2f}x", f"{m2:.0f}", f"{np.abs(theirs - ours).max():.1e}")
    except ImportError:
        print("MDAnalysis not installed: its row is missing")
    try:
        import tidynamics

        t3, m3, theirs = measure(lambda: np.mean([tidynamics.msd(path[:, k]) for k in range(n_atoms)], axis=0), 1)
        row("tidynamics.msd, atom by atom", f"{t3:.2f}", f"{t3 / t:.2f}x", f"{m3:.0f}", f"{np.abs(theirs - ours).max():.1e}")
    except ImportError:
        print("tidynamics not installed: its row is missing")
    print(f"\nload after: {load()}")


TASKS = {"sq": task_sq, "rings": task_rings, "cavities": task_cavities, "msd": task_msd}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12,096 atoms only (no device frame); 200 walk frames")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--no-slow-peers", action="store_true", help="leave out freud's S(q) (minutes at 12,096 atoms)")
    args = parser.parse_args(argv)
    import gstorder
    import numba

    print(f"gstorder {gstorder.__version__} from {Path(gstorder.__file__).parent}, numba threads {numba.get_num_threads()}, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    for name in args.tasks.split(","):
        if name == "sq":
            task_sq(args.repeat, args.quick, args.no_slow_peers)
        else:
            TASKS[name](args.repeat, args.quick)


if __name__ == "__main__":
    main()
