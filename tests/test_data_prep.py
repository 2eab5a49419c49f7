"""Dataset preparation on tiny synthetic twins of the real layouts."""

import csv
import json
import logging
import os
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from data_prep import (
    DatasetLayoutError,
    prepare_esc50,
    prepare_ljspeech,
    prepare_us8k,
    prepare_wham,
)
from data_prep import download as dl
from data_prep.common import manifest_classes, write_json_atomic
from lmac_brain.synthetic import (
    make_esc50_twin,
    make_ljspeech_twin,
    make_us8k_twin,
    make_wham_twin,
)

N_CLASSES = 3
CLASSIFICATION_KEYS = {"wav", "label", "class_name", "fold", "duration", "sample_rate", "channels"}
GT_KEYS = {"event_wav", "background_wav"}
AUDIO_KEYS = {"wav", "duration", "sample_rate", "channels"}


# --------------------------------------------------------------------------- fixtures
# Twins are generated once per session and copied for each test (copying is cheaper than
# synthesising, and tests mutate their copy).


@pytest.fixture(scope="session")
def twins(tmp_path_factory):
    """``name -> (folder given to the maker, path it returned)``."""
    base = tmp_path_factory.mktemp("twins")
    makers = {
        "esc50": lambda root: make_esc50_twin(root, n_classes=N_CLASSES, clips_per_class_per_fold=1,
                                              signal_length_s=0.5, sample_rate=8000),
        "us8k": lambda root: make_us8k_twin(root, n_classes=N_CLASSES, clips_per_class_per_fold=1,
                                            max_seconds=0.5),
        "wham": lambda root: make_wham_twin(root, files_per_split=(3, 2, 2), seconds=0.5,
                                            sample_rate=8000),
        "ljspeech": lambda root: make_ljspeech_twin(root, n_files=3, seconds=0.5),
    }
    return {name: (base / name, Path(make(base / name))) for name, make in makers.items()}


def _copy(twins, name, tmp_path):
    """Copy twin ``name`` to ``tmp_path/data``; return the copy of the path its maker returned."""
    top, returned = twins[name]
    shutil.copytree(top, tmp_path / "data")
    return tmp_path / "data" / returned.relative_to(top)


@pytest.fixture
def esc50(twins, tmp_path):
    return _copy(twins, "esc50", tmp_path)


@pytest.fixture
def us8k(twins, tmp_path):
    return _copy(twins, "us8k", tmp_path)


@pytest.fixture
def wham_parent(twins, tmp_path):
    """The folder that contains ``wham_noise/``."""
    _copy(twins, "wham", tmp_path)
    assert (tmp_path / "data" / "wham_noise").is_dir()
    return tmp_path / "data"


@pytest.fixture
def lj_parent(twins, tmp_path):
    """The folder that contains ``LJSpeech-1.1/``."""
    _copy(twins, "ljspeech", tmp_path)
    assert (tmp_path / "data" / "LJSpeech-1.1" / "metadata.csv").is_file()
    return tmp_path / "data"


def _root(folder, marker):
    """The dataset root under ``folder``: the folder itself or its sub-folder with ``marker``."""
    folder = Path(folder)
    if (folder / marker).exists():
        return folder
    (child,) = [c for c in folder.iterdir() if (c / marker).exists()]
    return child


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _csv_rows(path):
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _mtimes(paths):
    return {k: os.stat(p).st_mtime_ns for k, p in paths.items()}


def _layout_error(excinfo, *must_contain):
    """The error names the offending path(s) and shows the expected layout."""
    text = str(excinfo.value)
    for piece in must_contain:
        assert str(piece) in text, f"{piece!r} not in error:\n{text}"
    return text


# --------------------------------------------------------------------------- ESC-50


