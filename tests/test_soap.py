"""Native SOAP against quippy's descriptor, to round-off."""

import numpy as np
import pytest
from ase import Atoms
from ase.io import read
from conftest import extdata, random_atoms, require, requires_quippy

import gstorder
from gstorder import crystallinity, structures
from gstorder._soap import iter_soap, soap_settings
from gstorder.errors import InvalidArgumentError


TOL = 1e-12


def _both(atoms, **options):
    frame = gstorder.as_frame(atoms)
    s = soap_settings(options)
    (iq, vq), = iter_soap(frame, s, backend="quippy")
    parts = list(iter_soap(frame, s, backend="numba", block_size=7))
    i_n = np.concatenate([p[0] for p in parts])
    v_n = np.concatenate([p[1] for p in parts])
    np.testing.assert_array_equal(iq, i_n)
    assert v_n.shape == (len(iq), s.dimension)
    return vq, v_n


def _assert_same(atoms, **options):
    vq, vn = _both(atoms, **options)
    assert np.abs(vq - vn).max() < TOL, np.abs(vq - vn).max()
    return vn


@requires_quippy
def test_dimer_in_a_large_box():
    atoms = Atoms("GeTe", positions=[[5, 5, 5], [5, 5, 7.8]], cell=[20, 20, 20], pbc=True)
    _assert_same(atoms, species=["Ge", "Te"])


@requires_quippy
def test_non_periodic_cluster():
    rng = np.random.default_rng(1)
    atoms = Atoms(numbers=rng.choice([32, 51, 52], 25), positions=rng.uniform(0, 9, (25, 3)))
    _assert_same(atoms)


@requires_quippy
@pytest.mark.parametrize("phase", ["GeTe", "Sb2Te3", "Ge1Sb2Te4", "Ge2Sb2Te5"])
def test_small_trigonal_cells_whose_images_are_neighbours(phase):
    _assert_same(structures.trigonal(phase))


@requires_quippy
def test_triclinic_random_cells_and_rocksalt():
    rng = np.random.default_rng(2)
    _assert_same(random_atoms(rng, 30, size=(7.0, 10.0)))
    atoms = structures.rocksalt("Ge1Sb2Te4", 3, seed=0)
    atoms.rattle(0.1, seed=1)
    _assert_same(atoms)


@requires_quippy
@pytest.mark.parametrize("n_max, l_max", [(12, 4), (8, 6), (2, 0), (5, 9)])
def test_other_basis_sizes(n_max, l_max):
    atoms = structures.rocksalt("Ge1Sb2Te4", (2, 2, 2), seed=3)
    atoms.rattle(0.15, seed=2)
    _assert_same(atoms, n_max=n_max, l_max=l_max)


@requires_quippy
def test_unsorted_species_foreign_species_and_options():
    rng = np.random.default_rng(4)
    atoms = random_atoms(rng, 30, size=(8.0, 9.0), species=(32, 51, 52, 8))  # oxygen is foreign
    vn = _assert_same(atoms, species=["Te", "Ge", "Sb"], central_weight=0.7, cutoff=4.5, atom_sigma=0.4,
                      cutoff_transition_width=1.0)
    assert len(vn) == (atoms.numbers != 8).sum()
    _assert_same(atoms, species=["Sb", "Ge", "Te"], centres=["Te"], covariance_sigma0=0.3, normalise=False)
    _assert_same(atoms, species=["Te"])  # one species: the central Gaussian goes to every channel


@requires_quippy
def test_real_frames_from_extdata():
    am = read(extdata("aGeTe_AIMD_300K_216at_400fr.extxyz"), 0)
    _assert_same(am, species=["Ge", "Te"])
    nep = read(extdata("GeTe_Ge91Te101_NEPMD_300K_30fr.xyz"), 0)
    _assert_same(nep, species=["Ge", "Te"])
    layered = read(extdata("GST_layered_crystals_GST225_GST124.extxyz"), 1)
    _assert_same(layered)


