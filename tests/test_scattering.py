"""Structure factors: the direct route against brute force and freud, Bragg peaks of crystals, the g(r) route against
the direct one on real amorphous GeTe, the weightings and their identities, bad input."""

import numpy as np
import pytest
from ase import Atoms
from ase.io import read

import gstorder
from gstorder import structure_factor, structures
from gstorder.errors import InvalidArgumentError, MissingDataError
from gstorder.scattering import reduced_pdf, scattering_weights

from conftest import extdata, random_atoms
from naive import direct_structure_factor

AGETE = "aGeTe_AIMD_300K_216at_400fr.extxyz"


def _edges(q):
    mid = 0.5 * (q[1:] + q[:-1])
    return np.concatenate([[q[0] - (mid[0] - q[0])], mid, [q[-1] + (q[-1] - mid[-1])]])


@pytest.mark.parametrize("weighting", ["faber-ziman", "neutron", "xray"])
def test_direct_equals_brute_force_on_a_triclinic_cell(weighting):
    atoms = random_atoms(np.random.default_rng(3), 23, size=(5.0, 7.0))
    q = np.arange(0.4, 6.0, 0.1)
    ds = structure_factor(atoms, method="direct", q=q, weighting=weighting, r_max=3.0)
    table = {"faber-ziman": None, "neutron": lambda s, x: scattering_weights([s], [x], "neutron")[0, 0],
             "xray": lambda s, x: scattering_weights([s], [x], "xray")[0, 0]}[weighting]
    expected, counts = direct_structure_factor(atoms, _edges(q), table)
    np.testing.assert_array_equal(2 * ds.n_k.values, counts)  # ±k counted once
    # X-ray form factors are taken at the bin centre rather than at each |k| (bins 0.1 Å⁻¹ wide)
    np.testing.assert_allclose(ds.S.values, expected, rtol=1e-9 if weighting != "xray" else 2e-3, equal_nan=True)


def test_partials_recombine_into_the_total():
    # (not against freud: its StaticStructureFactorDirect samples only part of each k shell, e.g. the 3 vectors of
    # the 12 (110) vectors with non-negative components, so it equals the full average only for isotropic samples)
    atoms = random_atoms(np.random.default_rng(5), 40, size=(7.0, 8.0), species=(32, 52))
    ds = structure_factor(atoms, method="direct", q_max=6.0, dq=0.1, weighting="faber-ziman", r_max=3.0)
    ours = ds.S.values
    ok = np.isfinite(ours)
    # S = Σ_{a≤b} weight_ab (S_ab − 1) + 1, and faber-ziman weights give S = S_NN
    rebuilt = 1 + (ds.weight * (ds.S_partial - 1)).sum("pair")
    np.testing.assert_allclose(rebuilt.values[ok], ours[ok], rtol=1e-12)
    np.testing.assert_allclose(ds.S_NN.values[ok], ours[ok], rtol=1e-12)


def test_bhatia_thornton_recombine_into_the_neutron_total():
    atoms = random_atoms(np.random.default_rng(8), 30, size=(6.0, 7.0), species=(32, 52))
    ds = structure_factor(atoms, method="direct", q_max=5.0, dq=0.1, r_max=3.0)
    (b1, b2), (c1, c2) = ds.scattering_weight.values[:, 0], ds.concentration.values
    mean, mean2 = c1 * b1 + c2 * b2, c1 * b1**2 + c2 * b2**2
    rebuilt = (mean**2 * ds.S_NN + 2 * mean * (b1 - b2) * ds.S_NC + (b1 - b2) ** 2 * ds.S_CC) / mean2
    ok = np.isfinite(ds.S.values)
    assert ok.sum() > 10
    np.testing.assert_allclose(rebuilt.values[ok], ds.S.values[ok], rtol=1e-10)


