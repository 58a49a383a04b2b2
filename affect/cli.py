"""The ``affect`` command line: one subcommand per capability of the kit.

All argument parsing of the kit lives here; every subcommand is built the same way (a
``_add_<command>`` function that declares its options and points at a ``_<command>``
handler, which calls the package). Heavy libraries (torch, dlib, menpo) are imported inside
the handlers, so ``affect --help`` answers at once. Errors a user can act on are printed as
one line, ``affect: error: <file>: <problem>``, with exit status 1; usage errors exit with
status 2.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from affect import __version__, data_paths, profiles
from affect.vocabulary import DETECTORS, SOURCES

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")  # what the image writer is given by the commands


def _suffix_list(suffixes: Sequence[str]) -> str:
    """'.png, .jpg or .jpeg'."""
    return f"{', '.join(suffixes[:-1])} or {suffixes[-1]}" if len(suffixes) > 1 else suffixes[0]


# --- shared options ------------------------------------------------------------------------


def _add_profile(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    parser.add_argument(
        "--profile",
        choices=profiles.NAMES,
        default="default",
        help=help
        or "scale of the run: smoke (seconds, CI), default (a laptop CPU), "
        "paper (the paper's scale, GPU); default: %(default)s",
    )


def _add_seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")


def _add_detector(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--detector",
        choices=DETECTORS,
        default="hog",
        help="hog: fast on CPU; cnn: more robust, seconds per megapixel on CPU (default: %(default)s)",
    )


def _add_affect_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--affect-model",
        metavar="FILE.npz",
        default=None,
        help="affect model built by 'affect affect-model' (default: $AFFECT_MODEL, "
        "else the default stand-in gallery's model under the data folder)",
    )


def _add_overwrite_input(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--overwrite", action="store_true", help="allow -o to name an input file, which is then replaced"
    )


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist yet
        return first.absolute() == second.absolute()


def _check_output(
    output: str | os.PathLike,
    inputs: dict[str, str | None] | None = None,
    *,
    overwrite: bool = False,
    folder: bool = False,
) -> Path:
    """Refuse, before any work, an output that cannot be written or that would replace an input."""
    from affect.files import check_writable

    output = Path(output)
    for role, given in (inputs or {}).items():
        if given is not None and not overwrite and _same_file(output, Path(given)):
            raise ValueError(f"{output}: is the input {role}; choose another -o or add --overwrite")
    return check_writable(output, folder=folder)


def _command(
    commands, name: str, handler: Callable[[argparse.Namespace], object], help: str, description: str
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help, description=description)
    parser.set_defaults(handler=handler)
    return parser


# --- reproduce -----------------------------------------------------------------------------


def _weights_setting(tokens: list[str] | None) -> str | None:
    """``--weights`` of ``reproduce`` as one setting (:func:`affect.learning.pretrained.parse_weights`):
    one file, ``imagenet`` or NAME=SOURCE pairs, files made absolute for the notebooks."""
    from affect.learning.pretrained import parse_weights

    return (str(parse_weights(" ".join(tokens))) or None) if tokens else None


def _network_weights(value: str | None, network: str) -> str | None:
    """``--weights`` of ``train``: the file (which must fit the network) or ``imagenet``."""
    from affect.learning.pretrained import IMAGENET, parse_weights

    if value is None or value == IMAGENET:
        return value
    weights = parse_weights(value)
    return weights.file or weights.source(network)


def _reproduce(args: argparse.Namespace) -> None:
    from affect import pipeline

    pipeline.reproduce(
        profile=args.profile,
        data_source=args.data_source,
        seed=args.seed,
        device=args.device,
        only=args.only,
        reuse_results=args.reuse_results,
        gallery_source=args.gallery_source,
        weights=_weights_setting(args.weights),
        notebooks_dir=args.notebooks,
        reports_dir=args.reports,
    )


def _add_reproduce(commands) -> None:
    parser = _command(
        commands,
        "reproduce",
        _reproduce,
        help="run the numbered notebooks with papermill and rebuild reports/",
        description="Run notebooks/NN_*.ipynb in order into reports/notebooks/ and "
        "regenerate reports/README.md. A failing notebook stops the run "
        "with its name and error. With real data, notebooks whose folders are "
        "missing under the data folder are skipped and listed (data/README.md).",
    )
    _add_profile(parser)
    parser.add_argument(
        "--data-source",
        choices=SOURCES,
        default="proxy",
        help="proxy: stand-in databases written by the kit; real: the licensed "
        "databases under data/ (see data/README.md); default: %(default)s",
    )
    _add_seed(parser)
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default: %(default)s)")
    parser.add_argument(
        "--gallery-source",
        choices=SOURCES,
        default="proxy",
        help="whose affect model synthesizes the faces of Tables 2 to 9: proxy (the kit's "
        "stand-in gallery) or real (a VA-annotated 4DFAB under data/4dfab); "
        "default: %(default)s",
    )
    parser.add_argument(
        "--weights",
        metavar="FILE|NAME=SOURCE",
        nargs="+",
        default=None,
        help="pretrained weights of the networks of Tables 2 to 9 (any profile; a network that gets them is "
        "built at full width): one file (a converted "
        "VGG-Face or torchvision ImageNet file, for the networks it fits), 'imagenet' (torchvision's "
        "ImageNet weights), or NAME=SOURCE pairs, e.g. vggface=vgg_face.pth resnet_gru=imagenet "
        f"alexnet=imagenet (NAME one of {', '.join(NETWORKS)}); default: from scratch",
    )
    parser.add_argument("--only", metavar="NN", action="append", help="run only notebook NN (e.g. 04); repeatable")
    parser.add_argument(
        "--reuse-results",
        action="store_true",
        help="redraw tables and figures from saved results instead of recomputing",
    )
    parser.add_argument("--notebooks", default="notebooks", help="notebook folder (default: %(default)s)")
    parser.add_argument("--reports", default="reports", help="report folder (default: %(default)s)")


# --- the face engine (Sec. 4.1 to 4.4) -----------------------------------------------------


def _landmarks(args: argparse.Namespace) -> None:
    from affect.face.landmarks import landmarks_for, write_pts

    output = Path(args.output) if args.output else Path(args.photo).with_suffix(".pts")
    _check_output(output, {"photo": args.photo}, overwrite=args.overwrite)
    points = landmarks_for(args.photo, detector=args.detector)
    print(write_pts(output, points))


def _add_landmarks(commands) -> None:
    parser = _command(
        commands,
        "landmarks",
        _landmarks,
        help="detect the 68 iBUG landmarks of the main face and save them as .pts",
        description="Detect the most confident face in PHOTO with dlib and write its 68 "
        "iBUG landmarks as a 300-W .pts file (1-based x y per line).",
    )
    parser.add_argument("photo", help="image file with a face")
    parser.add_argument("-o", "--output", help="output .pts file (default: PHOTO with suffix .pts)")
    _add_overwrite_input(parser)
    _add_detector(parser)


def _fit(args: argparse.Namespace) -> None:
    from affect.face.reconstruction import reconstruct

    output = _check_output(args.output)
    if output.suffix.lower() != ".npz":
        raise ValueError(f"{output}: a fit is saved as .npz; name it FIT.npz")
    recon = reconstruct(args.photo, landmarks=args.landmarks, detector=args.detector)
    recon.fit.save(output)
    print(
        f"{output}: fitted {recon.model.name} to {args.photo} "
        f"(landmark error {recon.fit.landmark_error_iod:.3f} of the inter-ocular distance)"
    )


def _add_fit(commands) -> None:
    parser = _command(
        commands,
        "fit",
        _fit,
        help="fit the 3D face model to a photo and save the fit (.npz)",
        description="Detect the face and its 68 landmarks (or read them from --landmarks), "
        "fit the morphable model (paper Sec. 4.1, 4.2) and save identity, "
        "expression and camera to FIT.npz. One fit serves any number of new affects.",
    )
    parser.add_argument("photo", help="image file with a face")
    parser.add_argument("--landmarks", metavar="PTS", help="iBUG .pts file with the 68 landmarks (skips detection)")
    _add_detector(parser)
    parser.add_argument("-o", "--output", required=True, metavar="FIT.npz", help="where to save the fit")


def _expression_weights(pairs: list[str]) -> dict[str, float]:
    """Blendshape weights from NAME=WEIGHT pairs: each name once, each weight in [0, 1]."""
    weights = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--expression {pair}: give NAME=WEIGHT, as in jawOpen=0.5")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"--expression {pair}: expected a number as the weight, as in jawOpen=0.5") from None
        if not 0.0 <= weight <= 1.0:  # also refuses NaN
            raise ValueError(f"--expression {pair}: expected a weight in [0, 1]")
        if name in weights:
            raise ValueError(f"--expression: {name} is given twice")
        weights[name] = weight
    return weights


def _render(args: argparse.Namespace) -> None:
    import numpy as np

    from affect.face.fitting import Fit
    from affect.face.reconstruction import reconstruct, render_affect
    from affect.image import read_image, write_image

    output = _check_output(args.output, {"photo": args.photo, "fit": args.fit}, overwrite=args.overwrite)
    if output.suffix.lower() not in _IMAGE_SUFFIXES:
        raise ValueError(f"{output}: the output is an image; name it {_suffix_list(_IMAGE_SUFFIXES)}")
    requested = _expression_weights(args.expression)
    fit = Fit.load(args.fit)
    recon = reconstruct(args.photo, fit=fit)
    model = recon.model
    try:
        weights = model.expression_vector(requested)
    except (KeyError, ValueError) as error:
        raise ValueError(f"--expression: {str(error).strip(chr(39))}") from None
    delta = np.tensordot(weights, model.expression_basis, axes=1) if weights.any() else None
    result = render_affect(read_image(args.photo), recon, delta, blend=not args.no_blend)
    print(write_image(output, result.image))


def _add_render(commands) -> None:
    parser = _command(
        commands,
        "render",
        _render,
        help="render a saved fit back into its photo, optionally with blendshape weights",
        description="Sample the photo's texture at the fitted face, deform the face by the "
        "given expression blendshapes (s_new = s_orig + delta_s, paper Sec. 4.3), "
        "render it into the photo and Poisson-blend it (Sec. 4.4). Without "
        "--expression, the undeformed face is rendered: the result should look "
        "like the photo.",
    )
    parser.add_argument("photo", help="the photo the fit was made from")
    parser.add_argument("fit", metavar="FIT.npz", help="a fit saved by 'affect fit'")
    parser.add_argument(
        "--expression",
        metavar="NAME=WEIGHT",
        nargs="+",
        help="blendshape weights in [0, 1], e.g. jawOpen=0.5 mouthSmile_L=0.8",
    )
    parser.add_argument("--no-blend", action="store_true", help="paste the rendering instead of blending it")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.png", help="output image (.png, .jpg or .jpeg)")
    _add_overwrite_input(parser)


# --- the gallery and the affect model (Sec. 3, 4.5) ----------------------------------------


def _gallery_build(args: argparse.Namespace) -> None:
    from affect.gallery.proxy import write_proxy_gallery
    from affect.run import profile_named

    root = write_proxy_gallery(args.root, profile_named(args.profile), seed=args.seed)
    print(f"wrote stand-in gallery ({args.profile}, seed {args.seed}) to {root}")


def _gallery_export(args: argparse.Namespace) -> None:
    from affect.gallery.fourdfab import export_meshes, load_gallery

    out = export_meshes(
        load_gallery(args.root), args.out, subjects=args.subject, fmt=args.format, apex=not args.no_apex
    )
    print(f"exported meshes to {out}")


def _add_gallery(commands) -> None:
    parser = commands.add_parser(
        "gallery",
        help="write or export the VA-annotated 4D face gallery (Sec. 3)",
        description="Work with the VA-annotated 4D face gallery of Sec. 3: 'build' writes the "
        "procedural stand-in for 4DFAB; 'export' writes its meshes as .obj or .npz.",
    )
    actions = parser.add_subparsers(title="gallery commands", metavar="ACTION", required=True)
    build = _command(
        actions,
        "build",
        _gallery_build,
        help="write the stand-in gallery (resumable)",
        description="Write the stand-in 4D gallery as model coefficients. Re-running with "
        "the same options resumes an interrupted write.",
    )
    _add_profile(
        build,
        help="size: smoke, default, or paper (180 subjects, 1,580 sequences, ~600,000 frames); default: %(default)s",
    )
    build.add_argument("--root", required=True, help="destination folder, e.g. data/4dfab_proxy")
    _add_seed(build)
    export = _command(
        actions,
        "export",
        _gallery_export,
        help="write a gallery's meshes as .obj or .npz files",
        description="Write the meshes of (some subjects of) a gallery into a new gallery folder with mesh storage.",
    )
    export.add_argument("--root", required=True, help="the gallery folder to read")
    export.add_argument("--out", required=True, help="destination folder")
    export.add_argument("--subject", action="append", help="subject to export; repeatable (default: all)")
    export.add_argument("--format", choices=("obj", "npz"), default="obj", help="mesh format (default: %(default)s)")
    export.add_argument("--no-apex", action="store_true", help="leave out the posed apex meshes")


def _affect_model(args: argparse.Namespace) -> None:
    from affect.gallery.affect_model import build_affect_model
    from affect.gallery.fourdfab import load_gallery

    gallery_folder = Path(args.gallery) if args.gallery else data_paths.gallery_root("proxy", "default")
    gallery = load_gallery(gallery_folder)
    model = build_affect_model(gallery, args.classes, sparse_components=args.sparse_components, seed=args.seed)
    output = Path(args.output) if args.output else gallery_folder / data_paths.AFFECT_MODEL_FILE.format(seed=args.seed)
    model.save(output)
    print(
        f"{output}: {model.n_classes} VA classes from {len(gallery.frames)} frames, "
        f"{len(model.expression_names)} basic expressions"
    )


def _add_affect_model_command(commands) -> None:
    from affect.gallery.va_classes import N_CLASSES

    parser = _command(
        commands,
        "affect-model",
        _affect_model,
        help="build the affect model (VA-class and expression mean faces) from a gallery",
        description="Cluster the gallery's VA labels into Ward classes and average the "
        "deformations of each class and of each basic expression's apex meshes "
        "(paper Sec. 4.5.1). The result is what 'affect synthesize' adds to a face.",
    )
    parser.add_argument(
        "--gallery",
        default=None,
        help="gallery folder written by 'affect gallery build' "
        "(default: the default stand-in gallery under the data folder)",
    )
    parser.add_argument("-o", "--output", help="output .npz (default: the affect model file in the gallery folder)")
    parser.add_argument(
        "--classes", type=int, default=N_CLASSES, help="number of VA classes (default: %(default)s, as in the paper)"
    )
    parser.add_argument(
        "--sparse-components",
        type=int,
        default=0,
        help="also fit a sparse blendshape model with this many components to each "
        "basic expression (Sec. 4.5.3); slow; default: %(default)s (none)",
    )
    _add_seed(parser)


# --- synthesis (Sec. 4.5.2) ------------------------------------------------------------------

_SEQUENCE_SUFFIXES = (".gif", ".mp4")
# Everyday words for the six basic expressions, accepted by --expression in any case.
_EXPRESSION_SYNONYMS = {
    "happy": "happiness",
    "joy": "happiness",
    "angry": "anger",
    "sad": "sadness",
    "surprised": "surprise",
    "scared": "fear",
    "afraid": "fear",
    "fearful": "fear",
    "disgusted": "disgust",
}


def _basic_expression(name: str, known: Sequence[str]) -> str:
    """The basic expression a user's word names (any case, or a synonym such as 'happy')."""
    word = name.strip().lower()
    word = _EXPRESSION_SYNONYMS.get(word, word)
    if word not in known:
        raise ValueError(
            f"--expression: {name!r} is not one of {', '.join(known)} "
            f"(synonyms such as happy, angry or sad are accepted too)"
        )
    return word


