"""Vacancies, anti-sites and ⟨111⟩ vacancy ordering (issue 21): builder counts, ordering limits, OVITO's
Wigner–Seitz occupancies, fitted orientations and refused lattices."""

import numpy as np
import pytest

from conftest import require
import xarray as xr
from ase import Atoms

import gstorder
from gstorder import structures, vacancies
from gstorder.errors import InvalidArgumentError, LatticeMismatchError, UnknownSpeciesError


@pytest.mark.parametrize("composition, size, seed", [("Ge1Sb2Te4", 4, 1), ("Ge2Sb2Te5", (5, 2, 4), 2), ("GeTe", 3, 0)])
def test_vacancy_counts_equal_the_builders_after_rattling(composition, size, seed):
    atoms = structures.rocksalt(composition, size, seed=seed)
    atoms.rattle(0.1, seed=seed)
    atoms.positions += [0.9, -1.7, 0.4]  # another origin
    del atoms.info["a"]
    ds = vacancies.analyse(atoms)
    assert int(ds.n_vacancies[0]) == atoms.info["vacancies"]
    assert int(ds.n_antisites[0]) == int(ds.n_interstitials[0]) == int(ds.n_anion_vacancies[0]) == 0
    assert float(ds.a[0]) == pytest.approx(6.0, abs=1e-6)
    found = ds.vacancy_position.values[0][: atoms.info["vacancies"]]
    # every vacancy lies about a/2 from six Te atoms and from nothing else closer than about a/√2
    probe = atoms + Atoms("X" * len(found), positions=found)
    dist = np.sort(probe.get_all_distances(mic=True)[len(atoms):, : len(atoms)], axis=1)
    assert (dist[:, 5] < 3.6).all() and (dist[:, 6] > 3.7).all()


def test_anti_sites_equal_the_builders_in_a_rotated_cell():
    atoms = structures.rocksalt("Ge1Sb2Te4", 3, seed=3, antisite_fraction=0.08)
    truth = atoms.arrays["antisite"]
    atoms.rotate(33, (1, 2, 2), rotate_cell=True)  # the cubic axes are no longer the Cartesian ones
    atoms.rattle(0.1, seed=4)
    ds = vacancies.analyse(atoms)
    np.testing.assert_array_equal(ds.antisite.values[0].astype(bool), truth)
    assert int(ds.n_vacancies[0]) == atoms.info["vacancies"]
    np.testing.assert_array_equal(gstorder.crystallinity.antisites(atoms), truth)  # the old name still works


