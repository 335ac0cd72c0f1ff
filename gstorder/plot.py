"""Plot helpers in the paper's figure styles. Each returns the matplotlib Axes it drew on."""

from __future__ import annotations

import os
import warnings

import numpy as np

from . import _checks
from .errors import InvalidArgumentError
from .pipeline import Analysis, Part, run

__all__ = ["rdf", "adf", "bond_motifs", "altbc", "kbar_time", "kbar_pulses", "kbar_histogram", "kbar_slice", "kbar_colormap", "snapshot", "movie", "cluster_colours",
           "temperature_map", "temperature_movie", "z_evolution", "msd", "density"]

#: Colours per species and per bond pair, as in the paper's figures.
SPECIES_COLOURS = {"Ge": "#1f77b4", "Sb": "#e8a33d", "Te": "#2ca02c"}


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(4.5, 3.2), layout="constrained")
    return ax


def rdf(ds, *, ax=None, pairs=None, offset: float = 0.0, error: bool = True, label: str | None = None):
    """Partial and total g(r) from :func:`gstorder.rdf`, one line per pair.

    Parameters
    ----------
    ds : xarray.Dataset
        Result of :func:`gstorder.rdf`.
    pairs : list of str, optional
        Pairs to draw (default all, ``"total"`` included).
    offset : float
        Vertical offset between successive pairs (stacked panels, as in Fig. 2a).
    error : bool
        Shade ± one standard deviation over frames.
    label : str, optional
        Prefix of the legend entries (e.g. the composition).
    """
    ax = _axes(ax)
    pairs = list(ds.pair.values) if pairs is None else list(pairs)
    for k, pair in enumerate(pairs):
        g = ds.g.sel(pair=pair).values + k * offset
        line, = ax.plot(ds.r, g, lw=1.2, label=f"{label} {pair}" if label else pair)
        if error:
            s = ds.g_std.sel(pair=pair).values
            ax.fill_between(ds.r, g - s, g + s, color=line.get_color(), alpha=0.25, lw=0)
    ax.set_xlabel("r (Å)")
    ax.set_ylabel("g(r)")
    ax.set_xlim(0, float(ds.r.max()))
    ax.legend(frameon=False, fontsize="small")
    return ax


def adf(ds, *, ax=None, centre=None, label: str | None = None, centers=None):
    """Bond-angle distributions from :func:`gstorder.adf`, one line per centre species (``centre``: which; ``centers``: deprecated)."""
    ax = _axes(ax)
    centre = _checks.renamed("centre", centre, "centers", centers)
    centers = list(ds.center.values) if centre is None else [centre] if isinstance(centre, str) else list(centre)
    for c in centers:
        name = "all centres" if c == "all" else f"{c}-centred"
        style = dict(color="k", ls="--") if c == "all" else dict(color=SPECIES_COLOURS.get(c))
        ax.plot(ds.theta, ds.adf.sel(center=c), lw=1.2, label=f"{label} {name}" if label else name, **style)
    ax.set_xlabel("bond angle (°)")
    ax.set_ylabel("ADF (1/°)")
    ax.set_xlim(0, 180)
    ax.set_xticks([0, 60, 90, 120, 180])
    ax.legend(frameon=False, fontsize="small")
    return ax


