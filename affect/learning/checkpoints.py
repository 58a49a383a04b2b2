"""The one reader of the kit's torch files: Lightning checkpoints and GAN ``generator.pt`` files.

Every such file is read with ``torch.load(..., weights_only=True)``: only tensors and plain
data (dicts, lists, numbers, strings) are rebuilt, so a file that holds anything else (a pickle
whose objects would run code when rebuilt) is refused unread. The checkpoints Lightning writes
for this kit and the generator files of :mod:`affect.learning.gans.training` hold nothing else.
"""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import torch

__all__ = ["read_torch_file"]


def read_torch_file(path: str | os.PathLike, what: str) -> dict:
    """The dict saved in a torch file, on the CPU; ValueError (one line, naming ``path``) if it is bad.

    Parameters
    ----------
    path : path
    what : str
        What the file should be, for the error ("a checkpoint of this kit").

    Raises
    ------
    ValueError
        A missing, empty, truncated or foreign file, and one holding objects other than
        tensors and plain data (refused before any of them is rebuilt).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file ({what} expected)")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file ({what} expected)")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*pickle protocol.*")  # files saved by plain pickle
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(
            f"{path}: not {what} (it holds objects other than tensors and plain data; refused unread)"
        ) from None
    except Exception as error:  # torch's answers to a cut or foreign file: EOFError, RuntimeError, KeyError
        detail = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0].split('. ')[0]}"
        raise ValueError(f"{path}: not {what} (truncated or another format; {detail})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not {what} (holds a {type(state).__name__}, not a dict)")
    return state
