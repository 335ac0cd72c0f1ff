"""Run reports: key numbers, figures in the paper's styles and one HTML page, from a results tree.

``gstorder analyze`` runs every analysis in one pass and collects the
results in an :class:`xarray.DataTree`. Each child group holds exactly what
the public function returns (any subset may be present):

=============  =========================================================================
group          Dataset
=============  =========================================================================
``rdf``        :func:`gstorder.rdf`
``adf``        :func:`gstorder.adf`
``motifs``     :func:`gstorder.bond_motifs` (per frame, no per-atom variables)
``altbc``      :func:`gstorder.altbc` ``.to_dataset()``, optionally with ``altbc_normalized``
``kbar``       :func:`gstorder.crystallinity.kbar` without the per-atom ``k`` and ``kbar``
``steinhardt``  :func:`gstorder.order.steinhardt` (per frame; rows and figure declared there)
``clusters``   :func:`gstorder.nucleation.clusters` (per frame; rows and figures declared there)
``vacancies``  :func:`gstorder.vacancies.analyse` (per frame; rows and figure declared there)
``temperature``  :func:`gstorder.temperature_map`
``z_profile``  :func:`gstorder.layers.z_profile`
``layers``     :func:`gstorder.layers.track_layers`
``msd``        :func:`gstorder.msd`
``density``    :func:`gstorder.density`
=============  =========================================================================

The root's attrs describe the run (``gstorder_version``, ``source``,
``format``, ``n_frames``, ``n_atoms``, ``formula``, ``cell_lengths``,
``pbc``, ``time_first``, ``time_last`` in ps, ``has_velocities``). This
module turns such a tree into text (:func:`key_numbers`,
:func:`format_text`), PNG figures (:func:`write_figures`) and one
self-contained page (:func:`write_html`). A missing group is never an
error: its numbers and figures are left out.
"""

from __future__ import annotations

import ast
import html
import os
import re
from pathlib import Path
from urllib.parse import quote

import numpy as np

from . import __version__, plot
from ._atomic import atomic_write

__all__ = ["key_numbers", "format_text", "write_figures", "write_html", "FIGURES"]

#: Resolution of the PNG figures, dots per inch.
DPI = 120

#: Labels are padded to this width in :func:`format_text` (one more space follows).
LABEL_WIDTH = 14

#: Bond cut-off (Å) for the g(r) peak search when the motifs group does not give one.
DEFAULT_BOND_CUTOFF = 3.2

#: Chemical groups for homopolar bonds when the motifs group does not record its own.
DEFAULT_GROUPS = {"cations": ["Ge", "Sb"], "anions": ["Te"]}


# --------------------------------------------------------------------------- key numbers


