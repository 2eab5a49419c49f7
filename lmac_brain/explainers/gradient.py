"""Captum gradient baselines (paper Tables 1, 2, 4, 5): Saliency, SmoothGrad, Integrated
Gradients, GradCAM, Guided GradCAM, Guided Backprop and GradientSHAP.

Each is an :class:`AttributionExplainer`: :meth:`~AttributionExplainer.attribute` gives the raw
attribution on the grid of the domain input (captum's ``attribute(inputs, target)``), and the
mask is :func:`~lmac_brain.explainers.base.attribution_to_mask` of it (options ``protocol`` and
``top_k``). Attributions are taken with respect to the representation the mask multiplies: the
STFT magnitude (domain ``"stft"``, the paper's "STFT-Mel" rows) or the mel magnitude (domain
``"mel"``) in the ``linear`` mask space, their ``log1p`` in the ``log1p`` one
(:meth:`~lmac_brain.explainers.base.Explainer.use_mask_space`).

GradCAM lives on the feature grid of the last conv block (``time / 32, n_mels / 32`` for
CNN14). It is upsampled bilinearly to ``(time, n_mels)``; in the ``"stft"`` domain each STFT bin
then takes the filterbank-weighted average of the mel bands covering it
(:func:`mel_to_linear`), so a band lights the bins it is made of, not a linear stretch of the
mel axis. Captum's own ``GuidedGradCam`` cannot do this: on a ``[batch, time, freq]`` input it
returns an empty tensor (it cannot interpolate the 4-D CAM to a 1-D shape), and on a
``[batch, 1, time, freq]`` view it stretches the mel axis linearly onto the STFT bins; Guided
GradCAM is therefore captum's ``GuidedBackprop`` times the upsampled ``LayerGradCam`` here.

The reference protocol (docs/protocols.md) runs GradCAM as captum's defaults give it: no ReLU on
the CAM (``relu=False``; ``LayerGradCam``'s default, so negative evidence becomes mask through
``|attr|``) and the CAM stretched linearly over the input's frequency axis
(``upsampling="stretch"``, ``LayerAttribution.interpolate``), with nearest-neighbour
interpolation (``interpolate_mode="nearest"``, captum's default).
"""

import abc

import torch
import torch.nn.functional as F
from captum.attr import (
    GradientShap,
    GuidedBackprop,
    IntegratedGradients,
    LayerGradCam,
    NoiseTunnel,
    Saliency,
)
from torch import nn

from lmac_brain.audio.masking import from_space, to_space
from lmac_brain.audio.spectral import mel_to_linear
from lmac_brain.explainers.base import Explainer, attribution_to_mask, register


class DomainModel(nn.Module):
    """Captum-facing adapter: ``forward(z) = classifier.logits_of_input(from_space(z), domain)``.

    Holds the classifier as a submodule, so captum's hooks find its ``nn.ReLU`` modules and
    layers. Accepts ``[batch, time, freq]`` or a ``[batch, 1, time, freq]`` view.

    Arguments
    ---------
    classifier : lmac_brain.models.classifier.AudioClassifier
        The classifier.
    domain : str
        ``"stft"`` or ``"mel"``.
    nonnegative : bool
        Read negative entries as 0 (magnitudes are non-negative). Used by the methods that add
        Gaussian noise to the input, where ``log1p`` of a negative mel value could be NaN.
    space : str
        The mask space of ``z`` (``lmac_brain.audio.masking``): ``z`` is the domain input
        (``"linear"``) or its ``log1p`` (``"log1p"``).
    """

    def __init__(self, classifier, domain, nonnegative=False, space="linear"):
        super().__init__()
        self.classifier = classifier
        self.domain = domain
        self.nonnegative = nonnegative
        self.space = space

    def forward(self, z):
        """Logits of the representation ``z``."""
        if z.dim() == 4:
            z = z.squeeze(1)
        if self.nonnegative:
            z = z.clamp(min=0.0)
        return self.classifier.logits_of_input(from_space(z, self.space), self.domain)


def per_example(x, target, attribute_one):
    """``attribute_one(xi, ti)`` (``[1, ...]`` attributions of example ``xi`` for class ``ti``) for
    each example of the batch ``x``, concatenated.

    For the captum methods that draw noise or baselines per call: their scale is that example's,
    and captum's random baselines must not mix examples.

    Example
    -------
    >>> per_example(torch.ones(3, 2), torch.tensor([0, 1, 2]), lambda xi, ti: (ti * xi).unsqueeze(0))
    tensor([[0., 0.],
            [1., 1.],
            [2., 2.]])
    """
    return torch.cat([attribute_one(xi, int(ti)) for xi, ti in zip(x, target)])


