"""Tests of the explanation interface, the registry, the mask protocol and the gradient /
trivial baselines, on a tiny CNN14 classifier."""

import numpy as np
import pytest
import torch
from captum.attr import LayerGradCam
from captum.attr._utils.approximation_methods import approximation_parameters
from torch import nn

from lmac_brain.audio.spectral import SpectralFrontEnd
from lmac_brain.explainers import (
    Explainer,
    attribution_to_mask,
    available_explainers,
    build_explainer,
    cam_to_input,
    mel_to_linear,
    register,
)
from lmac_brain.explainers.base import _REGISTRY
from lmac_brain.models.classifier import AudioClassifier
from lmac_brain.models.cnn14 import Cnn14

# Small settings so every method runs in a fraction of a second.
FAST_OPTIONS = {
    "smoothgrad": {"nt_samples": 3},
    "ig": {"n_steps": 4},
    "shap": {"n_samples": 3, "stdevs": 0.1},
}


def _untrained_lmac(classifier, domain):
    from lmac_brain.models.decoder import build_decoder

    decoder = build_decoder(classifier.embedding_model, classifier.frontend, domain, 8, 8)
    return {"decoder": decoder}


def _untrained_l2i(classifier, domain):
    from lmac_brain.models.l2i import Psi, Theta
    from lmac_brain.models.nmf import NMFDictionary

    nmf = NMFDictionary(classifier.frontend.n_freq, 6)
    nmf.W = torch.rand(classifier.frontend.n_freq, 6)
    psi = Psi(classifier.embedding_model.hidden_channels, 6, width=8)
    return {"psi": psi, "theta": Theta(6, 5), "nmf": nmf}


# Methods with trained parts get untrained ones here: the interface checks do not need
# training. A method registered later that needs parts adds its factory to this table.
TRAINED_PARTS = {"lmac": _untrained_lmac, "l2i": _untrained_l2i}


def _build_for_test(name, classifier, domain):
    options = dict(FAST_OPTIONS.get(name, {}))
    if name in TRAINED_PARTS:
        options.update(TRAINED_PARTS[name](classifier, domain))
    return build_explainer(name, classifier, domain, **options)


# The models here are tiny: threads only add contention on a shared CPU.
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(0)
    fe = SpectralFrontEnd(16000, n_fft=256, hop_length_ms=16, win_length_ms=16, n_mels=32)
    clf = AudioClassifier(fe, Cnn14(32, base_channels=4), nn.Linear(128, 5))
    # Calibrate the BatchNorm statistics (cumulative average) so the untrained network
    # responds to its input instead of vanishing block after block.
    for module in clf.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = None
    with torch.no_grad():
        clf.train()
        for _ in range(3):
            clf(torch.randn(8, 8000))
    return clf.eval()


@pytest.fixture(scope="module")
def mags(classifier):
    torch.manual_seed(1)
    mag, _ = classifier.frontend.magnitude_phase(torch.randn(3, 8000))
    return mag


def _inputs(classifier, mags, domain):
    x = classifier.domain_input(mags, domain)
    with torch.no_grad():
        target = classifier.logits_of_input(x, domain).argmax(-1)
    return x, target


def _rel_diff(a, b):
    return float((a - b).norm() / b.norm())


def _input_gradient(classifier, x, target, domain):
    x = x.detach().clone().requires_grad_()
    logits = classifier.logits_of_input(x, domain)
    (grad,) = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), x)
    return grad


@pytest.mark.parametrize("domain", ["stft", "mel"])
@pytest.mark.parametrize("name", available_explainers())
def test_every_method_masks_the_input(classifier, mags, name, domain):
    x, target = _inputs(classifier, mags, domain)
    before = {k: v.clone() for k, v in classifier.state_dict().items()}
    grad_flags = [p.requires_grad for p in classifier.parameters()]
    explainer = _build_for_test(name, classifier, domain)
    assert isinstance(explainer, Explainer)
    torch.manual_seed(2)
    np.random.seed(2)
    mask = explainer(x, target)
    assert mask.shape == x.shape
    assert mask.dtype == x.dtype and mask.device == x.device
    assert torch.isfinite(mask).all()
    assert mask.min() >= 0 and mask.max() <= 1
    assert not mask.requires_grad and mask.grad_fn is None
    # The classifier is untouched: weights, BatchNorm statistics, mode, grad flags.
    assert not classifier.training
    after = classifier.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert [p.requires_grad for p in classifier.parameters()] == grad_flags
    assert all(p.grad is None for p in classifier.parameters())


def test_trivial_masks(classifier, mags):
    x, _ = _inputs(classifier, mags, "stft")
    assert torch.equal(build_explainer("ones", classifier, "stft")(x), torch.ones_like(x))
    assert torch.equal(build_explainer("zeros", classifier, "stft")(x), torch.zeros_like(x))


