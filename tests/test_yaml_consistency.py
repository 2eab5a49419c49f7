"""YAML <-> script consistency, in the spirit of SpeechBrain's ``tests/consistency/test_yaml.py``:
every top-level key of every hparams file is used by the code of the recipe that loads it, or by
another key of the file (a ``!ref``). A key nobody reads is a setting a user changes for nothing.
"""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

# The recipe script each family of hparams files drives (read alone, as SpeechBrain's check does).
RECIPE_SCRIPT = {
    "classifier_cnn14": "recipes/ESC50/train_classifier.py",
    "lmac_cnn14": "recipes/ESC50/train_lmac.py",
    "l2i_cnn14": "recipes/ESC50/train_l2i.py",
    "eval_cnn14": "recipes/ESC50/eval.py",
    "sanity_checks_cnn14": "recipes/ESC50/sanity_checks.py",
}


class _Keys(yaml.SafeLoader):
    """Reads the top-level keys of a HyperPyYAML file (tags ignored)."""


_Keys.add_multi_constructor("!", lambda loader, suffix, node: None)


def family(path):
    return next(stem for stem in sorted(RECIPE_SCRIPT, key=len, reverse=True) if path.stem.startswith(stem))


def used_in_code(key, source):
    """``hparams["key"]``, ``.get("key"``, ``hparams.key`` / ``self.hparams.key`` / ``hp.key``."""
    return bool(re.search(rf"""["']{re.escape(key)}["']|\b(?:hparams|hp)\.{re.escape(key)}\b""", source))


def referenced_in_yaml(key, text):
    return bool(re.search(rf"<{re.escape(key)}(?:[>\[])", text))


@pytest.mark.parametrize("path", sorted((ROOT / "hparams").glob("*.yaml")), ids=lambda p: p.name)
def test_every_key_is_used(path):
    text = path.read_text(encoding="utf-8")
    keys = yaml.load(text, Loader=_Keys)
    script = RECIPE_SCRIPT[family(path)]
    source = (ROOT / script).read_text(encoding="utf-8")
    unused = [key for key in keys if not key.startswith("__")  # applied when the file loads
              and not used_in_code(key, source) and not referenced_in_yaml(key, text)]
    assert not unused, f"{path.name}: keys used neither by {script} nor by another key: {unused}"


def test_the_check_finds_an_unused_key(tmp_path):
    source = 'hparams["lr"]\nself.hparams.epochs\nhparams.get("seed")'
    assert used_in_code("lr", source) and used_in_code("epochs", source) and used_in_code("seed", source)
    assert not used_in_code("l_tv", source) and not used_in_code("ep", source)
    assert referenced_in_yaml("lr", "opt: !ref <lr>") and referenced_in_yaml("m", "x: !ref <m[a]>")
    assert not referenced_in_yaml("l", "x: !ref <lr>")
