"""The evaluation harness: every method, in every condition and masking domain, on one test set.

For each ``(condition, domain, method)`` the harness contaminates the test clips
(:mod:`lmac_brain.evaluation.conditions`), computes the domain input of the mixture, explains the
classifier's own decision ``c = argmax f(X)`` with the method (:mod:`lmac_brain.explainers`),
and scores the mask with :mod:`lmac_brain.metrics` (AI, AD, AG, FF, FidIn, SPS, COMP, MM, and
``loc_auc``/``loc_iou`` when the items carry their clean event). ``sec_per_item`` is the
explainer's time only, divided by the number of items.

Results go to ``metrics.csv`` (header :data:`CSV_COLUMNS`, one row per
``(dataset, condition, domain, method)``, empty cells where a metric had no valid item) and to
``metrics.md`` (one table per condition and domain, laid out like the paper's Tables 1-2, the
all-ones reference row last). Rows are appended as soon as they are done, and a rerun skips
the rows already in the CSV.

The whole configuration is validated before any work (:func:`validate_configuration`): every
problem (unknown method, missing checkpoint, condition whose data is missing, ...) is listed
in one :class:`EvaluationConfigError`.

Methods are a mapping ``label -> {explainer: name, **options}``::

    methods:
        saliency: {explainer: saliency}
        ig: {explainer: ig, n_steps: 50, internal_batch_size: 16}
        lmac: {explainer: lmac, source: results/esc50/lmac_cnn14/1234/save}
        l2i_rt0.2: {explainer: l2i, source: ..., relevance_threshold: 0.2}
        all_ones: {explainer: ones}

A method (or condition) set to ``null`` is disabled, so an extending YAML or the command line
can drop entries of the base mapping (``--methods="{IG: null}"``). Two optional keys shape
where a method runs: ``domains: [stft]`` restricts it to some
domains, and any option may be given per domain as ``{stft: value, mel: value}`` (e.g. the
``source`` of an L-MAC trained in each domain).
"""

import csv
import importlib
import logging
import os
import time

import torch
from speechbrain.dataio.dataloader import make_dataloader
from tqdm import tqdm

from lmac_brain.models.classifier import DOMAINS
from lmac_brain.evaluation.conditions import build_conditions
from lmac_brain.explainers import available_explainers, build_explainer
from lmac_brain.metrics import METRIC_NAMES, MetricAccumulator, ideal_binary_mask, metrics_per_item
from lmac_brain.experiments.pretrained import resolve_checkpoint_dir
from lmac_brain.reporting.tables import format_table

logger = logging.getLogger(__name__)

# Explainers that live in their own modules (registered on import); l2i may not exist yet.
for _module in ("lmac_brain.explainers.lmac", "lmac_brain.explainers.l2i"):
    try:
        importlib.import_module(_module)
    except ModuleNotFoundError as _err:
        if _err.name != _module:
            raise

KEY_COLUMNS = ("dataset", "condition", "domain", "method")
CSV_COLUMNS = KEY_COLUMNS + ("n",) + METRIC_NAMES + ("sec_per_item",)
"""Header of ``metrics.csv``, in order."""

TRAINED_EXPLAINERS = ("lmac", "l2i")
"""Explainers that load a trained model from their ``source`` option."""

BASELINE_EXPLAINER = "ones"
"""The reference row listed last in every Markdown table."""

DOMAIN_LABELS = {"stft": "STFT-Mel", "mel": "Mel"}
"""Row-group labels of the paper's tables."""

TABLE_COLUMNS = ("AI", "AD", "AG", "FF", "FidIn", "SPS", "COMP", "MM")


class EvaluationConfigError(ValueError):
    """The evaluation configuration cannot run; the message lists every problem."""


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------
def enabled(mapping):
    """The entries of a method/condition mapping that are not disabled (set to ``None``).

    Example
    -------
    >>> enabled({"a": {"explainer": "ones"}, "b": None})
    {'a': {'explainer': 'ones'}}
    """
    return {k: v for k, v in (mapping or {}).items() if v is not None}


def method_options(spec, domain):
    """``(explainer name, options)`` of a method spec for ``domain`` (per-domain values resolved).

    Example
    -------
    >>> method_options({"explainer": "lmac", "source": {"stft": "a", "mel": "b"}}, "mel")
    ('lmac', {'source': 'b'})
    """
    options = dict(spec)
    name = options.pop("explainer")
    options.pop("domains", None)
    for key, value in options.items():
        if isinstance(value, dict) and value and set(value) <= set(DOMAINS):
            options[key] = value[domain]
    return name, options


