"""q4/q6 + solid bonds + clusters on one frame: gstorder (Numba, shared neighbour list) against freud and pyscal3.

The work, the same for every code: Steinhardt q4 and q6 of every atom, the
ten Wolde–Frenkel solid bonds (l = 4, coherence > 0.7, solid with ≥ 3 such
bonds) and the clusters of solid atoms, all on the full neighbour list within
3.2 Å.

* gstorder: ``BondOrder`` (q_lm, q_l), ``BondOrder.solid`` and
  ``nucleation.label_clusters`` on gstorder's neighbour list — the kernels
  the ``steinhardt`` and ``clusters`` analyses run; and, end to end,
  ``gstorder.analyze(frame, ["steinhardt", "clusters"])`` (search included,
  per-atom results kept).
* freud 3.4 on the *same* neighbour list (``NeighborList.from_arrays``, its
  construction timed on its own): ``order.Steinhardt([4, 6])``,
  ``order.SolidLiquid(4, 0.7, 3)`` (solid bonds) and ``cluster.Cluster`` on
  the pairs of solid atoms.
* pyscal3 (if importable): ``find_neighbors(method="cutoff", cutoff=3.2)``
  (its own search: the same pairs), ``steinhardt_parameter([4, 6])``,
  ``find_solids(bonds=3, threshold=0.7, q=4, cluster=True)``.

Set-up (frame, neighbour list) is outside the timed regions; every kernel is
warmed on a small frame first (compile time reported on its own). Frames:
``--frame rocksalt`` (a 12,096-atom rock-salt Ge1Sb2Te4, rattled 0.1 Å,
default) or ``--frame device`` (the paper's 532,980-atom trigonal Ge1Sb2Te4
device cell, ``structures.device_cell()``, rattled 0.1 Å). Prints a Markdown
table of median wall seconds and ratios; progress on stderr.

    python benchmarks/bench_order.py --repeat 3
    python benchmarks/bench_order.py --frame device --repeat 1
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numba
import numpy as np


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def make_frame(kind: str):
    from gstorder import structures

    atoms = structures.device_cell() if kind == "device" else structures.rocksalt("Ge1Sb2Te4", 12, seed=1)
    atoms.rattle(0.1, seed=2)
    return atoms


def gstorder_steps(frame, nl):
    """q4/q6, solid bonds and clusters from gstorder's kernels on a ready neighbour list; returns stage times."""
    from gstorder.nucleation import label_clusters
    from gstorder.order import BondOrder

    t0 = time.perf_counter()
    bonds = BondOrder(len(frame), (4, 6))
    bonds.add(nl)
    q, _, norm = bonds.invariants(bonds.qlm, False, False)
    t1 = time.perf_counter()
    counts, solid = bonds.solid(4, 0.7, 3, norm)
    t2 = time.perf_counter()
    label, sizes = label_clusters(len(frame), bonds.blocks, solid, 1)
    t3 = time.perf_counter()
    return {"q4/q6": t1 - t0, "solid bonds": t2 - t1, "clusters": t3 - t2, "total": t3 - t0}, (q, counts, sizes)


def freud_steps(frame, nl):
    import freud

    t0 = time.perf_counter()
    fnl = freud.locality.NeighborList.from_arrays(len(frame), len(frame), nl.i, nl.j, nl.vectors)
    box = freud.box.Box.from_matrix(frame.cell.T)
    points = box.wrap(frame.positions)
    t1 = time.perf_counter()
    st = freud.order.Steinhardt([4, 6])
    st.compute((box, points), neighbors=fnl)
    t2 = time.perf_counter()
    sl = freud.order.SolidLiquid(4, 0.7, 3)
    sl.compute((box, points), neighbors=fnl)
    t3 = time.perf_counter()
    solid = sl.num_connections >= 3
    pairs = fnl.filter(solid[fnl.query_point_indices] & solid[fnl.point_indices])
    cl = freud.cluster.Cluster()
    cl.compute((box, points), neighbors=pairs)
    t4 = time.perf_counter()
    return {"neighbour list in": t1 - t0, "q4/q6": t2 - t1, "solid bonds": t3 - t2, "clusters": t4 - t3,
            "total": t4 - t1}, (st.particle_order, sl.num_connections, cl.cluster_idx)