def bond_motifs(results, *, ax=None, labels=None):
    """Fig. 2c: homopolar bonds per pair and in all (% of bonds) and tetrahedral Ge (% of Ge atoms), one axis.

    Parameters
    ----------
    results : xarray.Dataset or list of them
        Results of :func:`gstorder.bond_motifs`, one per model (e.g. per
        composition or per run), drawn side by side; bars show the mean over
        frames, error bars the standard deviation. Pairs are homopolar by the
        ``groups`` the result was computed with (default cations {Ge, Sb}, anions {Te}).
    labels : list of str, optional
        One per result, for the legend.
    """
    import ast

    ax = _axes(ax)
    results = [results] if hasattr(results, "data_vars") else list(results)
    labels = [None] * len(results) if labels is None else list(labels)
    if len(labels) != len(results):
        raise InvalidArgumentError(f"{len(labels)} labels for {len(results)} results")

    def rows(ds):
        groups = ds.attrs.get("groups", {"cations": ["Ge", "Sb"], "anions": ["Te"]})
        groups = ast.literal_eval(groups) if isinstance(groups, str) else groups
        group_of = {s: g for g, members in groups.items() for s in members}
        out = {}
        for pair in ds.pair.values:
            a, _, b = str(pair).partition("-")
            if a in group_of and group_of[a] == group_of.get(b):
                out[f"{a}–{b}"] = ds.bond_fraction.sel(pair=pair).values
        out["all\nhomopolar"] = ds.homopolar_fraction.values
        out["tetrahedral\nGe"] = ds.tetrahedral_fraction.values
        return out

    tables = [rows(ds) for ds in results]
    categories = list(dict.fromkeys(c for t in tables for c in t))
    x = np.arange(len(categories))
    width = 0.8 / len(results)
    for k, (table, label) in enumerate(zip(tables, labels)):
        values = [100 * np.asarray(table.get(c, [np.nan]), dtype=float) for c in categories]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # categories a model lacks stay empty
            mean = [np.nanmean(v) for v in values]
            std = [np.nanstd(v) for v in values]
        colour = "#9ecae1" if len(results) == 1 else f"C{k % 10}"
        bars = ax.bar(x + (k - (len(results) - 1) / 2) * width, mean, yerr=std, width=width, color=colour,
                      edgecolor="k", capsize=3, label=label)
        if len(results) == 1:
            bars[-1].set_color("#d62728")
            bars[-1].set_edgecolor("k")
    ax.set_xticks(x, categories)
    ax.set_ylabel("share (%)")
    ax.set_title("bonds: % of all bonds; tetrahedral: % of Ge atoms", fontsize="small")
    ax.set_ylim(bottom=0)
    if any(label is not None for label in labels):
        ax.legend(frameon=False)
    return ax


def altbc(da, *, ax=None, cmap: str = "viridis", colorbar: bool = True, smooth_bins: float = 0.0, contours: int = 0):
    """ALTBC colour map P(r1, r2) from :func:`gstorder.altbc` (Fig. 2d/e).

    ``smooth_bins`` applies a Gaussian of that many bins (display only);
    ``contours`` draws that many contour lines between 10 % and 90 % of the maximum, as Fig. 2e.
    """
    from scipy.ndimage import gaussian_filter

    ax = _axes(ax)
    values = gaussian_filter(np.nan_to_num(da.values), smooth_bins) if smooth_bins else da.values
    mesh = ax.pcolormesh(da.r1, da.r2, values.T, cmap=cmap, shading="nearest")
    if contours:
        top = float(np.nanmax(values))
        if top > 0:
            ax.contour(da.r1, da.r2, values.T, levels=np.linspace(0.1, 0.9, contours) * top, colors="w", linewidths=0.6)
    ax.set_aspect("equal")
    ax.set_xlabel("r$_1$ (Å)")
    ax.set_ylabel("r$_2$ (Å)")
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=da.attrs.get("long_name", "ALTBC") + (f" ({da.attrs['units']})" if da.attrs.get("units") else ""))
    return ax


# --------------------------------------------------------------------------- crystallinity

#: The fixed k̄ colour scale of :func:`kbar_slice`: red at 0 (no crystal-like order), yellow at 1 (ideal crystal).
KBAR_RANGE = (0.0, 1.0)


