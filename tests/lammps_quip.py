"""LAMMPS with pair_style quip, as tools/build_lammps_quip.sh builds it: find it, run a deck, read its log.

Where: ``$GSTORDER_LMP`` (the lmp binary; when set, only it), else ``~/.cache/gstorder/lammps-quip/bin/lmp`` (the
prefix .ci/run builds into), else an ``lmp`` on PATH that has pair_style quip. Without one the tests skip with the command
that builds it; under ``CI=true`` they fail instead (.ci/run builds it first, so absence means the build broke).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

DEFAULT_PREFIX = Path.home() / ".cache" / "gstorder" / "lammps-quip"
BUILD = "bash tools/build_lammps_quip.sh --install-deps ~/.cache/gstorder/lammps-quip"


@functools.lru_cache(maxsize=None)
def find_lmp() -> tuple:
    """``(lmp path or None, why not)``."""
    if os.environ.get("GSTORDER_LMP"):
        candidates = [("$GSTORDER_LMP", os.environ["GSTORDER_LMP"])]
    else:
        candidates = [("the default prefix", str(DEFAULT_PREFIX / "bin" / "lmp"))]
        if shutil.which("lmp"):
            candidates.append(("PATH", shutil.which("lmp")))
    tried = []
    for where, path in candidates:
        if not os.access(path, os.X_OK):
            tried.append(f"{path} ({where}): absent")
            continue
        try:
            styles = subprocess.run([path, "-h"], capture_output=True, text=True, timeout=60, env=_env()).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            tried.append(f"{path} ({where}): does not run ({exc})")
            continue
        if " quip " not in f" {' '.join(styles.split())} ":
            tried.append(f"{path} ({where}): has no pair_style quip")
            continue
        return path, ""
    return None, "no LAMMPS with pair_style quip: " + "; ".join(tried) + f"; build it with {BUILD}"


def require_lmp() -> str:
    """The lmp to use; skips the test without one, or fails it under CI=true."""
    import pytest

    path, why = find_lmp()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why} (CI=true: .ci/run builds it, so it is missing only if that build failed)")
        pytest.skip(why)
    return path


def _env():
    # one thread per rank: quip and OpenBLAS would otherwise spread over the cores MPI already uses
    return dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


def run_deck(directory, *, ranks: int = 1, script: str = "in.lmp", lmp: str | None = None, timeout: float = 900) -> str:
    """Run ``script`` in ``directory`` on ``ranks`` MPI ranks; the text of its log (raises with the log's tail on failure)."""
    lmp = lmp or require_lmp()
    command = [lmp, "-in", script, "-log", "log.lammps", "-screen", "none"]
    if ranks > 1:
        mpirun = Path(lmp).with_name("mpirun")  # the launcher of the MPI lmp was built with
        command = [str(mpirun) if mpirun.exists() else "mpirun", "-np", str(ranks), *command]
    done = subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=timeout, env=_env())
    log = Path(directory, "log.lammps")
    text = log.read_text() if log.is_file() else ""
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}) in {directory}:\n{done.stderr[-2000:]}\n"
                           f"{done.stdout[-1000:]}\n{text[-2000:]}")
    return text


def thermo(log: str) -> dict:
    """The thermo rows of a LAMMPS log as arrays by column name (``Step``, ``Temp``, ``PotEng``...), runs joined."""
    rows, names = [], None
    for line in log.splitlines():
        words = line.split()
        if words[:1] == ["Step"]:
            names = words
            continue
        if names is None:
            continue
        if line.startswith("Loop time"):
            names = None
            continue
        try:
            values = [float(w) for w in words]
        except ValueError:
            continue
        if len(values) == len(names):
            rows.append(values)
            columns = names
    table = np.array(rows)
    return {name: table[:, k] for k, name in enumerate(columns)}
