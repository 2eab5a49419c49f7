"""L-MAC as an explainer: one classifier pass gives the hidden representations, the trained
decoder turns them into the mask (so an explanation costs about one classifier forward)."""

import logging
import os

import torch

from lmac_brain.audio.masking import check_mask_space
from lmac_brain.checkpoints import (
    CHECKPOINT_KEY,
    CheckpointMismatchError,
    load_matching_state,
    read_checkpoint_file,
    resolve_checkpoint_dir,
)
from lmac_brain.errors import ConfigurationError
from lmac_brain.explainers.base import Explainer, register
from lmac_brain.models.decoder import build_decoder, decoder_domain, decoder_settings

logger = logging.getLogger(__name__)


def load_decoder(classifier, domain, source):
    """A decoder for ``classifier`` with the weights of ``source`` (an L-MAC recipe's save
    folder, best checkpoint by validation loss, or a folder holding ``decoder.ckpt``).

    The decoder's variant and widths are read from the checkpoint, so any trained configuration
    loads; a checkpoint of another domain or classifier is a :class:`CheckpointMismatchError`.
    """
    hint = "Train one with recipes/<DATASET>/train_lmac.py."
    folder = resolve_checkpoint_dir(source, min_key=CHECKPOINT_KEY, hint=hint)
    state = read_checkpoint_file(folder, "decoder", hint)
    path = os.path.join(folder, "decoder.ckpt")
    try:
        settings = decoder_settings(state)
    except ValueError as err:
        raise CheckpointMismatchError(f"{path} is not an L-MAC decoder ({err}). {hint}") from None
    trained_for = decoder_domain(state)
    if trained_for != domain:
        raise CheckpointMismatchError(
            f"{path} is a decoder trained in the {trained_for} domain: it cannot mask in the "
            f"{domain} domain (train one with --domain={domain})"
        )
    state = {"log1p_space": torch.tensor(False), **state}  # saved before the space was recorded
    decoder = build_decoder(classifier.embedding_model, classifier.frontend, domain, **settings)
    load_matching_state(decoder, state, path, f"a decoder of this classifier ({domain} domain)")
    return decoder


@register("lmac")
class LMACExplainer(Explainer):
    """Mask from a trained L-MAC decoder.

    Arguments
    ---------
    classifier : lmac_brain.models.classifier.AudioClassifier
        The classifier the decoder was trained on.
    domain : str
        The domain the decoder was trained for.
    source : str, optional
        Where to load the decoder from (see ``load_decoder``).
    decoder : lmac_brain.models.decoder.MaskDecoder or FullResMaskDecoder, optional
        An already built decoder (e.g. the one being trained).
    """

    uses_target = False

    def __init__(self, classifier, domain, source=None, decoder=None):
        super().__init__(classifier, domain)
        if decoder is None:
            if source is None:
                raise ConfigurationError("The lmac explainer needs a trained decoder: pass source=...")
            decoder = load_decoder(classifier, domain, source)
        self.decoder = decoder.eval()
        self.mask_space = decoder.mask_space

    def use_mask_space(self, space):
        """A decoder's masks are meant for the space it was trained in: scoring them in another
        one is allowed (a protocol may fix the space for every method) but logged."""
        if check_mask_space(space) != self.decoder.mask_space:
            logger.warning("This L-MAC decoder was trained for %s masks; they are applied in %s space",
                           self.decoder.mask_space, space)
        self.mask_space = space
        return self

    def explain(self, x, target):
        # L-MAC explains the classifier's own decision, so `target` is not needed.
        with torch.no_grad():
            _, hidden = self.classifier.logits_of_input(
                x, self.domain, return_hidden=True, shallow=getattr(self.decoder, "uses_shallow", False)
            )
            return self.decoder(hidden, x.shape[1])
