"""Explaining a user's own recordings: any file, any sample rate, any channels, any length.

The interpret CLI (``recipes/<DATASET>/interpret.py``, :mod:`~lmac_brain.interpret.cli`) runs on
top of this package, one module per step:

1. :mod:`~lmac_brain.interpret.inputs`: ``--input`` (an audio file, a folder, or a SpeechBrain
   JSON/CSV manifest) becomes a list of inputs;
2. :class:`~lmac_brain.inference.LMACAudioInterpreter` explains each (below this package: it
   reads the file, refusing with a short reason what cannot be explained, and explains a signal
   of any length on windows, :mod:`~lmac_brain.inference.windowing`);
3. :mod:`~lmac_brain.interpret.outputs`: the wavs (original, interpretation, residual) and the
   figure of one input;
4. :mod:`~lmac_brain.interpret.run`: a whole run, with ``report.json`` and the page
   (:mod:`~lmac_brain.interpret.page`), published atomically
   (:mod:`~lmac_brain.reporting.publishing`).
"""
