"""Full neighbour list with distance vectors: gstorder against ASE, vesin, matscipy and freud.

Rock-salt-like Ge1Sb2Te4 (a = 6.0 Å, 7 atoms per cubic cell after removing a
quarter of the cations at random) at 189, 12,096 and 530,964 atoms, cut-offs
3.2 and 5.5 Å. Every (code, size, cut-off) runs in its own subprocess: set-up
and a warm-up on a small cell happen outside the timed region; the first call
on the big cell gives the peak extra memory (ru_maxrss minus the resident set
before the call); the median of the following calls gives the time.

    python benchmarks/bench_neighbors.py            # all sizes (about 10 min)
    python benchmarks/bench_neighbors.py --quick    # skip 530,964 atoms
    python benchmarks/bench_neighbors.py --hardening [--timeout 60]

``--hardening`` times the cells the issue-12 hardening was about (tilted, near-singular) and a
7,200-atom frame with whatever gstorder is imported, each case in its own subprocess under a
timeout: run it once as is and once with ``PYTHONPATH`` pointing at a copy of the code before
the hardening (``git archive f7c9103^1``) for the two columns of docs/benchmarks.md.

Results: a Markdown table on stdout (copy into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

SIZES = {189: (3, 3, 3), 12096: (12, 12, 12), 530964: (42, 42, 43)}
CUTOFFS = (3.2, 5.5)
CODES = ("gstorder-2t", "gstorder-1t", "vesin", "matscipy", "freud", "ase")


def rocksalt_gst124(reps, seed=0):
    """Ge1Sb2Te4 on a rock-salt lattice, vacancies random on the cation sites."""
    from ase.build import bulk

    atoms = bulk("NaCl", "rocksalt", a=6.0, cubic=True).repeat(reps)
    numbers = atoms.numbers.copy()
    cations = np.random.default_rng(seed).permutation(np.nonzero(numbers == 11)[0])
    quarter = len(cations) // 4
    numbers[numbers == 17] = 52
    numbers[cations[:quarter]] = 32
    numbers[cations[quarter : 3 * quarter]] = 51
    atoms.numbers = numbers
    del atoms[cations[3 * quarter :]]
    return atoms


def rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_call(code, atoms, cutoff):
    """A zero-argument function computing i, j, d, D, S with ``code``."""
    if code.startswith("gstorder"):
        import numba

        from gstorder import as_frame, neighbors

        numba.set_num_threads(2 if code.endswith("2t") else 1)
        frame = as_frame(atoms)
        return lambda: neighbors.build(frame, cutoff)
    if code == "vesin":
        import vesin

        calc = vesin.NeighborList(cutoff=cutoff, full_list=True)
        points, box = atoms.positions, atoms.cell.array
        return lambda: calc.compute(points=points, box=box, periodic=True, quantities="ijSdD")
    if code == "matscipy":
        from matscipy.neighbours import neighbour_list

        return lambda: neighbour_list("ijdDS", atoms, cutoff)
    if code == "ase":
        from ase.neighborlist import neighbor_list

        return lambda: neighbor_list("ijdDS", atoms, cutoff)
    if code == "freud":
        import freud

        box = freud.box.Box.from_matrix(atoms.cell.array.T)
        points = box.wrap(atoms.positions - 0.5 * atoms.cell.array.sum(0))

        def run():
            nlist = freud.locality.AABBQuery(box, points).query(points, dict(r_max=cutoff, exclude_ii=True)).toNeighborList()
            return nlist.query_point_indices, nlist.point_indices, nlist.distances, nlist.vectors

        return run
    raise ValueError(code)


def n_pairs(result):
    if hasattr(result, "i"):
        return len(result.i)
    return len(result[0])


def worker(code, n_atoms, cutoff, repeats):
    warm = make_call(code, rocksalt_gst124((3, 3, 3)), cutoff)
    t0 = time.perf_counter()
    warm()
    first_small = time.perf_counter() - t0
    atoms = rocksalt_gst124(SIZES[n_atoms])
    call = make_call(code, atoms, cutoff)
    before = rss_mb()
    t0 = time.perf_counter()
    result = call()
    first = time.perf_counter() - t0
    peak = peak_mb() - before
    pairs = n_pairs(result)
    del result
    times = [first]
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - t0)
        del result
    median = float(np.median(times[1:] if repeats else times))
    print(json.dumps(dict(code=code, n=n_atoms, cutoff=cutoff, pairs=pairs, median_s=median, first_small_s=first_small, peak_mb=peak)))


#: The hardening cases (issue 12): name -> what the row says.
HARDENING = {
    "tilted-0": "6 atoms, cut-off 3 Å, cell a=(5,0,0), b=(t,5,0), c=(t,t,5), t = 0",
    "tilted-1000": "same, t = 1000 Å",
    "tilted-10000": "same, t = 10⁴ Å",
    "singular": "near-singular cell a=(5,0,0), b=(0,5,0), c=(5,5,1e-10), cut-off 3 Å",
    "frame-7200": "7,200-atom rock-salt GeTe (10 x 10 x 9 cells, a = 6.0 Å, rattled 0.1 Å), full list, 3.2 Å",
}


def hardening_case(case):
    """(atoms, cut-off) of a hardening case."""
    from ase import Atoms

    if case == "frame-7200":
        from gstorder import structures

        atoms = structures.rocksalt("GeTe", (10, 10, 9), a=6.0)
        atoms.rattle(0.1, seed=0)
        return atoms, 3.2
    if case == "singular":
        cell = [[5.0, 0, 0], [0, 5.0, 0], [5.0, 5.0, 1e-10]]
    else:
        t = float(case.split("-")[1])
        cell = [[5.0, 0, 0], [t, 5.0, 0], [t, t, 5.0]]
    atoms = Atoms("Ge3Te3", cell=cell, pbc=True)
    atoms.set_scaled_positions(np.random.default_rng(0).uniform(0, 1, (6, 3)))
    return atoms, 3.0


def hardening_worker(case):
    """Median seconds of neighbors.build on the case, or the error it raises (kernels warmed on the untilted cell and on
    3,584 atoms, past the 2,048-atom switch to the parallel kernels)."""
    import gstorder
    from gstorder import as_frame, neighbors

    warm, rc = hardening_case("tilted-0")
    neighbors.build(as_frame(warm), rc)
    neighbors.build(as_frame(rocksalt_gst124((8, 8, 8))), 3.2)
    atoms, rc = hardening_case(case)
    frame = as_frame(atoms)
    times, result = [], None
    while len(times) < 7 and sum(times) < 5.0:
        t0 = time.perf_counter()
        try:
            result = f"{len(neighbors.build(frame, rc).i):,} pairs"
        except Exception as exc:  # what the code does with the case is the result
            result = type(exc).__name__
        times.append(time.perf_counter() - t0)
    print(json.dumps(dict(case=case, median_s=float(np.median(times)), result=result, gstorder=os.path.dirname(gstorder.__file__))))


def hardening(timeout):
    rows = []
    for case, label in HARDENING.items():
        try:
            out = subprocess.run([sys.executable, __file__, "--worker", "hardening", case, "0"], capture_output=True,
                                 text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            rows.append((label, f"> {timeout:.0f} s (stopped)", "–"))
            continue
        if out.returncode:
            rows.append((label, "crashed", out.stderr.strip().splitlines()[-1][:80] if out.stderr.strip() else f"exit {out.returncode}"))
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        took = row["median_s"]
        rows.append((label, f"{1000 * took:.1f} ms" if took < 1 else f"{took:.1f} s", row["result"]))
        print(f"{case}: {rows[-1][1:]} ({row['gstorder']})", file=sys.stderr)
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; gstorder from "
          f"{os.path.dirname(__import__('gstorder').__file__)}; median of up to 7 calls (5 s at most), one process a case\n")
    print("| case | time | result |\n|---|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the 530,964-atom cell")
    parser.add_argument("--worker", nargs=3)
    parser.add_argument("--codes", default=",".join(CODES))
    parser.add_argument("--hardening", action="store_true", help="time the issue-12 cases (tilted, singular) instead")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a hardening case may take (default 60)")
    args = parser.parse_args()
    if args.worker and args.worker[0] == "hardening":
        hardening_worker(args.worker[1])
        return
    if args.hardening:
        hardening(args.timeout)
        return
    if args.worker:
        code, n, rc = args.worker
        n = int(n)
        repeats = 1 if (n > 100000 and code in ("ase", "matscipy")) else (3 if n > 100000 else 7 if n > 1000 else 50)
        worker(code, n, float(rc), repeats)
        return
    rows = []
    sizes = [s for s in SIZES if not (args.quick and s > 100000)]
    for n in sizes:
        for rc in CUTOFFS:
            for code in args.codes.split(","):
                out = subprocess.run([sys.executable, __file__, "--worker", code, str(n), str(rc)], capture_output=True, text=True)
                if out.returncode:
                    print(f"{code} {n} {rc} failed: {out.stderr[-500:]}", file=sys.stderr)
                    continue
                row = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(f"{code:12s} {n:7d} {rc:4.1f} Å  {row['pairs']:9d} pairs  {1000 * row['median_s']:9.2f} ms  peak +{row['peak_mb']:7.1f} MB", file=sys.stderr)
    import numba

    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, numba {numba.__version__}\n")
    print("| atoms | cut-off (Å) | pairs | code | median time (ms) | vs gstorder 2 threads | peak extra memory (MB) | first call, 189 atoms (s) |")
    print("|---:|---:|---:|---|---:|---:|---:|---:|")
    for n in sizes:
        for rc in CUTOFFS:
            group = [r for r in rows if r["n"] == n and r["cutoff"] == rc]
            ref = next((r["median_s"] for r in group if r["code"] == "gstorder-2t"), np.nan)
            for r in group:
                print(f"| {n:,} | {rc} | {r['pairs']:,} | {r['code']} | {1000 * r['median_s']:.2f} | {r['median_s'] / ref:.2f}x | {r['peak_mb']:.0f} | {r['first_small_s']:.2f} |")


if __name__ == "__main__":
    main()