class AttributionExplainer(Explainer):
    """An explainer whose mask is ``attribution_to_mask(self.attribute(x, target))``.

    Arguments
    ---------
    classifier : lmac_brain.models.classifier.AudioClassifier
        The frozen classifier.
    domain : str
        ``"stft"`` or ``"mel"``.
    protocol : str
        ``"normalize"`` (``|attr| / max|attr|`` per example, the paper's) or ``"topk"``.
    top_k : float
        Fraction of bins kept by ``"topk"``.
    """

    def __init__(self, classifier, domain, protocol="normalize", top_k=0.2):
        super().__init__(classifier, domain)
        attribution_to_mask(torch.zeros(1, 1), protocol, top_k)  # validate early
        self.protocol = protocol
        self.top_k = top_k
        self.set_model(DomainModel(classifier, self.domain))

    def set_model(self, model):
        """Use ``model`` (a :class:`DomainModel`) as captum's forward function.

        Kept out of the submodules, so the classifier appears once in ``state_dict``.
        """
        model.space = self.mask_space
        self.__dict__["model"] = model

    def use_mask_space(self, space):
        """Attribute with respect to the representation masked in ``space``."""
        super().use_mask_space(space)
        self.model.space = self.mask_space
        return self

    @abc.abstractmethod
    def attribute(self, x, target):
        """Raw attribution of ``target`` (``[batch]`` long) on the grid of ``x``, the
        representation the mask multiplies (the domain input, or its ``log1p``)."""

    def explain(self, x, target):
        """Mask of the attribution (see the class docstring)."""
        # Gradients are needed even when called under no_grad or inference_mode (evaluation
        # loops); tensors made in inference mode cannot join autograd, so copy them.
        with torch.inference_mode(False), torch.enable_grad():
            if x.is_inference():
                x, target = x.clone(), target.clone()
            attr = self.attribute(to_space(x.detach(), self.mask_space), target)
        return attribution_to_mask(attr, self.protocol, self.top_k)


@register("saliency")
class SaliencyExplainer(AttributionExplainer):
    """Absolute input gradient (captum ``Saliency``, ``abs=True``).

    Example
    -------
    >>> from lmac_brain.models.classifier import AudioClassifier
    >>> from lmac_brain.models.cnn14 import Cnn14
    >>> from lmac_brain.audio.spectral import SpectralFrontEnd
    >>> fe = SpectralFrontEnd(16000, 256, 16, 16, n_mels=32)
    >>> clf = AudioClassifier(fe, Cnn14(32, base_channels=4), nn.Linear(128, 5))
    >>> mag = fe.magnitude_phase(torch.randn(2, 8000))[0]
    >>> mask = SaliencyExplainer(clf, "stft")(mag)
    >>> mask.shape == mag.shape, float(mask.max())
    (True, 1.0)
    """

    def attribute(self, x, target):
        """``|d logit_target / d x|``."""
        return Saliency(self.model).attribute(x, target=target, abs=True)


@register("smoothgrad")
class SmoothGradExplainer(AttributionExplainer):
    """SmoothGrad: captum ``NoiseTunnel`` (``nt_type="smoothgrad"``) over ``Saliency``.

    Each example is explained on its own, with Gaussian noise of standard deviation
    ``stdevs * max|x|`` of that example (Smilkov et al. suggest 10-20 % of the input range), so
    the noise level suits STFT and mel magnitudes alike. Noisy inputs are read with negative
    entries as 0.

    Arguments
    ---------
    nt_samples : int
        Noisy copies averaged per example.
    stdevs : float
        Noise standard deviation, as a fraction of each example's ``max |x|``.
    nt_samples_batch_size : int, optional
        Noisy copies per forward/backward pass (captum's internal batching); ``None``: all.
    protocol, top_k
        See :class:`AttributionExplainer`.
    """

    def __init__(
        self,
        classifier,
        domain,
        nt_samples=10,
        stdevs=0.15,
        nt_samples_batch_size=None,
        protocol="normalize",
        top_k=0.2,
    ):
        super().__init__(classifier, domain, protocol, top_k)
        self.nt_samples = nt_samples
        self.stdevs = stdevs
        self.nt_samples_batch_size = nt_samples_batch_size
        self.set_model(DomainModel(classifier, self.domain, nonnegative=True))

    def attribute(self, x, target):
        """Mean ``|gradient|`` over noisy copies of each example."""
        tunnel = NoiseTunnel(Saliency(self.model))

        def smoothgrad(xi, ti):
            return tunnel.attribute(
                xi.unsqueeze(0),
                nt_type="smoothgrad",
                nt_samples=self.nt_samples,
                nt_samples_batch_size=self.nt_samples_batch_size,
                stdevs=self.stdevs * float(xi.abs().max()),
                target=ti,
                abs=True,
            )

        return per_example(x, target, smoothgrad)


