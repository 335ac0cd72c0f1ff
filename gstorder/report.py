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
import functools
import html
import os
import re
from pathlib import Path
from urllib.parse import quote

import numpy as np

from . import __version__
from ._atomic import atomic_write
from ._figures import _group, _number, _reference_name

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
    ones and the melting front in Å), and last ``compute time`` (seconds
    per frame, with the stages that took 5 % or more of it, from the root's
    ``compute_seconds``).

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
    for section in _registered_rows("run") + (_time_rows,) + _registered_rows("results") + (_compute_rows,):
        rows += section(tree)
    return rows


def _registered_rows(section: str) -> tuple:
    """Key-number rows the registered analyses declare (``rows``) for one section, in :data:`gstorder.ANALYSES` order."""
    from .registry import ANALYSES

    return tuple(functools.partial(_analysis_rows, cls) for entry in ANALYSES.values() for cls in entry.classes
                 if cls.rows is not None and cls.rows_section == section)


def _analysis_rows(cls, tree) -> list:
    """One analysis' rows from its own group of ``tree`` (none when the run has no result of it)."""
    ds = _group(tree, cls.name)
    return [] if ds is None else cls.rows(ds, tree)


def _figures() -> dict:
    """Figure name -> (group, drawing function, caption), as each registered analysis declares them (``figures``)."""
    from .registry import ANALYSES

    return {f.name: (cls.name, f.draw, f.caption) for entry in ANALYSES.values() for cls in entry.classes
            for f in cls.figures}


def __getattr__(name):
    if name == "FIGURES":  # figure name -> (group, drawing function, caption), from the registry
        return _figures()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def _time_rows(tree):
    rows = []
    t0, t1 = (_number(tree.attrs.get(k)) for k in ("time_first", "time_last"))
    if np.isfinite(t0) and np.isfinite(t1):
        rows.append(("time", f"{t0:g} to {t1:g} ps"))
    if "has_velocities" in tree.attrs:
        rows.append(("velocities", "yes" if str(tree.attrs["has_velocities"]) in ("true", "1", "True") else "no"))
    return rows


def _compute_rows(tree):
    """Where the run's time went: seconds per frame, and each stage of 5 % or more of it, slowest first."""
    seconds = _literal(tree.attrs.get("compute_seconds"), {})
    n = _number(tree.attrs.get("n_frames"))
    total = sum(seconds.values())
    if not (total > 0 and n >= 1):
        return []
    shown = [(stage, t) for stage, t in sorted(seconds.items(), key=lambda item: -item[1]) if t >= 0.05 * total]
    rest = total - sum(t for _, t in shown)
    stages = [f"{stage} {t / n:.3g}" for stage, t in shown] + ([f"other {rest / n:.2g}"] if rest > 0 else [])
    return [("compute time", f"{total / n:.3g} s per frame: " + ", ".join(stages))]


# --------------------------------------------------------------------------- figures




