"""The decks run for real: LAMMPS with pair_style quip (tools/build_lammps_quip.sh) against md.run, same demo GAP.

The fast tests here (the default run, and CI) compare the first-step energies and forces, whole NVE runs with a
heat pulse and fixed atoms and a small RESET on a mushroom cell step for step (both engines integrate the same
way, so their trajectories agree to round-off), a two-rank run with a one-rank run, and the deck's fixes
(label, potential path, thermo temperature, dump precision). The thermostatted protocols (NVT, NPT, the
melt-quench ramp, a SET train) are stochastic; their comparisons run longer and are marked slow.
"""

import os
import shutil

import numpy as np
import pytest
from ase import units
from ase.md.velocitydistribution import Stationary

import gstorder
from gstorder import errors, md, structures
from gstorder.md.runner import _thermalize
from lammps_quip import require_lmp, run_deck, thermo

pytest.importorskip("quippy")
SPECIES = ["Ge", "Sb", "Te"]


@pytest.fixture(scope="module")
def lmp():
    return require_lmp()


@pytest.fixture(scope="module")
def gap():
    return md.demo_gap()


def gst(seed=0, rattle=0.05):
    """56-atom rock-salt Ge1Sb2Te4, rattled."""
    atoms = structures.rocksalt("Ge1Sb2Te4", (2, 2, 2), a=6.1, seed=seed)
    atoms.rattle(rattle, seed=seed + 1)
    return atoms


def triclinic(seed=2):
    """A sheared 64-atom GeTe cell in LAMMPS' orientation (a along x, b in the xy plane): no rotation on writing."""
    atoms = structures.rocksalt("GeTe", (2, 2, 2), a=6.1, seed=seed)
    cell = atoms.cell.array.copy()
    cell[1, 0], cell[2, 0], cell[2, 1] = 1.1, -0.6, 0.8
    atoms.set_cell(cell, scale_atoms=True)
    atoms.rattle(0.08, seed=seed)
    return atoms


def thermalized(atoms, temperature_K, seed):
    _thermalize(atoms, temperature_K=temperature_K, rng=np.random.default_rng(seed))
    Stationary(atoms)
    if "fixed" in atoms.arrays:
        v = atoms.get_velocities()
        v[atoms.arrays["fixed"]] = 0.0
        atoms.set_velocities(v)
    return atoms


def setup_only(script, extra, name="first.lmp"):
    """The deck's set-up (everything before its first segment) plus ``extra`` lines, as another input file."""
    lines = script.read_text().splitlines()
    head = lines[: next(k for k, line in enumerate(lines) if line.startswith("# segment"))]
    path = script.with_name(name)
    path.write_text("\n".join(head + extra) + "\n")
    return path.name


def read_dump(path, groups=None):
    return list(gstorder.read_frames(path, species=SPECIES, groups=groups))


@pytest.mark.parametrize("make", [gst, triclinic], ids=["rocksalt", "triclinic"])
def test_first_step_energy_and_forces_equal_quippys(tmp_path, lmp, gap, make):
    atoms = make()
    script = md.lammps_deck([md.Segment(0.002, "nve")], atoms, md.DEMO_GAP, tmp_path, temperature_K=300.0)
    assert 'pair_coeff * * "gap.xml" "Potential xml_label=GAP_2026_11_28_0_2_1_23_903" 32 51 52' in script.read_text()
    name = setup_only(script, ["dump f all custom 1 forces.dump id type x y z fx fy fz",
                               "dump_modify f sort id format float %.17g", "run 0"])
    log = thermo(run_deck(tmp_path, script=name, lmp=lmp))
    frame = read_dump(tmp_path / "forces.dump")[0]
    np.testing.assert_allclose(frame.cell, atoms.cell.array, atol=1e-12)  # no rotation: forces compare as they are
    assert np.abs(wrapped(frame.positions - atoms.positions, atoms.cell.array)).max() < 1e-12  # full precision
    atoms.calc = gap
    assert abs(log["PotEng"][0] - atoms.get_potential_energy()) / len(atoms) < 1e-6
    forces = np.loadtxt(tmp_path / "forces.dump", skiprows=9)[:, 5:8]
    assert np.abs(forces - atoms.get_forces()).max() < 1e-5
    assert np.abs(forces).max() > 0.1  # a real force field, not zeros