def key_numbers(tree) -> list[tuple[str, str]]:
    """The key numbers of a run, as (label, formatted value) rows.

    Rows appear in this order, each only when the tree holds what it needs:
    ``format`` (file format and frames analysed), ``atoms`` (with the
    formula), ``cell`` (lengths in Å and periodicity), ``density`` (g/cm³,
    mean over frames and range if it varies), ``time`` (ps),
    ``velocities``, ``bonds < r Å`` (mean coordination, atom-weighted over
    species, and one indented row per species), ``g(r)`` (position in Å and
    height of the largest peak of the total g(r) below the bond cut-off),
    ``tetrahedral Ge`` (% of Ge atoms ± std over frames), ``homopolar
    bonds`` (% of bonds ± std over frames), ``ALTBC`` (peak (r1, r2) in Å
    of the normalised map when present, else of the raw map, and the mean
    long/short bond ratio), ``k̄ (<reference>)`` (mean ± std over frames,
    first and last frame), ``temperature`` (K, mean of the last map),
    ``MSD`` (Å² at the last frame) and ``layers`` (tracked layers, molten
    ones and the melting front in Å).

    Parameters
    ----------
    tree : xarray.DataTree
        Results of ``gstorder analyze`` (see the module docstring); any
        subset of the groups.

    Returns
    -------
    list of (str, str)
        Labels and values with units. Indented labels (leading spaces)
        belong to the row above.

    Examples
    --------
    >>> import xarray as xr
    >>> from gstorder import bond_motifs, report, structures
    >>> atoms = structures.rocksalt("GeTe", 2, a=6.0)
    >>> tree = xr.DataTree.from_dict({"/": xr.Dataset(attrs={"n_atoms": len(atoms), "formula": "Ge32Te32"}),
    ...                               "motifs": bond_motifs(atoms)})
    >>> report.key_numbers(tree)[:2]
    [('atoms', '64  (Ge32Te32)'), ('bonds < 3.2 Å', 'mean coordination 6.00')]
    """
    root = tree.attrs
    rows: list[tuple[str, str]] = []
    if "format" in root:
        analysed = root.get("n_frames", "?")
        if "n_frames_in_file" in root:  # optional: the old report's "20 frames in file, 20 analysed"
            rows.append(("format", f"{root['format']}, {root['n_frames_in_file']} frames in file, {analysed} analysed"))
        else:
            rows.append(("format", f"{root['format']}, {analysed} frames analysed"))
    elif "n_frames" in root:
        rows.append(("frames", f"{root['n_frames']} analysed"))
    if "n_atoms" in root:
        rows.append(("atoms", f"{root['n_atoms']}" + (f"  ({root['formula']})" if root.get("formula") else "")))
    if "cell_lengths" in root:
        rows.append(("cell", _cell_text(root["cell_lengths"]) + (f", pbc {root['pbc']}" if "pbc" in root else "")))
    for section in (_density_rows, _time_rows, _coordination_rows, _rdf_rows, _motif_rows, _altbc_rows, _kbar_rows,
                    _temperature_rows, _msd_rows, _layer_rows) + _registered_rows():
        rows += section(tree)
    return rows


def _registered_rows() -> tuple:
    """Key-number rows declared by registered analyses (``rows``), for those the sections above do not cover."""
    from .registry import ANALYSES

    return tuple(cls.rows for entry in ANALYSES.values() for cls in entry.classes if cls.rows is not None)


def _figures() -> dict:
    """Figure name -> (group, drawing function, caption): :data:`FIGURES` and those of registered analyses."""
    from .registry import ANALYSES

    out = dict(FIGURES)
    for entry in ANALYSES.values():
        for cls in entry.classes:
            out.update({f.name: (cls.name, f.draw, f.caption) for f in cls.figures})
    return out


def format_text(tree, rows=None) -> str:
    """The key numbers as a plain-text block, one row per line.

    Parameters
    ----------
    tree : xarray.DataTree
        Results of ``gstorder analyze``; its root attrs give the version and source.
    rows : list of (str, str), optional
        Rows to print (default :func:`key_numbers` of ``tree``).

    Returns
    -------
    str
        ``gstorder <version> report: <source>`` and then ``"  <label> <value>"``
        per row, labels padded to :data:`LABEL_WIDTH` characters; no final newline.

    Examples
    --------
    >>> import xarray as xr
    >>> from gstorder import report
    >>> tree = xr.DataTree(xr.Dataset(attrs={"gstorder_version": "1.0", "source": "run.xyz", "format": "extxyz",
    ...                                      "n_frames": 20, "n_atoms": 189, "formula": "Ge27Sb54Te108"}))
    >>> print(report.format_text(tree))
    gstorder 1.0 report: run.xyz
      format         extxyz, 20 frames analysed
      atoms          189  (Ge27Sb54Te108)
    """
    rows = key_numbers(tree) if rows is None else rows
    lines = [f"gstorder {_version(tree)} report: {tree.attrs.get('source', '?')}"]
    lines += [f"  {label:<{LABEL_WIDTH}} {value}" for label, value in rows]
    return "\n".join(lines)


def _density_rows(tree):
    ds = _group(tree, "density")
    if ds is None or not np.isfinite(ds.density.values).any():
        return []
    d = ds.density.values[np.isfinite(ds.density.values)]
    text = f"{d.mean():.3f} g/cm³"
    if np.ptp(d) > 0:
        text += f" (range {d.min():.3f}-{d.max():.3f})"
    return [("density", text)]


