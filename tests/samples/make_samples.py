"""Write the small datasets under tests/samples/ (committed; rerun this to rebuild them).

    python tests/samples/make_samples.py

They have the real on-disk layouts, no ``ground_truth/`` (as the real datasets) and classes that
are a non-contiguous subset of the real numbering, so every recipe must number the classes
itself (SpeechBrain's label encoder):

- ``ESC50/``: ``audio/{fold}-{src}-{take}-{target}.wav`` (44.1 kHz, 1 s) + ``meta/esc50.csv``,
  targets 0, 19, 43 (dog, thunderstorm, chirping_birds), two clips of two classes per fold;
  the ``esc10`` column marks dog and thunderstorm.
- ``UrbanSound8k/``: ``audio/fold{1..10}/*.wav`` (mixed rates, some stereo, <= 1 s) +
  ``metadata/UrbanSound8K.csv``, classIDs 1, 3, 8 (car_horn, dog_bark, siren).
- ``WHAM/wham_noise/{tr,cv,tt}/``: one stereo 16 kHz noise file each.

The audio comes from the synthetic twins (``lmac_brain.synthetic``), relabelled.
"""

import csv
import shutil
import tempfile
from pathlib import Path

from lmac_brain.synthetic import make_esc50_twin, make_us8k_twin, make_wham_twin

HERE = Path(__file__).resolve().parent
ESC50_CLASSES = {0: (0, "dog", True), 1: (19, "thunderstorm", True), 2: (43, "chirping_birds", False)}
US8K_CLASSES = {0: (1, "car_horn"), 1: (3, "dog_bark"), 2: (8, "siren")}


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def _write(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def make_esc50(tmp):
    twin = make_esc50_twin(tmp / "esc50", n_classes=3, clips_per_class_per_fold=1, signal_length_s=1.0,
                           seed=1)
    out = HERE / "ESC50"
    shutil.rmtree(out, ignore_errors=True)
    header, rows = _rows(twin / "meta" / "esc50.csv")
    kept = []
    for row in rows:
        fold, twin_class = int(row["fold"]), int(row["target"])
        if twin_class not in ((fold - 1) % 3, fold % 3):  # two classes per fold, all three over 5 folds
            continue
        target, category, esc10 = ESC50_CLASSES[twin_class]
        name = f"{fold}-{row['src_file']}-{row['take']}-{target}.wav"
        (out / "audio").mkdir(parents=True, exist_ok=True)
        shutil.copy(twin / "audio" / row["filename"], out / "audio" / name)
        kept.append({**row, "filename": name, "target": target, "category": category, "esc10": str(esc10)})
    _write(out / "meta" / "esc50.csv", header, kept)


def make_us8k(tmp):
    twin = make_us8k_twin(tmp / "us8k", n_classes=3, clips_per_class_per_fold=1, max_seconds=1.0, seed=1)
    out = HERE / "UrbanSound8k"
    shutil.rmtree(out, ignore_errors=True)
    header, rows = _rows(twin / "metadata" / "UrbanSound8K.csv")
    kept = []
    for row in rows:
        fold, twin_class = int(row["fold"]), int(row["classID"])
        if fold not in (1, 2, 9, 10) or (fold in (1, 2) and twin_class == fold):
            continue  # folds 1-2 train (two classes each), 9 valid, 10 test (all three)
        class_id, name = US8K_CLASSES[twin_class]
        parts = row["slice_file_name"].split("-")
        file_name = "-".join([parts[0], str(class_id), *parts[2:]])
        (out / "audio" / f"fold{fold}").mkdir(parents=True, exist_ok=True)
        shutil.copy(twin / "audio" / f"fold{fold}" / row["slice_file_name"], out / "audio" / f"fold{fold}" / file_name)
        kept.append({**row, "slice_file_name": file_name, "classID": class_id, "class": name})
    _write(out / "metadata" / "UrbanSound8K.csv", header, kept)


def make_wham(tmp):
    twin = make_wham_twin(tmp / "wham", files_per_split=(1, 1, 1), seconds=1.5, seed=1)
    out = HERE / "WHAM"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(twin / "wham_noise", out / "wham_noise")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        make_esc50(Path(tmp))
        make_us8k(Path(tmp))
        make_wham(Path(tmp))
    for path in sorted(HERE.rglob("*")):
        if path.is_file() and path.suffix in (".wav", ".csv"):
            print(path.relative_to(HERE), path.stat().st_size)