def _describe(result, measured: bool = True) -> str:
    if isinstance(result.target, str):
        what = result.target
    else:
        what = f"valence {result.target[0]:+.2f}, arousal {result.target[1]:+.2f} (VA class {result.va_class})"
    if not measured:
        return f"{what}, identity not measured (sampled)"
    return f"{what}, identity distance {result.identity_distance:.3f}"


def _face_choice(value: str, landmarks) -> str | int:
    """--face as 'largest', 'all' or a face number from 1; one face when landmarks are given."""
    which = value.strip().lower()
    if which not in ("largest", "all"):
        if not which.isdigit() or int(which) < 1:
            raise ValueError(f"--face {value}: expected largest, all or a face number (1 = leftmost)")
        which = int(which)
    if landmarks is not None and which != "largest":
        raise ValueError("--face: --landmarks gives the points of one face; leave --face out")
    return which


def _chosen_faces(photo: str, pixels, which: str | int, detector: str):
    """Detect every face, say how many and which are edited, and return their landmarks (F, 68, 2)."""
    import numpy as np

    from affect.face.landmarks import FaceNotFoundError, detect_faces, detect_landmarks

    faces = sorted(detect_faces(pixels, detector=detector, all_faces=True), key=lambda f: (f.box[0], f.box[1]))
    if not faces:
        raise FaceNotFoundError(photo, f"no face found by the {detector} detector")
    if which == "all":
        chosen = list(range(len(faces)))
    elif which == "largest":
        chosen = [max(range(len(faces)), key=lambda k: faces[k].width * faces[k].height)]
    elif which > len(faces):
        raise ValueError(f"--face {which}: {photo} has {len(faces)} face{'s' * (len(faces) != 1)}")
    else:
        chosen = [which - 1]
    where = ", ".join(
        f"face {k + 1} at ({faces[k].box[0]}, {faces[k].box[1]}), {faces[k].width}x{faces[k].height} px" for k in chosen
    )
    what = {"all": "all: ", "largest": "the largest, "}.get(which, "")
    print(
        f"{photo}: {len(faces)} face{'s' * (len(faces) != 1)} found (numbered from the left); editing {what}{where}",
        flush=True,
    )
    return np.stack([detect_landmarks(pixels, faces[k]) for k in chosen])


