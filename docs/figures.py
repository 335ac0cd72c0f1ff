"""Make the README's picture and the gallery (docs/gallery.md, docs/img/*.png) from shipped data.

    python docs/figures.py

Each gallery entry is a block of code that draws one figure type of the paper on the built-in
example (data/) or on models built by gstorder.structures; the script runs the block, saves the
figure and writes the block under the picture, so the page shows exactly the code that made it.
"""

import os
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import gstorder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "gst124_rocksalt_189at_thermal.extxyz"

#: (file name, title, code): each code block leaves its figure current.
GALLERY = [
    ("fig1b_structure_map", "Fig. 1b — a SOAP similarity map of structures", """
        import gstorder
        from gstorder import structures
        from gstorder.structure_map import similarity_map

        run = gstorder.Trajectory("data/gst124_rocksalt_189at_thermal.extxyz")[::2]
        rocksalt = [structures.rocksalt("Ge1Sb2Te4", 3, seed=s) for s in range(6)]
        trigonal = [structures.trigonal("Ge1Sb2Te4").repeat((3, 3, 1)) for _ in range(6)]
        for k, atoms in enumerate(trigonal):
            atoms.rattle(0.03 * (k + 1), seed=k)
        ds = similarity_map({"rock-salt (ideal)": rocksalt, "rock-salt (300 K run)": run, "trigonal": trigonal}, seed=0)
        gstorder.plot.similarity_map(ds)
    """),
    ("fig2a_rdf", "Fig. 2a — partial g(r)", """
        import gstorder

        g = gstorder.rdf("data/gst124_rocksalt_189at_thermal.extxyz", r_max=7.0, pairs=["Ge-Te", "Sb-Te", "Te-Te"])
        gstorder.plot.rdf(g, offset=2.0)
    """),
    ("fig2c_bond_motifs", "Fig. 2c — homopolar bonds and tetrahedral Ge", """
        import gstorder
        from gstorder import structures

        hot = structures.rocksalt("Ge1Sb2Te4", 3, seed=1)
        hot.rattle(0.5, seed=2)                      # a disordered stand-in
        runs = [gstorder.bond_motifs("data/gst124_rocksalt_189at_thermal.extxyz"), gstorder.bond_motifs(hot)]
        gstorder.plot.bond_motifs(runs, labels=["crystal, 300 K", "rattled 0.5 Å"])
    """),
    ("fig2e_altbc", "Fig. 2e — the ALTBC map of the Peierls distortion", """
        import gstorder
        from gstorder import structures

        alpha = structures.trigonal("GeTe", (4, 4, 2), functional="experiment")
        alpha.rattle(0.05, seed=0)
        gstorder.plot.altbc(gstorder.altbc(alpha, bin_width=0.04), smooth_bins=1.0, contours=4)
    """),
    ("fig3b_kbar_temperature", "Fig. 3b — k̄ against temperature", """
        import gstorder
        from gstorder import crystallinity, structures

        frames, temperatures = [], [300, 500, 700, 900, 1100]
        for k, t in enumerate(temperatures):
            atoms = structures.rocksalt("Ge1Sb2Te4", 3, seed=11)
            atoms.rattle(0.1 * (t / 300) ** 0.5 * (k > 0) + 0.01, seed=k)   # stand-in thermal amplitudes
            frames.append(atoms)
        gstorder.plot.kbar_temperature(crystallinity.kbar(frames), temperatures)
    """),
    ("fig4_kbar_slice", "Fig. 4 — a slab coloured by k̄, anti-sites black", """
        import gstorder
        from gstorder import crystallinity, structures

        atoms = structures.rocksalt("Ge1Sb2Te4", 4, seed=3, antisite_fraction=0.05)
        atoms.positions[atoms.positions[:, 0] > 12] += 0.3 * (atoms.positions[atoms.positions[:, 0] > 12] % 1.7 - 0.8)
        ds = crystallinity.kbar(atoms)
        gstorder.plot.kbar_slice(atoms, ds, axis="z", thickness=3.0, size=40, antisites=crystallinity.antisites(atoms))
    """),
    ("fig5c_temperature_map", "Fig. 5c — temperature map of the mushroom cell", """
        import numpy as np
        import gstorder
        from gstorder import structures, thermal

        atoms = structures.mushroom_cell(seed=0)
        frame = gstorder.as_frame(atoms)
        m = frame.atom_masses
        temperature = np.where(atoms.arrays["heater"], 1500.0, 300.0)     # a hot heater in a 300 K cell
        sigma = np.sqrt(thermal.KB_EV * temperature / (m * thermal.EV_PER_AMU_A2_PS2))
        frame.velocities = np.random.default_rng(0).normal(size=(len(frame), 3)) * sigma[:, None]
        frame.velocities[atoms.arrays["fixed"]] = 0.0
        gstorder.plot.temperature_map(gstorder.temperature_map(frame))
    """),
    ("fig6_layer_kbar", "Fig. 6 — k̄ of each layer against time (a melting front from below)", """
        import numpy as np
        import gstorder
        from gstorder import crystallinity, layers, structures

        cell = structures.trigonal("Ge1Sb2Te4").repeat((3, 3, 2))
        frames = []
        for k in range(6):                                  # stand-in melting: the lowest k/5 of the cell disorders
            atoms = cell.copy()
            low = atoms.positions[:, 2] < atoms.cell[2, 2] * k / 5
            atoms.positions[low] += np.random.default_rng(k).normal(0.0, 0.7, (low.sum(), 3))
            atoms.info["time_ps"] = 10.0 * k
            frames.append(atoms)
        track = layers.track_layers(frames, kbar=crystallinity.kbar(frames, reference="trigonal"))
        gstorder.plot.layer_kbar(track)
    """),
    ("fig6c_z_evolution", "Fig. 6c — atoms' z against time, one panel per species", """
        import gstorder
        from gstorder import layers

        z = layers.z_coordinates("data/gst124_rocksalt_189at_thermal.extxyz")
        gstorder.plot.z_evolution(z, size=2.0)
    """),
]


