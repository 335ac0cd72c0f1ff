"""The ``gstorder`` command line: ``gstorder analyze TRAJECTORY --out DIR`` and ``gstorder report TRAJECTORY``."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from . import __version__, _checks
from .errors import GstorderError, GstorderWarning, InvalidArgumentError, MissingDataError
from .io import FORMATS, Trajectory
from .pipeline import selected_positions
from .report import format_text
from .registry import ANALYSES
from .suite import analyze, analyze_into


def _index(text: str | None):
    """Parse 'start:stop:step' or an integer."""
    from .config import frame_range

    return None if text is None else frame_range("--index", text)


def _species(text: str | None):
    """Parse '1=Ge,2=Sb,3=Te' or 'Ge,Sb,Te'."""
    if not text:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    if any("=" in t for t in items):
        table = {}
        for item in items:
            key, _, value = item.partition("=")
            if not key.strip().isdigit() or not value.strip():
                raise InvalidArgumentError(f"--species {text!r}: expected TYPE=ELEMENT pairs with integer types, "
                                           f"e.g. 1=Ge,2=Sb,3=Te (got {item!r})")
            table[int(key)] = value.strip()
        return table
    return items


def report(path, *, index=None, format=None, species=None, bond_cutoff=3.2, reference="rocksalt", timestep_fs=None,
           groups=None, out=None, show_progress=None):
    """Print the key numbers of a trajectory: composition, density, coordination, g(r), motifs, ALTBC, k̄.

    Runs the one-pass runner (:func:`gstorder.analyze`) with rdf (to the bond
    cut-off and beyond), motifs, ALTBC, k̄ (Ge-Sb-Te frames) and density,
    and prints :func:`gstorder.report.format_text`. Frames of different
    composition are refused, never averaged together.

    Parameters
    ----------
    path : str
        Trajectory file.
    index : int or slice, optional
        Frames to analyse.
    bond_cutoff : float
        Bond cut-off in Å.
    reference : str
        k̄ reference for Ge-Sb-Te frames: ``"rocksalt"`` or ``"trigonal"``.
    """
    out = sys.stdout if out is None else out
    traj = Trajectory(path, format=format, species=species, timestep_fs=timestep_fs, groups=groups)
    if not len(traj):
        raise MissingDataError(f"{path}: the file holds no frames")
    positions = selected_positions(len(traj), index)
    if not positions:
        raise MissingDataError(f"--index {_checks.index_text(index)} selects none of the {len(traj)} frames")
    first = traj[positions[0]]
    wanted = {"rdf": {"r_max": 5.5, "bin_width": 0.02}, "motifs": {"cutoff": bond_cutoff},
              "altbc": {}, "kbar": {"reference": reference}, "density": {}}
    for name in list(wanted):
        if ANALYSES[name].requires.why_not(first, 1):
            del wanted[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GstorderWarning)  # frames without Ge: NaN tetrahedral fraction
        tree = analyze(traj, wanted, index=index, show_progress=show_progress)
    print(format_text(tree), file=out)


def _interrupted_exit() -> None:
    """After Ctrl-C with local dask workers: make sure none is left running (they ignore the Ctrl-C themselves)."""
    import multiprocessing

    if multiprocessing.active_children():
        from ._dask import stop_workers

        stop_workers()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _settings(args) -> tuple[dict, dict]:
    """The run's settings and each analysis' values: defaults, then --config, then the options, then --set; all checked."""
    from . import config

    chosen = [name for name in ANALYSES if getattr(args, name, None)]
    if args.all and chosen:
        raise InvalidArgumentError("--all runs every analysis; drop the single analysis flags")
    options: dict = {"run": {}}
    if chosen:
        options["run"]["analyses"] = chosen
    elif args.all:
        options["run"]["analyses"] = "all"
    if isinstance(args.kbar, str):
        options["kbar"] = {"reference": args.kbar}
    for key, value in (("frames", args.index), ("format", args.format), ("species", _species(args.species)),
                       ("timestep_fs", args.timestep_fs), ("groups", args.groups), ("workers", args.workers),
                       ("window", _number(args.window)), ("select", _select(args.select))):
        if value is not None:
            options["run"][key] = value
    if args.per_atom:
        options["run"]["per_atom"] = True
    file = config.load(args.config) if args.config else {}
    return config.validate(config.merge(file, options, config.parse_set(args.set)))


def _number(text):
    """'10' as 10 frames, '2.5' as 2.5 ps (a --window); None stays None."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise InvalidArgumentError(f"--window {text!r}: a number of frames (10) or of ps (2.5)") from None