def _synthesize(args: argparse.Namespace) -> None:
    from affect.image import read_image, write_image
    from affect.synthesis import AffectSynthesizer, check_intensity, identity_frames
    from affect.va_paths import read_va_path
    from affect.video import write_sequence
    from affect.vocabulary import BASIC_EXPRESSIONS

    output = Path(args.output)
    if args.path is None:
        if output.suffix.lower() not in _IMAGE_SUFFIXES:
            raise ValueError(
                f"{output}: --va, --expression and --au write one image; name it {_suffix_list(_IMAGE_SUFFIXES)}"
            )
    elif output.suffix and output.suffix.lower() not in _SEQUENCE_SUFFIXES:
        raise ValueError(f"{output}: --path writes a .gif, an .mp4 or a folder (no suffix)")
    frame_folder = args.path is not None and not output.suffix
    _check_output(
        output,
        {"photo": args.image, "landmarks": args.landmarks, "VA path": args.path, "affect model": args.affect_model},
        overwrite=args.overwrite,
        folder=frame_folder,
    )
    earlier = sorted(output.glob("frame_*.png")) if frame_folder and output.is_dir() else []
    if earlier and not args.overwrite:
        raise ValueError(
            f"{output}: holds {len(earlier)} frames of an earlier run; choose another -o "
            "or add --overwrite to replace them"
        )
    for label, value in zip(("valence", "arousal"), args.va or ()):
        if not abs(value) <= 1.0:  # also refuses NaN
            raise ValueError(f"--va: {label} {value:g} is outside [-1, 1]")
    expression = None if args.expression is None else _basic_expression(args.expression, BASIC_EXPRESSIONS)
    if not (args.fps > 0 and math.isfinite(args.fps)):  # also refuses NaN
        raise ValueError(f"--fps: expected a positive number, got {args.fps!r}")
    path = read_va_path(args.path) if args.path is not None else None
    if isinstance(args.identity_every, bool) or args.identity_every < 1:
        raise ValueError(f"--identity-every: expected a whole number >= 1, got {args.identity_every}")
    aus = _action_units(args.au) if args.au is not None else None
    check_intensity(args.intensity, "--intensity")
    if aus is not None and args.intensity != 1.0:
        raise ValueError("--intensity: give each action unit its own intensity with --au (e.g. 4=1.5)")
    which = _face_choice(args.face, args.landmarks)
    pixels = read_image(args.image)  # a missing or broken photo is reported before the models load
    synthesizer = AffectSynthesizer.from_file(
        args.affect_model, detector=args.detector, keep_expression=args.keep_expression
    )
    landmarks = (
        args.landmarks if args.landmarks is not None else _chosen_faces(args.image, pixels, which, args.detector)
    )
    if path is not None:
        frames = synthesizer.iter_temporal(
            args.image, path, landmarks=landmarks, intensity=args.intensity, identity_every=args.identity_every
        )
        measured = identity_frames(len(path), args.identity_every)

        def images():  # streamed: each frame is written (or encoded) as soon as it is made
            for index, frame in enumerate(frames):
                print(f"frame {index}: {_describe(frame, measured=index in measured)}", flush=True)
                yield frame.image

        print(write_sequence(images(), output, fps=args.fps))
        print(
            f"identity measured on frames {', '.join(map(str, measured))} "
            f"(the first, the last and one in every {args.identity_every}; --identity-every)"
        )
        if frame_folder:  # frames past this run's last one are left from a longer earlier run
            for stale in output.glob("frame_*.png"):
                if stale.stem[len("frame_") :].isdigit() and int(stale.stem[len("frame_") :]) >= len(path):
                    stale.unlink()
        return
    if args.va is not None:
        result = synthesizer.static(args.image, args.va, landmarks=landmarks, intensity=args.intensity)
    elif aus is not None:
        result = synthesizer.action_units(args.image, aus, landmarks=landmarks)
    else:
        result = synthesizer.basic(args.image, expression, landmarks=landmarks, intensity=args.intensity)
    print(f"{write_image(output, result.image)}: {_describe(result)}")


