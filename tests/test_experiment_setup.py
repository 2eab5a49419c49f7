"""The recipes' set-up: SpeechBrain's label encoder built from (or taken for) the data."""

import json

import pytest

from data_prep.common import DatasetLayoutError
from lmac_brain.experiments.setup import class_names, load_or_create_label_encoder


def _manifests(tmp_path, classes_by_split):
    manifests = {}
    for split, items in classes_by_split.items():
        path = tmp_path / f"{split}.json"
        path.write_text(json.dumps({f"{split}{i}": {"label": label, "class_name": name}
                                    for i, (label, name) in enumerate(items)}))
        manifests[split] = str(path)
    return manifests


def test_classes_are_numbered_in_the_datasets_order_and_saved(tmp_path):
    manifests = _manifests(tmp_path, {"train": [(43, "birds"), (0, "dog")], "valid": [(19, "storm")],
                                      "test": [(0, "dog")]})
    encoder = load_or_create_label_encoder(manifests, tmp_path / "save")
    assert class_names(encoder) == ["dog", "storm", "birds"]
    assert (tmp_path / "save" / "label_encoder.txt").is_file()
    # A rerun (resume) loads the file.
    again = load_or_create_label_encoder(manifests, tmp_path / "save")
    assert class_names(again) == ["dog", "storm", "birds"]


def test_an_interpreter_takes_the_classifiers_encoder(tmp_path):
    full = _manifests(tmp_path, {"train": [(0, "dog"), (19, "storm"), (43, "birds")], "valid": [], "test": []})
    classifier_save = tmp_path / "classifier" / "save"
    load_or_create_label_encoder(full, classifier_save)
    (tmp_path / "sub").mkdir()
    subset = _manifests(tmp_path / "sub",
                        {"train": [(43, "birds")], "valid": [], "test": [(0, "dog")]})
    encoder = load_or_create_label_encoder(subset, tmp_path / "lmac" / "save", classifier_source=classifier_save)
    assert class_names(encoder) == ["dog", "storm", "birds"]  # the classifier's outputs, not the subset's


def test_classes_the_encoder_does_not_know_are_refused(tmp_path):
    classifier_save = tmp_path / "classifier" / "save"
    load_or_create_label_encoder(_manifests(tmp_path, {"train": [(0, "dog")], "valid": [], "test": []}),
                                 classifier_save)
    (tmp_path / "other").mkdir()
    other = _manifests(tmp_path / "other", {"train": [(0, "dog"), (5, "rain")], "valid": [], "test": []})
    with pytest.raises(DatasetLayoutError, match="rain"):
        load_or_create_label_encoder(other, tmp_path / "lmac" / "save", classifier_source=classifier_save)
