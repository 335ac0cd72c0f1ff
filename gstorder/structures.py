"""Structure builders for the Ge–Sb–Te family and the paper's models.

Everything returns ``ase.Atoms``; per-atom tags travel as arrays
(``atoms.arrays``): ``sublattice`` (0 anion, 1 cation site) and ``antisite``
for rock-salt models, ``fixed`` and ``heater`` for the mushroom cell,
``block`` (index of the layered block) for trigonal cells.

Lattice parameters of the trigonal phases default to the paper's DFT values
(Supplementary Table 3, PBEsol; ``functional="PBE"`` for the PBE column);
rock-salt models default to a = 6.0 Å (the paper gives no rock-salt value;
experiment is 6.0–6.04 Å). Every builder takes explicit ``a`` (and ``c``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers
from ase.spacegroup import crystal

from . import _checks
from .errors import InvalidArgumentError, UnknownSpeciesError

__all__ = [
    "parse_formula",
    "composition",
    "Composition",
    "rocksalt",
    "trigonal",
    "TRIGONAL_PHASES",
    "ROCKSALT_A",
    "paper_rocksalt_cell",
    "rocksalt_references",
    "trigonal_reference",
    "mushroom_cell",
    "device_cell",
]

#: Default rock-salt lattice parameter in Å.
ROCKSALT_A = 6.0

# Supplementary Table 3 (DFT columns): (a, c) in Å.
_LATTICE = {
    "PBEsol": {"Sb2Te3": (4.275, 29.786), "Ge1Sb4Te7": (4.257, 23.278), "Ge1Sb2Te4": (4.244, 40.033),
               "Ge2Sb2Te5": (4.226, 16.780), "Ge1Te1": (4.161, 10.448)},
    "PBE": {"Sb2Te3": (4.339, 31.231), "Ge1Sb4Te7": (4.323, 24.326), "Ge1Sb2Te4": (4.312, 41.782),
            "Ge2Sb2Te5": (4.298, 17.396), "Ge1Te1": (4.227, 10.895)},
    # alpha-GeTe at room temperature (the ALTBC sanity structure of spec.md)
    "experiment": {"Ge1Te1": (4.164, 10.690)},
}


# Asymmetric units: (symbols, fractional basis, space group). alpha-GeTe,
# Ge1Sb2Te4 and Sb2Te3 internal coordinates follow spec.md; Ge2Sb2Te5
# (Kooi-De Hosson stacking Te-Sb-Te-Ge-Te-Ge-Te-Sb-Te) those of the
# DFT-relaxed mp-1224375. Ge1Sb4Te7 (no coordinates in spec.md) stacks one
# Ge1Sb2Te4 septuple block (layer heights 1.735, 3.710, 5.364 Å above Ge) and
# one Sb2Te3 quintuple block (1.956, 3.584 Å from its central Te) at their
# PBEsol geometries; the two van der Waals gaps then come out at 2.691 Å at
# c = 23.278 Å, between those of Ge1Sb2Te4 (2.616) and Sb2Te3 (2.760).
_BASIS = {
    "Ge1Te1": (["Ge", "Te"], [(0, 0, 0), (0, 0, 0.475)], 160),
    "Sb2Te3": (["Te", "Te", "Sb"], [(0, 0, 0), (0, 0, 0.787), (0, 0, 0.399)], 166),
    "Ge1Sb2Te4": (["Ge", "Te", "Sb", "Te"], [(0, 0, 0), (0, 0, 0.134), (0, 0, 0.426), (0, 0, 0.290)], 166),
    "Ge2Sb2Te5": (["Te", "Ge", "Te", "Sb", "Te"],
                  [(0, 0, 0), (1 / 3, 2 / 3, 0.9005), (1 / 3, 2 / 3, 0.1949), (0, 0, 0.3129), (1 / 3, 2 / 3, 0.5886)], 164),
    "Ge1Sb4Te7": (["Ge", "Te", "Sb", "Te", "Te", "Sb", "Te"],
                  [(0, 0, 0), (1 / 3, 2 / 3, 0.07453), (1 / 3, 2 / 3, 0.84062), (0, 0, 0.23043),
                   (1 / 3, 2 / 3, 0.34604), (1 / 3, 2 / 3, 0.58403), (0, 0, 0.5)], 164),
}

#: Names of the trigonal phases :func:`trigonal` builds, as reduced formulas.
TRIGONAL_PHASES = tuple(_BASIS)

_ALIASES = {"GeTe": "Ge1Te1"}


# --------------------------------------------------------------------------- compositions


def parse_formula(formula: str) -> dict[str, float]:
    """Parse a chemical formula into element amounts.

    Accepts ``"Ge2Sb2Te5"``, ``"GeSb2Te4"``, fractional ``"Ge2Sb1.8Te5"``
    and the ``"GSTxyz"`` shorthand (``"GST225"``, ``"GST124"``, ``"GST147"``).

    Returns
    -------
    dict
        Element symbol -> amount, in the order written.

    Raises
    ------
    UnknownSpeciesError
        For unknown elements or unparsable text.

    Examples
    --------
    >>> parse_formula("GST225")
    {'Ge': 2.0, 'Sb': 2.0, 'Te': 5.0}
    >>> parse_formula("Ge2Sb1.8Te5")
    {'Ge': 2.0, 'Sb': 1.8, 'Te': 5.0}
    """
    text = str(formula).strip()
    m = re.fullmatch(r"GST(\d)(\d)(\d)", text, flags=re.IGNORECASE)
    if m:
        return {"Ge": float(m.group(1)), "Sb": float(m.group(2)), "Te": float(m.group(3))}
    parts = re.findall(r"([A-Z][a-z]?)(\d*\.?\d*)", text)
    if not parts or "".join(e + n for e, n in parts) != text:
        raise UnknownSpeciesError(f"cannot read the formula {formula!r}; write e.g. 'Ge2Sb2Te5', 'GeSb2Te4' or 'GST225'")
    out: dict[str, float] = {}
    for element, amount in parts:
        if element not in atomic_numbers or element == "X":
            raise UnknownSpeciesError(f"unknown element {element!r} in formula {formula!r}")
        out[element] = out.get(element, 0.0) + (float(amount) if amount else 1.0)
    if any(v <= 0 for v in out.values()):
        raise UnknownSpeciesError(f"formula {formula!r} has a zero amount")
    return out


def _gst_amounts(formula: str) -> tuple[float, float, float]:
    amounts = parse_formula(formula)
    extra = set(amounts) - {"Ge", "Sb", "Te"}
    if extra:
        raise UnknownSpeciesError(f"{formula!r}: gstorder builds Ge-Sb-Te phases only, not {sorted(extra)}")
    if "Te" not in amounts:
        raise UnknownSpeciesError(f"{formula!r}: a Ge-Sb-Te phase needs Te")
    return amounts.get("Ge", 0.0), amounts.get("Sb", 0.0), amounts["Te"]


def _reduced_name(formula: str) -> str:
    ge, sb, te = _gst_amounts(formula)
    g = np.gcd.reduce([int(round(x)) for x in (ge, sb, te) if x]) if all(float(x).is_integer() for x in (ge, sb, te)) else 1
    parts = [(e, x / g) for e, x in (("Ge", ge), ("Sb", sb), ("Te", te)) if x]
    name = "".join(f"{e}{x:g}" for e, x in parts)
    return _ALIASES.get(name, name)


@dataclass(frozen=True)
class Composition:
    """What a structure is made of.

    Attributes
    ----------
    counts : dict
        Element -> number of atoms.
    fractions : dict
        Element -> atomic fraction.
    formula : str
        e.g. ``'Ge27Sb54Te108'``.
    n_atoms : int
    density : float or None
        Mass density in g/cm³ (None without a periodic cell).
    number_density : float or None
        Atoms per Å³.
    """

    counts: dict
    fractions: dict
    formula: str
    n_atoms: int
    density: float | None
    number_density: float | None


def composition(atoms) -> Composition:
    """Composition, atom counts and density of a structure (``ase.Atoms`` or Frame)."""
    from .frames import as_frame

    frame = as_frame(atoms)
    symbols, counts = np.unique(frame.symbols, return_counts=True)
    n = len(frame)
    count = {str(s): int(c) for s, c in zip(symbols, counts)}
    density = number_density = None
    if frame.pbc.all() and n:
        density = frame.mass_density
        number_density = n / frame.volume
    return Composition(count, {s: c / n for s, c in count.items()}, frame.formula, n, density, number_density)


# --------------------------------------------------------------------------- rock-salt


def _size(size) -> tuple[int, int, int]:
    """Repetitions along the three cell vectors: an integer or three (whole floats accepted; 2.5 is not 2)."""
    if np.isscalar(size):
        size = (size, size, size)
    if isinstance(size, str) or not hasattr(size, "__len__") or len(size) != 3:
        raise InvalidArgumentError(f"size must be a positive integer or three of them, got {size!r}")
    return tuple(_checks.count(f"size[{k}]", x) for k, x in enumerate(size))


def rocksalt(composition: str, size=(3, 3, 3), *, a: float | None = None, seed=None, antisite_fraction: float = 0.0) -> Atoms:
    """Metastable rock-salt-like GST: Te on the anion sites, Ge, Sb and vacancies on the cation sites.

    Parameters
    ----------
    composition : str
        A formula on or near the GeTe-Sb2Te3 line: ``"GeTe"``,
        ``"Ge8Sb2Te11"``, ``"Ge3Sb2Te6"``, ``"Ge2Sb2Te5"``, ``"Ge1Sb2Te4"``,
        ``"Ge1Sb4Te7"``, ``"Sb2Te3"``, or off-stoichiometric ones such as
        ``"Ge2Sb1.8Te5"``.
    size : int or (int, int, int)
        Repetitions of the 8-site conventional cubic cell (4 anion, 4 cation sites).
    a : float, optional
        Cubic lattice parameter in Å (default :data:`ROCKSALT_A`, 6.0 Å).
    seed : int or numpy Generator, optional
        Random placement of Ge, Sb and vacancies (and anti-sites).
    antisite_fraction : float
        Fraction of Te atoms exchanged with randomly chosen cations (Ge/Sb);
        the composition is unchanged.

    Returns
    -------
    ase.Atoms
        With arrays ``sublattice`` (0 anion site, 1 cation site) and
        ``antisite`` (bool), and ``info`` holding the composition, ``a``,
        the seed and the number of vacancies.

    Raises
    ------
    ValueError
        When the supercell cannot hold the composition exactly; the message
        names the smallest sizes that can.

    Examples
    --------
    >>> atoms = rocksalt("Ge1Sb2Te4", (12, 12, 12), seed=1)
    >>> len(atoms), atoms.get_chemical_formula()
    (12096, 'Ge1728Sb3456Te6912')
    """
    ge, sb, te = _gst_amounts(composition)
    if ge + sb > te + 1e-12:
        raise InvalidArgumentError(f"{composition!r} has more cations than anions; it does not fit a rock-salt lattice with Te on the anion sites")
    antisite_fraction = _checks.real("antisite_fraction", antisite_fraction, low=0.0, high=1.0)
    n1, n2, n3 = _size(size)
    cells = n1 * n2 * n3
    sites = 4 * cells
    n_ge, n_sb = _exact_count(sites * ge / te), _exact_count(sites * sb / te)
    if n_ge is None or n_sb is None:
        raise InvalidArgumentError(
            f"a {n1}x{n2}x{n3} rock-salt supercell ({sites} cation sites) cannot hold {composition} exactly; "
            f"n1*n2*n3 must be a multiple of {_cells_needed(ge, sb, te)}, e.g. size={_suggest(_cells_needed(ge, sb, te))}"
        )
    a = ROCKSALT_A if a is None else _checks.positive("a", a, unit="Å")
    rng = np.random.default_rng(seed)
    anion = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    cation = anion + 0.5 * np.array([1, 0, 0])
    grid = np.stack(np.meshgrid(np.arange(n1), np.arange(n2), np.arange(n3), indexing="ij"), -1).reshape(-1, 1, 3)
    anion_sites = (grid + anion).reshape(-1, 3)
    cation_sites = (grid + cation).reshape(-1, 3)
    cation_species = np.zeros(sites, dtype=np.int64)  # 0 = vacancy
    cation_species[:n_ge] = 32
    cation_species[n_ge : n_ge + n_sb] = 51
    cation_species = rng.permutation(cation_species)
    keep = cation_species > 0
    numbers = np.concatenate([np.full(sites, 52), cation_species[keep]])
    frac = np.concatenate([anion_sites, cation_sites[keep]])
    sublattice = np.concatenate([np.zeros(sites, np.int8), np.ones(keep.sum(), np.int8)])
    antisite = np.zeros(len(numbers), dtype=bool)
    n_swap = int(round(antisite_fraction * sites))
    if n_swap:
        n_swap = min(n_swap, int(keep.sum()))
        te_idx = rng.choice(sites, n_swap, replace=False)
        cat_idx = sites + rng.choice(int(keep.sum()), n_swap, replace=False)
        numbers[te_idx], numbers[cat_idx] = numbers[cat_idx], 52
        antisite[te_idx] = antisite[cat_idx] = True
    atoms = Atoms(numbers=numbers, scaled_positions=frac / [n1, n2, n3], cell=np.diag([n1 * a, n2 * a, n3 * a]), pbc=True)
    atoms.new_array("sublattice", sublattice)
    atoms.new_array("antisite", antisite)
    atoms.info.update(phase="rocksalt", composition=str(composition), a=a, size=(n1, n2, n3),
                      seed=None if isinstance(seed, np.random.Generator) else seed, vacancies=int(sites - keep.sum()))
    return atoms


def _exact_count(x: float) -> int | None:
    r = round(x)
    return int(r) if abs(x - r) < 1e-6 else None


def _cells_needed(ge: float, sb: float, te: float) -> int:
    """Smallest number of conventional cells with integer Ge and Sb counts."""
    for cells in range(1, 100001):
        if _exact_count(4 * cells * ge / te) is not None and _exact_count(4 * cells * sb / te) is not None:
            return cells
    raise InvalidArgumentError("composition needs more than 100,000 cells to be exact")


def _suggest(cells: int) -> str:
    """The smallest sizes holding a multiple of ``cells`` cells: the most cubic few, and the smallest cube."""
    options = []
    for mult in range(1, 30):
        n = cells * mult
        shapes = [(n1, n2, n // n1 // n2) for n1 in range(1, round(n ** (1 / 3)) + 1) if n % n1 == 0
                  for n2 in range(n1, round((n // n1) ** 0.5) + 1) if (n // n1) % n2 == 0 and n // n1 // n2 >= n2]
        best = min(shapes, key=lambda s: (s[2] - s[0], s))
        if best not in options:
            options.append(best)
        if len(options) == 2:
            break
    cube = next(k for k in range(1, cells + 1) if (k**3) % cells == 0)
    if (cube,) * 3 not in options:
        options.append((cube,) * 3)
    return ", ".join(str(o) for o in options)


# --------------------------------------------------------------------------- trigonal


def trigonal(composition: str, size=(1, 1, 1), *, orthogonal: bool = False, functional: str = "PBEsol",
             a: float | None = None, c: float | None = None) -> Atoms:
    """Stable layered (trigonal) phases, stacking direction along z.

    Parameters
    ----------
    composition : str
        ``"GeTe"`` (alpha-GeTe, R3m), ``"Sb2Te3"`` (R-3m, quintuple layers),
        ``"Ge1Sb2Te4"`` (R-3m, septuple layers Te-Sb-Te-Ge-Te-Sb-Te),
        ``"Ge2Sb2Te5"`` (P-3m1, 9 atoms), ``"Ge1Sb4Te7"`` (P-3m1, 12 atoms).
    size : int or (int, int, int)
        Repetitions of the hexagonal (or orthohexagonal) cell.
    orthogonal : bool
        Use the orthohexagonal cell (a, sqrt(3) a, c; twice the atoms) so
        supercells are rectangular boxes.
    functional : {'PBEsol', 'PBE', 'experiment'}
        Which lattice parameters (paper's Supplementary Table 3, DFT);
        'experiment' exists for alpha-GeTe only (a 4.164, c 10.690 Å).
    a, c : float, optional
        Override the lattice parameters (Å).

    Returns
    -------
    ase.Atoms
        With array ``block`` (index of the layered block along z, for the
        layered phases; ``-1`` for GeTe) and ``info`` holding the phase,
        space group and lattice parameters.

    Examples
    --------
    >>> trigonal("Ge1Sb2Te4").get_chemical_formula()
    'Ge3Sb6Te12'
    >>> len(trigonal("Ge1Sb2Te4", (47, 27, 10), orthogonal=True))
    532980
    """
    name = _reduced_name(composition)
    if name not in _BASIS:
        raise UnknownSpeciesError(f"no trigonal phase {composition!r}; choose one of GeTe, {', '.join(TRIGONAL_PHASES[1:])}")
    if functional not in _LATTICE:
        raise InvalidArgumentError(f"functional={functional!r}; choose one of {', '.join(_LATTICE)}")
    if name not in _LATTICE[functional] and (a is None or c is None):
        raise InvalidArgumentError(f"no {functional} lattice parameters for {name}; pass a= and c=")
    a0, c0 = _LATTICE[functional].get(name, (None, None))
    a = a0 if a is None else _checks.positive("a", a, unit="Å")  # NaN, infinities and strings refused by name
    c = c0 if c is None else _checks.positive("c", c, unit="Å")
    symbols, basis, spacegroup = _BASIS[name]
    cell = crystal(symbols, basis, spacegroup=spacegroup, cellpar=[a, a, c, 90, 90, 120], primitive_cell=False)
    cell.set_scaled_positions(_gap_at_origin(cell))
    cell = cell[np.argsort(cell.get_scaled_positions()[:, 2], kind="stable")]
    cell.new_array("block", _blocks(cell))
    if orthogonal:
        from ase.build import make_supercell

        cell = make_supercell(cell, [[1, 0, 0], [1, 2, 0], [0, 0, 1]], order="atom-major")
        cell.set_cell(np.diag(cell.cell.lengths()), scale_atoms=False)  # exact zeros off the diagonal
        cell.wrap()
    atoms = cell.repeat(_size(size))
    if cell.arrays["block"].max() >= 0:
        atoms.arrays["block"] = _blocks(atoms)  # number the blocks of the whole stack
    atoms.info.update(phase="trigonal", composition=name, spacegroup=spacegroup, a=a, c=c, functional=functional,
                      orthogonal=orthogonal, size=_size(size))
    return atoms


def _layers(atoms: Atoms):
    """Distinct atomic layers along z: sorted heights (Å), each atom's layer, each layer's species."""
    z = atoms.get_scaled_positions(wrap=True)[:, 2] * atoms.cell[2, 2]
    levels, inverse = np.unique(np.round(z, 3), return_inverse=True)
    species = np.zeros(len(levels), dtype=np.int64)
    species[inverse] = atoms.numbers
    return levels, inverse.reshape(-1), species


def _gap_at_origin(cell: Atoms) -> np.ndarray:
    """Fractional positions shifted along z so a van der Waals gap (Te-Te layers) straddles z = 0.

    Then no layered block is cut by the periodic boundary. Structures
    without such a gap (alpha-GeTe) are left as they are.
    """
    frac = cell.get_scaled_positions() % 1.0
    levels, _, species = _layers(cell)
    c = cell.cell[2, 2]
    nxt = np.roll(np.arange(len(levels)), -1)
    spacing = (levels[nxt] - levels) % c
    te_te = (species == 52) & (species[nxt] == 52)
    if not te_te.any():
        return frac
    k = int(np.argmax(np.where(te_te, spacing, -1.0)))
    middle = (levels[k] + spacing[k] / 2) / c
    frac[:, 2] = (frac[:, 2] - middle) % 1.0
    return frac


def _blocks(atoms: Atoms) -> np.ndarray:
    """Index of the layered block (septuple, quintuple, ...) of each atom, counted up along z.

    Blocks are separated by van der Waals gaps (consecutive Te layers); -1
    for structures without such gaps (alpha-GeTe).
    """
    levels, inverse, species = _layers(atoms)
    gap_below = np.zeros(len(levels), dtype=np.int64)
    gap_below[1:] = (species[1:] == 52) & (species[:-1] == 52)
    if not gap_below.any() and not (species[0] == 52 and species[-1] == 52):
        return np.full(len(atoms), -1, dtype=np.int64)
    return np.cumsum(gap_below)[inverse]


# --------------------------------------------------------------------------- the paper's models


def paper_rocksalt_cell(seed=0) -> Atoms:
    """The paper's 12x12x12 rock-salt Ge1Sb2Te4 supercell: 12,096 atoms, a = 6.0 Å (Fig. 3b)."""
    return rocksalt("Ge1Sb2Te4", (12, 12, 12), seed=seed)


def rocksalt_references(seeds=(1, 2, 3), size=(3, 3, 3)) -> list[Atoms]:
    """Three idealised rock-salt Ge1Sb2Te4 models with random Ge/Sb/vacancy placement.

    The k̄ references of the paper's Figs 3b and 4 (189 atoms each by default).
    """
    return [rocksalt("Ge1Sb2Te4", size, seed=s) for s in seeds]


def trigonal_reference(functional: str = "PBEsol") -> Atoms:
    """The idealised trigonal Ge1Sb2Te4 unit cell (21 atoms): the k̄ reference of Fig. 6."""
    return trigonal("Ge1Sb2Te4", functional=functional)


def mushroom_cell(seed=0, *, size=(32, 5, 20), a: float | None = None, fixed_layers: int = 4,
                  heater_radius: float = 20.0) -> Atoms:
    """The mushroom-cell slab of Fig. 5: a 32x5x20 rock-salt Ge1Sb2Te4 expansion.

    The x-z plane is the device cross-section (19.2 x 12.0 nm² at a = 6 Å;
    22,400 atoms), y is the slab thickness. Per-atom arrays: ``fixed``, the
    top ``fixed_layers`` atomic (001) layers (the paper fixes four), and
    ``heater``, a half-cylinder of radius ``heater_radius`` Å with its axis
    along y at the bottom centre of the x-z plane, where heat pulses go (the
    paper does not give its radius; the default 2 nm is a choice). The
    atomic planes sit at z = a/4 + n a/2, a quarter lattice constant from
    the periodic boundary, so the heater's base (the bottom plane, the
    axis at z = a/4: ``info["heater_axis"]`` is its (x, z)) is not cut by
    it and stays away from the fixed top layers.

    Returns
    -------
    ase.Atoms
    """
    fixed_layers = _checks.count("fixed_layers", fixed_layers, minimum=0)
    heater_radius = _checks.positive("heater_radius", heater_radius, unit="Å")
    atoms = rocksalt("Ge1Sb2Te4", size, a=a, seed=seed)
    a = atoms.info["a"]
    lx, _, lz = atoms.cell.lengths()
    # lift every (001) plane by a quarter lattice constant: no plane lies on z = 0 / z = Lz, so thermal motion
    # never carries the heater's base plane across the periodic boundary into the fixed layers at the top
    atoms.positions[:, 2] += a / 4
    z = atoms.positions[:, 2]
    layer = np.round((z - a / 4) / (a / 2)).astype(int)
    top = layer.max()
    atoms.new_array("fixed", layer > top - fixed_layers)
    dx = atoms.positions[:, 0] - lx / 2
    bottom = a / 4
    atoms.new_array("heater", dx**2 + (z - bottom) ** 2 < heater_radius**2)
    atoms.info.update(model="mushroom", fixed_layers=fixed_layers, heater_radius=heater_radius,
                      heater_axis=(lx / 2, bottom), cross_section_nm=(lx / 10, lz / 10))
    return atoms


def device_cell(functional: str = "PBEsol") -> Atoms:
    """The 20 x 20 x 40 nm³ trigonal Ge1Sb2Te4 device cell of Fig. 6: 532,980 atoms.

    47 x 27 x 10 orthohexagonal cells (a, sqrt(3) a, c = 4.244, 7.351,
    40.033 Å at PBEsol), septuple layers stacked along z.
    """
    return trigonal("Ge1Sb2Te4", (47, 27, 10), orthogonal=True, functional=functional)
