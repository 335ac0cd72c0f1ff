"""The one atomic-write helper (gstorder._atomic) and every writer built on it: no partial file, ever."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from gstorder import _atomic


def test_atomic_write_uses_the_umask_and_keeps_an_existing_mode(tmp_path):
    old = os.umask(0o022)
    try:
        _atomic.atomic_write(tmp_path / "a.txt", lambda fh: fh.write(b"x"))
        assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
        os.chmod(tmp_path / "a.txt", 0o640)
        _atomic.atomic_write(tmp_path / "a.txt", lambda fh: fh.write(b"y"))
        assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640 and (tmp_path / "a.txt").read_bytes() == b"y"
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
