"""Mutation check: one-line bugs that would hurt users, each of which the tests named beside it must catch.

Not run by CI (a few minutes). Every mutant is applied, one at a time, to a scratch copy of this working tree (never to
the tree itself), and only its tests run there; the run fails when a mutant survives, when a test fails on the
unmutated copy, or when a mutant's snippet is not found exactly once (the code moved: update the entry). Add a mutant
with each new kernel or fix: the bug a user would otherwise get, in one line, and the tests that catch it.

    python tools/mutants.py                 # all mutants
    python tools/mutants.py --list          # names and what a user would get
    python tools/mutants.py NAME [NAME...]  # some of them
    python tools/mutants.py --keep          # leave the scratch copy (its path is printed)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  #: file, relative to the repository root
    original: str  #: exact text, found exactly once in the file
    replacement: str
    tests: tuple  #: pytest node ids that must fail with the mutant in place
    harm: str  #: what a user would get


MD = "tests/test_md.py::"
THERMAL = "tests/test_thermal.py::"
LOCAL = "tests/test_local_structure.py::"
DYNAMICS = "tests/test_layers_dynamics.py::"

MUTANTS = [
    # the eight bugs of issue 24 that every test let through
    Mutant("langevin-friction-100x-weak", "gstorder/md/runner.py",
           "friction=friction_per_ps / (1000 * units.fs)", "friction=friction_per_ps / (100000 * units.fs)",
           (MD + "test_nvt_from_a_cold_start_reaches_its_temperature",),
           "NVT runs that never reach their temperature"),
    Mutant("nvt-ramp-never-applied", "gstorder/md/runner.py",
           "dyn.set_temperature(temperature_K=seg.target(state.step / n))", "pass",
           (MD + "test_nvt_ramp_is_followed_by_the_measured_temperature",),
           "melt-quench at a constant temperature"),
    Mutant("coordination-total-halved", "gstorder/pairs.py",
           "cn_total.append(np.cumsum(ordered.sum(axis=(0, 1))) / n_c.sum())",
           "cn_total.append(np.cumsum(ordered.sum(axis=(0, 1))) / n_c.sum() / 2)",
           (LOCAL + "test_rdf_equals_brute_force_on_small_triclinic_cells",
            LOCAL + "test_rocksalt_peaks_and_coordination_six"),
           "wrong mean coordination in every report"),
    Mutant("temperature-com-over-all-atoms", "gstorder/thermal.py",
           "            region = counted\n", "            region = np.ones(len(frame), dtype=bool)\n",
           (THERMAL + "test_the_map_removes_the_drift_of_the_counted_atoms_only",),
           "hot/cold bias in a drifting region"),
    Mutant("temperature-raw-two-dof", "gstorder/thermal.py",
           "raw = np.where(counts >= max(min_atoms, 1e-12), 2.0 * ke_sum / (3.0 * KB_EV * counts), np.nan)",
           "raw = np.where(counts >= max(min_atoms, 1e-12), 2.0 * ke_sum / (2.0 * KB_EV * counts), np.nan)",
           (THERMAL + "test_raw_and_smoothed_maps_equal_half_m_v_squared_by_hand",
            THERMAL + "test_the_map_removes_the_drift_of_the_counted_atoms_only"),
           "raw map 1.5x too hot"),
    Mutant("radial-temperature-ignores-axis", "gstorder/thermal.py",
           "            d[:, \"xyz\".index(self.axis)] = 0.0\n", "            pass\n",
           (THERMAL + "test_radial_profile_around_an_axis_equals_distances_by_hand",),
           "wrong Fig. 5c profile (spherical distances around a cylinder)"),
    Mutant("altbc-normalisation-small-angle", "gstorder/altbc.py",
           "(1 - np.cos(np.radians(self.angle_tolerance)))", "(np.radians(self.angle_tolerance) ** 2 / 2)",
           (LOCAL + "test_altbc_ideal_gas_normalisation_to_half_a_percent",),
           "ALTBC maps mis-normalised by 1.6 %"),
    Mutant("msd-drift-unweighted", "gstorder/dynamics.py",
           "d -= (self.masses[:, None] * d).sum(axis=0) / self.masses.sum()", "d -= d.mean(axis=0)",
           (DYNAMICS + "test_drift_removal_keeps_the_motion_of_a_momentum_conserving_pair",),
           "MSD 7 % low for a momentum-conserving Ge-Te pair"),
    # the measured temperature and the barostat
    Mutant("thermo-temperature-two-dof", "gstorder/md/runner.py",
           "temp = 2 * e_kin / (3 * moving * units.kB)", "temp = 2 * e_kin / (2 * moving * units.kB)",
           (MD + "test_nvt_from_a_cold_start_reaches_its_temperature",),
           "MD logs 1.5x too hot"),
    Mutant("npt-pressure-target-ignored", "gstorder/md/runner.py",
           "externalstress=seg.pressure_GPa * units.GPa", "externalstress=0.0",
           (MD + "test_npt_volume_moves_toward_the_pressure_target",),
           "NPT at the wrong pressure"),
    Mutant("heat-pulse-in-the-lab-frame", "gstorder/md/runner.py",
           "v[mask] = v_cm + rel * np.sqrt(1.0 + added / ke)", "v[mask] = vr * np.sqrt(1.0 + added / ke)",
           (MD + "test_heat_pulse_adds_exactly_p_dt_and_keeps_momentum",),
           "heat pulses that push the region and add the wrong energy"),
    # kernels the tests already check against independent references
    Mutant("rdf-ideal-gas-with-self-pairs", "gstorder/pairs.py",
           "norm = n_c[:, None] * (n_a[None, :] - np.eye(ns)) / vol", "norm = n_c[:, None] * n_a[None, :] / vol",
           (LOCAL + "test_rdf_equals_brute_force_on_small_triclinic_cells", LOCAL + "test_rdf_partials_equal_freud"),
           "like-pair g(r) low by (N-1)/N"),
    Mutant("tetrahedral-q-weight", "gstorder/_kernels/motifs.py",
           "q[c] = 1.0 - 0.375 * s", "q[c] = 1.0 - 0.3 * s",
           (LOCAL + "test_q_of_ideal_octahedron_tetrahedron_and_pyramid", LOCAL + "test_bond_statistics_equal_brute_force"),
           "wrong tetrahedral-Ge fractions"),
    Mutant("msd-unwraps-in-the-old-cell", "gstorder/dynamics.py",
           "self.unwrapped = frame.positions + self.images @ np.linalg.inv(inverse_cell(frame))",
           "self.unwrapped = frame.positions + self.images @ np.linalg.inv(inverse_cell(previous))",
           (DYNAMICS + "test_a_growing_box_moves_the_unwrapped_atoms_with_it_as_image_flags_do",),
           "MSD and z of NPT runs off by the box's change at every crossing"),
    # plots: the numbers drawn are the numbers computed
    Mutant("plot-temperature-map-raw-ignored", "gstorder/plot.py",
           'name = "temperature_raw" if raw else', 'name = "temperature" if raw else',
           (THERMAL + "test_plots_and_movie",), "the smoothed map shown as the raw one"),
    Mutant("plot-movie-repeats-the-first-map", "gstorder/plot.py",
           "temperature_map(ds, frame=k, ax=ax, vmin=vmin, vmax=vmax, colorbar=False)",
           "temperature_map(ds, frame=0, ax=ax, vmin=vmin, vmax=vmax, colorbar=False)",
           (THERMAL + "test_plots_and_movie",), "a movie of one frame"),
    Mutant("plot-kbar-histogram-counts", "gstorder/plot.py",
           "density=True, histtype=\"step\"", "density=False, histtype=\"step\"",
           ("tests/test_crystallinity.py::test_kbar_plots_draw_the_results_values",),
           "species histograms on different scales"),
    Mutant("plot-msd-species-ignored", "gstorder/plot.py",
           "y = ds.msd if species is None else ds.msd_species.sel(species=species)", "y = ds.msd",
           (DYNAMICS + "test_msd_and_density_plots_draw_the_results_values",),
           "every species' MSD drawn as the total"),
    Mutant("report-rdf-curves-not-offset", "gstorder/pairs.py",
           "plot.rdf(ds, ax=ax, offset=offset)", "plot.rdf(ds, ax=ax, offset=0.0)",
           ("tests/test_report.py::test_write_figures_draw_each_groups_values",),
           "g(r) curves on top of each other under a label that says they are offset"),
    # issue 23: the exact low-rank k̄ products, the row and column order the kernel writes, dask's malloc setting
    Mutant("kbar-rank-tolerance-loose", "gstorder/crystallinity.py",
           "rank = int((sv > tolerance * sv[0]).sum())", "rank = int((sv > 1e-3 * sv[0]).sum())",
           ("tests/test_crystallinity.py::test_rocksalt_reference_is_factorised_at_its_numerical_rank",
            "tests/test_crystallinity.py::test_low_rank_kbar_equals_the_direct_product",
            "tests/test_crystallinity.py::test_low_rank_kbar_equals_numpy_by_hand_on_a_triclinic_cell"),
           "k̄ from a truncated reference: off by up to 1e-3 against the definition"),
    Mutant("kbar-columns-not-permuted", "gstorder/crystallinity.py",
           "vecs = soap.vectors(nl, parallel=lists.parallel, reuse=True, order=order, columns=plan.columns)",
           "vecs = soap.vectors(nl, parallel=lists.parallel, reuse=True, order=order)",
           ("tests/test_crystallinity.py::test_low_rank_kbar_equals_numpy_by_hand_on_a_triclinic_cell",),
           "k̄ against rock-salt from the wrong SOAP components"),
    Mutant("soap-kernel-row-order-ignored", "gstorder/_kernels/soap.py",
           "target = row if project else out[order[c]]", "target = row if project else out[c]",
           ("tests/test_soap.py::test_vectors_and_projections_in_any_row_and_column_order",
            "tests/test_crystallinity.py::test_low_rank_kbar_equals_numpy_by_hand_on_a_triclinic_cell"),
           "each atom's k̄ from another atom's environment"),
    Mutant("dask-workers-trim-malloc", "gstorder/_dask.py",
           'KEEP_MALLOC_DEFAULTS = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}',
           'KEEP_MALLOC_DEFAULTS = {}',
           ("tests/test_pipeline.py::test_own_cluster_workers_keep_glibc_malloc_defaults",),
           "8 % slower device frames on dask workers"),
    # issue 23, second session: the ring search's shortcuts and the run's clock
    Mutant("rings-dead-walks-across-first-atoms", "gstorder/_kernels/network.py",
           "elif dead[j] == branch:", "elif dead[j] >= 0:",
           ("tests/test_rings.py::test_shortest_path_rings_equal_matscipy_on_amorphous_gete",
            "tests/test_rings.py::test_crystal_rings_equal_matscipy_in_any_atom_order"),
           "rings missing: walks skipped because they led nowhere from another first atom"),
    Mutant("rings-atoms-not-numbered-back", "gstorder/network.py",
           "_frame_rings(sizes, atoms, order, types", "_frame_rings(sizes, atoms, np.arange(n), types",
           ("tests/test_rings.py::test_crystal_rings_equal_matscipy_in_any_atom_order",),
           "per-atom ring counts and ABAB squares on the wrong atoms"),
    Mutant("rings-kept-search-of-another-atom", "gstorder/_kernels/network.py",
           "    if ball_atom[slot] != x:\n        return -1", "    if ball_atom[slot] < 0:\n        return -1",
           ("tests/test_rings.py::test_shortest_path_equals_primitive_rings_beyond_the_kept_searches",),
           "shortest-path checks against another atom's distances: wrong ring counts"),
    Mutant("clock-searches-include-the-analyses", "gstorder/pipeline.py",
           "searched = _time.perf_counter() - start - (spent.sum() - before)", "searched = _time.perf_counter() - start",
           ("tests/test_pipeline.py::test_analyze_says_where_the_time_went",),
           "a report that blames the neighbour searches for the analyses' time"),
]


def _files(root: Path) -> list[str]:
    """The files git tracks and the untracked ones it does not ignore, as they are in the working tree."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                         capture_output=True, text=True, check=True).stdout
    return [p for p in out.split("\0") if p and (root / p).is_file()]