def _time_rows(tree):
    rows = []
    t0, t1 = (_number(tree.attrs.get(k)) for k in ("time_first", "time_last"))
    if np.isfinite(t0) and np.isfinite(t1):
        rows.append(("time", f"{t0:g} to {t1:g} ps"))
    if "has_velocities" in tree.attrs:
        rows.append(("velocities", "yes" if int(tree.attrs["has_velocities"]) else "no"))
    return rows


def _coordination_rows(tree):
    ds = _group(tree, "motifs")
    if ds is None or "coordination" not in ds:
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


def _rdf_rows(tree):
    ds = _group(tree, "rdf")
    if ds is None or "total" not in ds.pair.values:
        return []
    cutoff = _cutoff(_group(tree, "motifs"))
    r = ds.r.values
    g = np.where((r < cutoff) & np.isfinite(ds.g.sel(pair="total").values), ds.g.sel(pair="total").values, -np.inf)
    if not np.isfinite(g).any() or g.max() <= 0:
        return []
    k = int(np.argmax(g))
    return [("g(r)", f"first peak at {r[k]:.2f} Å (height {g[k]:.2f}, largest below {cutoff:g} Å)")]


def _motif_rows(tree):
    ds = _group(tree, "motifs")
    if ds is None:
        return []
    rows = []
    tet = ds.tetrahedral_fraction.values
    if np.isfinite(tet).any():
        rows.append(("tetrahedral Ge", f"{100 * _nanmean(tet):.1f} % ± {100 * _nanstd(tet):.1f}"))
    homo = ds.homopolar_fraction.values
    if np.isfinite(homo).any():
        rows.append(("homopolar bonds", f"{100 * _nanmean(homo):.1f} % of bonds ± {100 * _nanstd(homo):.1f}"))
    return rows


def _altbc_rows(tree):
    ds = _group(tree, "altbc")
    if ds is None:
        return []
    p, normalised = _altbc_map(ds)
    attrs = _altbc_attrs(ds)
    if p is None or not int(attrs.get("n_collinear", 1)):
        return []
    a, b = np.unravel_index(int(np.nanargmax(p.values)), p.shape)
    text = f"peak at ({float(p.r1[a]):.2f}, {float(p.r2[b]):.2f}) Å"
    ratio = _number(attrs.get("long_short_ratio"))
    if np.isfinite(ratio):
        text += f", mean long/short {ratio:.3f}"
    return [("ALTBC", text + (" (normalised map)" if normalised else " (raw map)"))]


def _kbar_rows(tree):
    ds = _group(tree, "kbar")
    if ds is None or not np.isfinite(ds.kbar_mean.values).any():
        return []
    k = ds.kbar_mean.values
    return [(f"k̄ ({_reference_name(ds)})",
             f"{_nanmean(k):.3f} ± {_nanstd(k):.3f}, first frame {k[0]:.3f}, last {k[-1]:.3f}")]


def _temperature_rows(tree):
    ds = _group(tree, "temperature")
    if ds is None:
        return []
    t = ds.temperature.isel(frame=-1).values
    if not np.isfinite(t).any():
        return []
    when = _number(ds.time.values[-1])
    return [("temperature", f"{_nanmean(t):.0f} K, mean of the last map" + (f" ({when:g} ps)" if np.isfinite(when) else ""))]


def _msd_rows(tree):
    ds = _group(tree, "msd")
    if ds is None or not np.isfinite(ds.msd.values[-1]):
        return []
    when = _number(ds.time.values[-1])
    text = f"{float(ds.msd.values[-1]):.3f} Å²" + (f" at {when:g} ps" if np.isfinite(when) else " at the last frame")
    if "msd_species" in ds:
        last = ds.msd_species.isel(frame=-1)
        text += " (" + ", ".join(f"{s} {float(v):.3f}" for s, v in zip(last.species.values, last.values)) + ")"
    return [("MSD", text)]


