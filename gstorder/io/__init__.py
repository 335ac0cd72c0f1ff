"""Reading trajectories frame by frame, without loading whole files.

:func:`read_frames` streams :class:`~gstorder.frames.Frame` objects from
extended XYZ, LAMMPS text dumps, VASP XDATCAR, ASE ``.traj``, POSCAR and CIF
files. :class:`Trajectory` adds ``len()`` and random access (it indexes the
frame offsets on first use).

Units on the way in
-------------------
Positions become Å, velocities Å/ps and times ps:

* extended XYZ: ``velo``/``vel``/``velocities`` columns are read as Å/fs
  (the libAtoms/quippy and GPUMD convention), ``momenta`` as ASE momenta
  (written by ``ase.io.write``); ``time_ps=`` is ps, ``time_fs=``, ``Time=``
  and ``time=`` are fs.
* LAMMPS dumps: ``units metal`` (velocities Å/ps, ``ITEM: TIME`` in ps) by
  default, or ``units="real"`` (Å/fs, fs). Without ``ITEM: TIME`` the time is
  ``step * timestep_fs / 1000`` when ``timestep_fs`` is given.

One module per format: :mod:`~gstorder.io.extxyz`, :mod:`~gstorder.io.lammps_dump`,
:mod:`~gstorder.io.lammps_binary`, :mod:`~gstorder.io.netcdf`, :mod:`~gstorder.io.xdatcar` and
:mod:`~gstorder.io.ase_formats`; :mod:`~gstorder.io.writers` writes LAMMPS dumps.
"""

from __future__ import annotations

from ._text import _LineReader  # noqa: F401 - as gstorder.io._LineReader before the split (tests shrink its CHUNK)
from ._trajectory import FORMATS, Trajectory, read_frames, read_groups
from .writers import DECIMALS, write_lammps_dump  # noqa: F401 - DECIMALS: as gstorder.io.DECIMALS before the split

__all__ = ["read_frames", "read_groups", "Trajectory", "write_lammps_dump", "FORMATS"]
