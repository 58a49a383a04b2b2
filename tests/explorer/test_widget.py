"""The VA explorer driven from Python: points, clicks and drags on the plane, expressions,
intensity, action units, export, and photo uploads (Sec. 4.5.2)."""

import datetime as dt
import io
import re

import menpo.io as mio
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("ipywidgets", reason="the explorer extra (ipywidgets, ipycanvas) is not installed")
pytest.importorskip("ipycanvas", reason="the explorer extra (ipywidgets, ipycanvas) is not installed")

from affect.cli import main  # noqa: E402
from affect.explorer import PATH_FRAMES, VAExplorer  # noqa: E402
from affect.va_paths import read_va_path  # noqa: E402
from affect.vocabulary import BASIC_EXPRESSIONS  # noqa: E402

pytestmark = pytest.mark.slow  # fits a photo (seconds)


@pytest.fixture(scope="module")
def explorer(synthesizer, tmp_path_factory):
    return VAExplorer(synthesizer=synthesizer, export_dir=tmp_path_factory.mktemp("exports"))


def _status_va(explorer) -> tuple[float, float]:
    found = re.search(r"valence ([+-]\d\.\d\d), arousal ([+-]\d\.\d\d)", explorer.status.value)
    return float(found.group(1)), float(found.group(2))


def _event(explorer, kind: str, valence: float, arousal: float) -> None:
    """What the browser sends when the pointer acts at a VA point of the plane."""
    x, y = explorer.geometry.to_pixels(valence, arousal)
    explorer.plane._canvases[-1]._handle_frontend_event(None, {"event": kind, "x": float(x), "y": float(y)}, [])


def test_the_explorer_shows_the_photo_and_its_edit_at_the_photos_resolution(explorer):
    photo = np.asarray(Image.open(mio.data_path_to("lenna.png")).convert("RGB"))
    assert explorer.image.shape == photo.shape
    assert Image.open(io.BytesIO(explorer.edited.value)).size == photo.shape[1::-1]
    assert Image.open(io.BytesIO(explorer.original.value)).size == photo.shape[1::-1]


def test_select_changes_the_face_and_reports_point_class_identity_and_time(explorer):
    before = explorer.select(0.7, 0.2).image
    update = explorer.select(-0.6, 0.4)
    assert np.abs(update.image.astype(int) - before).max() > 10
    assert _status_va(explorer) == (-0.6, 0.4)
    status = explorer.status.value
    assert f"VA class {update.va_class}" in status and "identity distance 0." in status and " ms" in status


def test_a_click_on_the_plane_selects_the_point_under_the_pointer(explorer):
    explorer.select(0.7, 0.2)
    shown = explorer.image.copy()
    _event(explorer, "mouse_down", -0.5, -0.3)
    _event(explorer, "mouse_up", -0.5, -0.3)
    explorer.wait()
    assert _status_va(explorer) == pytest.approx((-0.5, -0.3), abs=0.011)
    assert "identity distance" in explorer.status.value
    assert not np.array_equal(explorer.image, shown)


def test_a_drag_draws_a_path_that_plays_and_exports_as_the_csv_synthesize_reads(explorer, model_file, tmp_path, capsys):
    stroke = [(-0.6 + 0.06 * k, 0.5 * np.sin(k / 4)) for k in range(21)]
    _event(explorer, "mouse_down", *stroke[0])
    for point in stroke[1:]:
        _event(explorer, "mouse_move", *point)
    _event(explorer, "mouse_up", *stroke[-1])
    explorer.wait()
    path = explorer.session.path
    assert path.shape == (PATH_FRAMES, 2)
    assert path[0] == pytest.approx(stroke[0], abs=0.01) and path[-1] == pytest.approx(stroke[-1], abs=0.01)
    assert explorer.frame_slider.max == PATH_FRAMES - 1 and explorer.path_controls.layout.display == "flex"

    explorer.frame_slider.value = 0  # what the play button does, frame by frame
    explorer.wait()
    assert _status_va(explorer) == pytest.approx(tuple(path[0]), abs=0.006)

    csv = explorer.export(tmp_path / "path.csv")
    assert read_va_path(csv) == pytest.approx(path, abs=1e-6)
    assert main(["synthesize", str(mio.data_path_to("lenna.png")), "--path", str(csv), "--affect-model",
                 str(model_file), "-o", str(tmp_path / "replay.gif")]) == 0  # fmt: skip
    assert f"frame {PATH_FRAMES - 1}: valence {path[-1, 0]:+.2f}" in capsys.readouterr().out


