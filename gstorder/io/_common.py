"""What every reader shares: files opened through their decompressor, frames labelled with their file and index
(warning once about NaN or infinite values), and the error for a file without frames.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import warnings
from pathlib import Path

import numpy as np

from ..errors import GstorderWarning, TrajectoryFormatError
from ..frames import Frame


#: Compressed files are read through these, chosen by the last suffix; the format is guessed from the name before it.
_DECOMPRESSORS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open, ".lzma": lzma.open}


def _open_binary(path):
    """``path`` opened for reading bytes, decompressed on the fly when it ends in .gz, .bz2 or .xz."""
    return _DECOMPRESSORS.get(Path(path).suffix.lower(), open)(path, "rb")


def _label(frame: Frame, path, k: int) -> Frame:
    """Record where a frame came from (used in error messages), warning once if it holds NaN or infinite values."""
    frame.info["file"] = str(path)
    frame.info["frame_index"] = k
    _warn_non_finite(frame, path, k)
    return frame


def _warn_non_finite(frame: Frame, path, k: int) -> None:
    """One :class:`GstorderWarning` for a frame whose positions or velocities hold NaN or infinities.

    ASE and LAMMPS write and read such values; the analyses would turn them
    into NaN results far from their cause, so the warning names the file,
    the frame, the first bad atom (0-based, in the frame's order) and how
    many atoms are affected.
    """
    parts, total = [], np.zeros(len(frame), dtype=bool)
    for quantity, values in (("positions", frame.positions), ("velocities", frame.velocities)):
        if values is None or not values.size or (np.isfinite(values.min()) and np.isfinite(values.max())):
            continue  # the common case, in two passes without a per-entry mask (min and max propagate NaN)
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            atom = int(np.flatnonzero(bad)[0])
            parts.append(f"atom {atom} has non-finite {quantity} ({values[atom].tolist()})")
            total |= bad
    if parts:
        n = int(total.sum())
        warnings.warn(f"{path}: frame {k}: {'; '.join(parts)}; {n} atom{'s' * (n != 1)} in all", GstorderWarning,
                      stacklevel=4)


def _no_frames(path) -> TrajectoryFormatError:
    return TrajectoryFormatError(f"{path}: no frames (the file is empty or holds only blank lines)")
