"""Small steps the recipe scripts share: the dataset of a script, the data preparation, the
label encoder and the number of classes it gives.

- :func:`prepare_data` prepares the dataset's manifests on the main process (``data_prep``),
  with the WHAM! and LJSpeech corpora when their folders are set;
- :func:`load_or_create_label_encoder` creates SpeechBrain's ``CategoricalEncoder`` from the
  classes of the data, ordered by the dataset's own class index, or loads the one an earlier run
  (or the classifier explained) wrote; :func:`count_classes`, called by the hparams files, gives
  ``out_n_neurons`` from it, so the YAML is loaded once with the classifier sized to the data;
- :func:`dataset_of_script` and :func:`with_default` let one script serve both datasets (the
  UrbanSound8K scripts are links to the ESC-50 ones).
"""

import logging
import os
import re
import shutil

from speechbrain.dataio.encoder import CategoricalEncoder
from speechbrain.utils.distributed import run_on_main

from data_prep import prepare_esc50, prepare_ljspeech, prepare_us8k, prepare_wham
from data_prep.common import DatasetLayoutError, manifest_classes

logger = logging.getLogger(__name__)

PREPARE = {"esc50": prepare_esc50, "us8k": prepare_us8k}

LABEL_ENCODER_FILE = "label_encoder.txt"


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
    r"""SpeechBrain's command-line ``overrides`` (a YAML string) with ``key: value`` added,
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
