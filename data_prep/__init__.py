"""Dataset preparation: one importable, idempotent function per dataset.

Each writes SpeechBrain JSON manifests (``DynamicItemDataset.from_json``) into ``save_folder``
and raises :class:`DatasetLayoutError` (naming the path and showing the expected layout) for a
missing or malformed dataset. Recipes call them through
``speechbrain.utils.distributed.run_on_main``.
"""

from data_prep.common import DatasetLayoutError
from data_prep.esc50 import prepare_esc50
from data_prep.ljspeech import prepare_ljspeech
from data_prep.us8k import prepare_us8k
from data_prep.wham import prepare_wham

__all__ = [
    "DatasetLayoutError", "prepare_esc50", "prepare_us8k", "prepare_wham", "prepare_ljspeech",
]
