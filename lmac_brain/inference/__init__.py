"""Explaining recordings from Python, the SpeechBrain inference way.

- :class:`LMACAudioInterpreter` (:mod:`~lmac_brain.inference.interpreter`): a SpeechBrain
  ``Pretrained`` interface, loaded with ``from_hparams`` from a model folder or a Hugging Face id;
- :class:`Interpretation` (:mod:`~lmac_brain.inference.result`): what it gives per recording;
- :mod:`~lmac_brain.inference.model_folder`: the model folder every L-MAC and L2I training run
  writes in ``<output_folder>/inference/``;
- :mod:`~lmac_brain.inference.windowing`: a signal of any length explained on windows of the
  classifier's clip length, blended into one mask.
"""

from lmac_brain.inference.interpreter import LMACAudioInterpreter
from lmac_brain.inference.result import Interpretation

__all__ = ["Interpretation", "LMACAudioInterpreter"]