def test_serial_parallel_and_blocks_agree():
    frame = gstorder.as_frame(structures.rocksalt("Ge1Sb2Te4", 4, seed=5))
    s = soap_settings()
    ref = np.concatenate([v for _, v in iter_soap(frame, s, parallel=False)])
    for kw in [dict(parallel=True), dict(parallel=True, block_size=33), dict(parallel=False, block_size=100)]:
        np.testing.assert_array_equal(np.concatenate([v for _, v in iter_soap(frame, s, **kw)]), ref)


def test_public_soap_layout_and_refused_options():
    v = crystallinity.soap([structures.trigonal("GeTe")] * 2, species=["Ge", "Te"])
    assert v.dims == ("frame", "atom", "feature") and v.shape == (2, 6, 1501)
    assert "soap cutoff=5.5" in v.attrs["descriptor"]
    assert crystallinity.soap(structures.trigonal("Ge1Sb2Te4")).shape[-1] == 3331
    for bad in [dict(average=True), dict(diagonal_radial=True), dict(radial_basis="POLY"), dict(Z_mix=True),
                dict(coupling=False), dict(nu_R=0), dict(nu_S=2), dict(coupling="F")]:
        with pytest.raises(InvalidArgumentError, match=f"{list(bad)[0]}=.*backend='quippy'"):
            crystallinity.soap(structures.trigonal("GeTe"), **bad)
    with pytest.raises(ValueError, match="unknown SOAP option"):
        crystallinity.soap(structures.trigonal("GeTe"), cutof=5.0)
    with pytest.raises(ValueError, match="n_species=2 but species_Z lists 3"):
        soap_settings(species_Z=[32, 51, 52], n_species=2)
    with pytest.raises(ValueError, match="backend='dscribe'"):
        crystallinity.soap(structures.trigonal("GeTe"), backend="dscribe")
    with pytest.raises(InvalidArgumentError, match="atom_sigma must be positive"):
        soap_settings(atom_sigma=0)


def test_quippy_defaults_of_quippy_only_options_are_accepted_and_change_nothing():
    gete = structures.trigonal("GeTe")
    plain = crystallinity.soap(gete, species=["Ge", "Te"])
    same = crystallinity.soap(gete, species=["Ge", "Te"], coupling=True, nu_R=2, nu_S=1, average="F", Z_mix=False)
    np.testing.assert_array_equal(same.values, plain.values)


@requires_quippy
@pytest.mark.parametrize("option", [dict(coupling=False), dict(nu_R=0)])
def test_quippy_only_options_go_to_quippy_with_its_backend(option):
    require("quippy", "quippy")
    from quippy.descriptors import Descriptor

    gete = structures.trigonal("GeTe")
    got = crystallinity.soap(gete, species=["Ge", "Te"], backend="quippy", **option)
    name, value = next(iter(option.items()))
    assert f"{name}={'F' if value is False else value}" in got.attrs["descriptor"]
    expected = Descriptor(got.attrs["descriptor"]).calc(gete)["data"]
    assert got.shape[-1] == expected.shape[-1] != 1501  # not the standard power spectrum
    np.testing.assert_allclose(got.values[0], expected, rtol=1e-12)


def test_radial_exponentials_by_recurrence_equal_direct_ones():
    from gstorder._kernels.soap import radial_decay, radial_functions
    from gstorder._soap import radial_basis

    s = soap_settings()
    alpha, rb, _, _ = radial_basis(s)
    decay = radial_decay(alpha, rb, s.cutoff)
    assert decay[0] == 1.0  # the paper's settings take the recurrence
    scratch = np.empty((3, len(rb)))
    fast, direct = np.empty((5, len(rb))), np.empty((5, len(rb)))
    # from 1 Å out (below it, the upward recursion in l amplifies the last bit of either form, as in quippy)
    for r in np.linspace(1.0, s.cutoff, 97):
        radial_functions(r, alpha, rb, decay, 4, *scratch, fast)
        radial_functions(r, alpha, rb, np.zeros_like(decay), 4, *scratch, direct)
        np.testing.assert_allclose(fast, direct, rtol=1e-12, atol=1e-300)
    # narrow Gaussians and a long cut-off would leave double range: every exponential is then direct
    narrow = soap_settings(atom_sigma=0.2, cutoff=7.0)
    alpha, rb, _, _ = radial_basis(narrow)
    assert not radial_decay(alpha, rb, narrow.cutoff).any()


