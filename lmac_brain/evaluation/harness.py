"""The evaluation harness: every method, in every condition and masking domain, on one test set.

For each ``(condition, domain, method)`` the harness contaminates the test clips
(:mod:`lmac_brain.evaluation.conditions`), computes the domain input of the mixture, explains the
classifier's own decision ``c = argmax f(X)`` with the method (:mod:`lmac_brain.explainers`),
and scores the mask with :mod:`lmac_brain.metrics` (AI, AD, AG, FF, FidIn, SPS, COMP, MM, and
``loc_auc``/``loc_iou``, and ``SI-SDR``/``SDRi`` of the interpretation waveform, when the items
carry their clean event). ``sec_per_item`` is the
explainer's time only, divided by the number of items. Results go to ``metrics.csv`` and
``metrics.md`` (:mod:`lmac_brain.evaluation.tables`), and every item's values to
``metrics_items.csv`` (for bootstrap intervals over the clips, :mod:`lmac_brain.metrics.bootstrap`).

The protocol (:mod:`lmac_brain.evaluation.protocols`) decides how a mask is applied when the
metrics are computed (``mask_space``), and every row records it; ``accuracy`` is the
classifier's accuracy on the evaluated mixtures (the same for every method of a condition) and
``AD_ref`` the authors' Average Drop (:func:`lmac_brain.metrics.ad_reference_per_item`).
"""

import logging
import math
import os
import time

import torch
from speechbrain.dataio.dataloader import make_dataloader
from tqdm import tqdm

from lmac_brain.audio.masking import check_mask_space, masked_in_out
from lmac_brain.evaluation.methods import (
    build_explainers,
    enabled,
    method_label,
    raise_problems,
    validate_methods,
)
from lmac_brain.evaluation.protocols import check_protocol
from lmac_brain.evaluation.tables import (
    BASELINE_EXPLAINER,
    COUNTED_METRICS,
    ITEM_COLUMNS,
    ITEMS_FILE,
    KEY_COLUMNS,
    append_row,
    format_markdown,
    read_protocol_notes,
    read_rows,
    row_key,
    write_protocol_notes,
)
from lmac_brain.metrics import (
    MetricAccumulator,
    ad_reference_per_item,
    metrics_per_item,
)
from lmac_brain.metrics.ground_truth import event_references
from lmac_brain.metrics.template import TemplateShare
from lmac_brain.reporting.results_csv import append_csv_row

logger = logging.getLogger(__name__)


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def evaluate_one(classifier, explainer, condition, test_data, domain, loader_options=None,
                 device="cpu", progress_desc=None, mask_space="linear", item_values=None):
    """Metrics of one ``(condition, domain, method)`` over ``test_data``.

    Arguments
    ---------
    classifier : lmac_brain.models.classifier.AudioClassifier
        The frozen classifier (on ``device``, eval mode).
    explainer : lmac_brain.explainers.Explainer
        The method, built for ``domain``.
    condition : lmac_brain.evaluation.conditions.Condition
        Turns the clean clips into the evaluated mixture (``condition.copies`` mixtures per item).
    test_data : speechbrain.dataio.dataset.DynamicItemDataset
        Yields ``id``, ``sig``, ``class_index`` (and ``event_sig`` for localization).
    domain : str
        ``"stft"`` or ``"mel"``.
    loader_options : dict, optional
        ``make_dataloader`` options (batch size, workers); never shuffled.
    device : str
        Where the classifier runs.
    progress_desc : str, optional
        Label of the progress bar.
    mask_space : str
        How the masks are applied for the metrics (:func:`~lmac_brain.audio.masking.apply_mask`).
    item_values : list, optional
        Receives one dict per evaluated mixture: ``item`` (its id, ``<id>#k`` for the k-th copy)
        and its value of every metric (``NaN`` where skipped), for bootstrap intervals.

    Returns
    -------
    dict
        ``n`` (evaluated mixtures), ``accuracy`` (of the classifier on them), the metric means
        (metrics with no valid item absent), ``template_share`` of the masks
        (:mod:`lmac_brain.metrics.template`), ``n_<metric>`` (items averaged) for the metrics
        that skip items (:data:`~lmac_brain.evaluation.tables.COUNTED_METRICS`) and
        ``sec_per_item``.
    """
    check_mask_space(mask_space)
    options = {k: v for k, v in dict(loader_options or {}).items() if k != "shuffle"}
    loader = make_dataloader(test_data, **options)
    accumulator = MetricAccumulator()
    template = TemplateShare()
    frontend = classifier.frontend
    n_items, seconds = 0, 0.0
    copies = getattr(condition, "copies", 1)
    for batch in tqdm(loader, desc=progress_desc, dynamic_ncols=True, leave=False):
        wavs = batch.sig.data
        for copy in range(copies):
            mixed = condition.mix(wavs, batch.id, copy)
            mixture = mixed.mixture.to(device)
            mag, phase = frontend.magnitude_phase(mixture)
            x = classifier.domain_input(mag, domain)
            with torch.no_grad():
                logits_full = classifier.logits_of_input(x, domain)
            target = logits_full.argmax(dim=-1)

            _sync(device)
            start = time.perf_counter()
            mask = explainer(x, target)
            _sync(device)
            seconds += time.perf_counter() - start
            template.update(mask)

            masked_in, masked_out = masked_in_out(x, mask, mask_space)
            with torch.no_grad():
                logits_in = classifier.logits_of_input(masked_in, domain)
                logits_out = classifier.logits_of_input(masked_out, domain)
            ibm, per_item = None, {}
            if hasattr(batch, "event_sig"):
                # The clean event as it is in the mixture (scaled with it when normalised).
                event = batch.event_sig.data.to(device) * mixed.gain.to(device).unsqueeze(-1)
                ibm, per_item = event_references(classifier, domain, mixture, mag, phase, mask, event, mask_space)
            per_item.update(metrics_per_item(logits_full, logits_in, logits_out, mask, inputs=x, ibm=ibm))
            per_item["AD_ref"] = ad_reference_per_item(logits_full, logits_in)
            if hasattr(batch, "class_index"):
                labels = torch.as_tensor(batch.class_index).reshape(-1).to(target.device)
                per_item["accuracy"] = (target == labels).to(torch.float64)
            accumulator.update(per_item)
            if item_values is not None:
                columns = {name: values.detach().double().cpu().tolist() for name, values in per_item.items()}
                for i, item_id in enumerate(batch.id):
                    item_values.append({"item": item_id if copy == 0 else f"{item_id}#{copy}",
                                        **{name: values[i] for name, values in columns.items()}})
            n_items += wavs.shape[0]
    counts = accumulator.counts()
    result = {"n": n_items, **accumulator.summarize(),
              **{f"n_{name}": counts[name] for name in COUNTED_METRICS if name in counts}}
    if math.isfinite(template.value()):  # undefined for masks that are all one value
        result["template_share"] = template.value()
    skipped = {k: v for k, v in accumulator.skipped().items() if v}
    if skipped:
        logger.info("%s: items skipped per metric (undefined there): %s", progress_desc, skipped)
    result["sec_per_item"] = seconds / max(n_items, 1)
    return result