def method_domains(spec, domains):
    """The domains (among ``domains``) a method spec runs in."""
    allowed = spec.get("domains")
    return [d for d in domains if allowed is None or d in allowed]


def validate_methods(methods, domains):
    """Problems of a method mapping that need no model: names, keys, checkpoint folders.

    Arguments
    ---------
    methods : dict
        ``label -> {explainer: name, **options}``.
    domains : list of str
        The masking domains evaluated.

    Returns
    -------
    list of str
        One message per problem (empty when the methods can be built).

    Example
    -------
    >>> validate_methods({"x": {"explainer": "nope"}, "ok": {"explainer": "ones"}}, ["stft"])
    ["method 'x': unknown explainer 'nope' (known: ...)"]
    """
    problems = []
    methods = enabled(methods)
    known = available_explainers()
    for domain in domains:
        if domain not in DOMAINS:
            problems.append(f"unknown domain {domain!r} (choose among {DOMAINS})")
    if not methods:
        problems.append("no methods to evaluate")
    for label, spec in (methods or {}).items():
        where = f"method {label!r}"
        if not isinstance(spec, dict) or "explainer" not in spec:
            problems.append(f"{where}: needs a mapping with an 'explainer' key, got {spec!r}")
            continue
        name = spec["explainer"]
        if name not in known:
            problems.append(f"{where}: unknown explainer {name!r} (known: {', '.join(known)})")
            continue
        bad_domains = [d for d in spec.get("domains") or [] if d not in DOMAINS]
        if bad_domains:
            problems.append(f"{where}: unknown domain(s) {bad_domains} in 'domains'")
        for domain in method_domains(spec, domains):
            for key, value in spec.items():
                if isinstance(value, dict) and value and set(value) <= set(DOMAINS) and domain not in value:
                    problems.append(f"{where}: option {key!r} gives no value for domain {domain!r}")
        if name not in TRAINED_EXPLAINERS:
            continue
        if spec.get("source") is None:
            problems.append(f"{where}: the {name} explainer needs 'source' (its recipe's save folder)")
            continue
        sources = {method_options(spec, d)[1].get("source") for d in method_domains(spec, domains)}
        for source in sorted(str(s) for s in sources if s is not None):
            problems.extend(_checkpoint_problems(where, name, source))
    return problems


def _checkpoint_problems(where, name, source):
    recipe = {"lmac": "train_lmac.py", "l2i": "train_l2i.py"}.get(name, "its training recipe")
    if not os.path.isdir(str(source)):
        return [f"{where}: checkpoint folder not found: {source} (train it with recipes/<DATASET>/{recipe})"]
    try:
        resolve_checkpoint_dir(str(source))
    except FileNotFoundError as err:
        return [f"{where}: {err}"]
    return []


def build_explainers(methods, classifier, domains):
    """Build every ``(domain, label)`` explainer; returns ``(explainers, problems)``.

    Building loads the trained models, so wrong options, a checkpoint of another domain or a
    corrupt file show up here, before any evaluation.
    """
    explainers, problems = {}, []
    for label, spec in enabled(methods).items():
        for domain in method_domains(spec, domains):
            name, options = method_options(spec, domain)
            try:
                explainers[(domain, label)] = build_explainer(name, classifier, domain, **options)
            except Exception as err:  # any failure is a configuration problem to report
                problems.append(f"method {label!r} ({domain}): cannot build {name!r}: {err}")
    return explainers, problems


def validate_configuration(methods, domains, conditions, manifests, sample_rate, clip_seconds, seed=0):
    """Check the whole configuration before any work; return the built conditions.

    Arguments
    ---------
    methods : dict
        ``label -> {explainer: name, **options}``.
    domains : list of str
        Masking domains.
    conditions : dict
        ``label -> {kind: ..., snr_db: ...}`` (see :func:`lmac_brain.evaluation.conditions.build_conditions`).
    manifests : dict
        ``hparams["manifests"]``.
    sample_rate : int
        Pipeline rate.
    clip_seconds : float
        Pipeline clip length.
    seed : int
        Seed of the conditions.

    Returns
    -------
    dict
        ``label -> Condition``.

    Raises
    ------
    EvaluationConfigError
        Listing every problem found (methods, checkpoints, domains, conditions).
    """
    built, problems = build_conditions(conditions, manifests, sample_rate, clip_seconds, seed)
    if not built and not problems:
        problems.append("no conditions to evaluate")
    if not domains:
        problems.append("no domains to evaluate")
    raise_problems(validate_methods(methods, domains) + problems)
    return built


