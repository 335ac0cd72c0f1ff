"""Local-structure analyses: gstorder's rdf, adf, bond_motifs and altbc against freud, ASE and altbc-analyzer.

Same rock-salt-like Ge1Sb2Te4 as ``bench_neighbors.py`` (a = 6.0 Å, a quarter
of the cation sites vacant at random), every atom rattled by a Gaussian of
0.1 Å (seeded) and wrapped back into the cell, at 12,096, 96,768 and 530,964
atoms. Every (analysis, code, size) runs in its own subprocess: set-up and a
warm-up call on a 189-atom cell (compilation or loading of Numba's on-disk
cache) happen outside the timed region; the first call on the big cell gives
the peak extra memory (ru_maxrss minus the resident set before the call); the
median of the following calls gives the time. The slow pure-Python peers run
once on the big cells, under a timeout (ASE 300 s, altbc-analyzer 400 s).

1. RDF, r_max = 8 Å, 200 bins: gstorder (2 and 1 threads), freud, ASE.
2. ALTBC, 2.5-4.0 Å, 25°, 0.02 Å bins: gstorder (2 and 1 threads) at all
   sizes, altbc-analyzer (PyPI) at 12,096 and 96,768 atoms only, and the
   number of ordered collinear triplets each finds at 12,096 atoms, checked
   against an independent count from matscipy's full neighbour list.
3. gstorder on one 530,964-atom frame, 2 threads: rdf, adf, bond_motifs, altbc.

    python benchmarks/bench_local_structure.py            # all sizes (about 20 min)
    python benchmarks/bench_local_structure.py --quick    # 12,096 atoms only (about 1 min)

Results: Markdown tables on stdout (progress on stderr).
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_neighbors import peak_mb, rocksalt_gst124, rss_mb  # noqa: E402

SIZES = {12096: (12, 12, 12), 96768: (24, 24, 24), 530964: (42, 42, 43)}
WARM = (3, 3, 3)  # 189 atoms
RATTLE = 0.1  # Å
RDF = dict(r_max=8.0, bins=200)
ALTBC = dict(r_min=2.5, r_max=4.0, angle_tolerance=25.0, bin_width=0.02)
TIMEOUT = {"ase": 300, "altbc-analyzer": 400}
DEFAULT_TIMEOUT = 900
# The timings assume an otherwise idle machine: a task during which other processes used more than BUSY cores
# (from /proc/stat less this script's own children) runs again, up to RETRIES times, unless it took over a minute;
# rows still affected are marked † in the tables.
BUSY, RETRIES = 0.2, 1
# altbc-analyzer scans the whole pair list for every triplet, so its time grows as N^2 for large N; an earlier
# measurement suggested N^2.3. Used only for the labelled extrapolation to 530,964 atoms, which is not run.
EXPONENTS = (2.0, 2.3)

# (analysis, code, atoms), cheap first; --quick keeps the 12,096-atom ones
TASKS = (
    [("rdf", c, 12096) for c in ("gstorder-2t", "gstorder-1t", "freud", "ase")]
    + [("altbc", c, 12096) for c in ("gstorder-2t", "gstorder-1t", "altbc-analyzer")]
    + [("triplets", "matscipy", 12096)]
    + [(a, c, 12096) for a in ("adf", "bond_motifs") for c in ("gstorder-2t", "gstorder-1t")]
    + [("altbc", c, 96768) for c in ("gstorder-2t", "gstorder-1t")]
    + [("rdf", c, 530964) for c in ("gstorder-2t", "gstorder-1t", "freud")]
    + [("altbc", c, 530964) for c in ("gstorder-2t", "gstorder-1t")]
    + [(a, c, 530964) for a in ("adf", "bond_motifs") for c in ("gstorder-2t", "gstorder-1t")]
    + [("altbc", "altbc-analyzer", 96768), ("rdf", "ase", 530964)]
)


def structure(reps, seed=0):
    """Rock-salt Ge1Sb2Te4 of bench_neighbors, rattled by 0.1 Å and wrapped into the cell."""
    atoms = rocksalt_gst124(reps, seed=seed)
    atoms.rattle(stdev=RATTLE, seed=seed + 1)
    atoms.wrap()
    return atoms


def make_call(analysis, code, atoms):
    """A zero-argument function running ``analysis`` with ``code``, and a function summarising its result."""
    if code.startswith("gstorder"):
        import gstorder

        frame = gstorder.as_frame(atoms)
        if analysis == "rdf":
            return (lambda: gstorder.rdf(frame, **RDF)), lambda ds: dict(
                g=ds.g.sel(pair="total").values.tolist(), cn=float(ds.coordination_total[-1]))
        if analysis == "altbc":
            return (lambda: gstorder.altbc(frame, **ALTBC)), lambda p: dict(
                triplets=2 * int(p.attrs["n_collinear"]), ratio=float(p.attrs["long_short_ratio"]))
        if analysis == "adf":
            return (lambda: gstorder.adf(frame)), lambda ds: dict(angles=int(ds["count"].sel(center="all")))
        if analysis == "bond_motifs":
            return (lambda: gstorder.bond_motifs(frame)), lambda ds: dict(
                tetrahedral=float(ds.tetrahedral_fraction[0]), homopolar=float(ds.homopolar_fraction[0]))
    if code == "freud" and analysis == "rdf":
        import freud

        box = freud.box.Box.from_matrix(atoms.cell.array.T)
        points = box.wrap(atoms.positions - 0.5 * atoms.cell.array.sum(0))
        rdf = freud.density.RDF(RDF["bins"], RDF["r_max"])
        return (lambda: rdf.compute(system=(box, points), reset=True)), lambda r: dict(
            g=np.asarray(r.rdf).tolist(), cn=float(r.n_r[-1]))
    if code == "ase" and analysis == "rdf":
        from ase.geometry.rdf import get_rdf

        return (lambda: get_rdf(atoms, RDF["r_max"], RDF["bins"])), lambda r: dict(g=np.asarray(r[0]).tolist())
    if code == "altbc-analyzer" and analysis == "altbc":
        from altbc_analyzer import ALTBC_Analyzer

        analyzer = ALTBC_Analyzer(cutoff=ALTBC["r_max"], theta_min=180.0 - ALTBC["angle_tolerance"], theta_max=180.0)
        edges = np.arange(ALTBC["r_min"], ALTBC["r_max"] + 1e-9, ALTBC["bin_width"])

        def run():  # unbinned triplets; bin them on gstorder's grid so both give the same product
            df = analyzer.compute_altbc(atoms)
            hist = np.histogram2d(df["AB"].to_numpy(), df["BC"].to_numpy(), bins=(edges, edges))[0] if len(df) else None
            return df, hist

        return run, lambda r: dict(triplets=len(r[0]))
    raise ValueError(f"{analysis} with {code}")


def count_triplets(atoms):
    """Ordered collinear triplets j-i-k from matscipy's full list: all, and only those with j, k > i (a half list)."""
    from matscipy.neighbours import neighbour_list

    i, j, d, D = neighbour_list("ijdD", atoms, ALTBC["r_max"])
    keep = d >= ALTBC["r_min"]
    i, j, u = i[keep], j[keep], D[keep] / d[keep, None]
    cos_max = np.cos(np.radians(180.0 - ALTBC["angle_tolerance"]))
    starts = np.searchsorted(i, np.arange(len(atoms) + 1))  # matscipy sorts by i
    full = half = 0
    for c in range(len(atoms)):
        s, e = starts[c], starts[c + 1]
        a, b = np.nonzero(u[s:e] @ u[s:e].T <= cos_max)  # a == b gives cos = 1, never counted
        full += len(a)
        half += int(np.count_nonzero((j[s:e][a] > c) & (j[s:e][b] > c)))
    return dict(triplets=full, half_list_triplets=half)


