"""Experiment set-up shared by every recipe: command line, data, label encoder, output folder.

A recipe script calls ``setup_experiment(sys.argv[1:], dataset="esc50")`` and gets the
instantiated hparams with the manifests and the label encoder ready:

1. the command line is SpeechBrain's (``hparams.yaml --key=value ...``; a value may be any
   HyperPyYAML, ``--key='!ref <other>'`` included); every hparams file is plain HyperPyYAML;
2. the data are prepared on the main process (``data_prep``), with the WHAM! and LJSpeech
   corpora when their folders are set;
3. the label encoder (SpeechBrain's ``CategoricalEncoder``) is created from the classes of the
   data, ordered by the dataset's own class index, or loaded from
   ``<save_folder>/label_encoder.txt`` when an earlier run wrote it; the number of classes is
   its length, so ``n_classes`` comes from the data;
4. the output folder is created as every SpeechBrain recipe's (``hyperparams.yaml``,
   ``log.txt``, ``env.log`` and a copy of the recipe script), then the YAML is instantiated.
"""

import logging
import os
import re
import shutil
import sys

import speechbrain as sb
import yaml
from hyperpyyaml import load_hyperpyyaml, resolve_references
from ruamel.yaml import YAML
from speechbrain.dataio.encoder import CategoricalEncoder
from speechbrain.utils.distributed import if_main_process, run_on_main

from data_prep import prepare_esc50, prepare_ljspeech, prepare_us8k, prepare_wham
from data_prep.common import DatasetLayoutError, manifest_classes

logger = logging.getLogger(__name__)

PREPARE = {"esc50": prepare_esc50, "us8k": prepare_us8k}

LABEL_ENCODER_FILE = "label_encoder.txt"


class _TagIgnoringLoader(yaml.SafeLoader):
    """Reads resolved HyperPyYAML as plain data: objects (``!new:`` ...) become None."""


_TagIgnoringLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def parse_overrides(overrides):
    """SpeechBrain's command-line overrides (a YAML string) as a mapping that keeps the tags.

    A key given twice takes its last value, as a repeated command-line option does (logged).

    Example
    -------
    >>> overrides = parse_overrides("lr: 0.1\\nout: !ref <root>/x\\nlr: 0.2\\n")
    >>> overrides["lr"], overrides["out"].tag.value
    (0.2, '!ref')
    """
    if isinstance(overrides, str):
        return YAML().load(_last_value_wins(overrides)) or {}
    return dict(overrides or {})


def _last_value_wins(text):
    """``text`` (one top-level ``key: value`` entry per line, continuation lines indented) with
    only the last entry of every key."""
    entries = {}
    for line in text.splitlines():
        if line[:1].strip() and ":" in line:
            key = line.split(":", 1)[0].strip()
            if key in entries:
                logger.warning("--%s is given more than once: the last value is used", key)
                del entries[key]
            entries[key] = [line]
        elif entries:
            entries[next(reversed(entries))].append(line)
    return "".join(line + "\n" for lines in entries.values() for line in lines)


def peek_hparams(hparams_file, overrides):
    """Plain values of a HyperPyYAML file (references resolved, no object built).

    ``overrides`` must name existing keys, as for :func:`hyperpyyaml.load_hyperpyyaml`.
    """
    with open(hparams_file, encoding="utf-8") as f:
        resolved = resolve_references(f, overrides, overrides_must_match=True).getvalue()
    return yaml.load(resolved, Loader=_TagIgnoringLoader)


