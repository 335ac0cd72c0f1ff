"""Hardening of the neighbour list, cells and geometry: degenerate cut-offs and cells, far and dummy atoms, bad arguments."""

import itertools

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.neighborlist import neighbor_list as ase_neighbor_list

from gstorder import adf, density, neighbors, rdf, structures
from gstorder.errors import (ArgumentTypeError, InvalidArgumentError, MissingDataError, SingularCellError,
                             UnknownSpeciesError)
from gstorder.frames import as_frame, axis_coordinates, minimum_image
from gstorder.md import sphere
from gstorder.thermal import _minimum_image
from naive import pairs_with_images


def canonical(i, j, S, D):
    key = np.lexsort((S[:, 2], S[:, 1], S[:, 0], j, i))
    return i[key], j[key], S[key], D[key]


def same_pairs(got, ref):
    got, ref = canonical(*got), canonical(*ref)
    assert len(got[0]) == len(ref[0])
    for a, b in zip(got[:3], ref[:3]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(got[3], ref[3], rtol=0, atol=1e-9)


def vector_multiset(nl):
    """Pairs as sorted (i, j, rounded vector) rows: independent of the cell vectors that name the images."""
    rows = np.column_stack([nl.i, nl.j, np.round(nl.vectors, 6)])
    return rows[np.lexsort(rows.T[::-1])]


def tilted(t, n=6, seed=0):
    """``n`` atoms in a 5 Å cube (t=0) or the same lattice with b and c tilted by ``t`` Å."""
    pos = np.random.default_rng(seed).uniform(0, 5, (n, 3))
    cell = np.array([[5.0, 0, 0], [t, 5.0, 0], [t, t, 5.0]])
    return Atoms(numbers=[32] * n, positions=pos, cell=cell, pbc=True)


# --------------------------------------------------------------------------- cell-list grid sizing


@pytest.mark.parametrize("cutoff", [1e-20, 3.2e-10, 1e-300, 5e-324])
def test_tiny_cutoffs_give_the_exact_pairs(cutoff):
    atoms = bulk("NaCl", "rocksalt", a=6.0) * (2, 2, 2)
    atoms += Atoms("Na", positions=[atoms.positions[3]])  # coincident with atom 3: distance 0 < any cut-off
    nl = neighbors.build(atoms, cutoff)
    assert sorted(zip(nl.i.tolist(), nl.j.tolist())) == [(3, 16), (16, 3)]
    assert (nl.shifts == 0).all() and (nl.distances == 0).all()


def test_far_atoms_in_free_directions():
    rng = np.random.default_rng(3)
    cluster = Atoms(numbers=rng.choice([32, 52], 40), positions=np.vstack([rng.uniform(0, 8, (38, 3)),
                                                                           [[1e7, 0, 0], [1e7 + 2.5, 0, 0]]]))
    same_pairs(neighbors.neighbor_list("ijSD", cluster, 3.2), ase_neighbor_list("ijSD", cluster, 3.2))
    slab = Atoms(numbers=rng.choice([32, 52], 30), positions=np.vstack([rng.uniform(0, 6, (28, 3)), [[1, 1, 1e7],
                                                                        [1, 1, -1e7]]]),
                 cell=[[6, 0, 0], [1, 6, 0], [0, 0, 0]], pbc=[True, True, False])
    same_pairs(neighbors.neighbor_list("ijSD", slab, 3.2), ase_neighbor_list("ijSD", slab, 3.2))


def test_cutoff_spanning_too_many_images_is_refused_not_hung():
    with pytest.raises(InvalidArgumentError, match="cutoff 1e\\+06 Å"):
        neighbors.build(bulk("Cu", "fcc", a=3.6), 1e6)


# --------------------------------------------------------------------------- tilted and singular cells


@pytest.mark.parametrize("tilt", [1000.0, 1e4])
def test_strongly_tilted_cells_equal_the_upright_lattice(tilt):
    upright, skewed = neighbors.build(tilted(0.0), 3.0), neighbors.build(tilted(tilt), 3.0)
    np.testing.assert_allclose(vector_multiset(skewed), vector_multiset(upright), atol=1e-6)
    atoms = tilted(tilt)  # shifts are in the frame's own (tilted) cell vectors
    np.testing.assert_allclose(atoms.positions[skewed.j] + skewed.shifts @ atoms.cell.array - atoms.positions[skewed.i],
                               skewed.vectors, atol=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_tilted_cells_match_ase_with_shifts(seed):
    atoms = tilted(0.0, n=20, seed=seed)
    atoms.set_cell([[5.0, 0, 0], [23.0, 5.0, 0], [-31.0, 17.0, 5.0]], scale_atoms=False)
    same_pairs(neighbors.neighbor_list("ijSD", atoms, 4.0), ase_neighbor_list("ijSD", atoms, 4.0))
    half = neighbors.build(atoms, 4.0, full=False)
    assert 2 * len(half) == len(neighbors.build(atoms, 4.0))
    own = half.shifts[half.i == half.j]  # an atom's own images: each once, lexicographically positive shift
    assert all(tuple(s) > (0, 0, 0) for s in own.tolist())


def test_shifts_beyond_32_bits_are_refused_not_wrapped():
    cell = np.array([[1.0, 0, 0], [2e4, 1, 0], [2e4, 2e4, 1]])  # valid, but 4e8 cell vectors to one reduced vector
    atoms = Atoms("Ge2", positions=[[0, 0, 0], [0.3, 0.3, 40.3]], cell=cell, pbc=True)
    with pytest.raises(SingularCellError, match="overflow 32-bit"):
        neighbors.build(atoms, 0.9)


def test_near_singular_and_non_finite_cells_are_refused():
    flat = Atoms("Ge2", positions=[[0, 0, 0], [1, 1, 1]], cell=[[5, 0, 0], [0, 5, 0], [5, 5, 1e-10]], pbc=True)
    for call in (lambda: neighbors.build(flat, 3.0), lambda: rdf(flat, r_max=3.0), lambda: density(flat),
                 lambda: sphere(flat, centre=[0, 0, 0], radius=1.0)):
        with pytest.raises(SingularCellError, match="linearly dependent"):
            call()
    nan_cell = Atoms("Ge2", positions=[[0, 0, 0], [1, 1, 1]], cell=np.eye(3) * 5, pbc=True)
    nan_cell.cell.array[1, 2] = np.nan
    for call in (lambda: neighbors.build(nan_cell, 3.0), lambda: density(nan_cell),
                 lambda: sphere(nan_cell, centre=[0, 0, 0], radius=1.0),
                 lambda: axis_coordinates(as_frame(nan_cell), 2, what="z_profile")):
        with pytest.raises(InvalidArgumentError, match=r"cell entry \[1, 2\] is nan"):
            call()
    as_frame(flat), as_frame(nan_cell)  # frames hold them; only analyses refuse


def test_non_finite_positions_name_the_atom():
    atoms = structures.rocksalt("GeTe", 2, a=6.0)
    atoms.positions[5, 1] = np.inf
    for call in (lambda: neighbors.build(atoms, 3.0), lambda: list(neighbors.iter_blocks(atoms, 3.0)),
                 lambda: neighbors.neighbor_list("ij", atoms, 3.0), lambda: rdf(atoms, r_max=3.0),
                 lambda: adf(atoms), lambda: sphere(atoms, centre=[0, 0, 0], radius=1.0),
                 lambda: axis_coordinates(as_frame(atoms), 2, what="z_profile")):
        with pytest.raises(InvalidArgumentError, match="atom 5 has a non-finite position"):
            call()


# --------------------------------------------------------------------------- one minimum image


def brute_minimum_image(d, cell, pbc, reach=12):
    """Shortest of every image with up to ``reach`` cell vectors along each periodic axis."""
    images = np.array(list(itertools.product(*[range(-reach, reach + 1) if p else (0,) for p in pbc]))) @ cell
    out = []
    for v in d:
        cand = v + images
        out.append(cand[np.argmin((cand**2).sum(1))])
    return np.array(out)


@pytest.mark.parametrize("pbc", [(True, True, True), (True, True, False), (False, True, False)])
def test_minimum_image_is_the_shortest_image(pbc):
    rng = np.random.default_rng(1)
    cell = np.array([[6.0, 0, 0], [9.0, 5.0, 0], [-4.0, 7.0, 5.5]])
    cell[~np.array(pbc)] = 0.0  # free axes may have zero cell vectors
    atoms = Atoms("Ge", cell=cell, pbc=pbc)
    d = rng.uniform(-9, 9, (60, 3))
    want = brute_minimum_image(d, cell, np.array(pbc))
    np.testing.assert_allclose(minimum_image(as_frame(atoms), d), want, atol=1e-9)
    np.testing.assert_allclose(_minimum_image(as_frame(atoms), d), want, atol=1e-9)


def test_sphere_across_the_boundary():
    atoms = Atoms("Ge4", positions=[[0.5, 5, 5], [9.5, 5, 5], [7.0, 5, 5], [0.5, 5, 9.8]], cell=[10, 10, 10], pbc=True)
    np.testing.assert_array_equal(sphere(atoms, centre=[0.5, 5, 5], radius=2.0), [True, True, False, False])
    near_face = sphere(atoms, centre=[0.2, 5, 5.5], radius=1.0)  # the image of atom 1 is 0.86 Å away
    np.testing.assert_array_equal(near_face, [True, True, False, False])
    slab = Atoms("Ge3", positions=[[0.5, 5, 1], [9.5, 5, 1], [0.5, 5, 9.5]], cell=[[10, 0, 0], [0, 10, 0], [0, 0, 0]],
                 pbc=[True, True, False])
    np.testing.assert_array_equal(sphere(slab, centre=[0.5, 5, 0.5], radius=1.5), [True, True, False])


# --------------------------------------------------------------------------- ASE semantics


def test_zero_cutoffs_give_no_pairs_as_in_ase():
    atoms = bulk("NaCl", "rocksalt", a=6.0)
    for cutoff in (0.0, {(11, 17): 0.0, (11, 11): 4.5}, np.zeros(2)):
        same_pairs(neighbors.neighbor_list("ijSD", atoms, cutoff, self_interaction=True),
                   ase_neighbor_list("ijSD", atoms, cutoff, self_interaction=True))
    nl = neighbors.build(atoms, 5.0)
    assert len(nl.within(0)) == 0 and nl.within(0).cutoff == 0.0


def test_dummy_atoms_are_accepted():
    atoms = Atoms(positions=np.random.default_rng(0).uniform(0, 6, (30, 3)), cell=np.eye(3) * 6, pbc=True)
    assert (atoms.numbers == 0).all()
    same_pairs(neighbors.neighbor_list("ijSD", atoms, 3.0), ase_neighbor_list("ijSD", atoms, 3.0))
    same_pairs(neighbors.neighbor_list("ijSD", atoms, {("X", "X"): 3.0}), ase_neighbor_list("ijSD", atoms, {(0, 0): 3.0}))
    assert as_frame(atoms).formula == "X30"
    with pytest.raises(UnknownSpeciesError, match="dummy atom"):  # analyses by species say why they refuse
        rdf(atoms, r_max=3.0)


def test_flat_clusters_ask_for_a_volume():
    sheet = Atoms("Ge16", positions=[[x, y, 0.0] for x in range(4) for y in range(4)])
    for cluster in (sheet, Atoms("Ge5", positions=np.zeros((5, 3)))):
        with pytest.raises(MissingDataError, match="pass volume="):
            rdf(cluster, r_max=2.0)
    assert np.isfinite(rdf(sheet, r_max=2.0, volume=64.0).g.sel(pair="total")).all()


# --------------------------------------------------------------------------- bad arguments, by family

ATOMS = bulk("NaCl", "rocksalt", a=6.0)
GST = structures.rocksalt("GeTe", 2, a=6.0)
BAD_LENGTHS = [(np.nan, InvalidArgumentError), (np.inf, InvalidArgumentError), (-1.0, InvalidArgumentError),
               ("far", ArgumentTypeError), (None, ArgumentTypeError)]
BAD_COUNTS = [(0, InvalidArgumentError), (-3, InvalidArgumentError), (2.5, InvalidArgumentError),
              (np.nan, InvalidArgumentError), ("x", ArgumentTypeError)]


@pytest.mark.parametrize("value, error", BAD_LENGTHS)
def test_neighbour_list_cutoffs(value, error):
    for call in (lambda c: neighbors.build(ATOMS, c), lambda c: list(neighbors.iter_blocks(ATOMS, c)),
                 lambda c: neighbors.neighbor_list("ij", ATOMS, c), lambda c: neighbors.build(ATOMS, {("Na", "Cl"): c}),
                 lambda c: neighbors.build(ATOMS, 5.0).within(c)):
        with pytest.raises(error, match="cutoff"):
            call(value)
    if value is not None and not isinstance(value, str):
        with pytest.raises(InvalidArgumentError, match="cutoff"):
            neighbors.build(ATOMS, [1.0, value])


def test_neighbour_list_other_arguments():
    with pytest.raises(InvalidArgumentError, match="exceeds"):
        neighbors.build(ATOMS, 3.0).within(3.5)
    with pytest.raises(UnknownSpeciesError, match="'Qq'"):
        neighbors.build(ATOMS, {("Qq", "Na"): 3.0})
    with pytest.raises(InvalidArgumentError, match="keys must be pairs"):
        neighbors.build(ATOMS, {"Na": 3.0})
    with pytest.raises(InvalidArgumentError, match="centers"):
        neighbors.build(ATOMS, 3.0, centers=[-1])
    with pytest.raises(ArgumentTypeError, match="centers"):
        neighbors.build(ATOMS, 3.0, centers=[0.5])
    with pytest.raises(InvalidArgumentError, match="quantities"):
        neighbors.neighbor_list("iq", ATOMS, 3.0)
    with pytest.raises(ArgumentTypeError, match="quantities"):
        neighbors.neighbor_list(5, ATOMS, 3.0)
    with pytest.raises(ArgumentTypeError, match="ase.Atoms or gstorder.Frame"):
        neighbors.build("not atoms", 3.0)
    for value, error in BAD_COUNTS:
        with pytest.raises(error, match="block_size"):
            list(neighbors.iter_blocks(ATOMS, 3.0, block_size=value))


@pytest.mark.parametrize("name", ["r_max", "bin_width", "volume"])
@pytest.mark.parametrize("value, error", BAD_LENGTHS[:4] + [(0.0, InvalidArgumentError)])
def test_rdf_lengths(name, value, error):
    with pytest.raises(error, match=name):
        rdf(GST, **{"r_max": 3.0, name: value})


@pytest.mark.parametrize("value, error", BAD_COUNTS)
def test_rdf_and_adf_bins(value, error):  # block_size is the runner's (gstorder.pipeline.run) to check
    with pytest.raises(error, match="bins"):
        rdf(GST, r_max=3.0, bins=value)
    with pytest.raises(error, match="bins"):
        adf(GST, bins=value)


@pytest.mark.parametrize("value, error", BAD_LENGTHS[:4] + [(0.0, InvalidArgumentError)])
def test_adf_cutoff(value, error):
    with pytest.raises(error, match="cutoff"):
        adf(GST, cutoff=value)
    with pytest.raises(error, match="cutoff"):
        adf(GST, cutoff={("Ge", "Te"): value})


def test_species_arguments():
    with pytest.raises(UnknownSpeciesError, match="'Xy'"):
        adf(GST, centre="Xy")
    with pytest.raises(UnknownSpeciesError, match="pair 'Ge-Se'"):
        rdf(GST, r_max=3.0, pairs=["Ge-Se"])


def test_density_frames():
    with pytest.raises(MissingDataError, match="not periodic"):
        density(Atoms("Ge", cell=[5, 5, 0], pbc=[True, True, False]))
    with pytest.raises(ArgumentTypeError, match="frames must be"):
        density(5)
    with pytest.raises(ArgumentTypeError, match="ase.Atoms or gstorder.Frame"):
        density([5])


@pytest.mark.parametrize("value, error", BAD_LENGTHS[:4] + [(0.0, InvalidArgumentError)])
def test_sphere_radius(value, error):
    with pytest.raises(error, match="radius"):
        sphere(GST, centre=[0, 0, 0], radius=value)


@pytest.mark.parametrize("value, error", [([np.nan, 0, 0], InvalidArgumentError), ([0, np.inf, 0], InvalidArgumentError),
                                          ([0, 0], InvalidArgumentError), ("middle", ArgumentTypeError)])
def test_sphere_centre(value, error):
    with pytest.raises(error, match="centre"):
        sphere(GST, centre=value, radius=1.0)
    with pytest.raises(ArgumentTypeError, match="ase.Atoms"):
        sphere("atoms", centre=[0, 0, 0], radius=1.0)