def test_esc50_manifests_follow_the_csv(esc50, tmp_path):
    root = _root(esc50, "meta/esc50.csv")
    _, rows = _csv_rows(root / "meta" / "esc50.csv")
    by_stem = {Path(r["filename"]).stem: r for r in rows}
    paths = prepare_esc50(esc50, tmp_path / "save")
    assert set(paths) == {"train", "valid", "test"}
    classes = dict(zip(sorted({int(r["target"]) for r in rows}), manifest_classes(paths.values())))
    assert len(classes) == N_CLASSES
    expected_folds = {"train": {1, 2, 3}, "valid": {4}, "test": {5}}
    seen = set()
    for split, path in paths.items():
        manifest = _load(path)
        assert manifest, split
        for item_id, entry in manifest.items():
            row = by_stem[item_id]
            assert set(entry) == CLASSIFICATION_KEYS | GT_KEYS
            assert entry["fold"] == int(row["fold"]) and entry["fold"] in expected_folds[split]
            assert entry["label"] == int(row["target"])
            assert entry["class_name"] == row["category"] == classes[entry["label"]]
            assert entry["wav"] == str((root / "audio" / row["filename"]).absolute())
            info = sf.info(entry["wav"])
            assert entry["sample_rate"] == info.samplerate == 8000
            assert entry["channels"] == info.channels
            assert entry["duration"] == pytest.approx(info.frames / info.samplerate)
            assert entry["event_wav"] == str(root / "ground_truth" / "event" / row["filename"])
            assert entry["background_wav"] == str(
                root / "ground_truth" / "background" / row["filename"]
            )
            assert os.path.isabs(entry["wav"]) and os.path.isfile(entry["event_wav"])
            seen.add(item_id)
    assert seen == set(by_stem)  # every row of folds 1-5 is in exactly one split
    assert len(_load(paths["train"])) == 3 * N_CLASSES


def test_esc50_subset_with_non_contiguous_targets_and_esc10(esc50, tmp_path):
    root = _root(esc50, "meta/esc50.csv")
    csv_path = root / "meta" / "esc50.csv"
    header, rows = _csv_rows(csv_path)
    # ESC-50's own numbering: the twin's classes 0, 1, 2 become targets 0, 19, 43 (file names too).
    renumber = {0: 0, 1: 19, 2: 43}
    subset = tmp_path / "subset"
    shutil.copytree(root, subset, ignore=shutil.ignore_patterns("ground_truth"))  # the real layout
    kept = []
    for row in rows:
        target = int(row["target"])
        if target not in renumber:
            os.remove(subset / "audio" / row["filename"])
            continue
        old = row["filename"]
        row["filename"] = re.sub(r"-(\d+)\.wav$", f"-{renumber[target]}.wav", old)
        os.rename(subset / "audio" / old, subset / "audio" / row["filename"])
        row["target"] = str(renumber[target])
        row["esc10"] = str(target != 2)
        kept.append(row)
    _write_csv(subset / "meta" / "esc50.csv", header, kept)
    paths = prepare_esc50(subset, tmp_path / "save")
    names = {int(r["target"]): r["category"] for r in kept}
    assert manifest_classes(paths.values()) == [names[0], names[19], names[43]]
    esc10 = prepare_esc50(subset, tmp_path / "save10", esc10=True)
    assert manifest_classes(esc10.values()) == [names[0], names[19]]
    assert all(e["label"] in (0, 19) for p in esc10.values() for e in _load(p).values())
    # The option is part of the manifests' signature: switching it back rebuilds them.
    again = prepare_esc50(subset, tmp_path / "save10")
    assert manifest_classes(again.values()) == [names[0], names[19], names[43]]


def test_esc50_manifest_loads_in_speechbrain(esc50, tmp_path):
    from speechbrain.dataio.dataset import DynamicItemDataset

    paths = prepare_esc50(esc50, tmp_path / "save")
    data = DynamicItemDataset.from_json(paths["valid"])
    data.set_output_keys(["id", "label", "wav"])
    assert len(data) == N_CLASSES
    assert {item["label"] for item in data} == set(range(N_CLASSES))


def test_esc50_accepts_the_folder_holding_the_dataset(esc50, tmp_path):
    root = _root(esc50, "meta/esc50.csv")
    holder = tmp_path / "holder"
    holder.mkdir()
    shutil.move(str(root), holder / "ESC-50-master")
    paths = prepare_esc50(holder, tmp_path / "save")
    entry = next(iter(_load(paths["test"]).values()))
    assert entry["wav"].startswith(str(holder / "ESC-50-master" / "audio"))


