"""Writers that never leave half a file (or half a folder) behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "atomic_folder"]


def atomic_write(path, writer, *, binary: bool = True) -> None:
    """Write a file through ``writer(fh)`` into a temporary file beside ``path``, then rename it over ``path``.

    An interrupted or failing write leaves ``path`` as it was; the temporary
    file (``.gstorder-*``) is removed.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".gstorder-", suffix=os.path.splitext(path)[1] + ".part")
    try:
        with os.fdopen(fd, "wb" if binary else "w") as fh:
            writer(fh)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_folder(path):
    """A temporary folder beside ``path`` to write outputs into; its files move into ``path`` only on success.

    Yields the temporary folder. On an exception nothing of it reaches
    ``path`` (which keeps what it held) and the temporary folder is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{str(path)!r} exists and is not a folder")
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".gstorder-{path.name}-", suffix=".part"))
    try:
        yield tmp
        if not path.exists():
            os.rename(tmp, path)
            return
        for item in tmp.iterdir():
            os.replace(item, path / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
