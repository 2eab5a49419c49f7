"""The two evaluation protocols (docs/protocols.md): each switch the reference protocol flips,
checked on tiny tensors and signals, and the tables that put our numbers beside the paper's."""

import csv
import json
import math
from pathlib import Path

import pytest
import speechbrain as sb
import torch
from conftest import load_recipe, plain_hparams, run_recipe
from torch import nn

from data_prep import prepare_esc50, prepare_ljspeech, prepare_wham
from lmac_brain.audio.masking import apply_mask, masked_in_out
from lmac_brain.audio.reading import read_clip
from lmac_brain.audio.spectral import SpectralFrontEnd
from lmac_brain.brains.lmac import binarized_target, guidance_loss
from lmac_brain.data.pipelines import classification_dataset
from lmac_brain.evaluation.conditions import build_condition, build_conditions
from lmac_brain.evaluation.methods import select_protocol
from lmac_brain.evaluation.paper_tables import format_paper_tables
from lmac_brain.evaluation.protocols import PROTOCOLS, protocol_choices, resolve
from lmac_brain.evaluation.published import PAPER_ROWS
from lmac_brain.evaluation.tables import CSV_COLUMNS, format_markdown
from lmac_brain.experiments.setup import load_or_create_label_encoder
from lmac_brain.explainers.gradient import GradCamExplainer, GradientShapExplainer, cam_to_input
from lmac_brain.explainers.l2i import load_l2i
from lmac_brain.metrics import ad_reference_per_item, faithfulness_per_item
from lmac_brain.models.classifier import AudioClassifier
from lmac_brain.models.cnn14 import Cnn14
from lmac_brain.models.decoder import build_decoder
from lmac_brain.models.l2i import Psi, Theta, build_theta
from lmac_brain.models.nmf import NMFDictionary
from lmac_brain.synthetic import make_esc50_twin, make_ljspeech_twin, make_wham_twin

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE, CLIP_SECONDS = 16000, 1.0
FILLED = {"dataset": "esc50", "data_folder": "/data", "out_n_neurons": 10}


# The models here are tiny: threads only add contention on a shared CPU.
pytestmark = pytest.mark.usefixtures("one_thread")


def eval_yaml(name="eval_cnn14_compact.yaml", **overrides):
    return plain_hparams(ROOT / "hparams" / name, {**FILLED, **overrides})


# ------------------------------------------------------------------------------------------
# The switch itself
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["eval_cnn14.yaml", "eval_cnn14_compact.yaml"])
def test_one_key_selects_every_setting(name):
    plain = eval_yaml(name)
    assert plain["protocol"] == "paper"
    paper, reference = (resolve(plain, p) for p in PROTOCOLS)
    assert (paper["eval_split"], reference["eval_split"]) == ("test", "valid")
    assert (paper["mask_space"], reference["mask_space"]) == ("linear", "log1p")
    assert reference["conditions"]["id"] == {"snr_db": 0.0, "normalize": "max", "noise_split": "tr"}
    assert reference["conditions"]["ood_mix"] == {
        "snr_db": 12.0412, "normalize": "max", "copies": 2, "other_class": False, "partners": "test"}
    assert reference["conditions"]["white_noise"]["snr_db"] == 6.0206
    assert reference["conditions"]["speech"]["snr_db"] == 12.0412
    methods = reference["methods"]
    assert methods["smoothgrad"]["nt_samples"] == 50
    assert (methods["gradcam"]["relu"], methods["gradcam"]["upsampling"]) == (False, "stretch")
    assert methods["shap"]["baseline_scale"] == 1.0
    assert methods["lmac_ft_lg4"]["source"]["stft"].endswith("_ft_reference/1234/save")
    assert methods["l2i_rt02"]["source"].endswith("_reference/1234/save")
    assert methods["lmac"]["source"] == paper["methods"]["lmac"]["source"]  # one first stage for both
    # The paper protocol keeps the values the recipes always ran with.
    assert paper["conditions"]["id"]["snr_db"] == [0.0, 15.0] and paper["conditions"]["ood_mix"]["snr_db"] == 0.0
    assert "reference" not in paper["methods"]["lmac_ft_lg4"]["source"]["stft"]
    # A single switch can be flipped from the command line without the others.
    one = resolve(eval_yaml(name, protocol="reference", mask_space="linear"), "reference")
    assert one["mask_space"] == "linear" and one["eval_split"] == "valid"