def readme_picture():
    frames = list(gstorder.read_frames(EXAMPLE))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), layout="constrained")
    gstorder.plot.rdf(gstorder.rdf(frames, r_max=7.0, pairs=["Ge-Te", "Sb-Te", "Te-Te"]), ax=axes[0], offset=2.0)
    gstorder.plot.adf(gstorder.adf(frames), ax=axes[1])
    gstorder.plot.altbc(gstorder.altbc(frames, bin_width=0.04), ax=axes[2])
    fig.suptitle("rock-salt Ge$_1$Sb$_2$Te$_4$, 189 atoms, 300 K (data/ example)")
    out = ROOT / "docs" / "img" / "local_structure.png"
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def gallery():
    os.chdir(ROOT)  # the blocks read data/ relative to the repository
    lines = ["# Gallery: the paper's figure types", "",
             "Each picture is made by the code under it, from the example in `data/` or from models built by",
             "`gstorder.structures` (`python docs/figures.py` remakes them all; a test runs every block).", ""]
    for name, title, code in GALLERY:
        code = textwrap.dedent(code).strip() + "\n"
        plt.close("all")
        exec(compile(code, name, "exec"), {"__name__": "__main__"})
        fig = plt.gcf()
        fig.set_size_inches(max(fig.get_size_inches()[0], 5.0), max(fig.get_size_inches()[1], 3.6))
        fig.savefig(ROOT / "docs" / "img" / f"{name}.png", dpi=80, bbox_inches="tight")
        plt.close("all")
        lines += [f"## {title}", "", f"![{title}](img/{name}.png)", "", "```python", code.rstrip(), "```", ""]
    (ROOT / "docs" / "gallery.md").write_text("\n".join(lines))
    return ROOT / "docs" / "gallery.md"


if __name__ == "__main__":
    print(readme_picture())
    print(gallery())