def _action_units(items: list[str]) -> dict[int, float]:
    """``['4=1.0', '7=0.6']`` as ``{4: 1.0, 7: 0.6}``; a one-line error names the bad item."""
    from affect.gallery.affect_mapping import ACTION_UNITS
    from affect.synthesis import MAX_INTENSITY

    aus: dict[int, float] = {}
    for item in items:
        number, _, value = item.partition("=")
        try:
            au, intensity = int(number.strip().upper().removeprefix("AU")), float(value)
        except ValueError:
            raise ValueError(f"--au: {item!r} is not AU=INTENSITY (e.g. 4=1.0)") from None
        if au not in ACTION_UNITS:
            raise ValueError(f"--au: AU{au} is not supported; supported: {', '.join(map(str, ACTION_UNITS))}")
        if not 0.0 <= intensity <= MAX_INTENSITY:  # also refuses NaN
            raise ValueError(f"--au: expected the intensity of AU{au} in [0, {MAX_INTENSITY:g}], got {value}")
        aus[au] = intensity
    return aus


def _add_synthesize(commands) -> None:
    from affect.synthesis import DEFAULT_FPS, PATH_IDENTITY_EVERY

    parser = _command(
        commands,
        "synthesize",
        _synthesize,
        help="add a VA point, a VA path or a basic expression to a face photo",
        description="Fit the 3D face model to the face in IMAGE once, add the mean face of the "
        "chosen affect (paper Sec. 4.5.2: the VA class of --va, each point of "
        "--path, or a basic --expression), render it back and Poisson-blend it. "
        "Prints the identity distance of each output (below 0.6: same person).",
    )
    parser.add_argument("image", help="photo with a face")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--va", nargs=2, type=float, metavar=("V", "A"), help="valence and arousal in [-1, 1] (static synthesis)"
    )
    target.add_argument(
        "--expression",
        metavar="NAME",
        help="anger, disgust, fear, happiness, sadness or surprise (any case; happy, "
        "joy, angry, sad, surprised, scared, afraid and disgusted are understood)",
    )
    target.add_argument(
        "--path", metavar="PATH.csv", help="CSV of valence,arousal rows, header optional (temporal synthesis)"
    )
    target.add_argument(
        "--au",
        nargs="+",
        metavar="AU=I",
        help="action units and their intensities in [0, 2], e.g. --au 4=1.0 7=0.6 23=0.8 "
        "(FACS; the README lists the supported AUs)",
    )
    parser.add_argument(
        "--intensity",
        type=float,
        default=1.0,
        help="scale of the affect's movement for --va, --expression and --path, in [0, 2] "
        "(default: %(default)s; 0 is the photo's neutral face)",
    )
    parser.add_argument("--landmarks", metavar="FILE.pts", help="the face's 68 landmarks (skips detection)")
    parser.add_argument(
        "--face",
        default="largest",
        metavar="WHICH",
        help="which face of a photo with several to edit: largest (default), all, or its "
        "number N, counted from the left; the command prints how many it found",
    )
    parser.add_argument(
        "--keep-expression",
        action="store_true",
        help="add the affect on top of the photo's own expression (as the paper does with "
        "neutral photos); by default the photo's fitted expression is removed first, "
        "so a smiling photo can be made sad",
    )
    _add_affect_model(parser)
    _add_detector(parser)
    parser.add_argument(
        "--fps", type=float, default=DEFAULT_FPS, help="frame rate of a .gif/.mp4 (default: %(default)s)"
    )
    parser.add_argument(
        "--identity-every",
        type=int,
        default=PATH_IDENTITY_EVERY,
        metavar="N",
        help="with --path, measure the identity distance on the first and last frames and every N-th "
        "(1: every frame; default: %(default)s)",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="a .png or .jpg for --va/--expression; a .gif, .mp4 or folder for --path",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="allow -o to name an input file, or a frame folder of an earlier run, which is then replaced",
    )


# --- databases and augmentation (Sec. 5, 6.2) ------------------------------------------------

AGES = "ages"  # `affect data proxy ages`: the stand-in IMDB-WIKI and Adience (Sec. 6.5)