def wrapped(d, cell):
    """Displacements to their minimum image (LAMMPS wraps positions into the box, ASE does not)."""
    return d - np.round(d @ np.linalg.inv(cell)) @ cell


def both(tmp_path, atoms, segments, gap, lmp, *, every, ranks=1, temperature_K=None):
    """Run ``segments`` on a copy of ``atoms`` with md.run and with LAMMPS from the deck; (md.run's result, its thermo
    log, LAMMPS' thermo log). Atoms with velocities start from them in both."""
    out = md.run(atoms.copy(), gap, segments, write_every=every, trajectory=tmp_path / "ase.xyz",
                 thermo=tmp_path / "ase.csv", seed=7, temperature_K=temperature_K)
    md.lammps_deck(segments, atoms, md.DEMO_GAP, tmp_path / "deck", dump_every=every, thermo_every=every,
                   temperature_K=temperature_K)
    log = thermo(run_deck(tmp_path / "deck", ranks=ranks, lmp=lmp))
    return out, np.genfromtxt(out["thermo"], delimiter=",", names=True, dtype=None, encoding=None), log


def same_trajectory(tmp_path, atoms, tol_position=1e-6, tol_velocity=1e-5):
    ase = read_dump(tmp_path / "ase.xyz")
    lmp = read_dump(tmp_path / "deck" / "dump.lammpstrj", groups=tmp_path / "deck" / "groups.lmp")
    assert len(ase) == len(lmp)
    for a, b in zip(ase, lmp):
        assert b.time == pytest.approx(a.time, abs=1e-12)
        assert np.abs(wrapped(b.positions - a.positions, atoms.cell.array)).max() < tol_position
        assert np.abs(b.velocities - a.velocities).max() < tol_velocity
    return ase, lmp


def test_nve_with_a_heat_pulse_and_fixed_atoms_runs_step_for_step_alike(tmp_path, lmp, gap):
    atoms = gst(seed=3)
    z = atoms.positions[:, 2]
    atoms.new_array("fixed", z > z.max() - 0.5)  # the top layer is held
    atoms = thermalized(atoms, 600.0, seed=4)
    region = md.slab(atoms, axis="z", lower=-1.0, upper=3.5)
    power = 5.0  # eV/ps: 0.1 eV over the 10 steps of 2 fs
    segments = [md.Segment(0.02, "nve", heat=md.HeatPulse(region, power), label="pulse"), md.Segment(0.02, "nve")]
    out, ase_log, log = both(tmp_path, atoms, segments, gap, lmp, every=10)
    ase, dump = same_trajectory(tmp_path, atoms)
    fixed = atoms.arrays["fixed"]
    for frame in dump:  # tags, time and units come back from the deck
        np.testing.assert_array_equal(frame.arrays["fixed"], fixed)
        np.testing.assert_array_equal(frame.arrays["heat0"], region & ~fixed)
        assert np.abs(wrapped(frame.positions[fixed] - atoms.positions[fixed], atoms.cell.array)).max() < 1e-12
        assert np.abs(frame.velocities[fixed]).max() == 0.0
    assert [f.time for f in dump] == pytest.approx([0.0, 0.02, 0.04])  # ps
    # LAMMPS' thermo rows (steps 0, 10, 10, 20) against md.run's (0, 10, 20): energies and the moving atoms' temperature
    steps = log["Step"]
    for step, e_total, temperature in zip(ase_log["step"], ase_log["total_eV"], ase_log["temperature_K"]):
        row = np.flatnonzero(steps == step)[-1]
        assert abs(log["TotEng"][row] - e_total) / len(atoms) < 1e-6
        assert log["Temp"][row] == pytest.approx(temperature, abs=2e-3)  # md.run logs 3 decimals
    added = log["TotEng"][steps == 10][0] - log["TotEng"][0]
    assert out["heat_added_eV"] == pytest.approx(power * 0.02, rel=1e-12)  # P·Δt exactly
    assert added == pytest.approx(power * 0.02, abs=2e-3)  # the same, up to the integrator's energy error
    assert abs(log["TotEng"][-1] - log["TotEng"][steps == 10][0]) < 2e-3  # NVE afterwards


