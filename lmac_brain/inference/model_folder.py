"""The model folder of a trained interpreter: what ``LMACAudioInterpreter.from_hparams`` loads.

Laid out as SpeechBrain's model repositories are, so it can be uploaded as it is::

    <folder>/hyperparams.yaml      front end, classifier, the explainer's modules, label encoder,
                                   domain, mask space, clip length
    <folder>/embedding_model.ckpt  the classifier's weights
    <folder>/classifier.ckpt
    <folder>/decoder.ckpt          L-MAC (psi.ckpt, theta.ckpt, nmf.ckpt for L2I)
    <folder>/label_encoder.txt
    <folder>/README.md             model card: what it explains, the data, test metrics, commands

Every L-MAC and L2I training run writes one in ``<output_folder>/inference/``
(:func:`export_run`); for an earlier run::

    python -m lmac_brain.inference.model_folder results/esc50/lmac_cnn14/1234
"""

import argparse
import io
import json
import logging
import sys
from pathlib import Path

import torch
from hyperpyyaml import load_hyperpyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from speechbrain.dataio.encoder import CategoricalEncoder

from lmac_brain.errors import ConfigurationError, UserFacingError
from lmac_brain.experiments.classifiers import CLASSIFIER_NODES, class_names, load_trained_classifier, n_outputs
from lmac_brain.experiments.discovery import NoTrainedModelError, read_experiment
from lmac_brain.explainers import build_explainer
from lmac_brain.models.classifier import AudioClassifier
from lmac_brain.models.decoder import build_decoder, decoder_settings
from lmac_brain.reporting.publishing import staged_folder

logger = logging.getLogger(__name__)

MODEL_FOLDER = "inference"
"""The model folder's name inside a training run's output folder."""

HPARAMS_FILE = "hyperparams.yaml"
LABEL_ENCODER_FILE = "label_encoder.txt"
CARD_FILE = "README.md"


def _value(value):
    # JSON scalars are YAML scalars, quoted where they must be.
    return json.dumps(value)


def _node(name, tag, args):
    lines = [f"{name}: {tag}"]
    lines += [f"    {key}: {value if str(value).startswith('!ref') else _value(value)}" for key, value in args.items()]
    return "\n".join(lines) + "\n"


def _lmac_parts(explainer):
    """``({name: module}, yaml)`` of an L-MAC explainer: its decoder, sized from its weights."""
    settings = decoder_settings(explainer.decoder.state_dict())
    args = {"embedding_model": "!ref <embedding_model>", "frontend": "!ref <frontend>", "domain": "!ref <domain>",
            **settings}
    return {"decoder": explainer.decoder}, _node("decoder", "!apply:lmac_brain.models.decoder.build_decoder", args)


def _l2i_parts(explainer):
    """``({name: module}, yaml)`` of an L2I explainer: Psi, Theta and the NMF dictionary."""
    psi, theta, nmf = explainer.psi, explainer.theta, explainer.nmf
    n_components, width = psi.state_dict()["out.weight"].shape[:2]
    theta_args = {"n_components": int(n_components), "n_classes": int(theta.linear.out_features),
                  "pooling": theta.pooling}
    if theta.pooling == "attention":
        theta_args["n_frames"] = int(theta.attention.in_features)
    text = (
        _node("psi", "!apply:lmac_brain.models.l2i.build_psi",
              {"embedding_model": "!ref <embedding_model>", "n_components": int(n_components), "width": int(width)})
        + "\n" + _node("theta", "!new:lmac_brain.models.l2i.Theta", theta_args)
        + "\n" + _node("nmf", "!new:lmac_brain.models.nmf.NMFDictionary",
                       {"n_freq": int(nmf.W.shape[0]), "n_components": int(nmf.W.shape[1]),
                        "compression": nmf.compression})
    )
    return {"psi": psi, "theta": theta, "nmf": nmf}, text


EXPLAINER_PARTS = {"lmac": _lmac_parts, "l2i": _l2i_parts}
"""How the trained modules of each servable explainer are saved and rebuilt."""