def raise_problems(problems):
    """Raise one :class:`EvaluationConfigError` listing ``problems`` (if any)."""
    if problems:
        raise EvaluationConfigError(
            "The evaluation configuration has %d problem(s); nothing was evaluated:\n  - %s"
            % (len(problems), "\n  - ".join(problems))
        )


# --------------------------------------------------------------------------------------------
# Results files
# --------------------------------------------------------------------------------------------
def read_rows(csv_path):
    """Rows of an existing ``metrics.csv`` (empty list when absent); checks the header."""
    if not os.path.isfile(csv_path):
        return []
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
            raise ValueError(
                f"{csv_path} has header {reader.fieldnames}, expected {list(CSV_COLUMNS)}: "
                "move it away to start afresh"
            )
        return list(reader)


def row_key(row):
    """The identity of a results row: ``(dataset, condition, domain, method)``."""
    return tuple(str(row[k]) for k in KEY_COLUMNS)


def _cell(value):
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return "" if value != value else format(value, ".6g")
    return str(value)


def append_row(csv_path, row):
    """Append one row to ``csv_path`` (writing the header first if the file is new)."""
    new = not os.path.isfile(csv_path) or os.path.getsize(csv_path) == 0
    with open(csv_path, "a", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(CSV_COLUMNS)
        writer.writerow([_cell(row.get(k)) for k in CSV_COLUMNS])


def _seconds(value):
    """Seconds per item with 3 significant digits (too small for the tables' 2 decimals)."""
    return "" if value in (None, "") else format(float(value), ".3g")


def format_markdown(rows, baselines=(), method_order=()):
    """Paper-style Markdown: one table per (dataset, condition, domain), baselines last.

    Arguments
    ---------
    rows : list of dict
        Rows as in ``metrics.csv`` (strings or numbers).
    baselines : collection of str
        Method labels listed last (the all-ones reference).
    method_order : sequence of str
        Preferred order of the other methods (the configuration's).

    Returns
    -------
    str
    """
    def number(value):
        return float(value) if value not in (None, "") else None

    blocks, order = {}, []
    for row in rows:
        key = (row["dataset"], row["condition"], row["domain"])
        if key not in blocks:
            blocks[key] = []
            order.append(key)
        blocks[key].append(row)
    rank = {m: i for i, m in enumerate(method_order)}
    text = []
    for dataset, condition, domain in order:
        block = sorted(
            blocks[(dataset, condition, domain)],
            key=lambda r: (r["method"] in baselines, rank.get(r["method"], len(rank))),
        )
        columns = list(TABLE_COLUMNS)
        columns += [c for c in ("loc_auc", "loc_iou") if any(r.get(c) not in (None, "") for r in block)]
        table = [
            {"method": r["method"], "n": r["n"], **{c: number(r.get(c)) for c in columns},
             "sec/item": _seconds(r.get("sec_per_item"))}
            for r in block
        ]
        title = f"### {dataset}, {condition}, {DOMAIN_LABELS.get(domain, domain)}"
        text += [title, "", format_table(table, ["method", "n"] + columns + ["sec/item"]), ""]
    return "\n".join(text)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------
def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def evaluate_one(classifier, explainer, condition, test_data, domain, loader_options=None,
                 device="cpu", progress_desc=None):
    """Metrics of one ``(condition, domain, method)`` over ``test_data``.

    Arguments
    ---------
    classifier : lmac_brain.models.classifier.AudioClassifier
        The frozen classifier (on ``device``, eval mode).
    explainer : lmac_brain.explainers.Explainer
        The method, built for ``domain``.
    condition : lmac_brain.evaluation.conditions.Condition
        Turns the clean clips into the evaluated mixture.
    test_data : speechbrain.dataio.dataset.DynamicItemDataset
        Yields ``id``, ``sig`` (and ``event_sig`` for localization).
    domain : str
        ``"stft"`` or ``"mel"``.
    loader_options : dict, optional
        ``make_dataloader`` options (batch size, workers); never shuffled.
    device : str
        Where the classifier runs.
    progress_desc : str, optional
        Label of the progress bar.

    Returns
    -------
    dict
        ``n`` (items), the metric means (metrics with no valid item absent) and ``sec_per_item``.
    """
    options = {k: v for k, v in dict(loader_options or {}).items() if k != "shuffle"}
    loader = make_dataloader(test_data, **options)
    accumulator = MetricAccumulator()
    frontend = classifier.frontend
    n_items, seconds = 0, 0.0
    for batch in tqdm(loader, desc=progress_desc, dynamic_ncols=True, leave=False):
        wavs = batch.sig.data
        mixture, _ = condition(wavs, batch.id)
        mixture = mixture.to(device)
        mag, _ = frontend.magnitude_phase(mixture)
        x = classifier.domain_input(mag, domain)
        with torch.no_grad():
            logits_full = classifier.logits_of_input(x, domain)
        target = logits_full.argmax(dim=-1)

        _sync(device)
        start = time.perf_counter()
        mask = explainer(x, target)
        _sync(device)
        seconds += time.perf_counter() - start

        with torch.no_grad():
            logits_in = classifier.logits_of_input(mask * x, domain)
            logits_out = classifier.logits_of_input((1 - mask) * x, domain)
        ibm = None
        if hasattr(batch, "event_sig"):
            event = batch.event_sig.data.to(device)
            event_mag, _ = frontend.magnitude_phase(event)
            rest_mag, _ = frontend.magnitude_phase(mixture - event)
            ibm = ideal_binary_mask(
                classifier.domain_input(event_mag, domain), classifier.domain_input(rest_mag, domain)
            )
        accumulator.update(metrics_per_item(logits_full, logits_in, logits_out, mask, inputs=x, ibm=ibm))
        n_items += wavs.shape[0]
    result = {"n": n_items, **accumulator.summarize()}
    skipped = {k: v for k, v in accumulator.skipped().items() if v}
    if skipped:
        logger.info("%s: items skipped per metric (undefined there): %s", progress_desc, skipped)
    result["sec_per_item"] = seconds / max(n_items, 1)
    return result


def run_evaluation(classifier, dataset_name, test_data, methods, conditions, domains, output_folder,
                   loader_options=None, device="cpu"):
    """Evaluate every ``(condition, domain, method)``; write ``metrics.csv`` and ``metrics.md``.

    Validates everything first (see :func:`validate_configuration`), then skips the rows already
    in ``output_folder/metrics.csv`` and appends each new row as soon as it is done.

    Arguments
    ---------
    classifier : lmac_brain.models.classifier.AudioClassifier
        The trained classifier.
    dataset_name : str
        Value of the ``dataset`` column.
    test_data : speechbrain.dataio.dataset.DynamicItemDataset
        The test set (with ``event_sig`` for localization).
    methods : dict
        ``label -> {explainer: name, **options}``.
    conditions : dict
        ``label -> Condition`` (see :func:`lmac_brain.evaluation.conditions.build_conditions`).
    domains : list of str
        Masking domains.
    output_folder : str
        Where ``metrics.csv`` and ``metrics.md`` go.
    loader_options : dict, optional
        Test loader options.
    device : str
        Device of the classifier and the explainers.

    Returns
    -------
    list of dict
        Every row of the CSV (old and new).
    """
    methods = enabled(methods)
    problems = validate_methods(methods, domains)
    raise_problems(problems)
    device = device or "cpu"
    classifier = classifier.to(device).eval()
    explainers, problems = build_explainers(methods, classifier, domains)
    raise_problems(problems)

    os.makedirs(output_folder, exist_ok=True)
    csv_path = os.path.join(output_folder, "metrics.csv")
    done = {row_key(r) for r in read_rows(csv_path)}
    for condition_label, condition in conditions.items():
        for domain in domains:
            for label, spec in methods.items():
                if (domain, label) not in explainers:
                    continue
                key = (str(dataset_name), condition_label, domain, label)
                if key in done:
                    logger.info("Skipping %s: already in %s", "/".join(key), csv_path)
                    continue
                explainer = explainers[(domain, label)].to(device)
                result = evaluate_one(
                    classifier, explainer, condition, test_data, domain, loader_options, device,
                    progress_desc=f"{condition_label}/{domain}/{label}",
                )
                row = dict(zip(KEY_COLUMNS, key), **result)
                append_row(csv_path, row)
                done.add(key)
                logger.info("%s: %s", "/".join(key),
                            ", ".join(f"{k}={v:.3g}" for k, v in result.items() if k != "n"))
    rows = read_rows(csv_path)
    baselines = {m for m, s in methods.items() if s.get("explainer") == BASELINE_EXPLAINER}
    markdown = format_markdown(rows, baselines, list(methods))
    with open(os.path.join(output_folder, "metrics.md"), "w", encoding="utf-8") as f:
        f.write(markdown + "\n")
    logger.info("Results in %s and metrics.md:\n%s", csv_path, markdown)
    return rows