@register("ig")
class IntegratedGradientsExplainer(AttributionExplainer):
    """Integrated Gradients from the all-zero (silent) input.

    Arguments
    ---------
    n_steps : int
        Integration steps (captum's Gauss-Legendre rule).
    internal_batch_size : int, optional
        Rows per forward/backward pass. ``None``: two steps of the batch per pass (about the
        memory of two ordinary passes); captum needs at least ``2 * batch``.
    protocol, top_k
        See :class:`AttributionExplainer`.
    """

    def __init__(
        self,
        classifier,
        domain,
        n_steps=50,
        internal_batch_size=None,
        protocol="normalize",
        top_k=0.2,
    ):
        super().__init__(classifier, domain, protocol, top_k)
        self.n_steps = n_steps
        self.internal_batch_size = internal_batch_size

    def attribute(self, x, target):
        """``x * mean gradient`` along the straight path from 0 to ``x``."""
        batch_size = self.internal_batch_size or 2 * x.shape[0]
        return IntegratedGradients(self.model).attribute(
            x,
            baselines=torch.zeros_like(x),
            target=target,
            n_steps=self.n_steps,
            internal_batch_size=batch_size,
        )


@register("gradcam")
class GradCamExplainer(AttributionExplainer):
    """GradCAM (captum ``LayerGradCam``) on a CNN14 block, upsampled to the input grid.

    The CAM (``[batch, 1, t, f]`` on the block's grid) is upsampled to ``(time, n_mels)``; in
    the ``"stft"`` domain it is then mapped to the STFT bins through the filterbank
    (:func:`mel_to_linear`, ``upsampling="filterbank"``), or stretched linearly over the STFT
    bins (``upsampling="stretch"``, what captum's interpolation of a 4-D view does).

    Arguments
    ---------
    layer : str
        Block of ``classifier.embedding_model`` (default the last, ``"conv_block6"``).
    relu : bool
        Keep only the positive part of the CAM (Selvaraju et al.); captum's default is False.
    upsampling : str
        ``"filterbank"`` or ``"stretch"`` (see above; the same in the ``"mel"`` domain).
    interpolate_mode : str
        ``"bilinear"`` or ``"nearest"`` (captum's default).
    protocol, top_k
        See :class:`AttributionExplainer`.
    """

    UPSAMPLINGS = ("filterbank", "stretch")

    def __init__(self, classifier, domain, layer="conv_block6", relu=True, upsampling="filterbank",
                 interpolate_mode="bilinear", protocol="normalize", top_k=0.2):
        super().__init__(classifier, domain, protocol, top_k)
        if upsampling not in self.UPSAMPLINGS:
            raise ValueError(f"upsampling must be one of {self.UPSAMPLINGS}, got {upsampling!r}")
        if interpolate_mode not in ("bilinear", "nearest"):
            raise ValueError(f"interpolate_mode must be 'bilinear' or 'nearest', got {interpolate_mode!r}")
        self.layer = layer
        self.relu = bool(relu)
        self.upsampling = upsampling
        self.interpolate_mode = interpolate_mode
        self.grad_cam = LayerGradCam(self.model, getattr(classifier.embedding_model, layer))

    def cam(self, x, target):
        """The CAM on the block's grid, ``[batch, 1, t, f]`` (non-negative when ``relu``)."""
        return self.grad_cam.attribute(x, target=target, relu_attributions=self.relu)

    def cam_on_input(self, x, target):
        """The CAM upsampled to the grid of ``x`` (``[batch, time, freq]``)."""
        return cam_to_input(
            self.cam(x, target), x.shape[1], self.classifier.frontend.mel_matrix, self.domain,
            upsampling=self.upsampling, mode=self.interpolate_mode,
        )

    def attribute(self, x, target):
        """The upsampled CAM."""
        return self.cam_on_input(x, target)