def _layered(size=4, seed=0, period=4):
    """Rock-salt Ge1Sb2Te4 whose vacancies fill every ``period``-th (111) cation plane (the trigonal stacking)."""
    base = structures.rocksalt("Ge1Sb2Te4", size, seed=seed)
    a, n = 6.0, size
    anion = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    grid = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 1, 3)
    cations = (grid + anion + [0.5, 0, 0]).reshape(-1, 3)
    steps = np.rint(2 * cations).astype(int)
    plane = ((steps.sum(axis=1) - 1) // 2) % period
    vacant = plane == 0
    rng = np.random.default_rng(seed)
    species = rng.permutation(np.array([32] * (len(cations) // 4) + [51] * (len(cations) // 2)))
    numbers = np.concatenate([np.full(len(cations), 52), species])
    frac = np.concatenate([(grid + anion).reshape(-1, 3), cations[~vacant]])
    atoms = Atoms(numbers=numbers, scaled_positions=frac / n, cell=np.eye(3) * n * a, pbc=True)
    assert vacant.sum() == base.info["vacancies"]
    return atoms


def test_ordering_is_zero_for_random_and_one_for_layered_vacancies():
    random = [structures.rocksalt("Ge1Sb2Te4", 4, seed=s) for s in range(6)]
    for atoms in random:
        atoms.rattle(0.1, seed=1)
    ds = vacancies.analyse(random)
    assert np.abs(ds.ordering.values).max() < 0.06 and abs(float(ds.ordering.mean())) < 0.03
    layered = _layered()
    layered.rattle(0.1, seed=2)
    ordered = vacancies.analyse(layered)
    assert float(ordered.ordering[0]) == pytest.approx(1.0, abs=1e-12)
    assert str(ordered.direction.values[int(ordered.ordering_direction[0])]) == "[111]"
    np.testing.assert_allclose(np.sort(ordered.plane_vacancy.values[0]), [0, 0, 0, 1])
    assert float(vacancies.analyse(_layered(8, seed=1)).ordering[0]) == pytest.approx(1.0)  # 8 plane classes
    # every other fourth plane emptied, the rest spread at random: in between
    mixed = _layered(8, seed=1)
    vac = vacancies.analyse(mixed).vacancy_position.values[0]
    cat = np.flatnonzero(mixed.numbers != 52)
    move = np.random.default_rng(3).choice(cat, len(vac) // 2, replace=False)
    mixed.positions[move] = vac[: len(move)]  # half the vacancies change places with random cations
    assert 0.1 < float(vacancies.analyse(mixed).ordering[0]) < 0.6


def test_occupancies_equal_ovitos_wigner_seitz_analysis(tmp_path):
    require("ovito", "ovito")
    from ovito.io import import_file
    from ovito.io.ase import ase_to_ovito
    from ovito.modifiers import WignerSeitzAnalysisModifier
    from ovito.pipeline import StaticSource

    atoms = structures.rocksalt("Ge2Sb2Te5", (5, 2, 4), seed=5, antisite_fraction=0.05)
    atoms.rattle(0.25, seed=6)
    atoms.positions[7] = atoms.positions[8] + [0.8, 0.2, 0.1]  # an interstitial next to another atom
    path = tmp_path / "frame.xyz"
    atoms.write(path, format="extxyz")
    lattice = vacancies.fit_rocksalt(gstorder.Trajectory(path)[0])
    sites = Atoms("X" * len(lattice), positions=lattice.site_positions, cell=atoms.cell, pbc=True)
    pipeline = import_file(str(path))
    pipeline.modifiers.append(WignerSeitzAnalysisModifier(reference=StaticSource(data=ase_to_ovito(sites))))
    theirs = np.asarray(pipeline.compute().particles["Occupancy"])
    ds = vacancies.analyse(path)
    ours = np.bincount(ds.site.values[0], minlength=len(lattice))
    np.testing.assert_array_equal(ours, theirs)
    assert int(ds.n_interstitials[0]) == int(np.maximum(theirs - 1, 0).sum()) >= 1
    assert int(ds.n_vacancies[0]) == int(((theirs == 0) & ~lattice.anion_site).sum())


def test_analyze_runs_it_and_skips_frames_it_cannot_fit():
    frames = [structures.rocksalt("Ge1Sb2Te4", 3, seed=s) for s in (1, 2)]
    tree = gstorder.analyze(frames, ["vacancies"])
    xr.testing.assert_identical(tree["vacancies"].to_dataset(), vacancies.analyse(frames, per_atom=False))
    why = gstorder.ANALYSES["vacancies"].requires.why_not(gstorder.as_frame(structures.trigonal("Ge1Sb2Te4")), 1)
    assert "it needs a rock-salt frame" in why and "does not fit" in why  # analyze(..., "all") skips it with this reason


@pytest.mark.parametrize("call, error, match", [
    (lambda: vacancies.analyse(structures.trigonal("Ge1Sb2Te4")), LatticeMismatchError, "does not fit a rock-salt"),
    (lambda: vacancies.analyse(structures.rocksalt("GeTe", 2, a=6.0), a=5.0), LatticeMismatchError, "does not fit"),
    (lambda: vacancies.analyse(structures.rocksalt("GeTe", 2, a=6.0)[[0, 1]]), UnknownSpeciesError, "needs Te and Ge/Sb"),
    (lambda: vacancies.analyse(structures.rocksalt("GeTe", 2, a=6.0), lattice="fcc"), InvalidArgumentError,
     "choose one of 'rocksalt'"),
    (lambda: vacancies.analyse(structures.rocksalt("GeTe", 2, a=6.0), orientation=np.ones((3, 3))), InvalidArgumentError,
     "orthonormal"),
    (lambda: vacancies.antisites(structures.rocksalt("GeTe", 2, a=6.0), tolerance=0.0), InvalidArgumentError,
     "tolerance must be"),
])
def test_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_non_periodic_frames_are_refused():
    atoms = structures.rocksalt("GeTe", 2, a=6.0)
    atoms.pbc = False
    with pytest.raises(InvalidArgumentError, match="not periodic"):
        vacancies.fit_rocksalt(atoms)