def _data_proxy(args: argparse.Namespace) -> None:
    from affect.datasets import NAMES, PRETRAINING_NAMES
    from affect.datasets.proxy import ensure_proxy
    from affect.run import profile_named

    profile = profile_named(args.profile)
    known = [*NAMES, *PRETRAINING_NAMES, AGES]
    names = known if args.name == "all" else [args.name]
    if not set(names) <= set(known):
        raise ValueError(f"{args.name}: unknown database; known: all, {', '.join(known)}")
    root = Path(args.root) if args.root else data_paths.database_root(names[0], "proxy", args.profile).parent
    for name in names:
        if name == AGES:  # the age databases of Sec. 6.5, IMDB-WIKI and Adience, written together
            from affect.datasets.proxy_ages import ensure_age_proxy

            print(f"{AGES} (imdb_wiki, adience): writing if absent ...", flush=True)
            print(f"{ensure_age_proxy(root, profile, args.seed, overwrite=args.overwrite)}: ready")
            continue
        existed = (root / name).exists()
        print(f"{name}: {'kept' if existed and not args.overwrite else 'writing'} ...", flush=True)
        path = ensure_proxy(name, root, profile, args.seed, scale=args.scale, overwrite=args.overwrite)
        print(f"{path}: ready")


def _add_data(commands) -> None:
    data = commands.add_parser("data", help="stand-in databases in the real on-disk formats")
    actions = data.add_subparsers(title="data commands", metavar="COMMAND", required=True)
    parser = _command(
        actions,
        "proxy",
        _data_proxy,
        help="write a stand-in copy of a database that its loader reads unchanged",
        description="Write a stand-in copy of database NAME (or all) under ROOT/NAME, in the "
        "real database's folders, file names and annotation formats, with faces "
        "rendered from the kit's 3D face model. Sizes follow Table 1 times the "
        "profile's scale.",
    )
    parser.add_argument(
        "name",
        help="database name (a database of Table 1, or fer2013 for Table 8's VGG-FACE-FER), "
        "'ages' (IMDB-WIKI and Adience, Sec. 6.5), or 'all'",
    )
    parser.add_argument(
        "--root", default=None, help="parent folder (default: data/proxy-PROFILE, where the notebooks look)"
    )
    _add_profile(
        parser,
        help="sizes: smoke (tens of images), default (up to a few thousand per "
        "database), paper (Table 1's sizes); default: %(default)s",
    )
    parser.add_argument("--scale", type=float, help="fraction of Table 1's size (overrides the profile)")
    _add_seed(parser)
    parser.add_argument("--overwrite", action="store_true", help="write databases that already exist again")


def _augment(args: argparse.Namespace) -> None:
    from affect.augmentation.augmenters import SynthesizerAugmenter
    from affect.augmentation.build import augment_database
    from affect.augmentation.shards import SKIPPED

    _check_output(args.out, folder=True)
    for option, value in (
        ("--n", args.n),
        ("--jobs", args.jobs),
        ("--identity-every", args.identity_every),
        ("--shards", args.shards),
    ):
        if value is not None and value < 1:
            raise ValueError(f"{option}: expected a positive integer, got {value}")
    shard_set = _shard_set(args.shard) if args.shard is not None else None
    if shard_set is not None and (args.merge or args.overwrite):
        raise ValueError("--shard: cannot be combined with --merge or --overwrite (other shard sets may be running)")
    if args.scheduler and args.engine != "dask":
        raise ValueError("--scheduler: needs --engine dask")
    if args.scheduler:
        from affect.augmentation.engines import check_scheduler

        check_scheduler(args.scheduler)
    if args.method == "proposed":
        if args.generator:
            raise ValueError("--generator: only for --method stargan or ganimation")
        synthesizer = SynthesizerAugmenter.from_file(args.affect_model)  # workers load it from the file
    else:
        from affect.gallery.affect_model import default_affect_model_path
        from affect.learning.gans.augmenter import gan_augmenter
        from affect.run import profile_named

        if args.kind and "expression" in args.kind:
            raise ValueError(f"--kind expression: {args.method} is conditioned on valence and arousal only")
        if args.generator:
            if not Path(args.generator).is_file():
                raise ValueError(f"{args.generator}: no such generator file")
        # Trained on the run's gallery (--profile, --gallery-source, --seed) when no --generator is given.
        synthesizer = gan_augmenter(
            args.method,
            args.affect_model or default_affect_model_path(),
            profile=profile_named(args.profile),
            gallery_source=args.gallery_source,
            seed=args.seed,
            generator=args.generator,
            device=args.device,
            progress=not args.quiet,
        )
    kinds = args.kind or (("va", "expression") if args.method == "proposed" else ("va",))
    manifests = augment_database(
        args.name,
        args.root,
        args.out,
        synthesizer,
        kinds=kinds,
        method=args.method,
        split=args.split,
        n_va=args.n,
        jobs=args.jobs,
        engine=args.engine,
        scheduler=args.scheduler,
        seed=args.seed,
        measure_identity=not args.no_identity,
        identity_every=args.identity_every,
        image_format=args.format,
        n_shards=args.shards,
        shard_set=shard_set,
        merge_only=args.merge,
        progress=not args.quiet,
        overwrite=args.overwrite,
        retry_skipped=args.retry_skipped,
    )
    for kind, manifest in manifests.items():
        folder = Path(args.out) / kind
        line = f"{folder}: {len(manifest)} images"
        if shard_set is not None:
            line += f" in shard set {args.shard}; run with --merge when every set is done"
        if manifest.attrs.get("failed", 0):
            line += f"; {manifest.attrs['failed']} failed, retried on the next run"
        if manifest.attrs.get("skipped_sources", 0):
            listed = folder / SKIPPED if shard_set is None else folder / "shards" / "*" / SKIPPED
            line += (
                f"; {manifest.attrs['skipped_sources']} source photos left out (unreadable or no face), "
                f"listed in {listed}"
            )
        print(line)


def _shard_set(text: str) -> tuple[int, int]:
    """``K/N`` of --shard as (k, n), 0 <= k < n."""
    k, sep, n = text.partition("/")
    if not (sep and k.strip().isdigit() and n.strip().isdigit()) or not 0 <= int(k) < int(n):
        raise ValueError(f"--shard: expected K/N with 0 <= K < N (e.g. 3/16 or $SLURM_ARRAY_TASK_ID/16), got {text!r}")
    return int(k), int(n)


def _train_gan(args: argparse.Namespace) -> None:
    import json

    from affect.learning.gans.training import trained_generator
    from affect.run import profile_named

    path = trained_generator(
        args.method,
        profile=profile_named(args.profile),
        gallery_source=args.gallery_source,
        seed=args.seed,
        device=args.device,
        progress=not args.quiet,
    )
    record = json.loads((path.parent / "gan.json").read_text())
    print(
        f"{path}: {record['iterations']} critic iterations at {record['sizes']['image_size']} px on "
        f"{record['device']} in {record['seconds']:.0f} s (curves: {path.parent / 'curves.png'}; samples: "
        f"{path.parent / 'samples'})"
    )