def test_rocksalt_bragg_peaks_at_their_hkl():
    a = 6.0
    ds = structure_factor(structures.rocksalt("GeTe", 2, a=a), method="direct", q_max=4.0, dq=0.01, r_max=3.0)
    s = ds.S.values
    peaks = ds.q.values[np.nan_to_num(s) > 1e-6]
    # fcc: h, k, l all even or all odd; (111) and (311) weighted by (b_Ge − b_Te)², (200), (220), (222) by (b_Ge + b_Te)²
    allowed = [(1, 1, 1), (2, 0, 0), (2, 2, 0), (3, 1, 1), (2, 2, 2)]
    expected = sorted(2 * np.pi / a * np.sqrt(sum(x * x for x in hkl)) for hkl in allowed)
    np.testing.assert_allclose(peaks, expected, atol=0.006)
    b_ge, b_te = ds.scattering_weight.sel(species=["Ge", "Te"]).values[:, 0]
    n = 64  # atoms; the (hkl) amplitude is 32 (b_Ge ∓ b_Te), so S = 32² (b_Ge ∓ b_Te)² / (64 <b²>)
    mean2 = (b_ge**2 + b_te**2) / 2
    s111 = float(ds.S.sel(q=expected[0], method="nearest"))
    s200 = float(ds.S.sel(q=expected[1], method="nearest"))
    assert s111 == pytest.approx((n / 4) * (b_ge - b_te) ** 2 / mean2, rel=1e-9)
    assert s200 == pytest.approx((n / 4) * (b_ge + b_te) ** 2 / mean2, rel=1e-9)


def test_alpha_gete_bragg_peaks_at_its_reciprocal_lattice():
    crystal = read(extdata("GeTe_alpha_AFLOW_prim.cif")).repeat((3, 3, 3))
    ds = structure_factor(crystal, method="direct", q_max=3.0, dq=0.005, r_max=3.0)
    recip = 2 * np.pi * np.linalg.inv(crystal.cell.array).T * 3  # of the primitive cell
    hkl = np.array([(h, k, l) for h in range(-4, 5) for k in range(-4, 5) for l in range(-4, 5) if (h, k, l) != (0, 0, 0)])
    lattice = np.unique(np.round(np.linalg.norm(hkl @ recip, axis=1), 6))
    peaks = ds.q.values[np.nan_to_num(ds.S.values) > 1e-6]
    assert len(peaks) >= 3
    for p in peaks:  # every peak sits on a reciprocal-lattice shell of the primitive cell
        assert np.min(np.abs(lattice - p)) <= 0.0025 + 1e-9
    # and the g(r) route of a large enough crystal puts its strongest peak on the same (strongest) reflection
    big = structures.rocksalt("GeTe", 5, a=6.0)
    rdf_route = structure_factor(big, q_max=4.0, dq=0.01, r_max=14.0)
    assert float(rdf_route.S.idxmax()) == pytest.approx(2 * np.pi / 6.0 * 2, abs=0.03)


def test_rdf_route_agrees_with_direct_on_amorphous_gete():
    frames = list(gstorder.Trajectory(extdata(AGETE))[0:400:80])
    q = np.arange(2.0, 9.01, 0.25)
    for weighting in ("neutron", "xray"):
        via_g = structure_factor(frames, q=q, window="none", weighting=weighting, r_max=18.582 / 2)  # half the cell
        direct = structure_factor(frames, q=q, method="direct", weighting=weighting)
        assert via_g.attrs["q_min_reliable"] < 1.0
        diff = via_g.S.values - direct.S.values
        assert np.sqrt(np.mean(diff**2)) < 0.05 and np.abs(diff).max() < 0.15, (weighting, diff)  # 0.025-0.035, 0.07-0.09
        np.testing.assert_allclose(via_g.S_partial.values, direct.S_partial.values, atol=0.3)
    # the main peak and the first peak of G(r) where the literature has them (about 2 Å⁻¹; Ge-Te bond 2.6-2.8 Å)
    lorch = structure_factor(frames, q_max=10.0)
    assert lorch.attrs["r_max"] == 8.0  # half the cell, at most rdf's default
    assert 1.8 < float(lorch.S.idxmax()) < 2.3
    assert 2.55 < float(lorch.G.idxmax()) < 2.85


