"""GAP potentials as ASE calculators: :func:`gap` for a GAP XML file (checked before quippy reads it) and
:func:`demo_gap` for the small demo GAP shipped in ``gstorder/data/demo_gap``.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ArgumentTypeError, PotentialFileError, PotentialNotFoundError


#: Where the shipped demo potential lives.
DEMO_GAP = Path(__file__).resolve().parents[1] / "data" / "demo_gap" / "gap.xml"


def gap(path, *, xml_label: str | None = None):
    """A GAP from its XML file as an ASE calculator (quippy ``Potential``).

    The file is parsed before quippy sees it: quippy ends the whole Python
    process (with status 0) on some malformed files.

    Parameters
    ----------
    path : str or os.PathLike
        The GAP XML file; the ``sparseX`` files it names must lie beside it.
    xml_label : str, optional
        The label of the potential, when the file holds several.

    Raises
    ------
    PotentialNotFoundError
        (a ``FileNotFoundError``) When the file, or a sparseX file it names, does not exist.
    PotentialFileError
        (a ``ValueError``) When it is empty, not well-formed XML (e.g. truncated), holds no ``<GAP_params>``
        element or no potential labelled ``xml_label``, or quippy cannot read it.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentTypeError(f"path must be a file name, got {type(path).__name__} {path!r}")
    if xml_label is not None and not isinstance(xml_label, str):
        raise ArgumentTypeError(f"xml_label must be a string, got {type(xml_label).__name__} {xml_label!r}")
    path = Path(path)
    _check_gap_xml(path, xml_label)
    from quippy.potential import Potential

    args = "IP GAP" if xml_label is None else f"IP GAP label={xml_label}"
    try:
        return Potential(args, param_filename=str(path))
    except Exception as exc:  # quippy raises bare RuntimeError/Exception on what it cannot use
        raise PotentialFileError(f"quippy could not read the GAP in {path}: {exc}") from None


def _check_gap_xml(path: Path, xml_label):
    """Refuse a GAP XML file quippy would choke on: missing, empty, not XML, no GAP, missing sparseX files.

    Returns what the file holds: ``{"potentials": [labels of its <Potential> elements], "gaps": [labels of its
    <GAP_params>], "sparse": [sparseX file names]}``.
    """
    import xml.etree.ElementTree as ET

    if not path.is_file():
        raise PotentialNotFoundError(f"no GAP potential file {str(path)!r}; the real GST-GAP-22 is at "
                                     "doi:10.5281/zenodo.8208202")
    if path.stat().st_size == 0:
        raise PotentialFileError(f"the GAP potential file {path} is empty")
    root, potentials, gaps, sparse = None, [], [], []
    try:  # streamed: a GAP file with its sparse points inline can be large
        for event, element in ET.iterparse(path, events=("start", "end")):
            if event == "end":
                element.clear()
                continue
            if root is None:
                root = element.tag  # the root's tag is the potential's label
            if element.tag == "Potential" and element.get("label"):
                potentials.append(element.get("label"))
            if element.tag == "GAP_params":
                gaps.append(element.get("label"))
            if element.get("sparseX_filename"):
                sparse.append(element.get("sparseX_filename"))
    except ET.ParseError as exc:
        raise PotentialFileError(f"{path} is not a GAP XML file: not well-formed XML ({exc}; truncated?)") from None
    if not gaps:
        raise PotentialFileError(f"{path} is XML but holds no <GAP_params> element: not a GAP potential")
    labels = {root, *potentials, *gaps} - {None}
    if xml_label is not None and xml_label not in labels:
        raise PotentialFileError(f"{path} holds no potential labelled xml_label={xml_label!r}; its labels: "
                                 f"{', '.join(sorted(labels))}")
    for name in sparse:
        if not (path.parent / name).is_file():
            raise PotentialNotFoundError(f"the GAP in {path} needs {name!r} beside it, which does not exist")
    return {"potentials": potentials, "gaps": [g for g in gaps if g], "sparse": sparse}


def demo_gap():
    """The small demo GAP for Ge–Sb–Te shipped with gstorder (not GST-GAP-22; see ``docs/md.md``)."""
    if not DEMO_GAP.is_file():
        raise FileNotFoundError(f"the demo GAP is missing from {DEMO_GAP}; regenerate it with data/make_demo_gap.py")
    return gap(DEMO_GAP)
