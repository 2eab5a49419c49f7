"""The webMUSHRA test configuration: its stimulus ids, its limits, its pages.

What webMUSHRA itself defines or checks, shared by the export and the aggregation: the ids it
gives the stimuli it adds to every page (the hidden reference :data:`HIDDEN_REFERENCE`, the
low-pass anchors of ``createAnchor35`` / ``createAnchor70``, :data:`ANCHORS`), the limits of its
strict mode (:data:`MAX_SECONDS`, :data:`MAX_CONDITIONS`), and the YAML structure of a test
(:func:`mushra_page`, :func:`webmushra_config`) with the instructions of the paper.
"""

HIDDEN_REFERENCE = "reference"
"""webMUSHRA's id for the hidden reference in its results."""

ANCHORS = {"35": "anchor35", "70": "anchor70"}
"""``createAnchor<NN>`` options -> the stimulus id webMUSHRA gives the anchor."""

CONTROL_LABELS = {
    HIDDEN_REFERENCE: "Hidden reference (input mixture)",
    "anchor35": "Anchor (3.5 kHz low-pass)",
    "anchor70": "Anchor (7 kHz low-pass)",
}

MAX_SECONDS = 12.0
"""webMUSHRA refuses longer stimuli (strict mode)."""

MAX_CONDITIONS = 12
"""webMUSHRA refuses more conditions on a page (strict mode)."""

INSTRUCTIONS = (
    "You will hear a recording (the <b>reference</b>) and, for each condition, an "
    "interpretation: the part of the recording that an audio classifier relied on for its "
    "decision. The class the classifier predicted is given on each page.<br/><br/>"
    "1. How well does the interpretation correspond to the part of the input audio associated "
    "with the given class?<br/>2. While evaluating, please pay attention to audio quality "
    "also.<br/><br/>Rate every condition between 0 and 100."
)
"""The two instructions given to the listeners in the paper (Sec. 3.3)."""


def mushra_page(trial_id, name, content, reference, stimuli, anchors=("35",)):
    """One webMUSHRA ``mushra`` page (paths relative to webMUSHRA's root)."""
    return {
        "type": "mushra",
        "id": trial_id,
        "name": name,
        "content": content,
        "showWaveform": True,
        "enableLooping": True,
        "reference": reference,
        "createAnchor35": "35" in anchors,
        "createAnchor70": "70" in anchors,
        "randomize": True,
        "showConditionNames": False,
        "stimuli": dict(stimuli),
    }


def webmushra_config(test_id, title, pages, volume_stimulus=None):
    """A complete webMUSHRA configuration: instructions, volume, the pages in random order, finish."""
    config_pages = [{"type": "generic", "id": "instructions", "name": "Instructions", "content": INSTRUCTIONS}]
    if volume_stimulus:
        config_pages.append({
            "type": "volume", "id": "volume", "name": "Volume",
            "content": "Set a comfortable listening level with this recording; keep it for the whole test.",
            "stimulus": volume_stimulus, "defaultVolume": 0.5,
        })
    config_pages.append(["random", *pages])
    config_pages.append({
        "type": "finish", "name": "Thank you", "content": "Thank you for taking part!",
        "showResults": False, "writeResults": True,
    })
    return {
        "testname": title,
        "testId": test_id,
        "bufferSize": 2048,
        "stopOnErrors": True,
        "showButtonPreviousPage": True,
        "remoteService": "service/write.php",
        "pages": config_pages,
    }
