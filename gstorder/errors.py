"""Exceptions and warnings raised by gstorder.

Every error subclasses a builtin (``ValueError``, ``ImportError``, ...), so a
plain ``except ValueError`` keeps working; catch :class:`GstorderError` to
catch all of them.
"""


class GstorderError(Exception):
    """Base class of every exception raised by gstorder."""


class InvalidArgumentError(GstorderError, ValueError):
    """An argument has a value no analysis can use (NaN, negative, zero, out of range); the message names it and the value."""


class ArgumentTypeError(GstorderError, TypeError):
    """An argument has the wrong type (a string for a length, a float for a count); the message names it."""


class ReferenceFileError(GstorderError, ValueError):
    """A saved k-bar reference (``.npz``) is not one gstorder wrote, or is damaged; the message names the file."""


class TrajectoryFormatError(GstorderError, ValueError):
    """A trajectory file is truncated, corrupt or inconsistent.

    The message names the file, the frame and the line.
    """


class UnknownFormatError(GstorderError, ValueError):
    """The file format could not be guessed or is not supported."""


class MissingDataError(GstorderError, ValueError):
    """A frame lacks data an analysis needs (velocities, a cell, species...)."""


class CellTooSmallError(GstorderError, ValueError):
    """The cell is too small for the requested cut-off along some direction."""


class UnknownSpeciesError(GstorderError, ValueError):
    """A chemical species is unknown or absent where it is required."""


class EmptyFrameError(GstorderError, ValueError):
    """A frame holds no atoms where at least one is needed."""


class InconsistentFramesError(GstorderError, ValueError):
    """Frames differ (atom count, composition) where an analysis needs them alike; the message names the frame."""


class GstorderWarning(UserWarning):
    """Legal but degenerate input: the result is empty or NaN."""


class GstorderDeprecationWarning(GstorderWarning, FutureWarning):
    """A deprecated spelling or argument: it still works, the message names the new one."""


class OutputFolderError(GstorderError, FileExistsError):
    """An output folder that holds files gstorder did not write (pass ``force=True`` / ``--force`` to replace them)."""


class ConfigError(InvalidArgumentError):
    """A config file or ``--set`` value that gstorder cannot use (unknown table or key, wrong type, bad value)."""


class PotentialFileError(GstorderError, ValueError):
    """A potential file (GAP XML) is empty, truncated, not XML, or holds no GAP; the message names the file and the problem."""


class PotentialNotFoundError(GstorderError, FileNotFoundError):
    """A potential file, or a file it refers to (a GAP's sparseX file), does not exist."""


class CheckpointError(GstorderError, ValueError):
    """An MD checkpoint cannot be read (truncated, corrupt, not a gstorder checkpoint); the message names the file."""


class CheckpointMismatchError(CheckpointError):
    """An MD checkpoint was written by a run set up differently (time step, protocol, temperatures, atoms, species...)."""


class LatticeMismatchError(GstorderError, ValueError):
    """A frame does not fit the ideal lattice asked for (e.g. a trigonal phase given to the rock-salt vacancy analysis)."""


class SingularCellError(GstorderError, ValueError):
    """The periodic cell vectors are (nearly) linearly dependent or not finite: the cell encloses no volume."""