def test_g_route_partials_of_an_ideal_gas_are_flat():
    rng = np.random.default_rng(0)
    gas = [Atoms(numbers=rng.choice([32, 52], 400), positions=rng.uniform(0, 16, (400, 3)), cell=[16] * 3, pbc=True)
           for _ in range(20)]
    ds = structure_factor(gas, q=np.arange(2.0, 10.0, 0.5), r_max=8.0)
    np.testing.assert_allclose(ds.S_partial.values, 1.0, atol=0.08)
    np.testing.assert_allclose(ds.S.values, 1.0, atol=0.03)


def test_reduced_pdf_is_the_sine_transform():
    sigma = 0.7
    q = np.arange(0.005, 30.0, 0.005)
    r = np.linspace(0.2, 6.0, 30)
    got = reduced_pdf(q, q * np.exp(-(q * sigma) ** 2 / 2), r, window="none")
    expected = (2 / np.pi) * np.sqrt(np.pi / 2) * r / sigma**3 * np.exp(-(r**2) / (2 * sigma**2))
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_invariant_under_translation_and_permutation_and_serial_equals_parallel():
    atoms = random_atoms(np.random.default_rng(11), 60, size=(7.0, 8.0))
    base = structure_factor(atoms, method="direct", q_max=5.0, dq=0.1, r_max=3.0)
    moved = atoms.copy()
    moved.positions += [1.3, -0.4, 7.7]
    order = np.random.default_rng(1).permutation(len(atoms))
    for other in (moved, moved[order]):
        np.testing.assert_allclose(structure_factor(other, method="direct", q_max=5.0, dq=0.1, r_max=3.0).S, base.S,
                                   rtol=1e-9)
    for method in ("direct", "rdf"):
        serial = structure_factor(atoms, method=method, q_max=5.0, dq=0.1, r_max=3.0, parallel=False)
        threaded = structure_factor(atoms, method=method, q_max=5.0, dq=0.1, r_max=3.0, parallel=True)
        np.testing.assert_allclose(serial.S, threaded.S, rtol=1e-12)


def test_small_memory_budgets_change_nothing():
    from gstorder import scattering
    from gstorder.frames import as_frame
    from gstorder.species import frame_species

    frame = as_frame(random_atoms(np.random.default_rng(2), 50, size=(6.0, 8.0)))
    _, types = frame_species(frame)
    edges = np.linspace(0.3, 6.0, 40)
    big = scattering.direct_sums(frame, types, 3, edges)
    small = scattering.direct_sums(frame, types, 3, edges, table_bytes=2000, slab_bytes=5000)
    np.testing.assert_allclose(small[0], big[0], rtol=1e-10, atol=1e-9)
    np.testing.assert_array_equal(small[1], big[1])


@pytest.mark.parametrize("kwargs, error, message", [
    ({"q_max": 200.0}, InvalidArgumentError, "beyond the r grid's limit"),
    ({"q": [2.0, 1.0]}, InvalidArgumentError, "strictly increasing"),
    ({"weighting": "electron"}, InvalidArgumentError, "weighting='electron'; choose one of"),
    ({"window": "hann"}, InvalidArgumentError, "window='hann'"),
    ({"method": "debye"}, InvalidArgumentError, "method='debye'"),
    ({"weighting": "bhatia-thornton"}, InvalidArgumentError, "exactly two species"),
])
def test_bad_input_is_refused_by_name(kwargs, error, message):
    atoms = structures.rocksalt("Ge1Sb2Te4", 1, seed=0)
    with pytest.raises(error, match=message):
        structure_factor(atoms, **kwargs)


def test_non_periodic_frames_are_refused():
    with pytest.raises(MissingDataError, match="not periodic"):
        structure_factor(Atoms("GeTe", positions=[[0, 0, 0], [2.8, 0, 0]]))


def test_registered_in_the_one_pass_with_rdf():
    frames = [structures.rocksalt("GeTe", 2, a=6.0, seed=0)] * 2
    tree = gstorder.analyze(frames, ["rdf", "structure_factor"], options={"structure_factor": {"q_max": 5.0},
                                                                          "rdf": {"r_max": 5.0}})
    alone = structure_factor(frames, q_max=5.0)
    np.testing.assert_allclose(tree["structure_factor"].S.values, alone.S.values, rtol=1e-12)
    assert "structure_factor" in gstorder.ANALYSES
