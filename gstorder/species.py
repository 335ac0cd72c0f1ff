"""Species tables and chemical groups of frames: which species are present, which atom is which, cations and anions."""

from __future__ import annotations

import numpy as np
from ase.data import chemical_symbols

from .errors import InvalidArgumentError, UnknownSpeciesError
from .frames import Frame, species_numbers

__all__ = ["frame_species", "species_mask", "GROUPS", "species_groups"]


def frame_species(frame: Frame, species=None) -> tuple[list[str], np.ndarray]:
    """Species labels in atomic-number order and each atom's index into them.

    ``species`` fixes the list (e.g. from the first frame of a trajectory);
    an atom of another species raises :class:`UnknownSpeciesError`.
    """
    if species is None:
        zs = np.flatnonzero(np.bincount(frame.numbers))  # O(N), unlike np.unique
    else:
        zs = species_numbers(species)
        absent = np.setdiff1d(np.flatnonzero(np.bincount(frame.numbers)), zs)
        if len(absent):
            raise UnknownSpeciesError(
                f"{frame.describe()} contains {[chemical_symbols[z] for z in absent]}, not among the species "
                f"{[chemical_symbols[z] for z in zs]} of the first frame"
            )
    lookup = np.zeros(max(int(zs.max(initial=0)), int(frame.numbers.max(initial=0))) + 1, dtype=np.int64)
    lookup[zs] = np.arange(len(zs))
    types = lookup[frame.numbers]
    return [chemical_symbols[z] for z in zs], types


def species_mask(frame: Frame, species, *, what: str) -> np.ndarray:
    """Boolean mask of the atoms of ``species`` (a symbol or list; ``None`` = all)."""
    if species is None:
        return np.ones(len(frame), dtype=bool)
    zs = species_numbers([species] if isinstance(species, (str, int, np.integer)) else species)
    present = set(np.unique(frame.numbers).tolist())
    missing = [chemical_symbols[z] for z in zs if z not in present]
    if len(missing) == len(zs):
        raise UnknownSpeciesError(f"{what}={species!r}: no such atoms in {frame.describe()} ({frame.formula})")
    return np.isin(frame.numbers, zs)


#: Named species groups: cations and anions of the GST family.
GROUPS = {"cations": ("Ge", "Sb"), "anions": ("Te",)}


def species_groups(groups) -> dict[str, tuple]:
    """Validated species groups, group name -> species.

    ``groups`` holds names from :data:`GROUPS` (``"cations"``,
    ``"anions"``), single species (a group of one), sequences of species
    (named by joining them with ``+``), or is a dict name -> species.

    Raises
    ------
    UnknownSpeciesError
        For a symbol that is not an element.
    ValueError
        For a species in two groups or no group at all.
    """
    if isinstance(groups, dict):
        table = {str(g): (v,) if isinstance(v, str) else tuple(v) for g, v in groups.items()}
    else:
        table = {}
        for g in groups:
            if isinstance(g, str):
                table[g] = GROUPS.get(g, (g,))
            else:
                table["+".join(g)] = tuple(g)
    seen = {}
    for g, members in table.items():
        species_numbers(members)  # unknown symbols raise UnknownSpeciesError
        for s in members:
            if s in seen:
                raise InvalidArgumentError(f"species {s!r} is in two groups ({seen[s]!r} and {g!r})")
            seen[s] = g
    if not table:
        raise InvalidArgumentError("groups must name at least one group, e.g. ('cations', 'anions')")
    return table


#: Mass density (g/cm³) of GST-family melts, amorphous and crystalline solids (trigonal Ge2Sb2Te5 6.6); outside it a frame is suspicious.
GST_DENSITY = (5.5, 6.8)

#: Te over its share on the GeTe-Sb2Te3 line (Ge + 3/2 Sb); compositions of the field stay within these bounds.
GST_TELLURIUM = (0.75, 1.35)

#: Share of homopolar bonds (Ge-Ge, Ge-Sb, Sb-Sb, Te-Te) below 3.2 Å above which bonding looks wrong (amorphous GST: 10-30 %).
GST_HOMOPOLAR = 0.5


def implausible(frame: Frame, *, sample: int = 4096) -> list[str]:
    """What looks wrong with a Ge-Sb-Te frame, e.g. after a wrong LAMMPS type map (empty when it looks like GST).

    Three signs, each cheap: the mass density outside :data:`GST_DENSITY`
    (periodic frames), Te far off the GeTe–Sb2Te3 line
    (:data:`GST_TELLURIUM`), and bonding dominated by homopolar pairs
    (:data:`GST_HOMOPOLAR`, from the bonds of up to ``sample`` atoms). A frame
    of other elements, or of one element, is never flagged. A wrong map
    usually shows two or three signs; callers warn from two.

    Examples
    --------
    >>> from gstorder import structures
    >>> from gstorder.species import implausible
    >>> implausible(structures.rocksalt("Ge1Sb2Te4", 2, seed=0))
    []
    >>> swapped = structures.rocksalt("Ge1Sb2Te4", 2, seed=0)
    >>> swapped.numbers = [{32: 52, 52: 32}.get(z, z) for z in swapped.numbers]   # Ge and Te exchanged
    >>> len(implausible(swapped))
    3
    """
    from . import neighbors
    from .frames import as_frame

    frame = as_frame(frame)
    present = set(frame.species)
    if not present <= {"Ge", "Sb", "Te"} or len(present) < 2 or not len(frame):
        return []
    signs = []
    if frame.pbc.all():
        rho = frame.mass_density
        if not GST_DENSITY[0] <= rho <= GST_DENSITY[1]:
            signs.append(f"density {rho:.2f} g/cm³ (GST: {GST_DENSITY[0]}-{GST_DENSITY[1]})")
    count = {s: int((frame.symbols == s).sum()) for s in ("Ge", "Sb", "Te")}
    expected = count["Ge"] + 1.5 * count["Sb"]
    if expected and not GST_TELLURIUM[0] <= count["Te"] / expected <= GST_TELLURIUM[1]:
        signs.append(f"composition {frame.formula} (Te {count['Te'] / expected:.2f} times its share on the "
                     "GeTe-Sb2Te3 line)")
    centres = np.arange(0, len(frame), max(1, len(frame) // sample))
    nl = neighbors.build(frame, 3.2, centers=centres)
    if len(nl):
        cation = np.isin(frame.numbers, (32, 51))
        homopolar = float((cation[nl.i] == cation[nl.j]).mean())
        if homopolar > GST_HOMOPOLAR:
            signs.append(f"{100 * homopolar:.0f} % homopolar bonds (GST: mostly cation-Te)")
    return signs
