"""Synthetic twins of the ESC-50, UrbanSound8K, WHAM! noise and LJSpeech folder layouts.

None of the real datasets can be downloaded everywhere, so this package writes folders with
exactly their on-disk layouts, filled with synthetic audio:

* ESC-50 and UrbanSound8K twins hold sound-event classes, each defined by a spectro-temporal
  pattern (:data:`EVENT_CLASSES`), mixed over backgrounds (coloured noise with a random spectral
  tilt, mains/machine hum, a babble of random tones) and 0-2 distractors (stationary tones, noise
  bursts) that overlap the events' frequency ranges. For every clip the clean event and the
  background (everything else) are written as separate files under ``ground_truth/``, with the
  same rate, channels and length as the mixture, and ``mixture == event + background`` holds
  exactly on the PCM_16 sample values. ``ground_truth/events.csv`` lists each event's onset,
  offset, nominal frequency range, SNR and distractors. The backgrounds and distractors are
  independent of the class, so a classifier that hears only the ``ground_truth/background/``
  files can do no better than chance.
* WHAM! noise twins hold stereo noise backgrounds (coloured noise, speech-like babble, hum, and
  mixtures of these).
* LJSpeech twins hold speech-like signals (a harmonic source with a moving f0 through moving
  formant resonances, a syllable-rate amplitude envelope, fricative noise) and a ``metadata.csv``.

Everything derives from ``seed``, and re-running with the same arguments rewrites byte-identical
files; each twin root holds a ``SYNTHETIC_TWIN.json`` marker, and a real dataset is never
written into.

Modules, one concern each:

* :mod:`~lmac_brain.synthetic.signals`: small signal helpers and the frequency scale below 16 kHz;
* :mod:`~lmac_brain.synthetic.events`: the sound-event classes;
* :mod:`~lmac_brain.synthetic.background`: the background bed and the distractors;
* :mod:`~lmac_brain.synthetic.speech`: speech-like signals;
* :mod:`~lmac_brain.synthetic.render`: one event-over-background clip (levels, mixing, PCM_16);
  why the background says nothing about the class;
* :mod:`~lmac_brain.synthetic.ground_truth`: the event and background files beside every clip
  and ``events.csv``;
* :mod:`~lmac_brain.synthetic.seeds`, :mod:`~lmac_brain.synthetic.sources`,
  :mod:`~lmac_brain.synthetic.checks`: per-item seeds, the clips of each source (ids, takes),
  argument checks;
* :mod:`~lmac_brain.synthetic.writer`: the idempotent writer of a twin root and its marker;
* :mod:`~lmac_brain.synthetic.esc50`, :mod:`~lmac_brain.synthetic.us8k`,
  :mod:`~lmac_brain.synthetic.wham`, :mod:`~lmac_brain.synthetic.ljspeech`: one layout each;
* :mod:`~lmac_brain.synthetic.coverage`: measuring the ground truth (:func:`event_coverage`);
* ``__main__``: the command line::

    python -m lmac_brain.synthetic esc50 --out DIR --n-classes 10 --clips-per-class-per-fold 8
    python -m lmac_brain.synthetic us8k --out DIR
    python -m lmac_brain.synthetic wham --out DIR --files-per-split 20 5 5
    python -m lmac_brain.synthetic ljspeech --out DIR --n-files 20
"""

from lmac_brain.synthetic.coverage import event_coverage
from lmac_brain.synthetic.esc50 import ESC50_FOLDS, make_esc50_twin
from lmac_brain.synthetic.events import EVENT_CLASSES
from lmac_brain.synthetic.ljspeech import LJSPEECH_SAMPLE_RATE, make_ljspeech_twin
from lmac_brain.synthetic.render import (
    BACKGROUND_DBFS_RANGE,
    BACKGROUND_PEAK_MAX,
    DISTRACTOR_SNR_DB_RANGE,
    EVENT_FRACTION_RANGE,
    MAX_DISTRACTORS,
    MIN_EVENT_SECONDS,
    MIXTURE_PEAK_MAX,
    SNR_DB_RANGE,
)
from lmac_brain.synthetic.signals import REFERENCE_RATE
from lmac_brain.synthetic.us8k import (
    US8K_FOLDS,
    US8K_SAMPLE_RATES,
    US8K_SHORT_SHARE,
    US8K_STEREO_SHARE,
    make_us8k_twin,
)
from lmac_brain.synthetic.wham import WHAM_SPLITS, make_wham_twin
from lmac_brain.synthetic.writer import MARKER

__all__ = [
    "BACKGROUND_DBFS_RANGE",
    "BACKGROUND_PEAK_MAX",
    "DISTRACTOR_SNR_DB_RANGE",
    "ESC50_FOLDS",
    "EVENT_CLASSES",
    "EVENT_FRACTION_RANGE",
    "LJSPEECH_SAMPLE_RATE",
    "MARKER",
    "MAX_DISTRACTORS",
    "MIN_EVENT_SECONDS",
    "MIXTURE_PEAK_MAX",
    "REFERENCE_RATE",
    "SNR_DB_RANGE",
    "US8K_FOLDS",
    "US8K_SAMPLE_RATES",
    "US8K_SHORT_SHARE",
    "US8K_STEREO_SHARE",
    "WHAM_SPLITS",
    "event_coverage",
    "make_esc50_twin",
    "make_ljspeech_twin",
    "make_us8k_twin",
    "make_wham_twin",
]
