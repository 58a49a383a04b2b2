"""The ``affect`` command line: one subcommand per capability of the kit.

Heavy libraries (torch, dlib, menpo) are imported inside the handlers, so ``affect --help``
answers at once. Errors a user can act on are printed as one line,
``affect: error: <file>: <problem>``, with exit status 1; usage errors exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from affect import __version__

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
