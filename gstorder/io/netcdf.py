"""AMBER-convention NetCDF trajectories through netCDF4, with classic headers checked by SciPy first."""

from __future__ import annotations

import math
import os
import warnings

import numpy as np

from ..errors import MissingDataError, TrajectoryFormatError, UnknownFormatError
from ._common import _DECOMPRESSORS, _check_memory, _label, _no_frames
from ._text import _TEXT_WIDTH
from .lammps_dump import _LammpsDumpReader


#: Largest compression ratio of deflate (zlib): a deflated variable takes at least 1/1032 of its size in the file.
_DEFLATE_RATIO = 1032


def _non_negative(value: int) -> int:
    if value < 0:
        raise ValueError(f"a count, length or offset of {value} (corrupt header)")
    return value


class _NetcdfReader(_LammpsDumpReader):
    """AMBER-convention NetCDF trajectories (LAMMPS ``dump netcdf``, ASE, MDAnalysis, cpptraj) through netCDF4.

    Per-atom variables become the columns of a LAMMPS dump (``coordinates``
    -> x y z, ``unwrapped_coordinates`` -> xu yu zu, ``scaled_coordinates``
    -> xs ys zs, ``velocities`` -> vx vy vz, ``id``, ``type``, scalar extras
    by name), so they mean what they mean in a dump. Species come from
    ``species=`` for LAMMPS ``type`` variables, or from ASE's ``atom_types``
    / ``Z`` atomic numbers. Units follow the variables' ``units``
    attributes (Å; Å/ps or Å/fs; ps or fs), AMBER's defaults where absent.
    """

    _POSITIONS = {"coordinates": ("x", "y", "z"), "unwrapped_coordinates": ("xu", "yu", "zu"),
                  "scaled_coordinates": ("xs", "ys", "zs")}
    _VECTORS = {**_POSITIONS, "velocities": ("vx", "vy", "vz"), "forces": ("fx", "fy", "fz")}

    def error(self, k, where, message):
        return TrajectoryFormatError(f"{self.path}: frame {k}: {message}")

    def _check_classic_header(self):
        """Parse a NetCDF-3 (CDF-1/CDF-2) header with SciPy's pure-Python reader before the C library sees it.

        The netCDF C library can crash the process on a corrupt classic
        header (a segfault no Python code can catch); SciPy raises instead.
        NetCDF-4 (HDF5) and CDF-5 files go to netCDF4 directly. Once per
        reader: random access opens the file for every frame.
        """
        if self.__dict__.get("_header_checked"):
            return
        with open(self.path, "rb") as fh:
            magic = fh.read(4)
        if magic not in (b"CDF\x01", b"CDF\x02"):
            return
        from scipy.io import netcdf_file

        class Strict(netcdf_file):
            """Counts, lengths and offsets of a classic header are never negative (SciPy would read them as empty)."""

            def _unpack_int(self):
                return _non_negative(super()._unpack_int())

            def _unpack_int64(self):
                return _non_negative(super()._unpack_int64())

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SciPy warns about arrays still mapped at close
                with Strict(self.path, "r", mmap=True) as nc:
                    for var in nc.variables.values():
                        var.data.shape  # noqa: B018 - maps each variable: its offsets must lie in the file
                    names = set(nc.variables)
        except Exception as exc:  # SciPy raises ValueError, TypeError, OverflowError, ... for corrupt headers
            raise TrajectoryFormatError(f"{self.path}: corrupt NetCDF header ({type(exc).__name__}: {exc})") from None
        if not names & set(self._POSITIONS):
            raise TrajectoryFormatError(f"{self.path}: not an AMBER-convention trajectory (no coordinates variable)")
        self._header_checked = True

    def _open_dataset(self):
        if self.path.suffix.lower() in _DECOMPRESSORS:
            raise UnknownFormatError(f"{self.path}: compressed NetCDF is not read; decompress it first "
                                     "(NetCDF-4 files compress internally)")
        import netCDF4

        self._check_classic_header()
        try:
            ds = netCDF4.Dataset(str(self.path), "r")
        except Exception as exc:  # netCDF4 raises OSError, UnicodeDecodeError, ... for corrupt headers
            raise TrajectoryFormatError(f"{self.path}: not a readable NetCDF file ({exc})") from None
        missing = [d for d in ("frame", "atom") if d not in ds.dimensions]
        if missing or not any(v in ds.variables for v in self._POSITIONS):
            ds.close()
            raise TrajectoryFormatError(f"{self.path}: not an AMBER-convention trajectory (needs 'frame' and 'atom' "
                                        f"dimensions and a coordinates variable; missing {missing or 'coordinates'})")
        ds.set_auto_mask(False)
        try:
            self._check_sizes(ds)
        except BaseException:
            ds.close()
            raise
        return ds

    def _check_sizes(self, ds):
        """Refuse a header declaring more coordinates than the file can hold, before anything is read.

        Uncompressed (classic, or NetCDF-4 without filters) coordinates take
        their full size in the file; deflated ones at least 1/1032 of it
        (deflate's largest ratio). Under other filters the file cannot bound
        them, and :meth:`_frame_of` checks each frame against the memory
        available instead.
        """
        name = next(v for v in self._POSITIONS if v in ds.variables)
        var = ds.variables[name]
        n_atoms, n_frames = ds.dimensions["atom"].size, ds.dimensions["frame"].size
        frames = n_frames if var.dimensions[:1] == ("frame",) else 1
        need = frames * n_atoms * 3 * var.dtype.itemsize
        ratio = 1
        if not ds.data_model.startswith("NETCDF3"):
            filters = var.filters() or {}
            others = [key for key, on in filters.items() if on and key not in ("zlib", "shuffle", "complevel", "fletcher32")]
            ratio = None if others else _DEFLATE_RATIO if filters.get("zlib") else 1
        size = os.path.getsize(self.path)
        if ratio is not None and need > size * ratio:
            raise TrajectoryFormatError(
                f"{self.path}: the header declares {frames} frame{'s' * (frames != 1)} of {n_atoms} atoms, whose "
                f"coordinates ({need} bytes{', deflated to at least ' + str(-(-need // ratio)) if ratio > 1 else ''}) "
                f"a file of {size} bytes cannot hold (truncated or corrupt)")

    def offsets(self):
        with self._open() as ds:
            return range(ds.dimensions["frame"].size)  # not a list: a header may declare many frames of no atoms

    def _open(self):
        ds = self._open_dataset()
        if ds.dimensions["frame"].size == 0:
            ds.close()
            raise _no_frames(self.path)
        return ds

    def read_at(self, offset, k):
        with self._open() as ds:
            return self._frame_of(ds, offset)

    def stream(self, start, stop, step):
        with self._open() as ds:
            n = ds.dimensions["frame"].size
            for k in range(start, n if stop is None else min(stop, n), step):
                yield self._frame_of(ds, k)

    def _frame_of(self, ds, k):
        natoms = ds.dimensions["atom"].size
        width = 0  # values per atom of the per-atom variables
        for var in ds.variables.values():
            dims = var.dimensions[1:] if var.dimensions[:1] == ("frame",) else var.dimensions
            if dims[:1] == ("atom",):
                width += math.prod(ds.dimensions[d].size for d in dims[1:])
        _check_memory(self.path, k, natoms, 16 * max(width, 3))  # each value read, then converted to float

        def value(name):  # one frame of a variable (variables without a frame dimension are constant)
            var = ds.variables[name]
            try:
                data = var[k] if var.dimensions and var.dimensions[0] == "frame" else var[:]
            except (OSError, RuntimeError, IndexError, UnicodeDecodeError) as exc:
                raise self.error(k, None, f"cannot read {name!r}: {exc}") from None
            return np.asarray(data)

        def unit(name):
            return str(getattr(ds.variables[name], "units", "")).lower()

        names, columns = [], []
        for name, var in ds.variables.items():
            dims = var.dimensions[1:] if var.dimensions[:1] == ("frame",) else var.dimensions
            if not dims or dims[0] != "atom" or var.dtype.kind not in "iuf":
                continue
            data = value(name).reshape(natoms, math.prod(ds.dimensions[d].size for d in dims[1:]))  # also 0 atoms
            if name in self._VECTORS and data.shape[1] == 3:
                names += list(self._VECTORS[name])
            elif name in ("atom_types", "Z") and "type" not in ds.variables:
                names.append("type")
            elif data.shape[1] == 1:
                names.append(name)
            else:
                continue
            columns.append(data.astype(float))
        table = np.concatenate(columns, axis=1) if columns else np.empty((natoms, 0))

        for name in ("coordinates", "unwrapped_coordinates", "cell_lengths", "cell_origin"):
            if name in ds.variables and unit(name) and not unit(name).startswith("angstrom"):
                raise MissingDataError(f"{self.path}: {name!r} in units {unit(name)!r}; gstorder reads Å")
        units = None
        for name in ("velocities", "time"):
            text = unit(name) if name in ds.variables else ""
            if "femtosecond" in text:
                units = "real"
            elif "picosecond" in text:
                units = units or "metal"
            elif text:
                raise MissingDataError(f"{self.path}: {name!r} in units {text!r}; gstorder reads Å/ps or Å/fs, ps or fs")
        units = units or "metal"

        if "cell_lengths" in ds.variables:
            from ase.geometry import cellpar_to_cell

            lengths = value("cell_lengths").reshape(3).astype(float)
            angles = value("cell_angles").reshape(3).astype(float) if "cell_angles" in ds.variables else np.full(3, 90.0)
            pbc = lengths > 1e-6
            try:
                if not (np.isfinite(lengths).all() and ((0 < angles) & (angles < 180)).all()):
                    raise ValueError
                cell = cellpar_to_cell(np.concatenate([np.where(pbc, lengths, 1.0), angles])) * pbc[:, None]
            except (ValueError, AssertionError):  # ASE asserts on angles no cell has
                raise self.error(k, None, f"no cell has lengths {lengths.tolist()} and angles {angles.tolist()}") from None
            if not np.isfinite(cell).all():
                raise self.error(k, None, f"no cell has lengths {lengths.tolist()} and angles {angles.tolist()}")
        else:
            cell, pbc = np.zeros((3, 3)), np.zeros(3, dtype=bool)
        origin = value("cell_origin").reshape(3).astype(float) if "cell_origin" in ds.variables else np.zeros(3)
        time = float(value("time").reshape(-1)[0]) if "time" in ds.variables else None
        if time is not None and not np.isfinite(time):
            time = None
        types = None
        if not self.types and "type" not in ds.variables and "type" in names:  # ASE's atom_types/Z: atomic numbers
            types = {z: z for z in range(1, 119)}
        text = np.empty((natoms, 0), f"S{_TEXT_WIDTH}")
        frame = self._frame(k, names, table, text, (cell, origin, pbc), None, time, units, 1, 0, types=types)
        return _label(frame, self.path, k)
