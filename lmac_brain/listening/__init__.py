"""The listening test of the paper (Sec. 3.3, Table 3, Fig. 2) with webMUSHRA.

``recipes/<DATASET>/listening_test.py`` (:mod:`~lmac_brain.listening.cli`) runs its two
steps on top of this package, one module per concern:

- :mod:`~lmac_brain.listening.config`: what webMUSHRA defines and checks (the ids of the hidden
  reference and the anchors it adds, its limits) and the YAML of a test (pages, instructions);
- :mod:`~lmac_brain.listening.export`: **export**, for N recordings one ``mushra`` page each,
  whose reference is the input mixture and whose conditions are the interpretations of the
  chosen methods, written as a folder laid out like webMUSHRA's own ``configs/``;
- :mod:`~lmac_brain.listening.ratings`: reading webMUSHRA's ``results/<testId>/mushra.csv``;
- :mod:`~lmac_brain.listening.mos`: **aggregation**, the mean opinion score per method (Table 3;
  one column per group of recordings, e.g. MOS-1 / MOS-2) and per method and recording (Fig. 2);
- :mod:`~lmac_brain.listening.report`: the MOS as Markdown tables, a CSV and a figure.
"""