def test_every_switch_is_documented():
    docs = (ROOT / "docs" / "protocols.md").read_text(encoding="utf-8")
    for name in ("eval_cnn14.yaml", "eval_cnn14_compact.yaml"):
        paths = [path for path, _ in protocol_choices(eval_yaml(name), "reference") if ".source" not in path]
        switches = {p for p in paths if "." not in p and not p.endswith("_source")}
        switches |= {p.split(".")[-1] for p in paths if "." in p and p.split(".")[-1] != "source"}
        assert {"eval_split", "mask_space", "id_snr_db", "relu", "nt_samples", "snr_db"} <= switches
        for switch in switches:
            assert f"`{switch}`" in docs, f"docs/protocols.md does not document {switch}"
    for key in ("guidance_gate", "theta_pooling", "fid_class_mean", "alpha", "beta", "AD_ref", "partners"):
        assert f"`{key}`" in docs


def test_resolution_reports_missing_values():
    methods, problems = select_protocol({"a": {"explainer": "ig", "n_steps": {"paper": 5}}}, "reference")
    assert methods["a"] is None and "n_steps" in problems[0]
    _, problems = build_conditions({"id": {"snr_db": {"paper": 1.0}}}, {}, SAMPLE_RATE, CLIP_SECONDS,
                                   protocol="reference")
    assert "snr_db" in problems[0] and "reference" in problems[0]


# ------------------------------------------------------------------------------------------
# Contamination, measured on the signals
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("protocols")
    make_esc50_twin(root / "esc", n_classes=3, clips_per_class_per_fold=2, signal_length_s=CLIP_SECONDS,
                    seed=0)
    make_wham_twin(root / "wham", files_per_split=(3, 1, 3), seconds=1.5)
    make_ljspeech_twin(root / "lj", n_files=3, seconds=1.2)
    manifests = dict(prepare_esc50(root / "esc", root / "manifests"))
    manifests["wham"] = prepare_wham(root / "wham", root / "manifests" / "wham")
    manifests["ljspeech"] = prepare_ljspeech(root / "lj", root / "manifests" / "ljspeech")
    encoder = load_or_create_label_encoder(manifests, root / "save")
    splits = {}
    for split in ("valid", "test"):
        ds = classification_dataset(manifests[split], SAMPLE_RATE, CLIP_SECONDS, encoder)
        items = [ds[i] for i in range(len(ds))]
        splits[split] = ([it["id"] for it in items], torch.stack([it["sig"] for it in items]))
    return {"manifests": manifests, "splits": splits, "root": root}


def reference_conditions(data):
    config = eval_yaml()["conditions"]
    built, problems = build_conditions(config, data["manifests"], SAMPLE_RATE, CLIP_SECONDS, seed=3,
                                       protocol="reference", eval_split="valid")
    assert not problems
    return built


def snr_db(signal, added):
    return 10 * torch.log10(signal.pow(2).mean(-1) / added.pow(2).mean(-1))


@pytest.mark.parametrize("kind,expected", [("id", 0.0), ("ood_mix", 12.0412), ("white_noise", 6.0206), ("speech", 12.0412)])
def test_reference_levels_measured_on_the_mixtures(kind, expected, data):
    condition = reference_conditions(data)[kind]
    ids, wavs = data["splits"]["valid"]
    for copy in range(condition.copies):
        mixture, added, gain = condition.mix(wavs, ids, copy)
        clip = gain.unsqueeze(-1) * wavs
        torch.testing.assert_close(mixture, clip + added)
        measured = snr_db(clip, added)
        torch.testing.assert_close(measured, torch.full_like(measured, expected), rtol=0, atol=1e-3)
        # Peak-normalised as the authors' code does: the largest sample value is 1.
        torch.testing.assert_close(mixture.amax(dim=-1), torch.ones(len(ids)))