def model_hparams(classifier_yaml, explainer_name, parts_yaml, part_names, domain, mask_space,
                  signal_length_s, options=None, header=""):
    """The text of a model folder's ``hyperparams.yaml``.

    ``classifier_yaml`` defines ``frontend``, ``embedding_model`` and ``classifier``;
    ``parts_yaml`` the explainer's modules ``part_names``. Every file is named relative to
    ``pretrained_path``, which ``LMACAudioInterpreter.from_hparams`` sets to its ``source``.
    """
    loadables = ["embedding_model", "classifier", *part_names]
    modules = "".join(f"    {name}: !ref <{name}>\n" for name in (*CLASSIFIER_NODES, *part_names))
    pretrainer_loadables = "".join(f"        {name}: !ref <{name}>\n" for name in (*loadables, "label_encoder"))
    paths = "".join(f"        {name}: !ref <pretrained_path>/{name}.ckpt\n" for name in loadables)
    paths += f"        label_encoder: !ref <pretrained_path>/{LABEL_ENCODER_FILE}\n"
    return (
        f"{header}"
        "# Where the files below are: set by LMACAudioInterpreter.from_hparams to its `source`.\n"
        "pretrained_path: !PLACEHOLDER\n\n"
        f"explainer: {_value(explainer_name)}  # a name of lmac_brain.explainers.available_explainers()\n"
        f"explainer_options: {json.dumps(options or {})}\n"
        f"domain: {_value(domain)}  # stft: masks |X| | mel: masks the mel magnitude\n"
        f"mask_space: {_value(mask_space)}  # linear: M*|X| (paper Eq. 3) | log1p: expm1(M*log1p|X|)\n"
        f"signal_length_s: {_value(float(signal_length_s))}  # the classifier's clip: the window of longer inputs\n\n"
        f"{classifier_yaml.rstrip()}\n\n{parts_yaml.rstrip()}\n\n"
        "label_encoder: !new:speechbrain.dataio.encoder.CategoricalEncoder\n\n"
        f"modules:\n{modules}\n"
        "pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer\n"
        f"    loadables:\n{pretrainer_loadables}    paths:\n{paths}"
    )


def save_model_folder(folder, classifier, classifier_yaml, explainer_name, explainer, classes,
                      signal_length_s, options=None, card="", header=""):
    """Write the model folder of ``explainer`` (built for ``classifier``) in ``folder``.

    The folder appears only once complete; a previous model folder there is replaced.

    Arguments
    ---------
    folder : str or Path
        Where to write.
    classifier : lmac_brain.models.classifier.AudioClassifier
        The trained classifier.
    classifier_yaml : str
        HyperPyYAML defining its ``frontend``, ``embedding_model`` and ``classifier``.
    explainer_name : str
        ``"lmac"`` or ``"l2i"`` (:data:`EXPLAINER_PARTS`).
    explainer : lmac_brain.explainers.Explainer
        The trained explainer.
    classes : list of str
        Class names, in the classifier's output order.
    signal_length_s : float
        The classifier's clip length.
    options : dict, optional
        Explainer options recorded in the YAML (e.g. L2I's ``relevance_threshold``).
    card, header : str
        The ``README.md`` text, and comment lines opening the YAML.

    Returns
    -------
    Path
    """
    if explainer_name not in EXPLAINER_PARTS:
        raise ConfigurationError(
            f"No model folder for the {explainer_name!r} explainer: one of {', '.join(EXPLAINER_PARTS)}"
        )
    parts, parts_yaml = EXPLAINER_PARTS[explainer_name](explainer)
    text = model_hparams(classifier_yaml, explainer_name, parts_yaml, list(parts), explainer.domain,
                         explainer.mask_space, signal_length_s, options, header)
    folder = Path(folder)
    with staged_folder(folder, HPARAMS_FILE) as staging:
        modules = {"embedding_model": classifier.embedding_model, "classifier": classifier.head, **parts}
        for name, module in modules.items():
            state = {key: value.detach().cpu() if torch.is_tensor(value) else value
                     for key, value in module.state_dict().items()}
            torch.save(state, staging / f"{name}.ckpt")
        encoder = CategoricalEncoder()
        encoder.update_from_iterable(classes)  # indices in the classifier's output order
        encoder.save(str(staging / LABEL_ENCODER_FILE))
        (staging / CARD_FILE).write_text(card, encoding="utf-8")
        (staging / HPARAMS_FILE).write_text(text, encoding="utf-8")
    return folder