def setup_experiment(argv, dataset):
    """Parse the command line, prepare the data, create the output folder, load the hparams.

    Arguments
    ---------
    argv : list
        Command line: ``hparams.yaml [--key=value ...] [SpeechBrain run options]``.
    dataset : str
        ``"esc50"`` or ``"us8k"``; sets ``dataset`` in the hparams.

    Returns
    -------
    hparams : dict
        Instantiated hparams, with ``manifests`` (split -> json path, plus the WHAM! and
        LJSpeech manifests when their folders are set), ``label_encoder`` and ``classes``
        (class names in label order).
    run_opts : dict
        SpeechBrain run options (device, distributed, debug, ...).
    """
    hparams_file, run_opts, cli_overrides = sb.parse_arguments(argv)
    sb.utils.distributed.ddp_init_group(run_opts)  # no-op unless launched by torchrun
    overrides = parse_overrides(cli_overrides)
    overrides.setdefault("dataset", dataset)
    # out_n_neurons is only known after preparation; any value does to read the folders.
    plain = peek_hparams(hparams_file, {**overrides, "out_n_neurons": 0})

    folds = {k: plain.get(k) for k in ("train_fold_nums", "valid_fold_nums", "test_fold_nums")}
    manifests = prepare_data(dataset, plain["data_folder"], plain["manifest_folder"], esc10_only=plain.get("esc10_only"),
                             wham_folder=plain.get("wham_folder"), ljspeech_folder=plain.get("ljspeech_folder"), **folds)
    encoder = load_or_create_label_encoder(manifests, plain["save_folder"], plain.get("classifier_source"))
    overrides["out_n_neurons"] = len(encoder)

    sb.create_experiment_directory(
        experiment_directory=plain["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    _keep_recipe_script(plain["output_folder"])
    with open(hparams_file, encoding="utf-8") as f:
        hparams = load_hyperpyyaml(f, overrides)
    hparams["manifests"] = manifests
    hparams["label_encoder"] = encoder
    hparams["classes"] = class_names(encoder)
    logger.info("Dataset %s: %d classes, manifests in %s", dataset, len(encoder), plain["manifest_folder"])
    return hparams, run_opts


def _keep_recipe_script(output_folder):
    """Make the output folder hold the recipe script that ran, as SpeechBrain's recipes do.

    ``create_experiment_directory`` copies the file of its caller, which is this module.
    """
    if not if_main_process():
        return
    copied_here = os.path.join(output_folder, os.path.basename(__file__))
    if os.path.isfile(copied_here):
        os.remove(copied_here)
    script = getattr(sys.modules["__main__"], "__file__", None)
    if script is not None:
        shutil.copy(os.path.realpath(script), output_folder)


def prepare_data(dataset, data_folder, manifest_folder, train_fold_nums=None, valid_fold_nums=None,
                 test_fold_nums=None, esc10_only=False, wham_folder=None, ljspeech_folder=None):
    """Run the dataset's (and the noise/speech corpora's) preparation on the main process.

    Folds left None take the dataset's standard split. Returns the manifests: split -> json
    path, plus ``wham`` and ``ljspeech`` when their folders are set.
    """
    if dataset not in PREPARE:
        raise ValueError(f"Unknown dataset {dataset!r}: choose one of {sorted(PREPARE)}")
    folds = {"train_folds": train_fold_nums, "valid_folds": valid_fold_nums, "test_folds": test_fold_nums}
    kwargs = {"data_folder": data_folder, "save_folder": manifest_folder,
              **{k: v for k, v in folds.items() if v}}
    if dataset == "esc50" and esc10_only:
        kwargs["esc10"] = True
    run_on_main(PREPARE[dataset], kwargs=kwargs)
    # Every process reads what the main process wrote (preparation is idempotent and cheap
    # once the manifests exist, so calling it again just returns the paths).
    manifests = dict(PREPARE[dataset](**kwargs))
    for folder, prepare, sub in ((wham_folder, prepare_wham, "wham"), (ljspeech_folder, prepare_ljspeech, "ljspeech")):
        if folder:
            noise_kwargs = {"data_folder": folder, "save_folder": os.path.join(manifest_folder, sub)}
            run_on_main(prepare, kwargs=noise_kwargs)
            manifests[sub] = prepare(**noise_kwargs)
    return manifests


def count_classes(dataset, data_folder, manifest_folder, save_folder, train_fold_nums=None,
                  valid_fold_nums=None, test_fold_nums=None, esc10_only=False, classifier_source=None):
    """The number of outputs of the classifier: the length of the run's label encoder.

    Called by the hparams files (``out_n_neurons: !apply:...``), so the YAML is loaded once
    with the classifier sized to the data: the data are prepared and the encoder created (or
    taken from the classifier explained) as :func:`load_or_create_label_encoder` does.
    """
    manifests = prepare_data(dataset, data_folder, manifest_folder, train_fold_nums, valid_fold_nums,
                             test_fold_nums, esc10_only)
    return len(load_or_create_label_encoder(manifests, save_folder, classifier_source))


DATASET_OF_FOLDER = {"ESC50": "esc50", "US8K": "us8k"}


def dataset_of_script(script):
    """The dataset of a recipe script, named by its folder (``recipes/US8K/x.py`` -> ``us8k``).

    The UrbanSound8K scripts are symbolic links to the ESC-50 ones: the link's own path (not
    its target) says which dataset runs.
    """
    folder = os.path.basename(os.path.dirname(os.path.abspath(script)))
    if folder not in DATASET_OF_FOLDER:
        raise ValueError(f"{script}: recipe folders are {sorted(DATASET_OF_FOLDER)}")
    return DATASET_OF_FOLDER[folder]


def with_default(overrides, key, value):
    """SpeechBrain's command-line ``overrides`` (a YAML string) with ``key: value`` added,
    unless the command line already sets ``key``.

    Example
    -------
    >>> with_default("lr: 0.1\n", "dataset", "us8k")
    'lr: 0.1\ndataset: us8k\n'
    >>> with_default("dataset: esc50\n", "dataset", "us8k")
    'dataset: esc50\n'
    """
    if re.search(rf"^{re.escape(key)}:", overrides or "", re.M):
        return overrides
    text = overrides or ""
    if text and not text.endswith("\n"):
        text += "\n"
    return f"{text}{key}: {value}\n"


def load_or_create_label_encoder(manifests, save_folder, classifier_source=None):
    """SpeechBrain's ``CategoricalEncoder`` of the classes in the split manifests.

    Labels ``0..K-1`` follow the dataset's own class indices (ESC-50 ``target``, UrbanSound8K
    ``classID``), so a subset such as ESC-10 or targets ``{0, 19, 43}`` get ``0, 1, 2``. A recipe
    that explains a trained classifier takes the classifier's encoder instead (the
    ``label_encoder.txt`` of a local ``classifier_source`` folder): its outputs are numbered that
    way. The encoder is saved as ``<save_folder>/label_encoder.txt`` by the main process; a file
    left there by an earlier run is loaded. Either must hold every class of the data (a
    classifier of all ESC-50 classes explained on the ESC-10 subset keeps its 50 outputs).
    """
    classes = manifest_classes([manifests[split] for split in ("train", "valid", "test")])
    path = os.path.join(save_folder, LABEL_ENCODER_FILE)
    os.makedirs(save_folder, exist_ok=True)
    if classifier_source:
        # Every process calls run_on_main (it ends with a barrier); only the main one copies.
        run_on_main(_copy_if_missing, args=[os.path.join(str(classifier_source), LABEL_ENCODER_FILE), path])
    encoder = CategoricalEncoder()
    encoder.load_or_create(path, from_iterables=[classes])
    unknown = [name for name in classes if name not in encoder.lab2ind]
    if unknown:
        raise DatasetLayoutError(
            f"{path} holds the classes {class_names(encoder)}, but the data also have {unknown}: it "
            "was written for other data (or the classifier was trained on other classes). Use "
            "another output folder, or data with the classifier's classes."
        )
    return encoder


def _copy_if_missing(source, destination):
    if os.path.isfile(source) and not os.path.isfile(destination):
        shutil.copy(source, destination)


def class_names(encoder):
    """Class names in label order (``encoder.ind2lab[0], ...``)."""
    return [encoder.ind2lab[i] for i in range(len(encoder))]


def debug_items(run_opts, batch_size):
    """How many items a recipe that is not a ``Brain`` loop handles under ``--debug``, else None.

    SpeechBrain's ``--debug`` runs ``debug_batches`` batches per stage (2 by default); the
    evaluation and the sanity checks take the same number of batches of their items.
    """
    if not run_opts.get("debug"):
        return None
    return int(run_opts.get("debug_batches") or 2) * int(batch_size)


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