def _layer_rows(tree):
    ds = _group(tree, "layers")
    if ds is None:
        return []
    molten = int((ds.retained.isel(frame=-1).values < float(ds.attrs.get("retained_threshold", 0.5))).sum())
    text = f"{ds.sizes['layer']} tracked along {ds.attrs.get('axis', 'z')}, {molten} molten at the last frame"
    front = ds.melting_front.values[-1]
    text += f", melting front at {front:.1f} Å" if np.isfinite(front) else ", no melting front"
    return [("layers", text)]


# --------------------------------------------------------------------------- figures


def _rdf_figure(ds):
    g = ds.g.values
    if not np.isfinite(g).any() or np.nanmax(g) <= 0:
        return None
    offset = float(max(1.0, np.ceil(0.5 * np.nanmax(g))))
    fig, ax = _new_figure((5.5, 1.2 + 0.7 * ds.sizes["pair"]))
    plot.rdf(ds, ax=ax, offset=offset)
    _legend_outside(ax, reverse=True)  # top curve first, as stacked
    ax.set_ylabel(f"g(r), curves offset by {offset:g}")
    ax.set_ylim(bottom=0)
    return fig


def _adf_figure(ds):
    if not np.isfinite(ds.adf.values).any():
        return None
    fig, ax = _new_figure()
    plot.adf(ds, ax=ax)
    if _cutoff(ds, None) is not None:
        ax.set_title(f"bonds < {_cutoff(ds):g} Å", fontsize="medium")
    return fig


def _motifs_figure(ds):
    """Homopolar bonds per pair (% of all bonds) and tetrahedral Ge (% of Ge atoms), one axis, std as error bars."""
    if not (np.isfinite(ds.homopolar_fraction.values).any() or np.isfinite(ds.tetrahedral_fraction.values).any()):
        return None
    fig, ax = _new_figure((1.2 + 0.8 * (len(ds.pair) + 2), 3.4))
    plot.bond_motifs(ds, ax=ax)
    ax.set_ylim(0, max(5.0, ax.get_ylim()[1]))
    return fig


def _altbc_figure(ds):
    p, normalised = _altbc_map(ds)
    if p is None:
        return None
    fig, ax = _new_figure((4.6, 3.8))
    plot.altbc(p, ax=ax)
    top = float(np.nanmax(p.values))
    ax.contour(p.r1, p.r2, p.values.T, levels=top * np.array([0.2, 0.4, 0.6, 0.8]), colors="w", linewidths=0.6)
    ax.set_title("normalised to the ideal gas" if normalised else "per centre atom", fontsize="medium")
    return fig


def _kbar_figure(ds):
    if ds.sizes["frame"] < 2 or not np.isfinite(ds.kbar_mean.values).any():
        return None
    ds, xlabel = _timed(ds)
    fig, ax = _new_figure((5.2, 3.2))
    plot.kbar_time(ds, ax=ax, labels=["all atoms"])
    for s in ds.species.values:
        ax.plot(ds.time, ds.kbar_species.sel(species=s), lw=1.0, ls="--", color=plot.SPECIES_COLOURS.get(str(s)), label=str(s))
    _legend_outside(ax)
    ax.set_xlabel(xlabel)
    ax.set_title(f"reference: {_reference_name(ds)}", fontsize="medium")
    return fig


def _temperature_figure(ds):
    if not np.isfinite(ds.temperature.isel(frame=-1).values).any():
        return None
    fig, ax = _new_figure((5.0, 3.6))
    plot.temperature_map(ds, frame=-1, ax=ax, vmin=None)  # scale to the data: 300 K is not every run's floor
    return fig