def test_esc50_custom_folds(esc50, tmp_path):
    paths = prepare_esc50(esc50, tmp_path / "save", train_folds=[1], valid_folds=2,
                          test_folds=(3, 4))
    folds = {s: {e["fold"] for e in _load(p).values()} for s, p in paths.items()}
    assert folds == {"train": {1}, "valid": {2}, "test": {3, 4}}


def test_real_layout_without_ground_truth_has_no_gt_fields(esc50, tmp_path):
    shutil.rmtree(_root(esc50, "meta/esc50.csv") / "ground_truth")
    paths = prepare_esc50(esc50, tmp_path / "save")
    for path in paths.values():
        for entry in _load(path).values():
            assert set(entry) == CLASSIFICATION_KEYS


def test_run_on_main_calls_it(esc50, tmp_path):
    from speechbrain.utils.distributed import run_on_main

    run_on_main(prepare_esc50, kwargs={"data_folder": str(esc50),
                                       "save_folder": str(tmp_path / "s")})
    assert len(_load(tmp_path / "s" / "test.json")) == N_CLASSES


# --------------------------------------------------------------------------- ESC-50 errors


def _break_esc50(root, how):
    """Damage the twin at ``root``; return what the error must mention."""
    csv_path = root / "meta" / "esc50.csv"
    header, rows = _csv_rows(csv_path)
    first = root / "audio" / rows[0]["filename"]
    if how == "no_csv":
        csv_path.unlink()
        return [csv_path, "Expected layout", "esc50.csv"]
    if how == "missing_column":
        _write_csv(csv_path, [c for c in header if c != "category"],
                   [{k: v for k, v in r.items() if k != "category"} for r in rows])
        return [csv_path, "category", "Expected layout"]
    if how == "bad_value":
        rows[1]["fold"] = "five"
        _write_csv(csv_path, header, rows)
        return [csv_path, "line 3", "five"]
    if how == "empty_csv":
        _write_csv(csv_path, header, [])
        return [csv_path, "no rows"]
    if how == "missing_wav":
        first.unlink()
        return [first, "do not exist", "Expected layout"]
    if how == "corrupt_wav":
        first.write_bytes(b"RIFF\x00\x00not really a wav file at all")
        return [first, "cannot be read"]
    if how == "empty_wav":
        sf.write(first, np.zeros(0, dtype="float32"), 8000)
        return [first, "no samples"]
    if how == "empty_audio_folder":
        for wav in (root / "audio").glob("*.wav"):
            wav.unlink()
        return [root / "audio", "no .wav files", "Expected layout"]
    if how == "two_names_for_a_label":
        rows[0]["category"] = "renamed_" + rows[0]["category"]
        _write_csv(csv_path, header, rows)
        return [csv_path, rows[0]["category"], "one name and one label"]
    if how == "duplicate_row":
        _write_csv(csv_path, header, rows + [rows[0]])
        return [csv_path, "twice"]
    if how == "name_disagrees_with_row":
        # {fold}-{src}-{take}-{target}.wav renamed to another fold than its row
        rows[0]["filename"] = "9" + rows[0]["filename"][1:]
        os.replace(first, root / "audio" / rows[0]["filename"])
        _write_csv(csv_path, header, rows)
        return [csv_path, rows[0]["filename"]]
    if how == "missing_ground_truth":
        gt = root / "ground_truth" / "event" / rows[0]["filename"]
        gt.unlink()
        return [gt, "ground truth"]
    raise AssertionError(how)


ESC50_BREAKS = [
    "no_csv", "missing_column", "bad_value", "empty_csv", "missing_wav", "corrupt_wav", "empty_wav",
    "empty_audio_folder", "two_names_for_a_label", "duplicate_row", "missing_ground_truth",
]


