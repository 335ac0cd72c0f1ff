"""Writers that never leave half a file (or half a set of files) behind: the package's one atomic-write helper.

Every output goes first to a temporary file beside its target, named
``.gstorder-<name>.<pid>.part`` so a user who finds one knows where it came
from, and is renamed over the target only when complete. Temporary files
are created with the permissions the umask gives (not 0600), and a
replaced file keeps the permissions it had. Temporary files left by a
killed process (its pid is gone, or the file is older than
:data:`STALE_AFTER_S`) are removed on the next write to the same target.

A set of files that belong together (a LAMMPS deck) is written with
:func:`atomic_files`: all files to temporary names, then a journal listing
the renames, then the renames. A kill during the renames is finished by the
next :func:`atomic_files` (or :func:`recover`) on the folder, so the set is
never left half old, half new.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import stat
import time
from pathlib import Path

__all__ = ["atomic_write", "atomic_path", "atomic_files", "atomic_folder", "new_temp", "commit", "recover", "recover_folder",
           "STALE_AFTER_S", "MANIFEST"]

#: A temporary file of a live process is still taken as stale after this many seconds (its pid may have been reused).
STALE_AFTER_S = 24 * 3600.0

_PREFIX = ".gstorder-"
_TEMP = re.compile(r"^\.gstorder-(?P<name>.+)\.(?P<pid>\d+)(?:-\d+)?\.part(?:\.\w+)?$")
_JOURNAL = ".gstorder-set.journal"
_counter = itertools.count(1)


def atomic_write(path, writer, *, binary: bool = True) -> None:
    """Write a file through ``writer(fh)`` into a temporary file beside ``path``, then rename it over ``path``.

    Parameters
    ----------
    path : str or os.PathLike
    writer : callable
        ``writer(fh)`` writes the whole content to the open file ``fh``.
    binary : bool
        Open ``fh`` in binary (default) or text mode.

    Notes
    -----
    An interrupted or failing write (a full disk, an exception in
    ``writer``) leaves ``path`` as it was and removes the temporary file; a
    kill leaves at most a stale ``.gstorder-<name>.<pid>.part``, removed by
    the next write to ``path``.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "wb" if binary else "w") as fh:
            writer(fh)
            _sync(fh)