def test_two_ranks_give_the_one_rank_run(tmp_path, lmp):
    atoms = thermalized(gst(seed=5), 900.0, seed=6)
    segments = [md.Segment(0.02, "nve")]
    logs = []
    for ranks in (1, 2):
        md.lammps_deck(segments, atoms, md.DEMO_GAP, tmp_path / f"r{ranks}", dump_every=10, thermo_every=10)
        logs.append(thermo(run_deck(tmp_path / f"r{ranks}", ranks=ranks, lmp=lmp)))
    assert "on 2 procs for 10 steps" in (tmp_path / "r2" / "log.lammps").read_text()
    np.testing.assert_allclose(logs[1]["TotEng"], logs[0]["TotEng"], rtol=0, atol=1e-8)
    a, b = (read_dump(tmp_path / f"r{r}" / "dump.lammpstrj")[-1] for r in (1, 2))
    np.testing.assert_allclose(b.positions, a.positions, atol=1e-9)


def test_reset_on_a_small_mushroom_cell_runs_alike(tmp_path, lmp, gap):
    atoms = structures.mushroom_cell(seed=1, size=(3, 2, 3), heater_radius=6.0)  # 126 atoms, 85 fixed, 21 heater
    atoms = thermalized(atoms, 300.0, seed=8)
    segments = md.protocol("reset_pulse", region=atoms.arrays["heater"], energy_eV=0.3, pulse_ps=0.02, relax_ps=0.01,
                           anneal_ps=0)  # the paper's 300 K anneal is stochastic: the slow test runs it
    out, ase_log, log = both(tmp_path, atoms, segments, gap, lmp, every=5)
    ase, dump = same_trajectory(tmp_path, atoms)
    np.testing.assert_array_equal(dump[-1].arrays["heater"], atoms.arrays["heater"])
    assert out["heat_added_eV"] == pytest.approx(0.3, rel=1e-12)
    assert log["TotEng"][log["Step"] == 10][0] - log["TotEng"][0] == pytest.approx(0.3, abs=3e-3)


def test_deck_label_path_and_temperature(tmp_path, lmp):
    """The label read from the XML, a relative potential path with spaces, moved decks, the moving atoms' temperature."""
    gap_dir = tmp_path / "site" / "my potentials"
    gap_dir.mkdir(parents=True)
    for f in md.DEMO_GAP.parent.glob("gap.xml*"):
        shutil.copy(f, gap_dir / f.name)
    atoms = gst()
    z = atoms.positions[:, 2]
    atoms.new_array("fixed", z < np.median(z))  # half the atoms held
    deck = tmp_path / "site" / "deck one"
    script = md.lammps_deck([md.Segment(0.002, "nve")], atoms, gap_dir / "gap.xml", deck, temperature_K=300.0,
                            copy_potential=False)
    assert 'pair_coeff * * "../my potentials/gap.xml" "Potential xml_label=' in script.read_text()
    assert sorted(p.name for p in deck.iterdir()) == ["data.lmp", "groups.lmp", "in.lmp"]
    moved = tmp_path / "elsewhere"
    shutil.move(tmp_path / "site", moved)  # deck and potential together: the relative path still holds
    name = setup_only(moved / "deck one" / "in.lmp", ["dump v all custom 1 v.dump id type x y z vx vy vz",
                                                      "dump_modify v sort id format float %.17g", "run 0"])
    log = thermo(run_deck(moved / "deck one", script=name, lmp=lmp))
    frame = read_dump(moved / "deck one" / "v.dump")[0]
    mobile = ~atoms.arrays["fixed"]
    ke = 0.5 * (atoms.get_masses()[mobile, None] * frame.velocities[mobile] ** 2).sum() * (units.Ang / (1000 * units.fs)) ** 2
    # the moving atoms only (LAMMPS' Boltzmann constant differs from ASE's CODATA value by 1.5e-6)
    assert log["Temp"][0] == pytest.approx(2 * ke / (3 * mobile.sum() * units.kB), rel=1e-5)
    assert log["Temp"][0] == pytest.approx(300.0, rel=0.2)  # not 150 K: the fixed half does not count
    # copied beside the deck (the default): the folder alone runs anywhere
    md.lammps_deck([md.Segment(0.002, "nve")], atoms, moved / "my potentials" / "gap.xml", tmp_path / "copy",
                   temperature_K=300.0)
    names = {p.name for p in (tmp_path / "copy").iterdir()}
    assert {"gap.xml", "in.lmp"} <= names and sum(n.startswith("gap.xml.sparseX") for n in names) == 9
    shutil.move(tmp_path / "copy", tmp_path / "far away")
    shutil.rmtree(moved)
    run_deck(tmp_path / "far away", lmp=lmp)