@pytest.mark.parametrize("how", ESC50_BREAKS)
def test_esc50_broken_layout_raises_one_clear_error(esc50, tmp_path, how):
    root = _root(esc50, "meta/esc50.csv")
    expected = _break_esc50(root, how)
    with pytest.raises(DatasetLayoutError) as excinfo:
        prepare_esc50(root, tmp_path / "save")
    _layout_error(excinfo, *expected)
    assert not (tmp_path / "save" / "train.json").exists()  # nothing half-written


def rows_follow_esc50_names(root):
    _, rows = _csv_rows(root / "meta" / "esc50.csv")
    return all(r["filename"].split("-")[0] == r["fold"] for r in rows)


def test_esc50_file_name_disagreeing_with_row(esc50, tmp_path):
    root = _root(esc50, "meta/esc50.csv")
    if not rows_follow_esc50_names(root):
        pytest.skip("twin file names do not follow {fold}-{src}-{take}-{target}.wav")
    expected = _break_esc50(root, "name_disagrees_with_row")
    with pytest.raises(DatasetLayoutError) as excinfo:
        prepare_esc50(root, tmp_path / "save")
    _layout_error(excinfo, *expected)


def test_esc50_missing_dataset_names_path_layout_and_url(tmp_path):
    with pytest.raises(DatasetLayoutError) as excinfo:
        prepare_esc50(tmp_path / "nothing", tmp_path / "save")
    _layout_error(excinfo, tmp_path / "nothing" / "meta" / "esc50.csv", "Expected layout",
                  "audio/", dl.ESC50_URL)
    assert not (tmp_path / "nothing").exists()  # no download without download=True


@pytest.mark.parametrize(
    "folds, message",
    [
        ({"test_folds": (5, 6)}, "[6]"),  # a fold without items
        ({"valid_folds": (3, 4)}, "fold 3 is listed in two splits"),
        ({"train_folds": (1, 2, 3), "test_folds": (1, 5)}, "fold 1 is listed in two splits"),
    ],
)
def test_esc50_bad_fold_options(esc50, tmp_path, folds, message):
    with pytest.raises(DatasetLayoutError) as excinfo:
        prepare_esc50(esc50, tmp_path / "save", **folds)
    _layout_error(excinfo, message, "esc50.csv")


# --------------------------------------------------------------------------- idempotence


def _records(caplog, text):
    return [r for r in caplog.records if text in r.getMessage()]