def _z_profile_figure(ds):
    axis = str(ds.attrs.get("axis", "z"))
    dens = ds.density
    if not np.isfinite(dens.values).any():
        return None
    species = [str(s) for s in ds.species.values]
    fig, axes = _new_figure((5.0, 1.0 + 1.3 * len(species)), rows=len(species))
    ends = [(0, "first frame", dict(color="0.6", lw=1.0))]
    if ds.sizes["frame"] > 1:
        ends.append((-1, "last frame", dict(lw=1.2)))
    for ax, s in zip(axes, species):  # one panel per species: coincident planes (Ge, Sb) cannot hide each other
        for f, name, style in ends:
            t = _number(ds.time.values[f])
            label = f"{name} ({t:g} ps)" if np.isfinite(t) else name
            ax.plot(ds[axis], dens.sel(species=s).isel(frame=f), label=label,
                    **{"color": plot.SPECIES_COLOURS.get(s), **style})
        ax.set_ylabel(f"{s} (1/Å³)")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False, fontsize="x-small", loc="upper right")
    axes[-1].set_xlabel(f"{axis} (Å)")
    return fig


def _layers_figure(ds):
    if ds.sizes["frame"] < 2:
        return None
    ds, xlabel = _timed(ds)
    order = np.argsort(ds.position.values)
    retained = ds.retained.values[:, order]
    fig, ax = _new_figure((5.0, 3.6))
    mesh = ax.pcolormesh(ds.time.values, ds.position.values[order], retained.T, vmin=0, vmax=1, cmap=plot.kbar_colormap(),
                         shading="nearest")
    front = ds.melting_front.values
    if np.isfinite(front).any():
        ax.plot(ds.time.values, front, color="k", lw=1.2, label="melting front")
        ax.legend(frameon=False, fontsize="small")
    fig.colorbar(mesh, ax=ax, label="share of atoms retained")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"initial layer position {ds.attrs.get('axis', 'z')} (Å)")
    return fig


def _msd_figure(ds):
    if ds.sizes["frame"] < 2 or not np.isfinite(ds.msd.values).any():
        return None
    ds, xlabel = _timed(ds)
    fig, ax = _new_figure((5.2, 3.2))
    plot.msd(ds, ax=ax, labels=["all atoms"])
    if "msd_species" in ds:
        for s in ds.species.values:
            ax.plot(ds.time, ds.msd_species.sel(species=s), lw=1.0, ls="--", color=plot.SPECIES_COLOURS.get(str(s)),
                    label=str(s))
        _legend_outside(ax)
    ax.set_xlabel(xlabel)
    return fig


def _density_figure(ds):
    if ds.sizes["frame"] < 2 or not np.isfinite(ds.density.values).any():
        return None
    ds, xlabel = _timed(ds)
    fig, ax = _new_figure()
    plot.density(ds, ax=ax)
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.set_xlabel(xlabel)
    return fig


#: Figure name -> (group, drawing function, caption). ``<name>.png`` is written when the group is present and usable.
FIGURES = {
    "rdf": ("rdf", _rdf_figure, "Partial and total radial distribution functions g(r), mean ± std over frames, "
                                "curves offset for clarity (cf. paper Fig. 2a)."),
    "adf": ("adf", _adf_figure, "Bond-angle distributions per centre species (cf. the ADFs discussed with Fig. 2a "
                                "and shown in Supplementary Fig. 3)."),
    "bond_motifs": ("motifs", _motifs_figure, "Homopolar bonds per pair and tetrahedral Ge, mean over frames, error bars "
                                              "one standard deviation (cf. paper Fig. 2c)."),
    "altbc": ("altbc", _altbc_figure, "ALTBC map P(r1, r2) of near-collinear bond pairs, the Peierls-distortion "
                                      "fingerprint, with contours at 20-80 % of the maximum (cf. paper Fig. 2e)."),
    "kbar": ("kbar", _kbar_figure, "Mean SOAP crystallinity k̄ against time, all atoms and per species "
                                   "(cf. paper Fig. 3b, left)."),
    "temperature_map": ("temperature", _temperature_figure, "Temperature map of the last frame, Gaussian-smoothed "
                                                            "(cf. paper Fig. 5c, f)."),
    "z_profile": ("z_profile", _z_profile_figure, "Number density of each species along the layer axis, first and last "
                                                  "frame (cf. the z-coordinate evolution of paper Fig. 6c)."),
    "layers": ("layers", _layers_figure, "Share of each layer's atoms still in place against time, and the melting "
                                         "front (cf. paper Fig. 6c)."),
    "msd": ("msd", _msd_figure, "Mean square displacement from the first frame, all atoms and per species "
                                "(cf. paper Fig. 3b, right)."),
    "density": ("density", _density_figure, "Mass density per frame (cf. paper Fig. 3b, middle)."),
}