def _mean_mask_of(rows, key):
    """The ``MM`` of the row ``key`` (``None`` when that row is not there)."""
    for row in rows:
        if row_key(row) == key and row.get("MM") not in (None, ""):
            return float(row["MM"])
    return None


def run_evaluation(classifier, dataset_name, test_data, methods, conditions, domains, output_folder,
                   loader_options=None, device="cpu", protocol="paper", mask_space="linear",
                   protocol_notes=None):
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
        The evaluated items (with ``event_sig`` for localization).
    methods : dict
        ``key -> {explainer: name, label: row label, **options}``, already resolved for
        ``protocol`` (a method's own ``mask_space`` overrides the protocol's).
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
    protocol : str
        Value of the ``protocol`` column (``paper`` or ``reference``).
    mask_space : str
        How masks are applied for the metrics (``linear`` or ``log1p``).
    protocol_notes : list of str, optional
        Lines describing the protocol's settings, written above its tables in ``metrics.md``.

    Returns
    -------
    list of dict
        Every row of the CSV (old and new).
    """
    check_protocol(protocol)
    check_mask_space(mask_space)
    methods = enabled(methods)
    problems = validate_methods(methods, domains)
    raise_problems(problems)
    device = device or "cpu"
    classifier = classifier.to(device).eval()
    explainers, problems = build_explainers(methods, classifier, domains)
    raise_problems(problems)

    os.makedirs(output_folder, exist_ok=True)
    csv_path = os.path.join(output_folder, "metrics.csv")
    items_path = os.path.join(output_folder, ITEMS_FILE)
    notes = read_protocol_notes(output_folder)
    notes[protocol] = list(protocol_notes or [f"mask space: {mask_space}"])
    write_protocol_notes(output_folder, notes)
    done = {row_key(r) for r in read_rows(csv_path)}
    for condition_label, condition in conditions.items():
        for domain in domains:
            for method, spec in methods.items():
                if (domain, method) not in explainers:
                    continue
                key = (protocol, str(dataset_name), condition_label, domain, method)
                if key in done:
                    logger.info("Skipping %s: already in %s", "/".join(key), csv_path)
                    continue
                space = spec.get("mask_space") or mask_space
                explainer = explainers[(domain, method)].to(device).use_mask_space(space)
                if spec.get("mm_of"):
                    reference = (protocol, str(dataset_name), condition_label, domain, spec["mm_of"])
                    mean_mask = _mean_mask_of(read_rows(csv_path), reference)
                    if mean_mask is None:
                        logger.warning("Skipping %s: no MM of %r in this condition and domain to match",
                                       "/".join(key), spec["mm_of"])
                        continue
                    explainer.value = mean_mask
                items = []
                result = evaluate_one(
                    classifier, explainer, condition, test_data, domain, loader_options, device,
                    progress_desc=f"{protocol}/{condition_label}/{domain}/{method}",
                    mask_space=space, item_values=items,
                )
                row = dict(zip(KEY_COLUMNS, key), label=method_label(method, spec), mask_space=space, **result)
                for item in items:
                    append_csv_row(items_path, ITEM_COLUMNS, {**dict(zip(KEY_COLUMNS, key)), **item})
                append_row(csv_path, row)
                done.add(key)
                logger.info("%s: %s", "/".join(key),
                            ", ".join(f"{k}={v:.3g}" for k, v in result.items() if k != "n"))
    rows = read_rows(csv_path)
    baselines = {m for m, s in methods.items() if s.get("explainer") == BASELINE_EXPLAINER}
    markdown = format_markdown(rows, baselines, list(methods), notes)
    with open(os.path.join(output_folder, "metrics.md"), "w", encoding="utf-8") as f:
        f.write(markdown + "\n")
    logger.info("Results in %s and metrics.md:\n%s", csv_path, markdown)
    return rows