def kbar_colormap():
    """Red (amorphous) to yellow (crystalline), the paper's k̄ colouring."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("kbar", ["#8b0000", "#e8261c", "#f7941d", "#ffe21f"])


def _runs(results, labels):
    results = [results] if hasattr(results, "data_vars") else list(results)
    labels = [None] * len(results) if labels is None else list(labels)
    if len(labels) != len(results):
        raise InvalidArgumentError(f"{len(labels)} labels for {len(results)} results")
    return results, labels


def kbar_time(results, *, ax=None, labels=None, species=None):
    """Mean k̄ against time (ps), one line per run (Fig. 3b).

    Parameters
    ----------
    results : xarray.Dataset or list of them
        Results of :func:`gstorder.crystallinity.kbar` (e.g. independent runs).
    labels : list of str, optional
    species : str, optional
        Plot this species' mean instead of all atoms'.
    """
    ax = _axes(ax)
    results, labels = _runs(results, labels)
    timed = all(np.isfinite(ds.time.values).all() for ds in results)
    for ds, label in zip(results, labels):
        y = ds.kbar_mean if species is None else ds.kbar_species.sel(species=species)
        ax.plot(ds.time if timed else ds.frame, y, lw=1.2, label=label)
    ax.set_xlabel("time (ps)" if timed else "frame")
    ax.set_ylabel("k̄" if species is None else f"k̄ ({species})")
    if any(labels):
        ax.legend(frameon=False, fontsize="small")
    return ax


def kbar_pulses(results, *, ax=None, labels=None, start: int = 0):
    """Mean k̄ against pulse number, one frame per pulse, one line per run (Fig. 4c)."""
    ax = _axes(ax)
    results, labels = _runs(results, labels)
    for ds, label in zip(results, labels):
        ax.plot(np.arange(start, start + ds.sizes["frame"]), ds.kbar_mean, marker="o", ms=4, lw=1.2, label=label)
    ax.set_xlabel("pulse number")
    ax.set_ylabel("k̄")
    if any(labels):
        ax.legend(frameon=False, fontsize="small")
    return ax


def kbar_histogram(ds, *, ax=None, bins: int = 60, by_species: bool = True, threshold: float | None = None):
    """Distribution of per-atom k̄ (all frames pooled), optionally per species, with a threshold line."""
    bins = _checks.count("bins", bins)
    ax = _axes(ax)
    values = ds.kbar.values
    groups = [(s, values[:, ds.symbol.values == s]) for s in ds.species.values] if by_species else [("all", values)]
    edges = np.linspace(np.nanmin(values), np.nanmax(values), bins + 1)
    for name, v in groups:
        ax.hist(v.ravel(), bins=edges, density=True, histtype="step", lw=1.4, color=SPECIES_COLOURS.get(name), label=name)
    if threshold is not None:
        ax.axvline(threshold, color="k", ls="--", lw=1, label=f"threshold {threshold:.3f}")
    ax.set_xlabel("k̄")
    ax.set_ylabel("density")
    ax.legend(frameon=False, fontsize="small")
    return ax


def kbar_slice(frame, ds, *, ax=None, frame_index: int = -1, axis: str = "y", centre: float | None = None,
               thickness: float = 6.0, vmin: float | None = KBAR_RANGE[0], vmax: float | None = KBAR_RANGE[1],
               size: float = 6.0, colorbar: bool = True, antisites=None):
    """A slab of a frame seen along ``axis``, atoms coloured by k̄ from red (amorphous) to yellow (crystal).

    The colour scale is fixed (:data:`KBAR_RANGE`, 0 red to 1 yellow, as in the paper's Figs 4 and 6)
    so pictures of different frames and runs compare; an ideal crystal is yellow throughout, values
    above 1 (single atoms of an ideal crystal scatter around 1) are drawn yellow. Pass ``vmin=None,
    vmax=None`` to scale to the data instead. ``antisites`` (a boolean mask, e.g. from
    :func:`gstorder.crystallinity.antisites`) draws those atoms black, as Fig. 4 does.

    Parameters
    ----------
    frame : Frame or ase.Atoms
        The structure of frame ``frame_index`` of ``ds``.
    ds : xarray.Dataset
        Result of :func:`gstorder.crystallinity.kbar`.
    axis : {'x', 'y', 'z'}
        Viewing direction; the slab is ``|r_axis - centre| < thickness / 2`` (Å),
        centred on the cell's middle by default.
    """
    from .frames import as_frame

    a = "xyz".index(_checks.choice("axis", axis, ("x", "y", "z")))
    thickness = _checks.positive("thickness", thickness, unit="Å")
    size = _checks.positive("size", size, unit="points²")
    centre = None if centre is None else _checks.real("centre", centre, unit="Å")
    frame = as_frame(frame)
    ax = _axes(ax)
    k = ds.kbar.isel(frame=frame_index).values
    if len(k) != len(frame):
        raise InvalidArgumentError(f"the frame has {len(frame)} atoms but the result {len(k)}")
    pos = frame.positions
    mid = pos[:, a].mean() if centre is None else centre
    sel = np.abs(pos[:, a] - mid) < thickness / 2
    u, v = [d for d in range(3) if d != a]
    if antisites is not None:
        antisites = np.asarray(antisites, dtype=bool)
        if antisites.shape != (len(frame),):
            raise InvalidArgumentError(f"antisites must be a boolean mask of the {len(frame)} atoms, got shape {antisites.shape}")
        black = sel & antisites
        sel = sel & ~antisites
    order = np.argsort(pos[sel, a])
    points = ax.scatter(pos[sel, u][order], pos[sel, v][order], c=k[sel][order], s=size, cmap=kbar_colormap(),
                        vmin=vmin, vmax=vmax, linewidths=0)
    if antisites is not None and black.any():
        ax.scatter(pos[black, u], pos[black, v], s=size, color="k", linewidths=0, label="anti-sites")
    ax.set_aspect("equal")
    ax.set_xlabel(f"{'xyz'[u]} (Å)")
    ax.set_ylabel(f"{'xyz'[v]} (Å)")
    if colorbar:
        ax.figure.colorbar(points, ax=ax, label="k̄", extend="both" if vmin is not None else "neither")
    return ax


# --------------------------------------------------------------------------- device conditions


def temperature_map(ds, *, frame: int = -1, ax=None, raw: bool = False, vmin: float | None = 300.0,
                    vmax: float | None = None, cmap: str = "inferno", colorbar: bool = True):
    """One temperature map from :func:`gstorder.temperature_map` with a colour bar (Fig. 5c/f style)."""
    ax = _axes(ax)
    name = "temperature_raw" if raw else ("temperature_display" if "temperature_display" in ds else "temperature")
    da = ds[name].isel(frame=frame)
    u, v = da.dims
    mesh = ax.pcolormesh(da[u], da[v], da.values.T, cmap=cmap, vmin=vmin, vmax=vmax, shading="nearest")
    ax.set_aspect("equal")
    ax.set_xlabel(f"{u[0]} (Å)")
    ax.set_ylabel(f"{v[0]} (Å)")
    t = float(ds.time.isel(frame=frame))
    if np.isfinite(t):
        ax.set_title(f"{t:g} ps", fontsize="medium")
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label="T (K)")
    return ax


def temperature_movie(ds, path, *, fps: int = 5, vmin: float | None = 300.0, vmax: float | None = None, dpi: int = 80):
    """Write every map of a :func:`gstorder.temperature_map` result as an animated GIF or MP4.

    The colour scale is fixed over the movie (``vmax`` defaults to the
    hottest pixel). Written to a temporary file (``.gstorder-<name>.<pid>.part.gif``) and renamed.
    """
    import os

    import matplotlib.pyplot as plt
    from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter

    from ._atomic import atomic_path

    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".gif", ".mp4"):
        raise InvalidArgumentError(f"movie path must end in .gif or .mp4, got {path!r}")
    vmax = float(np.nanmax(ds.temperature)) if vmax is None else vmax
    fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
    temperature_map(ds, frame=0, ax=ax, vmin=vmin, vmax=vmax)

    def draw(k):
        for artist in list(ax.collections):
            artist.remove()
        temperature_map(ds, frame=k, ax=ax, vmin=vmin, vmax=vmax, colorbar=False)

    movie = FuncAnimation(fig, draw, frames=ds.sizes["frame"])
    try:
        with atomic_path(path, suffix=suffix) as tmp:  # the writers pick the format from the extension
            movie.save(tmp, writer=PillowWriter(fps=fps) if suffix == ".gif" else FFMpegWriter(fps=fps), dpi=dpi)
    finally:
        plt.close(fig)
    return path


def z_evolution(z, *, ax=None, stride: int = 1, size: float = 1.0, panels: bool = True):
    """Fig. 6c: each atom's coordinate against time, coloured by species.

    Parameters
    ----------
    z : xarray.DataArray
        From :func:`gstorder.layers.z_coordinates` (frame, atom).
    ax : matplotlib Axes or array of Axes, optional
        With ``panels``, one Axes per species (a new row of panels by default).
    stride : int
        Plot every ``stride``-th atom (device cells have 500,000).
    panels : bool
        One panel per species (default), so Ge and Sb on the same layers do not
        hide under Te; ``False`` draws all species on one Axes, semi-transparent.

    Returns
    -------
    matplotlib Axes, or an array of them (one per species) with ``panels``
    """
    import matplotlib.pyplot as plt

    species = [s for s in SPECIES_COLOURS if s in set(z.symbol.values)] + sorted(set(z.symbol.values) - set(SPECIES_COLOURS))
    timed = np.isfinite(z.time.values).all()
    t = z.time.values if timed else z.frame.values
    if panels:
        if ax is None:
            _, ax = plt.subplots(1, len(species), figsize=(3.2 * len(species), 3.4), sharey=True, layout="constrained",
                                 squeeze=False)
            ax = ax[0]
        axes = np.atleast_1d(ax)
        if len(axes) != len(species):
            raise InvalidArgumentError(f"panels=True needs one Axes per species ({species}), got {len(axes)}")
    else:
        axes = [_axes(ax)] * len(species)
    for s, a in zip(species, axes):
        cols = np.flatnonzero(z.symbol.values == s)[::stride]
        tt = np.repeat(t, len(cols))
        a.scatter(tt, z.values[:, cols].ravel(), s=size, color=SPECIES_COLOURS.get(s), label=s, linewidths=0,
                  alpha=1.0 if panels else 0.4)
        a.set_xlabel("time (ps)" if timed else "frame")
        if panels:
            a.set_title(s, color=SPECIES_COLOURS.get(s))
    axes[0].set_ylabel(f"{z.name} (Å)")
    if not panels:
        axes[0].legend(frameon=False, fontsize="small", markerscale=4)
        return axes[0]
    return axes


def kbar_temperature(results, temperatures, *, ax=None, labels=None, species=None):
    """Fig. 3b: mean k̄ against temperature along a heating run.

    Parameters
    ----------
    results : xarray.Dataset or list of them
        :func:`gstorder.crystallinity.kbar` results.
    temperatures : array or list of arrays
        One temperature (K) per frame of each result, e.g. the thermo log's
        ``target_K`` or ``temperature_K`` at the frames' steps.
    species : str, optional
        Plot that species' mean k̄ instead of all atoms'.
    """
    ax = _axes(ax)
    results, labels = _runs(results, labels)
    temperatures = [temperatures] if np.ndim(temperatures[0]) == 0 else list(temperatures)
    if len(temperatures) != len(results):
        raise InvalidArgumentError(f"{len(temperatures)} temperature series for {len(results)} results")
    for ds, label, temps in zip(results, labels, temperatures):
        y = ds.kbar_mean if species is None else ds.kbar_species.sel(species=species)
        if len(temps) != y.sizes["frame"]:
            raise InvalidArgumentError(f"{len(temps)} temperatures for {y.sizes['frame']} frames")
        ax.plot(np.asarray(temps, dtype=float), y.values, marker="o", ms=3, label=label)
    ax.set_xlabel("temperature (K)")
    ax.set_ylabel("k̄" + (f" ({species})" if species else ""))
    ax.set_ylim(KBAR_RANGE)
    if any(label is not None for label in labels):
        ax.legend(frameon=False)
    return ax


def layer_kbar(track, *, ax=None, colorbar: bool = True):
    """Fig. 6: the mean k̄ of each layer against time, on the fixed k̄ scale (red 0, yellow 1).

    ``track`` is :func:`gstorder.layers.track_layers` run with ``kbar=``.
    """
    if "kbar" not in track:
        raise InvalidArgumentError("track has no per-layer k̄: run layers.track_layers(..., kbar=crystallinity.kbar(...))")
    ax = _axes(ax)
    timed = np.isfinite(track.time.values).all()
    t = track.time.values if timed else track.frame.values
    mesh = ax.pcolormesh(t, track.position.values, track.kbar.values.T, cmap=kbar_colormap(), vmin=KBAR_RANGE[0],
                         vmax=KBAR_RANGE[1], shading="nearest")
    ax.set_xlabel("time (ps)" if timed else "frame")
    ax.set_ylabel(f"layer position along {track.attrs.get('axis', 'z')} (Å)")
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label="k̄ of the layer", extend="both")
    return ax


def msd(results, *, ax=None, labels=None, species=None):
    """MSD against time from :func:`gstorder.msd`, several independent runs overlaid."""
    ax = _axes(ax)
    results, labels = _runs(results, labels)
    for ds, label in zip(results, labels):
        y = ds.msd if species is None else ds.msd_species.sel(species=species)
        ax.plot(ds.time, y, lw=1.2, label=label)
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("MSD (Å$^2$)" if species is None else f"MSD {species} (Å$^2$)")
    if any(labels):
        ax.legend(frameon=False, fontsize="small")
    return ax


def density(results, *, ax=None, labels=None):
    """Mass density against time from :func:`gstorder.density`, several runs overlaid."""
    ax = _axes(ax)
    results, labels = _runs(results, labels)
    for ds, label in zip(results, labels):
        ax.plot(ds.time, ds.density, lw=1.2, label=label)
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("density (g/cm$^3$)")
    if any(labels):
        ax.legend(frameon=False, fontsize="small")
    return ax


# --------------------------------------------------------------------------- structure maps


def similarity_map(ds, *, ax=None, size: float = 18.0, legend: bool = True):
    """The 2-D structural map of :func:`gstorder.structure_map.similarity_map`, one colour per label (Fig. 1b)."""
    ax = _axes(ax)
    labels = ds.label.values
    for k, name in enumerate(dict.fromkeys(labels)):
        sel = labels == name
        ax.scatter(ds.x.values[sel], ds.y.values[sel], s=size, color=f"C{k % 10}", label=str(name), linewidths=0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    if legend:
        ax.legend(frameon=False, fontsize="small")
    return ax


#: Colour of atoms in no nucleus in ``snapshot(color_by="cluster")``.
NO_CLUSTER_COLOUR = "#d9d9d9"


def cluster_colours(ids) -> np.ndarray:
    """RGB per atom for nucleus ids: light grey for 0 (no nucleus), the 20 colours of ``tab20`` by id otherwise.

    Examples
    --------
    >>> from gstorder import plot
    >>> c = plot.cluster_colours([0, 1, 1, 2])
    >>> bool((c[1] == c[2]).all()), bool((c[1] != c[3]).any()), c.shape
    (True, True, (4, 3))
    """
    from matplotlib import colormaps
    from matplotlib.colors import to_rgb

    ids = np.asarray(ids, dtype=np.int64)
    palette = np.array(colormaps["tab20"].colors)[:, :3]
    out = palette[(ids - 1) % len(palette)]
    out[ids <= 0] = to_rgb(NO_CLUSTER_COLOUR)
    return out


def snapshot(frame, path, *, color_by="species", values=None, antisites=None, view: str = "perspective", slab=None,
             size=(800, 600), radius: float = 1.2, renderer: str = "auto"):
    """Render atoms to a PNG as the paper draws them (Figs 4, 5b, 6b, 6d): through OVITO, or matplotlib.

    Parameters
    ----------
    frame : Frame, ase.Atoms or path
        The structure (a path: its first frame).
    path : str or path-like
        PNG to write (complete or absent).
    color_by : {'species', 'kbar', 'cluster'} or str
        ``'species'``: the colours of Fig. 1 (:data:`SPECIES_COLOURS`).
        ``'cluster'``: nucleus ids (``values``: one id per atom, 0 for none,
        or a :func:`gstorder.nucleation.clusters` result, whose last frame is
        taken): one colour per nucleus (:func:`cluster_colours`), other atoms
        light grey. ``'kbar'`` or any other name: ``values`` on the k̄ scale,
        red (0) to yellow (1), fixed (:data:`KBAR_RANGE`), with ``antisites`` black.
    values : array, optional
        One number per atom for ``color_by != 'species'``; or a k̄ result
        (Dataset with ``kbar``) or clusters result (with ``cluster``), whose last frame is taken.
    antisites : array of bool, optional
        Atoms drawn black (e.g. :func:`gstorder.crystallinity.antisites`).
    view : {'perspective', 'x', 'y', 'z'}
        Camera direction.
    slab : (axis, low, high), optional
        Only atoms with ``low <= coordinate < high`` (Å) along ``'x'``,
        ``'y'`` or ``'z'``, e.g. ``('y', 95, 105)`` for a cut through the device.
    size : (int, int)
        Image size in pixels.
    radius : float
        Atom radius (Å).
    renderer : {'auto', 'ovito', 'matplotlib'}
        ``'auto'``: OVITO's OpenGL renderer if it can render here (the
        ``gstorder[ovito]`` extra; headless it needs Debian's ``libvulkan1
        mesa-vulkan-drivers``), else matplotlib. Same colours either way.
        OVITO is probed once per process with its console output silenced;
        when it is installed but cannot render, one ``GstorderWarning`` per
        process names the reason, the fix and the renderer used instead.

    Returns
    -------
    str
        The renderer used.
    """
    from . import _snapshot
    from .frames import as_frame

    if isinstance(frame, (str, os.PathLike)):
        from .io import read_frames

        frame = next(read_frames(frame))
    frame = as_frame(frame)
    if view not in _snapshot.VIEWS:
        raise InvalidArgumentError(f"view={view!r}; choose one of {', '.join(map(repr, _snapshot.VIEWS))}")
    if renderer not in _snapshot.RENDERERS:
        raise InvalidArgumentError(f"renderer={renderer!r}; choose one of {', '.join(map(repr, _snapshot.RENDERERS))}")
    if isinstance(size, str) or not hasattr(size, "__len__") or len(size) != 2:
        raise InvalidArgumentError(f"size must be two whole numbers of pixels in [16, 8192], got {size!r}")
    size = tuple(_checks.count(f"size[{k}]", s, minimum=16, maximum=8192) for k, s in enumerate(size))
    if not (np.isfinite(radius) and radius > 0):
        raise InvalidArgumentError(f"radius must be a positive length in Å, got {radius}")
    from matplotlib.colors import to_rgb

    n = len(frame)
    if color_by == "species":
        from ase.data import chemical_symbols

        colours = np.array([to_rgb(SPECIES_COLOURS.get(chemical_symbols[z], "#7f7f7f")) for z in frame.numbers])
    elif color_by == "cluster":
        if values is None:
            raise InvalidArgumentError("color_by='cluster' needs values= (a nucleus id per atom, or a clusters() result)")
        if hasattr(values, "data_vars"):
            values = values["cluster"].values[-1]
        ids = np.asarray(values)
        if ids.shape != (n,) or ids.dtype.kind not in "iu":
            raise InvalidArgumentError(f"values must hold one integer nucleus id per atom ({n}), got "
                                       f"{ids.dtype} of shape {ids.shape}")
        colours = cluster_colours(ids)
    else:
        if values is None:
            raise InvalidArgumentError(f"color_by={color_by!r} needs values= (one number per atom, or a k̄ result)")
        if hasattr(values, "data_vars"):
            values = values["kbar"].values[-1]
        values = np.asarray(values, dtype=float)
        if values.shape != (n,):
            raise InvalidArgumentError(f"values must hold one number per atom ({n}), got shape {values.shape}")
        scaled = np.clip((values - KBAR_RANGE[0]) / (KBAR_RANGE[1] - KBAR_RANGE[0]), 0.0, 1.0)
        colours = kbar_colormap()(np.nan_to_num(scaled, nan=0.0))[:, :3]
    if antisites is not None:
        antisites = np.asarray(antisites, dtype=bool)
        if antisites.shape != (n,):
            raise InvalidArgumentError(f"antisites must be a boolean mask of the {n} atoms, got shape {antisites.shape}")
        colours[antisites] = 0.0
    keep = np.ones(n, dtype=bool)
    if slab is not None:
        axis, low, high = slab
        if axis not in ("x", "y", "z") or not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise InvalidArgumentError(f"slab must be (axis 'x'|'y'|'z', low, high) with low < high, got {slab}")
        coordinate = frame.positions[:, "xyz".index(axis)]
        keep = (coordinate >= low) & (coordinate < high)
        if not keep.any():
            raise InvalidArgumentError(f"slab {slab} holds no atoms (the {axis} coordinates span "
                             f"{coordinate.min():.1f}-{coordinate.max():.1f} Å)")
    return _snapshot.render(path, frame.positions[keep], frame.cell, colours[keep], np.full(int(keep.sum()), radius),
                            view=view, size=tuple(int(s) for s in size), renderer=renderer)


def movie(frames, path, *, color_by="species", values=None, fps: float = 5.0, show_progress=None, **snapshot_options) -> str:
    """An animated GIF of a trajectory, one :func:`snapshot` per frame (Supplementary Movies 1–3).

    Parameters
    ----------
    frames : path, Trajectory or iterable of frames
    path : str or path-like
        ``.gif`` file to write (complete or absent). For MP4, convert it:
        ``ffmpeg -i movie.gif movie.mp4``.
    color_by, values
        As in :func:`snapshot`; ``values`` per frame: an array (n_frames,
        n_atoms) or a k̄ result (its ``kbar``, frame by frame).
    fps : float
        Frames per second.
    **snapshot_options
        ``view``, ``slab``, ``size``, ``radius``, ``renderer``, ``antisites``.

    Returns
    -------
    str
        The renderer used.
    """
    from ._atomic import atomic_write

    if os.path.splitext(os.fspath(path))[1].lower() != ".gif":
        raise InvalidArgumentError(f"movie writes animated GIF (.gif), got {os.fspath(path)!r}; convert with ffmpeg "
                                   "for MP4")
    fps = _checks.positive("fps", fps, unit="frames per second")
    if hasattr(values, "data_vars"):
        values = values["kbar"].values
    images, renderer = run(frames, [_Snapshots(color_by, values, snapshot_options)], desc="movie",
                           show_progress=show_progress)["snapshots"]
    atomic_write(path, lambda fh: images[0].save(fh, format="GIF", save_all=True, append_images=images[1:],
                                                 duration=int(round(1000.0 / fps)), loop=0))
    return renderer


class _Snapshots(Analysis):
    """:func:`movie` as an analysis of the one-pass runner: one snapshot per frame, in order."""

    name = "snapshots"
    sequential = True  # values are taken frame by frame, in order

    def __init__(self, color_by, values, options):
        self.color_by, self.frame_values, self.options, self.count, self.renderer = color_by, values, options, 0, None

    def end_frame(self, state, frame):
        import tempfile

        from PIL import Image

        frame_values = None
        if self.frame_values is not None:
            if self.count >= len(self.frame_values):
                raise InvalidArgumentError(f"values hold {len(self.frame_values)} frames; the trajectory has more")
            frame_values = self.frame_values[self.count]
        self.count += 1
        with tempfile.TemporaryDirectory() as folder:
            png = os.path.join(folder, "frame.png")
            self.renderer = snapshot(frame, png, color_by=self.color_by, values=frame_values, **self.options)
            with Image.open(png) as image:
                return Part(image.convert("RGB").quantize(colors=255))

    def result(self, parts, times):
        return [p.data for p in parts], self.renderer
