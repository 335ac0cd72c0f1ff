"""Make the README's picture from the built-in example: python docs/figures.py"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import gstorder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "gst124_rocksalt_189at_thermal.extxyz"


def main():
    frames = list(gstorder.read_frames(EXAMPLE))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), layout="constrained")
    gstorder.plot.rdf(gstorder.rdf(frames, r_max=7.0, pairs=["Ge-Te", "Sb-Te", "Te-Te"]), ax=axes[0], offset=2.0)
    gstorder.plot.adf(gstorder.adf(frames), ax=axes[1])
    gstorder.plot.altbc(gstorder.altbc(frames, bin_width=0.04), ax=axes[2])
    fig.suptitle("rock-salt Ge$_1$Sb$_2$Te$_4$, 189 atoms, 300 K (data/ example)")
    out = ROOT / "docs" / "img" / "local_structure.png"
    fig.savefig(out, dpi=90)
    print(out)


if __name__ == "__main__":
    main()
