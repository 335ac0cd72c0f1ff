"""Ring statistics against matscipy and a brute-force enumeration, ABAB squares of lattices, bad input."""

import importlib

import numpy as np
import pytest
from ase import Atoms
from ase.io import read

import gstorder
from gstorder import rings, structures
from gstorder.errors import InvalidArgumentError

from conftest import extdata
from naive import rings_by_enumeration

AGETE = "aGeTe_AIMD_300K_216at_400fr.extxyz"


def _matscipy():
    try:
        return importlib.import_module("matscipy.rings")
    except ImportError:
        pytest.skip("matscipy is not installed: it is the reference these tests compare against (pip install matscipy)")


def _honeycomb(n1, n2, d=1.42):
    a = d * np.sqrt(3)
    cell = [[a, 0, 0], [a / 2, a * np.sqrt(3) / 2, 0], [0, 0, 10]]
    return Atoms("Ge2", scaled_positions=[[1 / 3, 1 / 3, 0.5], [2 / 3, 2 / 3, 0.5]], cell=cell, pbc=True).repeat((n1, n2, 1))


@pytest.mark.parametrize("index", [0, 250])
def test_shortest_path_rings_equal_matscipy_on_amorphous_gete(index):
    ring_statistics = _matscipy().ring_statistics
    atoms = read(extdata(AGETE), index=index)
    ours = rings(atoms, max_size=12)
    theirs = np.zeros(13, dtype=int)
    found = np.asarray(ring_statistics(atoms, 3.2))  # unbounded: its maxlength= drops or overflows the largest sizes
    theirs[: min(13, len(found))] = found[:13]
    np.testing.assert_array_equal(ours["count"].values[0], theirs[3:])
    assert ours["count"].values.sum() > 200


def test_crystal_rings_equal_matscipy_in_any_atom_order():
    """A layered crystal to 12 atoms: long walks away that turn nowhere (skipped once found dead), searches kept between
    roots; numbering the atoms otherwise changes no count, and the per-atom arrays follow the atoms."""
    ring_statistics = _matscipy().ring_statistics
    crystal = structures.trigonal("Ge1Sb2Te4", (2, 2, 1), orthogonal=True)
    crystal.positions += np.random.default_rng(1).normal(scale=0.1, size=crystal.positions.shape)
    ours = rings(crystal, max_size=12, per_atom=True)
    theirs = np.zeros(13, dtype=int)
    found = np.asarray(ring_statistics(crystal, 3.2))
    theirs[: min(13, len(found))] = found[:13]
    np.testing.assert_array_equal(ours["count"].values[0], theirs[3:])
    assert ours["count"].sel(size=8).item() > 0  # beyond squares and hexagons
    shuffle = np.random.default_rng(2).permutation(len(crystal))
    shuffled = rings(crystal[shuffle], max_size=12, per_atom=True)
    for name in ("count", "membership", "abab_squares"):
        np.testing.assert_array_equal(shuffled[name].values, ours[name].values)
    for name in ("atom_rings", "atom_smallest_ring", "atom_abab"):
        np.testing.assert_array_equal(shuffled[name].values[0], ours[name].values[0][shuffle])


def test_shortest_path_equals_primitive_rings_beyond_the_kept_searches():
    """A cell wide enough that no path around it is shorter than half a ring, so both definitions agree, with more
    atoms than the search keeps (BALL_SLOTS, shared by atoms of equal slot): the primitive search keeps none."""
    from gstorder._kernels.network import BALL_SLOTS

    crystal = structures.trigonal("Ge1Sb2Te4", (13, 8, 1), orthogonal=True)
    crystal.positions += np.random.default_rng(3).normal(scale=0.1, size=crystal.positions.shape)
    assert len(crystal) > BALL_SLOTS
    shortest = rings(crystal, max_size=10)["count"].values[0]
    np.testing.assert_array_equal(shortest, rings(crystal, max_size=10, kind="primitive")["count"].values[0])
    assert shortest[8 - 3] > 0


