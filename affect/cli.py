"""The ``affect`` command line: one subcommand per capability of the kit.

Heavy libraries (torch, dlib, menpo) are imported inside the handlers, so ``affect --help``
answers at once. Errors a user can act on are printed as one line,
``affect: error: <file>: <problem>``, with exit status 1; usage errors exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from affect import __version__, affect_model, augmentation, bench, gallery_proxy, landmarks, synthesis

PROFILES = ("smoke", "default", "paper")
DATA_SOURCES = ("proxy", "real")


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=PROFILES, default="default",
                        help="scale of the run: smoke (seconds, CI), default (a laptop CPU), "
                             "paper (the paper's scale, GPU); default: %(default)s")
    parser.add_argument("--data-source", choices=DATA_SOURCES, default="proxy",
                        help="proxy: stand-in databases written by the kit; real: the licensed "
                             "databases under data/ (see data/README.md); default: %(default)s")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default: %(default)s)")


def _reproduce(args: argparse.Namespace) -> None:
    from affect import pipeline

    pipeline.reproduce(
        profile=args.profile, data_source=args.data_source, seed=args.seed, device=args.device,
        only=args.only, reuse_results=args.reuse_results,
        notebooks_dir=args.notebooks, reports_dir=args.reports,
    )


def _fit(args: argparse.Namespace) -> None:
    from affect.reconstruction import reconstruct

    recon = reconstruct(args.photo, landmarks=args.landmarks, detector=args.detector)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    recon.fit.save(output)
    print(f"{output}: fitted {recon.model.name} to {args.photo} "
          f"(landmark error {recon.fit.landmark_error_iod:.3f} of the inter-ocular distance)")


def _expression_weights(pairs: list[str]) -> dict[str, float]:
    weights = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        try:
            weights[name] = float(value) if sep else 1.0
        except ValueError:
            raise ValueError(f"--expression {pair}: the weight must be a number, as in jawOpen=0.5") from None
    return weights


def _render(args: argparse.Namespace) -> None:
    import numpy as np

    from affect.fitting import Fit
    from affect.image import read_image, write_image
    from affect.reconstruction import reconstruct, render_affect

    fit = Fit.load(args.fit)
    recon = reconstruct(args.photo, fit=fit)
    model = recon.model
    try:
        weights = model.expression_vector(_expression_weights(args.expression))
    except (KeyError, ValueError) as error:
        raise ValueError(f"--expression: {str(error).strip(chr(39))}") from None
    delta = np.tensordot(weights, model.expression_basis, axes=1) if weights.any() else None
    result = render_affect(read_image(args.photo), recon, delta, blend=not args.no_blend)
    print(write_image(args.output, result.image))


def _data_proxy(args: argparse.Namespace) -> None:
    from affect.datasets import NAMES
    from affect.datasets.proxy import ensure_proxy

    from affect import data_paths

    names = list(NAMES) if args.name == "all" else [args.name]
    if not set(names) <= set(NAMES):
        raise ValueError(f"{args.name}: unknown database; known: all, {', '.join(NAMES)}")
    root = Path(args.root) if args.root else data_paths.database_root(names[0], "proxy", args.profile).parent
    for name in names:
        existed = (root / name).exists()
        print(f"{name}: {'kept' if existed and not args.overwrite else 'writing'} ...", flush=True)
        path = ensure_proxy(name, root, args.profile, args.seed, scale=args.scale, overwrite=args.overwrite)
        print(f"{path}: ready")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``affect`` with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="affect",
        description="Facial affect synthesis and data augmentation, after Kollias et al., "
                    "'Deep Neural Network Augmentation: Generating Faces for Affect Analysis' (IJCV 2020).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    reproduce = commands.add_parser(
        "reproduce", help="run the numbered notebooks with papermill and rebuild reports/",
        description="Run notebooks/NN_*.ipynb in order into reports/notebooks/ and regenerate "
                    "reports/README.md. A failing notebook stops the run with its name and error.")
    _add_run_options(reproduce)
    reproduce.add_argument("--only", metavar="NN", action="append",
                           help="run only notebook NN (e.g. 04); repeatable")
    reproduce.add_argument("--reuse-results", action="store_true",
                           help="redraw tables and figures from saved results instead of recomputing")
    reproduce.add_argument("--notebooks", default="notebooks", help="notebook folder (default: %(default)s)")
    reproduce.add_argument("--reports", default="reports", help="report folder (default: %(default)s)")
    reproduce.set_defaults(handler=_reproduce)

    landmarks.add_subparser(commands)
    augmentation.add_subparser(commands)
    gallery_proxy.add_subparser(commands)
    affect_model.add_subparser(commands)
    synthesis.add_subparser(commands)
    bench.add_subparser(commands)

    data = commands.add_parser("data", help="stand-in databases in the real on-disk formats")
    data_commands = data.add_subparsers(title="data commands", metavar="COMMAND", required=True)
    proxy = data_commands.add_parser(
        "proxy", help="write a stand-in copy of a database that its loader reads unchanged",
        description="Write a stand-in copy of database NAME (or all) under ROOT/NAME, in the real "
                    "database's folders, file names and annotation formats, with faces rendered from "
                    "the kit's 3D face model. Sizes follow Table 1 times the profile's scale.")
    proxy.add_argument("name", help="database name, or 'all'")
    proxy.add_argument("--root", default=None,
                       help="parent folder (default: data/proxy-PROFILE, where the notebooks look)")
    proxy.add_argument("--profile", choices=PROFILES, default="default",
                       help="sizes: smoke (tens of images), default (up to a few thousand per database), "
                            "paper (Table 1's sizes); default: %(default)s")
    proxy.add_argument("--scale", type=float, help="fraction of Table 1's size (overrides the profile)")
    proxy.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    proxy.add_argument("--overwrite", action="store_true", help="write databases that already exist again")
    proxy.set_defaults(handler=_data_proxy)

    fit = commands.add_parser(
        "fit", help="fit the 3D face model to a photo and save the fit (.npz)",
        description="Detect the face and its 68 landmarks (or read them from --landmarks), fit "
                    "the morphable model (paper Sec. 4.1, 4.2) and save identity, expression "
                    "and camera to FIT.npz. One fit serves any number of new affects.")
    fit.add_argument("photo", help="image file with a face")
    fit.add_argument("--landmarks", metavar="PTS", help="iBUG .pts file with the 68 landmarks (skips detection)")
    fit.add_argument("--detector", choices=("hog", "cnn"), default="hog", help="face detector (default: %(default)s)")
    fit.add_argument("-o", "--output", required=True, metavar="FIT.npz", help="where to save the fit")
    fit.set_defaults(handler=_fit)

    render = commands.add_parser(
        "render", help="render a saved fit back into its photo, optionally with blendshape weights",
        description="Sample the photo's texture at the fitted face, deform the face by the given "
                    "expression blendshapes (s_new = s_orig + delta_s, paper Sec. 4.3), render "
                    "it into the photo and Poisson-blend it (Sec. 4.4). Without --expression, the "
                    "undeformed face is rendered: the result should look like the photo.")
    render.add_argument("photo", help="the photo the fit was made from")
    render.add_argument("fit", metavar="FIT.npz", help="a fit saved by 'affect fit'")
    render.add_argument("--expression", metavar="NAME=WEIGHT", nargs="+",
                        help="blendshape weights in [0, 1], e.g. jawOpen=0.5 mouthSmile_L=0.8")
    render.add_argument("--no-blend", action="store_true", help="paste the rendering instead of blending it")
    render.add_argument("-o", "--output", required=True, metavar="OUT.png", help="output image (.png or .jpg)")
    render.set_defaults(handler=_render)
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
    except KeyboardInterrupt:
        print("affect: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