def write_figures(tree, folder) -> dict[str, Path]:
    """Write one PNG per figure type the tree supports.

    Figures (see :data:`FIGURES`): ``rdf.png`` (partial and total g(r)
    against r in Å, stacked with offsets, ± std shaded), ``adf.png``
    (bond-angle distributions in 1/° per centre species), ``bond_motifs.png``
    (homopolar bonds per pair in % of all bonds and tetrahedral Ge in % of Ge
    atoms, bars on one axis, error bars the std over frames),
    ``altbc.png`` (the ALTBC map over r1, r2 in Å, normalised when the
    group holds ``altbc_normalized``, with contour lines),
    ``kbar.png`` (mean k̄ against time in ps, all atoms and per species),
    ``temperature_map.png`` (last temperature map in K over the plane, Å),
    ``z_profile.png`` (number density in 1/Å³ along the axis, one panel per
    species, first and last frame), ``layers.png`` (retained share per
    layer against time, melting front), ``msd.png`` (Å² against ps) and
    ``density.png`` (g/cm³ against ps).

    A figure is skipped (no file) when its group is absent or degenerate:
    all NaN, an all-zero map, or a time series of a single frame. Every file
    is written to ``.gstorder-<name>.<pid>.part`` in ``folder`` and renamed, so a
    PNG is never seen half-written.

    Parameters
    ----------
    tree : xarray.DataTree
        Results of ``gstorder analyze``.
    folder : str or os.PathLike
        Existing or new directory for the PNGs.

    Returns
    -------
    dict of str to pathlib.Path
        Figure name (``"rdf"``, ``"altbc"``, ...) to the file written, in the
        order of :data:`FIGURES`.

    Examples
    --------
    >>> import tempfile
    >>> import xarray as xr
    >>> from gstorder import bond_motifs, report, structures
    >>> tree = xr.DataTree.from_dict({"motifs": bond_motifs(structures.rocksalt("GeTe", 2, a=6.0))})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     sorted(report.write_figures(tree, folder))
    ['bond_motifs']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, (group, draw, _) in _figures().items():
        ds = _group(tree, group)
        fig = None if ds is None else draw(ds)
        if fig is not None:
            written[name] = _save_figure(fig, folder / f"{name}.png")
    return written


# --------------------------------------------------------------------------- HTML


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { text-align: left; padding: 0.15rem 0.8rem 0.15rem 0; vertical-align: top; overflow-wrap: anywhere; }
th { font-weight: 600; white-space: nowrap; }
th.sub { font-weight: normal; padding-left: 1.5rem; }
figure { display: inline-block; margin: 0 1.5rem 1.5rem 0; max-width: 100%; }
figure img { max-width: 100%; }
figcaption { font-size: 0.9rem; max-width: 36rem; }
footer { margin-top: 2rem; font-size: 0.85rem; color: #666; }
"""