def test_reference_mixture_is_the_authors_formula(data):
    """0.8 s/|s| + 0.2 p/|p|, divided by its max, with s from fold 4 and p from fold 5."""
    condition = reference_conditions(data)["ood_mix"]
    ids, wavs = data["splits"]["valid"]
    test_manifest = json.loads(Path(data["manifests"]["test"]).read_text())
    partners = {copy: [condition.partner(f"{i}#{copy}" if copy else i) for i in ids] for copy in range(2)}
    assert all(p in test_manifest for ps in partners.values() for p in ps)  # partners: the test fold
    assert any(a != b for a, b in zip(partners[0], partners[1]))  # two draws per clip
    for copy in range(2):
        mixture, _ = condition(wavs, ids, copy)
        for row, s, partner in zip(mixture, wavs, partners[copy]):
            p = read_clip(test_manifest[partner]["wav"], SAMPLE_RATE, CLIP_SECONDS)
            authors = 0.8 * s / s.norm() + 0.2 * p / p.norm()
            torch.testing.assert_close(row, authors / authors.max(), rtol=0, atol=1e-5)
    # The authors draw partners of any class: with 3 classes some draw shares the clip's class.
    labels = {k: e["label"] for k, e in test_manifest.items()}
    valid = json.loads(Path(data["manifests"]["valid"]).read_text())
    assert any(labels[p] == valid[i]["label"] for ps in partners.values() for i, p in zip(ids, ps))


def test_reference_white_noise_and_wham_are_the_authors_formulas(data):
    built = reference_conditions(data)
    ids, wavs = data["splits"]["valid"]
    _, added, gain = built["white_noise"].mix(wavs, ids)
    noise = added / gain.unsqueeze(-1)
    authors = wavs / wavs.norm(dim=-1, keepdim=True) + 0.5 * noise / noise.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(built["white_noise"](wavs, ids)[0], authors / authors.amax(-1, keepdim=True),
                               rtol=0, atol=1e-5)
    assert built["id"].split == "tr"  # the authors add WHAM!'s training noise


def test_paper_protocol_mixtures_are_unchanged(data):
    config = eval_yaml()["conditions"]
    built, _ = build_conditions(config, data["manifests"], SAMPLE_RATE, CLIP_SECONDS, seed=3, protocol="paper")
    ids, wavs = data["splits"]["test"]
    for kind, snr in (("id", (0.0, 15.0)), ("ood_mix", 0.0), ("white_noise", 3.0), ("speech", 3.0)):
        before = build_condition(kind, data["manifests"], SAMPLE_RATE, CLIP_SECONDS, 3, snr_db=snr)
        assert built[kind].copies == 1 and built[kind].normalize is None
        torch.testing.assert_close(built[kind](wavs, ids)[0], before(wavs, ids)[0], rtol=0, atol=0)


# ------------------------------------------------------------------------------------------
# Masks in log1p space; AD_ref
# ------------------------------------------------------------------------------------------
def test_log1p_mask_space():
    x = torch.tensor([[0.0, 1.0, 99.0, 1e3]])
    half = torch.full_like(x, 0.5)
    torch.testing.assert_close(apply_mask(x, half, "log1p"), torch.sqrt(1 + x) - 1)
    ones, zeros = torch.ones_like(x), torch.zeros_like(x)
    assert torch.equal(apply_mask(x, ones, "log1p"), x) and torch.equal(apply_mask(x, zeros, "log1p"), zeros)
    masked_in, masked_out = masked_in_out(x, half, "log1p")
    assert torch.equal(masked_in, masked_out)
    # What the classifier reads: log1p of the masked magnitude is the mask times log1p|X|.
    torch.testing.assert_close(torch.log1p(apply_mask(x, half * 0.3, "log1p")), 0.15 * torch.log1p(x))
    with pytest.raises(ValueError, match="mask_space"):
        apply_mask(x, half, "log")