def write_figures(tree, folder) -> dict[str, Path]:
    """Write one PNG per figure type the tree supports.

    Figures (declared by each analysis, see :mod:`gstorder.registry`; built in): ``rdf.png`` (partial and total g(r)
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
        *([f"<p>k̄ against the <b>{e(_reference_name(tree['kbar'].to_dataset()))}</b> reference crystals "
           "(k̄ = 1: ideal crystal-like order; single atoms scatter a little above or below 1, see "
           "docs/crystallinity.md)</p>"] if "kbar" in tree.children else []),
        "<h2>Key numbers</h2>",
        _table(key_numbers(tree)),
    ]
    if figures:
        parts.append("<h2>Figures</h2>")
        for name, path in figures.items():
            caption = _figures()[name][2] if name in _figures() else Path(path).stem
            parts.append(f'<figure><img src="{_data_uri(path)}" alt="{e(name)}">'
                         f"<figcaption>{e(caption)}</figcaption></figure>")
    links = [("results.nc", "results.nc", "all results (netCDF, one group per analysis)")]
    if atoms_file is not None:
        links.append((_href(atoms_file, folder), Path(atoms_file).name, "per-atom results"))
    parts.append("<h2>Files</h2>\n<ul>" + "".join(f'<li><a href="{e(href)}">{e(name)}</a> — {e(what)}</li>'
                                                  for href, name, what in links) + "</ul>")
    parts.append("<h2>Parameters</h2>")
    if parameters:
        parts += ["<h3>run</h3>", _table(parameters.items())]
    root = {k: v for k, v in tree.attrs.items() if k not in ("config", "analyses")}  # each analysis has its own table
    if root:
        parts += ["<h3>trajectory</h3>", _table(root.items())]
    for name, child in tree.children.items():
        ds = child.to_dataset()
        shown = dict(ds.attrs)
        for da in ds.data_vars.values():  # parameters kept on a variable, e.g. altbc's from .to_dataset(): once
            shown.update({k: v for k, v in da.attrs.items()
                          if k not in ("long_name", "units", "coordinates") and not k.startswith("flag_")})
        if shown:
            parts += [f"<h3>{e(name)}</h3>", _table(shown.items())]
    if "config" in tree.attrs:
        parts += ["<h3>configuration (config.toml: <code>gstorder analyze TRAJ --config config.toml</code> repeats "
                  "the run)</h3>", f"<details><summary>show</summary><pre>{e(str(tree.attrs['config']))}</pre></details>"]
    parts += [f"<footer>gstorder {e(version)}</footer>", "</body>", "</html>", ""]
    path = folder / "report.html"
    _write_atomic(path, "\n".join(parts).encode("utf-8"))
    return path


def _table(rows) -> str:
    out = []
    for label, value in rows:
        label = str(label)
        cls = ' class="sub"' if label.startswith(" ") else ""
        out.append(f"<tr><th{cls}>{html.escape(label.strip())}</th><td>{html.escape(_plain(value))}</td></tr>")
    return "<table>\n" + "\n".join(out) + "\n</table>"


def _plain(value) -> str:
    """A parameter as a person writes it: no Python reprs (dicts, lists, None, booleans as 1, slices)."""
    if isinstance(value, str):
        text = value.strip()
        if text in ("None", "nan"):
            return "—"
        if text.startswith("slice("):
            try:
                start, stop, step = ast.literal_eval(text[5:])
            except (ValueError, SyntaxError):
                return text
            return ":".join("" if x is None else str(x) for x in (start, stop, step)).rstrip(":") or "all"
        if text[:1] in "{[(":
            try:
                return _plain(ast.literal_eval(text))
            except (ValueError, SyntaxError):
                return text
        return text
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if value is None:
        return "—"
    if isinstance(value, dict):
        return "; ".join(f"{_plain(k)}: {_plain(v)}" for k, v in value.items()) or "—"
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return ", ".join(_plain(v) for v in value) or "—"
    if isinstance(value, (float, np.floating)):
        return "—" if not np.isfinite(value) else f"{float(value):g}"
    return str(value)


def _data_uri(path) -> str:
    """A PNG as a data URI, so the page stands alone (it can be mailed)."""
    import base64

    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _href(path, folder: Path) -> str:
    """URL of ``path`` relative to ``folder`` (both as the file system sees them)."""
    relative = os.path.relpath(os.path.abspath(os.fspath(path)), os.path.abspath(folder))
    return quote(Path(relative).as_posix())


# --------------------------------------------------------------------------- helpers


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


def _cell_text(value) -> str:
    """'18.000 x 18.000 x 18.000 Å' from a string or sequence of three lengths; other text as given."""
    numbers = re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", str(value)) if isinstance(value, str) else list(np.ravel(value))
    if len(numbers) == 3:
        return " x ".join(f"{float(x):.3f}" for x in numbers) + " Å"
    return str(value)


def _literal(text, default):
    """A dict stored as its repr in netCDF-safe attrs."""
    if isinstance(text, dict):
        return text
    try:
        value = ast.literal_eval(str(text))
    except (ValueError, SyntaxError):
        return default
    return value if isinstance(value, dict) else default


def _version(tree) -> str:
    return str(tree.attrs.get("gstorder_version", __version__))
