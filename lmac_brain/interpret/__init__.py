"""Explaining a user's own recordings: any file, any sample rate, any channels, any length.

The interpret CLI (``recipes/<DATASET>/interpret.py``, :mod:`~lmac_brain.interpret.cli`) runs on
top of this package, one module per step:

1. :mod:`~lmac_brain.interpret.inputs`: ``--input`` (an audio file, a folder, or a SpeechBrain
   JSON/CSV manifest) becomes a list of inputs, each read as mono at the classifier's rate;
   what cannot be explained (missing, non-audio, corrupt, empty, silent, non-finite) is refused
   with a short reason;
2. :mod:`~lmac_brain.interpret.windowing`: a signal of any length is explained with any
   :class:`~lmac_brain.explainers.Explainer` on windows of the classifier's clip length, blended
   into one mask over one STFT of the whole signal;
3. :mod:`~lmac_brain.interpret.outputs`: the wavs (original, interpretation, residual) and the
   figure of one input;
4. :mod:`~lmac_brain.interpret.run`: a whole run, with ``report.json`` and the page
   (:mod:`~lmac_brain.interpret.page`), published atomically
   (:mod:`~lmac_brain.interpret.publishing`).
"""