def classifier_nodes_yaml(training_hparams):
    """The ``frontend``, ``embedding_model`` and ``classifier`` nodes of a run's saved
    ``hyperparams.yaml``, as HyperPyYAML text (their arguments are resolved values there)."""
    ruamel = YAML()
    with open(training_hparams, encoding="utf-8") as f:
        data = ruamel.load(f)
    missing = [k for k in CLASSIFIER_NODES if k not in data]
    if missing:
        raise ConfigurationError(f"{training_hparams} does not define {', '.join(missing)}")
    subset = CommentedMap((k, data[k]) for k in CLASSIFIER_NODES)
    text = io.StringIO()
    ruamel.dump(subset, text)
    return text.getvalue()


def _read_json(path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def model_card(experiment, explainer_name, classes, command=None):
    """The ``README.md`` of a run's model folder: what it explains, the data, the test metrics."""
    hp = experiment.hparams
    metrics = _read_json(experiment.folder / "test_metrics.json")
    name = {"lmac": "L-MAC (Listenable Maps for Audio Classifiers)", "l2i": "L2I (Listen to Interpret)"}[explainer_name]
    lines = [
        f"# {hp.get('experiment_name', experiment.folder.name)}: {name}",
        "",
        f"Listenable interpretations of a CNN14 audio classifier's decisions on {len(classes)} classes "
        f"({hp.get('dataset', 'unknown dataset')}): per recording, the interpretation (what the classifier "
        "used, as a sound), the residual and the mask.",
        "",
        "```python",
        "from lmac_brain.inference import LMACAudioInterpreter",
        'interpreter = LMACAudioInterpreter.from_hparams(source="<this folder or its HF id>", savedir="tmp")',
        'result = interpreter.interpret_file("recording.wav")',
        "result.interpretation, result.label, result.score, result.mask",
        "```",
        "",
        "## Training",
        "",
        f"- data: `{hp.get('data_folder')}` (dataset `{hp.get('dataset')}`), "
        f"{hp.get('signal_length_s')} s clips at {hp.get('sample_rate')} Hz; "
        f"WHAM! noise augmentation: {bool(hp.get('add_wham_noise'))}",
        f"- mask domain `{experiment.domain}`, {hp.get('number_of_epochs')} epochs, seed {hp.get('seed')}",
        f"- classes: {', '.join(classes)}",
    ]
    if command:
        lines.append(f"- command: `{command}`")
    lines += ["", "## Test metrics", ""]
    if metrics:
        keys = [k for k in metrics if k != "method"]
        lines += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys),
                  "| " + " | ".join(f"{metrics[k]:.4g}" if isinstance(metrics[k], (int, float)) else str(metrics[k])
                                    for k in keys) + " |",
                  "", "From `test_metrics.json`, written by the training command above on the test split."]
    else:
        lines.append("No `test_metrics.json` in the run's folder (training did not reach its test stage).")
    return "\n".join(lines) + "\n"