@requires_quippy
def test_direct_exponentials_still_equal_quippy():
    atoms = structures.rocksalt("GeTe", 2, seed=0)
    atoms.rattle(0.1, seed=3)
    _assert_same(atoms, species=["Ge", "Te"], atom_sigma=0.2, cutoff=7.0, n_max=6, l_max=3)


def test_projections_equal_vectors_times_references():
    from gstorder import neighbors
    from gstorder._soap import SoapBlocks

    atoms = structures.rocksalt("Ge1Sb2Te4", 3, seed=1)
    atoms.rattle(0.1, seed=2)
    frame = gstorder.as_frame(atoms)
    blocks = SoapBlocks(frame, soap_settings())
    nl = next(neighbors.iter_blocks(frame, 5.5, centers=np.ones(len(frame), bool)))
    vectors = blocks.vectors(nl).copy()
    refs = vectors[[0, 5, 9]]
    np.testing.assert_allclose(blocks.projections(nl, refs), vectors @ refs.T, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="refs must have shape"):
        blocks.projections(nl, refs[:, :10])


def test_vectors_and_projections_in_any_row_and_column_order():
    """k̄ asks the kernel for centres sorted by group, the components it needs first, and per-centre row ranges."""
    from gstorder import neighbors
    from gstorder._soap import SoapBlocks

    atoms = structures.trigonal("Ge1Sb2Te4").repeat((2, 2, 1))  # triclinic
    atoms.rattle(0.1, seed=6)
    frame = gstorder.as_frame(atoms)
    blocks = SoapBlocks(frame, soap_settings())
    nl = next(neighbors.iter_blocks(frame, 5.5, centers=np.ones(len(frame), bool)))
    plain = blocks.vectors(nl).copy()
    rng = np.random.default_rng(0)
    order, columns = rng.permutation(len(nl.centers)), rng.permutation(plain.shape[1])
    permuted = blocks.vectors(nl, order=order, columns=columns)
    expected = np.empty_like(plain)
    expected[np.ix_(order, columns)] = plain
    np.testing.assert_array_equal(permuted, expected)
    # projections on the first m permuted columns, each centre on its own range of rows
    m = 2000
    refs = expected[:7, :m].copy()
    ranges = np.array([[0, 3], [3, 7]])[np.arange(len(nl.centers)) % 2]
    out = np.full((len(nl.centers), 7), np.nan)
    blocks.projections(nl, refs, columns=columns, rows=ranges, out=out)
    full = expected[order, :m] @ refs.T  # centre c's vector restricted to the first m columns
    for c in range(len(nl.centers)):
        a, b = ranges[c]
        np.testing.assert_allclose(out[c, a:b], full[c, a:b], rtol=0, atol=1e-14)
        assert np.isnan(np.delete(out[c], np.arange(a, b))).all()  # the other columns untouched


def test_row_and_column_orders_that_are_not_permutations_are_refused():
    """The kernel writes where ``order`` and ``columns`` say: anything but a permutation is refused, never written."""
    from gstorder import neighbors
    from gstorder._soap import SoapBlocks
    from gstorder.errors import InvalidArgumentError

    frame = gstorder.as_frame(structures.rocksalt("GeTe", 2, seed=0))
    blocks = SoapBlocks(frame, soap_settings(species=["Ge", "Te"]))
    nl = next(neighbors.iter_blocks(frame, 5.5, centers=np.ones(len(frame), bool)))
    n, dim = len(nl.centers), blocks.s.dimension
    for bad in (np.arange(n) + 1, np.zeros(n, int), np.arange(n - 1), np.arange(n) * 1.0):
        with pytest.raises(InvalidArgumentError, match="order must be a permutation"):
            blocks.vectors(nl, order=bad)
    with pytest.raises(InvalidArgumentError, match="columns must be a permutation"):
        blocks.vectors(nl, columns=np.arange(dim)[::-1] + 1)
    refs = np.ones((3, dim))
    with pytest.raises(InvalidArgumentError, match="rows must be"):
        blocks.projections(nl, refs, rows=np.repeat([[0, 4]], n, axis=0))
    with pytest.raises(InvalidArgumentError, match="out must have"):
        blocks.vectors(nl, out=np.empty((n - 1, dim)))
