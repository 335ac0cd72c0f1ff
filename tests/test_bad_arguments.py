"""Every public analysis refuses bad arguments at its boundary with a gstorder error that names the argument.

One row per (function, argument, bad value): non-finite, negative, zero, wrong
type and unknown species, as the issue's families list them. The expected
type is the gstorder error (``InvalidArgumentError``/``ArgumentTypeError``
or a more specific one); the message must name the argument.
"""

import math

import numpy as np
import pytest

import gstorder
import gstorder.structure_map
from gstorder import crystallinity, layers, plot, structures
from gstorder.errors import ArgumentTypeError, GstorderError, InvalidArgumentError, UnknownSpeciesError

NAN, INF = math.nan, math.inf


@pytest.fixture(scope="module")
def crystal():
    atoms = structures.rocksalt("Ge1Sb2Te4", (2, 2, 2), seed=0)
    atoms.rattle(0.05, seed=1)
    atoms.set_velocities(np.random.default_rng(0).normal(0, 0.02, (len(atoms), 3)))
    return gstorder.as_frame(atoms)


# (label, call(frame), argument named in the message, expected type)
CASES = [
    # bond motifs
    ("motifs q nan", lambda f: gstorder.bond_motifs(f, q_threshold=NAN), "q_threshold", InvalidArgumentError),
    ("motifs q 2", lambda f: gstorder.bond_motifs(f, q_threshold=2.0), "q_threshold", InvalidArgumentError),
    ("motifs q str", lambda f: gstorder.bond_motifs(f, q_threshold="0.8"), "q_threshold", ArgumentTypeError),
    ("motifs tol nan", lambda f: gstorder.bond_motifs(f, octahedral_tolerance=NAN), "octahedral_tolerance", InvalidArgumentError),
    ("motifs max_cn 0", lambda f: gstorder.bond_motifs(f, max_cn=0), "max_cn", InvalidArgumentError),
    ("motifs max_cn 2.5", lambda f: gstorder.bond_motifs(f, max_cn=2.5), "max_cn", InvalidArgumentError),
    ("motifs cutoff nan", lambda f: gstorder.bond_motifs(f, cutoff=NAN), "cutoff", InvalidArgumentError),
    ("motifs cutoff -1", lambda f: gstorder.bond_motifs(f, cutoff=-1.0), "cutoff", InvalidArgumentError),
    # altbc
    ("altbc r_max nan", lambda f: gstorder.altbc(f, r_max=NAN), "r_max", InvalidArgumentError),
    ("altbc r_min -1", lambda f: gstorder.altbc(f, r_min=-1.0), "r_min", InvalidArgumentError),
    ("altbc tol inf", lambda f: gstorder.altbc(f, angle_tolerance=INF), "angle_tolerance", InvalidArgumentError),
    ("altbc bin 0", lambda f: gstorder.altbc(f, bin_width=0.0), "bin_width", InvalidArgumentError),
    ("altbc bin nan", lambda f: gstorder.altbc(f, bin_width=NAN), "bin_width", InvalidArgumentError),
    ("altbc bin str", lambda f: gstorder.altbc(f, bin_width="0.1"), "bin_width", ArgumentTypeError),
    ("altbc centre Xx", lambda f: gstorder.altbc(f, centre="Xx"), "Xx", UnknownSpeciesError),
    # temperature
    ("tmap min_atoms nan", lambda f: gstorder.temperature_map(f, min_atoms=NAN), "min_atoms", InvalidArgumentError),
    ("tmap min_atoms -1", lambda f: gstorder.temperature_map(f, min_atoms=-1), "min_atoms", InvalidArgumentError),
    ("tmap sigma nan", lambda f: gstorder.temperature_map(f, sigma_nm=NAN), "sigma_nm", InvalidArgumentError),
    ("tmap sigma inf", lambda f: gstorder.temperature_map(f, sigma_nm=INF), "sigma_nm", InvalidArgumentError),
    ("tmap bins 0", lambda f: gstorder.temperature_map(f, bins=(0, 4)), "bins", InvalidArgumentError),
    ("tmap bins 2.5", lambda f: gstorder.temperature_map(f, bins=(2.5, 4)), "bins", InvalidArgumentError),
    ("tmap average 0", lambda f: gstorder.temperature_map(f, average_frames=0), "average_frames", InvalidArgumentError),
    ("tmap plane", lambda f: gstorder.temperature_map(f, plane="xq"), "plane", InvalidArgumentError),
    ("tmap refine 0", lambda f: gstorder.temperature_map(f, refine=0), "refine", InvalidArgumentError),
    ("tmap exclude", lambda f: gstorder.temperature_map(f, exclude=3.5), "exclude", ArgumentTypeError),
    ("tmap com", lambda f: gstorder.temperature_map(f, com="nope"), "com", InvalidArgumentError),
    ("radial r_max nan", lambda f: gstorder.thermal.radial_temperature(f, centre=[0, 0, 0], r_max=NAN), "r_max", InvalidArgumentError),
    ("radial bin 0", lambda f: gstorder.thermal.radial_temperature(f, centre=[0, 0, 0], bin_width=0.0), "bin_width", InvalidArgumentError),
    ("radial centre nan", lambda f: gstorder.thermal.radial_temperature(f, centre=[NAN, 0, 0]), "centre", InvalidArgumentError),
    # layers
    ("find_layers res 0", lambda f: layers.find_layers(f, resolution=0.0), "resolution", InvalidArgumentError),
    ("find_layers res nan", lambda f: layers.find_layers(f, resolution=NAN), "resolution", InvalidArgumentError),
    ("find_layers smoothing -1", lambda f: layers.find_layers(f, smoothing=-1.0), "smoothing", InvalidArgumentError),
    ("find_layers sep nan", lambda f: layers.find_layers(f, min_separation=NAN), "min_separation", InvalidArgumentError),
    ("find_layers axis", lambda f: layers.find_layers(f, axis="w"), "axis", InvalidArgumentError),
    ("z_profile bin 0", lambda f: layers.z_profile(f, bin_width=0.0), "bin_width", InvalidArgumentError),
    ("z_profile bin -0.2", lambda f: layers.z_profile(f, bin_width=-0.2), "bin_width", InvalidArgumentError),
    ("z_profile bin nan", lambda f: layers.z_profile(f, bin_width=NAN), "bin_width", InvalidArgumentError),
    ("track threshold nan", lambda f: layers.track_layers([f, f], retained_threshold=NAN), "retained_threshold", InvalidArgumentError),
    # crystallinity
    ("kbar zeta inf", lambda f: crystallinity.kbar(f, zeta=INF), "zeta", InvalidArgumentError),
    ("kbar zeta nan", lambda f: crystallinity.kbar(f, zeta=NAN), "zeta", InvalidArgumentError),
    ("kbar zeta 0", lambda f: crystallinity.kbar(f, zeta=0), "zeta", InvalidArgumentError),
    ("kbar normalise", lambda f: crystallinity.kbar(f, normalize="sometimes"), "normalize", InvalidArgumentError),
    ("kbar reference", lambda f: crystallinity.kbar(f, reference="wurtzite"), "reference", InvalidArgumentError),
    ("kbar block 0", lambda f: crystallinity.kbar(f, block_size=0), "block_size", InvalidArgumentError),
    ("soap block -1", lambda f: crystallinity.soap(f, block_size=-1), "block_size", InvalidArgumentError),
    ("soap backend", lambda f: crystallinity.soap(f, backend="fortran"), "backend", InvalidArgumentError),
    ("soap cutoff nan", lambda f: crystallinity.soap(f, cutoff=NAN), "cutoff", InvalidArgumentError),
    ("soap n_max 0", lambda f: crystallinity.soap(f, n_max=0), "n_max", InvalidArgumentError),
    ("soap coupling", lambda f: crystallinity.soap(f, coupling=False), "coupling", InvalidArgumentError),
    ("soap nu_R", lambda f: crystallinity.soap(f, nu_R=0), "nu_R", InvalidArgumentError),
    ("antisites tol nan", lambda f: crystallinity.antisites(f, tolerance=NAN), "tolerance", InvalidArgumentError),
    ("antisites a -1", lambda f: crystallinity.antisites(f, a=-1.0), "a", InvalidArgumentError),
    # dynamics
    ("msd per_species", lambda f: gstorder.msd([f, f], per_species="yes"), "per_species", ArgumentTypeError),
    # structures
    ("rocksalt size 2.5", lambda f: structures.rocksalt("GeTe", 2.5), "size", InvalidArgumentError),
    ("rocksalt size 0", lambda f: structures.rocksalt("GeTe", (0, 1, 1)), "size", InvalidArgumentError),
    ("rocksalt a nan", lambda f: structures.rocksalt("GeTe", 2, a=NAN), "a", InvalidArgumentError),
    ("rocksalt antisite 2", lambda f: structures.rocksalt("GeTe", 2, antisite_fraction=2.0), "antisite_fraction", InvalidArgumentError),
    ("rocksalt formula", lambda f: structures.rocksalt("GeXx", 2), "Xx", GstorderError),
    ("trigonal size 1.5", lambda f: structures.trigonal("GeTe", 1.5), "size", InvalidArgumentError),
    ("mushroom size", lambda f: structures.mushroom_cell(size=(0, 5, 20)), "size", InvalidArgumentError),
    # runner-wide
    ("block_size 0", lambda f: gstorder.rdf(f, block_size=0), "block_size", InvalidArgumentError),
    ("block_size 2.5", lambda f: gstorder.altbc(f, block_size=2.5), "block_size", InvalidArgumentError),
    ("index str", lambda f: gstorder.altbc([f, f], index="abc"), "index", ArgumentTypeError),
    ("index step 0", lambda f: gstorder.altbc([f, f], index=slice(0, 2, 0)), "index", InvalidArgumentError),
    ("index slice str", lambda f: gstorder.msd([f, f], index=slice("a", None)), "index", ArgumentTypeError),
    ("huge int cutoff", lambda f: gstorder.bond_motifs(f, cutoff=10**400), "cutoff", InvalidArgumentError),
    ("threads 0", lambda f: gstorder.threads(0).__enter__(), "threads", InvalidArgumentError),
    # one pass, references, maps
    ("analyze name", lambda f: gstorder.analyze(f, ["rdf", "nope"]), "nope", GstorderError),
    ("analyze workers 0", lambda f: gstorder.analyze(f, ["rdf"], workers=0), "workers", InvalidArgumentError),
    ("analyze chunk 0", lambda f: gstorder.analyze(f, ["rdf"], workers=2, chunk_frames=0), "chunk_frames", InvalidArgumentError),
    ("reference merge nan", lambda f: crystallinity.reference([f], merge_tolerance=NAN), "merge_tolerance", InvalidArgumentError),
    ("calibrate bins 1", lambda f: crystallinity.calibrate(f, f, bins=1), "bins", InvalidArgumentError),
    ("similarity zeta nan", lambda f: gstorder.structure_map.similarity_map([f] * 4, zeta=NAN), "zeta", InvalidArgumentError),
    ("similarity perplexity -1", lambda f: gstorder.structure_map.similarity_map([f] * 4, perplexity=-1.0), "perplexity",
     InvalidArgumentError),
    ("atom_temperatures exclude", lambda f: gstorder.thermal.atom_temperatures(f, exclude=[10_000]), "exclude",
     InvalidArgumentError),
    ("z_coordinates axis", lambda f: layers.z_coordinates([f], axis="q"), "axis", InvalidArgumentError),
    # plots
    ("kbar_histogram bins 0", lambda f: plot.kbar_histogram(crystallinity.kbar(f), bins=0), "bins", InvalidArgumentError),
    ("snapshot size", lambda f: plot.snapshot(f, "x.png", size=(0, 10)), "size", InvalidArgumentError),
    ("snapshot color_by", lambda f: plot.snapshot(f, "x.png", color_by="mood"), "color_by", InvalidArgumentError),
    ("movie fps 0", lambda f: plot.movie([f], "x.gif", fps=0), "fps", InvalidArgumentError),
]


@pytest.mark.parametrize("label, call, name, error", CASES, ids=[c[0] for c in CASES])
def test_bad_argument_is_refused_naming_it(crystal, tmp_path, monkeypatch, label, call, name, error):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=name):
        call(crystal)