def export_run(run_folder, output=None, options=None, command=None):
    """Write the model folder of an L-MAC or L2I training run (default ``<run>/inference``).

    The classifier and the explainer are loaded as the evaluation and the interpret CLI load
    them: the classifier the interpreter was trained on, the checkpoint its recipe selected and
    tested (best validation loss). ``command`` (the training command) goes in the model card.

    Returns
    -------
    Path
        The model folder.
    """
    experiment = read_experiment(run_folder)
    if experiment is None or experiment.kind not in ("lmac", "lmac_ft", "l2i"):
        raise NoTrainedModelError(f"{run_folder} is not the output folder of an L-MAC or L2I training run")
    explainer_name = "l2i" if experiment.kind == "l2i" else "lmac"
    options = dict(options or {})
    if explainer_name == "l2i" and experiment.hparams.get("relevance_th") is not None:
        options.setdefault("relevance_threshold", float(experiment.hparams["relevance_th"]))
    classifier = load_trained_classifier(experiment)
    explainer = build_explainer(explainer_name, classifier, experiment.domain,
                                source=str(experiment.save_folder), **options)
    classes = class_names(experiment, n_outputs(classifier))
    header = (
        f"# Model folder of {experiment.folder} (written by lmac_brain.inference.model_folder).\n"
        "# Load it with lmac_brain.inference.LMACAudioInterpreter.from_hparams(source=<this folder or its HF id>).\n\n"
    )
    folder = save_model_folder(
        Path(output) if output else experiment.folder / MODEL_FOLDER,
        classifier, classifier_nodes_yaml(experiment.folder / HPARAMS_FILE), explainer_name, explainer, classes,
        experiment.hparams["signal_length_s"], options=options,
        card=model_card(experiment, explainer_name, classes, command), header=header,
    )
    logger.info("Model folder (load it with LMACAudioInterpreter.from_hparams): %s", folder)
    return folder


def write_model_folder(run_folder):
    """What a training recipe calls once it has tested: :func:`export_run` with the command that
    ran, logged; a run whose folder cannot be written (e.g. ``use_pretrained: False``, so no
    trained classifier to ship) is logged as a warning, not a failed training."""
    command = " ".join(["python", *sys.argv])
    try:
        return export_run(run_folder, command=command)
    except UserFacingError as err:
        logger.warning("No model folder for %s: %s", run_folder, err)
        return None


UNTRAINED_CLASSIFIER_YAML = """frontend: !new:lmac_brain.audio.spectral.SpectralFrontEnd
    sample_rate: 16000
    n_fft: 256
    hop_length_ms: 16.0
    win_length_ms: 16.0
    n_mels: 32

embedding_model: !new:lmac_brain.models.cnn14.Cnn14
    mel_bins: 32
    emb_dim: 128
    base_channels: 4

classifier: !new:torch.nn.Linear
    in_features: 128
    out_features: 3
"""


def write_untrained_model_folder(folder, seed=0):
    """A model folder of an untrained tiny classifier (3 classes, 1 s clips at 16 kHz) and an
    untrained L-MAC decoder: what the examples load, no training needed.

    Example
    -------
    >>> folder = write_untrained_model_folder(getfixture("tmpdir") / "model")
    >>> sorted(p.name for p in folder.iterdir())  # doctest: +NORMALIZE_WHITESPACE
    ['README.md', 'classifier.ckpt', 'decoder.ckpt', 'embedding_model.ckpt', 'hyperparams.yaml',
     'label_encoder.txt']
    """
    torch.manual_seed(seed)
    nodes = load_hyperpyyaml(UNTRAINED_CLASSIFIER_YAML)
    classifier = AudioClassifier(nodes["frontend"], nodes["embedding_model"], nodes["classifier"]).eval()
    decoder = build_decoder(classifier.embedding_model, classifier.frontend, "stft", width=8)
    explainer = build_explainer("lmac", classifier, "stft", decoder=decoder)
    card = "# Untrained example\n\nAn untrained tiny classifier and L-MAC decoder, for examples and tests.\n"
    return save_model_folder(folder, classifier, UNTRAINED_CLASSIFIER_YAML, "lmac", explainer,
                             ["dog", "rain", "siren"], 1.0, card=card)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m lmac_brain.inference.model_folder",
        description="Write the model folder (LMACAudioInterpreter.from_hparams) of an L-MAC or L2I training run.",
    )
    parser.add_argument("run", help="the run's output folder, e.g. results/esc50/lmac_cnn14/1234")
    parser.add_argument("--output", help="where to write it (default <run>/inference)")
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(name)s - %(message)s", stream=sys.stderr)
    try:
        folder = export_run(args.run, args.output)
    except UserFacingError as err:
        logger.error("%s", err)
        return 2
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