def scratch_copy(root: Path, where: Path) -> Path:
    """Copy the working tree to ``where/<name>``, with ``where/shared`` pointing at the real ../shared (test data)."""
    copy = where / root.name
    for rel in _files(root):
        target = copy / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)
    shared = root.parent / "shared"
    if shared.exists():
        (where / "shared").symlink_to(shared, target_is_directory=True)
    return copy


def _env(copy: Path) -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(copy), os.environ.get("PYTHONPATH", "")]),
                PYTHONDONTWRITEBYTECODE="1")


def pytest(copy: Path, tests) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *tests], cwd=copy, env=_env(copy), capture_output=True, text=True)


def check_imports_the_copy(copy: Path) -> None:
    """The scratch copy's gstorder, not an installed one, must be the one the tests import."""
    done = subprocess.run([sys.executable, "-c", "import gstorder; print(gstorder.__file__)"], cwd=copy, env=_env(copy),
                          capture_output=True, text=True)
    found = done.stdout.strip()
    if done.returncode or not Path(found).resolve().is_relative_to(copy.resolve()):
        sys.exit(f"mutants: the scratch copy imports gstorder from {found or done.stderr[-500:]!r}, not from {copy}")


def apply(copy: Path, mutant: Mutant) -> str:
    """Write the mutant into the copy; the original text of the file, to restore it."""
    path = copy / mutant.path
    if not path.is_file():
        sys.exit(f"mutants: {mutant.name}: {mutant.path} does not exist (moved? update the mutant)")
    text = path.read_text()
    found = text.count(mutant.original)
    if found != 1:
        sys.exit(f"mutants: {mutant.name}: the snippet {mutant.original!r} occurs {found} times in {mutant.path}, "
                 "not exactly once (the code changed: update the mutant)")
    path.write_text(text.replace(mutant.original, mutant.replacement))
    return text