@contextlib.contextmanager
def atomic_path(path, *, suffix: str = ""):
    """A temporary path beside ``path`` for writers that need a file name; renamed over ``path`` on success.

    Yields the temporary path (an empty file). ``suffix`` (e.g. ``".gif"``)
    ends its name, for writers that pick the format from the extension. On
    an exception it is removed and ``path`` keeps what it held.
    """
    tmp = new_temp(path, suffix=suffix)
    try:
        yield tmp
        commit(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def new_temp(path, *, suffix: str = "") -> Path:
    """Create an empty temporary file for ``path`` (``.gstorder-<name>.<pid>.part`` beside it) and return its path.

    Stale temporary files of the same target are removed first. The file
    gets the permissions the umask allows, or those of an existing ``path``.
    For writers that append over a long time (the MD trajectory); finish
    with :func:`commit`.
    """
    path = Path(os.fspath(path))
    clean_stale(path)
    for k in itertools.chain([None], _counter):
        tmp = path.with_name(f"{_PREFIX}{path.name}.{os.getpid()}{'' if k is None else f'-{k}'}.part{suffix}")
        try:
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        try:
            if path.exists():
                os.chmod(fd, stat.S_IMODE(os.stat(path).st_mode))
        finally:
            os.close(fd)
        return tmp


def commit(tmp, path) -> None:
    """Flush ``tmp`` to disk and rename it over ``path``."""
    with open(tmp, "rb+") as fh:
        _sync(fh)
    os.replace(tmp, path)


def atomic_files(folder, writers: dict, *, binary: bool = False) -> None:
    """Write a set of files into ``folder`` so that it is replaced as a whole.

    Parameters
    ----------
    folder : str or os.PathLike
        Created if needed.
    writers : dict of str to callable
        File name → ``writer(fh)``. Files are renamed in this order.
    binary : bool

    Notes
    -----
    Every file is written to a temporary name first; a failure there leaves
    the old set untouched. Then a journal (``.gstorder-set.journal``)
    lists the renames and they are done; a kill during the renames leaves
    the journal, and the next call on ``folder`` (or :func:`recover`)
    finishes them before anything else.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    recover(folder)
    temps = {}
    try:
        for name, writer in writers.items():
            temps[name] = new_temp(folder / name)
            with open(temps[name], "wb" if binary else "w") as fh:
                writer(fh)
                _sync(fh)
        lines = "".join(f"{tmp.name}\t{name}\n" for name, tmp in temps.items())
        atomic_write(folder / _JOURNAL, lambda fh: fh.write(lines), binary=False)  # complete before any rename
    except BaseException:
        for tmp in temps.values():
            _unlink(tmp)
        raise
    _roll_forward(folder / _JOURNAL)


def recover(folder) -> None:
    """Finish the renames of a set of files interrupted in ``folder`` (see :func:`atomic_files`)."""
    journal = Path(folder) / _JOURNAL
    if journal.exists():
        _roll_forward(journal)


def _roll_forward(journal: Path) -> None:
    for line in journal.read_text().splitlines():
        tmp, name = line.split("\t")
        if (journal.parent / tmp).exists():
            os.replace(journal.parent / tmp, journal.parent / name)
    journal.unlink()


#: The manifest gstorder writes into every output folder: which files are its own.
MANIFEST = ".gstorder-output"


@contextlib.contextmanager
def atomic_folder(path, *, force: bool = False):
    """A temporary folder beside ``path`` to write outputs into; on success it replaces ``path`` as a whole.

    Yields the temporary folder (``.gstorder-<name>.<pid>.part``). On an
    exception nothing of it reaches ``path`` (which keeps what it held) and
    the temporary folder is removed. On success a manifest
    (``.gstorder-output``) is added and the folder takes the place of
    ``path`` in one atomic exchange (Linux ``renameat2``), so a kill at any
    instant leaves the old set or the new set, complete; no file of an
    earlier output survives. Where the exchange is not available (another
    system or file system), or ``path`` is the working folder or holds it,
    the files are moved in under a journal that the next call finishes.

    Raises
    ------
    OutputFolderError
        When ``path`` is a folder gstorder did not write (no manifest) and is
        not empty, unless ``force`` (then its contents are replaced).
    """
    from .errors import OutputFolderError

    path = Path(os.path.abspath(os.fspath(path)))
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{str(path)!r} exists and is not a folder")
    recover_folder(path)
    if path.is_dir() and not force and not (path / MANIFEST).exists() and any(path.iterdir()):
        raise OutputFolderError(f"{str(path)!r} holds files gstorder did not write; choose a new or empty folder, or "
                                "pass --force (force=True) to replace its contents")
    clean_stale(path)
    tmp = path.with_name(f"{_PREFIX}{path.name}.{os.getpid()}-{next(_counter)}.part")
    tmp.mkdir()
    try:
        yield tmp
        names = sorted(item.name for item in tmp.iterdir())
        atomic_write(tmp / MANIFEST, lambda fh: fh.write("".join(f"{n}\n" for n in names)), binary=False)
        if not path.exists():
            os.rename(tmp, path)
        elif _inside(Path(os.getcwd()), path) or not _exchange(tmp, path):
            _move_in(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _inside(inner: Path, outer: Path) -> bool:
    try:
        inner.resolve().relative_to(outer.resolve())
        return True
    except ValueError:
        return False


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unavailable."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), exchange) != 0:
        return False  # e.g. a file system without RENAME_EXCHANGE: fall back to the journal
    return True  # ``a`` now holds the old contents, removed by the caller


_FOLDER_JOURNAL = ".gstorder-folder.journal"


def _move_in(tmp: Path, path: Path) -> None:
    """Replace the contents of ``path`` by those of ``tmp`` under a journal (finished by :func:`recover_folder`)."""
    old = [item.name for item in path.iterdir() if item.name != _FOLDER_JOURNAL]
    lines = "".join(f"remove\t{name}\n" for name in old) + "".join(f"move\t{item}\n" for item in sorted(tmp.iterdir()))
    atomic_write(path / _FOLDER_JOURNAL, lambda fh: fh.write(lines), binary=False)
    _finish_move(path)


def _finish_move(path: Path) -> None:
    journal = path / _FOLDER_JOURNAL
    for line in journal.read_text().splitlines():
        action, name = line.split("\t", 1)
        if action == "remove":
            target = path / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target, ignore_errors=True)
            else:
                _unlink(target)
        elif Path(name).exists():
            os.replace(name, path / Path(name).name)
    journal.unlink()


def recover_folder(path) -> None:
    """Finish an output folder's replacement that a kill interrupted (see :func:`atomic_folder`)."""
    path = Path(path)
    if (path / _FOLDER_JOURNAL).exists():
        _finish_move(path)


def clean_stale(path) -> list:
    """Remove the temporary files (and folders) of ``path`` that a dead or long-gone process left; return their paths."""
    path = Path(os.fspath(path))
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except FileNotFoundError:
        return removed
    for entry in entries:
        match = _TEMP.match(entry.name)
        if match is None or match["name"] != path.name:
            continue
        pid = int(match["pid"])
        try:
            age = time.time() - entry.stat(follow_symlinks=False).st_mtime
        except FileNotFoundError:
            continue
        if (pid != os.getpid() and not _alive(pid)) or age > STALE_AFTER_S:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                _unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _sync(fh) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def _unlink(path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