def worker(analysis, code, n_atoms, repeats):
    import gstorder

    if analysis == "triplets":
        t0 = time.perf_counter()
        out = count_triplets(structure(SIZES[n_atoms]))
        print(json.dumps(dict(analysis=analysis, code=code, n=n_atoms, status="ok", median_s=time.perf_counter() - t0, **out)))
        return
    n_threads = 1 if code.endswith("-1t") else 2 if code.endswith("-2t") else None
    with gstorder.threads(n_threads):
        warm, _ = make_call(analysis, code, structure(WARM))
        t0 = time.perf_counter()
        warm()
        first_small = time.perf_counter() - t0
        del warm
        call, summarise = make_call(analysis, code, structure(SIZES[n_atoms]))
        before = rss_mb()
        t0 = time.perf_counter()
        result = call()
        first = time.perf_counter() - t0
        peak = peak_mb() - before
        summary = summarise(result)
        del result
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = call()
            times.append(time.perf_counter() - t0)
            del result
    median = float(np.median(times)) if times else first
    print(json.dumps(dict(analysis=analysis, code=code, n=n_atoms, status="ok", median_s=median, first_s=first,
                          first_small_s=first_small, peak_mb=peak, repeats=len(times), **summary)))


def repeats_for(code, n_atoms):
    if code in ("ase", "altbc-analyzer"):
        return 2 if n_atoms < 20000 else 0
    return 7 if n_atoms < 200000 else 3