def _select(text):
    """--select: species 'Ge,Sb', or a TOML inline table such as '{region = "sphere", centre = [0, 0, 0], radius = 10}'."""
    if text is None:
        return None
    if text.strip().startswith("{"):
        from .config import parse_set

        return parse_set([f"run.select={text}"])["run"]["select"]
    items = [t.strip() for t in text.split(",") if t.strip()]
    return items[0] if len(items) == 1 else items


def analyze_command(args, out=None) -> int:
    """``gstorder analyze``: run, write DIR/results.nc, figures, report.html and config.toml, print the paths."""
    out = sys.stdout if out is None else out
    if args.scheduler and args.workers:
        raise InvalidArgumentError("give either --scheduler or --workers, not both")
    if args.workers is not None and args.workers < 1:
        raise InvalidArgumentError(f"--workers must be a positive integer, got {args.workers}")
    run, values = _settings(args)  # every setting checked before any frame is read
    client = None
    if args.scheduler:
        from dask.distributed import Client

        client = Client(args.scheduler)
    try:
        parameters = {"command": "gstorder " + " ".join(args.argv)}
        tree, paths = analyze_into(args.out, args.trajectory, run.get("analyses", "all"), options=values,
                                   index=run.get("frames"), format=run.get("format"), species=run.get("species"),
                                   timestep_fs=run.get("timestep_fs"), groups=run.get("groups"), client=client,
                                   workers=run.get("workers"), per_atom=True if run.get("per_atom") else None,
                                   parameters=parameters, block_size=run.get("block_size"), chunk_frames=None,
                                   show_progress=None, select=run.get("select"), window=run.get("window"),
                                   force=args.force)
    finally:
        if client is not None:
            client.close()
    skipped = _literal(tree.attrs.get("skipped", "{}"))
    for name, why in skipped.items():
        print(f"skipped {name}: {why}", file=sys.stderr)
    for path in paths.values():
        print(path, file=out)
    return 0