def test_a_bare_potential_makes_quip_abort_so_the_deck_names_the_label(tmp_path, lmp):
    script = md.lammps_deck([md.Segment(0.002, "nve")], gst(), md.DEMO_GAP, tmp_path, temperature_K=300.0)
    name = setup_only(script, ["run 0"])
    text = (tmp_path / name).read_text()
    (tmp_path / "bare.lmp").write_text(text.replace('"Potential xml_label=GAP_2026_11_28_0_2_1_23_903"', '"Potential"'))
    with pytest.raises(RuntimeError, match="too few or too many Potential_Simple types"):
        run_deck(tmp_path, script="bare.lmp", lmp=lmp)
    run_deck(tmp_path, script=name, lmp=lmp)  # the deck as written


def test_deck_potential_errors(tmp_path):
    atoms = gst()
    nvt = [md.Segment(0.01, "nvt", 300.0)]
    with pytest.raises(errors.PotentialNotFoundError, match="no GAP potential file"):
        md.lammps_deck(nvt, atoms, tmp_path / "missing.xml", tmp_path / "deck")
    two = tmp_path / "two.xml"
    two.write_text('<pot><Potential label="A" init_args="IP GAP label=A"/><Potential label="B" init_args="IP GAP label=B"/>'
                   '<GAP_params label="A"/><GAP_params label="B"/></pot>')
    with pytest.raises(errors.PotentialFileError, match=r"several potentials \(A, B\).*xml_label="):
        md.lammps_deck(nvt, atoms, two, tmp_path / "deck")
    with pytest.raises(errors.PotentialFileError, match="no potential labelled xml_label='C'"):
        md.lammps_deck(nvt, atoms, two, tmp_path / "deck", xml_label="C")
    assert not (tmp_path / "deck").exists()
    text = md.lammps_deck(nvt, atoms, two, tmp_path / "deck", xml_label="B", copy_potential=False).read_text()
    assert 'pair_coeff * * "../two.xml" "Potential xml_label=B" 32 51 52' in text
    bare = tmp_path / "bare.xml"  # only <GAP_params>: QUIP's own "IP GAP" finds it
    bare.write_text('<pot><GAP_params label="G"/></pot>')
    assert '"IP GAP" 32' in md.lammps_deck(nvt, atoms, bare, tmp_path / "deck", copy_potential=False).read_text()
    again = md.lammps_deck(nvt, atoms, md.DEMO_GAP, tmp_path / "deck")  # a second deck keeps the files already there
    inode = (tmp_path / "deck" / "gap.xml").stat().st_ino
    md.lammps_deck(nvt, atoms, md.DEMO_GAP, tmp_path / "deck")
    assert (tmp_path / "deck" / "gap.xml").stat().st_ino == inode and again.is_file()


def block_mean(values, blocks=5):
    """Mean and its standard error from ``blocks`` block averages (the samples are correlated)."""
    parts = np.array_split(np.asarray(values, dtype=float), blocks)
    means = np.array([p.mean() for p in parts])
    return means.mean(), means.std(ddof=1) / np.sqrt(blocks)


def agree(a, b, what, *, z=4.0):
    """Two (mean, error) pairs agree within ``z`` combined standard errors."""
    (ma, ea), (mb, eb) = a, b
    assert abs(ma - mb) < z * np.hypot(ea, eb), f"{what}: md.run {ma:.4g} ± {ea:.2g}, LAMMPS {mb:.4g} ± {eb:.2g}"


def targets(segments, steps, dt_ps=0.002):
    """The thermostat target at each step (NaN for NVE)."""
    ends = np.cumsum([round(s.duration_ps / dt_ps) for s in segments])
    out = []
    for step in steps:
        k = min(int(np.searchsorted(ends, step, side="left")), len(segments) - 1)
        start = ends[k - 1] if k else 0
        out.append(segments[k].target((step - start) / (ends[k] - start)))
    return np.array(out)


