"""Bond motifs: coordination, tetrahedral Ge, homopolar ("wrong") bonds, octahedral sites.

Definitions (``spec.md``, after Caravati et al. 2007): atoms are bonded
below a cut-off (3.2 Å, or a per-pair table). Tetrahedral order
``q = 1 - 3/8 Σ_{j<k} (cos θ_jik + 1/3)²`` over the bonded neighbours; a
Ge atom is tetrahedral when it has exactly 4 bonds and q > 0.8 (q alone is
not enough: a 3-fold pyramid has q = 7/8). Homopolar bonds join two atoms
of the same group (default cations {Ge, Sb}, anions {Te}): Ge–Ge, Sb–Sb,
Ge–Sb and Te–Te.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from . import _checks
from ._labels import attrs_of, frame_coords, pair_label
from .parallel import n_tasks
from .pipeline import Analysis, Need, Part
from .registry import Figure, Parameter, public, register
from .species import frame_species, species_groups
from ._kernels.motifs import bond_angle_order
from .errors import GstorderWarning, UnknownSpeciesError
from ._figures import _cutoff, _formula_counts, _nanmean, _new_figure, mean_text
from . import plot

__all__ = ["bond_motifs", "BondMotifs", "MOTIFS", "DEFAULT_GROUPS"]

#: Default chemical groups (cations Ge, Sb; anions Te): a bond inside one group is homopolar ("wrong").
DEFAULT_GROUPS = ("cations", "anions")

#: Per-atom motif codes of ``bond_motifs(..., per_atom=True)``.
MOTIFS = {0: "other", 1: "tetrahedral", 2: "octahedral", 3: "defective octahedral"}


#: Per-atom variables of ``bond_motifs(..., per_atom=True)``: name -> attrs.
ATOM_VARIABLES = {
    "atom_cn": {"long_name": "coordination number", "units": ""},
    "atom_q": {"long_name": "tetrahedral order parameter q", "units": ""},
    "motif": {"long_name": "bond motif", "units": "", "flag_values": list(MOTIFS),
              "flag_meanings": " ".join(m.replace(" ", "_") for m in MOTIFS.values())},
}


class BondMotifs(Analysis):
    """:func:`bond_motifs` as an analysis of the one-pass runner (:mod:`gstorder.pipeline`)."""

    name = "motifs"
    order = 30
    summary = "coordination, tetrahedral Ge, homopolar bonds, octahedral sites"
    parameters = (
        Parameter("cutoff", 3.2, "bond cut-off, or a per-pair table such as {'Ge-Te': 3.2, 'Sb-Te': 3.4} (pairs absent "
                  "from a table never bond)", "Å", _checks.cutoff, kind="table"),
        Parameter("q_threshold", 0.8, "q above which a 4-fold Ge atom is tetrahedral", "",
                  lambda name, v: _checks.real(name, v, low=0.0, high=1.0)),
        Parameter("octahedral_tolerance", 15.0, "a site is octahedral-like when every bond angle is within this of 90° "
                  "or 180°", "degrees",
                  lambda name, v: _checks.real(name, v, unit="degrees", low=0.0, high=45.0, low_open=True, high_open=True)),
        Parameter("groups", DEFAULT_GROUPS, "chemical groups ('cations'/'anions', species, lists of species, or a table "
                  "name -> species); bonds within a group are homopolar", check=lambda name, v: (species_groups(v), v)[1],
                  kind="list"),
        Parameter("max_cn", 12, "largest coordination number in the histogram (larger ones are counted there)", "",
                  _checks.count, kind="int"),
        Parameter("per_atom", False, "also return atom_cn, atom_q and motif (codes in MOTIFS) over (frame, atom)",
                  check=_checks.flag, kind="bool"),
    )
    selectable = windowed = True

    def prepare(self):
        self.group_table = species_groups(self.groups)
        self.group_of = {s: k for k, members in enumerate(self.group_table.values()) for s in members}
        self.same_atoms = self.per_atom
        self.needs = (Need.of(self.cutoff),)

    def setup(self, frame):
        self.species, _ = frame_species(frame)

    def begin_frame(self, frame):
        _, types = frame_species(frame, self.species)
        n, ns = len(frame), len(self.species)
        return {"types": types, "cn": np.zeros(n, dtype=np.int64), "q": np.full(n, np.nan), "octa": np.zeros(n, dtype=bool),
                "partial": np.zeros((n, ns), dtype=np.int64), "bonds": np.zeros((ns, ns), dtype=np.int64)}

    def add_block(self, state, frame, lists):
        nl, types, ns = lists[self.needs[0]], state["types"], len(self.species)
        tol = np.radians(self.octahedral_tolerance)
        c = nl.centers
        state["cn"][c] = nl.coordination
        state["q"][c], state["octa"][c] = bond_angle_order(nl.offsets, nl.vectors, nl.distances,
                                                           np.array([np.sin(tol), np.cos(tol)]),
                                                           n_tasks(len(c), lists.parallel))
        local = np.repeat(np.arange(len(c)), nl.coordination)
        state["partial"][c] = np.bincount(local * ns + types[nl.j], minlength=len(c) * ns).reshape(len(c), ns)
        state["bonds"] += np.bincount(types[nl.i] * ns + types[nl.j], minlength=ns * ns).reshape(ns, ns)

    def end_frame(self, state, frame) -> Part:
        cn, q, octa = state["cn"], state["q"], state["octa"]
        motif = np.zeros(len(frame), dtype=np.int8)
        tetra = (cn == 4) & (q > self.q_threshold)
        motif[octa & (cn >= 3) & (cn <= 5)] = 3
        motif[octa & (cn == 6)] = 2
        motif[tetra] = 1
        sel = slice(None) if self.selection is None else self.centre_mask(frame)
        row = _frame_row(frame, self.species, state["types"][sel], cn[sel], state["partial"][sel], state["bonds"], motif[sel],
                         self.group_of, self.max_cn)
        atoms = None
        if self.per_atom:
            atoms = {"atom_cn": (cn, ATOM_VARIABLES["atom_cn"]), "atom_q": (q, ATOM_VARIABLES["atom_q"]),
                     "motif": (motif, ATOM_VARIABLES["motif"])}
        return Part(row, atoms)

    def result(self, parts, times) -> xr.Dataset:
        ds = _assemble([p.data for p in parts], self.species, times, self.max_cn)
        if np.isnan(ds.tetrahedral_fraction.values).any():
            warnings.warn("some frames have no Ge atoms: their tetrahedral_fraction is NaN", GstorderWarning, stacklevel=3)
        if parts and parts[0].atoms:
            for name, attrs in ATOM_VARIABLES.items():
                ds[name] = (("frame", "atom"), np.array([p.atoms[name][0] for p in parts]), attrs)
        ds.attrs = attrs_of(analysis="bond_motifs", cutoff=self.cutoff if isinstance(self.cutoff, (int, float)) else repr(self.cutoff),
                            q_threshold=self.q_threshold, octahedral_tolerance=self.octahedral_tolerance,
                            groups={g: list(v) for g, v in self.group_table.items()},
                            select=None if self.selection is None else repr(self.selection))
        return ds


register(BondMotifs)


@public(BondMotifs)
def bond_motifs(frames, **options) -> xr.Dataset:
    """Coordination, tetrahedral-Ge, homopolar-bond and octahedral-site statistics per frame.

    With ``select=`` the statistics are those of the selected atoms (their
    bonds to every atom).

    Returns
    -------
    xarray.Dataset
        Over ``frame`` (with ``time`` in ps): ``tetrahedral_fraction`` (share
        of all Ge atoms), ``homopolar_fraction`` (share of all bonds, each
        bond counted once), ``bond_fraction`` (frame, pair) per bond type,
        ``partial_coordination`` (frame, center, neighbor),
        ``coordination`` (frame, species) mean, ``cn_histogram`` (frame,
        species, cn) fraction of atoms with each coordination number,
        ``octahedral_like_fraction`` (frame, species): sites with 3-6 bonds
        that are not tetrahedral, the literature's "defective octahedral"
        class (Caravati et al. 2007), and, stricter,
        ``octahedral_fraction`` and ``defective_octahedral_fraction`` (frame,
        species): sites with all angles near 90°/180° and 6 resp. 3-5 bonds.
        Take ``.mean("frame")`` and ``.std("frame")`` for mean and spread.

    Examples
    --------
    >>> from gstorder import bond_motifs, structures
    >>> ds = bond_motifs(structures.rocksalt("GeTe", 2, a=6.0))
    >>> float(ds.coordination.sel(species="Ge")[0]), float(ds.homopolar_fraction[0])
    (6.0, 0.0)
    """
    return BondMotifs.call(frames, options)



def _frame_row(frame, species, types, cn, partial, bonds, motif, group_of, max_cn) -> dict:
    ns = len(species)
    missing = [s for s in species if s not in group_of]
    if missing:
        raise UnknownSpeciesError(f"{frame.describe()}: species {missing} belong to no group of groups=; add them")
    n_a = np.bincount(types, minlength=ns)
    per_bond = np.triu(bonds + bonds.T - np.diag(np.diag(bonds))) / 2.0  # each bond once: full lists hold i-j and j-i
    n_bonds = per_bond.sum()
    iu = np.triu_indices(ns)
    homo = sum(per_bond[a, b] for a, b in zip(*iu) if group_of[species[a]] == group_of[species[b]])
    with np.errstate(divide="ignore", invalid="ignore"):
        row = {
            "bond_fraction": per_bond[iu] / n_bonds,
            "homopolar_fraction": homo / n_bonds,
            "partial_coordination": np.array([partial[types == a].mean(axis=0) if n_a[a] else np.full(ns, np.nan) for a in range(ns)]),
            "coordination": np.array([cn[types == a].mean() if n_a[a] else np.nan for a in range(ns)]),
            "cn_histogram": np.array([np.bincount(np.minimum(cn[types == a], max_cn), minlength=max_cn + 1) / n_a[a]
                                      for a in range(ns)]),
            "octahedral_fraction": np.array([(motif[types == a] == 2).mean() if n_a[a] else np.nan for a in range(ns)]),
            "defective_octahedral_fraction": np.array([(motif[types == a] == 3).mean() if n_a[a] else np.nan for a in range(ns)]),
            # Caravati et al. (2007): every 3- to 6-fold site that is not tetrahedral counts as (defective) octahedral
            "octahedral_like_fraction": np.array([((motif[types == a] != 1) & (cn[types == a] >= 3) & (cn[types == a] <= 6)).mean()
                                                  if n_a[a] else np.nan for a in range(ns)]),
        }
    ge = species.index("Ge") if "Ge" in species else None
    row["tetrahedral_fraction"] = (motif[types == ge] == 1).mean() if ge is not None and n_a[ge] else np.nan
    return row


def _assemble(rows, species, times, max_cn) -> xr.Dataset:
    stack = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    iu = np.triu_indices(len(species))
    pairs = [pair_label(species[a], species[b]) for a, b in zip(*iu)]
    frac = {"long_name": None, "units": ""}
    return xr.Dataset(
        {
            "tetrahedral_fraction": ("frame", stack["tetrahedral_fraction"], {**frac, "long_name": "tetrahedral Ge fraction"}),
            "homopolar_fraction": ("frame", stack["homopolar_fraction"], {**frac, "long_name": "homopolar bond fraction"}),
            "bond_fraction": (("frame", "pair"), stack["bond_fraction"], {**frac, "long_name": "share of bonds"}),
            "partial_coordination": (("frame", "center", "neighbor"), stack["partial_coordination"],
                                     {**frac, "long_name": "partial coordination number"}),
            "coordination": (("frame", "species"), stack["coordination"], {**frac, "long_name": "coordination number"}),
            "cn_histogram": (("frame", "species", "cn"), stack["cn_histogram"], {**frac, "long_name": "fraction of atoms"}),
            "octahedral_fraction": (("frame", "species"), stack["octahedral_fraction"], {**frac, "long_name": "octahedral fraction"}),
            "octahedral_like_fraction": (("frame", "species"), stack["octahedral_like_fraction"],
                                         {**frac, "long_name": "octahedral-like (3-6 bonds, not tetrahedral) fraction"}),
            "defective_octahedral_fraction": (("frame", "species"), stack["defective_octahedral_fraction"],
                                              {**frac, "long_name": "defective octahedral fraction"}),
        },
        coords={**frame_coords(times), "pair": pairs, "species": species, "center": species, "neighbor": species,
                "cn": np.arange(max_cn + 1)},
    )


# --------------------------------------------------------------------------- figures and key numbers


def _coordination_rows(ds, tree):
    if "coordination" not in ds:
        return []
    cn = ds.coordination.transpose("frame", "species").values
    species = [str(s) for s in ds.species.values]
    per_species = [_nanmean(cn[:, k]) for k in range(len(species))]
    counts = _formula_counts(tree.attrs.get("formula", ""))
    weights = np.array([counts.get(s, 0.0) for s in species])
    rows = []
    label = f"bonds < {_cutoff(ds):g} Å"
    if weights.sum() > 0:
        overall = _nanmean(np.nansum(cn * weights, axis=1) / weights.sum())
        rows.append((label, f"mean coordination {overall:.2f}"))
    else:  # no composition to weight the species by
        rows.append((label, "mean coordination per species"))
    rows += [(f"    {s}", f"{value:.2f}") for s, value in zip(species, per_species) if np.isfinite(value)]
    return rows


def _motif_rows(ds, tree):
    rows = []
    tet = ds.tetrahedral_fraction.values
    if np.isfinite(tet).any():
        rows.append(("tetrahedral Ge", mean_text(tet, 100, ".1f", " %")))
    homo = ds.homopolar_fraction.values
    if np.isfinite(homo).any():
        rows.append(("homopolar bonds", mean_text(homo, 100, ".1f", " % of bonds")))
    return rows


def _motifs_figure(ds):
    """Homopolar bonds per pair (% of all bonds) and tetrahedral Ge (% of Ge atoms), one axis, std as error bars."""
    if not (np.isfinite(ds.homopolar_fraction.values).any() or np.isfinite(ds.tetrahedral_fraction.values).any()):
        return None
    fig, ax = _new_figure((1.2 + 0.8 * (len(ds.pair) + 2), 3.4))
    plot.bond_motifs(ds, ax=ax)
    ax.set_ylim(0, max(5.0, ax.get_ylim()[1]))
    return fig


BondMotifs.figures = (Figure("bond_motifs", _motifs_figure,
                             "Homopolar bonds per pair and tetrahedral Ge, mean over frames, error bars one standard "
                             "deviation (cf. paper Fig. 2c)."),)
BondMotifs.rows = staticmethod(lambda ds, tree: _coordination_rows(ds, tree) + _motif_rows(ds, tree))
