"""Demo-GAP MD speed and the runner's overhead over bare ASE: python benchmarks/bench_md.py

189-atom rock-salt Ge1Sb2Te4, 100 NVE steps of 2 fs with the shipped demo GAP (quippy, one core), best
of two runs; gstorder.md.run includes drawing velocities, the first force call and two trajectory/thermo writes.
"""
import time, numpy as np
from ase.md.verlet import VelocityVerlet
from ase import units
from gstorder import md, structures
calc = md.demo_gap()
def bare():
    a = structures.rocksalt("Ge1Sb2Te4", 3, a=6.1, seed=0); a.calc = calc
    a.set_velocities(np.random.default_rng(0).normal(0, 0.005, (len(a), 3)))
    dyn = VelocityVerlet(a, 2 * units.fs); dyn.run(1)
    t = time.perf_counter(); dyn.run(100); return time.perf_counter() - t
def ours():
    a = structures.rocksalt("Ge1Sb2Te4", 3, a=6.1, seed=0)
    t = time.perf_counter()
    md.run(a, calc, [md.Segment(0.2, "nve")], temperature_K=300, seed=1, write_every=50, trajectory="/tmp/o.xyz", thermo="/tmp/o.csv")
    return time.perf_counter() - t
b = min(bare() for _ in range(2)); o = min(ours() for _ in range(2))
print(f"189 atoms, 100 steps: bare ASE {b:.2f} s ({100/b:.2f} steps/s, {b/100/189*1e6:.0f} us/atom/step); gstorder.md.run {o:.2f} s; overhead {100*(o-b)/b:.1f} %")