def run_task(analysis, code, n_atoms):
    timeout = TIMEOUT.get(code, DEFAULT_TIMEOUT)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", analysis, code, str(n_atoms)]
    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # subprocess.run has killed the worker
        return dict(analysis=analysis, code=code, n=n_atoms, status=f"timeout >{timeout} s")
    if out.returncode:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        print(f"{analysis} {code} {n_atoms} failed after {time.perf_counter() - t0:.0f} s:\n{out.stderr[-2000:]}", file=sys.stderr)
        return dict(analysis=analysis, code=code, n=n_atoms, status=f"failed ({last[:80]})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def busy_cpu_s():
    """CPU seconds the whole machine has spent busy since boot (all processes, from /proc/stat)."""
    with open("/proc/stat") as fh:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fh.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_s():
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def fmt_s(row):
    mark = " †" if row.get("others", 0.0) > BUSY else ""
    return (f"{row['median_s']:.3f}" if row["status"] == "ok" else row["status"]) + mark


def ratio(row, ref):
    return f"{row['median_s'] / ref['median_s']:.2f}x" if row["status"] == "ok" and ref and ref["status"] == "ok" else "–"


def num(row, key, spec):
    return format(row[key], spec) if row.get("status") == "ok" and row.get(key) is not None else "–"


def find(rows, analysis, code, n):
    return next((r for r in rows if (r["analysis"], r["code"], r["n"]) == (analysis, code, n)), None)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def versions():
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in ("numba", "numpy", "freud-analysis", "ase", "altbc-analyzer", "matscipy"):
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} not installed")
    return ", ".join(out)