def test_per_pair_cutoffs_equal_matscipy():
    ring_statistics = _matscipy().ring_statistics
    atoms = read(extdata(AGETE), index=10)
    table = {("Ge", "Te"): 3.2, ("Ge", "Ge"): 2.8, ("Te", "Te"): 3.0}
    ours = rings(atoms, cutoff=table, max_size=10)
    found = np.asarray(ring_statistics(atoms, {(32, 52): 3.2, (32, 32): 2.8, (52, 52): 3.0}))
    theirs = np.zeros(11, dtype=int)
    theirs[: min(11, len(found))] = found[:11]
    np.testing.assert_array_equal(ours["count"].values[0], theirs[3:])


@pytest.mark.parametrize("kind", ["shortest-path", "primitive"])
def test_both_kinds_equal_a_brute_force_enumeration(kind):
    lifted = kind == "primitive"
    atoms = read(extdata(AGETE), index=0)
    np.testing.assert_array_equal(rings(atoms, cutoff=3.0, max_size=7, kind=kind)["count"].values[0],
                                  rings_by_enumeration(atoms, 3.0, 7, lifted)[3:])
    tilted = structures.rocksalt("GeTe", (1, 1, 2), a=6.0)
    tilted.rattle(0.1, seed=2)
    tilted.set_cell(tilted.cell.array + [[0, 0, 0], [1.0, 0, 0], [0.5, 0.3, 0]], scale_atoms=True)
    np.testing.assert_array_equal(rings(tilted, cutoff=3.5, max_size=6, kind=kind)["count"].values[0],
                                  rings_by_enumeration(tilted, 3.5, 6, lifted)[3:])


