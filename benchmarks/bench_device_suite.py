"""The whole default suite per device frame, stage by stage, and the one pass on dask: 1 worker against 2 (issue 23).

The data: a LAMMPS text dump of the paper's 532,980-atom trigonal Ge1Sb2Te4
device cell with velocities, written by ``bench_pipeline.py --make-dump``
(each frame the previous one rattled; types 1 = Ge, 2 = Sb, 3 = Te; 2 fs).

Tasks, each in a fresh subprocess (so that warm-ups and peaks are separate):

* ``suite``: ``gstorder.analyze(dump, ANALYSES)`` in this process (2 Numba
  threads) after a warm-up on a small cell, stage by stage from the run's
  own clock (``tree.attrs["compute_seconds"]``, as the report shows it:
  each analysis' work on the frames, the reading and the shared neighbour
  searches; the stages add up to the wall time less the setup and the
  assembly of the results). ``--analyses``:
  ``default`` or ``all`` (what ``gstorder analyze FILE`` runs: every
  analysis the frames allow), ``paper`` (the paper's: rdf, adf, motifs,
  altbc, kbar, temperature, layers, density) or names.
* ``scaling``: the same one pass over every frame of the dump, as frames per
  second: in process on 2 and on 1 Numba thread(s), and on a local dask
  cluster of 1 worker and of 2 workers, one core each (NUMBA_NUM_THREADS=1
  in the subprocess and its workers). "Per core" compares 1 worker with the
  1-thread in-process run; "2 vs 1 worker" is the scaling.

Peak memory: VmHWM of the subprocess (dask workers: not included; each
holds one frame at a time).

    python benchmarks/bench_pipeline.py --make-dump /tmp/device4.lammpstrj --frames 4
    python benchmarks/bench_device_suite.py suite --dump /tmp/device4.lammpstrj [--frames 2] [--analyses default]
    python benchmarks/bench_device_suite.py scaling --dump /tmp/device4.lammpstrj [--analyses paper]

Results: Markdown on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from bench_pipeline import status_mb  # the peak-memory probe of the pipeline benchmark

SPECIES = {1: "Ge", 2: "Sb", 3: "Te"}
TIMESTEP_FS = 2.0
PAPER = ["rdf", "adf", "motifs", "altbc", "kbar", "temperature", "layers", "density"]


def peak_mb() -> float:
    return status_mb("VmHWM")


def chosen(names: str):
    if names in ("default", "all"):
        return "all"  # what `gstorder analyze FILE` runs: every analysis the frames allow
    return PAPER if names == "paper" else names.split(",")


def warm_up(analyses) -> float:
    """Compile (or load) the kernels on a 3,584-atom cell with velocities, outside the clock."""
    import numpy as np

    import gstorder
    from gstorder import structures

    atoms = structures.rocksalt("Ge1Sb2Te4", 8, seed=0)
    atoms.set_velocities(np.random.default_rng(0).normal(0, 0.01, (len(atoms), 3)))
    frames = []
    for k in range(3):
        a = atoms.copy()
        a.rattle(0.05, seed=k)
        frames.append(a)
    t0 = time.perf_counter()
    gstorder.analyze(frames, analyses, timestep_fs=TIMESTEP_FS, show_progress=False)
    return time.perf_counter() - t0


def run_suite(dump: str, names: str, n_frames: int | None) -> dict:
    """One in-process pass, stage by stage from the run's own clock."""
    import ast

    import gstorder

    analyses = chosen(names)
    warm = warm_up(analyses)
    index = None if n_frames is None else slice(0, n_frames)
    t0 = time.perf_counter()
    tree = gstorder.analyze(dump, analyses, species=SPECIES, timestep_fs=TIMESTEP_FS, index=index, show_progress=False)
    wall = time.perf_counter() - t0
    frames = n_frames or len(gstorder.Trajectory(dump, species=SPECIES))
    return dict(task="suite", analyses=names, frames=frames, wall_s=wall, groups=list(tree), warmup_s=warm,
                stages=ast.literal_eval(tree.attrs["compute_seconds"]), peak_mb=peak_mb())


