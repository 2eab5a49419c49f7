"""Finding and loading trained modules: SpeechBrain's Checkpointer picks the checkpoint, its
Pretrainer loads it, from local files or the HF Hub.

The lowest layer that touches checkpoints: the Brains that write them and the explainers,
experiments and inference that read them all import it, so it imports none of them.

A ``source`` is one of
- a folder holding ``<name>.ckpt`` files (e.g. a downloaded ``speechbrain/cnn14-esc50``),
- a recipe's ``save`` folder of ``CKPT+...`` checkpoints: the best one by ``min_key`` is used
  (the latest one when no key is given),
- a Hugging Face repository id such as ``speechbrain/cnn14-esc50``.
"""

import logging
import os
import pickle
import re

import torch
from speechbrain.utils.checkpoints import Checkpointer
from speechbrain.utils.distributed import run_on_main
from speechbrain.utils.parameter_transfer import Pretrainer

from lmac_brain.errors import ConfigurationError, UserFacingError

logger = logging.getLogger(__name__)

HF_ID = re.compile(r"^[\w.-]+/[\w.-]+$")

CHECKPOINT_KEY = "loss"
"""The validation statistic the interpreter Brains keep their best checkpoint by (logged at every
validation, tested), and so the one the explainers load the best checkpoint by."""


class MissingCheckpointError(UserFacingError, FileNotFoundError):
    """No trained model where one was expected; the message says how to train it."""


class CheckpointSelectionError(MissingCheckpointError):
    """Checkpoints are there, but none logged the key the best one is selected by."""


class CheckpointMismatchError(ConfigurationError):
    """A checkpoint file that cannot be read, or does not fit the module it is loaded into."""


def resolve_checkpoint_dir(folder, min_key=None, hint=""):
    """The folder that holds the ``.ckpt`` files for ``folder`` (see module docstring).

    With ``min_key``, only the checkpoints that logged that key are candidates, and none is an
    error (:class:`CheckpointSelectionError`): falling back to the latest checkpoint would load
    a model other than the one the recipe selected and tested, and nothing would tell. To load
    one particular checkpoint, pass its ``CKPT+...`` folder itself.
    """
    if not os.path.isdir(folder):
        raise MissingCheckpointError(f"No checkpoint folder {folder}. {hint}".strip())
    if any(name.endswith(".ckpt") for name in os.listdir(folder)):
        return folder
    checkpointer = Checkpointer(folder)
    # Without a key SpeechBrain picks the latest; with one, the lowest among those that logged it.
    checkpoint = checkpointer.find_checkpoint(min_key=min_key)
    if checkpoint is None:
        checkpoints = checkpointer.list_checkpoints()
        if not checkpoints:
            raise MissingCheckpointError(f"No checkpoint in {folder}. {hint}".strip())
        logged = sorted({key for c in checkpoints for key in c.meta})
        raise CheckpointSelectionError(
            f"None of the {len(checkpoints)} checkpoint(s) in {folder} logged {min_key!r}, the "
            f"validation statistic the best one is selected by (they logged: {', '.join(logged)}). "
            "Training probably stopped before its first validation: rerun its command to finish "
            "it, or pass one CKPT+... folder itself to load exactly that checkpoint."
        )
    if min_key is None:
        logger.info("Using the latest checkpoint %s", checkpoint.path)
    else:
        logger.info("Using checkpoint %s (best %s: %s)", checkpoint.path, min_key, checkpoint.meta[min_key])
    return str(checkpoint.path)


def checkpoint_paths(names, source, min_key=None, hint=""):
    """``{name: path or 'hf_id/name.ckpt'}`` for each module name."""
    if os.path.isdir(source):
        folder = resolve_checkpoint_dir(source, min_key, hint)
        paths = {name: os.path.join(folder, f"{name}.ckpt") for name in names}
        missing = [p for p in paths.values() if not os.path.isfile(p)]
        if missing:
            raise MissingCheckpointError(f"Missing {', '.join(missing)}. {hint}".strip())
        return paths
    if os.path.exists(source) or not HF_ID.match(str(source)) or str(source).startswith((".", "/")):
        raise MissingCheckpointError(f"No trained model at {source}. {hint}".strip())
    return {name: f"{source}/{name}.ckpt" for name in names}


def load_pretrained(loadables, source, collect_in, min_key=None, hint=""):
    """Load ``loadables`` (``{name: module}``) in place from ``source``.

    Files are collected on the main process (``run_on_main``) into ``collect_in`` and loaded by
    every process. ``hint`` is appended to the error when nothing is found (e.g. the command
    that trains the model).
    """
    paths = checkpoint_paths(list(loadables), str(source), min_key, hint)
    os.makedirs(collect_in, exist_ok=True)
    pretrainer = Pretrainer(collect_in=collect_in, loadables=loadables, paths=paths)
    run_on_main(pretrainer.collect_files)
    pretrainer.load_collected()
    return paths


def read_checkpoint_file(folder, name, hint=""):
    """The object saved in ``<folder>/<name>.ckpt``, read on the CPU.

    A missing file is a :class:`MissingCheckpointError`, one torch cannot read a
    :class:`CheckpointMismatchError`; both name the file.
    """
    path = os.path.join(folder, f"{name}.ckpt")
    if not os.path.isfile(path):
        raise MissingCheckpointError(f"No {name}.ckpt in {folder}. {hint}".strip())
    try:
        return torch.load(path, map_location="cpu")
    except (RuntimeError, EOFError, pickle.UnpicklingError) as err:  # what torch.load raises for a bad file
        raise CheckpointMismatchError(f"Cannot read the checkpoint {path}: {err}") from err


def load_matching_state(module, state, path, what):
    """Load ``state`` into ``module``, or raise :class:`CheckpointMismatchError` naming every
    tensor that is missing, unexpected or of another shape (``what`` names the module)."""
    own = module.state_dict()
    if not isinstance(state, dict):
        raise CheckpointMismatchError(f"{path} holds a {type(state).__name__}, not the weights of {what}")
    problems = []
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    resized = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing:
        problems.append("missing " + ", ".join(missing))
    if unexpected:
        problems.append("unexpected " + ", ".join(unexpected))
    for key in resized:
        problems.append(f"{key} is {tuple(state[key].shape)}, expected {tuple(own[key].shape)}")
    if problems:
        raise CheckpointMismatchError(f"{path} does not fit {what}: " + "; ".join(problems))
    module.load_state_dict(state)