def test_esc50_second_call_skips_and_changes_rebuild(esc50, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="data_prep")
    root = _root(esc50, "meta/esc50.csv")
    save = tmp_path / "save"
    paths = prepare_esc50(esc50, save)
    first = _mtimes(paths)
    assert not _records(caplog, "skipping, manifests up to date")

    caplog.clear()
    assert prepare_esc50(esc50, save) == paths
    assert _mtimes(paths) == first  # not rewritten
    assert len(_records(caplog, "skipping, manifests up to date")) == 1

    # touching the csv (new mtime, same content) rebuilds
    csv_path = root / "meta" / "esc50.csv"
    st = os.stat(csv_path)
    os.utime(csv_path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    caplog.clear()
    prepare_esc50(esc50, save)
    assert not _records(caplog, "skipping")
    second = _mtimes(paths)
    assert second != first

    # changing the folds rebuilds, with the new folds
    caplog.clear()
    paths = prepare_esc50(esc50, save, train_folds=(1, 2), valid_folds=(3,), test_folds=(4, 5))
    assert not _records(caplog, "skipping")
    assert {e["fold"] for e in _load(paths["test"]).values()} == {4, 5}
    # ... and going back rebuilds again
    paths = prepare_esc50(esc50, save)
    assert {e["fold"] for e in _load(paths["test"]).values()} == {5}


def test_esc50_csv_content_change_rebuilds(esc50, tmp_path):
    root = _root(esc50, "meta/esc50.csv")
    csv_path = root / "meta" / "esc50.csv"
    paths = prepare_esc50(esc50, tmp_path / "save")
    header, rows = _csv_rows(csv_path)
    old = rows[0]["category"]
    new = "x" * len(old)  # same size ...
    for row in rows:
        if row["category"] == old:
            row["category"] = new
    st = os.stat(csv_path)
    _write_csv(csv_path, header, rows)
    os.utime(csv_path, ns=(st.st_atime_ns, st.st_mtime_ns))  # ... and mtime: the hash catches it
    assert os.stat(csv_path).st_size == st.st_size
    prepare_esc50(esc50, tmp_path / "save")
    assert new in manifest_classes(paths.values())
    assert new in {e["class_name"] for p in paths.values() for e in _load(p).values()}


def test_esc50_audio_change_rebuilds(esc50, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="data_prep")
    root = _root(esc50, "meta/esc50.csv")
    paths = prepare_esc50(esc50, tmp_path / "save")
    entry_id, entry = next(iter(_load(paths["train"]).items()))
    sf.write(entry["wav"], np.zeros(1234, dtype="float32"), 4000)  # new size, rate, duration
    caplog.clear()
    prepare_esc50(esc50, tmp_path / "save")
    assert not _records(caplog, "skipping")
    new = _load(paths["train"])[entry_id]
    assert (new["sample_rate"], new["duration"]) == (4000, pytest.approx(1234 / 4000))
    # an extra wav not listed in the csv changes the file set: rebuild (and it is ignored)
    sf.write(root / "audio" / "extra.wav", np.zeros(10, dtype="float32"), 8000)
    caplog.clear()
    prepare_esc50(esc50, tmp_path / "save")
    assert not _records(caplog, "skipping")
    assert "extra" not in _load(paths["train"])


def test_deleted_or_foreign_manifest_is_rebuilt(esc50, tmp_path):
    paths = prepare_esc50(esc50, tmp_path / "save")
    reference = Path(paths["valid"]).read_text()
    Path(paths["valid"]).unlink()
    prepare_esc50(esc50, tmp_path / "save")
    assert Path(paths["valid"]).read_text() == reference
    Path(paths["valid"]).write_text("{}")  # e.g. another dataset prepared into the same folder
    prepare_esc50(esc50, tmp_path / "save")
    assert Path(paths["valid"]).read_text() == reference


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "m.json"
    write_json_atomic(target, {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(target, {"a": object()})  # fails halfway through json.dump
    assert _load(target) == {"a": 1}
    assert sorted(os.listdir(tmp_path)) == ["m.json"]  # no temporary file left


# --------------------------------------------------------------------------- UrbanSound8K


def test_us8k_manifests(us8k, tmp_path):
    root = _root(us8k, "metadata/UrbanSound8K.csv")
    _, rows = _csv_rows(root / "metadata" / "UrbanSound8K.csv")
    by_stem = {Path(r["slice_file_name"]).stem: r for r in rows}
    paths = prepare_us8k(us8k, tmp_path / "save")
    assert len(manifest_classes(paths.values())) == N_CLASSES
    sizes = {s: len(_load(p)) for s, p in paths.items()}
    assert sizes == {"train": 8 * N_CLASSES, "valid": N_CLASSES, "test": N_CLASSES}
    for split, path in paths.items():
        for item_id, entry in _load(path).items():
            row = by_stem[item_id]
            assert set(entry) == CLASSIFICATION_KEYS | GT_KEYS
            fold_dir = root / "audio" / f"fold{row['fold']}"
            assert entry["wav"] == str(fold_dir / row["slice_file_name"])
            assert (entry["label"], entry["class_name"]) == (int(row["classID"]), row["class"])
            info = sf.info(entry["wav"])
            assert (entry["sample_rate"], entry["channels"]) == (info.samplerate, info.channels)
            assert entry["duration"] == pytest.approx(info.frames / info.samplerate)
            assert os.path.isfile(entry["event_wav"]) and os.path.isfile(entry["background_wav"])
    assert {e["fold"] for e in _load(paths["test"]).values()} == {10}


def test_us8k_configurable_folds(us8k, tmp_path):
    paths = prepare_us8k(us8k, tmp_path / "save", train_folds=range(2, 10), valid_folds=(10,),
                         test_folds=(1,))
    assert {e["fold"] for e in _load(paths["test"]).values()} == {1}
    assert {e["fold"] for e in _load(paths["train"]).values()} == set(range(2, 10))


def test_us8k_missing_says_where_to_get_it(tmp_path):
    with pytest.raises(DatasetLayoutError) as excinfo:
        prepare_us8k(tmp_path / "nope", tmp_path / "save")
    _layout_error(excinfo, tmp_path / "nope" / "metadata" / "UrbanSound8K.csv", "Expected layout",
                  "fold1/", "urbansounddataset", "sign-up")


@pytest.mark.parametrize(
    "how", ["missing_wav", "missing_column", "fold_without_items", "wrong_fold"]
)
def test_us8k_broken_layout(us8k, tmp_path, how):
    root = _root(us8k, "metadata/UrbanSound8K.csv")
    csv_path = root / "metadata" / "UrbanSound8K.csv"
    header, rows = _csv_rows(csv_path)
    if how == "missing_wav":
        wav = root / "audio" / f"fold{rows[0]['fold']}" / rows[0]["slice_file_name"]
        wav.unlink()
        expected = [wav]
    elif how == "missing_column":
        _write_csv(csv_path, [c for c in header if c != "classID"],
                   [{k: v for k, v in r.items() if k != "classID"} for r in rows])
        expected = [csv_path, "classID"]
    elif how == "fold_without_items":
        # remove fold 10 from the csv: the default test fold has no items any more
        _write_csv(csv_path, header, [r for r in rows if r["fold"] != "10"])
        expected = [csv_path, "[10]"]
    else:
        # a wav moved to another fold folder than its row says: missing where the row points
        row = rows[0]
        src = root / "audio" / f"fold{row['fold']}" / row["slice_file_name"]
        other = 1 if row["fold"] != "1" else 2
        os.replace(src, root / "audio" / f"fold{other}" / row["slice_file_name"])
        expected = [src]
    with pytest.raises(DatasetLayoutError) as excinfo:
        prepare_us8k(us8k, tmp_path / "save")
    _layout_error(excinfo, *expected)


# --------------------------------------------------------------------------- WHAM!


@pytest.mark.parametrize("form", ["parent", "wham_noise"])
def test_wham_manifests(wham_parent, tmp_path, form):
    folder = wham_parent if form == "parent" else wham_parent / "wham_noise"
    paths = prepare_wham(folder, tmp_path / "save")
    assert set(paths) == {"tr", "cv", "tt"}
    for split, count in zip(("tr", "cv", "tt"), (3, 2, 2)):
        manifest = _load(paths[split])
        files = sorted((wham_parent / "wham_noise" / split).glob("*.wav"))
        assert sorted(manifest) == [f.stem for f in files] and len(files) == count
        for stem, entry in manifest.items():
            assert set(entry) == AUDIO_KEYS
            assert entry["wav"] == str(wham_parent / "wham_noise" / split / f"{stem}.wav")
            assert entry["sample_rate"] == 8000
            assert entry["duration"] == pytest.approx(0.5, abs=1e-3)


def test_wham_idempotent(wham_parent, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="data_prep")
    paths = prepare_wham(wham_parent, tmp_path / "save")
    before = _mtimes(paths)
    caplog.clear()
    prepare_wham(wham_parent, tmp_path / "save")
    assert _mtimes(paths) == before and _records(caplog, "skipping, manifests up to date")
    new = wham_parent / "wham_noise" / "tr" / "new_noise.wav"
    sf.write(new, np.zeros(80, dtype="float32"), 8000)
    caplog.clear()
    prepare_wham(wham_parent, tmp_path / "save")
    assert not _records(caplog, "skipping")
    assert "new_noise" in _load(paths["tr"])


@pytest.mark.parametrize("how", ["missing_split", "empty_split", "corrupt", "absent"])
def test_wham_broken(wham_parent, tmp_path, how):
    noise = wham_parent / "wham_noise"
    if how == "missing_split":
        shutil.rmtree(noise / "cv")
        expected = [noise / "cv", "missing folder"]
    elif how == "empty_split":
        for wav in (noise / "tt").glob("*.wav"):
            wav.unlink()
        expected = [noise / "tt", "no .wav files"]
    elif how == "corrupt":
        bad = sorted((noise / "tr").glob("*.wav"))[0]
        bad.write_bytes(b"\x00" * 100)
        expected = [bad, "cannot be read"]
    else:
        shutil.rmtree(noise)
        expected = [noise, "folder not found"]
    with pytest.raises(DatasetLayoutError) as excinfo:
        prepare_wham(wham_parent, tmp_path / "save")
    _layout_error(excinfo, "Expected layout", "tr/*.wav", *expected)


# --------------------------------------------------------------------------- LJSpeech


def _lj_metadata(lj_parent):
    lines = (lj_parent / "LJSpeech-1.1" / "metadata.csv").read_text(encoding="utf-8").splitlines()
    return [line.split("|") for line in lines if line.strip()]


@pytest.mark.parametrize("form", ["parent", "LJSpeech-1.1"])
def test_ljspeech_manifest(lj_parent, tmp_path, form):
    folder = lj_parent if form == "parent" else lj_parent / "LJSpeech-1.1"
    manifest = _load(prepare_ljspeech(folder, tmp_path / "save")["all"])
    rows = _lj_metadata(lj_parent)
    assert sorted(manifest) == sorted(r[0] for r in rows) and len(rows) == 3
    for item_id, _, normalized in rows:
        entry = manifest[item_id]
        assert set(entry) == AUDIO_KEYS | {"text"}
        assert entry["text"] == normalized.strip()
        assert entry["wav"] == str(lj_parent / "LJSpeech-1.1" / "wavs" / f"{item_id}.wav")
        assert entry["duration"] == pytest.approx(sf.info(entry["wav"]).duration)


def test_ljspeech_idempotent(lj_parent, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="data_prep")
    paths = prepare_ljspeech(lj_parent, tmp_path / "save")
    before = _mtimes(paths)
    caplog.clear()
    prepare_ljspeech(lj_parent, tmp_path / "save")
    assert _mtimes(paths) == before and _records(caplog, "skipping, manifests up to date")
    meta = lj_parent / "LJSpeech-1.1" / "metadata.csv"
    rows = _lj_metadata(lj_parent)
    meta.write_text("\n".join("|".join(r) for r in rows[:2]) + "\n", encoding="utf-8")
    prepare_ljspeech(lj_parent, tmp_path / "save")
    assert sorted(_load(paths["all"])) == sorted(r[0] for r in rows[:2])


@pytest.mark.parametrize("how", ["no_metadata", "malformed_line", "missing_wav", "no_wavs"])
def test_ljspeech_broken(lj_parent, tmp_path, how):
    lj = lj_parent / "LJSpeech-1.1"
    rows = _lj_metadata(lj_parent)
    if how == "no_metadata":
        (lj / "metadata.csv").unlink()
        expected = [lj / "metadata.csv"]
    elif how == "malformed_line":
        (lj / "metadata.csv").write_text(
            "|".join(rows[0]) + "\n" + rows[1][0] + ",no pipes here\n", encoding="utf-8"
        )
        expected = [lj / "metadata.csv", "line 2"]
    elif how == "missing_wav":
        (lj / "wavs" / f"{rows[1][0]}.wav").unlink()
        expected = [lj / "wavs" / f"{rows[1][0]}.wav", "do not exist"]
    else:
        shutil.rmtree(lj / "wavs")
        expected = [lj / "wavs", "missing folder"]
    with pytest.raises(DatasetLayoutError) as excinfo:
        prepare_ljspeech(lj_parent, tmp_path / "save")
    _layout_error(excinfo, "Expected layout", "metadata.csv", *expected)


# --------------------------------------------------------------------------- downloads


def _zip_tree(src, archive, top):
    """Zip folder ``src`` so that it unpacks to ``top/``."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(Path(src).rglob("*")):
            zf.write(path, Path(top) / path.relative_to(src))
    return archive


def _clean(folder):
    """No hidden leftovers (partial downloads, staging folders) in ``folder``."""
    return not [p for p in os.listdir(folder) if p.startswith(".")]


def test_esc50_download_from_a_local_archive(esc50, tmp_path):
    archive = _zip_tree(_root(esc50, "meta/esc50.csv"), tmp_path / "master.zip", "ESC-50-master")
    target = tmp_path / "downloads"
    paths = prepare_esc50(target, tmp_path / "save", download=True, url=archive)
    assert (target / "ESC-50-master" / "meta" / "esc50.csv").is_file()
    assert sorted(os.listdir(target)) == ["ESC-50-master"]
    assert len(_load(paths["train"])) == 3 * N_CLASSES
    # found on the next call: no second download (the archive is gone)
    archive.unlink()
    assert prepare_esc50(target, tmp_path / "save", download=True, url=archive) == paths


def test_wham_download_into_the_parent_of_wham_noise(wham_parent, tmp_path):
    archive = _zip_tree(wham_parent / "wham_noise", tmp_path / "wham_noise.zip", "wham_noise")
    target = tmp_path / "dl" / "wham_noise"  # the user named the noise folder itself
    paths = prepare_wham(target, tmp_path / "save", download=True, url=archive)
    assert len(_load(paths["tr"])) == 3
    assert sorted(os.listdir(tmp_path / "dl")) == ["wham_noise"]


def test_ljspeech_download_tar_bz2(lj_parent, tmp_path):
    archive = tmp_path / "LJSpeech-1.1.tar.bz2"
    with tarfile.open(archive, "w:bz2") as tf:
        tf.add(lj_parent / "LJSpeech-1.1", arcname="LJSpeech-1.1")
    paths = prepare_ljspeech(tmp_path / "dl", tmp_path / "save", download=True,
                             url=archive)
    assert len(_load(paths["all"])) == 3
    assert _clean(tmp_path / "dl")


def test_failed_downloads_leave_nothing_that_looks_complete(esc50, tmp_path, monkeypatch):
    dest = tmp_path / "dest"
    # missing URL
    with pytest.raises(OSError):
        dl.download_and_extract(tmp_path / "absent.zip", dest)
    assert os.listdir(dest) == []
    # truncated archive
    full = _zip_tree(_root(esc50, "meta/esc50.csv"), tmp_path / "full.zip", "ESC-50-master")
    cut = tmp_path / "cut.zip"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(Exception):
        dl.download_and_extract(cut, dest)
    assert os.listdir(dest) == []
    # interrupted in the middle of the extraction (Ctrl-C)
    real_extract = dl.extract_archive

    def half_extract(archive, staging):
        real_extract(archive, staging)
        meta = Path(staging) / "ESC-50-master" / "meta" / "esc50.csv"
        assert meta.is_file()  # the half-made dataset exists, but only in the staging folder
        raise KeyboardInterrupt

    monkeypatch.setattr(dl, "extract_archive", half_extract)
    with pytest.raises(KeyboardInterrupt):
        prepare_esc50(dest, tmp_path / "save", download=True, url=full)
    assert os.listdir(dest) == []
    monkeypatch.setattr(dl, "extract_archive", real_extract)
    # the next call downloads for real
    prepare_esc50(dest, tmp_path / "save", download=True, url=full)
    assert sorted(os.listdir(dest)) == ["ESC-50-master"]


def test_download_never_overwrites(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("top/new.txt", "new")
    (tmp_path / "dest" / "top").mkdir(parents=True)
    (tmp_path / "dest" / "top" / "mine.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="top"):
        dl.download_and_extract(archive, tmp_path / "dest")
    assert os.listdir(tmp_path / "dest" / "top") == ["mine.txt"]
    assert _clean(tmp_path / "dest")


def test_download_refuses_paths_outside_the_destination(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escaped.txt", "x")
    with pytest.raises(ValueError, match="outside"):
        dl.download_and_extract(archive, tmp_path / "dest")
    assert not (tmp_path / "escaped.txt").exists()
    assert os.listdir(tmp_path / "dest") == []
