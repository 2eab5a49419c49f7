"""SpeechBrain data pipelines over the prepared JSON manifests."""

import json

import speechbrain as sb

from lmac_brain.audio.reading import read_clip


def peak_gain(sig):
    """``1 / max|sig|`` (1 for a silent clip): the authors' per-clip peak normalisation.

    Example
    -------
    >>> import torch
    >>> float(peak_gain(torch.tensor([0.1, -0.5]))), float(peak_gain(torch.zeros(3)))
    (2.0, 1.0)
    """
    peak = sig.abs().max()
    return 1.0 / peak if peak > 0 else peak.new_tensor(1.0)


def classification_dataset(manifest, sample_rate, signal_length_s, label_encoder, ground_truth=False,
                           peak_normalize=False):
    """A ``DynamicItemDataset`` yielding ``id``, ``sig`` and ``class_index`` (and the clean event).

    Arguments
    ---------
    manifest : str
        JSON manifest written by ``data_prep``.
    sample_rate : int
        Pipeline rate; every file is resampled to it and downmixed to mono.
    signal_length_s : float
        Clip length; shorter files are zero-padded, longer ones cropped.
    label_encoder : speechbrain.dataio.encoder.CategoricalEncoder
        Encodes each item's ``class_name`` into ``class_index`` (``0..K-1``; the manifests'
        ``label`` is the dataset's own class number, e.g. ESC-50's ``target``).
    ground_truth : bool
        Also yield ``event_sig`` (the clean target event of a synthetic twin), used as the
        guidance target of fine-tuning and for localization metrics.
    peak_normalize : bool
        Divide every clip by its peak (the authors' ESC-50 preparation does); the clean event
        is scaled by the same gain, so it stays the event as it is in the clip.
    """
    dataset = sb.dataio.dataset.DynamicItemDataset.from_json(manifest)

    @sb.utils.data_pipeline.takes("wav")
    @sb.utils.data_pipeline.provides("sig", "gain")
    def audio_pipeline(wav):
        sig = read_clip(wav, sample_rate, signal_length_s)
        gain = peak_gain(sig) if peak_normalize else sig.new_tensor(1.0)
        yield sig * gain
        yield gain

    @sb.utils.data_pipeline.takes("class_name")
    @sb.utils.data_pipeline.provides("class_index")
    def label_pipeline(class_name):
        return label_encoder.encode_label(class_name)  # an int: a batch collates them into a tensor

    keys = ["id", "sig", "class_index"]
    sb.dataio.dataset.add_dynamic_item([dataset], audio_pipeline)
    sb.dataio.dataset.add_dynamic_item([dataset], label_pipeline)
    if ground_truth:

        @sb.utils.data_pipeline.takes("event_wav", "gain")
        @sb.utils.data_pipeline.provides("event_sig")
        def event_pipeline(event_wav, gain):
            return read_clip(event_wav, sample_rate, signal_length_s) * gain

        sb.dataio.dataset.add_dynamic_item([dataset], event_pipeline)
        keys.append("event_sig")
    sb.dataio.dataset.set_output_keys([dataset], keys)
    return dataset


def has_ground_truth(manifest):
    """Whether every item of ``manifest`` carries the clean event (synthetic twins)."""
    with open(manifest, encoding="utf-8") as f:
        data = json.load(f)
    return bool(data) and all("event_wav" in entry for entry in data.values())