def test_ad_ref_against_ad_on_known_values():
    p_full = torch.tensor([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05]], dtype=torch.float64)
    p_in = torch.tensor([[0.25, 0.5, 0.25], [0.95, 0.03, 0.02]], dtype=torch.float64)
    ad = faithfulness_per_item(p_full.log(), p_in.log(), p_in.log())["AD"]
    ad_ref = ad_reference_per_item(p_full.log(), p_in.log())
    torch.testing.assert_close(ad, torch.tensor([50.0, 0.0], dtype=torch.float64))
    # By hand: softmax([.5, .3, .2])_0 = e^.5 / (e^.5 + e^.3 + e^.2), and so on.
    q_full = math.exp(0.5) / (math.exp(0.5) + math.exp(0.3) + math.exp(0.2))
    q_in = math.exp(0.25) / (2 * math.exp(0.25) + math.exp(0.5))
    assert ad_ref[0].item() == pytest.approx(100 * (q_full - q_in) / q_full, abs=1e-9)
    assert ad_ref[0].item() == pytest.approx(22.06, abs=0.01) and ad_ref[1].item() == 0.0
    # Bounded by 100 (1 - 1/e) when a certain decision is sent to another class.
    certain, moved = torch.tensor([[30.0, 0.0, 0.0]]), torch.tensor([[0.0, 30.0, 0.0]])
    assert ad_reference_per_item(certain, moved).item() == pytest.approx(100 * (1 - 1 / math.e), abs=1e-6)
    assert faithfulness_per_item(certain, moved, moved)["AD"].item() == pytest.approx(100.0)


def test_ad_ref_on_two_classes_worked_out_by_hand():
    """AD_ref against numbers worked out on paper, not against a re-typed double softmax.

    With two classes, softmax([a, b])_0 = 1 / (1 + e^(b - a)) = sigmoid(a - b), so the second
    softmax the authors' code applies to probabilities [p, 1 - p] gives sigmoid(2p - 1):

    - item 0: p(X) = [0.8, 0.2], c = 0, q(X)_0 = sigmoid(0.6) = 0.645656;
      p(M*X) = [0.3, 0.7], q(M*X)_0 = sigmoid(-0.4) = 0.401312;
      AD_ref = 100 * (0.645656 - 0.401312) / 0.645656 = 37.8443,
      where the paper's AD is 100 * (0.8 - 0.3) / 0.8 = 62.5;
    - item 1: p(X) = [0.4, 0.6], c = 1, q(X)_1 = sigmoid(0.2) = 0.549834;
      p(M*X) = [0.1, 0.9], q(M*X)_1 = sigmoid(0.8) = 0.689974 > q(X)_1: AD_ref = 0 (and AD = 0).
    """
    p_full = torch.tensor([[0.8, 0.2], [0.4, 0.6]], dtype=torch.float64)
    p_in = torch.tensor([[0.3, 0.7], [0.1, 0.9]], dtype=torch.float64)
    ad_ref = ad_reference_per_item(p_full.log(), p_in.log())
    assert ad_ref[0].item() == pytest.approx(37.8443, abs=1e-4)
    assert ad_ref[1].item() == 0.0
    ad = faithfulness_per_item(p_full.log(), p_in.log(), p_in.log())["AD"]
    assert ad.tolist() == pytest.approx([62.5, 0.0], abs=1e-9)


# ------------------------------------------------------------------------------------------
# Baseline variants
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(0)
    fe = SpectralFrontEnd(16000, 256, 16, 16, n_mels=32)
    return AudioClassifier(fe, Cnn14(32, base_channels=4), nn.Linear(128, 5)).eval()


def test_gradcam_reference_variant_shape_and_sign(classifier):
    mag = classifier.frontend.magnitude_phase(torch.randn(3, 8000))[0]
    target = torch.tensor([0, 1, 2])
    ours = GradCamExplainer(classifier, "stft")
    authors = GradCamExplainer(classifier, "stft", relu=False, upsampling="stretch", interpolate_mode="nearest")
    cam_ours, cam_authors = ours.cam(mag, target), authors.cam(mag, target)
    assert bool((cam_ours >= 0).all()) and bool((cam_authors < 0).any())  # no ReLU: negative evidence
    torch.testing.assert_close(cam_ours, cam_authors.clamp_min(0))
    for explainer in (ours, authors):
        assert explainer.attribute(mag, target).shape == mag.shape
        mask = explainer(mag, target)
        assert mask.shape == mag.shape and float(mask.min()) >= 0 and float(mask.max()) == 1.0
    # Negative CAM cells become mask through |attr|: the reference mask is 1 where the CAM is most negative.
    attr = authors.attribute(mag, target)
    assert bool((authors(mag, target)[attr < 0] > 0).any())
    # Stretched linearly over the STFT bins (captum's interpolation), not mapped through the filterbank.
    stretched = cam_to_input(cam_authors, mag.shape[1], classifier.frontend.mel_matrix, "stft",
                             upsampling="stretch", mode="nearest")
    torch.testing.assert_close(stretched, authors.attribute(mag, target))
    torch.testing.assert_close(stretched[:, :, -1], stretched[:, :, -2])  # top cell spans the top bins
    assert not torch.allclose(ours.attribute(mag, target), authors.attribute(mag, target).clamp_min(0))
    mel = classifier.domain_input(mag, "mel")
    assert GradCamExplainer(classifier, "mel", relu=False, upsampling="stretch").attribute(mel, target).shape == mel.shape
    with pytest.raises(ValueError, match="upsampling"):
        GradCamExplainer(classifier, "stft", upsampling="linear")


