"""Loading a trained classifier: local HF-layout folder, recipe save folder, HF id, errors."""

import pytest
import torch
from speechbrain.lobes.models.Cnn14 import Cnn14 as SpeechBrainCnn14

from lmac_brain.experiments.pretrained import MissingCheckpointError, checkpoint_paths, load_pretrained
from lmac_brain.models.cnn14 import Cnn14


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
