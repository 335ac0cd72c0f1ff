"""The SOAP similarity map of structures (Fig. 1b) on real crystal, amorphous and liquid GeTe frames."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from ase.io import read
from conftest import extdata

import gstorder
from gstorder import crystallinity, structures
from gstorder.structure_map import similarity_map

SOAP = {"species": ["Ge", "Te"]}


@pytest.fixture(scope="module")
def groups():
    crystal = []
    for k in range(6):
        atoms = structures.rocksalt("GeTe", 2, a=5.95 + 0.02 * k)
        atoms.rattle(0.05, seed=k)
        crystal.append(atoms)
    return {"crystal": crystal,
            "amorphous": read(extdata("aGeTe_AIMD_300K_216at_400fr.extxyz"), "::67"),
            "liquid": read(extdata("lGeTe_AIMD_1000K_216at_40fr.extxyz"), "::7")}


def test_kernel_equals_a_brute_force_computation(groups):
    frames = groups["crystal"][:2] + groups["liquid"][:2]
    ds = similarity_map(frames, soap=SOAP)
    mean = np.array([crystallinity.soap(f, species=["Ge", "Te"]).values[0].mean(axis=0) for f in frames])
    unit = mean / np.linalg.norm(mean, axis=1)[:, None]
    np.testing.assert_allclose(ds.kernel.values, unit @ unit.T, atol=1e-12)
    np.testing.assert_allclose(ds.distance.values, np.sqrt(np.maximum(2 - 2 * unit @ unit.T, 0)), atol=1e-7)
    assert list(ds.label.values) == [gstorder.as_frame(f).formula for f in frames]  # no config_type: the formula


def test_crystal_amorphous_and_liquid_separate_and_the_seed_fixes_the_map(groups):
    ds = similarity_map(groups, soap=SOAP, seed=3)
    labels = ds.label.values
    assert sorted(set(labels)) == ["amorphous", "crystal", "liquid"]
    d = ds.distance.values
    same = labels[:, None] == labels[None, :]
    off = ~np.eye(len(labels), dtype=bool)
    assert d[same & off].mean() < 0.5 * d[~same].mean()  # groups are tight in SOAP space
    # in the 2-D map every structure's nearest neighbour has its own label
    xy = np.stack([ds.x.values, ds.y.values], axis=1)
    e = np.linalg.norm(xy[:, None] - xy[None, :], axis=2) + np.diag(np.full(len(xy), np.inf))
    assert (labels[e.argmin(axis=1)] == labels).mean() > 0.9
    again = similarity_map(groups, soap=SOAP, seed=3)
    np.testing.assert_allclose(again.x.values, ds.x.values)
    ax = gstorder.plot.similarity_map(ds)
    assert len(ax.collections) == 3
    plt.close(ax.figure)


def test_bad_input():
    cells = [structures.rocksalt("GeTe", 1, a=6.0)] * 3
    with pytest.raises(ValueError, match="at least 3 structures"):
        similarity_map(cells[:2], soap=SOAP)
    with pytest.raises(ValueError, match="2 labels for 3 structures"):
        similarity_map(cells, labels=["a", "b"], soap=SOAP)
    for zeta in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="zeta must be (positive|a finite number)"):
            similarity_map(cells, zeta=zeta, soap=SOAP)
