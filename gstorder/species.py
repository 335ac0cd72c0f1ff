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
