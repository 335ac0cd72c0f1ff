"""A two-dimensional map of many structures by SOAP similarity (paper Fig. 1b).

Each structure (a cell) is described by its averaged SOAP vector, the mean
of quippy's unit power spectra over its atoms (paper, Methods: "the per-cell
similarity can be constructed by averaging the descriptor vector entries
over individual atomic environments in a given cell"). Two cells A, B have
the normalised average kernel

    K(A, B) = (p̄_A · p̄_B / (|p̄_A| |p̄_B|))^ζ

and the distance d = √(2 − 2K); t-SNE (van der Maaten and Hinton 2008,
scikit-learn's implementation, a fixed seed) embeds the distances in two
dimensions. The paper states neither ζ nor the t-SNE settings: ζ = 1 and a
perplexity of at most 30 are our choices, recorded in the result's attrs.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from . import _checks
from ._labels import attrs_of
from ._soap import iter_soap, require_species, soap_settings
from .errors import EmptyFrameError, InvalidArgumentError
from .source import iter_frames

__all__ = ["similarity_map", "average_soap"]


def average_soap(frames, *, soap=None, backend: str = "numba") -> tuple[np.ndarray, list]:
    """The averaged SOAP vector of each frame, shape (n_frames, dim), and the frames' labels.

    A frame's label is ``info["config_type"]`` when it has one (extxyz
    ``config_type=`` as in GAP databases), else its formula.
    """
    s = soap_settings(soap)
    rows, labels = [], []
    for frame in iter_frames(frames):
        if not len(frame):
            raise EmptyFrameError(f"{frame.describe()} has no atoms; a similarity map needs at least one per structure")
        require_species(frame, s, "similarity-map SOAP")
        total, count = np.zeros(s.dimension), 0
        for ids, vecs in iter_soap(frame, s, backend=backend):
            total += vecs.sum(axis=0)
            count += len(ids)
        rows.append(total / max(count, 1))
        labels.append(str(frame.info.get("config_type", frame.formula)))
    if not rows:
        raise EmptyFrameError("no structures given for the similarity map")
    return np.array(rows), labels


def similarity_map(structures, *, labels=None, zeta: float = 1.0, perplexity: float | None = None, seed: int = 0,
                   soap=None, backend: str = "numba") -> xr.Dataset:
    """Kernel, distances and a 2-D t-SNE embedding of structures by their averaged SOAP vectors (Fig. 1b).

    Parameters
    ----------
    structures : path, list of Frame / ase.Atoms, or dict of label to frames
        The structures (cells) to map, e.g. an extxyz database; a dict gives
        each group its label.
    labels : sequence of str, optional
        One label per structure (default: ``config_type`` or the formula).
    zeta : float
        Kernel exponent ζ (default 1).
    perplexity : float, optional
        t-SNE perplexity (default min(30, (n - 1) / 3)).
    seed : int
        Seed of the t-SNE initialisation: the same seed gives the same map.
    soap : dict, optional
        SOAP options (the paper's by default; ``species`` must cover every structure).

    Returns
    -------
    xarray.Dataset
        Over ``structure``: ``x``, ``y`` (the embedding, arbitrary units) and
        ``label``; ``kernel`` and ``distance`` over
        (``structure``, ``other``). Parameters in attrs.

    Examples
    --------
    >>> from gstorder import structures
    >>> from gstorder.structure_map import similarity_map
    >>> cells = [structures.rocksalt("GeTe", 2, a=6.0 + 0.01 * k) for k in range(4)]
    >>> ds = similarity_map(cells + [structures.trigonal("GeTe")] * 4, soap={"species": ["Ge", "Te"]})
    >>> ds.distance.shape, round(float(ds.kernel[0, 0]), 12)
    ((8, 8), 1.0)
    """
    zeta = _checks.positive("zeta", zeta)
    seed = _checks.count("seed", seed, minimum=0)
    perplexity = None if perplexity is None else _checks.positive("perplexity", perplexity)
    if isinstance(structures, dict):
        frames, given = [], []
        for label, group in structures.items():
            for frame in iter_frames(group):
                frames.append(frame)
                given.append(str(label))
        labels = given if labels is None else labels
        structures = frames
    vectors, found = average_soap(structures, soap=soap, backend=backend)
    n = len(vectors)
    labels = found if labels is None else [str(x) for x in labels]
    if len(labels) != n:
        raise InvalidArgumentError(f"{len(labels)} labels for {n} structures")
    if n < 3:
        raise InvalidArgumentError(f"a similarity map needs at least 3 structures, got {n}")
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    kernel = np.clip(unit @ unit.T, 0.0, 1.0) ** zeta
    distance = np.sqrt(np.maximum(2.0 - 2.0 * kernel, 0.0))
    np.fill_diagonal(distance, 0.0)
    perplexity = min(30.0, (n - 1) / 3.0) if perplexity is None else float(perplexity)
    if not 0 < perplexity < n:
        raise InvalidArgumentError(f"perplexity must lie in (0, {n}) for {n} structures, got {perplexity}")
    from sklearn.manifold import TSNE

    embedding = TSNE(n_components=2, metric="precomputed", init="random", perplexity=perplexity,
                     random_state=int(seed)).fit_transform(distance)
    return xr.Dataset(
        {"x": ("structure", embedding[:, 0], {"long_name": "t-SNE 1", "units": ""}),
         "y": ("structure", embedding[:, 1], {"long_name": "t-SNE 2", "units": ""}),
         "kernel": (("structure", "other"), kernel, {"long_name": "normalised average SOAP kernel", "units": ""}),
         "distance": (("structure", "other"), distance, {"long_name": "SOAP distance √(2 − 2K)", "units": ""}),
         "label": ("structure", np.array(labels))},
        coords={"structure": np.arange(n), "other": np.arange(n)},
        attrs=attrs_of(analysis="similarity_map", zeta=float(zeta), perplexity=perplexity, seed=int(seed),
                       soap=soap_settings(soap).descriptor_string(), embedding="t-SNE (scikit-learn), precomputed distances"),
    )
