"""Regenerate the small demo GAP for Ge-Sb-Te shipped in gstorder/data/demo_gap/.

THIS IS A DEMO POTENTIAL, NOT GST-GAP-22. It is a compact 2-body + SOAP GAP
fitted in minutes to CHGNet 0.4.2 (a universal machine-learned potential used
here as the "teacher"), not to DFT. It exists so that the MD examples and
tests of gstorder run without downloading anything. For science use the real
GST-GAP-22 potential (Zhou et al., doi:10.5281/zenodo.8208202) with
``gstorder.md.gap("path/to/gap.xml")``.

Stages (each can be run alone with ``--stages``; later stages read the files
written by earlier ones in ``--workdir``):

``sample``
    Configurations in the spirit of the paper's iterations 0/1, in small cells
    (56-189 atoms): rock-salt-like GeTe, Ge1Sb2Te4, Ge2Sb2Te5 and Sb2Te3 with
    random cation vacancies, rattled (0.02-0.2 Å) and strained (±3 % per axis,
    ±1 % shear) around the CHGNet lattice parameter (a = 6.12 Å); a few
    rattled trigonal Ge1Sb2Te4 cells; and CHGNet Langevin MD snapshots (fixed
    cell, a = 6.12 Å, 2 fs) at 300 K, 900 K, 2000 K (melt), 3000 K (hot
    liquid) and a quick 3000 -> 600 K quench. Writes ``configs.extxyz``.
``label``
    CHGNet single points: energy, forces, virial (-stress x volume) stored as
    ``chgnet_energy``/``chgnet_forces``/``chgnet_virial``; splits by configuration, stratified by
    ``config_type``, into ``train.extxyz`` and ``test.extxyz``.
``fit``
    ``gap_fit``: 2-body (per species pair) + SOAP (per centre species)
    into ``gstorder/data/demo_gap/gap.xml`` (+ its sparseX files). e0 are
    CHGNet energies of isolated atoms.
``validate``
    Test-set RMSEs against CHGNet; GAP MD on the 189-atom rock-salt
    Ge1Sb2Te4 cell (a = 6.0 Å, the gstorder default): NVT 300 K stays
    crystalline, NVT at 900/1200/1500/2000 K to find the lowest that melts
    within the run time (crystallinity k̄ vs rock-salt), NVE energy drift at
    600 K, speed. Writes ``gstorder/data/demo_gap/validation.json``.

CHGNet is needed only for ``sample`` and ``label`` (``pip install
torch==2.13.0`` (CPU) then ``pip install chgnet``); ``fit`` needs ``gap_fit``
(quippy-ase); ``validate`` needs quippy only.

Run: ``python data/make_demo_gap.py`` (all stages, about 30 min on 2 cores), or
e.g. ``python data/make_demo_gap.py --stages fit,validate``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read, write

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "gstorder" / "data" / "demo_gap"
WORKDIR = ROOT / "data" / "demo_gap_build"
SPECIES = {"Ge": 32, "Sb": 51, "Te": 52}
A_CHGNET = 6.12  # CHGNet's rock-salt lattice parameter (≈ 6.13 Å for Ge1Sb2Te4)

# (composition, supercell of the 8-site cubic cell); 56-80 atoms each
CELLS = [("GeTe", (2, 2, 2)), ("Ge1Sb2Te4", (2, 2, 2)), ("Ge2Sb2Te5", (5, 2, 1)), ("Sb2Te3", (3, 2, 2))]
# CHGNet MD protocol per composition: (label, duration ps, temperature K or (start, end) ramp)
MD_SEGMENTS = [("md_300K", 0.6, 300.0), ("md_900K", 0.6, 900.0), ("md_2000K", 1.6, 2000.0),
               ("md_3000K", 0.4, 3000.0), ("quench", 1.0, (3000.0, 600.0))]
MD_WRITE_EVERY = 50  # steps (100 fs) between kept snapshots
N_STATIC = 15  # rattled + strained crystals per composition
N_STATIC_189 = 6  # rattled + strained 3x3x3 Ge1Sb2Te4 (189 atoms), the validation cell size
N_TRIGONAL = 4
TEST_FRACTION = 0.15

# The fit: compact 2-body + SOAP. add_species=T (gap_fit's default) expands the
# 2-body term into one GP per species pair and SOAP into one per centre species.
GAP_2B = ("distance_2b cutoff=5.0 cutoff_transition_width=1.0 covariance_type=ard_se delta=1.0 theta_uniform=1.0 "
          "sparse_method=uniform n_sparse=15 add_species=T")
GAP_SOAP = ("soap cutoff=5.0 cutoff_transition_width=1.0 atom_sigma=0.5 n_max=6 l_max=4 covariance_type=dot_product "
            "zeta=4 delta=0.2 n_sparse=100 sparse_method=cur_points add_species=T")
DEFAULT_SIGMA = "{0.002 0.05 0.05 0.0}"  # energy (eV/atom), force (eV/Å), virial (eV/atom), hessian
CONFIG_TYPE_SIGMA = "{md_2000K:0.004:0.1:0.1:0.0:md_3000K:0.006:0.15:0.15:0.0:quench:0.004:0.1:0.1:0.0}"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- sample


def _chgnet():
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    from chgnet.model.dynamics import CHGNetCalculator

    return CHGNetCalculator(use_device="cpu")


def _cell(composition, size, a, rng, vacancies_gete=2):
    from gstorder import structures

    atoms = structures.rocksalt(composition, size, a=a, seed=int(rng.integers(2**31)))
    if composition == "GeTe" and vacancies_gete:  # rock-salt GeTe has no structural vacancies: make a few
        ge = np.nonzero(atoms.numbers == 32)[0]
        del atoms[sorted(rng.choice(ge, vacancies_gete, replace=False))]
    for key in ("sublattice", "antisite"):
        if key in atoms.arrays:
            del atoms.arrays[key]
    atoms.info = {"composition": composition}
    return atoms


def _strain_rattle(atoms, rng, max_strain=0.03, shear=0.01, rattle=(0.02, 0.2)):
    eps = np.diag(rng.uniform(-max_strain, max_strain, 3))
    off = rng.uniform(-shear, shear, 3)
    eps[0, 1] = eps[1, 0] = off[0]
    eps[0, 2] = eps[2, 0] = off[1]
    eps[1, 2] = eps[2, 1] = off[2]
    atoms.set_cell(atoms.cell.array @ (np.eye(3) + eps), scale_atoms=True)
    sigma = rng.uniform(*rattle)
    atoms.positions += rng.normal(0.0, sigma, atoms.positions.shape)
    atoms.info["rattle_A"] = float(sigma)
    atoms.info["strain_max"] = float(np.abs(eps).max())
    return atoms


def sample(workdir: Path, seed: int):
    from gstorder import md, structures

    rng = np.random.default_rng(seed)
    configs = []
    # static crystals: rattled and strained
    for comp, size in CELLS:
        for _ in range(N_STATIC):
            at = _cell(comp, size, A_CHGNET, rng, vacancies_gete=int(rng.integers(0, 4)))
            at.info["config_type"] = "crystal_static"
            configs.append(_strain_rattle(at, rng))
    for _ in range(N_STATIC_189):
        at = _cell("Ge1Sb2Te4", (3, 3, 3), A_CHGNET, rng)
        at.info["config_type"] = "crystal_static_189"
        configs.append(_strain_rattle(at, rng, rattle=(0.02, 0.15)))
    for _ in range(N_TRIGONAL):
        at = structures.trigonal("Ge1Sb2Te4", (2, 2, 1))
        at = Atoms(at.numbers, positions=at.positions, cell=at.cell, pbc=True)
        at.info = {"composition": "Ge1Sb2Te4", "config_type": "trigonal_static"}
        configs.append(_strain_rattle(at, rng, rattle=(0.02, 0.15)))
    log(f"{len(configs)} static configurations")

    # CHGNet MD
    calc = _chgnet()
    for comp, size in CELLS:
        at = _cell(comp, size, A_CHGNET, rng)
        segs = [md.Segment(d, "nvt", t, label=lab) for lab, d, t in MD_SEGMENTS]
        traj, thermo = workdir / f"chgnet_md_{comp}.extxyz", workdir / f"chgnet_md_{comp}.csv"
        t0 = time.time()
        md.run(at, calc, segs, trajectory=traj, thermo=thermo, write_every=MD_WRITE_EVERY,
               seed=int(rng.integers(2**31)), show_progress=False)
        frames = read(traj, ":")
        log(f"CHGNet MD {comp} ({len(at)} atoms): {len(frames)} snapshots in {time.time() - t0:.0f} s")
        for fr in frames:
            snap = Atoms(fr.numbers, positions=fr.positions, cell=fr.cell, pbc=True)
            snap.info = {"composition": comp, "config_type": str(fr.info["segment"]), "time_ps": float(fr.info["time_ps"])}
            configs.append(snap)
    write(workdir / "configs.extxyz", configs, format="extxyz")
    log(f"wrote {len(configs)} configurations to {workdir / 'configs.extxyz'}")


# --------------------------------------------------------------------------- label


def isolated_atom_energies(calc=None):
    calc = calc or _chgnet()
    e0 = {}
    for sym, z in SPECIES.items():
        at = Atoms(numbers=[z], cell=[20.0] * 3, pbc=True)
        at.calc = calc
        e0[sym] = float(at.get_potential_energy())
    return e0


def label(workdir: Path, seed: int):
    calc = _chgnet()
    configs = read(workdir / "configs.extxyz", ":")
    out = []
    t0 = time.time()
    for at in configs:
        at.calc = calc
        e = float(at.get_potential_energy())
        f = at.get_forces().copy()
        s = at.get_stress(voigt=False).copy()
        at.calc = None
        at.info["chgnet_energy"] = e
        at.info["chgnet_virial"] = -s * at.get_volume()
        at.arrays["chgnet_forces"] = f
        out.append(at)
    log(f"labelled {len(out)} configurations with CHGNet in {time.time() - t0:.0f} s")
    e0 = isolated_atom_energies(calc)
    rng = np.random.default_rng(seed + 1)
    train, test = [], []
    types = sorted({a.info["config_type"] for a in out})
    for ct in types:
        idx = [i for i, a in enumerate(out) if a.info["config_type"] == ct]
        idx = list(rng.permutation(idx))
        n_test = max(1, int(round(TEST_FRACTION * len(idx))))
        test += [out[i] for i in idx[:n_test]]
        train += [out[i] for i in idx[n_test:]]
    write(workdir / "train.extxyz", train, format="extxyz")
    write(workdir / "test.extxyz", test, format="extxyz")
    (workdir / "e0.json").write_text(json.dumps(e0, indent=1))
    log(f"train {len(train)} configs / {sum(map(len, train))} atoms; test {len(test)} / {sum(map(len, test))}; e0 {e0}")


# --------------------------------------------------------------------------- fit


def gap_fit_command(workdir: Path, out: Path):
    e0 = json.loads((workdir / "e0.json").read_text())
    e0s = ":".join(f"{k}:{v:.6f}" for k, v in e0.items())
    return ["gap_fit", f"at_file={workdir / 'train.extxyz'}", f"gap={{{GAP_2B} : {GAP_SOAP}}}", f"e0={{{e0s}}}",
            f"default_sigma={DEFAULT_SIGMA}", f"config_type_sigma={CONFIG_TYPE_SIGMA}", "energy_parameter_name=chgnet_energy",
            "force_parameter_name=chgnet_forces", "virial_parameter_name=chgnet_virial", "config_type_parameter_name=config_type",
            "sparse_jitter=1.0e-8", "do_copy_at_file=F", "sparse_separate_file=T", "rnd_seed=1",
            f"gp_file={out / 'gap.xml'}"]


def fit(workdir: Path):
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for p in OUT_DIR.glob("gap.xml*"):
        p.unlink()
    cmd = gap_fit_command(workdir, OUT_DIR)
    (workdir / "gap_fit_command.txt").write_text(" ".join(cmd) + "\n")
    log("running " + " ".join(cmd))
    t0 = time.time()
    with open(workdir / "gap_fit.log", "w") as fh:
        subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=True, cwd=workdir)
    log(f"gap_fit finished in {time.time() - t0:.0f} s")
    compact_sparse_files(workdir)
    for p in sorted(OUT_DIR.glob("gap.xml*")):
        log(f"  {p.name}: {p.stat().st_size / 1e6:.2f} MB")


SPARSE_DIGITS = 11  # significant digits kept in the sparseX files


def compact_sparse_files(workdir: Path, n_check: int = 6):
    """Rewrite the sparseX files with SPARSE_DIGITS significant digits (gap_fit writes 21; saves ~40 %) and update their md5 sums in gap.xml.

    The sparse points' descriptors change by < 1e-9 relative; the energies and
    forces of a few test configurations before and after are compared and the
    largest differences written to ``compact_check.json``.
    """
    from quippy.potential import Potential

    frames = read(workdir / "test.extxyz", f":{n_check}")

    def predict():
        pot = Potential("IP GAP", param_filename=str(OUT_DIR / "gap.xml"))
        out = []
        for at in frames:
            a = Atoms(at.numbers, positions=at.positions, cell=at.cell, pbc=True)
            a.calc = pot
            out.append((a.get_potential_energy(), a.get_forces().copy()))
        return out

    before = predict()
    size0 = sum(p.stat().st_size for p in OUT_DIR.glob("gap.xml*"))
    xml = (OUT_DIR / "gap.xml").read_text()
    for p in OUT_DIR.glob("gap.xml.sparseX.*"):
        old_md5 = hashlib.md5(p.read_bytes()).hexdigest()
        values = np.loadtxt(p, ndmin=1)
        p.write_text("".join(f"{v:.{SPARSE_DIGITS - 1}e}\n" for v in values))
        if old_md5 in xml:  # gap.xml records each sparseX file's md5 sum, which quippy checks
            xml = xml.replace(old_md5, hashlib.md5(p.read_bytes()).hexdigest())
    (OUT_DIR / "gap.xml").write_text(xml)
    after = predict()
    check = {"digits": SPARSE_DIGITS, "size_before_MB": size0 / 1e6,
             "size_after_MB": sum(p.stat().st_size for p in OUT_DIR.glob("gap.xml*")) / 1e6,
             "max_abs_energy_change_eV": float(max(abs(b[0] - a[0]) for b, a in zip(before, after))),
             "max_abs_force_change_eV_per_A": float(max(np.abs(b[1] - a[1]).max() for b, a in zip(before, after)))}
    (workdir / "compact_check.json").write_text(json.dumps(check, indent=1))
    log(f"compacted sparseX files: {check}")


# --------------------------------------------------------------------------- validate


def _gap():
    from quippy.potential import Potential

    return Potential("IP GAP", param_filename=str(OUT_DIR / "gap.xml"))


def _rmse(frames, calc):
    rows = []
    for at in frames:
        ref_e, ref_f = at.info["chgnet_energy"], at.arrays["chgnet_forces"]
        a = Atoms(at.numbers, positions=at.positions, cell=at.cell, pbc=True)
        a.calc = calc
        e, f = a.get_potential_energy(), a.get_forces()
        rows.append((at.info["config_type"], (e - ref_e) / len(a), (f - ref_f).ravel(), len(a)))
    out = {}
    for ct in ["all"] + sorted({r[0] for r in rows}):
        sel = [r for r in rows if ct == "all" or r[0] == ct]
        de = np.array([r[1] for r in sel])
        df = np.concatenate([r[2] for r in sel])
        out[ct] = {"n_configs": len(sel), "n_atoms": int(sum(r[3] for r in sel)),
                   "energy_rmse_meV_per_atom": float(1000 * np.sqrt(np.mean(de**2))),
                   "force_rmse_eV_per_A": float(np.sqrt(np.mean(df**2))),
                   "force_mae_eV_per_A": float(np.mean(np.abs(df)))}
    return out


def _kbar_trace(traj):
    from gstorder import crystallinity

    ds = crystallinity.kbar(str(traj), show_progress=False)
    return [round(float(t), 3) for t in ds.time.values], [round(float(k), 4) for k in ds.kbar_mean.values]


def _md_job(job):
    """One validation MD run on the 189-atom rock-salt Ge1Sb2Te4 cell (in a worker process)."""
    from gstorder import md, structures

    kind, temp, duration, vdir, seed = job
    calc = _gap()
    at = structures.rocksalt("Ge1Sb2Te4", (3, 3, 3), seed=1)
    vdir = Path(vdir)
    t0 = time.time()
    if kind == "nvt":
        traj, thermo = vdir / f"nvt_{int(temp)}K.extxyz", vdir / f"nvt_{int(temp)}K.csv"
        md.run(at, calc, [md.Segment(duration, "nvt", temp)], trajectory=traj, thermo=thermo, write_every=50,
               seed=seed, show_progress=False)
        wall = time.time() - t0
        times, kb = _kbar_trace(traj)
        th = np.genfromtxt(thermo, delimiter=",", names=True, dtype=None, encoding=None)
        late = th["time_ps"] >= duration / 2
        return {"time_ps": times, "kbar_mean": kb, "kbar_final": float(np.mean(kb[-3:])),
                "kbar_final_note": "mean of the last 3 frames (0.2 ps)",
                "mean_T_K_second_half": float(np.mean(th["temperature_K"][late])),
                "wall_s": wall, "steps_per_s": duration / 0.002 / wall}
    equil = 0.5
    traj, thermo = vdir / f"nve_{int(temp)}K.extxyz", vdir / f"nve_{int(temp)}K.csv"
    md.run(at, calc, [md.Segment(equil, "nvt", temp, label="nvt"), md.Segment(duration, "nve", label="nve")],
           trajectory=traj, thermo=thermo, write_every=5, seed=seed, show_progress=False)
    th = np.genfromtxt(thermo, delimiter=",", names=True, dtype=None, encoding=None)
    nve = np.array([str(x) == "nve" for x in th["segment"]])
    t, etot = th["time_ps"][nve], th["total_eV"][nve]
    slope = np.polyfit(t, etot, 1)[0]
    return {"atoms": len(at), "nvt_equilibration_ps": equil, "duration_ps": float(t[-1] - t[0]), "timestep_fs": 2.0,
            "drift_meV_per_atom_per_ps": float(1000 * slope / len(at)),
            "total_change_meV_per_atom": float(1000 * (etot[-1] - etot[0]) / len(at)),
            "std_total_meV_per_atom": float(1000 * np.std(etot) / len(at)),
            "mean_T_K": float(np.mean(th["temperature_K"][nve])), "wall_s": time.time() - t0,
            "kbar_mean_every_0.1ps": _kbar_trace(traj)[1][::10]}


def validate(workdir: Path, seed: int, md_ps: float, temperatures, workers: int = 2):
    from gstorder import crystallinity, md, structures

    vdir = workdir / "validation"
    vdir.mkdir(exist_ok=True)
    calc = _gap()
    res = {"potential": "gstorder demo GAP (NOT GST-GAP-22), teacher CHGNet 0.4.2"}

    t0 = time.time()
    res["test_set"] = _rmse(read(workdir / "test.extxyz", ":"), calc)
    res["train_set"] = _rmse(read(workdir / "train.extxyz", ":"), calc)["all"]
    log(f"test RMSE: {res['test_set']['all']}  ({time.time() - t0:.0f} s)")

    # speed on the 189-atom cell
    cell = structures.rocksalt("Ge1Sb2Te4", (3, 3, 3), seed=1)
    at = cell.copy()
    at.rattle(0.05, seed=1)
    at.calc = calc
    at.get_forces()
    n = 20
    t0 = time.time()
    for _ in range(n):
        at.positions += 1e-4
        at.get_forces()
    dt = (time.time() - t0) / n
    res["speed"] = {"atoms": len(at), "s_per_force_call": dt, "us_per_atom_step": 1e6 * dt / len(at),
                    "force_calls_per_s": 1.0 / dt}
    log(f"speed: {res['speed']}")

    # MD on the 189-atom rock-salt Ge1Sb2Te4 cell (a = 6.0 Å, gstorder's default); quip runs on one core,
    # so the runs go two at a time in worker processes
    k0 = float(crystallinity.kbar(cell, show_progress=False).kbar_mean[0])
    res["rocksalt_189"] = {"a_A": float(cell.info["a"]), "kbar_ideal": k0, "duration_ps": md_ps, "runs": {}}
    jobs = [("nvt", float(t), md_ps, str(vdir), seed) for t in temperatures] + [("nve", 600.0, 1.0, str(vdir), seed)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_md_job, jobs))
    for (kind, temp, *_), r in zip(jobs, results):
        if kind == "nvt":
            res["rocksalt_189"]["runs"][f"{int(temp)}K"] = r
            log(f"NVT {temp:.0f} K: k̄ {r['kbar_mean'][0]:.3f} -> {r['kbar_final']:.3f} "
                f"({r['wall_s']:.0f} s, {r['steps_per_s']:.1f} steps/s)")
        else:
            res["nve_600K"] = r
            log(f"NVE 600 K: {r}")
    runs = res["rocksalt_189"]["runs"]
    k_cryst = runs[f"{int(min(temperatures))}K"]["kbar_final"]
    k_liq = runs[f"{int(max(temperatures))}K"]["kbar_final"]
    threshold = 0.5 * (k_cryst + k_liq)
    for key, r in runs.items():
        r["melted"] = bool(r["kbar_final"] < threshold)
    melted = [t for t in temperatures if runs[f"{int(t)}K"]["melted"]]
    res["rocksalt_189"]["melt_criterion"] = ("final k̄ below the midpoint of the final k̄ of the lowest- and "
                                             "highest-temperature runs")
    res["rocksalt_189"]["melt_threshold_kbar"] = threshold
    res["rocksalt_189"]["lowest_melting_T_K"] = min(melted) if melted else None
    log(f"melt threshold k̄ < {threshold:.3f}; lowest T that melts in {md_ps} ps: {res['rocksalt_189']['lowest_melting_T_K']}")
    return res


def _teacher_job(job):
    """CHGNet NVT on the same 189-atom cell, same seed and protocol as the GAP run (in a worker process)."""
    import torch

    torch.set_num_threads(1)
    from chgnet.model.dynamics import CHGNetCalculator
    from gstorder import md, structures

    temp, duration, vdir, seed = job
    at = structures.rocksalt("Ge1Sb2Te4", (3, 3, 3), seed=1)
    traj, thermo = Path(vdir) / f"chgnet_nvt_{int(temp)}K.extxyz", Path(vdir) / f"chgnet_nvt_{int(temp)}K.csv"
    t0 = time.time()
    md.run(at, CHGNetCalculator(use_device="cpu"), [md.Segment(duration, "nvt", temp)], trajectory=traj,
           thermo=thermo, write_every=50, seed=seed, show_progress=False)
    times, kb = _kbar_trace(traj)
    return {"time_ps": times, "kbar_mean": kb, "kbar_final": float(np.mean(kb[-3:])), "wall_s": time.time() - t0}


def teacher(workdir: Path, seed: int, md_ps: float, temperatures, workers: int = 2):
    """Optional: the teacher's (CHGNet's) k̄(t) on the validation cell, merged into validation.json."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    vdir = workdir / "validation"
    vdir.mkdir(exist_ok=True)
    jobs = [(float(t), md_ps, str(vdir), seed) for t in temperatures]
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_teacher_job, jobs))
    path = OUT_DIR / "validation.json"
    res = json.loads(path.read_text())
    res["teacher_chgnet_rocksalt_189"] = {f"{int(j[0])}K": r for j, r in zip(jobs, results)}
    nve = res.get("nve_600K", {})
    if "kbar_mean_every_0.1ps" not in nve and (vdir / "nve_600K.extxyz").exists():
        nve["kbar_mean_every_0.1ps"] = _kbar_trace(vdir / "nve_600K.extxyz")[1][::10]
    path.write_text(json.dumps(res, indent=1) + "\n")
    for j, r in zip(jobs, results):
        log(f"CHGNet NVT {j[0]:.0f} K: k̄ {r['kbar_mean'][0]:.3f} -> {r['kbar_final']:.3f} ({r['wall_s']:.0f} s)")


