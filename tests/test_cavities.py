"""Akola-Jones cavities against a brute-force grid, vacancies of a crystal, periodic cavities, bad input."""

import numpy as np
import pytest
from ase import Atoms

import gstorder
from gstorder import cavities, structures
from gstorder.errors import InvalidArgumentError, MissingDataError
from gstorder.voids import cavity_atoms

from conftest import random_atoms
from naive import cavity_points


@pytest.mark.parametrize("seed", range(4))
def test_equal_to_a_brute_force_grid_on_small_triclinic_cells(seed):
    atoms = random_atoms(np.random.default_rng(seed), 12, size=(6.0, 9.0))
    ds = cavities(atoms, probe=2.0, spacing=0.3)
    free, labels, n = cavity_points(atoms, 2.0, 0.3)
    assert float(ds.volume_fraction[0]) == free.mean()
    assert int(ds.n_cavities[0]) == n
    voxel = atoms.get_volume() / free.size
    expected = np.sort(np.bincount(labels[free]))[::-1]
    expected = expected[expected > 0] * voxel
    np.testing.assert_allclose(ds.cavity_volume.values[0, :n], expected, rtol=1e-12)
    assert float(ds.largest_volume[0]) == pytest.approx(expected[0])


def test_vacancies_of_rocksalt_gst_are_the_cavities():
    crystal = structures.rocksalt("Ge1Sb2Te4", 2, seed=0)
    ds = cavities(crystal, probe=2.5, spacing=0.25, min_volume=0.5)
    sites = np.array([(x, y, z) for x in range(4) for y in range(4) for z in range(4) if (x + y + z) % 2 == 0]) * 3.0
    cations = crystal.positions[crystal.numbers != 52]
    taken = (np.linalg.norm((sites[:, None] - cations[None] + 6) % 12 - 6, axis=2) < 0.5).any(axis=1)
    # the Te sublattice has atoms where x+y+z is odd or even: find which sites are the cation ones
    if taken.sum() == 0:
        sites = sites + [3.0, 0, 0]
        taken = (np.linalg.norm((sites[:, None] - cations[None] + 6) % 12 - 6, axis=2) < 0.5).any(axis=1)
    vacant = sites[~taken]
    assert int(ds.n_cavities[0]) == len(vacant) == 8
    centres = ds.centre.values[0, :8]
    gap = np.linalg.norm((centres[:, None] - vacant[None] + 6) % 12 - 6, axis=2).min(axis=1)
    assert gap.max() < 0.05
    np.testing.assert_allclose(ds.cavity_volume.values[0, :8], ds.cavity_volume.values[0, 0])
    assert len(cavity_atoms(ds)) == 8 and cavity_atoms(ds).arrays["volume"][0] == ds.cavity_volume.values[0, 0]


def test_a_cavity_across_the_periodic_boundary_is_one_cavity():
    rng = np.random.default_rng(3)
    # a dense slab in 3 < z < 13 of a 20 Å cell leaves one gap that crosses z = 0
    slab = Atoms("Te400", positions=np.c_[rng.uniform(0, 12, (400, 2)), rng.uniform(3, 13, 400)], cell=[12, 12, 20], pbc=True)
    ds = cavities(slab, probe=2.8, spacing=0.25, min_volume=10.0)
    assert int(ds.n_cavities[0]) == 1
    z = float(ds.centre.values[0, 0, 2])
    assert min(z, 20 - z) < 2.0  # the gap spans z = 15.8 to 0.2 (+20): its centre is near z = 18, i.e. -2 to 0
    assert float(ds.largest_volume[0]) > 12 * 12 * 2.0


def test_serial_parallel_and_small_slabs_agree(monkeypatch):
    from gstorder import voids

    atoms = random_atoms(np.random.default_rng(9), 40, size=(9.0, 11.0))
    serial = cavities(atoms, probe=2.2, spacing=0.2, parallel=False)
    threaded = cavities(atoms, probe=2.2, spacing=0.2, parallel=True)
    monkeypatch.setattr(voids, "SLAB_BYTES", 1)
    thin = cavities(atoms, probe=2.2, spacing=0.2)
    for other in (threaded, thin):
        np.testing.assert_array_equal(other.cavity_volume.values, serial.cavity_volume.values)
        np.testing.assert_allclose(other.centre.values, serial.centre.values, rtol=1e-12, equal_nan=True)


def test_over_frames_in_the_one_pass():
    frames = [random_atoms(np.random.default_rng(s), 20, size=(8.0, 8.5), triclinic=False, species=(52,)) for s in range(3)]
    for k, f in enumerate(frames):
        f.info["time_ps"] = 0.5 * k
    tree = gstorder.analyze(frames, ["cavities"], options={"cavities": {"probe": 2.0, "spacing": 0.3}})
    alone = [cavities(f, probe=2.0, spacing=0.3) for f in frames]
    np.testing.assert_array_equal(tree["cavities"].volume_fraction.values, [float(a.volume_fraction[0]) for a in alone])
    assert tree["cavities"].time.values.tolist() == [0.0, 0.5, 1.0]


def test_bad_input_is_refused_by_name():
    with pytest.raises(MissingDataError, match="not periodic"):
        cavities(Atoms("Te2", positions=[[0, 0, 0], [3, 0, 0]]))
    with pytest.raises(InvalidArgumentError, match="probe must be positive"):
        cavities(structures.rocksalt("GeTe", 1, a=6.0), probe=0.0)
    with pytest.raises(InvalidArgumentError, match="coarser spacing"):
        cavities(structures.rocksalt("GeTe", 1, a=6.0), spacing=1e-3)
