"""report.html as a person sees it: headless Chromium (Debian's chromium-headless-shell) shows every figure."""

import json
import re
import shutil
import subprocess

import matplotlib.image
import numpy as np
import pytest

import gstorder
from gstorder import structures

BROWSER = shutil.which("chromium-headless-shell") or shutil.which("chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync", "--hide-scrollbars", "--window-size=1200,4000"]

pytestmark = pytest.mark.skipif(BROWSER is None, reason="[browser] headless Chromium is not installed "
                                                          "(apt-get install chromium-headless-shell; .ci/run does)")

# records each image's box and whether it decoded, on <body> (layout unchanged), for --dump-dom to print
PROBE = """<script>window.addEventListener('load', () => { document.body.setAttribute('data-boxes', JSON.stringify(
  [...document.images].map(i => { const r = i.getBoundingClientRect();
    return {alt: i.alt, ok: i.complete && i.naturalWidth > 0, x: r.left, y: r.top, w: r.width, h: r.height}; }))); });
</script>"""


def _browser(tmp_path, *args):
    profile = tmp_path / "profile"
    out = subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                         timeout=120)
    return out.stdout


def test_the_report_shows_every_figure_in_a_browser(tmp_path):
    frames = []
    rng = np.random.default_rng(1)
    for k in range(3):
        a = structures.rocksalt("GeTe", 3, a=6.0 + 0.02 * k)
        a.positions += rng.normal(0, 0.1, a.positions.shape)
        a.info["time_ps"] = float(k)
        frames.append(a)
    out = tmp_path / "run"
    gstorder.analyze(frames, ["rdf", "adf", "motifs", "msd", "density"], out=out)
    page = (out / "report.html").read_text()
    assert 'src="data:image/png;base64,' in page and not re.search(r'src="[^d]', page)  # one file, nothing linked
    for python in ("{'", "None<", "slice(", ">1<"):
        assert python not in page.split("<details>")[0], python  # no Python reprs in the tables
    mailed = tmp_path / "mailed" / "report.html"  # the page alone, as a mail attachment: no folder beside it
    mailed.parent.mkdir()
    mailed.write_text(page.replace("<body>", "<body>" + PROBE, 1))
    dom = _browser(tmp_path, "--dump-dom", mailed.as_uri())
    boxes = json.loads(re.search(r'data-boxes="([^"]*)"', dom).group(1).replace("&quot;", '"'))
    names = {b["alt"] for b in boxes}
    assert names == {"rdf", "adf", "bond_motifs", "msd", "density"} and all(b["ok"] for b in boxes)
    shot = tmp_path / "shot.png"
    _browser(tmp_path, f"--screenshot={shot}", mailed.as_uri())
    pixels = matplotlib.image.imread(shot)[..., :3]
    for b in boxes:
        y0, x0 = int(b["y"]) + 2, int(b["x"]) + 2
        region = pixels[y0 : int(b["y"] + b["h"]) - 2, x0 : int(b["x"] + b["w"]) - 2]
        assert region.size and b["y"] + b["h"] <= pixels.shape[0], b
        drawn = (region.min(axis=2) < 0.8).mean()  # share of pixels that are not (near) white: axes, lines, text
        assert 0.01 < drawn < 0.9, (b["alt"], drawn)