def test_shap_reference_baselines(classifier, monkeypatch):
    seen = []
    import captum.attr

    real = captum.attr.GradientShap.attribute

    def spy(self, inputs, baselines=None, **kwargs):
        seen.append((inputs.clone(), baselines.clone()))
        return real(self, inputs, baselines=baselines, **kwargs)

    monkeypatch.setattr(captum.attr.GradientShap, "attribute", spy)
    mag = classifier.frontend.magnitude_phase(torch.randn(1, 8000))[0]
    GradientShapExplainer(classifier, "stft", n_samples=2, baseline_scale=1.0)(mag, torch.tensor([0]))
    _, baselines = seen[0]
    assert torch.equal(baselines[0], torch.zeros_like(mag[0])) and torch.equal(baselines[1], mag[0])


# ------------------------------------------------------------------------------------------
# L2I as the authors train it
# ------------------------------------------------------------------------------------------
def test_l2i_attention_pooling_and_checkpoint(classifier, tmp_path):
    theta = build_theta(6, 5, "attention", classifier.frontend, 0.5)
    n_frames = classifier.frontend.n_frames(8000)
    assert theta.attention.in_features == n_frames and theta.attention.bias is None
    H = torch.rand(2, 6, n_frames)
    torch.testing.assert_close(theta.pool(H), H @ theta.attention.weight[0])
    assert theta.pool(H[..., :-3]).shape == (2, 6)  # shorter: zero-padded
    assert theta.relevance(H, torch.tensor([0, 1])).max() <= 1
    psi = Psi(classifier.embedding_model.hidden_channels, 6, width=8)
    nmf = NMFDictionary(classifier.frontend.n_freq, 6)
    nmf.W = torch.rand(classifier.frontend.n_freq, 6)
    torch.save(psi.state_dict(), tmp_path / "psi.ckpt")
    torch.save(theta.state_dict(), tmp_path / "theta.ckpt")
    nmf.save(tmp_path / "nmf.ckpt")
    _, loaded, _ = load_l2i(classifier, str(tmp_path))
    assert loaded.pooling == "attention"
    torch.testing.assert_close(loaded.pool(H), theta.pool(H))
    assert Theta(6, 5).pooling == "mean"


# ------------------------------------------------------------------------------------------
# The fine-tuning gate
# ------------------------------------------------------------------------------------------
def test_gates_compare_different_things():
    torch.manual_seed(0)
    clean = torch.rand(2, 12, 8) * 20
    mask = torch.ones(2, 12, 8)
    # M*log1p X equals the continuous log1p X_clean: the authors' gate passes at any threshold;
    # the paper's compares log1p(M*X) with the binarized target and does not reach 0.99.
    _, reference = guidance_loss(mask, clean, clean, crosscor_th=0.99, bin_th=0.35, gate="reference")
    _, paper = guidance_loss(mask, clean, clean, crosscor_th=0.99, bin_th=0.35, gate="paper")
    assert reference.tolist() == [True, True] and paper.tolist() == [False, False]
    # A mask that keeps only the binarized target: the paper's gate at its best.
    target_bin = binarized_target(clean, 0.35)
    keep = target_bin.clamp(1e-3, 1 - 1e-3)
    sim_ref = nn.functional.cosine_similarity((keep * torch.log1p(clean)).flatten(1),
                                              torch.log1p(clean).flatten(1), dim=1)
    _, selected = guidance_loss(keep, clean, clean, crosscor_th=float(sim_ref.min()), bin_th=0.35, gate="reference")
    assert selected.all()
    with pytest.raises(ValueError, match="guidance_gate"):
        guidance_loss(mask, clean, clean, crosscor_th=0.5, bin_th=0.35, gate="binary")


