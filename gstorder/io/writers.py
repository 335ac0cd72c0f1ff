"""Writing frames and per-atom results as LAMMPS text dumps."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .._kernels.text import format_rows
from ..errors import ArgumentTypeError, InconsistentFramesError, InvalidArgumentError
from ._common import _DECOMPRESSORS


#: Digits after the decimal point in written dumps (1e-6 Å, Å/ps, and of every result column).
DECIMALS = 6


def write_lammps_dump(path, frames, columns=None, *, step=None) -> None:
    """Write frames with per-atom results as a LAMMPS text dump that OVITO, LAMMPS and gstorder read.

    Columns ``id type element x y z`` (types numbered by atomic number,
    1 for the lightest species present), then ``vx vy vz`` when every
    frame has velocities (Å/ps, LAMMPS metal units), then ``columns``.
    Triclinic cells get LAMMPS' tilted ``BOX BOUNDS xy xz yz`` header. The
    file is written beside ``path`` and renamed, so it is complete or absent.

    Parameters
    ----------
    path : str or path-like
        Output file (``.lammpstrj``; ``.gz``, ``.bz2`` or ``.xz`` compress it, and it reads back as it is).
    frames : path, Frame, ase.Atoms, Trajectory or iterable of them
    columns : dict or xarray.Dataset, optional
        Per-atom numbers by column name: arrays of shape (n_frames, n_atoms)
        or (n_atoms,) for every frame, or a Dataset whose (``frame``,
        ``atom``) variables are taken (e.g. ``kbar(...)`` with ``k`` and
        ``kbar``). Booleans are written as 0/1.
    step : sequence of int, optional
        ``ITEM: TIMESTEP`` values; default each frame's ``info["step"]`` or its position.

    Examples
    --------
    >>> import gstorder, tempfile, os
    >>> frame = gstorder.as_frame(gstorder.structures.trigonal("GeTe"))
    >>> path = os.path.join(tempfile.mkdtemp(), "k.lammpstrj")
    >>> gstorder.io.write_lammps_dump(path, frame, {"kbar": [0.5] * len(frame)})
    >>> next(gstorder.read_frames(path)).arrays["kbar"][:2]
    array([0.5, 0.5])
    """
    from ..source import iter_frames  # local: the source opens paths through this package

    frames = list(iter_frames(frames))
    if not frames:
        raise InvalidArgumentError("no frames to write")
    if columns is None:
        columns = {}
    elif hasattr(columns, "data_vars"):  # an xarray Dataset: its per-atom variables
        columns = {name: var.values for name, var in columns.data_vars.items() if set(var.dims) == {"frame", "atom"}}
    table = {}
    for name, values in dict(columns).items():
        if not re.fullmatch(r"[A-Za-z_][\w\[\]]*", str(name)) or name in ("id", "type", "element", "x", "y", "z", "vx", "vy", "vz"):
            raise InvalidArgumentError(f"column name {name!r} is not a free LAMMPS dump column name")
        values = np.asarray(values)
        if values.dtype.kind not in "biuf":
            raise ArgumentTypeError(f"column {name!r} must hold numbers or booleans, not {values.dtype}")
        if values.ndim == 1 and len(values) == len(frames[0]):
            values = np.broadcast_to(values, (len(frames), len(frames[0])))
        if values.shape != (len(frames), len(frames[0])):
            raise InvalidArgumentError(f"column {name!r} has shape {values.shape}; expected ({len(frames)}, {len(frames[0])}) "
                             "(frames, atoms) or (atoms,)")
        table[name] = values.astype(float)
    if step is not None and len(step) != len(frames):
        raise InvalidArgumentError(f"{len(step)} steps for {len(frames)} frames")
    rows = ((frame, frame.info.get("step", k) if step is None else step[k], {n: v[k] for n, v in table.items()})
            for k, frame in enumerate(frames))
    species = np.unique(np.concatenate([f.numbers for f in frames]))
    write_dump_frames(path, rows, list(table), species, all(f.velocities is not None for f in frames))


def write_dump_frames(path, rows, columns, species, with_velocities: bool) -> None:
    """Stream ``(frame, step, {column: values per atom})`` rows to a LAMMPS text dump (atomic: complete or absent).

    ``columns`` names the extra columns in order, ``species`` the atomic
    numbers that get types 1, 2, ...; frames are read one at a time, so memory
    stays bounded by a frame (see :func:`write_lammps_dump`).
    """
    from .._atomic import atomic_write
    from ase.data import chemical_symbols

    species = np.asarray(species)
    names = ["id", "type", "element", "x", "y", "z"] + (["vx", "vy", "vz"] if with_velocities else []) + list(columns)
    symbols = [chemical_symbols[z].encode() for z in range(len(chemical_symbols))]
    letters = np.zeros((len(symbols), 2), np.uint8)
    for z, s in enumerate(symbols):
        letters[z, : len(s)] = np.frombuffer(s[:2], np.uint8)
    lengths = np.array([len(s) for s in symbols], np.int64)

    def write(fh):
        first = None
        for frame, number, extra in rows:
            first = len(frame) if first is None else first
            if len(frame) != first:
                raise InconsistentFramesError(f"{frame.describe()} has {len(frame)} atoms, the first frame {first}")
            a, b, c = frame.cell
            if np.any(np.abs([a[1], a[2], b[2]]) > 1e-12 * max(1.0, np.abs(frame.cell).max())):
                raise InvalidArgumentError(f"{frame.describe()}: LAMMPS needs a lower-triangular cell (a along x, b in the xy "
                                 "plane); rotate it first (ase.Atoms.set_cell(..., scale_atoms=True) on cellpar)")
            xy, xz, yz = float(b[0]), float(c[0]), float(c[1])
            hx, hy, hz = float(a[0]), float(b[1]), float(c[2])
            flags = " ".join("pp" if p else "ff" for p in frame.pbc)
            if xy or xz or yz:
                box = (f"ITEM: BOX BOUNDS xy xz yz {flags}\n{min(0.0, xy, xz, xy + xz)!r} {hx + max(0.0, xy, xz, xy + xz)!r} "
                       f"{xy!r}\n{min(0.0, yz)!r} {hy + max(0.0, yz)!r} {xz!r}\n0.0 {hz!r} {yz!r}\n")
            else:
                box = f"ITEM: BOX BOUNDS {flags}\n0.0 {hx!r}\n0.0 {hy!r}\n0.0 {hz!r}\n"
            time = "" if frame.time is None or not np.isfinite(frame.time) else f"ITEM: TIME\n{float(frame.time)!r}\n"
            fh.write((f"{time}ITEM: TIMESTEP\n{int(number)}\nITEM: NUMBER OF ATOMS\n{len(frame)}\n{box}"
                      f"ITEM: ATOMS {' '.join(names)}\n").encode())
            body = np.hstack([frame.positions] + ([frame.velocities] if with_velocities else [])
                             + [np.asarray(extra[n], dtype=float)[:, None] for n in columns])
            finite = body[np.isfinite(body)]
            if finite.size and np.abs(finite).max() >= 1e12:
                raise InvalidArgumentError(f"{frame.describe()}: values of 1e12 or more do not fit the dump's fixed-point columns")
            ints = np.column_stack([np.arange(1, len(frame) + 1), np.searchsorted(species, frame.numbers) + 1])
            out = np.empty(len(frame) * (48 + 22 * body.shape[1]), np.uint8)
            size = format_rows(ints.astype(np.int64), letters[frame.numbers], lengths[frame.numbers],
                               np.ascontiguousarray(body, dtype=float), DECIMALS, out)
            fh.write(out[:size].tobytes())

    def write_file(fh):
        opener = _DECOMPRESSORS.get(Path(path).suffix.lower())
        if opener is None:
            write(fh)
            return
        with opener(fh, "wb") as packed:
            write(packed)

    atomic_write(path, write_file)
