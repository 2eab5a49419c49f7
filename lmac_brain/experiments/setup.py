"""Experiment set-up shared by every recipe: hparams, output folder, data preparation.

A recipe script calls ``setup_experiment(sys.argv[1:], dataset="esc50")`` and gets the
instantiated hparams with the manifests ready. Two conventions on top of SpeechBrain's:

- ``extends: <file>`` at the top of a YAML makes it a set of overrides of another YAML (path
  relative to the file), so the compact CPU configuration is one short file.
- The number of classes comes from the data: preparation runs first (on the main process), then
  the YAML is instantiated with ``n_classes`` set.
"""

import json
import logging
import os
import sys
import tempfile

import speechbrain as sb
import yaml
from hyperpyyaml import load_hyperpyyaml, resolve_references
from speechbrain.utils.distributed import run_on_main

from data_prep import prepare_esc50, prepare_ljspeech, prepare_us8k, prepare_wham

logger = logging.getLogger(__name__)

PREPARE = {"esc50": prepare_esc50, "us8k": prepare_us8k}


class _TagIgnoringLoader(yaml.SafeLoader):
    """Reads resolved HyperPyYAML as plain data: objects (``!new:`` ...) become None."""


_TagIgnoringLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def read_hparams_text(path, overrides=None):
    """Return ``(yaml_text, overrides)`` of ``path``, following ``extends:`` chains.

    The keys of an extending file become overrides of its base; ``overrides`` (e.g. from the
    command line) win over both.
    """
    overrides = dict(overrides or {})
    with open(path, encoding="utf-8") as f:
        text = f.read()
    head = yaml.load(text, Loader=_TagIgnoringLoader)
    if not isinstance(head, dict) or "extends" not in head:
        return text, overrides
    base = os.path.join(os.path.dirname(os.path.abspath(path)), head.pop("extends"))
    return read_hparams_text(base, {**head, **overrides})


def peek_hparams(text, overrides):
    """Plain values of a HyperPyYAML text (references resolved, no object built)."""
    resolved = resolve_references(text, overrides).getvalue()
    return yaml.load(resolved, Loader=_TagIgnoringLoader)


def parse_overrides(overrides):
    """SpeechBrain gives command-line overrides as a YAML string; we want a dict."""
    if isinstance(overrides, str):
        return yaml.safe_load(overrides) or {}
    return dict(overrides or {})


def setup_experiment(argv, dataset, needs_classes=True):
    """Parse the command line, create the output folder and prepare the data.

    Arguments
    ---------
    argv : list
        Command line: ``hparams.yaml [--key=value ...] [SpeechBrain run options]``.
    dataset : str
        ``"esc50"`` or ``"us8k"``; sets ``dataset`` in the hparams.
    needs_classes : bool
        Whether the YAML declares ``n_classes`` (filled from the prepared data).

    Returns
    -------
    hparams : dict
        Instantiated hparams, with ``manifests`` (split -> json path), ``classes`` (names)
        and, when ``wham_folder``/``ljspeech_folder`` are set, their manifests.
    run_opts : dict
        SpeechBrain run options (device, distributed, ...).
    """
    hparams_file, run_opts, cli_overrides = sb.parse_arguments(argv)
    sb.utils.distributed.ddp_init_group(run_opts)  # no-op unless launched by torchrun
    text, overrides = read_hparams_text(hparams_file, parse_overrides(cli_overrides))
    overrides.setdefault("dataset", dataset)
    # n_classes is only known after preparation; any value does to read the folders.
    plain = peek_hparams(text, {"n_classes": 0, **overrides})

    manifests = prepare_data(dataset, plain)
    with open(manifests["classes"], encoding="utf-8") as f:
        classes = json.load(f)
    if needs_classes:
        overrides["n_classes"] = len(classes)

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as tmp:
        tmp.write(text)
    sb.create_experiment_directory(
        experiment_directory=plain["output_folder"],
        hyperparams_to_save=tmp.name,
        overrides=overrides,
    )
    os.unlink(tmp.name)
    hparams = load_hyperpyyaml(text, overrides)
    hparams["manifests"] = manifests
    hparams["classes"] = classes
    logger.info("Dataset %s: %d classes, manifests in %s", dataset, len(classes), plain["manifest_folder"])
    return hparams, run_opts


def prepare_data(dataset, plain):
    """Run the dataset's (and the noise/speech corpora's) preparation on the main process."""
    if dataset not in PREPARE:
        raise ValueError(f"Unknown dataset {dataset!r}: choose one of {sorted(PREPARE)}")
    folds = {k: plain[k] for k in ("train_folds", "valid_folds", "test_folds") if plain.get(k)}
    kwargs = {"data_folder": plain["data_folder"], "save_folder": plain["manifest_folder"], **folds}
    run_on_main(PREPARE[dataset], kwargs=kwargs)
    # Every process reads what the main process wrote (preparation is idempotent and cheap
    # once the manifests exist, so calling it again just returns the paths).
    manifests = dict(PREPARE[dataset](**kwargs))
    manifests["classes"] = os.path.join(plain["manifest_folder"], "classes.json")
    for key, prepare, sub in (("wham_folder", prepare_wham, "wham"), ("ljspeech_folder", prepare_ljspeech, "ljspeech")):
        if plain.get(key):
            noise_kwargs = {"data_folder": plain[key], "save_folder": os.path.join(plain["manifest_folder"], sub)}
            run_on_main(prepare, kwargs=noise_kwargs)
            manifests[sub] = prepare(**noise_kwargs)
    return manifests


def main_entry(run):
    """Run ``run(sys.argv[1:])``, the common ``__main__`` of the recipe scripts."""
    sys.exit(run(sys.argv[1:]) or 0)


def train_and_test(brain_class, hparams, run_opts, datasets, min_key):
    """Build ``brain_class`` from the hparams, fit it, and test the best checkpoint by ``min_key``.

    The shared body of the training recipes: modules, optimizer and checkpointer come from the
    YAML; WHAM! augmentation is on when ``add_wham_noise`` is. Returns the Brain.
    """
    from lmac_brain.audio.mixing import build_noise_augmenter

    brain = brain_class(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    brain.noise_augmenter = build_noise_augmenter(hparams)
    brain.fit(
        hparams["epoch_counter"],
        datasets["train"],
        datasets["valid"],
        train_loader_kwargs=hparams["train_loader_options"],
        valid_loader_kwargs=hparams["test_loader_options"],
    )
    brain.evaluate(datasets["test"], min_key=min_key, test_loader_kwargs=hparams["test_loader_options"])
    return brain
