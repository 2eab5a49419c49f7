"""train_log.png: parsing SpeechBrain's train_log.txt and drawing the curves."""

import subprocess
import sys

import matplotlib.image
import pytest
from speechbrain.utils.train_logger import FileTrainLogger

from lmac_brain.reporting.training_curves import (
    main,
    panel_keys,
    parse_train_log,
    read_train_log,
    refresh_training_curves,
)


def _write_lmac_log(path):
    """Three epochs as LMACBrain logs them (the first one logged twice: a resumed run) and the test."""
    logger = FileTrainLogger(str(path))
    for epoch, loss in ((1, 2.5), (1, 2.25), (2, -0.512345), (3, 0.75)):
        logger.log_stats(
            stats_meta={"epoch": epoch, "lr": 0.0001},
            train_stats={"loss": loss + 0.1, "n": 48, "MM": 0.5},
            valid_stats={"loss": loss, "n": 24, "AI": 12.5, "FidIn": 0.875, "MM": 0.4 / epoch},
            verbose=False,
        )
    logger.log_stats(stats_meta={"Epoch loaded": 3}, test_stats={"loss": 0.8, "MM": 0.2}, verbose=False)
    return path


def test_parses_the_lines_speechbrain_writes(tmp_path):
    log = _write_lmac_log(tmp_path / "train_log.txt")
    text = log.read_text()
    assert "epoch: 2, lr: 1.00e-04 - train loss: -4.12e-01, train n: 48" in text  # the format parsed
    epochs = read_train_log(log)
    assert sorted(epochs) == [1, 2, 3]
    assert epochs[1]["valid"]["loss"] == 2.25  # the last line of an epoch logged twice
    assert epochs[2]["valid"]["loss"] == -0.512  # as logged: -5.12e-01
    assert epochs[3]["valid"]["MM"] == pytest.approx(0.133)
    assert epochs[3]["valid"]["AI"] == 12.5 and epochs[3]["valid"]["FidIn"] == pytest.approx(0.875)
    assert epochs[3]["train"] == {"loss": 0.85, "n": 48.0, "MM": 0.5}
    assert epochs[3]["meta"] == {"epoch": 3.0, "lr": 0.0001}
    assert panel_keys(epochs) == ["loss", "MM", "FidIn", "AI"]


def test_classifier_log_draws_loss_and_error(tmp_path):
    text = ("epoch: 1, lr: 1.00e-03 - train loss: 1.38 - valid loss: 1.35, valid error: 6.25e-01, "
            "valid accuracy: 3.75e-01\n"
            "epoch: 2, lr: 9.00e-04 - train loss: 1.10 - valid loss: 1.02, valid error: 2.50e-01, "
            "valid accuracy: 7.50e-01\n"
            "Epoch loaded: 2 - test loss: 1.05, test error: 2.92e-01, test accuracy: 7.08e-01\n")
    epochs = parse_train_log(text)
    assert [epochs[e]["valid"]["error"] for e in (1, 2)] == [0.625, 0.25]
    assert panel_keys(epochs) == ["loss", "error"]


@pytest.mark.slow  # a subprocess
def test_command_line_writes_the_png_beside_the_log_or_where_asked(tmp_path):
    (tmp_path / "run").mkdir()
    log = _write_lmac_log(tmp_path / "run" / "train_log.txt")
    assert main([str(log)]) == 0
    figure = matplotlib.image.imread(tmp_path / "run" / "train_log.png")
    assert figure.shape[0] > 200 and figure.shape[1] > 800  # four panels side by side
    out = tmp_path / "elsewhere.png"
    done = subprocess.run([sys.executable, "-m", "lmac_brain.reporting.training_curves", str(log), "-o", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out) and out.stat().st_size > 0


def test_a_log_without_epochs_draws_nothing(tmp_path):
    log = tmp_path / "train_log.txt"
    log.write_text("")
    assert main([str(log)]) == 1
    assert not (tmp_path / "train_log.png").exists()


def test_refresh_never_raises(tmp_path, caplog):
    assert refresh_training_curves(object()) is None  # a logger without a text file
    assert refresh_training_curves(FileTrainLogger(str(tmp_path / "missing.txt"))) is None
    log = _write_lmac_log(tmp_path / "train_log.txt")
    (tmp_path / "train_log.png").mkdir()  # cannot be written
    assert refresh_training_curves(FileTrainLogger(str(log))) is None
    assert "Could not draw the training curves" in caplog.text
