"""Shared fixtures: reference structures and the external validation data."""

from pathlib import Path

import matplotlib
import numpy as np
import pytest
from ase import Atoms

matplotlib.use("Agg")

EXTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "extdata"


def extdata(name: str) -> Path:
    """Path of a file in ../shared/extdata, skipping the test when it is absent."""
    path = EXTDATA / name
    if not path.is_file():
        pytest.skip(f"external validation data {name} not found in {EXTDATA} (it sits beside the project)")
    return path


def random_atoms(rng, n, *, pbc=True, triclinic=True, size=(4.0, 9.0), species=(32, 51, 52)):
    """Random atoms in a random (triclinic) cell, positions partly outside the cell."""
    cell = np.diag(rng.uniform(*size, 3))
    if triclinic:
        # lower triangular, as LAMMPS requires: a along x, b in the xy plane
        cell = cell + np.tril(rng.uniform(-0.4, 0.4, (3, 3)) * cell.diagonal()[None, :], -1)
    atoms = Atoms(numbers=rng.choice(species, n), cell=cell, pbc=pbc)
    atoms.set_scaled_positions(rng.uniform(-0.3, 1.3, (n, 3)))
    return atoms


@pytest.fixture
def rng():
    return np.random.default_rng(20261125)
