"""The VA explorer: click or draw in the valence-arousal plane and watch the face change (Sec. 4.5.2).

- :mod:`~affect.explorer.widget`: :class:`VAExplorer`, the Jupyter widget (ipywidgets 8 and
  ipycanvas), with ``select``, ``select_expression``, ``draw``, ``export`` and ``image`` for scripts
- :mod:`~affect.explorer.session`: :class:`ExplorerSession`, a photo fitted once and edited by
  one affect at a time, without widgets; :func:`median_update_ms` (``explorer_update_ms`` of
  ``make bench``, whose target is :data:`affect.bench.EXPLORER_UPDATE_TARGET_MS`)
- :mod:`~affect.explorer.plane`: the VA plane's geometry, drawn paths and drawing
- :mod:`~affect.explorer.latest`: :class:`LatestWins`, the worker that runs only the newest update

Notebook ``15_va_explorer`` shows it; ``make explore`` serves it as a page (Voila).
"""

from affect.explorer.latest import LatestWins
from affect.explorer.plane import PATH_FRAMES, PlaneGeometry, resample_path
from affect.explorer.session import Affect, ExplorerSession, Update, median_update_ms
from affect.explorer.widget import VAExplorer

__all__ = [
    "VAExplorer",
    "ExplorerSession",
    "Affect",
    "Update",
    "median_update_ms",
    "PlaneGeometry",
    "PATH_FRAMES",
    "resample_path",
    "LatestWins",
]