@register("guided_gradcam")
class GuidedGradCamExplainer(GradCamExplainer):
    """Guided GradCAM: guided-backprop attribution times the upsampled GradCAM.

    Built from captum's ``GuidedBackprop`` and ``LayerGradCam`` (see the module docstring for
    why not captum's ``GuidedGradCam``). Options as :class:`GradCamExplainer`.
    """

    def attribute(self, x, target):
        """``GuidedBackprop(x) * cam_on_input(x)``."""
        guided = GuidedBackprop(self.model).attribute(x, target=target)
        return guided * self.cam_on_input(x, target)


@register("guided_backprop")
class GuidedBackpropExplainer(AttributionExplainer):
    """Guided Backprop (captum ``GuidedBackprop``): only positive gradients pass the ReLUs.

    Needs the classifier's ReLUs to be ``nn.ReLU`` modules (``lmac_brain.models.cnn14`` has them).
    """

    def attribute(self, x, target):
        """Guided-backprop gradient of the target logit."""
        return GuidedBackprop(self.model).attribute(x, target=target)


@register("shap")
class GradientShapExplainer(AttributionExplainer):
    """GradientSHAP (captum ``GradientShap``) against the silent input and a quieter copy.

    Each example is explained on its own, with the baselines ``0`` and ``baseline_scale * x``
    of that example (captum draws baselines at random from the given set, which must not mix
    examples). Noisy inputs are read with negative entries as 0.

    Arguments
    ---------
    n_samples : int
        Random (baseline, path point) samples per example, computed in one pass.
    baseline_scale : float
        Scale of the input copy used as the second baseline.
    stdevs : float
        Gaussian noise added to the input, as a fraction of each example's ``max |x|``.
    protocol, top_k
        See :class:`AttributionExplainer`.
    """

    def __init__(
        self,
        classifier,
        domain,
        n_samples=20,
        baseline_scale=0.5,
        stdevs=0.0,
        protocol="normalize",
        top_k=0.2,
    ):
        super().__init__(classifier, domain, protocol, top_k)
        self.n_samples = n_samples
        self.baseline_scale = baseline_scale
        self.stdevs = stdevs
        self.set_model(DomainModel(classifier, self.domain, nonnegative=True))

    def attribute(self, x, target):
        """Expected ``gradient * (x - baseline)`` over random baselines and path points."""
        shap = GradientShap(self.model)

        def gradient_shap(xi, ti):
            return shap.attribute(
                xi.unsqueeze(0),
                baselines=torch.stack([torch.zeros_like(xi), self.baseline_scale * xi]),
                n_samples=self.n_samples,
                stdevs=self.stdevs * float(xi.abs().max()),
                target=ti,
            )

        return per_example(x, target, gradient_shap)


def cam_to_input(cam, n_frames, mel_matrix, domain, upsampling="filterbank", mode="bilinear"):
    """Upsample a ``[batch, 1, t, f]`` CAM to a domain input grid ``[batch, n_frames, freq]``.

    ``upsampling="filterbank"``: interpolated to ``(n_frames, n_mels)``, then, for
    ``domain="stft"``, :func:`mel_to_linear`. ``upsampling="stretch"``: interpolated straight to
    the input grid, the CAM's frequency axis stretched linearly over the STFT bins. ``mode`` is
    the interpolation (``"bilinear"`` or ``"nearest"``).

    Example
    -------
    >>> fb = torch.eye(4).repeat_interleave(2, dim=0)  # 8 STFT bins, 4 mel bands
    >>> cam = torch.tensor([[[[0.0, 1.0]]]])  # one frame, two cells along mel
    >>> cam_to_input(cam, 3, fb, "mel").shape, cam_to_input(cam, 3, fb, "stft").shape
    (torch.Size([1, 3, 4]), torch.Size([1, 3, 8]))
    >>> cam_to_input(cam, 1, fb, "stft", upsampling="stretch", mode="nearest")
    tensor([[[0., 0., 0., 0., 1., 1., 1., 1.]]])
    """
    n_mels, n_freq = mel_matrix.shape[1], mel_matrix.shape[0]
    width = n_freq if (upsampling == "stretch" and domain == "stft") else n_mels
    options = {"align_corners": False} if mode == "bilinear" else {}
    up = F.interpolate(cam, size=(n_frames, width), mode=mode, **options).squeeze(1)
    if domain == "stft" and upsampling != "stretch":
        up = mel_to_linear(up, mel_matrix)
    return up
