"""Steinhardt q_l / w_l, Lechner–Dellago q̄_l and solid bonds (issue 21) against textbook crystals, a brute-force
sum, freud and real GeTe/GST frames."""

from pathlib import Path

import numpy as np
import pytest

from conftest import require
import xarray as xr
from ase.build import bulk

import gstorder
from gstorder import neighbors, order, structures
from gstorder.errors import ArgumentTypeError, InvalidArgumentError

from conftest import extdata, random_atoms
import naive

freud = require("freud", "freud")
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name, atoms, cutoff", [
    ("fcc", bulk("Cu", "fcc", a=3.6, cubic=True), 3.0),
    ("bcc", bulk("Fe", "bcc", a=2.87, cubic=True), 2.6),
    ("bcc14", bulk("Fe", "bcc", a=2.87, cubic=True), 3.0),
    ("sc", bulk("Po", "sc", a=3.0), 3.2),
])
def test_ideal_crystals_have_their_textbook_values(name, atoms, cutoff):
    ds = order.steinhardt(atoms.repeat(3), cutoff=cutoff, wl=True)
    for var, value in order.TEXTBOOK[name].items():
        np.testing.assert_allclose(ds[var].values, value, atol=2e-6, err_msg=var)
    # q̄ of a perfect crystal is its q (every neighbour has the same q_lm)
    avg = order.steinhardt(atoms.repeat(3), cutoff=cutoff, average=True)
    np.testing.assert_allclose(avg.q6.values, order.TEXTBOOK[name]["q6"], atol=2e-6)


def test_wigner_3j_is_orthonormal_and_has_known_values():
    assert order.wigner_3j(2, 2, 2, 0, 0, 0) == pytest.approx(-np.sqrt(2 / 35))
    assert order.wigner_3j(1, 1, 0, 1, -1, 0) == pytest.approx(1 / np.sqrt(3))
    for l in (4, 6):
        total = sum(order.wigner_3j(l, l, l, m1, m2, -m1 - m2) ** 2 for m1 in range(-l, l + 1) for m2 in range(-l, l + 1))
        assert total == pytest.approx(1.0)  # Σ_{m1 m2} (l l l; m1 m2 m3)² = 1 summed over m3 as well


@pytest.mark.parametrize("average", [False, True])
def test_equals_a_brute_force_sum_on_a_random_triclinic_cell(rng, average):
    atoms = random_atoms(rng, 40, size=(6.0, 8.0))
    ds = order.steinhardt(atoms, l=(3, 4, 6), cutoff=3.4, average=average, wl=True)
    for l in (3, 4, 6):
        q, w, _ = naive.steinhardt(atoms, 3.4, l, average=average)
        np.testing.assert_allclose(ds[f"q{l}"].values[0], q, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ds[f"w{l}"].values[0], w, rtol=1e-8, atol=1e-10)


def _freud_nlist(frame, nl):
    return freud.locality.NeighborList.from_arrays(len(frame), len(frame), nl.i, nl.j, nl.vectors)


@pytest.mark.parametrize("average, wl, normalize", [(False, False, True), (True, False, True), (False, True, False),
                                                    (True, True, True)])
def test_equals_freud_on_the_same_neighbours(average, wl, normalize):
    atoms = structures.rocksalt("Ge1Sb2Te4", 3, seed=1)
    atoms.rattle(0.2, seed=2)
    atoms.set_cell(atoms.cell.array + [[0, 0, 0], [2.0, 0, 0], [1.0, -1.5, 0]], scale_atoms=False)  # triclinic
    frame = gstorder.as_frame(atoms)
    table = {("Ge", "Te"): 3.2, ("Sb", "Te"): 3.4, ("Te", "Te"): 3.0}
    nl = neighbors.build(frame, table)
    box = freud.box.Box.from_matrix(frame.cell.T)
    st = freud.order.Steinhardt([4, 6], average=average, wl=wl, wl_normalize=normalize)
    st.compute((box, box.wrap(frame.positions)), neighbors=_freud_nlist(frame, nl))
    ds = order.steinhardt(atoms, cutoff={"Ge-Te": 3.2, "Sb-Te": 3.4, "Te-Te": 3.0}, average=average, wl=wl,
                          wl_normalize=normalize)
    for k, l in enumerate((4, 6)):
        mine = ds[f"w{l}" if wl else f"q{l}"].values[0]
        np.testing.assert_allclose(mine, st.particle_order[:, k], atol=3e-5, equal_nan=True)  # freud: float32


def test_solid_bonds_equal_freud_solid_liquid():
    atoms = structures.rocksalt("Ge1Sb2Te4", 3, seed=1)
    atoms.rattle(0.25, seed=3)
    frame = gstorder.as_frame(atoms)
    nl = neighbors.build(frame, 3.2)
    box = freud.box.Box.from_matrix(frame.cell.T)
    sl = freud.order.SolidLiquid(4, 0.7, 3)
    sl.compute((box, box.wrap(frame.positions)), neighbors=_freud_nlist(frame, nl))
    ds = order.solid_bonds(atoms)
    np.testing.assert_array_equal(ds.solid_bonds.values[0], sl.num_connections)
    assert 0.2 < ds.solid_fraction.values[0] < 0.95  # a test with both kinds of atom
    six = order.solid_bonds(atoms, solid_l=6, bond_threshold=0.5, min_bonds=5)
    sl6 = freud.order.SolidLiquid(6, 0.5, 5)
    sl6.compute((box, box.wrap(frame.positions)), neighbors=_freud_nlist(frame, nl))
    np.testing.assert_array_equal(six.solid_bonds.values[0], sl6.num_connections)