PROTOCOLS = {
    "nvt": lambda: [md.Segment(0.4, "nvt", 600.0)],
    "melt_quench": lambda: md.protocol("melt_quench", time_scale=0.004),  # 3000 K → 900 K → 300 K in 0.5 ps
    "set_pulses": lambda: md.protocol("set_pulses", pulses=((650.0, 0.16), (600.0, 0.16), (600.0, 0.08))),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", PROTOCOLS)
def test_thermostatted_protocols_agree_within_statistical_error(tmp_path, lmp, gap, name):
    """Langevin NVT, the melt-quench ramp and a SET train: the moving atoms follow the targets alike in both engines."""
    segments = PROTOCOLS[name]()
    atoms = gst(seed=9)
    first = segments[0].target(0.0)
    atoms = thermalized(atoms, first, seed=10)
    out, ase_log, log = both(tmp_path, atoms, segments, gap, lmp, every=5)
    skip = 25  # 0.05 ps: the start
    lag = {}
    for engine, steps, temperature in (("md.run", ase_log["step"], ase_log["temperature_K"]),
                                       ("LAMMPS", log["Step"], log["Temp"])):
        keep = steps >= skip
        lag[engine] = block_mean(temperature[keep] - targets(segments, steps[keep]))
    agree(lag["md.run"], lag["LAMMPS"], f"{name}: mean T - target (K)")
    for engine, (mean, error) in lag.items():  # and both follow the target (a Langevin ramp lags a little)
        assert abs(mean) < 4 * error + 0.05 * first, (engine, mean, error)


@pytest.mark.slow
def test_npt_volumes_agree_within_statistical_error(tmp_path, lmp, gap):
    """NPT at 3 GPa and 300 K: the same mean volume and temperature.

    At 0 GPa the demo GAP's rock-salt cell is metastable (it expands by ~17 % and lowers its energy within 0.4 ps,
    in either engine at its own pace): compressed to a = 6.0 Å (about +3 GPa) it stays put, as in the paper's
    confined device cells.
    """
    atoms = thermalized(structures.rocksalt("Ge1Sb2Te4", (2, 2, 2), a=6.0, seed=0), 300.0, seed=11)
    segments = [md.Segment(1.0, "npt", 300.0, pressure_GPa=3.0)]
    out, ase_log, log = both(tmp_path, atoms, segments, gap, lmp, every=5)
    skip = 100  # 0.2 ps
    ase = block_mean(ase_log["volume_A3"][ase_log["step"] >= skip])
    lammps = block_mean(log["Volume"][log["Step"] >= skip])
    agree(ase, lammps, "NPT volume (Å³)")
    assert abs(lammps[0] / atoms.get_volume() - 1) < 0.03 and abs(ase[0] / atoms.get_volume() - 1) < 0.03
    agree(block_mean(ase_log["temperature_K"][ase_log["step"] >= skip]), block_mean(log["Temp"][log["Step"] >= skip]),
          "NPT temperature (K)")


@pytest.mark.slow
def test_reset_with_its_anneal_on_a_small_mushroom_cell(tmp_path, lmp, gap):
    """The paper's RESET step scaled down: 300 K anneal (stochastic), pulse, relaxation; P·Δt and fixed atoms in both."""
    atoms = structures.mushroom_cell(seed=1, size=(3, 2, 3), heater_radius=6.0)
    energy = 2.0
    segments = md.protocol("reset_pulse", region=atoms.arrays["heater"], energy_eV=energy, pulse_ps=0.1, relax_ps=0.1,
                           anneal_ps=0.1)
    out, ase_log, log = both(tmp_path, atoms, segments, gap, lmp, every=5, temperature_K=300.0)
    assert out["heat_added_eV"] == pytest.approx(energy, rel=1e-12)
    steps = log["Step"]
    pulse = log["TotEng"][steps == 100][-1], log["TotEng"][steps == 150][0]  # the pulse runs from step 50 to 100
    assert log["TotEng"][steps == 100][0] - log["TotEng"][steps == 50][-1] == pytest.approx(energy, abs=0.02)
    assert abs(pulse[1] - pulse[0]) < 0.02  # NVE relaxation
    dump = read_dump(tmp_path / "deck" / "dump.lammpstrj", groups=tmp_path / "deck" / "groups.lmp")
    fixed = atoms.arrays["fixed"]
    assert all(np.abs(wrapped(f.positions[fixed] - atoms.positions[fixed], atoms.cell.array)).max() < 1e-12 for f in dump)
    relax = (ase_log["step"] > 100), (steps > 100)
    agree(block_mean(ase_log["temperature_K"][relax[0]]), block_mean(log["Temp"][relax[1]]),
          "temperature after the pulse (K)")