def test_primitive_rings_see_through_small_cells():
    # graphene-like sheets: one hexagon per two atoms; in cells of 2 and 4 atoms every hexagon passes twice through one
    # atom (at different images), so only the image-resolved definition finds them
    for size, hexagons_sp in (((1, 1), 0), ((2, 1), 0), ((3, 3), 9)):
        sheet = _honeycomb(*size)
        sp = rings(sheet, cutoff=1.6, max_size=8)["count"].sel(size=6).item()
        primitive = rings(sheet, cutoff=1.6, max_size=8, kind="primitive")["count"].sel(size=6).item()
        assert (sp, primitive) == (hexagons_sp, len(sheet) // 2)
        assert rings_by_enumeration(sheet, 1.6, 8, lifted=True)[6] == primitive


def test_rocksalt_squares_and_their_abab_share():
    crystal = structures.rocksalt("GeTe", 3, a=6.0)
    ds = rings(crystal, max_size=8, per_atom=True)
    n = len(crystal)
    assert ds["count"].sel(size=4).item() == 3 * n  # a simple cubic net: 12 squares per atom, 4 atoms per square
    assert ds["count"].sel(size=6).item() == 4 * n  # and its chair-like hexagons, as matscipy counts them
    assert ds.abab_squares.item() == 3 * n and ds.abab_fraction.item() == 1.0
    np.testing.assert_array_equal(ds.atom_smallest_ring.values, 4)
    assert ds.atom_rings.values.sum() == (ds["count"] * ds["size"]).sum().item()
    np.testing.assert_allclose(ds.membership.sel(size=4).values, 12.0)


@pytest.mark.filterwarnings("error::FutureWarning")  # no xarray deprecation reaches the user's report
def test_report_rows_name_the_commonest_ring():
    from gstorder.report import key_numbers

    tree = gstorder.analyze([structures.rocksalt("GeTe", 3, a=6.0)], {"rings": {"max_size": 8}}, show_progress=False)
    rows = dict(key_numbers(tree))
    assert rows["rings"] == f"{7 * 216:.0f} per frame, most of size 6"  # 3n squares and 4n hexagons, n = 216
    assert rows["ABAB squares"] == f"{3 * 216} per frame, 100.0% of atoms in one"


def test_abab_squares_of_a_random_alloy_equal_a_lattice_count():
    crystal = structures.rocksalt("GeTe", 3, a=6.0)
    rng = np.random.default_rng(7)
    crystal.numbers = rng.choice([32, 51, 52], len(crystal), p=[0.3, 0.2, 0.5])
    ds = rings(crystal, max_size=4, per_atom=True)
    # the simple cubic net of the sites: a square per site and plane, (x, y), (x+1, y), (x+1, y+1), (x, y+1)
    grid = np.rint(crystal.positions / 3.0).astype(int) % 6
    site = {tuple(g): k for k, g in enumerate(grid)}
    cation = np.isin(crystal.numbers, [32, 51])
    squares, members = 0, set()
    for g in grid:
        for u, v in ((0, 1), (0, 2), (1, 2)):
            corners = []
            for du, dv in ((0, 0), (1, 0), (1, 1), (0, 1)):
                c = g.copy()
                c[u] = (c[u] + du) % 6
                c[v] = (c[v] + dv) % 6
                corners.append(site[tuple(c)])
            kinds = cation[corners]
            if kinds[0] == kinds[2] and kinds[1] == kinds[3] and kinds[0] != kinds[1]:
                squares += 1
                members.update(corners)
    assert ds.abab_squares.item() == squares > 0
    assert ds.abab_fraction.item() == pytest.approx(len(members) / len(crystal))
    assert ds.atom_abab.values.sum() == len(members)


def test_serial_equals_parallel_and_analyze():
    atoms = read(extdata(AGETE), index=5)
    serial = rings(atoms, parallel=False, per_atom=True)
    threaded = rings(atoms, parallel=True, per_atom=True)
    for name in ("count", "membership", "atom_rings", "atom_abab"):
        np.testing.assert_array_equal(serial[name].values, threaded[name].values)
    tree = gstorder.analyze([atoms, atoms], ["rings", "motifs"])
    np.testing.assert_array_equal(tree["rings"]["count"].values, np.repeat(serial["count"].values, 2, axis=0))


@pytest.mark.parametrize("kwargs, message", [
    ({"cutoff": 1.0}, "gives no bonds"),
    ({"max_size": 2}, "max_size must be an integer ≥ 3"),
    ({"kind": "strong"}, "kind='strong'; choose one of"),
    ({"groups": ["cations"]}, "two chemical groups"),
])
def test_bad_input_is_refused_by_name(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        rings(structures.rocksalt("GeTe", 2, a=6.0), **kwargs)


@pytest.mark.parametrize("change, message", [
    ({"i": np.array([0, 3])}, r"pair indices must lie in range\(3\)"),
    ({"j": np.array([-1, 0])}, r"pair indices must lie in range\(3\)"),
    ({"number": [1, 1, 0]}, r"number must be a permutation of range\(3\)"),
    ({"number": [1, 0]}, r"number must be a permutation of range\(3\)"),
    ({"vectors": np.full((2, 3), np.nan)}, "vectors must be finite"),
    ({"shifts": np.zeros((2, 3))}, "must describe the same pairs"),
    ({"j": np.array([1])}, "must describe the same pairs"),
])
def test_bond_graph_refuses_what_would_make_its_kernel_write_astray(change, message):
    """The public bond_graph feeds a kernel that writes where the indices say: out of range it was a segfault."""
    from gstorder.network import bond_graph

    pairs = {"i": np.array([0, 1]), "j": np.array([1, 0]), "vectors": np.ones((2, 3)), "shifts": np.zeros((2, 3), int),
             "n_atoms": 3}
    number = change.pop("number", None)
    with pytest.raises(InvalidArgumentError, match=message):
        bond_graph(**{**pairs, **change}, number=number)
    offsets, nbr, _, _ = bond_graph(**pairs, number=[2, 0, 1])  # atom 0 is the graph's 2, atom 1 its 0
    np.testing.assert_array_equal(offsets, [0, 1, 1, 2])
    np.testing.assert_array_equal(nbr, [2, 0])

