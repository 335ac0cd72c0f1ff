"""The whole analysis suite on a multi-frame device trajectory: one function after another (today) vs one pass.

The data: the paper's 532,980-atom trigonal Ge1Sb2Te4 device cell
(``structures.device_cell()``) with Maxwell-Boltzmann velocities at 600 K
(seeded), written as a LAMMPS text dump (``id type x y z vx vy vz``, metal
units: Å and Å/ps; types 1 = Ge, 2 = Sb, 3 = Te; triclinic header only when
the cell is not orthogonal). Each frame is the previous one with every atom
displaced by a Gaussian of 0.05 Å rms (3-D length, 0.029 Å per component;
velocities unchanged), at steps 0, 500, 1000, ...

The suite (``ANALYSES``, the same list for both modes so the comparison is
fair): rdf (r_max 8 Å), adf (3.2 Å), bond_motifs (3.2 Å), altbc (defaults),
crystallinity.kbar (trigonal reference), temperature_map (defaults),
layers.z_profile (defaults), every file read as
``gstorder.Trajectory(path, species={1: "Ge", 2: "Sb", 3: "Te"}, timestep_fs=2.0)``.

Modes, each variant in its own fresh subprocess (so the peak memories are
separable), on the default Numba thread count:

* ``functions``: what a user pays today, calling the functions one after
  another, in three variants:

  - ``read``: reading alone: ``len(traj)`` (the frame-offset scan) then
    ``list(traj)``;
  - ``stream``: one ``Trajectory`` object handed to every function, so each
    function streams (re-reads and re-parses) the whole file; the offset scan
    (``len(traj)``, done by the first function to ask) is timed on its own
    before the functions;
  - ``inmemory``: ``frames = list(traj)`` once (timed), then every function
    is given the list.

* ``analyze``: ``gstorder.analyze(path, analyses=..., ...)`` in one pass over
  the file. On a gstorder without ``analyze`` it reports "analyze not
  available". The call is a stub in ``run_analyze`` for the one-pass runner
  to fill in.

Before the timed region every subprocess warms up the Numba kernels (and the
cached trigonal k̄ reference) on a 56-atom and a 3,584-atom rock-salt
Ge1Sb2Te4 (the larger one is past the 2,048-item switch to the parallel
kernels); that warm-up is timed and reported on its own. Per step: wall
seconds, seconds per frame, CPU seconds (cores used = CPU / wall) and the
peak resident set of that step (VmHWM after resetting it through
/proc/self/clear_refs; psutil sampling every 20 ms where clear_refs is not
writable). Per run: the peak resident set of the whole subprocess (imports
and warm-up included: the largest of VmHWM before the first reset and the
steps' peaks; ru_maxrss is reset along with VmHWM, so it is kept in the JSON
only raw) and the cores other processes used meanwhile (from /proc/stat).

    python benchmarks/bench_pipeline.py --make-dump /tmp/device3.lammpstrj --frames 3
    python benchmarks/bench_pipeline.py --mode functions --dump /tmp/device3.lammpstrj --repeat 2 --json base.json
    python benchmarks/bench_pipeline.py --mode analyze --dump /tmp/device3.lammpstrj --json one_pass.json
    python benchmarks/bench_pipeline.py --from-json base.json       # re-print the tables

To measure a frozen checkout instead of the installed package, put it first
on the path: ``PYTHONPATH=/tmp/gst_base python benchmarks/bench_pipeline.py ...``
(every run records which ``gstorder`` it imported, and its git commit).

The whole default suite per device frame stage by stage (k̄ on its default, rock-salt) and dask with 1
against 2 workers are timed by ``bench_device_suite.py`` on a dump written here; this script keeps its fixed
suite so that its tables stay comparable with earlier runs.

Results: Markdown tables on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import numpy as np

SPECIES = {1: "Ge", 2: "Sb", 3: "Te"}
TIMESTEP_FS = 2.0
STEP_STRIDE = 500  # ITEM: TIMESTEP 0, 500, 1000, ...
TEMPERATURE_K = 600.0
RATTLE_RMS = 0.05  # Å, rms length of each frame-to-frame displacement (3-D)
SEED = 0
WARM_SIZES = (2, 8)  # rock-salt Ge1Sb2Te4 repeats: 56 and 3,584 atoms

# (name, function path in gstorder, keyword arguments): the one suite both modes run.
ANALYSES = (
    ("rdf", "rdf", dict(r_max=8.0)),
    ("adf", "adf", dict(cutoff=3.2)),
    ("bond_motifs", "bond_motifs", dict(cutoff=3.2)),
    ("altbc", "altbc", dict()),
    ("kbar", "crystallinity.kbar", dict(reference="trigonal")),
    ("temperature_map", "temperature_map", dict()),
    ("z_profile", "layers.z_profile", dict()),
)
VARIANTS = ("read", "stream", "inmemory")
TIMEOUT = 3600  # s per subprocess
WORKERS = int(os.environ.get("GSTORDER_BENCH_WORKERS", "0"))  # analyze mode: dask workers (0: in process)
# A run during which other processes used more than BUSY cores (from /proc/stat less this script's own children)
# is marked † in the tables.
BUSY = 0.2


# --------------------------------------------------------------------------- the dump


def lammps_cell(cell, positions, velocities):
    """Cell, positions and velocities rotated so that the cell is LAMMPS lower-triangular (a along x, b in xy)."""
    cell = np.asarray(cell, dtype=float)
    if abs(np.triu(cell, 1)).max() <= 1e-12 * abs(cell).max():
        return cell, positions, velocities
    q, r = np.linalg.qr(cell.T)  # cell.T = q r, so cell = r.T q.T and cell @ q = r.T
    signs = np.sign(np.diag(r))
    q, r = q * signs, (r.T * signs).T
    if np.linalg.det(q) < 0:
        raise ValueError("the cell is left-handed; LAMMPS needs a right-handed cell")
    return r.T, positions @ q, velocities @ q


def box_header(cell) -> bytes:
    """ITEM: BOX BOUNDS for a lower-triangular cell with its origin at 0."""
    (lx, _, _), (xy, ly, _), (xz, yz, lz) = cell
    if abs(xy) + abs(xz) + abs(yz) <= 1e-12 * max(lx, ly, lz):
        return (f"ITEM: BOX BOUNDS pp pp pp\n0 {lx:.10f}\n0 {ly:.10f}\n0 {lz:.10f}\n").encode()
    xlo_b, xhi_b = min(0.0, xy, xz, xy + xz), lx + max(0.0, xy, xz, xy + xz)
    ylo_b, yhi_b = min(0.0, yz), ly + max(0.0, yz)
    return (f"ITEM: BOX BOUNDS xy xz yz pp pp pp\n{xlo_b:.10f} {xhi_b:.10f} {xy:.10f}\n"
            f"{ylo_b:.10f} {yhi_b:.10f} {xz:.10f}\n0 {lz:.10f} {yz:.10f}\n").encode()


def make_dump(path, n_frames, *, seed=SEED, temperature=TEMPERATURE_K, rattle=RATTLE_RMS):
    """Write the device-cell trajectory (atomically: a temporary file beside ``path``, then a rename)."""
    from ase.data import atomic_numbers
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    from gstorder import structures
    from gstorder.frames import ASE_VELOCITY_TO_A_PER_PS

    t0 = time.perf_counter()
    atoms = structures.device_cell()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # ASE >= 3.25 suggests thermalize_momenta; same distribution
        MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=np.random.default_rng(seed))
    cell, positions, velocities = lammps_cell(atoms.cell.array, atoms.positions.copy(),
                                              atoms.get_velocities() * ASE_VELOCITY_TO_A_PER_PS)  # Å/ps (metal)
    type_of = {atomic_numbers[s]: t for t, s in SPECIES.items()}
    lut = np.zeros(max(type_of) + 1, dtype=np.int64)
    for z, t in type_of.items():
        lut[z] = t
    if not set(np.unique(atoms.numbers).tolist()) <= set(type_of):
        raise ValueError(f"the cell holds elements outside {SPECIES}")
    n = len(atoms)
    ids, types = np.arange(1, n + 1, dtype=float), lut[atoms.numbers].astype(float)
    line = b"%d %d %.6f %.6f %.6f %.6f %.6f %.6f\n"
    sigma = rattle / np.sqrt(3.0)  # per component, so that the 3-D displacement has rms length ``rattle``
    rng = np.random.default_rng(seed + 1)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".bench-", suffix=".lammpstrj")
    try:
        with os.fdopen(fd, "wb") as fh:
            for f in range(n_frames):
                if f:
                    positions = positions + rng.normal(scale=sigma, size=positions.shape)
                fh.write(f"ITEM: TIMESTEP\n{f * STEP_STRIDE}\nITEM: NUMBER OF ATOMS\n{n}\n".encode())
                fh.write(box_header(cell))
                fh.write(b"ITEM: ATOMS id type x y z vx vy vz\n")
                table = np.column_stack([ids, types, positions, velocities])
                fh.write((line * n) % tuple(table.ravel().tolist()))  # one C-level format of the whole frame
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the dump is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    write = time.perf_counter() - t0
    m = atoms.get_masses()
    from gstorder.thermal import EV_PER_AMU_A2_PS2, KB_EV

    t_kin = float((m[:, None] * velocities**2).sum() * EV_PER_AMU_A2_PS2 / (3 * n * KB_EV))
    return dict(path=os.path.abspath(path), frames=n_frames, atoms=n, bytes=os.path.getsize(path),
                build_s=build, write_s=write, seed=seed, temperature_K=temperature, kinetic_temperature_K=t_kin,
                rattle_rms=rattle, cell=np.round(cell, 6).tolist(), triclinic=b"xy xz yz" in box_header(cell))


# --------------------------------------------------------------------------- measuring one step


def hwm_reset() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process; False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def status_mb(key) -> float:
    with open("/proc/self/status") as fh:
        for row in fh:
            if row.startswith(key + ":"):
                return int(row.split()[1]) / 1024
    return float("nan")


class Sampler:
    """psutil RSS sampled every ``dt`` s in a thread (the fallback when VmHWM cannot be reset)."""

    def __init__(self, dt=0.02):
        import psutil

        self.proc, self.dt, self.peak = psutil.Process(), dt, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss / 2**20)
            self._stop.wait(self.dt)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss / 2**20)


def measure(name, call, n_frames, steps):
    """Run ``call()``, append {step, wall_s, s_per_frame, cpu_s, peak_mb, rss_before_mb} to ``steps``; return its result."""
    before = status_mb("VmRSS")
    exact = hwm_reset()
    sampler = None if exact else Sampler().__enter__()
    c0, t0 = time.process_time(), time.perf_counter()
    result = call()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if sampler is not None:
        sampler.__exit__(None, None, None)
    peak = status_mb("VmHWM") if exact else sampler.peak
    steps.append(dict(step=name, wall_s=wall, s_per_frame=wall / n_frames if n_frames else None, cpu_s=cpu,
                      peak_mb=peak, rss_before_mb=before, peak_source="VmHWM" if exact else "psutil"))
    print(f"  {name:16s} {wall:8.2f} s  ({cpu / wall if wall else 0:.2f} cores, peak {peak:,.0f} MB)", file=sys.stderr)
    return result


def memory(rss0, hwm0, steps) -> dict:
    """Resident-set figures of a run (MB).

    Linux derives ru_maxrss from the same high-water mark that
    /proc/self/clear_refs resets, so after the per-step resets getrusage
    only covers the last step; the whole-process peak is the largest of the
    mark before the first reset and the steps' peaks.
    """
    return dict(rss_after_warmup_mb=rss0, peak_before_timed_mb=hwm0,
                process_peak_mb=max([hwm0] + [s["peak_mb"] for s in steps]),
                ru_maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # raw; see above


def resolve(path):
    import gstorder

    obj = gstorder
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def summary(name, result) -> dict:
    """A few numbers of each result, to check that two ways of running the suite agree."""
    from gstorder.thermal import KB_EV

    if name == "rdf":
        return dict(coordination_total_8A=float(result.coordination_total[-1]), g_total_max=float(result.g.sel(pair="total").max()))
    if name == "adf":
        return dict(angles=int(result["count"].sel(center="all")))
    if name == "altbc" and "altbc" in getattr(result, "data_vars", {}):
        result = result.altbc
    if name == "bond_motifs":
        return dict(tetrahedral=result.tetrahedral_fraction.values.tolist(), homopolar=result.homopolar_fraction.values.tolist())
    if name == "altbc":
        return dict(n_collinear=int(result.attrs["n_collinear"]), long_short_ratio=float(result.attrs["long_short_ratio"]))
    if name == "kbar":
        return dict(kbar_mean=result.kbar_mean.values.tolist())
    if name == "temperature_map":
        ke, n = result.kinetic_energy.values.sum(axis=(1, 2)), result["count"].values.sum(axis=(1, 2))
        return dict(T_K=(2 * ke / (3 * KB_EV * n)).tolist(), time_ps=result.time.values.tolist())
    if name == "z_profile":
        return dict(atoms=result["count"].sum(dim=["species", result["count"].dims[-1]]).values.tolist())
    return {}


def provenance() -> dict:
    import gstorder

    folder = os.path.dirname(os.path.dirname(os.path.abspath(gstorder.__file__)))
    try:
        commit = subprocess.run(["git", "-C", folder, "describe", "--always", "--dirty", "--abbrev=12"],
                                capture_output=True, text=True, timeout=30).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        commit = "?"
    import numba

    return dict(gstorder_file=gstorder.__file__, gstorder_version=gstorder.__version__, git=commit,
                numba_threads=numba.get_num_threads(), numba=numba.__version__, numpy=np.__version__)


def warm_up() -> float:
    """Compile (or load from Numba's on-disk cache) every kernel of the suite, serial and parallel, and cache the k̄ reference."""
    import gstorder
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # r_max beyond half these small cells; ASE's deprecation of the MB helper
        for reps in WARM_SIZES:
            atoms = gstorder.structures.rocksalt("Ge1Sb2Te4", reps)
            atoms.rattle(0.05, seed=reps)
            MaxwellBoltzmannDistribution(atoms, temperature_K=TEMPERATURE_K, rng=np.random.default_rng(reps))
            frames = [gstorder.as_frame(atoms)] * 2
            for name, func, kwargs in ANALYSES:
                resolve(func)(frames, **kwargs)
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- the modes (one subprocess each)


def run_functions(path, variant) -> dict:
    """Today's suite, one function after another: ``variant`` 'read', 'stream' or 'inmemory'."""
    import gstorder

    warm = warm_up()
    rss0, hwm0 = status_mb("VmRSS"), status_mb("VmHWM")  # before the first reset of VmHWM: imports and warm-up
    steps, summaries = [], {}
    traj = gstorder.Trajectory(path, species=SPECIES, timestep_fs=TIMESTEP_FS)
    t0 = time.perf_counter()
    n = measure("index (len)", lambda: len(traj), None, steps)
    steps[-1]["s_per_frame"] = steps[-1]["wall_s"] / n
    if variant in ("read", "inmemory"):
        frames = measure("read (list)", lambda: list(traj), n, steps)
        source = frames
    else:
        source = traj
    if variant in ("stream", "inmemory"):
        for name, func, kwargs in ANALYSES:
            result = measure(name, lambda: resolve(func)(source, **kwargs), n, steps)
            summaries[name] = summary(name, result)
            del result
    total = time.perf_counter() - t0
    return dict(mode="functions", variant=variant, frames=n, warmup_s=warm, total_s=total, total_s_per_frame=total / n,
                **memory(rss0, hwm0, steps), steps=steps, summaries=summaries, **provenance())


def run_analyze(path) -> dict:
    """The same suite in one pass: ``gstorder.analyze``.

    >>> TO BE FILLED IN by the one-pass runner (gstorder.pipeline) <<<
    Keep ``ANALYSES`` (names and keyword arguments), ``SPECIES`` and
    ``TIMESTEP_FS`` exactly as they are, so that the comparison with
    ``--mode functions`` is fair; only the spelling of ``analyses=`` may need
    adapting to the final API. Return the results per analysis name so that
    ``summary`` can check them against the functions mode.
    """
    import gstorder

    if not hasattr(gstorder, "analyze"):
        return dict(mode="analyze", variant="analyze", status="analyze not available", **provenance())
    warm = warm_up()
    rss0, hwm0 = status_mb("VmRSS"), status_mb("VmHWM")
    steps, summaries = [], {}
    n = len(gstorder.Trajectory(path, species=SPECIES, timestep_fs=TIMESTEP_FS))  # not timed: only to report s/frame

    from gstorder.altbc import ALTBC
    from gstorder.crystallinity import KBar
    from gstorder.layers import ZProfile
    from gstorder.motifs import BondMotifs
    from gstorder.pairs import ADF, RDF
    from gstorder.thermal import TemperatureMap

    # the analysis objects behind the functions of ANALYSES, with the same keyword arguments
    objects = {"rdf": RDF, "adf": ADF, "bond_motifs": BondMotifs, "altbc": ALTBC, "kbar": KBar,
               "temperature_map": TemperatureMap, "z_profile": ZProfile}
    groups = {"bond_motifs": "motifs", "temperature_map": "temperature"}
    client = None
    if WORKERS:
        from dask.distributed import Client, LocalCluster

        client = Client(LocalCluster(n_workers=WORKERS, threads_per_worker=1, dashboard_address=":0", silence_logs=40))

    def one_pass():
        tree = gstorder.analyze(path, [objects[name](**kwargs) for name, _, kwargs in ANALYSES], species=SPECIES,
                                timestep_fs=TIMESTEP_FS, client=client)
        return {name: tree[groups.get(name, name)].to_dataset() for name, _, _ in ANALYSES}

    t0 = time.perf_counter()
    results = measure("analyze (all)", one_pass, n, steps)
    total = time.perf_counter() - t0
    if isinstance(results, dict):
        for name, _, _ in ANALYSES:
            if name in results:
                summaries[name] = summary(name, results[name])
    return dict(mode="analyze", variant="analyze", status="ok", frames=n, warmup_s=warm, total_s=total,
                total_s_per_frame=total / n, **memory(rss0, hwm0, steps), steps=steps, summaries=summaries,
                **provenance())


def worker(variant, path):
    row = run_analyze(path) if variant == "analyze" else run_functions(path, variant)
    print(json.dumps(row))


# --------------------------------------------------------------------------- the driver


def busy_cpu_s():
    """CPU seconds the whole machine has spent busy since boot (all processes, from /proc/stat)."""
    with open("/proc/stat") as fh:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fh.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_variant(variant, path, repeat):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", variant, "--dump", path]
    t0, busy0, own0 = time.perf_counter(), busy_cpu_s(), children_cpu_s()
    print(f"{variant} (run {repeat}):", file=sys.stderr)
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return dict(variant=variant, repeat=repeat, status=f"timeout >{TIMEOUT} s")
    wall = time.perf_counter() - t0
    if out.returncode:
        return dict(variant=variant, repeat=repeat, status=f"failed (exit {out.returncode})")
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row.setdefault("status", "ok")
    row.update(repeat=repeat, subprocess_wall_s=wall,
               others=max(0.0, (busy_cpu_s() - busy0) - (children_cpu_s() - own0)) / wall)
    print(f"  -> {row['status']}, subprocess {wall:.1f} s, other processes {row['others']:.2f} cores", file=sys.stderr)
    return row


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def _step_rows(names, cols, cell):
    """One Markdown row per step, ``cell(step)`` for each run that has it, "–" otherwise."""
    for name in names:
        steps = [next((s for s in r["steps"] if s["step"] == name), None) for r in cols]
        print(f"| {name} | " + " | ".join("–" if s is None else cell(s) for s in steps) + " |")


def report(data):
    runs, dump = data.get("runs", []), data.get("dump")
    meta = data.get("meta", {})
    ok = [r for r in runs if r.get("status") == "ok"]
    if meta:
        used = (f"gstorder {ok[0]['gstorder_version']} from {ok[0]['gstorder_file']} (git {ok[0]['git']}); numba "
                f"{ok[0]['numba']} with {ok[0]['numba_threads']} threads; ") if ok else ""
        print(f"Machine: {meta['cpu']}, {meta['cores']} cores, Python {meta['python']}; {used}NUMBA_NUM_THREADS="
              f"{meta.get('NUMBA_NUM_THREADS', 'unset')}, OMP_NUM_THREADS={meta.get('OMP_NUM_THREADS', 'unset')}\n")
    if dump:
        print(f"Dump: {dump['path']}, {dump['frames']} frames of {dump['atoms']:,} atoms, {dump['bytes'] / 1e6:,.1f} MB; "
              f"cell built in {dump['build_s']:.1f} s, written in {dump['write_s']:.1f} s "
              f"({dump['bytes'] / 1e6 / dump['write_s']:.0f} MB/s); kinetic temperature {dump['kinetic_temperature_K']:.1f} K; "
              f"triclinic header: {dump['triclinic']}\n")
    for r in runs:
        if r.get("status") != "ok":
            print(f"- {r.get('variant')} run {r.get('repeat', '')}: {r.get('status')}")
    if not ok:
        return
    print("\n### Per step: wall seconds per frame (total seconds)\n")
    print("Each column is one run in a fresh subprocess; † marks runs during which other processes used more than "
          f"{BUSY} cores.\n")
    cols = [r for r in ok]
    names = []
    for r in cols:
        for s in r["steps"]:
            if s["step"] not in names:
                names.append(s["step"])
    head = [f"{r['variant']} #{r['repeat']}{' †' if r.get('others', 0) > BUSY else ''}" for r in cols]
    print("| step | " + " | ".join(head) + " |")
    print("|---|" + "---:|" * len(cols))
    _step_rows(names, cols, lambda s: f"{s['s_per_frame']:.3f} ({s['wall_s']:.2f})")
    print("| **total (timed region)** | " + " | ".join(f"**{r['total_s_per_frame']:.2f}** ({r['total_s']:.1f})" for r in cols) + " |")
    print("| warm-up, not in total (s) | " + " | ".join(f"{r['warmup_s']:.1f}" for r in cols) + " |")
    print("| other processes (cores) | " + " | ".join(f"{r.get('others', float('nan')):.2f}" for r in cols) + " |")

    print("\n### Per step: cores used (CPU / wall) and peak resident set during the step (MB)\n")
    print("| step | " + " | ".join(head) + " |")
    print("|---|" + "---:|" * len(cols))
    _step_rows(names, cols, lambda s: f"{s['cpu_s'] / s['wall_s'] if s['wall_s'] else 0:.2f}, {s['peak_mb']:,.0f}")
    print("| resident after warm-up (MB) | " + " | ".join(f"{r['rss_after_warmup_mb']:,.0f}" for r in cols) + " |")
    print("| peak before the timed region: imports, warm-up (MB) | "
          + " | ".join(f"{r.get('peak_before_timed_mb', float('nan')):,.0f}" for r in cols) + " |")
    print("| **peak resident set, whole process (MB)** | "
          + " | ".join(f"**{r.get('process_peak_mb', r['ru_maxrss_mb']):,.0f}**" for r in cols) + " |")

    sums = [(f"{r['variant']} #{r['repeat']}", r["summaries"]) for r in ok if r.get("summaries")]
    if len(sums) > 1:
        ref_name, ref = sums[0]
        differ = [(n, k) for n, s in sums[1:] for k in ref if k in s and json.dumps(s[k]) != json.dumps(ref[k])]
        print(f"\nResults of every run agree with {ref_name}: " + ("yes" if not differ else f"NO: {differ}"))
        for k, v in ref.items():
            print(f"- {k}: {json.dumps(v)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--make-dump", metavar="PATH", help="write the device-cell LAMMPS dump here")
    parser.add_argument("--frames", type=int, default=3, help="frames in the dump (default 3)")
    parser.add_argument("--seed", type=int, default=SEED, help="velocities and displacements (default 0)")
    parser.add_argument("--mode", choices=("functions", "analyze"), help="what to time")
    parser.add_argument("--dump", help="trajectory to analyse (default: the --make-dump path)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"functions-mode variants, comma-separated (default {','.join(VARIANTS)})")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each variant, interleaved (default 1)")
    parser.add_argument("--json", help="also write the numbers to this file")
    parser.add_argument("--from-json", help="re-print the tables of an earlier --json file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.dump)
        return
    if args.from_json:
        with open(args.from_json) as fh:
            report(json.load(fh))
        return
    if not (args.make_dump or args.mode):
        parser.error("give --make-dump PATH and/or --mode functions|analyze")
    data = dict(meta=dict(cpu=cpu_model(), cores=os.cpu_count(), python=platform.python_version(),
                          NUMBA_NUM_THREADS=os.environ.get("NUMBA_NUM_THREADS", "unset"),
                          OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "unset"),
                          PYTHONPATH=os.environ.get("PYTHONPATH", ""), started=time.strftime("%Y-%m-%d %H:%M:%S")),
                dump=None, runs=[])
    if args.make_dump:
        print(f"writing {args.frames} frames to {args.make_dump} ...", file=sys.stderr)
        data["dump"] = make_dump(args.make_dump, args.frames, seed=args.seed)
    path = args.dump or args.make_dump
    if args.mode:
        if not path or not os.path.isfile(path):
            parser.error(f"no trajectory at {path!r}; write one with --make-dump")
        path = os.path.abspath(path)
        data["meta"]["dump_bytes"] = os.path.getsize(path)
        variants = ["analyze"] if args.mode == "analyze" else [v.strip() for v in args.variants.split(",") if v.strip()]
        bad = set(variants) - set(VARIANTS) - {"analyze"}
        if bad:
            parser.error(f"unknown variants {sorted(bad)}; choose from {VARIANTS}")
        for rep in range(1, args.repeat + 1):
            for v in variants:
                data["runs"].append(run_variant(v, path, rep))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(data, fh, indent=1)
    report(data)


if __name__ == "__main__":
    main()