def _literal(text):
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return {}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2), like every other failure of the command."""

    def error(self, message):
        self.exit(2, f"gstorder: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gstorder", description="Structural order of Ge-Sb-Te trajectories.")
    parser.add_argument("--version", action="version", version=f"gstorder {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, text in (("report", "print the key numbers of a trajectory: composition, density, coordination, k̄"),
                       ("analyze", "run every analysis in one pass; write results.nc, figures and report.html")):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("trajectory")
        p.add_argument("--index", help="frames to use: N or start:stop:step (default all)")
        p.add_argument("--format", choices=FORMATS, help="file format (guessed by default)")
        p.add_argument("--species", help="LAMMPS type map, e.g. 1=Ge,2=Sb,3=Te")
        p.add_argument("--timestep-fs", type=float, help="MD time step in fs (LAMMPS dumps without ITEM: TIME)")
        p.add_argument("--groups", metavar="FILE", help="LAMMPS group file (e.g. the deck's groups.lmp): fixed/heater tags")
    rep = sub.choices["report"]
    rep.add_argument("--bond-cutoff", type=float, default=3.2, help="bond cut-off in Å (default 3.2)")
    rep.add_argument("--reference", choices=("rocksalt", "trigonal"), default="rocksalt",
                     help="k̄ reference crystals for Ge-Sb-Te frames (default rocksalt)")
    ana = sub.choices["analyze"]
    ana.formatter_class = argparse.RawDescriptionHelpFormatter
    ana.epilog = _settings_help()
    group = ana.add_argument_group("analyses (default --all: every analysis the frames allow)")
    for name, entry in ANALYSES.items():
        if name == "kbar":
            group.add_argument("--kbar", metavar="REF", nargs="?", const=True,
                               help=f"{entry.summary}; REF: rocksalt, trigonal or a saved reference")
        else:
            group.add_argument(f"--{name}", action="store_true", help=entry.summary)
    group.add_argument("--all", action="store_true", help="every analysis the frames allow")
    ana.add_argument("--config", metavar="FILE", help="settings from a TOML file (see gstorder config)")
    ana.add_argument("--set", metavar="TABLE.KEY=VALUE", action="append", default=[],
                     help="one setting, e.g. kbar.reference=trigonal or rdf.r_max=6.0 (repeatable; beats --config)")
    ana.add_argument("--select", metavar="SEL", help="centre atoms: species (Ge,Sb) or a TOML table such as "
                     "'{region = \"slab\", axis = \"z\", lower = 0, upper = 20}'")
    ana.add_argument("--window", metavar="N|PS", help="frames (10) or ps (2.5) per window of the averaged results")
    sub.add_parser("config", help="print the complete default configuration (TOML, with units and meanings)",
                   description="print the complete default configuration (TOML, with units and meanings)")
    ana.add_argument("--per-atom", action="store_true", help="also write per-atom k̄, motifs and temperatures (DIR/atoms.nc)")
    where = ana.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="dask scheduler to run on, e.g. tcp://node01:8786")
    where.add_argument("--workers", type=int, help="local dask worker processes (default: this process)")
    ana.add_argument("--out", required=True, metavar="DIR", help="output folder (created; replaced as a whole, all or "
                     "nothing; a folder gstorder did not write is refused without --force)")
    ana.add_argument("--force", action="store_true", help="replace --out even if it holds files gstorder did not write")
    return parser


def _settings_help() -> str:
    """Every setting of --set and --config, from the declarations (one line each)."""
    from .config import PER_ANALYSIS, RUN

    lines = ["settings (--set TABLE.KEY=VALUE, or [TABLE] KEY = VALUE in --config FILE; gstorder config prints them all):"]
    for table, declared in [("run", RUN)] + [(name, PER_ANALYSIS + e.parameters) for name, e in ANALYSES.items()]:
        lines.append(f"  [{table}]" + (f" {ANALYSES[table].summary}" if table in ANALYSES else ""))
        for p in declared:
            if p.kind != "python":
                lines.append(f"    {table}.{p.name}" + (f" ({p.unit})" if p.unit else "") + f": {p.doc}")
    return "\n".join(lines)


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line each on standard error (``gstorder: warning: ...``), without source lines."""
    print(f"gstorder: warning: {_one_line(message)}", file=sys.stderr if file is None else file)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    args.argv = argv
    with warnings.catch_warnings():
        warnings.simplefilter("default", GstorderWarning)  # shown once per message, never raised
        warnings.showwarning = _one_line_warning
        return _run(args)


def _run(args) -> int:
    try:
        if args.command == "analyze":
            return analyze_command(args)
        if args.command == "config":
            from .config import default_config

            sys.stdout.write(default_config())
            return 0
        report(args.trajectory, index=_index(args.index), format=args.format, species=_species(args.species),
               bond_cutoff=_checks.positive("--bond-cutoff", args.bond_cutoff, unit="Å"), reference=args.reference, timestep_fs=args.timestep_fs, groups=args.groups)
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
    except KeyboardInterrupt:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # one Ctrl-C is enough: more would interrupt the clean-up
        print("gstorder: interrupted", file=sys.stderr)
        _interrupted_exit()
        return 130
    except (GstorderError, OSError, ValueError, TypeError, IndexError) as exc:
        print(f"gstorder: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug of gstorder's: still one line (GSTORDER_DEBUG=1 shows the traceback)
        if os.environ.get("GSTORDER_DEBUG"):
            raise
        print(f"gstorder: internal error: {type(exc).__name__}: {_one_line(exc)} (rerun with GSTORDER_DEBUG=1 for the "
              "traceback and please report it)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