def write_html(tree, folder, figures, *, parameters=None, atoms_file=None) -> Path:
    """Write ``report.html``: one self-contained page for a run.

    The page holds the title and source, the key numbers (:func:`key_numbers`),
    each figure (``<img>`` with a relative link and a one-line caption naming
    the paper figure it mirrors), links to ``results.nc`` (in ``folder``)
    and the per-atom file, and the parameters: ``parameters`` (e.g. the
    command line), the root attrs and every group's attrs. All text is
    HTML-escaped. Written to ``.gstorder-report.html.<pid>.part`` and renamed.

    Parameters
    ----------
    tree : xarray.DataTree
        Results of ``gstorder analyze``.
    folder : str or os.PathLike
        Directory of the page (created if needed); links are relative to it.
    figures : dict of str to path
        From :func:`write_figures`; names not in :data:`FIGURES` get a
        caption from their file name.
    parameters : dict, optional
        Run parameters to list first, e.g. ``{"command": "gstorder analyze run.xyz"}``.
    atoms_file : str or os.PathLike, optional
        The per-atom results file (e.g. k̄ and motifs per atom), to link to.
        Paths are taken as given (absolute or relative to the working
        directory), like those of ``figures``.

    Returns
    -------
    pathlib.Path
        ``folder / "report.html"``.

    Examples
    --------
    >>> import tempfile
    >>> import xarray as xr
    >>> from gstorder import report
    >>> tree = xr.DataTree(xr.Dataset(attrs={"source": "run<1>.xyz", "n_atoms": 64}))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     "run&lt;1&gt;.xyz" in report.write_html(tree, folder, {}).read_text()
    True
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    e = html.escape
    source = str(tree.attrs.get("source", "?"))
    version = _version(tree)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        f'<head><meta charset="utf-8"><title>gstorder report: {e(source)}</title><style>{_STYLE}</style></head>',
        "<body>",
        f"<h1>gstorder report</h1>\n<p>{e(source)}</p>",
        "<h2>Key numbers</h2>",
        _table(key_numbers(tree)),
    ]
    if figures:
        parts.append("<h2>Figures</h2>")
        for name, path in figures.items():
            caption = _figures()[name][2] if name in _figures() else Path(path).stem
            parts.append(f'<figure><img src="{e(_href(path, folder))}" alt="{e(name)}">'
                         f"<figcaption>{e(caption)}</figcaption></figure>")
    links = [("results.nc", "results.nc", "all results (netCDF, one group per analysis)")]
    if atoms_file is not None:
        links.append((_href(atoms_file, folder), Path(atoms_file).name, "per-atom results"))
    parts.append("<h2>Files</h2>\n<ul>" + "".join(f'<li><a href="{e(href)}">{e(name)}</a> — {e(what)}</li>'
                                                  for href, name, what in links) + "</ul>")
    parts.append("<h2>Parameters</h2>")
    if parameters:
        parts += ["<h3>run</h3>", _table(parameters.items())]
    if tree.attrs:
        parts += ["<h3>trajectory</h3>", _table(tree.attrs.items())]
    for name, child in tree.children.items():
        ds = child.to_dataset()
        if ds.attrs:
            parts += [f"<h3>{e(name)}</h3>", _table(ds.attrs.items())]
        for var, da in ds.data_vars.items():  # parameters kept on a variable, e.g. altbc's from .to_dataset()
            extra = {k: v for k, v in da.attrs.items() if k not in ("long_name", "units") and not k.startswith("flag_")}
            if extra:
                parts += [f"<h3>{e(name)}: {e(str(var))}</h3>", _table(extra.items())]
    parts += [f"<footer>gstorder {e(version)}</footer>", "</body>", "</html>", ""]
    path = folder / "report.html"
    _write_atomic(path, "\n".join(parts).encode("utf-8"))
    return path


def _table(rows) -> str:
    out = []
    for label, value in rows:
        label = str(label)
        cls = ' class="sub"' if label.startswith(" ") else ""
        out.append(f"<tr><th{cls}>{html.escape(label.strip())}</th><td>{html.escape(str(value))}</td></tr>")
    return "<table>\n" + "\n".join(out) + "\n</table>"


def _href(path, folder: Path) -> str:
    """URL of ``path`` relative to ``folder`` (both as the file system sees them)."""
    relative = os.path.relpath(os.path.abspath(os.fspath(path)), os.path.abspath(folder))
    return quote(Path(relative).as_posix())


# --------------------------------------------------------------------------- helpers


def _new_figure(size=(4.5, 3.2), rows: int = 1):
    """A figure outside pyplot (no backend, nothing to close) and its axes (an array of them for rows > 1)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, (axes if rows > 1 else axes[0])


