"""Progress bars for long jobs (tqdm on stderr, silent when not a terminal)."""

from tqdm.auto import tqdm


def progress(iterable, *, total=None, desc=None, show=None):
    """Wrap ``iterable`` in a progress bar.

    ``show=None`` shows it only on an interactive terminal; ``True`` always,
    ``False`` never.
    """
    return tqdm(iterable, total=total, desc=desc, disable=None if show is None else not show, leave=False, unit="frame")