class _Metrics:
    def update(self, *args, **kwargs):
        pass


def _loss(gate, classifier, l_g=0.0):
    torch.manual_seed(0)
    decoder = build_decoder(classifier.embedding_model, classifier.frontend, "stft", width=4)
    hparams = {"classifier_model": classifier, "domain": "stft", "l_in_w": 1.0, "l_out_w": 0.2, "reg_w_l1": 0.4,
               "reg_w_tv": 0.0, "regularizer_reduction": "batch_sum", "wham_at_validation": False,
               "finetuning": True, "g_w": l_g, "crosscor_th": 0.0, "bin_th": 0.35, "guidance_gate": gate,
               "n_listenable": 0, "interpret_period": 1, "output_folder": "unused"}
    brain = load_recipe("recipes/ESC50/train_lmac.py").LMAC(modules={"decoder": decoder}, opt_class=lambda p: torch.optim.Adam(p),
                      hparams=hparams, run_opts={"device": "cpu"})
    brain.metrics = _Metrics()
    wavs = torch.randn(2, 8000)
    batch = sb.dataio.batch.PaddedBatch([{"id": f"i{k}", "sig": w} for k, w in enumerate(wavs)])
    with torch.no_grad():
        out = brain.compute_forward(batch, sb.Stage.TRAIN)
        return brain.compute_objectives(out, batch, sb.Stage.TRAIN), out["mask"]


def test_reference_gate_drops_l1_where_it_passes(classifier):
    # cct 0 and a clean target: every item passes both gates; l_g 0 leaves l1 as the only difference:
    # the paper gate keeps it for both items (0.4 * 2 * mean|M|, summed over the batch of 2), the
    # reference gate drops it for both.
    paper, mask = _loss("paper", classifier)
    reference, _ = _loss("reference", classifier)
    assert (paper - reference).item() == pytest.approx(0.4 * 2 * mask.abs().mean().item(), rel=1e-4)


# ------------------------------------------------------------------------------------------
# Tables
# ------------------------------------------------------------------------------------------
def _rows():
    rows = []
    for protocol in PROTOCOLS:
        for condition in ("id", "ood_mix"):
            for method, label in (("lmac", "L-MAC"), ("l2i_rt02", "L2I, RT=0.2"), ("ig", "IG"), ("ones", "All ones")):
                rows.append({"protocol": protocol, "dataset": "esc50", "condition": condition, "domain": "stft",
                             "method": method, "label": label, "n": "8", "accuracy": "0.75", "AI": "10",
                             "AD": "20", "AD_ref": "5", "sec_per_item": "0.1"})
    return rows


def test_markdown_states_the_protocol_and_follows_the_paper():
    text = format_markdown(_rows(), baselines={"ones"}, method_order=["lmac", "l2i_rt02", "ig", "ones"],
                           notes={"reference": ["masks applied in log1p space"]})
    paper, reference = text.split("## Protocol `reference`")
    assert paper.startswith("## Protocol `paper`: the paper's text")
    assert "- masks applied in log1p space" in reference
    assert "AD_ref" in reference and "AD_ref" not in paper
    assert "### esc50, id, STFT-Mel (as the paper's Table 1; classifier accuracy 75.0% on 8 mixtures)" in paper
    for section in (paper, reference):
        blocks = section.split("### ")[1:]
        order = {b.splitlines()[0].split(",")[1].strip(): [line.split("|")[1].strip() for line in b.splitlines()
                                                            if line.startswith("| ")][1:] for b in blocks}
        assert order["id"] == ["IG", "L2I, RT=0.2", "L-MAC", "All ones"]       # Table 1's order
        assert order["ood_mix"] == ["IG", "L2I, RT=0.2", "L-MAC", "All ones"]  # Table 2's: L2I after IG
    header = CSV_COLUMNS
    assert header[:5] == ("protocol", "dataset", "condition", "domain", "method")
    assert header.index("AD_ref") == header.index("AD") + 1 and "accuracy" in header