def _legend_outside(ax, reverse: bool = False) -> None:
    """The legend right of the axes, so it hides no curve."""
    handles, labels = ax.get_legend_handles_labels()
    if reverse:
        handles, labels = handles[::-1], labels[::-1]
    ax.legend(handles, labels, frameon=False, fontsize="small", loc="center left", bbox_to_anchor=(1, 0.5))


def _save_figure(fig, path: Path) -> Path:
    """Render ``fig`` as PNG to ``path`` atomically, then release it."""
    import io

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=DPI)
    finally:
        fig.clear()
    _write_atomic(path, buffer.getvalue())
    return path


def _write_atomic(path: Path, data: bytes) -> None:
    atomic_write(path, lambda fh: fh.write(data))


def _group(tree, name):
    """The Dataset of child ``name``, or None when absent or empty."""
    if name not in tree.children:
        return None
    ds = tree[name].to_dataset()
    if "window" in ds.dims:  # figures and key numbers: windows of per-frame values as frames, pooled maps as their mean
        if ds.attrs.get("window_means") == "frames":
            ds = ds.rename({"window": "frame"}).assign_coords(time=("frame", ds.window_start.values))
        else:
            ds = ds.mean("window", keep_attrs=True)
    return ds if ds.data_vars else None


def _altbc_map(ds):
    """The ALTBC map to report (normalised if present) and whether it is normalised; None if unusable."""
    for name, normalised in (("altbc_normalized", True), ("altbc", False)):
        if name in ds:
            p = ds[name]
            if np.isfinite(p.values).any() and np.nanmax(p.values) > 0:
                return p, normalised
    return None, False


def _altbc_attrs(ds) -> dict:
    """ALTBC parameters: on the Dataset, or on its variable after ``DataArray.to_dataset()``."""
    return {**(ds["altbc"].attrs if "altbc" in ds else {}), **ds.attrs}


def _timed(ds):
    """``ds`` with a usable ``time`` coordinate (frame numbers when times are missing) and its axis label."""
    if np.isfinite(ds.time.values).all():
        return ds, "time (ps)"
    return ds.assign_coords(time=("frame", ds.frame.values.astype(float))), "frame"


def _cutoff(ds, default=DEFAULT_BOND_CUTOFF):
    """A group's scalar bond cut-off in Å (``default`` for a per-pair table or no group)."""
    value = _number(None if ds is None else ds.attrs.get("cutoff"))
    return value if np.isfinite(value) else default


def _reference_name(ds) -> str:
    """'rocksalt' from 'rocksalt: three randomised ...'; user references keep their description."""
    return str(ds.attrs.get("reference", "reference")).split(":")[0].strip()


def _cell_text(value) -> str:
    """'18.000 x 18.000 x 18.000 Å' from a string or sequence of three lengths; other text as given."""
    numbers = re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", str(value)) if isinstance(value, str) else list(np.ravel(value))
    if len(numbers) == 3:
        return " x ".join(f"{float(x):.3f}" for x in numbers) + " Å"
    return str(value)


def _formula_counts(formula: str) -> dict[str, float]:
    """Atoms per species of a formula such as 'Ge27Sb54Te108' (empty when it does not parse)."""
    counts: dict[str, float] = {}
    for symbol, n in re.findall(r"([A-Z][a-z]?)(\d*\.?\d*)", str(formula)):
        counts[symbol] = counts.get(symbol, 0.0) + (float(n) if n else 1.0)
    return counts


def _literal(text, default):
    """A dict stored as its repr in netCDF-safe attrs."""
    if isinstance(text, dict):
        return text
    try:
        value = ast.literal_eval(str(text))
    except (ValueError, SyntaxError):
        return default
    return value if isinstance(value, dict) else default


def _number(value) -> float:
    """``value`` as a float, NaN when missing or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _nanmean(values) -> float:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else np.nan


def _nanstd(values) -> float:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.std()) if len(values) else np.nan


def _version(tree) -> str:
    return str(tree.attrs.get("gstorder_version", __version__))