def _last_line(done: subprocess.CompletedProcess) -> str:
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return lines[-1] if lines else f"exit {done.returncode}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy")
    args = parser.parse_args(argv)
    names = [m.name for m in MUTANTS]
    if len(set(names)) != len(names):
        sys.exit("mutants: two mutants share a name")
    if args.list:
        for m in MUTANTS:
            print(f"{m.name:36s} {m.path:28s} {m.harm}")
        return 0
    unknown = sorted(set(args.names) - set(names))
    if unknown:
        sys.exit(f"mutants: unknown mutants {unknown}; --list shows them")
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]

    where = Path(tempfile.mkdtemp(prefix="gstorder-mutants-"))
    try:
        copy = scratch_copy(ROOT, where)
        print(f"scratch copy: {copy}")
        check_imports_the_copy(copy)
        for m in chosen:  # every snippet present once before anything runs
            (copy / m.path).write_text(apply(copy, m))
        tests = list(dict.fromkeys(t for m in chosen for t in m.tests))
        start = time.perf_counter()
        baseline = pytest(copy, tests)
        if baseline.returncode != 0:
            print(baseline.stdout[-4000:] + baseline.stderr[-2000:])
            sys.exit(f"mutants: the named tests do not pass on the unmutated copy ({_last_line(baseline)})")
        print(f"baseline: {len(tests)} tests pass unmutated ({time.perf_counter() - start:.0f} s)")
        survivors = []
        for m in chosen:
            start = time.perf_counter()
            original = apply(copy, m)
            try:
                done = pytest(copy, m.tests)
            finally:
                (copy / m.path).write_text(original)
            if done.returncode == 1:  # a test failed: caught
                verdict = "caught"
            elif done.returncode == 0:
                verdict = "SURVIVED"
                survivors.append(m.name)
            else:  # 2 interrupted (collection error), 3 internal, 4 usage, 5 nothing collected
                sys.exit(f"mutants: {m.name}: pytest exit {done.returncode} ({_last_line(done)}); a mutant must change "
                         "behaviour, not break the import, and its tests must exist")
            print(f"{verdict:8s} {m.name:36s} {time.perf_counter() - start:5.0f} s  {_last_line(done)}")
        print(f"{len(chosen) - len(survivors)} of {len(chosen)} mutants caught")
        if survivors:
            print(f"survived: {', '.join(survivors)}")
        return 1 if survivors else 0
    finally:
        if args.keep:
            print(f"kept: {where}")
        else:
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
