"""The ground truth that the ESC-50 and UrbanSound8K twins keep beside every clip.

Under the twin root, every mixture ``audio/<rel>`` has its clean event at
``ground_truth/event/<rel>`` and its background (everything else) at
``ground_truth/background/<rel>``, with the same rate, channels and length
(:func:`write_clip`); ``ground_truth/events.csv`` lists each event's onset, offset, nominal
frequency range, SNR and distractors (:func:`write_events`).
"""

from lmac_brain.synthetic.writer import csv_bytes

#: The folders of a twin root that hold clips: the mixtures and their ground truth.
CLIP_FOLDERS = ("audio", "ground_truth/event", "ground_truth/background")

#: Columns of ``ground_truth/events.csv`` (one row a clip, from :func:`event_row`).
EVENTS_HEADER = ["path", "target", "category", "onset_s", "offset_s", "f_low_hz", "f_high_hz",
                 "snr_db", "distractors", "sample_rate", "channels"]


def event_row(rel, target, info, sr, channels):
    """The ``events.csv`` row of the clip ``rel`` from the ``info`` of
    :func:`~lmac_brain.synthetic.render.render_clip`."""
    return [rel, target, info["category"], f"{info['onset'] / sr:.6f}",
            f"{info['offset'] / sr:.6f}", f"{info['f_low']:.1f}", f"{info['f_high']:.1f}",
            f"{info['snr_db']:.3f}", info["distractors"], sr, channels]


def write_clip(writer, rel, target, rendered, sample_rate, channels):
    """Write one clip's mixture, event and background under ``rel``; return its ``events.csv`` row.

    ``rendered`` is the ``(mixture, event, background, info)`` of
    :func:`~lmac_brain.synthetic.render.render_clip`; ``writer`` a
    :class:`~lmac_brain.synthetic.writer.TwinWriter`.
    """
    mixture, event, background, info = rendered
    for folder, data in zip(CLIP_FOLDERS, (mixture, event, background)):
        writer.wav(f"{folder}/{rel}", data, sample_rate)
    return event_row(rel, target, info, sample_rate, channels)


def write_events(writer, rows):
    """Write ``ground_truth/events.csv``: :data:`EVENTS_HEADER` and ``rows`` sorted by path."""
    writer.text("ground_truth/events.csv", csv_bytes(EVENTS_HEADER, sorted(rows, key=lambda r: r[0])))
