"""Loading a trained classifier: local HF-layout folder, recipe save folder, HF id, errors."""

import pytest
import torch
from speechbrain.lobes.models.Cnn14 import Cnn14 as SpeechBrainCnn14

from lmac_brain.checkpoints import (
    CheckpointSelectionError,
    MissingCheckpointError,
    checkpoint_paths,
    load_pretrained,
    resolve_checkpoint_dir,
)
from lmac_brain.models.cnn14 import Cnn14


@pytest.mark.slow  # builds the paper-size Cnn14
def test_loads_speechbrain_cnn14_esc50_layout_from_local_files(tmp_path):
    torch.manual_seed(0)
    source = tmp_path / "cnn14-esc50"
    source.mkdir()
    reference = SpeechBrainCnn14(mel_bins=40, emb_dim=64).eval()
    head = torch.nn.Linear(64, 50)
    torch.save(reference.state_dict(), source / "embedding_model.ckpt")
    torch.save(head.state_dict(), source / "classifier.ckpt")

    ours, our_head = Cnn14(40, emb_dim=64), torch.nn.Linear(64, 50)
    load_pretrained({"embedding_model": ours, "classifier": our_head}, str(source),
                    collect_in=str(tmp_path / "collected"))
    x = torch.randn(2, 64, 40)
    with torch.no_grad():
        assert torch.allclose(ours.eval()(x), reference(x), atol=1e-5)
    assert torch.equal(our_head.weight, head.weight)


def test_recipe_save_folder_uses_the_best_checkpoint(tmp_path):
    from speechbrain.utils.checkpoints import Checkpointer

    model = torch.nn.Linear(2, 2)
    checkpointer = Checkpointer(tmp_path / "save", recoverables={"classifier": model})
    for error in (0.5, 0.2, 0.4):
        with torch.no_grad():
            model.weight.fill_(error)
        checkpointer.save_checkpoint(meta={"error": error})
    loaded = torch.nn.Linear(2, 2)
    load_pretrained({"classifier": loaded}, str(tmp_path / "save"), str(tmp_path / "c"), min_key="error")
    assert torch.allclose(loaded.weight, torch.full((2, 2), 0.2))


def test_hf_id_maps_to_hub_files_and_missing_local_paths_fail_clearly(tmp_path):
    paths = checkpoint_paths(["embedding_model", "classifier"], "speechbrain/cnn14-esc50")
    assert paths == {
        "embedding_model": "speechbrain/cnn14-esc50/embedding_model.ckpt",
        "classifier": "speechbrain/cnn14-esc50/classifier.ckpt",
    }
    with pytest.raises(MissingCheckpointError, match="python recipes/ESC50/train_classifier.py"):
        checkpoint_paths(["classifier"], "results/esc50/none/1234/save",
                         hint="Train it first: python recipes/ESC50/train_classifier.py")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingCheckpointError, match="No checkpoint"):
        checkpoint_paths(["classifier"], str(tmp_path / "empty"))


def test_checkpoints_without_the_selection_key_are_an_error_not_the_latest(tmp_path):
    from speechbrain.utils.checkpoints import Checkpointer

    model = torch.nn.Linear(2, 2)
    checkpointer = Checkpointer(tmp_path / "save", recoverables={"classifier": model})
    # Intra-epoch checkpoints: written before any validation, so without the validation stats.
    older = checkpointer.save_checkpoint(meta={"end-of-epoch": False})
    latest = checkpointer.save_checkpoint(meta={"end-of-epoch": False})
    with pytest.raises(CheckpointSelectionError) as err:
        load_pretrained({"classifier": torch.nn.Linear(2, 2)}, str(tmp_path / "save"), str(tmp_path / "c"),
                        min_key="error")
    message = str(err.value)
    assert "'error'" in message and str(tmp_path / "save") in message and "CKPT+" in message
    # Explicit choices still work: one checkpoint folder, or no key (the latest, logged as such).
    assert resolve_checkpoint_dir(str(older.path), min_key="error") == str(older.path)
    assert resolve_checkpoint_dir(str(tmp_path / "save")) == str(latest.path)
    # A checkpoint that logged the key is chosen over newer ones that did not.
    with torch.no_grad():
        model.weight.fill_(0.5)
    best = checkpointer.save_checkpoint(meta={"error": 0.5})
    checkpointer.save_checkpoint(meta={"end-of-epoch": False})
    assert resolve_checkpoint_dir(str(tmp_path / "save"), min_key="error") == str(best.path)
