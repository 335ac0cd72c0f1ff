"""Neighbour lists against ASE's (an independent implementation) and invariants."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.neighborlist import neighbor_list as ase_neighbor_list
from conftest import random_atoms, skip_without

import gstorder
from gstorder import neighbors
from gstorder.errors import ArgumentTypeError, CellTooSmallError, InvalidArgumentError, UnknownSpeciesError


def canonical(i, j, S, *rest):
    """Pair arrays sorted by (i, j, shift) so lists from different codes compare."""
    key = np.lexsort((S[:, 2], S[:, 1], S[:, 0], j, i))
    return (i[key], j[key], S[key]) + tuple(r[key] for r in rest)


def assert_same_as_ase(atoms, cutoff, self_interaction=False):
    ref = canonical(*ase_neighbor_list("ijSdD", atoms, cutoff, self_interaction=self_interaction))
    got = canonical(*neighbors.neighbor_list("ijSdD", atoms, cutoff, self_interaction=self_interaction))
    assert len(got[0]) == len(ref[0])
    for a, b in zip(got[:3], ref[:3]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(got[3], ref[3], rtol=0, atol=1e-10)
    np.testing.assert_allclose(got[4], ref[4], rtol=0, atol=1e-10)
    return len(got[0])


@pytest.mark.parametrize("seed", range(12))
def test_random_triclinic_cells_match_ase(seed):
    rng = np.random.default_rng(seed)
    pbc = rng.random(3) < 0.7
    atoms = random_atoms(rng, int(rng.integers(1, 60)), pbc=pbc)
    cutoff = float(rng.uniform(1.0, 7.0))
    assert_same_as_ase(atoms, cutoff, self_interaction=bool(seed % 2))


@pytest.mark.parametrize("cutoff", [2.5, 6.0, 11.0])
def test_tiny_cells_with_many_images(cutoff):
    # cut-offs up to several times the cell: every atom sees many images of itself
    atoms = random_atoms(np.random.default_rng(1), 3, size=(2.0, 3.0))
    n = assert_same_as_ase(atoms, cutoff)
    density = len(atoms) / atoms.get_volume()
    assert n == pytest.approx(len(atoms) * density * 4 / 3 * np.pi * cutoff**3, rel=0.5)


def test_large_rocksalt_gst_cell_matches_ase():
    # 12,096 atoms: the paper's 12x12x12 rock-salt Ge1Sb2Te4, SOAP cut-off
    atoms = bulk("NaCl", "rocksalt", a=6.0, cubic=True).repeat(12)
    cations = np.random.default_rng(7).permutation(np.nonzero(atoms.numbers == 11)[0])
    numbers = atoms.numbers.copy()
    numbers[numbers == 17] = 52
    numbers[cations[:1728]] = 32
    numbers[cations[1728:5184]] = 51
    atoms.numbers = numbers
    del atoms[cations[5184:]]
    atoms.rattle(0.1, seed=1)
    assert len(atoms) == 12096
    assert assert_same_as_ase(atoms, 5.5) > 270000


def test_single_atom_simple_cubic_shell_counts():
    atoms = Atoms("Te", cell=np.eye(3) * 3.0, pbc=True)
    nl = neighbors.build(atoms, 3.0 * np.sqrt(3) + 1e-6)
    assert nl.coordination.tolist() == [6 + 12 + 8]
    assert set(np.round(nl.distances, 6)) == {3.0, round(3.0 * np.sqrt(2), 6), round(3.0 * np.sqrt(3), 6)}


def test_non_periodic_cluster_with_zero_cell():
    rng = np.random.default_rng(3)
    atoms = Atoms(numbers=rng.choice([32, 52], 80), positions=rng.uniform(-10, 10, (80, 3)))
    assert not atoms.pbc.any() and not atoms.cell.any()
    assert assert_same_as_ase(atoms, 4.0) > 0


def test_slab_periodic_in_two_directions_with_zero_third_vector():
    rng = np.random.default_rng(4)
    atoms = Atoms(numbers=rng.choice([51, 52], 50), cell=[[6, 0, 0], [2, 5, 0], [0, 0, 0]], pbc=[True, True, False])
    atoms.positions = rng.uniform(0, 1, (50, 3)) * [8, 6, 12]
    assert_same_as_ase(atoms, 3.5)


def test_far_away_sparse_atoms_do_not_exhaust_memory():
    atoms = Atoms("Ge3", positions=[[0, 0, 0], [1e5, 0, 0], [1e5, 2.0, 0]])
    nl = neighbors.build(atoms, 3.0)
    assert sorted(zip(nl.i.tolist(), nl.j.tolist())) == [(1, 2), (2, 1)]


def test_per_species_pair_cutoffs_match_ase(rng):
    atoms = random_atoms(rng, 60, size=(8.0, 10.0))
    table = {("Ge", "Te"): 3.4, ("Sb", "Te"): 3.2, ("Te", "Te"): 2.9, ("Ge", "Ge"): 2.7}
    ase_table = {(32, 52): 3.4, (51, 52): 3.2, (52, 52): 2.9, (32, 32): 2.7}
    ref = canonical(*ase_neighbor_list("ijSd", atoms, ase_table))
    got = canonical(*neighbors.neighbor_list("ijSd", atoms, table))
    for a, b in zip(got[:3], ref[:3]):
        np.testing.assert_array_equal(a, b)
    assert len(got[0]) > 0
    # pairs absent from the table (Ge-Sb, Sb-Sb) never appear
    z = atoms.numbers
    assert not np.any((z[got[0]] == 51) & (z[got[1]] != 52))


def test_per_atom_radii_match_ase(rng):
    atoms = random_atoms(rng, 50, size=(7.0, 9.0))
    radii = rng.uniform(0.8, 1.8, len(atoms))
    ref = canonical(*ase_neighbor_list("ijSd", atoms, radii))
    got = canonical(*neighbors.neighbor_list("ijSd", atoms, radii))
    for a, b in zip(got[:3], ref[:3]):
        np.testing.assert_array_equal(a, b)


def test_drop_in_returns_ase_types_and_single_arrays():
    atoms = bulk("NaCl", "rocksalt", a=6.0)
    i = neighbors.neighbor_list("i", atoms, 3.2)
    assert isinstance(i, np.ndarray) and i.dtype == np.intp
    S = neighbors.neighbor_list("S", atoms, 3.2)
    assert S.dtype == np.intp and S.shape == (12, 3)
    with pytest.raises(ValueError, match="unknown quantity 'x'"):
        neighbors.neighbor_list("ix", atoms, 3.2)


def test_rocksalt_coordination_six_and_csr_layout():
    atoms = bulk("NaCl", "rocksalt", a=6.0, cubic=True).repeat(3)
    nl = neighbors.build(atoms, 3.2)
    assert (nl.coordination == 6).all()
    np.testing.assert_allclose(nl.distances, 3.0)
    assert (np.diff(nl.i) >= 0).all()  # grouped by centre
    for c in (0, 17, 53):
        np.testing.assert_array_equal(nl.i[nl.offsets[c] : nl.offsets[c + 1]], c)
        assert len(nl.neighbors(c)) == 6
    np.testing.assert_allclose(np.linalg.norm(nl.vectors, axis=1), nl.distances)


def test_vectors_equal_positions_plus_shifts(rng):
    atoms = random_atoms(rng, 40)
    nl = neighbors.build(atoms, 5.0)
    expected = atoms.positions[nl.j] + nl.shifts @ atoms.cell.array - atoms.positions[nl.i]
    np.testing.assert_allclose(nl.vectors, expected, atol=1e-10)


def test_full_list_is_symmetric_and_half_list_is_half(rng):
    atoms = random_atoms(rng, 40, size=(3.0, 6.0))
    full = neighbors.build(atoms, 6.5)
    forward = set(zip(full.i.tolist(), full.j.tolist(), map(tuple, full.shifts.tolist())))
    backward = set(zip(full.j.tolist(), full.i.tolist(), map(tuple, (-full.shifts).tolist())))
    assert forward == backward
    half = neighbors.build(atoms, 6.5, full=False)
    assert not half.full and 2 * len(half) == len(full)
    pairs = set(zip(half.i.tolist(), half.j.tolist(), map(tuple, half.shifts.tolist())))
    mirrored = {(j, i, tuple(-s for s in S)) for i, j, S in pairs}
    assert pairs | mirrored == forward and not pairs & mirrored


def test_self_interaction_adds_each_atom_once(rng):
    atoms = random_atoms(rng, 10)
    without = neighbors.build(atoms, 4.0)
    with_self = neighbors.build(atoms, 4.0, self_interaction=True)
    assert len(with_self) == len(without) + 10
    half = neighbors.build(atoms, 4.0, self_interaction=True, full=False)
    assert len(half) == len(without) // 2 + 10


def test_translation_rotation_permutation_invariance(rng):
    atoms = random_atoms(rng, 50, size=(6.0, 9.0))
    ref = neighbors.build(atoms, 4.5)
    ref_d = np.sort(ref.distances)

    moved = atoms.copy()
    moved.positions += rng.uniform(-50, 50, 3)
    np.testing.assert_allclose(np.sort(neighbors.build(moved, 4.5).distances), ref_d, atol=1e-9)

    rotated = atoms.copy()
    rotated.rotate(37, "x", rotate_cell=True)
    rotated.rotate(71, (1, 1, 0), rotate_cell=True)
    got = neighbors.build(rotated, 4.5)
    np.testing.assert_allclose(np.sort(got.distances), ref_d, atol=1e-9)

    perm = rng.permutation(len(atoms))
    shuffled = atoms[perm]
    got = neighbors.build(shuffled, 4.5)
    np.testing.assert_array_equal(np.sort(got.coordination), np.sort(ref.coordination))
    np.testing.assert_array_equal(got.coordination, ref.coordination[perm])


def test_serial_equals_parallel_equals_blocks(rng):
    atoms = random_atoms(rng, 3000, size=(30.0, 34.0))
    serial = neighbors.build(atoms, 5.5, parallel=False)
    with gstorder.threads(2):
        parallel = neighbors.build(atoms, 5.5, parallel=True)
    for name in ("offsets", "i", "j", "distances", "vectors", "shifts"):
        np.testing.assert_array_equal(getattr(serial, name), getattr(parallel, name))
    blocks = list(neighbors.iter_blocks(atoms, 5.5, block_size=700))
    assert [len(b.centers) for b in blocks] == [700, 700, 700, 700, 200]
    np.testing.assert_array_equal(np.concatenate([b.i for b in blocks]), serial.i)
    np.testing.assert_array_equal(np.concatenate([b.j for b in blocks]), serial.j)
    np.testing.assert_array_equal(np.concatenate([b.shifts for b in blocks]), serial.shifts)


def test_subset_of_centres(rng):
    atoms = random_atoms(rng, 60)
    full = neighbors.build(atoms, 4.0)
    centers = np.array([5, 2, 40])
    sub = neighbors.build(atoms, 4.0, centers=centers)
    np.testing.assert_array_equal(sub.centers, centers)
    for c, atom in enumerate(centers):
        got = sorted(zip(sub.neighbors(c).tolist(), map(tuple, sub.shifts[sub.offsets[c] : sub.offsets[c + 1]].tolist())))
        want = sorted(zip(full.neighbors(atom).tolist(), map(tuple, full.shifts[full.offsets[atom] : full.offsets[atom + 1]].tolist())))
        assert got == want
    mask = np.zeros(60, bool)
    mask[[2, 5, 40]] = True
    np.testing.assert_array_equal(neighbors.build(atoms, 4.0, centers=mask).centers, [2, 5, 40])


def test_within_and_select(rng):
    atoms = random_atoms(rng, 80, size=(8.0, 9.0))
    long = neighbors.build(atoms, 5.5)
    short = long.within(3.2)
    direct = neighbors.build(atoms, 3.2)
    np.testing.assert_array_equal(short.coordination, direct.coordination)
    assert short.cutoff == 3.2
    with pytest.raises(ValueError, match="exceeds"):
        long.within(6.0)


def test_empty_frame_and_no_pairs_are_typed():
    nl = neighbors.build(Atoms(cell=np.eye(3) * 5, pbc=True), 3.0)
    assert len(nl) == 0 and nl.i.dtype == np.int32 and nl.vectors.shape == (0, 3) and nl.offsets.tolist() == [0]
    i, d, D = neighbors.neighbor_list("idD", Atoms("Ge2", positions=[[0, 0, 0], [9, 0, 0]]), 3.0)
    assert i.shape == (0,) and d.dtype == np.float64 and D.shape == (0, 3)


def test_bad_input_is_refused_clearly():
    atoms = bulk("NaCl", "rocksalt", a=6.0)
    with pytest.raises(InvalidArgumentError, match=r"cutoff must be .*, got -1.0"):
        neighbors.build(atoms, -1.0)
    with pytest.raises(ArgumentTypeError, match="cutoff must be a real number"):
        neighbors.build(atoms, "far")
    with pytest.raises(UnknownSpeciesError, match="'Xy'"):
        neighbors.build(atoms, {("Xy", "Cl"): 3.0})
    with pytest.raises(InvalidArgumentError, match="2 entries"):
        neighbors.build(atoms, [1.0, 2.0, 3.0])
    bad = atoms.copy()
    bad.positions[1, 2] = np.nan
    with pytest.raises(InvalidArgumentError, match=r"atom 1 has a non-finite position"):
        neighbors.build(bad, 3.0)
    with pytest.raises(InvalidArgumentError, match="centers"):
        neighbors.build(atoms, 3.0, centers=[5])


def test_cell_too_small_check_names_direction_and_fix():
    atoms = bulk("NaCl", "rocksalt", a=6.0, cubic=True)
    neighbors.require_cutoff_fits(atoms, 2.9)
    assert neighbors.max_cutoff_without_images(atoms) == pytest.approx(3.0)
    with pytest.raises(CellTooSmallError, match=r"direction 0: width 6.000 Å < 2\*cutoff=8.000 Å; use cutoff <= 3.000"):
        neighbors.require_cutoff_fits(atoms, 4.0)
    assert neighbors.max_cutoff_without_images(Atoms("Ge")) == np.inf


def test_ases_own_neighbour_list_tests_pass_with_the_drop_in(monkeypatch):
    """ASE's test_neighbor_kernel.py (shipped in its wheel) run against gstorder's neighbor_list: empty cells, dummy
    atoms, per-atom cut-off arrays, small and tilted cells, self-interaction and shifts."""
    import importlib.util
    from pathlib import Path

    import ase
    import ase.neighborlist

    path = Path(ase.__file__).parent / "test" / "neighbor" / "test_neighbor_kernel.py"
    if not path.is_file():
        skip_without("ase-tests", f"ASE's own tests are not installed ({path})")
    monkeypatch.setattr(ase.neighborlist, "neighbor_list", neighbors.neighbor_list)
    spec = importlib.util.spec_from_file_location("ase_test_neighbor_kernel", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # binds neighbor_list to the drop-in
    assert module.neighbor_list is neighbors.neighbor_list
    tests = [getattr(module, name) for name in dir(module) if name.startswith("test_")]
    assert tests
    for test in tests:
        test()