# --------------------------------------------------------------------------- main


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stages", default="sample,label,fit,validate",
                   help="comma-separated subset of sample,label,fit,validate,teacher (default: all but "
                        "teacher; teacher runs CHGNet MD on the validation cell for comparison, after validate)")
    p.add_argument("--teacher-temperatures", default="300,900", help="temperatures of the teacher stage (K)")
    p.add_argument("--workdir", type=Path, default=WORKDIR, help=f"scratch files (default {WORKDIR})")
    p.add_argument("--seed", type=int, default=2022)
    p.add_argument("--workers", type=int, default=2, help="validation MD runs at once (quip uses one core each)")
    p.add_argument("--md-ps", type=float, default=3.0, help="length of each validation NVT run (ps)")
    p.add_argument("--temperatures", default="300,900,1200,1500,2000", help="validation NVT temperatures (K)")
    args = p.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    bad = set(stages) - {"sample", "label", "fit", "validate", "teacher"}
    if bad:
        p.error(f"unknown stages {sorted(bad)}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    timing_path = args.workdir / "timing.json"
    timing = json.loads(timing_path.read_text()) if timing_path.exists() else {}
    for stage in ("sample", "label", "fit", "validate", "teacher"):
        if stage not in stages:
            continue
        t0 = time.time()
        log(f"== {stage}")
        if stage == "sample":
            sample(args.workdir, args.seed)
        elif stage == "label":
            label(args.workdir, args.seed)
        elif stage == "fit":
            fit(args.workdir)
        elif stage == "teacher":
            teacher(args.workdir, args.seed, args.md_ps, [float(t) for t in args.teacher_temperatures.split(",")],
                    args.workers)
        else:
            temps = [float(t) for t in args.temperatures.split(",")]
            res = validate(args.workdir, args.seed, args.md_ps, temps, args.workers)
        timing[stage] = time.time() - t0
        timing_path.write_text(json.dumps(timing, indent=1))
        if stage == "teacher":
            vpath = OUT_DIR / "validation.json"
            res = json.loads(vpath.read_text())
            res["wall_time_s"] = {k: round(v, 1) for k, v in timing.items()}
            vpath.write_text(json.dumps(res, indent=1) + "\n")
        if stage == "validate":
            train = read(args.workdir / "train.extxyz", ":")
            test = read(args.workdir / "test.extxyz", ":")
            counts = {}
            for name, frames in (("train", train), ("test", test)):
                for at in frames:
                    c = counts.setdefault(at.info["config_type"], {"train": [0, 0], "test": [0, 0]})
                    c[name][0] += 1
                    c[name][1] += len(at)
            res["training_data"] = {
                "teacher": "CHGNet 0.4.2 (pretrained), energies, forces, virials",
                "e0_eV": json.loads((args.workdir / "e0.json").read_text()),
                "counts_by_config_type_[configs,atoms]": counts,
                "train_configs": len(train), "train_atoms": sum(map(len, train)),
                "test_configs": len(test), "test_atoms": sum(map(len, test))}
            res["hyperparameters"] = {"two_body": GAP_2B, "soap": GAP_SOAP, "default_sigma": DEFAULT_SIGMA,
                                      "config_type_sigma": CONFIG_TYPE_SIGMA,
                                      "gap_fit_command": (args.workdir / "gap_fit_command.txt").read_text().strip()
                                      if (args.workdir / "gap_fit_command.txt").exists() else None}
            res["files_MB"] = {p.name: round(p.stat().st_size / 1e6, 3) for p in sorted(OUT_DIR.glob("gap.xml*"))}
            if (args.workdir / "compact_check.json").exists():
                res["sparseX_compaction"] = json.loads((args.workdir / "compact_check.json").read_text())
            res["wall_time_s"] = {k: round(v, 1) for k, v in timing.items()}
            (OUT_DIR / "validation.json").write_text(json.dumps(res, indent=1) + "\n")
            log(f"wrote {OUT_DIR / 'validation.json'}")


if __name__ == "__main__":
    main()