def run_scaling(dump: str, names: str, how: str) -> dict:
    """One pass over every frame: 'in-process' or 'dask-N' (N workers of one core each)."""
    import gstorder

    analyses = chosen(names)
    warm = warm_up(analyses)
    client = None
    if how.startswith("dask"):
        from gstorder._dask import local_client

        manager = local_client(int(how.split("-")[1]))
        client = manager.__enter__()
        client.run(warm_up, analyses)  # every worker compiles (or loads) its kernels outside the clock
    t0 = time.perf_counter()
    gstorder.analyze(dump, analyses, species=SPECIES, timestep_fs=TIMESTEP_FS, client=client, show_progress=False)
    wall = time.perf_counter() - t0
    if client is not None:
        manager.__exit__(None, None, None)
    import numba

    frames = len(gstorder.Trajectory(dump, species=SPECIES))
    return dict(task="scaling", how=how, threads=numba.config.NUMBA_NUM_THREADS, frames=frames, wall_s=wall,
                frames_per_s=frames / wall, warmup_s=warm, peak_mb=peak_mb())


def subprocess_row(dump: str, args: list, env: dict | None = None) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), args[0], "--dump", dump, "--worker", *args]
    print(" ".join(args), "...", file=sys.stderr, flush=True)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    if out.returncode:
        return dict(error=f"exit {out.returncode}", args=args)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("task", choices=("suite", "scaling"))
    parser.add_argument("--dump", required=True)
    parser.add_argument("--analyses", default=None, help="default, all, paper or comma-separated names")
    parser.add_argument("--frames", type=int, default=None, help="suite: frames to analyse (default: all)")
    parser.add_argument("--worker", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import gstorder

    print(f"gstorder {gstorder.__version__} from {os.path.dirname(gstorder.__file__)}; {os.cpu_count()} cores; "
          f"load before {os.getloadavg()}\n")
    if args.worker is not None:
        kind, *rest = args.worker
        row = run_suite(args.dump, rest[0], int(rest[1]) or None) if kind == "suite" else run_scaling(args.dump, *rest)
        print(json.dumps(row))
        return
    if args.task == "suite":
        names = args.analyses or "default"
        r = subprocess_row(args.dump, ["suite", names, str(args.frames or 0)])
        if "error" in r:
            print(r)
            return
        n = r["frames"]
        print(f"`analyze(dump, {names!r})`: {r['frames']} frames, **{r['wall_s'] / n:.2f} s per frame** "
              f"(wall {r['wall_s']:.1f} s, reading included), peak {r['peak_mb']:,.0f} MB; warm-up {r['warmup_s']:.1f} s; "
              f"groups {', '.join(r['groups'])}\n")
        print("| stage | s per frame |\n|---|---:|")
        for k, v in sorted(r["stages"].items(), key=lambda kv: -kv[1]):
            if v / n >= 0.01:
                print(f"| {k} | {v / n:.2f} |")
    else:
        names = args.analyses or "paper"
        rows = [subprocess_row(args.dump, ["scaling", names, "in-process"]),
                subprocess_row(args.dump, ["scaling", names, "in-process"], {"NUMBA_NUM_THREADS": "1"}),
                subprocess_row(args.dump, ["scaling", names, "dask-1"], {"NUMBA_NUM_THREADS": "1"}),
                subprocess_row(args.dump, ["scaling", names, "dask-2"], {"NUMBA_NUM_THREADS": "1"})]
        print(f"One pass of {names!r} over the dump; frames per second (higher is better)\n")
        print("| run | Numba threads per process | frames | wall (s) | frames/s | vs dask 1 worker |\n|---|---:|---:|---:|---:|---:|")
        base = next((r["frames_per_s"] for r in rows if r.get("how") == "dask-1"), None)
        for r in rows:
            if "error" in r:
                print(f"| {r['args']} | failed: {r['error']} | | | | |")
                continue
            vs = f"{r['frames_per_s'] / base:.2f}x" if base else "–"
            print(f"| {r['how']} | {r['threads']} | {r['frames']} | {r['wall_s']:.1f} | {r['frames_per_s']:.4f} | {vs} |")
    print(f"\nload after {os.getloadavg()}")


if __name__ == "__main__":
    main()