def _add_train_gan(commands) -> None:
    from affect.augmentation.methods import GAN_METHODS

    parser = _command(
        commands,
        "train-gan",
        _train_gan,
        help="train the StarGAN or GANimation baseline on the gallery's frames (Sec. 6.1.2)",
        description="Render a sample of the gallery's VA-labelled frames into face crops and "
        "train StarGAN or GANimation conditioned on valence and arousal, with the "
        "profile's sizes (paper: 128 px and the originals' iterations, for a GPU). "
        "Resumes an interrupted run; writes checkpoints, curves, sample grids and "
        "generator.pt under data/gans/.",
    )
    parser.add_argument("method", choices=GAN_METHODS)
    _add_profile(parser)
    parser.add_argument(
        "--gallery-source",
        choices=SOURCES,
        default="proxy",
        help="the stand-in gallery or 4DFAB (default: %(default)s)",
    )
    _add_seed(parser)
    parser.add_argument(
        "--device", default="auto", help="auto (a GPU if there is one), cpu, cuda (default: %(default)s)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_augment(commands) -> None:
    from affect.augmentation.engines import ENGINES
    from affect.augmentation.methods import METHODS
    from affect.augmentation.shards import SHARDS
    from affect.augmentation.targets import IMAGE_FORMATS, VA_TARGETS_PER_IMAGE
    from affect.datasets import NAMES

    parser = _command(
        commands,
        "augment",
        _augment,
        help="synthesize affect on a database's neutral faces (Sec. 6.2, Table 1)",
        description="Select the neutral faces of a database, synthesize VA targets over the "
        "gallery's VA classes and the six basic expressions on each, and write the "
        "images with a manifest.csv to OUT/va and OUT/expression. The work is split "
        "into shards by source photo; run the same command again to resume an "
        "interrupted build. On a cluster, run one --shard K/N per job array element "
        "and then --merge once.",
    )
    parser.add_argument("name", choices=NAMES, help="database")
    parser.add_argument("--root", required=True, help="the database's folder")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--kind",
        choices=("va", "expression"),
        action="append",
        help="only this kind of target (repeatable; default: both, as in Table 1; the GANs: va)",
    )
    _add_affect_model(parser)
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="proposed",
        help="the augmenter: the paper's method, or the StarGAN / GANimation baseline "
        "conditioned on VA (Sec. 6.1.2); default: %(default)s",
    )
    parser.add_argument(
        "--generator",
        metavar="FILE.pt",
        default=None,
        help="a GAN's generator.pt from 'affect train-gan' (default: the one of --profile, "
        "--gallery-source and --seed, trained first if absent)",
    )
    _add_profile(parser, help="with a GAN --method and no --generator: the GAN's sizes (default: %(default)s)")
    parser.add_argument(
        "--gallery-source",
        choices=SOURCES,
        default="proxy",
        help="with a GAN --method and no --generator: the gallery it trains on (default: %(default)s)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        help="where a GAN trains: auto (a GPU if there is one), cpu, cuda (default: %(default)s)",
    )
    parser.add_argument(
        "--n", type=int, default=None, help=f"VA targets per neutral image (default: {VA_TARGETS_PER_IMAGE})"
    )
    parser.add_argument(
        "--split", default=None, help="database split to augment (default: train if it has one, else all)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="worker processes (for --engine dask without --scheduler: local workers; default: %(default)s)",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="where the shards run: in this process, a process pool, or Dask distributed "
        "(pip install 'affect-kit[dask]'); default: serial for --jobs 1, else pool",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="a running Dask scheduler (e.g. tcp://node1:8786, or a dask-jobqueue cluster's); "
        "default with --engine dask: a local cluster of --jobs single-threaded workers",
    )
    parser.add_argument(
        "--format",
        choices=IMAGE_FORMATS,
        default=None,
        help="image format: jpg (quality 95, a quarter of PNG's size, 7x faster to encode) "
        "or png (default: the folder's format when resuming, else jpg)",
    )
    _add_seed(parser)
    parser.add_argument(
        "--no-identity", action="store_true", help="do not measure the identity distance of each output"
    )
    parser.add_argument(
        "--identity-every",
        type=int,
        default=1,
        metavar="K",
        help="measure the identity distance on 1 image in K (a seeded sample; the others have "
        "none in the manifest; default: %(default)s, every image)",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=SHARDS,
        help="shards the source photos are split into, fixed per output folder (default: %(default)s)",
    )
    parser.add_argument(
        "--shard",
        metavar="K/N",
        default=None,
        help="run only the shards s with s mod N = K (one job array element, K from 0); "
        "writes no manifest.csv: run --merge when all N are done",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="synthesize nothing: check every shard is done and join them into manifest.csv",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the images of an earlier build into OUT made with another --seed, "
        "--n, --split, --format or database (refused otherwise)",
    )
    parser.add_argument(
        "--retry-skipped",
        action="store_true",
        help="try again the source photos an earlier run left out (listed in OUT/KIND/skipped.csv)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


# --- learning: prepare, train, evaluate (Sec. 6.2) ---------------------------------------

NETWORKS = ("vggface", "vggface_gru", "resnet_gru", "alexnet", "vggface_bu3dfe")  # affect.learning.networks


def _add_database_options(parser: argparse.ArgumentParser) -> None:
    from affect.datasets import NAMES, PRETRAINING_NAMES

    parser.add_argument(
        "--database",
        required=True,
        choices=(*NAMES, *PRETRAINING_NAMES),
        help="database to train and test on (fer2013: Table 8's VGG-FACE-FER pretraining)",
    )
    parser.add_argument(
        "--data-source",
        choices=SOURCES,
        default="proxy",
        help="proxy: the stand-in written by 'affect data proxy NAME --profile PROFILE'; "
        "real: the licensed database under data/ (see data/README.md); default: %(default)s",
    )
    _add_profile(
        parser,
        help="sizes of the networks and training: smoke (seconds), default (minutes on a "
        "laptop CPU), paper (the paper's sizes, GPU); default: %(default)s",
    )
    parser.add_argument(
        "--fold", type=int, default=None, help="cross-validation fold of afew_va and bu3dfe (default: 0)"
    )
    parser.add_argument(
        "--augmented",
        metavar="BUILD",
        default=None,
        help="add the synthesized faces of this 'affect augment' output (its va/ or "
        "expression/ folder, holding manifest.csv) to the training split",
    )
    _add_seed(parser)


def _prepare(args: argparse.Namespace) -> None:
    from affect.learning import runs
    from affect.run import profile_named

    faces, _ = runs.prepare_database(
        args.database,
        args.network,
        profile=profile_named(args.profile),
        data_source=args.data_source,
        seed=args.seed,
        fold=args.fold,
        augmented=args.augmented,
        progress=not args.quiet,
    )
    for split, prepared in faces.items():
        left_out = ", ".join(f"{count} {reason}" for reason, count in sorted(prepared.skipped.items()))
        print(
            f"{prepared.folder}: {split}, {len(prepared)} faces of {prepared.size} px"
            + (left_out and f"; left out {left_out}")
        )


def _add_prepare(commands) -> None:
    parser = _command(
        commands,
        "prepare",
        _prepare,
        help="crop a database's faces once at the profile's size, for training",
        description="Crop every face of a database's train, val and test splits (aligned from "
        "its landmarks, else detected), decode videos once, and cache the crops "
        "under data/prepared/. 'affect train' does this itself; run it ahead to "
        "share the cache between runs. The cache is rebuilt when its inputs change.",
    )
    parser.add_argument(
        "--network",
        choices=NETWORKS,
        default="vggface",
        help="network whose input size to prepare for (default: %(default)s)",
    )
    _add_database_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _train(args: argparse.Namespace) -> None:
    import time

    from affect.learning import runs, training
    from affect.run import profile_named

    start = time.perf_counter()
    run = runs.train(
        args.network,
        args.database,
        args.output,
        profile=profile_named(args.profile),
        data_source=args.data_source,
        task=args.task,
        seed=args.seed,
        device=args.device,
        weights=_network_weights(args.weights, args.network),
        augmented=args.augmented,
        fold=args.fold,
        augment=args.augment,
        weighted_loss=args.weighted_loss,
        landmarks=args.landmarks,
        progress=not args.quiet,
        devices=args.devices,
        strategy=args.strategy,
        num_nodes=args.num_nodes,
    )
    if not training.is_first_process():
        return  # the other processes of a DDP run: the first reports and scores
    print(
        f"{args.output}: trained {run.network} ({run.task}, {run.pretrained}) on {run.database} "
        f"({run.data_source}, profile {run.profile}) in {time.perf_counter() - start:.0f} s"
    )
    if not args.no_evaluate:
        device = "cpu" if args.device == "auto" else args.device
        _print_scores(runs.evaluate_run(args.output, device=device), args.output)


def _print_scores(result, out: str) -> None:
    headline = (
        ("ccc_valence", "ccc_arousal", "ccc_mean")
        if "ccc_mean" in result.scores.index
        else ("accuracy", "f1_macro", "confusion_mean_diagonal")
    )
    unit = result.scores["unit"].iloc[0]
    for name in headline:
        row = result.scores.loc[name]
        print(f"{name} {row.value:.3f} [{row.low:.3f}, {row.high:.3f}] (95 % bootstrap over {unit})")
    print(f"{Path(out) / 'predictions.csv'}: {len(result.predictions)} predictions")


def _add_train(commands) -> None:
    parser = _command(
        commands,
        "train",
        _train,
        help="train a network of Sec. 6.2 on a database, then score its test split",
        description="Train NETWORK on a database's training split (optionally with synthesized "
        "faces) at the profile's sizes, keep checkpoints, curves (metrics.csv) and "
        "run.json in RUN_DIR, then write the test split's predictions.csv and "
        "scores.csv with 95 % bootstrap intervals. Run the same command again to "
        "resume a run that was killed.",
    )
    parser.add_argument(
        "network",
        choices=NETWORKS,
        help="vggface (Tables 4, 6-8), vggface_gru (AffWildNet, Tables 2, 5), resnet_gru "
        "(Table 3), alexnet (AffectNet's baseline), vggface_bu3dfe (Table 9)",
    )
    _add_database_options(parser)
    parser.add_argument(
        "--task",
        choices=("va", "expression"),
        default=None,
        help="valence-arousal or basic expressions (default: va where the database has it)",
    )
    parser.add_argument(
        "--weights",
        metavar="FILE|imagenet",
        default=None,
        help="pretrained weights: a file you hold (a converted VGG-Face state dict or a torchvision "
        "ImageNet file) or 'imagenet' (torchvision's ImageNet weights, fetched into torch's cache), "
        "loaded into the network built at full width; without it the network starts from scratch "
        "at the profile's width",
    )
    parser.add_argument(
        "--augment",
        action="store_true",
        help="on-the-fly augmentation of Table 9 (rotations, flips, resize and crop, brightness and saturation)",
    )
    parser.add_argument("--weighted-loss", action="store_true", help="class-weighted cross-entropy")
    parser.add_argument("--landmarks", action="store_true", help="vggface_gru: landmarks as a second input")
    parser.add_argument(
        "--device", default="auto", help="auto (a GPU if there is one), cpu, gpu or cuda (default: %(default)s)"
    )
    parser.add_argument(
        "--devices",
        type=int,
        default=None,
        metavar="N",
        help="training processes per node: GPUs, or CPU processes with --device cpu (default: every "
        "visible GPU, else one process); the profile's batch is split over all processes",
    )
    parser.add_argument(
        "--strategy",
        default="auto",
        help="ddp (Lightning starts the processes by re-running this command, or SLURM's srun does) or "
        "ddp_spawn (spawned processes); needed with --devices above 1 (default: %(default)s)",
    )
    parser.add_argument("--num-nodes", type=int, default=1, metavar="N", help="machines (default: 1)")
    parser.add_argument("--no-evaluate", action="store_true", help="train only")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("-o", "--output", required=True, metavar="RUN_DIR", help="run folder")


def _evaluate(args: argparse.Namespace) -> None:
    from affect.learning import runs

    if args.bootstrap < 1:
        raise ValueError(f"--bootstrap: expected at least 1 resample, got {args.bootstrap}")
    _print_scores(runs.evaluate_run(args.run_dir, device=args.device, n_bootstrap=args.bootstrap), args.run_dir)


def _add_evaluate(commands) -> None:
    parser = _command(
        commands,
        "evaluate",
        _evaluate,
        help="score a trained run on its test split -> predictions.csv, scores.csv",
        description="Load RUN_DIR's best checkpoint, predict every test sample (every frame of "
        "every video for the recurrent networks) and write predictions.csv (one row "
        "per sample, with its labels) and scores.csv (each criterion of Sec. 6.2 "
        "with a 95 % bootstrap interval over test subjects or videos).",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by 'affect train'")
    parser.add_argument(
        "--bootstrap", type=int, default=1000, metavar="N", help="bootstrap resamples (default: %(default)s)"
    )
    parser.add_argument("--device", default="cpu", help="torch device (default: %(default)s)")


# --- benchmark -----------------------------------------------------------------------------


def _bench(args: argparse.Namespace) -> None:
    from affect import bench
    from affect.bench.parts import run_parts

    if args.scale_repeats < 1:  # before the minutes of the other parts
        raise ValueError(f"--scale-repeats: expected at least 1 run, got {args.scale_repeats}")
    result = run_parts(_bench_parts(args), args.out)
    json_path, md_path = Path(args.out) / "bench.json", Path(args.out) / "bench.md"
    if result.timings:
        headline = (
            f"fitting {result.fit_ms:.1f} ms (target <= {bench.FIT_TARGET_MS:g}), one new affect at "
            f"{bench.CROP_SIZE} px {result.one_affect_256_ms:.1f} ms "
            f"({result.one_affect_256_opencv_ms:.1f} ms with OpenCV's seamlessClone) "
            f"(target <= {bench.ONE_AFFECT_256_TARGET_MS:g})"
        )
        if result.eos_fit_ms is not None:
            headline += f", eos {result.eos_fit_ms:.1f} ms ({result.eos_ratio:.2f} x)"
        else:
            print(result.eos_note, file=sys.stderr)
        print(headline)
    for name, entry in (result.quality.get("photos") or {}).items():
        print(
            f"{name}: round trip {entry['round_trip_error']:.2f} grey levels, sharpness "
            f"{entry['sharpness_ratio_min']:.2f} (least over the expressions), colour drift "
            f"{entry['colour_drift_mean']:.2f}, identity distance {entry['identity_distance_mean']:.3f}"
        )
    for name, entry in (result.training.get("networks") or {}).items():
        print(
            f"{name}: training {entry['train_images_per_s']:.0f} img/s, loader "
            f"{entry['loader_images_per_s']:.0f} img/s ({entry['ratio']:.1f} x)"
        )
    if result.explorer_update_ms is not None:
        print(
            f"VA explorer update at 512 px {result.explorer_update_ms:.1f} ms "
            f"(target <= {bench.EXPLORER_UPDATE_TARGET_MS:g})"
        )
    if result.path:
        print(
            f"VA path at 512 px {result.path['path_frames_per_s']:.1f} frames/s "
            f"(target >= {bench.PATH_FRAMES_TARGET_PER_S:g})"
        )
    if result.scale:
        rates = ", ".join(f"{key} {rate:.0f}" for key, rate in result.scale["images_per_s"].items())
        print(f"augmentation images/s: {rates}")
    print(json_path)
    print(md_path)
    if result.failures:
        raise RuntimeError(
            "bench: failed parts (the others' figures are kept): "
            + "; ".join(f"{name}: {error}" for name, error in result.failures.items())
        )


def _bench_parts(args: argparse.Namespace) -> list:
    """The parts of ``affect bench`` that ``args`` asks for, in order (:func:`affect.bench.parts.run_parts`)."""
    from affect import bench

    def engine(result):
        timed = bench.run_benchmark(args.photo, repeats=args.repeats, eos_share=args.eos_share, progress=not args.quiet)
        return replace(timed, failures=result.failures)

    def training(result):
        from affect.bench.throughput import training_benchmark

        return replace(result, training=training_benchmark())

    def scale(result):
        from affect.bench.scaling import scale_benchmark

        return replace(result, scale=scale_benchmark(repeats=args.scale_repeats))

    def explorer(result):
        from affect.explorer.session import median_update_ms
        from affect.synthesis import AffectSynthesizer

        return replace(result, explorer_update_ms=median_update_ms(AffectSynthesizer.from_file()))

    def path(result):
        from affect.bench.path_rate import path_frames_per_s
        from affect.synthesis import AffectSynthesizer

        return replace(result, path=path_frames_per_s(AffectSynthesizer.from_file()))

    # The engines' throughput (scale) runs before the training part, in a process that has not
    # trained networks, as an 'affect augment' process has not: workers are forked from it.
    chosen = {
        "engine": True,
        "scale": not args.skip_scale,
        "training": not args.skip_training,
        "explorer": not args.skip_explorer,
        "path": not args.skip_path,
    }
    parts = {"engine": engine, "scale": scale, "training": training, "explorer": explorer, "path": path}
    return [(name, parts[name]) for name, wanted in chosen.items() if wanted]


def _add_bench(commands) -> None:
    from affect import bench

    parser = _command(
        commands,
        "bench",
        _bench,
        help="time detection, fitting, rendering, blending and training -> DIR/bench.{json,md}",
        description="Time each step of the synthesis engine (paper Sec. 4, Fig. 4) on menpo's "
        "builtin photos at their own size and as 256 x 256 face crops, beside the "
        "paper's figures, and write DIR/bench.json and DIR/bench.md. With eos-py "
        "installed and its model files found, eos' fit_shape_and_pose is timed on "
        "the same landmarks.",
    )
    parser.add_argument("--out", default="reports", metavar="DIR", help="output folder (default: %(default)s)")
    parser.add_argument(
        "--repeats",
        type=int,
        default=bench.DEFAULT_REPEATS,
        metavar="N",
        help="timed runs per stage, photo and size (default: %(default)s)",
    )
    parser.add_argument(
        "--eos-share",
        metavar="DIR",
        help=f"eos' share/ folder with {', '.join(bench.EOS_FILES.values())} "
        f"(default: ${bench.EOS_SHARE_ENV}; eos is skipped without it)",
    )
    parser.add_argument(
        "--photo", action="append", metavar="PATH", help="time this photo instead of menpo's builtin ones; repeatable"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--skip-training",
        action="store_true",
        help="leave out the training and loader throughput of the networks (Sec. 6.2)",
    )
    parser.add_argument(
        "--skip-scale",
        action="store_true",
        help="leave out the augmentation throughput of each engine and the simulated scaling (about four minutes)",
    )
    parser.add_argument(
        "--skip-explorer",
        action="store_true",
        help="leave out the VA explorer's update time on a 512 px photo (explorer_update_ms)",
    )
    parser.add_argument(
        "--skip-path",
        action="store_true",
        help="leave out the frames per second of a VA path on a 512 px photo (path_frames_per_s)",
    )
    parser.add_argument(
        "--scale-repeats",
        type=int,
        default=3,
        metavar="N",
        help="runs of each engine, in turn; the median is reported (default: %(default)s)",
    )


# --- the parser ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``affect`` with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="affect",
        description="Facial affect synthesis and data augmentation, after Kollias et al., "
        "'Deep Neural Network Augmentation: Generating Faces for Affect Analysis' (IJCV 2020).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add in (
        _add_reproduce,
        _add_landmarks,
        _add_fit,
        _add_render,
        _add_gallery,
        _add_affect_model_command,
        _add_synthesize,
        _add_data,
        _add_augment,
        _add_train_gan,
        _add_prepare,
        _add_train,
        _add_evaluate,
        _add_bench,
    ):
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``affect`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        args.handler(args)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"affect: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a full disk, a folder made read-only mid-run: name the file, no traceback
        where = f"{error.filename}: " if error.filename else ""
        print(f"affect: error: {where}{error.strerror or error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("affect: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