def test_invariant_under_rotation_translation_and_permutation(rng):
    atoms = structures.rocksalt("GeTe", 3, a=6.0)
    atoms.rattle(0.15, seed=4)
    ref = order.steinhardt(atoms, wl=True, average=True)
    moved = atoms.copy()
    moved.rotate(37, (1, 2, 3), rotate_cell=True)
    moved.translate([1.3, -0.4, 2.2])
    perm = rng.permutation(len(atoms))
    moved = moved[perm]
    ds = order.steinhardt(moved, wl=True, average=True)
    for var in ("q4", "q6", "w4", "w6", "solid_bonds"):
        np.testing.assert_allclose(ds[var].values[0], ref[var].values[0][perm], atol=1e-10, err_msg=var)


def test_serial_equals_parallel_and_blocks():
    atoms = structures.rocksalt("Ge1Sb2Te4", 6, seed=2)
    atoms.rattle(0.2, seed=1)
    a = order.steinhardt(atoms, parallel=False, average=True, wl=True)
    b = order.steinhardt(atoms, parallel=True, average=True, wl=True, block_size=500)
    xr.testing.assert_allclose(a, b, rtol=1e-12)


def test_atoms_without_neighbours_are_nan_and_never_solid():
    from ase import Atoms

    ds = order.steinhardt(Atoms("GeTeTe", positions=[[0, 0, 0], [2.8, 0, 0], [9, 9, 9]]), cutoff=3.2)  # a free pair
    np.testing.assert_allclose(ds.q4.values[0], [1.0, 1.0, np.nan])  # one neighbour: q_l = 1 for every l
    with pytest.warns(gstorder.errors.GstorderWarning, match="no atom with neighbours"):
        lone = order.steinhardt(bulk("Cu", "sc", a=5.0), cutoff=3.0)
    assert np.isnan(lone.q4.values).all() and not lone.solid.values.any() and lone.solid_bonds.values.max() == 0


def test_select_gives_means_over_the_selected_atoms():
    atoms = structures.rocksalt("Ge1Sb2Te4", 3, seed=1)
    atoms.rattle(0.2, seed=5)
    full = order.steinhardt(atoms)
    te = order.steinhardt(atoms, select="Te")
    np.testing.assert_allclose(te.q_mean.values[0], [full.q4.values[0][atoms.numbers == 52].mean(),
                                                     full.q6.values[0][atoms.numbers == 52].mean()])
    np.testing.assert_allclose(te.q4.values, full.q4.values)  # every atom keeps its own value


def test_analyze_runs_it_in_the_one_pass(tmp_path):
    frames = [structures.rocksalt("GeTe", 3, a=6.0) for _ in range(2)]
    for k, f in enumerate(frames):
        f.rattle(0.1 * (k + 1), seed=k)
    tree = gstorder.analyze(frames, ["steinhardt", "motifs"], per_atom=tmp_path / "atoms.nc")
    alone = order.steinhardt(frames, per_atom=False)
    xr.testing.assert_allclose(tree["steinhardt"].to_dataset(), alone)
    with xr.open_dataset(tmp_path / "atoms.nc") as atoms:
        np.testing.assert_allclose(atoms.q4.values, order.steinhardt(frames).q4.values)
        assert {"q4", "q6", "solid", "solid_bonds"} <= set(atoms.data_vars)


@pytest.mark.parametrize("options, error, match", [
    ({"l": 0}, InvalidArgumentError, "l\\[0\\] must be"),
    ({"l": (4, 13)}, InvalidArgumentError, "≤ 12"),
    ({"l": "4"}, InvalidArgumentError, "integer degree"),
    ({"l": ()}, InvalidArgumentError, "at least one degree"),
    ({"bond_threshold": 1.5}, InvalidArgumentError, "bond_threshold must be"),
    ({"min_bonds": -1}, InvalidArgumentError, "min_bonds must be"),
    ({"cutoff": -3.2}, InvalidArgumentError, "cutoff must be positive"),
    ({"average": "yes"}, ArgumentTypeError, "average must be True or False"),
])
def test_bad_arguments_are_named(options, error, match):
    with pytest.raises(error, match=match):
        order.steinhardt(structures.rocksalt("GeTe", 1, a=6.0), **options)


def test_real_crystals_are_solid_and_real_glass_and_liquid_are_not():
    """The defaults on frames gstorder did not make (../shared/extdata) and on the shipped thermal rock-salt GST."""
    import ase.io

    alpha = ase.io.read(extdata("GeTe_alpha_13824at_altbc_POSCAR"))
    amorphous = gstorder.Trajectory(extdata("aGeTe_AIMD_300K_216at_400fr.extxyz"))[::80]
    liquid = gstorder.Trajectory(extdata("lGeTe_AIMD_1000K_216at_40fr.extxyz"))[::8]
    rocksalt = gstorder.Trajectory(ROOT / "data" / "gst124_rocksalt_189at_thermal.extxyz")[::20]
    assert order.solid_bonds(alpha).solid_fraction.mean() > 0.99
    assert order.solid_bonds(rocksalt).solid_fraction.mean() > 0.9
    assert order.solid_bonds(amorphous).solid_fraction.mean() < 0.1
    assert order.solid_bonds(liquid).solid_fraction.mean() < 0.03