def test_gradient_methods_explain_the_given_target(classifier, mags):
    x, target = _inputs(classifier, mags, "stft")
    explainer = build_explainer("saliency", classifier, "stft")
    expected = attribution_to_mask(_input_gradient(classifier, x, target, "stft"))
    assert torch.allclose(explainer(x), expected, atol=1e-6)  # default: own decision
    other = (target + 1) % 5
    assert torch.allclose(
        explainer(x, other), attribution_to_mask(_input_gradient(classifier, x, other, "stft")),
        atol=1e-6,
    )
    assert not torch.allclose(explainer(x, other), expected, atol=1e-3)


def test_explainer_keeps_classifier_in_eval(classifier):
    classifier.train()
    try:
        explainer = build_explainer("saliency", classifier, "mel")
        assert not classifier.training
        explainer.train()
        assert not classifier.training and explainer.training
    finally:
        classifier.eval()


@pytest.mark.parametrize("domain", ["stft", "mel"])
def test_guided_backprop_sees_the_relu_modules(classifier, mags, domain):
    x, target = _inputs(classifier, mags, domain)
    grad = _input_gradient(classifier, x, target, domain)
    guided = build_explainer("guided_backprop", classifier, domain)
    guided_attr = guided.attribute(x, target)
    assert guided_attr.shape == x.shape
    assert _rel_diff(guided_attr, grad) > 0.1
    assert not torch.allclose(guided(x, target), attribution_to_mask(grad), atol=1e-3)
    # Captum removed its hooks: plain saliency is the plain gradient again.
    saliency = build_explainer("saliency", classifier, domain).attribute(x, target)
    assert _rel_diff(saliency, grad.abs()) < 1e-5


def test_guided_gradcam_is_guided_backprop_times_cam(classifier, mags):
    x, target = _inputs(classifier, mags, "stft")
    grad = _input_gradient(classifier, x, target, "stft")
    gradcam = build_explainer("gradcam", classifier, "stft")
    cam = gradcam.cam_on_input(x, target)
    guided = build_explainer("guided_backprop", classifier, "stft").attribute(x, target)
    ggc = build_explainer("guided_gradcam", classifier, "stft").attribute(x, target)
    assert _rel_diff(ggc, guided * cam) < 1e-5
    assert cam.abs().sum() > 0
    assert _rel_diff(ggc, grad * cam) > 0.1


