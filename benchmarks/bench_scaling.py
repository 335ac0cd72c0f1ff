"""Frames per second of gstorder.analyze on many small frames: in process, and on 1 and 2 dask workers.

    python benchmarks/bench_scaling.py [--repeat 4]

The shipped 189-atom example (20 frames) is analysed ``--repeat`` times over (rdf, adf, motifs,
altbc, k̄); dask runs use a LocalCluster of 1 or 2 single-threaded worker processes, started
and warmed up outside the timed region.
"""

import argparse
import time
from pathlib import Path

import gstorder

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "gst124_rocksalt_189at_thermal.extxyz"
ANALYSES = ["rdf", "adf", "motifs", "altbc", "kbar"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=4)
    args = parser.parse_args()
    from dask.distributed import Client, LocalCluster

    frames = gstorder.Trajectory(EXAMPLE)[:] * args.repeat
    gstorder.analyze(frames[:2], ANALYSES)  # warm-up: kernels and the cached reference
    rows = []
    t = time.perf_counter()
    gstorder.analyze(frames, ANALYSES)
    rows.append(("in process (2 Numba threads)", time.perf_counter() - t))
    for n in (1, 2):
        with LocalCluster(n_workers=n, threads_per_worker=1, dashboard_address=":0", silence_logs=40) as c, Client(c) as client:
            gstorder.analyze(frames[:2 * n], ANALYSES, client=client, chunk_frames=1)  # warm the workers
            t = time.perf_counter()
            gstorder.analyze(frames, ANALYSES, client=client)
            rows.append((f"dask, {n} worker{'s' if n > 1 else ''}", time.perf_counter() - t))
    print(f"| run | frames | seconds | frames/s | vs 1 worker |\n|---|---:|---:|---:|---:|")
    one = dict(rows)["dask, 1 worker"]
    for label, s in rows:
        print(f"| {label} | {len(frames)} | {s:.2f} | {len(frames) / s:.1f} | {one / s:.2f}x |")


if __name__ == "__main__":
    main()