def report(rows, sizes):
    others = max(r["others"] for r in rows)
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{versions()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}; "
          f"other processes used at most {others:.2f} cores during any task (†: more than {BUSY} cores)\n")

    print("### RDF, r_max = 8 Å, 200 bins\n")
    print("| atoms | code | median time (s) | vs gstorder 2 threads | peak extra memory (MB) | first call, 189 atoms (s) "
          "| first call, this cell (s) | neighbours within 8 Å | max abs(g − g_gstorder) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        ref = find(rows, "rdf", "gstorder-2t", n)
        for code in ("gstorder-2t", "gstorder-1t", "freud", "ase"):
            r = find(rows, "rdf", code, n)
            if r is None:  # no RDF at 96,768 atoms
                continue
            dg = "–"
            if r["status"] == "ok" and ref and ref["status"] == "ok":
                dg = f"{np.max(np.abs(np.array(r['g']) - np.array(ref['g']))):.1e}"
            print(f"| {n:,} | {code} | {fmt_s(r)} | {ratio(r, ref)} | {num(r, 'peak_mb', '.0f')} | {num(r, 'first_small_s', '.2f')} "
                  f"| {num(r, 'first_s', '.3f')} | {num(r, 'cn', '.3f')} | {dg} |")

    print("\n### ALTBC, 2.5–4.0 Å, 25°, 0.02 Å bins\n")
    print("| atoms | code | median time (s) | µs per atom | vs gstorder 2 threads | peak extra memory (MB) "
          "| first call, 189 atoms (s) | ordered collinear triplets |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    ext = None
    for n in sizes:
        ref = find(rows, "altbc", "gstorder-2t", n)
        for code in ("gstorder-2t", "gstorder-1t", "altbc-analyzer"):
            r = find(rows, "altbc", code, n)
            if r is None:
                continue
            per_atom = f"{1e6 * r['median_s'] / n:.2f}" if r["status"] == "ok" else "–"
            print(f"| {n:,} | {code} | {fmt_s(r)} | {per_atom} | {ratio(r, ref)} | {num(r, 'peak_mb', '.0f')} "
                  f"| {num(r, 'first_small_s', '.2f')} | {num(r, 'triplets', ',')} |")
    a12, a96 = find(rows, "altbc", "altbc-analyzer", 12096), find(rows, "altbc", "altbc-analyzer", 96768)
    if 530964 in sizes and a96 and a96["status"] == "ok":
        lo, hi = (a96["median_s"] * (530964 / 96768) ** e for e in EXPONENTS)
        ref = find(rows, "altbc", "gstorder-2t", 530964)
        vs = f"≈{lo / ref['median_s']:,.0f}–{hi / ref['median_s']:,.0f}x" if ref and ref["status"] == "ok" else "–"
        print(f"| 530,964 | altbc-analyzer, **extrapolated, not run**: 96,768-atom time × (530,964/96,768)^p, "
              f"p = {EXPONENTS[0]}–{EXPONENTS[1]} | ≈{lo:,.0f}–{hi:,.0f} | – | {vs} | – | – | – |")
    if a12 and a96 and a12["status"] == "ok" and a96["status"] == "ok":
        print(f"\naltbc-analyzer measured growth 12,096 → 96,768 atoms: "
              f"N^{np.log(a96['median_s'] / a12['median_s']) / np.log(96768 / 12096):.2f}")
    chk = find(rows, "triplets", "matscipy", 12096)
    if chk and chk["status"] == "ok":
        print(f"\nIndependent count at 12,096 atoms (matscipy full list, NumPy angles): {chk['triplets']:,} ordered collinear "
              f"triplets; {chk['half_list_triplets']:,} of them have both neighbours of higher index than the centre "
              f"(what a half list j > i can see).")

    big = max(sizes)
    print(f"\n### gstorder on one {big:,}-atom frame\n")
    print("| analysis | settings | median, 2 threads (s) | median, 1 thread (s) | first call, this cell, 2 threads (s) "
          "| first call, 189 atoms (s) | peak extra memory, 2 threads (MB) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    settings = dict(rdf="r_max 8 Å, 200 bins", adf="cut-off 3.2 Å, 180 bins", bond_motifs="cut-off 3.2 Å",
                    altbc="2.5–4.0 Å, 25°, 0.02 Å")
    total2 = total1 = 0.0
    for analysis in ("rdf", "adf", "bond_motifs", "altbc"):
        r2, r1 = find(rows, analysis, "gstorder-2t", big), find(rows, analysis, "gstorder-1t", big)
        if r2 is None:
            continue
        total2 += r2["median_s"] if r2["status"] == "ok" else np.nan
        total1 += r1["median_s"] if r1 and r1["status"] == "ok" else np.nan
        print(f"| {analysis} | {settings[analysis]} | {fmt_s(r2)} | {fmt_s(r1) if r1 else '–'} | {num(r2, 'first_s', '.3f')} "
              f"| {num(r2, 'first_small_s', '.2f')} | {num(r2, 'peak_mb', '.0f')} |")
    print(f"| **all four** | | **{total2:.2f}** | **{total1:.2f}** | | | |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="12,096 atoms only (skip 96,768 and 530,964)")
    parser.add_argument("--worker", nargs=3, metavar=("ANALYSIS", "CODE", "ATOMS"))
    parser.add_argument("--json", help="also write the raw rows to this file")
    args = parser.parse_args()
    if args.worker:
        analysis, code, n = args.worker
        worker(analysis, code, int(n), repeats_for(code, int(n)))
        return
    sizes = [s for s in SIZES if not (args.quick and s > 20000)]
    rows = []
    start = time.perf_counter()
    for analysis, code, n in TASKS:
        if n not in sizes:
            continue
        tries = []
        for attempt in range(1 + RETRIES):
            t0, busy0, own0 = time.perf_counter(), busy_cpu_s(), children_cpu_s()
            row = run_task(analysis, code, n)
            wall = time.perf_counter() - t0
            row["others"] = max(0.0, (busy_cpu_s() - busy0) - (children_cpu_s() - own0)) / wall  # cores used by others
            tries.append(row)
            print(f"{analysis:12s} {code:15s} {n:7d}  {fmt_s(row):>22s} s  (wall {wall:6.1f} s, total "
                  f"{time.perf_counter() - start:6.0f} s, other processes {row['others']:.2f} cores)", file=sys.stderr)
            if row["others"] <= BUSY or wall > 60 or attempt == RETRIES:
                break
            print("  other processes competed for the cores: trying again in 10 s", file=sys.stderr)
            time.sleep(10)
        rows.append(min(tries, key=lambda r: r["others"]))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    report(rows, sizes)


if __name__ == "__main__":
    main()
