"""Comparing explanation methods on equal terms (paper Tables 1-2).

- :mod:`~lmac_brain.evaluation.conditions`: how a clean test clip becomes the evaluated mixture
  (ID: WHAM! noise; OOD: another clip, white noise, speech), seeded per item;
- :mod:`~lmac_brain.evaluation.methods`: the method configuration and its validation;
- :mod:`~lmac_brain.evaluation.harness`: every method in every condition and domain, scored with
  :mod:`lmac_brain.metrics`;
- :mod:`~lmac_brain.evaluation.tables`: ``metrics.csv`` and the paper-style ``metrics.md``.
"""