def test_paper_tables_have_the_papers_rows_and_three_groups():
    text = format_paper_tables(_rows())
    assert "## Table 1: in-domain" in text and "## Table 2: out-of-domain" in text
    for (table, domain), rows in PAPER_ROWS.items():
        block = text.split(f"### {table}, {'STFT-Mel' if domain == 'stft' else 'Mel'}\n")[1].split("###")[0]
        lines = [line for line in block.splitlines() if line.startswith("| ")]
        header = [c.strip() for c in lines[0].strip("|").split("|")]
        assert header[0] == "row" and header[1:8] == [f"p:{c}" for c in ("AI", "AD", "AG", "FF", "FidIn", "SPS", "COMP")]
        assert header[8:10] == ["r:AI", "r:AD"] and header[10] == "r:AD_ref" and header[-7] == "pub:AI"
        labels = [line.split("|")[1].strip() for line in lines[1:]]
        assert labels == [label for _, label in rows]
        for line, (method, _) in zip(lines[1:], rows):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if method == "lmac" and domain == "stft":
                assert cells[1] == "10.00" and cells[10] == "5.00"  # ours, both protocols
    cells = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
             for line in text.split("### Table 1, Mel")[1].split("##")[0].splitlines() if line.startswith("| ")}
    assert cells["Guided GradCAM"][-7] == "0.125"  # as printed
    table2 = text.split("### Table 2, STFT-Mel")[1]
    saliency = next(line for line in table2.splitlines() if line.startswith("| Saliency"))
    assert [c.strip() for c in saliency.strip("|").split("|")][-7] == ""  # the paper leaves it empty
    assert "| L-MAC (ours) | 10.00" in text and "36.25" in text and "60.63" in text
    assert "paper protocol 75.0% (8 mixtures)" in text


# ------------------------------------------------------------------------------------------
# The recipe under the reference protocol, on a tiny twin (random classifier: seconds)
# ------------------------------------------------------------------------------------------
@pytest.mark.slow  # runs the evaluation recipe in a subprocess
def test_recipe_writes_both_protocols_into_one_table(data, tmp_path):
    root = data["root"]
    out = tmp_path / "eval"
    common = [
        f"--data_folder={root / 'esc'}", f"--wham_folder={root / 'wham'}", f"--ljspeech_folder={root / 'lj'}",
        f"--output_folder={out}", "--use_pretrained=False", "--signal_length_s=1.0", "--batch_size=4",
        "--n_fft=256", "--hop_length=16.0", "--win_length=16.0", "--n_mels=32", "--base_channels=4",
        "--domains=[stft]", "--conditions={clean: null, white_noise: null, speech: null}",
        ("--methods={saliency: null, smoothgrad: null, ig: null, guided_gradcam: null, guided_backprop: null, "
         "shap: null}"),
    ]
    for protocol in PROTOCOLS:
        run_recipe("recipes/ESC50/eval.py", "hparams/eval_cnn14_compact.yaml", f"--protocol={protocol}", *common)
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["protocol"] for r in rows} == set(PROTOCOLS)
    n = {(r["protocol"], r["condition"]): int(r["n"]) for r in rows}
    # 6 clips per split; the reference protocol evaluates the valid fold, each OOD clip twice.
    assert n[("paper", "id")] == 6 and n[("paper", "ood_mix")] == 6
    assert n[("reference", "id")] == 6 and n[("reference", "ood_mix")] == 12
    assert all(r["AD_ref"] != "" and r["accuracy"] != "" for r in rows)
    ones = [r for r in rows if r["method"] == "ones"]
    assert all(float(r["AD"]) == 0.0 and float(r["AI"]) == 0.0 for r in ones)  # log1p round trip is exact
    markdown = (out / "metrics.md").read_text()
    assert "## Protocol `paper`" in markdown and "## Protocol `reference`" in markdown
    assert "ood_mix: another clip at 12.0412 dB from the test split, peak-normalised (max), 2 draws per item" in markdown
    assert "masks applied to the metrics' inputs in log1p space" in markdown
