"""gstorder: structural order of Ge-Sb-Te phase-change materials from MD trajectories.

Frames come in through :func:`read_frames` (or as ``ase.Atoms``), neighbour
lists from :mod:`gstorder.neighbors`, and every analysis returns labelled
xarray objects with units in their attributes.
"""

from . import errors, neighbors, structures
from ._version import __version__
from .frames import Frame, as_frame
from .io import Trajectory, read_frames
from .source import iter_frames
from .parallel import threads
from .altbc import altbc
from .dynamics import density, diffusion, msd, vibrations
from .motifs import bond_motifs
from .network import rings
from .voids import cavities
from .pairs import adf, rdf
from .scattering import structure_factor
from .thermal import temperature_map
from . import crystallinity, layers, md, plot
from . import nucleation, order, vacancies
from .suite import analyze
from .registry import ANALYSES
from . import config, selection

__all__ = [
    "__version__",
    "errors",
    "neighbors",
    "structures",
    "Frame",
    "as_frame",
    "iter_frames",
    "Trajectory",
    "read_frames",
    "threads",
    "rdf",
    "adf",
    "structure_factor",
    "bond_motifs",
    "rings",
    "cavities",
    "altbc",
    "temperature_map",
    "msd",
    "density",
    "diffusion",
    "vibrations",
    "layers",
    "plot",
    "crystallinity",
    "order",
    "nucleation",
    "vacancies",
    "md",
    "analyze",
    "ANALYSES",
    "config",
    "selection",
]
