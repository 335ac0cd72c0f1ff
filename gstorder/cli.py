"""The ``gstorder`` command line: ``gstorder report TRAJECTORY``."""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import xarray as xr

from . import __version__, crystallinity, neighbors
from ._progress import progress
from .altbc import altbc
from .errors import GstorderError, GstorderWarning
from .motifs import bond_motifs
from .pairs import rdf
from .io import FORMATS, Trajectory


def _index(text: str | None):
    """Parse 'start:stop:step' or an integer."""
    if text is None:
        return None
    if ":" not in text:
        return int(text)
    parts = [int(p) if p else None for p in text.split(":")]
    return slice(*parts)


def _species(text: str | None):
    """Parse '1=Ge,2=Sb,3=Te' or 'Ge,Sb,Te'."""
    if not text:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    if all("=" in t for t in items):
        return {int(k): v for k, v in (t.split("=") for t in items)}
    return items


def report(path, *, index=None, format=None, species=None, bond_cutoff=3.2, shell_cutoff=5.5, reference="rocksalt",
           out=None, show_progress=None):
    """Print a structural report of a trajectory: composition, density, coordination, g(r), motifs, ALTBC.

    Parameters
    ----------
    path : str
        Trajectory file.
    index : int or slice, optional
        Frames to analyse.
    bond_cutoff, shell_cutoff : float
        Cut-offs in Å for bonded neighbours and for the SOAP-sized shell.
    reference : str
        k̄ reference for Ge-Sb-Te frames: ``"rocksalt"`` or ``"trigonal"``.
    """
    out = sys.stdout if out is None else out
    traj = Trajectory(path, format=format, species=species)
    n_frames = len(traj)
    first = None
    coordination, shell, density, times, motifs, t_nl = [], [], [], [], [], 0.0
    altbc_map, altbc_weight, ratio, n_collinear, g_total, kbars = 0.0, 0, 0.0, 0, [], []
    per_species: dict[str, list] = {}
    for frame in progress(traj.iter(index), total=n_frames, desc="frames", show=show_progress):
        first = first or frame
        t0 = time.perf_counter()
        nl = neighbors.build(frame, shell_cutoff)
        t_nl += time.perf_counter() - t0
        bonds = nl.within(bond_cutoff)
        coordination.append(bonds.coordination.mean())
        shell.append(nl.coordination.mean())
        for symbol in frame.species:
            mask = frame.symbols == symbol
            per_species.setdefault(symbol, []).append(bonds.coordination[mask].mean())
        if frame.pbc.all():
            density.append(frame.mass_density)
            g_total.append(rdf(frame, r_max=shell_cutoff, bin_width=0.02).g.sel(pair="total").values)
        if frame.time is not None:
            times.append(frame.time)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GstorderWarning)  # frames without Ge: NaN tetrahedral fraction
            motifs.append(bond_motifs(frame, cutoff=bond_cutoff))
        if set(frame.species) <= {"Ge", "Sb", "Te"}:
            kbars.append(float(crystallinity.kbar(frame, reference=reference).kbar_mean[0]))
        p = altbc(frame)
        altbc_map = altbc_map + p * p.attrs["n_centres"]
        altbc_weight += p.attrs["n_centres"]
        if p.attrs["n_collinear"]:
            ratio += p.attrs["long_short_ratio"] * p.attrs["n_collinear"]
            n_collinear += p.attrs["n_collinear"]
    if first is None:
        print(f"{path}: no frames selected", file=out)
        return
    n = len(coordination)
    m = xr.concat(motifs, dim="frame")
    w = print
    w(f"gstorder {__version__} report: {path}", file=out)
    w(f"  format         {traj.format}, {n_frames} frames in file, {n} analysed", file=out)
    w(f"  atoms          {len(first)}  ({first.formula})", file=out)
    w(f"  cell           {' x '.join(f'{x:.3f}' for x in np.linalg.norm(first.cell, axis=1))} Å, pbc {first.pbc.tolist()}", file=out)
    if density:
        w(f"  density        {np.mean(density):.3f} g/cm³" + (f" (range {min(density):.3f}-{max(density):.3f})" if np.ptp(density) > 0 else ""), file=out)
    if times:
        w(f"  time           {times[0]:g} to {times[-1]:g} ps", file=out)
    w(f"  velocities     {'yes' if first.velocities is not None else 'no'}", file=out)
    w(f"  bonds < {bond_cutoff:g} Å   mean coordination {np.mean(coordination):.2f}", file=out)
    for symbol, values in per_species.items():
        w(f"      {symbol:<3}        {np.mean(values):.2f}", file=out)
    w(f"  shell < {shell_cutoff:g} Å   {np.mean(shell):.1f} neighbours per atom", file=out)
    if g_total:
        g = np.mean(g_total, axis=0)
        r = (np.arange(len(g)) + 0.5) * 0.02
        k = int(np.argmax(np.where(r < bond_cutoff, g, -1.0)))
        w(f"  g(r)           first peak at {r[k]:.2f} Å (height {g[k]:.2f}, largest below {bond_cutoff:g} Å)", file=out)
    tet = m.tetrahedral_fraction
    if np.isfinite(tet).any():
        w(f"  tetrahedral Ge {100 * float(tet.mean()):.1f} % ± {100 * float(tet.std()):.1f}", file=out)
    w(f"  homopolar bonds {100 * float(m.homopolar_fraction.mean()):.1f} % of bonds ± {100 * float(m.homopolar_fraction.std()):.1f}", file=out)
    if n_collinear:
        p = altbc_map / altbc_weight
        a, b = np.unravel_index(int(np.argmax(p.values)), p.shape)
        w(f"  ALTBC          peak at ({float(p.r1[a]):.2f}, {float(p.r2[b]):.2f}) Å, mean long/short {ratio / n_collinear:.3f}", file=out)
    if kbars:
        w(f"  k̄ ({reference})  {np.mean(kbars):.3f} ± {np.std(kbars):.3f}, first frame {kbars[0]:.3f}, last {kbars[-1]:.3f}", file=out)
    w(f"  neighbour lists {1000 * t_nl / n:.2f} ms per frame", file=out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="gstorder", description="Structural order of Ge-Sb-Te trajectories.")
    parser.add_argument("--version", action="version", version=f"gstorder {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="summarise a trajectory: frames, composition, density, coordination")
    rep.add_argument("trajectory")
    rep.add_argument("--index", help="frames to use: N or start:stop:step (default all)")
    rep.add_argument("--format", choices=FORMATS, help="file format (guessed by default)")
    rep.add_argument("--species", help="LAMMPS type map, e.g. 1=Ge,2=Sb,3=Te")
    rep.add_argument("--bond-cutoff", type=float, default=3.2, help="bond cut-off in Å (default 3.2)")
    rep.add_argument("--reference", choices=("rocksalt", "trigonal"), default="rocksalt",
                     help="k̄ reference crystals for Ge-Sb-Te frames (default rocksalt)")
    args = parser.parse_args(argv)
    try:
        report(args.trajectory, index=_index(args.index), format=args.format, species=_species(args.species), bond_cutoff=args.bond_cutoff,
               reference=args.reference)
    except (GstorderError, FileNotFoundError) as exc:
        print(f"gstorder: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
