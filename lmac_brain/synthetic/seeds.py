"""The per-item seeds of the synthetic twins.

Everything derives from ``seed`` through per-item :class:`numpy.random.Generator` instances,
``default_rng([seed, dataset tag, ...])``: one for each layout's metadata (``[seed, tag, META]``)
and one for each clip (``[seed, tag, CLIP, ...]``). No global random state is touched, and a
clip does not depend on which other clips are made, so re-running with the same arguments
rewrites byte-identical files.
"""

#: Dataset tags (distinct, so that two layouts never share a generator).
TAG_ESC50, TAG_US8K, TAG_WHAM, TAG_LJSPEECH = 1, 2, 3, 4

#: Second key of a layout's metadata generator and of its per-clip generators.
META, CLIP = 0, 1
