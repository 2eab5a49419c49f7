"""``LMACAudioInterpreter``: explain a recording from Python in one call, the SpeechBrain way.

A model folder (:mod:`lmac_brain.inference.model_folder`, written by every L-MAC training run
in ``<output_folder>/inference/``) is a SpeechBrain model repository: ``hyperparams.yaml``, the
checkpoint files and ``label_encoder.txt``. It loads with ``from_hparams`` from the folder, or
from a Hugging Face repository it was uploaded to. The interpret CLI and the listening-test
export explain through this class too (:meth:`LMACAudioInterpreter.from_resolved`), so there is
one way to load and one way to explain.
"""

import os

import torch
from speechbrain.inference.interfaces import Pretrained

from lmac_brain.audio.listenable import listenable_pair
from lmac_brain.audio.reading import SILENCE_DB, AudioReadError, UnusableAudioError, load_input
from lmac_brain.experiments.classifiers import CLASSIFIER_NODES
from lmac_brain.explainers import Explainer, build_explainer
from lmac_brain.inference.result import Interpretation
from lmac_brain.inference.windowing import classify_signal, explain_signal
from lmac_brain.models.classifier import AudioClassifier

class LMACAudioInterpreter(Pretrained):
    """Listenable interpretations of an audio classifier's decisions (L-MAC, or L2I).

    Load a model folder with ``from_hparams(source=..., savedir=...)``; ``source`` is a local
    folder or a Hugging Face repository id. Any rate, channel count and length is accepted: the
    recording is averaged to mono and resampled to the classifier's rate, and a recording longer
    than the classifier's clip is explained on half-overlapping windows blended into one mask.

    The hyperparameters (``hyperparams.yaml``) define the modules ``frontend``,
    ``embedding_model`` and ``classifier`` (the classifier) and the explainer's own trained
    modules (``decoder`` for L-MAC; ``psi``, ``theta``, ``nmf`` for L2I), and ``explainer`` (the
    registered explainer name), ``explainer_options``, ``domain``, ``mask_space``,
    ``signal_length_s`` and ``label_encoder``.

    Arguments
    ---------
    *args, **kwargs
        Forwarded to :class:`speechbrain.inference.interfaces.Pretrained` (``modules``,
        ``hparams``, ``run_opts={"device": "cuda"}``, ...).

    Example
    -------
    >>> import soundfile as sf
    >>> from lmac_brain.inference.model_folder import write_untrained_model_folder
    >>> tmpdir = getfixture("tmpdir")
    >>> folder = write_untrained_model_folder(tmpdir / "model")
    >>> interpreter = LMACAudioInterpreter.from_hparams(source=str(folder), savedir=str(tmpdir / "saved"))
    >>> sf.write(str(tmpdir / "dog.wav"), 0.1 * torch.randn(2 * 44100, 2).numpy(), 44100)
    >>> result = interpreter.interpret_file(str(tmpdir / "dog.wav"))
    >>> result.sample_rate, result.interpretation.shape, result.label in interpreter.classes
    (16000, torch.Size([32000]), True)
    >>> bool(torch.allclose(result.interpretation + result.residual, result.original, atol=1e-4))
    True
    >>> interpreter.interpret_file(str(tmpdir / "nowhere.wav"))
    Traceback (most recent call last):
    ...
    lmac_brain.audio.reading.UnusableAudioError: Cannot explain .../nowhere.wav: file not found
    """

    HPARAMS_NEEDED = ["explainer", "domain", "signal_length_s"]
    MODULES_NEEDED = list(CLASSIFIER_NODES)  # the classifier; every other module is the explainer's

    def __init__(self, *args, batch_size=8, silence_db=SILENCE_DB, **kwargs):
        super().__init__(*args, **kwargs)
        self.batch_size = batch_size
        self.silence_db = silence_db
        self.classifier_model = AudioClassifier(self.mods.frontend, self.mods.embedding_model, self.mods.classifier)
        explainer = self.hparams.explainer
        if not isinstance(explainer, Explainer):
            # Built here rather than in the YAML: it wraps the classifier built just above.
            parts = {name: module for name, module in self.mods.items() if name not in CLASSIFIER_NODES}
            options = dict(getattr(self.hparams, "explainer_options", None) or {})
            explainer = build_explainer(explainer, self.classifier_model, self.hparams.domain, **parts, **options)
        mask_space = getattr(self.hparams, "mask_space", None)
        if mask_space and mask_space != explainer.mask_space:
            explainer.use_mask_space(mask_space)
        self.explainer = explainer.to(self.device).eval()
        self.classes = list(getattr(self.hparams, "classes", None) or _encoder_classes(self.hparams.label_encoder))

    @classmethod
    def from_hparams(cls, source, hparams_file="hyperparams.yaml", overrides=None, **kwargs):
        """Load a model folder (a local folder or a Hugging Face repository id).

        The folder's ``hyperparams.yaml`` names its files relative to ``pretrained_path``,
        which is set to ``source`` here (unless ``overrides`` gives it), so the folder loads
        wherever it lies: moved, copied or uploaded. Other arguments are those of
        :meth:`speechbrain.inference.interfaces.Pretrained.from_hparams` (``savedir``,
        ``run_opts``, ``fetch_config``, ...).
        """
        overrides = dict(overrides or {})
        if isinstance(source, (str, os.PathLike)):
            overrides.setdefault("pretrained_path", str(source))
        return super().from_hparams(source, hparams_file=hparams_file, overrides=overrides, **kwargs)

    @classmethod
    def from_resolved(cls, resolved, run_opts=None, **kwargs):
        """An interpreter of a method resolved from recipe folders
        (:func:`lmac_brain.experiments.methods.resolve_method`): any explainer, baselines too.
        This is how the interpret CLI and the listening-test export explain."""
        classifier = resolved.classifier
        if run_opts is None:  # stay where the method was built (Pretrained would pick CUDA if present)
            run_opts = {"device": str(next(classifier.parameters()).device)}
        modules = {"frontend": classifier.frontend, "embedding_model": classifier.embedding_model,
                   "classifier": classifier.head}
        hparams = {"explainer": resolved.explainer, "domain": resolved.domain,
                   "signal_length_s": resolved.signal_length_s, "classes": list(resolved.classes)}
        return cls(modules=modules, hparams=hparams, run_opts=run_opts, **kwargs)

    @property
    def sample_rate(self):
        """The rate the classifier works at (every output is at this rate)."""
        return self.mods.frontend.sample_rate

    @property
    def clip_samples(self):
        """The classifier's clip length in samples (the window of a long recording)."""
        return int(round(self.hparams.signal_length_s * self.sample_rate))

    def load_file(self, path):
        """``(wav, info)``: ``path`` read as mono at :attr:`sample_rate`, and what it was.

        Raises :class:`~lmac_brain.audio.reading.UnusableAudioError`, naming the file and the
        reason, for a missing, non-audio, corrupt, empty or silent file.
        """
        try:
            wav, info = load_input(str(path), self.sample_rate, self.silence_db)
        except AudioReadError as err:
            raise UnusableAudioError(path, str(err)) from err
        return wav, info

    def interpret_file(self, path):
        """The :class:`~lmac_brain.inference.result.Interpretation` of an audio file.

        Raises :class:`~lmac_brain.audio.reading.UnusableAudioError` for a file that cannot be
        explained (see :meth:`load_file`).
        """
        wav, info = self.load_file(path)
        result = self.interpret_signal(wav)
        result.source = vars(info)
        return result

    def interpret_signal(self, wav):
        """The interpretation of one mono ``[samples]`` signal at :attr:`sample_rate`."""
        wav = torch.as_tensor(wav).detach().float().cpu().reshape(-1)
        explanation = explain_signal(wav, self.classifier_model, self.explainer, self.clip_samples, self.batch_size)
        with torch.no_grad():
            interpretation, residual = listenable_pair(
                self.mods.frontend, explanation.mag, explanation.phase, explanation.mask, wav.numel(),
                self.explainer.mask_space,
            )
        probs = explanation.probs
        return Interpretation(
            original=explanation.wav,
            interpretation=interpretation.detach().cpu(),
            residual=residual.detach().cpu(),
            mask=explanation.mask.detach().cpu(),
            label=self.classes[explanation.target],
            score=float(probs[explanation.target]),
            sample_rate=self.sample_rate,
            probs=probs,
            classes=self.classes,
            n_windows=explanation.n_windows,
            mag=explanation.mag.detach().cpu(),
            hop_length=self.mods.frontend.hop_length,
            mask_space=self.explainer.mask_space,
        )

    def interpret_batch(self, wavs, wav_lens=None):
        """One :class:`~lmac_brain.inference.result.Interpretation` per signal of a batch.

        Arguments
        ---------
        wavs : torch.Tensor
            ``[batch, samples]`` mono signals at :attr:`sample_rate` (a ``[samples]`` one is a
            batch of one).
        wav_lens : torch.Tensor, optional
            ``[batch]`` lengths relative to ``samples`` (SpeechBrain's convention); the padding
            past each length is not explained.

        Returns
        -------
        list of Interpretation
        """
        wavs = torch.as_tensor(wavs)
        if wavs.dim() == 1:
            wavs = wavs.unsqueeze(0)
        if wavs.dim() != 2:
            raise ValueError(f"Expected wavs of shape [batch, samples], got {tuple(wavs.shape)}")
        if wav_lens is None:
            wav_lens = torch.ones(wavs.shape[0])
        lengths = (torch.as_tensor(wav_lens, dtype=torch.float64).cpu() * wavs.shape[1]).round().long()
        return [self.interpret_signal(wav[:int(n)]) for wav, n in zip(wavs, lengths)]

    def classify_file(self, path):
        """The prediction alone: ``(probs, score, index, label)``, as SpeechBrain's classifiers
        return it (``probs`` of every class, averaged over the windows of a long file)."""
        wav, _ = self.load_file(path)
        probs = classify_signal(wav, self.classifier_model, self.clip_samples, self.batch_size,
                                self.explainer.domain)
        index = int(probs.argmax())
        return probs, float(probs[index]), index, self.classes[index]

    def forward(self, wavs, wav_lens=None):
        """:meth:`interpret_batch`."""
        return self.interpret_batch(wavs, wav_lens)


def _encoder_classes(encoder):
    return [str(encoder.ind2lab[i]) for i in range(len(encoder))]