def test_draw_and_export_write_gif_and_mp4_and_the_buttons_offer_a_download(explorer, tmp_path):
    explorer.draw([(-0.5, 0.0), (0.0, 0.5), (0.5, 0.0)])
    with Image.open(explorer.export(tmp_path / "path.gif")) as gif:
        assert gif.n_frames == 3
    assert explorer.export(tmp_path / "path.mp4").stat().st_size > 0
    explorer.export_buttons[".csv"].click()
    assert "download va_path.csv" in explorer.download.value and "base64," in explorer.download.value
    with pytest.raises(ValueError, match="export: expected one of"):
        explorer.export(tmp_path / "path.png")


def test_the_expression_buttons_show_each_basic_expression(explorer):
    images = {}
    for name in BASIC_EXPRESSIONS:
        explorer.expression_buttons[name].click()
        explorer.wait()
        assert name in explorer.status.value and "basic expression" in explorer.status.value
        images[name] = explorer.image.copy()
    assert not np.array_equal(images["happiness"], images["sadness"])
    assert explorer.select_expression("anger").affect.expression == "anger"


def test_intensity_scales_the_affect_shown(explorer):
    explorer.intensity_slider.value = 1.0
    normal = explorer.select_expression("surprise").image
    explorer.intensity_slider.value = 2.0  # the slider re-renders the affect shown
    explorer.wait()
    assert "intensity 2" in explorer.status.value
    assert not np.array_equal(explorer.image, normal)
    explorer.intensity_slider.value = 0.0  # every expression is then the photo's neutral face
    assert np.array_equal(explorer.select_expression("fear").image, explorer.select_expression("happiness").image)
    explorer.intensity_slider.value = 1.0


def test_action_unit_sliders_edit_by_action_unit(explorer):
    neutral = explorer.select(0.0, 0.0).image
    explorer.au_sliders[12].value = 1.5
    explorer.wait()
    assert "AU12=1.5" in explorer.status.value and "action units" in explorer.status.value
    assert not np.array_equal(explorer.image, neutral)
    assert explorer.set_action_units({4: 1.0}).affect.aus == {4: 1.0}
    assert explorer.au_sliders[12].value == 0.0


def _upload(explorer, name: str, data: bytes) -> None:
    """What FileUpload holds once the browser sent a file."""
    modified = dt.datetime.now(dt.UTC)
    item = {
        "name": name,
        "type": "image/png",
        "size": len(data),
        "content": memoryview(data),
        "last_modified": modified,
    }
    explorer.upload.value = (item,)


def test_an_uploaded_photo_without_a_face_is_a_message_in_the_status_not_a_traceback(explorer, capsys):
    shown = explorer.image.copy()
    blank = io.BytesIO()
    Image.new("RGB", (200, 160), (200, 180, 160)).save(blank, format="PNG")
    _upload(explorer, "wall.png", blank.getvalue())
    assert "wall.png: no face found" in explorer.status.value and "still editing lenna.png" in explorer.status.value
    _upload(explorer, "notes.png", b"not an image")
    assert "notes.png: not an image file" in explorer.status.value
    assert np.array_equal(explorer.image, shown)
    assert "Traceback" not in capsys.readouterr().err


def test_an_uploaded_photo_is_edited_and_a_face_chooser_lists_several_faces(explorer):
    takeo = open(mio.data_path_to("takeo.ppm"), "rb").read()
    _upload(explorer, "takeo.ppm", takeo)
    assert explorer.session.name == "takeo.ppm" and "takeo.ppm" in explorer.status.value
    assert explorer.image.shape[:2] == np.asarray(Image.open(io.BytesIO(takeo))).shape[:2]
    assert explorer.face_chooser.layout.display == "none"  # one face: nothing to choose
    pair = np.concatenate([np.asarray(Image.open(io.BytesIO(takeo)).convert("RGB"))] * 2, axis=1)
    assert explorer.load_photo(pair, "twins.png") == 2
    assert explorer.face_chooser.layout.display == "flex" and len(explorer.face_chooser.options) == 2
    explorer.face_chooser.value = 1
    explorer.wait()
    assert explorer.session.face == 1
    changed = np.any(explorer.image != pair, axis=2)
    assert changed[:, pair.shape[1] // 2 :].any() and not changed[:, : pair.shape[1] // 2].any()