def test_gradcam_cam_on_feature_grid_and_upsampled(classifier, mags):
    x, target = _inputs(classifier, mags, "mel")
    gradcam = build_explainer("gradcam", classifier, "mel")
    cam = gradcam.cam(x, target)
    assert cam.shape == (3, 1, x.shape[1] // 32, 32 // 32)
    assert (cam >= 0).all()
    assert gradcam.cam_on_input(x, target).shape == x.shape


def test_gradcam_keeps_only_positive_evidence(classifier, mags):
    x, _ = _inputs(classifier, mags, "mel")
    gradcam = build_explainer("gradcam", classifier, "mel")
    raw = LayerGradCam(gradcam.model, classifier.embedding_model.conv_block6)
    for cls in range(5):
        target = torch.full((3,), cls)
        signed = raw.attribute(x, target=target, relu_attributions=False)
        assert torch.allclose(gradcam.cam(x, target), signed.clamp(min=0), atol=1e-7)
        if (signed < 0).any():
            break
    assert (signed < 0).any()  # some class had negative evidence: the ReLU was exercised


def test_cam_upsampling_is_bilinear_in_time():
    fb = torch.eye(4)
    cam = torch.tensor([[[[1.0], [0.0]]]])  # two time cells, one mel cell
    up = cam_to_input(cam, 8, fb, "mel")
    assert up.shape == (1, 8, 4)
    profile = up[0, :, 0]
    assert torch.allclose(up, profile[None, :, None].expand(1, 8, 4))
    assert profile[0] == 1 and profile[-1] == 0
    assert (profile[1:] <= profile[:-1]).all() and 0 < profile[3] < 1


def test_gradcam_mel_band_lights_its_stft_bins():
    fe = SpectralFrontEnd(16000, n_fft=256, hop_length_ms=16, win_length_ms=16, n_mels=32)
    fb = fe.mel_matrix  # [129, 32]
    band = 5
    cam = torch.zeros(1, 1, 2, 32)
    cam[..., band] = 1.0  # already on the (time, n_mels) grid: upsampling keeps it
    stft_map = cam_to_input(cam, 2, fb, "stft")
    assert stft_map.shape == (1, 2, 129)
    row = stft_map[0, 0]
    covered = fb[:, band] > 0
    assert covered.any()
    assert (row[covered] > 0).all() and (row[~covered] == 0).all()
    assert torch.allclose(row, fb[:, band] / fb.sum(1).clamp_min(1e-12))
    # The lit bins are the band's own (around its peak), not a linear stretch of the mel axis.
    lit = torch.nonzero(covered).flatten()
    linear_stretch = band * 129 / 32
    assert lit.max() < linear_stretch - 3
    assert int(row.argmax()) == int(fb[:, band].argmax())
    # An all-ones CAM lights every covered bin fully and uncovered bins not at all.
    full = mel_to_linear(torch.ones(32), fb)
    covered_any = fb.sum(1) > 0
    assert torch.allclose(full[covered_any], torch.ones(int(covered_any.sum())))
    assert (full[~covered_any] == 0).all() and (~covered_any).any()


def test_attribution_to_mask_normalize_by_hand():
    attr = torch.tensor(
        [[[-2.0, 1.0], [0.5, 0.0]], [[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 3.0]]]
    )
    mask = attribution_to_mask(attr)
    expected = torch.tensor(
        [[[1.0, 0.5], [0.25, 0.0]], [[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]]
    )
    assert torch.equal(mask, expected)


def test_attribution_to_mask_topk_by_hand():
    attr = torch.tensor(
        [[5.0, -1.0, 0.2, -7.0, 0.0, 3.0, 0.1, 0.3, -0.4, 2.0], [0.0] * 10, [0.0] * 9 + [1.0]]
    )
    mask = attribution_to_mask(attr, "topk", top_k=0.3)
    assert torch.equal(mask[0], torch.tensor([1.0, 0, 0, 1, 0, 1, 0, 0, 0, 0]))
    assert torch.equal(mask[1], torch.zeros(10))  # all-zero attribution: nothing selected
    assert torch.equal(mask[2], torch.tensor([0.0] * 9 + [1.0]))  # zeros never selected
    assert torch.equal(attribution_to_mask(attr, "topk", top_k=0.0), torch.zeros(3, 10))
    assert attribution_to_mask(attr, "topk", top_k=1.0)[0].sum() == 9
    with pytest.raises(ValueError, match="top_k"):
        attribution_to_mask(attr, "topk", top_k=1.5)
    with pytest.raises(ValueError, match="normalize"):
        attribution_to_mask(attr, "median")


def test_topk_protocol_through_an_explainer(classifier, mags):
    x, target = _inputs(classifier, mags, "mel")
    mask = build_explainer("saliency", classifier, "mel", protocol="topk", top_k=0.1)(x, target)
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    assert mask.sum(dim=(1, 2)).tolist() == [round(0.1 * x[0].numel())] * 3


def test_ig_internal_batching_matches_one_pass(classifier, mags):
    x, target = _inputs(classifier, mags, "stft")
    n_steps = 6
    one_pass = build_explainer(
        "ig", classifier, "stft", n_steps=n_steps, internal_batch_size=3 * n_steps
    ).attribute(x, target)
    chunked = build_explainer(
        "ig", classifier, "stft", n_steps=n_steps, internal_batch_size=6
    ).attribute(x, target)
    default = build_explainer("ig", classifier, "stft", n_steps=n_steps).attribute(x, target)
    assert one_pass.abs().sum() > 0
    assert _rel_diff(chunked, one_pass) < 1e-4
    assert _rel_diff(default, one_pass) < 1e-4
    # Independent check: x * sum_k w_k grad(alpha_k x), captum's Gauss-Legendre rule from the
    # silent baseline.
    step_sizes, alphas = approximation_parameters("gausslegendre")
    expected = sum(
        w * _input_gradient(classifier, a * x, target, "stft")
        for w, a in zip(step_sizes(n_steps), alphas(n_steps))
    ) * x
    assert _rel_diff(one_pass, expected) < 1e-4


def test_smoothgrad_internal_batching_matches_one_pass(classifier, mags):
    x, target = _inputs(classifier, mags, "mel")
    options = {"nt_samples": 4, "stdevs": 0.1}
    torch.manual_seed(3)
    one_pass = build_explainer("smoothgrad", classifier, "mel", **options).attribute(x, target)
    torch.manual_seed(3)
    chunked = build_explainer(
        "smoothgrad", classifier, "mel", nt_samples_batch_size=2, **options
    ).attribute(x, target)
    assert _rel_diff(chunked, one_pass) < 1e-4
    # The noise matters (it is not plain saliency) ...
    saliency = build_explainer("saliency", classifier, "mel").attribute(x, target)
    assert _rel_diff(one_pass, saliency) > 0.05
    # The noise standard deviation is stdevs * max|x| of each example.
    seen = []
    explainer = build_explainer("smoothgrad", classifier, "mel", nt_samples=8, stdevs=0.1)
    hook = explainer.model.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    try:
        explainer.attribute(x, target)
    finally:
        hook.remove()
    assert len(seen) == 3
    for noisy, xi in zip(seen, x):
        ratio = float((noisy.detach() - xi).std() / (0.1 * xi.abs().max()))
        assert 0.9 < ratio < 1.1
    # ... and without noise SmoothGrad is saliency.
    noiseless = build_explainer("smoothgrad", classifier, "mel", nt_samples=2, stdevs=0.0)
    assert _rel_diff(noiseless.attribute(x, target), saliency) < 1e-5


def test_shap_baselines_are_silence_and_a_scaled_copy_of_each_example(classifier, mags):
    # One sample per example, replayed by hand with captum's draws (numpy RNG: the baseline
    # index, then the point on the path): grad(point) * (x - baseline).
    x, target = _inputs(classifier, mags, "stft")
    np.random.seed(4)
    shap = build_explainer("shap", classifier, "stft", n_samples=1, baseline_scale=0.5)
    attr = shap.attribute(x, target)
    np.random.seed(4)
    expected, drawn = [], set()
    for i in range(3):
        xi = x[i : i + 1]
        index = int(np.random.choice(2, 1)[0])
        alpha = float(np.random.uniform(0.0, 1.0, 1)[0])
        baseline = 0.5 * xi if index == 1 else torch.zeros_like(xi)
        point = alpha * xi + (1 - alpha) * baseline
        grad = _input_gradient(classifier, point, target[i : i + 1], "stft")
        expected.append(grad * (xi - baseline))
        drawn.add(index)
    assert drawn == {0, 1}  # both baselines were exercised
    assert _rel_diff(attr, torch.cat(expected)) < 1e-4


def test_unknown_method_names_the_known_ones(classifier):
    with pytest.raises(ValueError) as err:
        build_explainer("lime", classifier, "stft")
    for name in ("saliency", "ig", "gradcam", "ones", "zeros"):
        assert name in str(err.value)


def test_builtin_methods_registered():
    assert {
        "saliency", "smoothgrad", "ig", "gradcam", "guided_gradcam", "guided_backprop",
        "shap", "ones", "zeros",
    } <= set(available_explainers())


def test_bad_domain_and_target_rejected(classifier, mags):
    with pytest.raises(ValueError, match="domain"):
        build_explainer("saliency", classifier, "mfcc")
    x, _ = _inputs(classifier, mags, "stft")
    with pytest.raises(ValueError, match="target"):
        build_explainer("ones", classifier, "stft")(x, torch.tensor([0, 1]))


def test_classifier_fixture_is_alive(classifier, mags):
    # Guards the tests above: a network whose output ignores its input would make the
    # comparisons between attributions vacuous.
    x, target = _inputs(classifier, mags, "stft")
    with torch.no_grad():
        logits = classifier.logits_of_input(x, "stft")
    assert (logits - logits.mean(0)).abs().max() > 0.05
    assert _input_gradient(classifier, x, target, "stft").abs().max() > 1e-4


@pytest.mark.parametrize("name", ["saliency", "gradcam", "guided_backprop"])
def test_frozen_classifier_stays_frozen(classifier, mags, name):
    x, target = _inputs(classifier, mags, "stft")
    classifier.requires_grad_(False)
    try:
        mask = build_explainer(name, classifier, "stft")(x, target)
        assert not any(p.requires_grad for p in classifier.parameters())
    finally:
        classifier.requires_grad_(True)
    assert mask.shape == x.shape and mask.max() == 1


def test_register_refuses_a_second_class_under_a_taken_name():
    @register("test_half")
    class Half(Explainer):
        def explain(self, x, target):
            return torch.full_like(x, 0.5)

    try:
        assert register("test_half")(Half) is Half  # the same class again is fine
        with pytest.raises(ValueError, match="already registered"):

            @register("test_half")
            class Other(Explainer):
                pass

        assert "test_half" in available_explainers()
    finally:
        _REGISTRY.pop("test_half")
    assert "test_half" not in available_explainers()


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
def test_gradient_methods_work_inside_evaluation_contexts(classifier, mags, context):
    x, target = _inputs(classifier, mags, "mel")
    expected = build_explainer("guided_gradcam", classifier, "mel")(x, target)
    with context():
        x, target = x.clone(), target.clone()
        mask = build_explainer("guided_gradcam", classifier, "mel")(x, target)
    assert torch.allclose(mask, expected, atol=1e-6) and expected.max() == 1