def pyscal_steps(atoms):
    import pyscal3

    atoms = atoms.copy()
    t0 = time.perf_counter()
    pyscal3.find_neighbors(atoms, method="cutoff", cutoff=3.2)
    t1 = time.perf_counter()
    q = pyscal3.steinhardt_parameter(atoms, l=[4, 6])
    t2 = time.perf_counter()
    largest = pyscal3.find_solids(atoms, bonds=3, threshold=0.7, q=4, cluster=True)
    t3 = time.perf_counter()
    return {"its own search": t1 - t0, "q4/q6": t2 - t1, "solid bonds + clusters": t3 - t2, "total": t3 - t1}, (q, largest)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frame", choices=("rocksalt", "device"), default="rocksalt")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pyscal", action="store_true", help="leave pyscal3 out (it is slow on the device frame)")
    args = parser.parse_args(argv)

    import gstorder
    from gstorder import neighbors, structures

    log("warming the kernels")
    t = time.perf_counter()
    small = gstorder.as_frame(structures.rocksalt("Ge1Sb2Te4", 3, seed=1))
    gstorder_steps(small, neighbors.build(small, 3.2))
    big = gstorder.as_frame(structures.rocksalt("Ge1Sb2Te4", 4, seed=1))  # past the switch to the threaded kernels
    gstorder_steps(big, neighbors.build(big, 3.2, parallel=True))
    gstorder.analyze(big, ["steinhardt", "clusters"])
    warm = time.perf_counter() - t

    log(f"building the {args.frame} frame")
    atoms = make_frame(args.frame)
    frame = gstorder.as_frame(atoms)
    t = time.perf_counter()
    nl = neighbors.build(frame, 3.2)
    search = time.perf_counter() - t
    log(f"{len(frame)} atoms, {len(nl)} pairs; search {search:.3f} s")

    runs = {"gstorder": [], "freud": [], "pyscal3": [], "analyze": []}
    results = {}
    for r in range(args.repeat):
        log(f"repeat {r + 1}/{args.repeat}")
        times, results["gstorder"] = gstorder_steps(frame, nl)
        runs["gstorder"].append(times)
        times, results["freud"] = freud_steps(frame, nl)
        runs["freud"].append(times)
        t = time.perf_counter()
        tree = gstorder.analyze(atoms, ["steinhardt", "clusters"])
        runs["analyze"].append({"total": time.perf_counter() - t})
        if not args.no_pyscal:
            try:
                times, results["pyscal3"] = pyscal_steps(atoms)
                runs["pyscal3"].append(times)
            except ImportError:
                log("pyscal3 is not importable: left out")
    # the codes agree (q4 to float32, the solid-bond counts exactly)
    q_g, counts_g, sizes_g = results["gstorder"]
    q_f, counts_f, idx_f = results["freud"]
    q_diff = float(np.nanmax(np.abs(q_g - q_f)))  # freud's harmonics are float32
    agree = bool((counts_g == counts_f).all()) and int(sizes_g[0]) == int(np.bincount(idx_f[counts_f >= 3]).max())
    median = {code: {k: statistics.median(t[k] for t in ts) for k in ts[0]} for code, ts in runs.items() if ts}
    total_g = median["gstorder"]["total"]
    print(f"## q4/q6 + solid bonds + clusters: {args.frame} frame, {len(frame):,} atoms, {len(nl):,} pairs (3.2 Å)\n")
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Numba threads "
          f"{numba.get_num_threads()}; median of {args.repeat}; kernels warmed first ({warm:.1f} s, compile included). "
          f"gstorder's neighbour search alone: {search:.3f} s. Solid-bond counts and largest cluster equal to freud's: "
          f"{agree}; q4/q6 differ from freud's (float32) by at most {q_diff:.1e}.\n")
    print("| code | step | wall s | × gstorder total |")
    print("|---|---|---:|---:|")
    for code, steps in median.items():
        for step, value in steps.items():
            print(f"| {code} | {step} | {value:.3f} | {value / total_g:.2f} |")
    if "analyze" in median:
        print(f"\n`gstorder.analyze(frame, ['steinhardt', 'clusters'])` end to end (search and per-atom results included): "
              f"{median['analyze']['total']:.3f} s; nuclei: largest {int(tree['clusters'].largest[0])} atoms.")


if __name__ == "__main__":
    main()
