"""The one atomic-write helper (gstorder._atomic) and every writer built on it: no partial file, ever."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from ase.calculators.lj import LennardJones

import gstorder
from gstorder import _atomic, md, structures

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(gstorder.__file__)))


def test_atomic_write_uses_the_umask_and_keeps_an_existing_mode(tmp_path):
    old = os.umask(0o022)
    try:
        _atomic.atomic_write(tmp_path / "a.txt", lambda fh: fh.write(b"x"))
        assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
        os.chmod(tmp_path / "a.txt", 0o640)
        _atomic.atomic_write(tmp_path / "a.txt", lambda fh: fh.write(b"y"))
        assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640 and (tmp_path / "a.txt").read_bytes() == b"y"
        with _atomic.atomic_folder(tmp_path / "out") as folder:
            (folder / "x").write_text("x")
        assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755  # not mkdtemp's 0700
        md.lammps_deck([md.Segment(0.01, "nve")], structures.rocksalt("GeTe", 2, a=6.0), md.DEMO_GAP, tmp_path / "deck",
                       copy_potential=False)
        md.run(structures.rocksalt("GeTe", 2, a=6.0), LennardJones(sigma=2.7, epsilon=0.05, rc=6.0, smooth=True),
               [md.Segment(0.004, "nve")], temperature_K=300.0, trajectory=tmp_path / "t.xyz", thermo=tmp_path / "t.csv",
               checkpoint=tmp_path / "t.ckpt", checkpoint_every=1)
        for name in ("deck/in.lmp", "deck/data.lmp", "deck/groups.lmp", "t.xyz", "t.csv"):
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name
    finally:
        os.umask(old)


def test_a_failing_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "data.lmp"
    target.write_text("old")

    def full_disk(fh):
        fh.write("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        _atomic.atomic_write(target, full_disk, binary=False)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["data.lmp"]


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_dead_processes_are_cleaned_on_the_next_write(tmp_path):
    dead = tmp_path / f".gstorder-a.txt.{_dead_pid()}.part"
    dead.write_text("left by a kill")
    old = tmp_path / f".gstorder-a.txt.{os.getppid()}.part"  # a live process, but a day old: its pid was reused
    old.write_text("ancient")
    os.utime(old, (time.time() - 2 * _atomic.STALE_AFTER_S,) * 2)
    live = tmp_path / f".gstorder-a.txt.{os.getppid()}-3.part"  # a live writer's: left alone
    live.write_text("busy")
    other = tmp_path / f".gstorder-b.txt.{_dead_pid()}.part"  # another target's: cleaned by its own next write
    other.write_text("b")
    _atomic.atomic_write(tmp_path / "a.txt", lambda fh: fh.write(b"new"))
    assert not dead.exists() and not old.exists() and live.exists() and other.exists()
    assert (tmp_path / "a.txt").read_bytes() == b"new"


def test_a_set_of_files_is_finished_after_a_kill_between_its_renames(tmp_path):
    _atomic.atomic_files(tmp_path, {"in.lmp": lambda fh: fh.write("in 1"), "data.lmp": lambda fh: fh.write("data 1")})
    assert (tmp_path / "in.lmp").read_text() == "in 1" and not list(tmp_path.glob(".gstorder-*"))
    # what a kill after the first of two renames leaves: the journal, one temporary, one renamed file
    (tmp_path / ".gstorder-data.lmp.99999999.part").write_text("data 2")
    (tmp_path / "in.lmp").write_text("in 2")
    (tmp_path / ".gstorder-set.journal").write_text("x.part\tin.lmp\n.gstorder-data.lmp.99999999.part\tdata.lmp\n")
    _atomic.recover(tmp_path)
    assert (tmp_path / "data.lmp").read_text() == "data 2" and (tmp_path / "in.lmp").read_text() == "in 2"
    assert not list(tmp_path.glob(".gstorder-*"))


def test_a_failing_set_leaves_the_old_set(tmp_path):
    _atomic.atomic_files(tmp_path, {"a": lambda fh: fh.write("a1"), "b": lambda fh: fh.write("b1")})

    def fail(fh):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        _atomic.atomic_files(tmp_path, {"a": lambda fh: fh.write("a2"), "b": fail})
    assert (tmp_path / "a").read_text() == "a1" and (tmp_path / "b").read_text() == "b1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


# --------------------------------------------------------------------------- kill tests
#
# A subprocess imports gstorder once, times one uninterrupted job, then forks a child per kill that runs the job
# and SIGKILLs it after a random delay within that time. After each kill it checks the target: absent, or
# complete and valid. It prints one line per kill; the test asserts they all read "ok".

_KILLER = '''
import os, random, signal, sys, time
import numpy as np
import gstorder
from gstorder import _atomic, md, structures

folder, job, kills, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.chdir(folder)
{setup}

def timed():
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        work()
        os._exit(0)
    os.waitpid(pid, 0)
    return time.perf_counter() - start

span = timed()
check()
rng = random.Random(seed)
for k in range(kills):
    pid = os.fork()
    if pid == 0:
        work()
        os._exit(0)
    time.sleep(rng.uniform(0.0, span))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    try:
        check()
        print("ok", flush=True)
    except Exception as exc:
        print("bad", k, type(exc).__name__, exc, flush=True)
'''


def _kill_test(tmp_path, setup, kills=6, seed=0):
    script = tmp_path / "killer.py"
    script.write_text(_KILLER.format(setup=textwrap.dedent(setup)))
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([_REPO, os.environ.get("PYTHONPATH", "")])}  # this gstorder
    out = subprocess.run([sys.executable, str(script), str(work), "job", str(kills), str(seed)], capture_output=True,
                         text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.split("\n")
    assert [line for line in lines if line] == ["ok"] * kills, out.stdout + out.stderr[-2000:]
    return work


def test_atomic_write_killed_anywhere_leaves_no_partial_file(tmp_path):
    work = _kill_test(tmp_path, """
        payload = np.random.default_rng(0).bytes(3_000_000)

        def work():
            for k in range(8):
                _atomic.atomic_write("big.bin", lambda fh: fh.write(b"BEGIN" + payload + b"END"))

        def check():
            if os.path.exists("big.bin"):
                data = open("big.bin", "rb").read()
                assert len(data) == 3_000_008 and data.startswith(b"BEGIN") and data.endswith(b"END"), len(data)
    """)
    assert {p.name for p in work.iterdir()} <= {"big.bin"} | {p.name for p in work.glob(".gstorder-big.bin.*.part")}
    _atomic.atomic_write(work / "big.bin", lambda fh: fh.write(b"x"))  # the next write cleans what the kills left
    assert sorted(p.name for p in work.iterdir()) == ["big.bin"]


def test_lammps_deck_killed_anywhere_leaves_a_whole_deck(tmp_path):
    _kill_test(tmp_path, """
        models = [structures.rocksalt("GeTe", n, a=6.0) for n in (2, 4)]  # 64 and 512 atoms, told apart by the seed
        for atoms in models:
            z = atoms.positions[:, 2]
            atoms.new_array("fixed", z > z.max() - 0.1)
        segments = [md.Segment(0.1, "nvt", 300.0)]

        def work():
            for k in range(6):
                md.lammps_deck(segments, models[k % 2], md.DEMO_GAP, "deck", seed=11 + k % 2, copy_potential=False)

        def check():
            names = ("data.lmp", "groups.lmp", "in.lmp")
            for name in names:  # whatever is there is complete
                if os.path.exists(f"deck/{name}"):
                    assert open(f"deck/{name}").read().endswith("\\n"), name
            _atomic.recover("deck")  # what the next lammps_deck call does first
            present = [os.path.exists(f"deck/{name}") for name in names]
            assert all(present) or not any(present), present
            if all(present):
                text = open("deck/in.lmp").read()
                assert text.rstrip().endswith("unfix s0nve"), "in.lmp cut short"
                variant = 0 if " 11 mom yes" in text else 1
                atoms = models[variant]
                data = open("deck/data.lmp").read()
                assert f"{len(atoms)} atoms" in data, "data.lmp of another deck"
                ids = [int(i) for line in open("deck/groups.lmp") for i in line.split()[3:]]
                assert len(ids) == atoms.arrays["fixed"].sum() and max(ids) <= len(atoms), "groups.lmp of another deck"
    """)


def test_md_run_killed_anywhere_leaves_no_partial_output_and_resumes_exactly(tmp_path):
    _kill_test(tmp_path, """
        from ase.calculators.lj import LennardJones

        class StatelessLJ(LennardJones):  # see tests/test_md.py: forces a function of the positions alone
            def calculate(self, *args, **kwargs):
                self.nl = None
                super().calculate(*args, **kwargs)

        segments = [md.Segment(0.06, "nvt", 600.0), md.Segment(0.06, "npt", 600.0, pressure_GPa=0.5)]

        def go(name, **options):
            atoms = structures.rocksalt("GeTe", 2, a=6.0)
            return md.run(atoms, StatelessLJ(sigma=2.7, epsilon=0.05, rc=6.0, smooth=True), segments, seed=5,
                          write_every=3, pressure_damping_ps=0.05, trajectory=f"{name}.xyz", thermo=f"{name}.csv", **options)

        go("reference")
        reference = (open("reference.xyz").read(), open("reference.csv").read())

        def work():
            go("t", checkpoint="t.ckpt", checkpoint_every=7)

        def check():
            for name, ref in zip(("t.xyz", "t.csv"), reference):  # a final output is complete or absent
                assert not os.path.exists(name) or open(name).read() == ref, f"{name} partial or different"
            go("t", checkpoint="t.ckpt", checkpoint_every=7)  # resume from whatever checkpoint the kill left
            assert (open("t.xyz").read(), open("t.csv").read()) == reference, "resumed run differs"
            assert not os.path.exists("t.ckpt") and not [f for f in os.listdir() if f.startswith(".gstorder-")]
            os.unlink("t.xyz"), os.unlink("t.csv")
    """, kills=4)
