"""A real-recordings development set in the ESC-50 layout, built from Debian packages' sounds.

    python benchmarks/real_devset.py --out data/real_devset [--noise-out data/real_wham] \
        [--cache data/debs] [--seed 0]

The synthetic twins exercise the recipes, but say little about real audio. This script builds a
small ESC-50-like set from the sound effects that free games ship in Debian (issue 15):

1. ``apt-get download`` each package of :data:`PACKAGES` into ``--cache`` (``apt-get update``
   runs once first when something has to be downloaded) and ``dpkg -x`` it there;
2. collect its sound files (wav / ogg / flac / oga, also inside the zip archives some games
   use: ``.zip``, ``.pk3``, ``.wz``), drop byte-identical files and re-encoded copies of one
   recording (:func:`same_recording`);
3. label each file from its NAME alone (:data:`CLASS_RULES`: ``FootStepGrass1.ogg`` ->
   footsteps), skipping music, speech and other paths of :data:`SKIP_PATH_TOKENS`;
   ambience files (:data:`AMBIENCE_TOKENS`: rain, wind, night, crickets...) go to the noise
   set instead, so that no background recording is also an event clip;
4. cut each source into 5 s takes at 44.1 kHz mono (short sounds are zero-padded, long ones
   give up to :data:`MAX_TAKES` takes A, B, C), drop near-silent takes, keep the classes with
   at least ``--min-sources`` source files and ``--min-clips`` clips (at most ``--max-clips``);
5. give each source file one fold (all its takes share it, and so do numbered variants of one
   effect: :func:`variant_family`), balancing the clips of each class over the 5 folds, and
   write ``audio/{fold}-{src}-{take}-{target}.wav``, ``meta/esc50.csv``, ``meta/sources.csv``
   (where each source came from) and ``README.md`` (packages, versions, licences, class counts
   per fold);
6. with ``--noise-out``, write the ambience as WHAM!-like noise ``wham_noise/{tr,cv,tt}/*.wav``
   (16 kHz mono, split by source file) with its own ``README.md``.

Labels come from file names, so they are only as good as the game authors' naming: the set is
for development (does a recipe run and learn on real recordings?), not for reporting results.
Everything is deterministic for a given ``--seed`` and package versions.
"""

import argparse
import csv
import hashlib
import io
import logging
import math
import random
import re
import shlex
import subprocess
import sys
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve, resample_poly
from tqdm import tqdm

logger = logging.getLogger("real_devset")

# ------------------------------------------------------------------------------------------------
# What is used: the packages, and the rules that turn file names into labels.
# ------------------------------------------------------------------------------------------------

#: Debian (bookworm) packages whose sound files are collected, chosen for many distinct, named
#: sound effects per megabyte (together about 1.7 GB of .deb files). Big packages with few
#: labelled effects (hedgewars-data, supertux-data: mostly voices and music) were left out.
PACKAGES = (
    "7kaa-data",  # Seven Kingdoms: a few ambience recordings (rain, wind, thunder)
    "abe-data",
    "alienblaster-data",
    "boswars-data",
    "brainparty-data",
    "btanks-data",
    "bzflag-data",
    "cavepacker-data",
    "caveexpress-data",
    "ceferino-data",
    "chromium-bsu-data",
    "foobillardplus-data",
    "freedink-data",
    "freedroidrpg-data",
    "gamine-data",
    "granatier",
    "hannah-data",
    "kgoldrunner",
    "kolf",
    "lbreakout2-data",
    "lugaru-data",
    "megaglest-data",  # many animal, footstep, weapon and ambience recordings
    "moon-lander-data",
    "netpanzer-data",
    "openarena-data",  # sounds inside .pk3 (zip) archives
    "openarena-088-data",
    "pekka-kana-2-data",
    "pingus-data",
    "sdl-ball-data",
    "trigger-rally-data",  # sounds inside data.zip
    "tuxmath-data",
    "tuxpaint-data",
    "warmux-data",
    "warzone2100-data",  # sounds inside .wz (zip) archives
    "widelands-data",  # animal and ambience recordings
)

#: Kept out on purpose: an independent evaluation set is built from these (shell patterns).
EXCLUDED_PACKAGES = (
    "scorched3d-data",
    "minetest-data",
    "wesnoth-*",
    "tuxpaint-stamps-*",
    "freeciv-data",
    "lincity-ng-data",
    "simutrans-pak64",
    "sonic-pi-samples",
    "asterisk-core-sounds-*",
)

AUDIO_EXTENSIONS = (".wav", ".ogg", ".oga", ".flac")
#: Zip archives in which some games keep their sounds (Quake 3 .pk3, Warzone 2100 .wz).
ARCHIVE_EXTENSIONS = (".zip", ".pk3", ".wz")

#: A sound is skipped when a token of any folder or of its file name is one of these: music,
#: speech (unit acknowledgements, announcers, tutorials, taunts), interface jingles.
SKIP_PATH_TOKENS = frozenset(
    """music musics song songs voice voices vocal speech tutorial tutorials taunt taunts announcer
    festivoxmale festivoxfemale memressp cmndrvoc vtoltalk countdown sequenceaudio intro credits
    paula tim jingle theme menu""".split()
)

#: Real-time strategy games name a unit's spoken replies so (``swordman_select3``); skipped
#: too, unless the file names an animal: a chicken's ``ack`` is a cluck.
UNIT_SPEECH_TOKENS = frozenset("select selected sel ack ready completed underattack attacked".split())
ANIMAL_CLASSES = frozenset({"dog", "hen", "pig", "cow", "sheep", "bird"})

#: Ordered ``(class, token pattern)``: a sound gets the first class whose pattern matches a
#: WHOLE token of its file name (or, failing that, of its folder name). Tokens are the lower-case
#: letter runs of the name, camelCase split, digits dropped: ``FootStepGrass1`` -> foot, step,
#: grass. Whole-token matching is why ``stickfighter`` is no ``tick`` and ``swordman`` no sword.
CLASS_RULES = (
    ("dog", r"dogs?|bark\w*|woof|wolf|wolves|howl|growl|snarl"),
    ("hen", r"chickens?|chick|hens?|rooster|cluck"),
    ("pig", r"pigs?|boar|oink"),
    ("cow", r"cows?|bull|ox|moo"),
    ("sheep", r"sheep\w*|goat|bleat"),
    ("bird", r"birds?|chirp\w*|tweet|hawk|eagle|crow|owl|gulls?|seagull|duck|cuckoo|pigeon|parrot"),
    ("thunder", r"thunder\w*|lightning"),
    ("explosion", r"explo\w*|expl|exp|boom|blast|bombs?|detonat\w*|nuke|kaboom|grenade"),
    ("laser", r"lasers?|plasma|zap|beam|phaser|blaster"),
    ("gunshot", r"guns?|gunshot|shot|shoot\w*|rifle|pistol|cannon|mg|bullet|shell|bazoo\w*|"
                r"musket|revolver|uzi|tankshot|shotgun|machinegun|minigun|battle"),
    ("footsteps", r"foot\w*|steps?|boots?|walk\w*"),
    ("door", r"doors?|gate"),
    ("glass_breaking", r"glass|shatter\w*|crack\w*|break\w*"),
    ("water", r"water\w*|splash\w*|watr|drip\w*|bubbles?|sink|swim\w*|drown\w*|gurp|puddle"),
    ("engine", r"engines?|motor\w*|car|truck|helicopter|chopper|jet|tractor|vehicle|airship|buggy"),
    ("bell", r"bells?|ding|chime\w*|gong|anvil|hammering|hammer|smith"),
    ("coin", r"coins?|money|cash"),
    ("fire", r"fire|crackl\w*|flames?|burn\w*|furnace"),
    ("impact", r"hit|hits|impact|thud|punch|smack|crash|land\w*|clank|metal"),
    ("sword", r"whoosh|swish|swoosh|swords?|knife|slash|slice|blade|swing\w*"),
    ("saw", r"saws?|sawing|benchsaw|sawmill|woodcutting|woodcutter|chop\w*"),
    ("click", r"click\w*|clic|tick|button|keyclick|typewriter\w*"),
    ("alarm", r"alarm|siren|beep|buzz\w*"),
    ("scream", r"scream\w*|pain|ouch|yell|shout|moan|gasp|death"),
)

#: Tokens of background ambience: such files feed the noise set, never the classes.
AMBIENCE_TOKENS = frozenset(
    """ambient ambience amb rain wind breeze night nightime day desertday morning sunny crickets
    cricket forest jungle waterfall river ocean sea waves surf crowd traffic city drone
    machinerydrone rumble""".split()
)

SAMPLE_RATE = 44100
CLIP_SECONDS = 5.0
#: Takes (A, B, C...) cut from one long source: more would let one recording dominate a class.
MAX_TAKES = 3
N_FOLDS = 5
#: A take is near-silent, hence skipped, when its RMS is below this (-60 dBFS)...
SILENCE_RMS = 1e-3
#: ...or its peak below this (-50 dBFS).
SILENCE_PEAK = 10 ** (-50 / 20)
#: A take cut from the tail of a long file must hold at least this share of real signal.
MIN_TAIL_FRACTION = 0.5

#: Two sounds are one recording when their lengths differ by at most this (s)...
SAME_RECORDING_LENGTH_TOLERANCE = 0.05
#: ...and their normalised cross-correlation reaches this (:func:`same_recording`)...
SAME_RECORDING_CORRELATION = 0.95
#: ...at a lag of at most this (s).
SAME_RECORDING_MAX_LAG = 0.05

NOISE_SAMPLE_RATE = 16000
NOISE_SECONDS = 10.0
#: Shorter ambience recordings are too short to serve as backgrounds of 5 s clips.
NOISE_MIN_SECONDS = 4.0
NOISE_MAX_SEGMENTS = 6
#: Share of the noise sources in ``tr`` and ``cv`` (the rest is ``tt``), as in WHAM! roughly.
NOISE_SPLIT = (0.7, 0.15)

TOKEN_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")


# ------------------------------------------------------------------------------------------------
# Pure logic: labels, takes, folds, rows (unit-tested in tests/test_real_devset.py).
# ------------------------------------------------------------------------------------------------


def name_tokens(name):
    """Lower-case letter runs of a file or folder name, camelCase split, extension dropped.

    Examples
    --------
    >>> name_tokens("FootStepGrass1.ogg")
    ['foot', 'step', 'grass']
    >>> name_tokens("expl_ball.wav")
    ['expl', 'ball']
    >>> name_tokens("BIGBoom")
    ['big', 'boom']
    """
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return [token.lower() for token in TOKEN_RE.findall(stem)]


def _compiled_rules(rules):
    return [(label, re.compile(rf"(?:{pattern})")) for label, pattern in rules]


_RULES = _compiled_rules(CLASS_RULES)


def _path_parts(path):
    """Folder and file names of a package path; ``archive.pk3!sound/x.wav`` counts as folders."""
    return [part for part in re.split(r"[/!]", str(path)) if part]


def is_skipped(path):
    """True when a folder or the file name of ``path`` has a token of :data:`SKIP_PATH_TOKENS`."""
    return any(token in SKIP_PATH_TOKENS for part in _path_parts(path) for token in name_tokens(part))


def is_ambience(path):
    """True for an ambience recording: a token of its FILE NAME is in :data:`AMBIENCE_TOKENS`."""
    if is_skipped(path):
        return False
    return any(token in AMBIENCE_TOKENS for token in name_tokens(_path_parts(path)[-1]))


def label_from_name(path, rules=None):
    """The class of a sound file from its name, or None (skipped, ambience or no rule matches).

    The file name decides first; its folder name only when the file name matches no rule
    (``footsteps/boot1.wav`` -> footsteps). Rules are tried in order, first match wins.

    Parameters
    ----------
    path : str
        Path of the file inside its package (``archive.pk3!a/b.wav`` for archive members).
    rules : sequence of (str, str), optional
        ``(class, token pattern)`` pairs; :data:`CLASS_RULES` by default.

    Returns
    -------
    str or None

    Examples
    --------
    >>> label_from_name("usr/share/games/lugaru/Sounds/FootStepGrass1.ogg")
    'footsteps'
    >>> label_from_name("pak0.pk3!sound/player/footsteps/boot1.wav")
    'footsteps'
    >>> label_from_name("sounds/stickfighter_attack2.wav") is None
    True
    """
    if is_skipped(path) or is_ambience(path):
        return None
    compiled = _RULES if rules is None else _compiled_rules(rules)
    parts = _path_parts(path)
    file_tokens = name_tokens(parts[-1])
    for name in (parts[-1], parts[-2] if len(parts) > 1 else ""):
        tokens = name_tokens(name)
        for label, pattern in compiled:
            if any(pattern.fullmatch(token) for token in tokens):
                if label not in ANIMAL_CLASSES and UNIT_SPEECH_TOKENS.intersection(file_tokens):
                    return None
                return label
    return None


def is_silent(clip, rms_floor=SILENCE_RMS, peak_floor=SILENCE_PEAK):
    """True when ``clip`` is near-silent: RMS under ``rms_floor`` or peak under ``peak_floor``."""
    clip = np.asarray(clip, dtype=np.float64)
    if clip.size == 0:
        return True
    return bool(np.sqrt(np.mean(clip**2)) < rms_floor or np.max(np.abs(clip)) < peak_floor)


def cut_takes(audio, sample_rate, signal_length_s=CLIP_SECONDS, max_takes=MAX_TAKES,
              min_tail_fraction=MIN_TAIL_FRACTION):
    """Cut a mono signal into consecutive takes of exactly ``signal_length_s``.

    A signal no longer than one take gives one zero-padded take (as ESC-50 pads short events).
    A longer one gives its consecutive windows, the last zero-padded when it holds at least
    ``min_tail_fraction`` of a take (shorter tails are dropped), at most ``max_takes`` of them.

    Parameters
    ----------
    audio : numpy.ndarray
        1-D signal.
    sample_rate : int
    signal_length_s : float
    max_takes : int
    min_tail_fraction : float

    Returns
    -------
    list of numpy.ndarray
        float32 arrays of ``round(signal_length_s * sample_rate)`` samples each.
    """
    audio = np.asarray(audio, dtype=np.float32)
    length = int(round(signal_length_s * sample_rate))
    if audio.ndim != 1:
        raise ValueError(f"cut_takes expects a mono 1-D signal, got shape {audio.shape}")
    if len(audio) == 0:
        return []
    takes = []
    for start in range(0, len(audio), length):
        piece = audio[start : start + length]
        if start > 0 and len(piece) < min_tail_fraction * length:
            break
        takes.append(np.pad(piece, (0, length - len(piece))))
        if len(takes) == max_takes:
            break
    return takes


def take_letter(index):
    """ESC-50 take name of the ``index``-th take: A, B, ..., Z, AA, AB..."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def variant_family(path):
    """The numbered-variant family of a sound: its folder and name without the last number.

    Games ship several performances of one effect as ``boot1`` ... ``boot4`` or ``pain25_1``;
    they are distinct files but near-twins, so a family is kept in one fold (like the takes of
    one ESC-50 source) rather than letting a twin of a test clip into training.

    Examples
    --------
    >>> variant_family("sound/player/footsteps/boot3.wav")
    'sound/player/footsteps/boot'
    >>> variant_family("a.pk3!sounds/FootStepGrass1.ogg")
    'a.pk3!sounds/footstepgrass'
    >>> variant_family("widelands/animals/bird1_02.ogg")
    'widelands/animals/bird1'
    """
    folder, _, name = str(path).rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = re.sub(r"[_\-. ]*\d+$", "", stem.lower()) or stem.lower()
    return f"{folder}/{stem}" if folder else stem


def assign_folds(clips_per_source, n_folds=N_FOLDS, seed=0):
    """One fold per source (a file, or a family of files), balancing each class over the folds.

    Sources are dealt class by class, in a seeded random order with the sources of most clips
    first, each to the fold that holds the fewest clips of its class so far (then the fewest
    sources, then the lowest index). All takes of a source thus share its fold.

    Parameters
    ----------
    clips_per_source : dict
        ``{source key: (class, number of clips)}``; keys must be sortable.
    n_folds : int
    seed : int

    Returns
    -------
    dict
        ``{source key: fold}``, folds numbered 1 to ``n_folds``.
    """
    rng = random.Random(seed)
    by_class = defaultdict(list)
    for source in sorted(clips_per_source):
        label, n_clips = clips_per_source[source]
        by_class[label].append((source, n_clips))
    folds = {}
    for label in sorted(by_class):
        sources = by_class[label]
        rng.shuffle(sources)
        # Stable sort: largest sources first (greedy balancing), seeded order among equals.
        sources.sort(key=lambda item: -item[1])
        clips = [0] * n_folds
        count = [0] * n_folds
        for source, n_clips in sources:
            fold = min(range(n_folds), key=lambda f: (clips[f], count[f], f))
            clips[fold] += n_clips
            count[fold] += 1
            folds[source] = fold + 1
    return folds


def esc50_filename(fold, src, take, target):
    """``{fold}-{src}-{take}-{target}.wav``, the ESC-50 audio file name."""
    return f"{fold}-{src}-{take}-{target}.wav"


CSV_HEADER = ("filename", "fold", "target", "category", "esc10", "src_file", "take")


def write_esc50_csv(rows, path):
    """Write ``meta/esc50.csv``: :data:`CSV_HEADER`, one row per clip, sorted by file name.

    Parameters
    ----------
    rows : iterable of dict
        Keys ``fold``, ``src_file``, ``take``, ``target``, ``category``.
    path : Path
    """
    rows = sorted(rows, key=lambda r: esc50_filename(r["fold"], r["src_file"], r["take"], r["target"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for r in rows:
            name = esc50_filename(r["fold"], r["src_file"], r["take"], r["target"])
            writer.writerow([name, r["fold"], r["target"], r["category"], "False", r["src_file"], r["take"]])


def source_id(digest, taken):
    """A numeric ESC-50 ``src_file`` id from a content digest, unique among ``taken`` ids.

    Numeric like freesound ids, and derived from the content so that adding a package does not
    renumber the other sources; on a (rare) clash the next free number is used.
    """
    number = int(digest[:12], 16) % 9_000_000 + 1_000_000
    while number in taken:
        number += 1
    taken.add(number)
    return number


#: Licences looked for in a copyright file that is not in the machine-readable (DEP-5) format.
FREE_TEXT_LICENCES = (
    ("GPL", r"GNU General Public License"),
    ("LGPL", r"GNU (?:Lesser|Library) General Public License"),
    ("Free-Art-License", r"Free Art Licen[cs]e|artlibre"),
    ("CC", r"Creative Commons|creativecommons\.org"),
    ("public-domain", r"public domain"),
    ("WTFPL", r"WTFPL|DO WHAT THE FUCK"),
    ("BSD", r"\bBSD\b"),
)


def summarise_licences(copyright_text):
    """The distinct licences named by a Debian copyright file.

    Returns
    -------
    str
        The distinct values of its ``License:`` fields (machine-readable format), e.g.
        ``"CC-BY-SA-3.0, GPL-2+"``; for a free-text file, ``"free-text: "`` and the licences of
        :data:`FREE_TEXT_LICENCES` it mentions; ``"unknown"`` when neither is found.
    """
    names = {
        line.split(":", 1)[1].strip()
        for line in copyright_text.splitlines()
        if line.startswith("License:") and line.split(":", 1)[1].strip()
    }
    if names:
        return ", ".join(sorted(names, key=str.lower))
    mentioned = [
        name for name, pattern in FREE_TEXT_LICENCES if re.search(pattern, copyright_text, re.IGNORECASE)
    ]
    return "free-text: " + ", ".join(mentioned) if mentioned else "unknown"


def same_recording(a, b, sample_rate, threshold=None):
    """True when two signals are one recording: re-encoded, re-levelled or shifted by < 50 ms.

    Compares the first second of each by their normalised cross-correlation, at its best lag
    within :data:`SAME_RECORDING_MAX_LAG`. Lossy re-encoding keeps it above 0.98; numbered
    variants of one effect (``hit1``, ``hit2``: a new performance) stay below 0.95.
    """
    threshold = SAME_RECORDING_CORRELATION if threshold is None else threshold
    n = min(len(a), len(b), sample_rate)
    a = np.asarray(a[:n], dtype=np.float64)
    b = np.asarray(b[:n], dtype=np.float64)
    energy = np.sqrt(np.sum(a**2) * np.sum(b**2))
    if energy == 0:
        return False
    xcorr = fftconvolve(a, b[::-1])
    lag = int(SAME_RECORDING_MAX_LAG * sample_rate)
    window = xcorr[max(0, n - 1 - lag) : n + lag]
    return float(np.max(np.abs(window))) / energy >= threshold


class RecordingIndex:
    """Finds a recording already seen, compared with those of about the same length only."""

    def __init__(self):
        self._buckets = defaultdict(list)

    def find_or_add(self, audio, sample_rate, name):
        """The name of an earlier :func:`same_recording` match of ``audio``, else None (and add it).

        Lengths may differ by up to :data:`SAME_RECORDING_LENGTH_TOLERANCE` seconds (an encoder's
        padding).
        """
        step = SAME_RECORDING_LENGTH_TOLERANCE
        bucket = int(len(audio) / sample_rate / step)
        for b in (bucket - 1, bucket, bucket + 1):
            for length, head, other_name in self._buckets[b]:
                close = abs(length - len(audio)) <= step * sample_rate
                if close and same_recording(audio, head, sample_rate):
                    return other_name
        # One second is all same_recording compares: keep no more.
        self._buckets[bucket].append((len(audio), np.array(audio[:sample_rate]), name))
        return None


# ------------------------------------------------------------------------------------------------
# Packages: download, extract, find sounds.
# ------------------------------------------------------------------------------------------------


@dataclass
class Package:
    """A downloaded and extracted Debian package."""

    name: str
    version: str
    deb: Path
    root: Path
    licences: str = "unknown"
    n_sounds: int = 0
    used: Counter = field(default_factory=Counter)  # dev-set sources per class
    noise_used: Counter = field(default_factory=Counter)  # noise sources per split


def check_excluded(packages):
    """Raise ValueError when a package of ``packages`` is reserved for the independent evaluation."""
    bad = [p for p in packages if any(fnmatch(p, pattern) for pattern in EXCLUDED_PACKAGES)]
    if bad:
        raise ValueError(f"packages reserved for the independent evaluation: {', '.join(bad)}")


def _run(cmd, cwd=None):
    logger.debug("$ %s", " ".join(shlex.quote(str(c)) for c in cmd))
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def _cached_deb(cache, name):
    debs = sorted(cache.glob(f"{name}_*.deb"))
    return debs[-1] if debs else None


def fetch_packages(names, cache):
    """Download (``apt-get download``) and extract (``dpkg -x``) each package into ``cache``.

    Already downloaded ``.deb`` files and extracted trees are reused.

    Returns
    -------
    list of Package
    """
    check_excluded(names)
    cache.mkdir(parents=True, exist_ok=True)
    missing = [name for name in names if _cached_deb(cache, name) is None]
    if missing:
        logger.info("apt-get update, then downloading %d packages: %s", len(missing), " ".join(missing))
        _run(["apt-get", "update"])
        _run(["apt-get", "download", *missing], cwd=cache)
    packages = []
    for name in tqdm(names, desc="extract", unit="pkg"):
        deb = _cached_deb(cache, name)
        if deb is None:
            raise RuntimeError(f"apt-get download {name} left no {name}_*.deb in {cache}")
        version = _run(["dpkg-deb", "-f", str(deb), "Version"]).strip()
        root = cache / "extracted" / f"{name}_{version}"
        done = root / ".extracted"
        if not done.exists():
            root.mkdir(parents=True, exist_ok=True)
            _run(["dpkg", "-x", str(deb), str(root)])
            done.touch()
        package = Package(name, version, deb, root)
        package.licences = _package_licences(package)
        packages.append(package)
    return packages


def _package_licences(package):
    """Licence summary of ``usr/share/doc/<pkg>/copyright`` (or the package's only copyright)."""
    doc = package.root / "usr/share/doc"
    candidates = [doc / package.name / "copyright"]
    candidates += sorted(p for p in doc.glob("*/copyright") if p not in candidates)
    for path in candidates:
        if path.is_file():
            return summarise_licences(path.read_text(errors="replace"))
    return "unknown (no copyright file in the package)"


@dataclass
class Sound:
    """A sound file of a package: ``path`` inside it, and how to read its bytes."""

    package: Package
    path: str
    file: Path
    member: str = ""

    def read_bytes(self):
        if self.member:
            with zipfile.ZipFile(self.file) as archive:
                return archive.read(self.member)
        return self.file.read_bytes()


def find_sounds(package):
    """The sound files of an extracted package, archive members included, in a stable order."""
    sounds = []
    for file in sorted(p for p in package.root.rglob("*") if p.is_file() and not p.is_symlink()):
        relative = str(file.relative_to(package.root))
        suffix = file.suffix.lower()
        if suffix in AUDIO_EXTENSIONS:
            sounds.append(Sound(package, relative, file))
        elif suffix in ARCHIVE_EXTENSIONS:
            try:
                with zipfile.ZipFile(file) as archive:
                    members = sorted(archive.namelist())
            except zipfile.BadZipFile:
                logger.warning("%s: %s is not a zip archive, skipped", package.name, relative)
                continue
            sounds += [
                Sound(package, f"{relative}!{m}", file, m)
                for m in members
                if m.lower().endswith(AUDIO_EXTENSIONS)
            ]
    package.n_sounds = len(sounds)
    return sounds


def decode(data, sample_rate):
    """Decode audio bytes to a mono float32 signal at ``sample_rate`` (soundfile: wav/ogg/flac)."""
    audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if rate != sample_rate:
        g = math.gcd(int(rate), int(sample_rate))
        audio = resample_poly(audio, sample_rate // g, int(rate) // g).astype(np.float32)
    return audio


# ------------------------------------------------------------------------------------------------
# Building the sets.
# ------------------------------------------------------------------------------------------------


@dataclass
class Source:
    """One distinct source file kept for the dev set or the noise set."""

    sound: Sound
    label: str
    digest: str
    takes: list
    src: int = 0


def collect_sources(packages):
    """Decode every labelled or ambience sound once; drop duplicates and near-silent takes.

    Returns
    -------
    (list of Source, list of Source)
        Event sources (with their non-silent 5 s takes at 44.1 kHz) and ambience sources (with
        their whole signal at :data:`NOISE_SAMPLE_RATE` as the only take).
    """
    seen_bytes, seen_audio = set(), RecordingIndex()
    events, ambience = [], []
    candidates = []
    for package in packages:
        for sound in find_sounds(package):
            label = "ambience" if is_ambience(sound.path) else label_from_name(sound.path)
            if label is not None:
                candidates.append((sound, label))
    stats = Counter()
    for sound, label in tqdm(candidates, desc="decode", unit="file"):
        data = sound.read_bytes()
        digest = hashlib.sha1(data).hexdigest()
        if digest in seen_bytes:
            stats["duplicate file"] += 1
            continue
        seen_bytes.add(digest)
        rate = NOISE_SAMPLE_RATE if label == "ambience" else SAMPLE_RATE
        try:
            audio = decode(data, rate)
        except Exception as error:  # soundfile raises several types for undecodable data
            logger.warning("%s: %s not decodable (%s), skipped", sound.package.name, sound.path, error)
            stats["undecodable"] += 1
            continue
        # The same recording is sometimes shipped re-encoded (wav in one game, ogg in another):
        # such a copy would put one recording in two folds.
        if seen_audio.find_or_add(audio, rate, f"{sound.package.name}:{sound.path}") is not None:
            stats["same recording"] += 1
            continue
        if label == "ambience":
            if len(audio) < NOISE_MIN_SECONDS * rate or is_silent(audio):
                stats["ambience too short or silent"] += 1
                continue
            ambience.append(Source(sound, label, digest, [audio]))
            continue
        takes = [t for t in cut_takes(audio, rate) if not is_silent(t)]
        if not takes:
            stats["silent"] += 1
            continue
        events.append(Source(sound, label, digest, takes))
    logger.info("kept %d event and %d ambience sources; dropped %s", len(events), len(ambience), dict(stats))
    return events, ambience


def select_classes(events, min_sources, min_clips, max_clips):
    """Keep classes with enough sources and clips; cap each class at ``max_clips`` clips.

    The cap keeps first takes before second takes (more distinct sources), in a stable order.

    Returns
    -------
    (list of Source, dict)
        The kept sources (``takes`` possibly shortened) and ``{class: (sources, clips)}`` of all
        candidate classes, for the log.
    """
    by_class = defaultdict(list)
    for source in events:
        by_class[source.label].append(source)
    report, kept = {}, []
    for label in sorted(by_class):
        sources = sorted(by_class[label], key=lambda s: s.digest)
        n_clips = sum(len(s.takes) for s in sources)
        report[label] = (len(sources), n_clips)
        if len(sources) < min_sources or n_clips < min_clips:
            continue
        budget = {id(s): 0 for s in sources}
        total = 0
        for round_ in range(MAX_TAKES):
            for s in sources:
                if total < max_clips and len(s.takes) > round_:
                    budget[id(s)] += 1
                    total += 1
        for s in sources:
            if budget[id(s)]:
                s.takes = s.takes[: budget[id(s)]]
                kept.append(s)
    return kept, report


def write_devset(out, kept, packages, seed, command):
    """Write the audio, ``meta/esc50.csv``, ``meta/sources.csv`` and ``README.md`` of the dev set."""
    classes = sorted({s.label for s in kept})
    target = {label: i for i, label in enumerate(classes)}
    taken = set()
    for s in sorted(kept, key=lambda s: s.digest):
        s.src = source_id(s.digest, taken)
    # Folds are dealt per variant family (several files each, at times), then passed to files.
    families = Counter()
    for s in kept:
        families[(s.label, s.sound.package.name, variant_family(s.sound.path))] += len(s.takes)
    family_folds = assign_folds({key: (key[0], n) for key, n in families.items()}, N_FOLDS, seed)
    folds = {s.src: family_folds[(s.label, s.sound.package.name, variant_family(s.sound.path))] for s in kept}
    audio_dir = out / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    for stale in audio_dir.glob("*.wav"):
        stale.unlink()
    rows, provenance = [], []
    for s in tqdm(sorted(kept, key=lambda s: s.src), desc="write clips", unit="src"):
        s.sound.package.used[s.label] += 1
        for i, clip in enumerate(s.takes):
            row = dict(fold=folds[s.src], src_file=s.src, take=take_letter(i), target=target[s.label],
                       category=s.label)
            name = esc50_filename(row["fold"], s.src, row["take"], row["target"])
            sf.write(audio_dir / name, clip, SAMPLE_RATE, subtype="PCM_16")
            rows.append(row)
        provenance.append([s.src, s.label, folds[s.src], len(s.takes), s.sound.package.name,
                           s.sound.package.version, s.sound.path, s.digest])
    write_esc50_csv(rows, out / "meta" / "esc50.csv")
    with open(out / "meta" / "sources.csv", "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["src_file", "category", "fold", "takes", "package", "version", "path", "sha1"])
        writer.writerows(provenance)
    (out / "README.md").write_text(devset_readme(rows, packages, command, seed))
    return rows


def _package_table(packages, used_label, noise=False):
    lines = [f"| package | version | {used_label} | licences (``License:`` fields of its copyright file) |",
             "|---|---|---|---|"]
    for p in packages:
        counts = p.noise_used if noise else p.used
        used = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
        lines.append(f"| {p.name} | {p.version} | {used} | {p.licences} |")
    return "\n".join(lines)


def devset_readme(rows, packages, command, seed):
    """Markdown description of the dev set: origin, command, packages and licences, counts."""
    counts = Counter((r["category"], r["fold"]) for r in rows)
    sources = defaultdict(set)
    for r in rows:
        sources[r["category"]].add(r["src_file"])
    target = {r["category"]: r["target"] for r in rows}
    classes = sorted(target, key=target.get)
    folds = range(1, N_FOLDS + 1)
    table = ["| target | class | " + " | ".join(f"fold {f}" for f in folds) + " | clips | sources |",
             "|---|---|" + "---|" * (N_FOLDS + 2)]
    for c in classes:
        per_fold = [counts[(c, f)] for f in folds]
        cells = " | ".join(map(str, per_fold))
        table.append(f"| {target[c]} | {c} | {cells} | {sum(per_fold)} | {len(sources[c])} |")
    totals = [sum(counts[(c, f)] for c in classes) for f in range(1, N_FOLDS + 1)]
    table.append("| | total | " + " | ".join(map(str, totals)) + f" | {sum(totals)} | "
                 f"{sum(len(v) for v in sources.values())} |")
    return f"""# Real-recordings development set (ESC-50 layout)

{len(rows)} clips of {len(classes)} classes, 5 s, 44.1 kHz mono, 16-bit, cut from the sound
effects of the Debian packages below and labelled from their FILE NAMES by the keyword rules
(``CLASS_RULES``) of ``benchmarks/real_devset.py``. Labels are therefore only as good as the
game authors' naming, and many effects are designed rather than field-recorded: use it to check
that recipes run and learn on real audio, not to report results.

- Layout: ``audio/{{fold}}-{{src}}-{{take}}-{{target}}.wav`` and ``meta/esc50.csv``
  (``filename,fold,target,category,esc10,src_file,take``; ``esc10`` is always False), read by
  ``data_prep.esc50.prepare_esc50``.
- ``src_file`` is a number derived from the source file's SHA-1; all takes (A, B, C: consecutive
  5 s windows of a long file) of a source share one fold, and so do numbered variants of one
  effect in one folder (``boot1`` ... ``boot4``). Folds balance each class's clips.
- Short sounds are zero-padded to 5 s; near-silent takes (RMS < -60 dBFS or peak < -50 dBFS)
  were dropped, as were duplicates (same bytes, or the same recording re-encoded: normalised
  cross-correlation >= 0.95 over the first second).
- ``meta/sources.csv`` gives, for each ``src_file``, its package, version and path (``a.pk3!b.wav``
  for a member of an archive) and SHA-1.
- Background ambience (rain, wind, night, crickets...) was kept out of the classes (it forms the
  separate WHAM!-like noise set when one was requested).

Built with (seed {seed}):

    {command}

## Clips per class and fold

{chr(10).join(table)}

## Source packages (Debian bookworm)

Each sound keeps its package's licence; see ``usr/share/doc/<package>/copyright`` in the package
for the file-by-file terms. "classes used" counts the source files taken from the package.

{_package_table(packages, "classes used (sources)")}
"""


def write_noise(noise_out, ambience, packages, seed, command):
    """Write the ambience sources as WHAM!-like ``wham_noise/{tr,cv,tt}/*.wav`` segments.

    Sources (not segments) are split between ``tr``, ``cv`` and ``tt`` (:data:`NOISE_SPLIT`), so
    no recording is heard in two splits. Each is cut into segments of :data:`NOISE_SECONDS`
    (the last kept when at least :data:`NOISE_MIN_SECONDS` long), at most
    :data:`NOISE_MAX_SEGMENTS`.

    Returns
    -------
    dict
        ``{split: number of files}``.
    """
    rng = random.Random(seed)
    sources = sorted(ambience, key=lambda s: s.digest)
    rng.shuffle(sources)
    n_tr = max(1, round(NOISE_SPLIT[0] * len(sources)))
    n_cv = max(1, round(NOISE_SPLIT[1] * len(sources)))
    splits = {"tr": sources[:n_tr], "cv": sources[n_tr : n_tr + n_cv], "tt": sources[n_tr + n_cv :]}
    root = noise_out / "wham_noise"
    counts, seconds = {}, {}
    for split, members in splits.items():
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.wav"):
            stale.unlink()
        n, total = 0, 0.0
        for s in members:
            s.sound.package.noise_used[split] += 1
            segments = cut_takes(s.takes[0], NOISE_SAMPLE_RATE, NOISE_SECONDS, NOISE_MAX_SEGMENTS,
                                 NOISE_MIN_SECONDS / NOISE_SECONDS)
            stem = re.sub(r"[^A-Za-z0-9]+", "_", _path_parts(s.sound.path)[-1].rsplit(".", 1)[0]).strip("_")
            # Drop the zero padding of the last segment: WHAM! noise files have varied lengths.
            remaining = len(s.takes[0])
            for i, seg in enumerate(segments):
                seg = seg[: min(len(seg), remaining - i * len(seg))]
                name = f"{s.digest[:10]}_{stem}_{i:02d}.wav"
                sf.write(folder / name, seg, NOISE_SAMPLE_RATE, subtype="PCM_16")
                n += 1
                total += len(seg) / NOISE_SAMPLE_RATE
        counts[split], seconds[split] = n, total
    rows = [f"| {k} | {len(splits[k])} | {counts[k]} | {seconds[k] / 60:.1f} |" for k in splits]
    ordered = sorted(ambience, key=lambda s: (s.sound.package.name, s.sound.path))
    listing = "\n".join(f"- {s.sound.package.name}: {s.sound.path}" for s in ordered)
    used = [p for p in packages if p.noise_used]
    (noise_out / "README.md").write_text(f"""# Real-ambience noise set (WHAM! noise layout)

Background recordings (rain, wind, night, crickets, machinery drones...) found by file name
(``AMBIENCE_TOKENS`` of ``benchmarks/real_devset.py``) in the Debian packages below, as 16 kHz
mono 16-bit segments of up to {NOISE_SECONDS:.0f} s. Recordings are split between ``tr``, ``cv``
and ``tt`` by source file. These recordings are NOT among the classes of the dev set built with
them, but day and night ambiences hold bird and insect calls, and the dev set has a bird class.
Much smaller and less varied than WHAM! noise (cafés, restaurants, bars, streets).
Read by ``data_prep.wham.prepare_wham``.

Built with (seed {seed}):

    {command}

| split | source files | files | minutes |
|---|---|---|---|
{chr(10).join(rows)}

## Source packages (Debian bookworm)

{_package_table(used, "source files per split", noise=True)}

## Source files

{listing}
""")
    return counts


def build(out, noise_out, cache, seed=0, min_sources=15, min_clips=20, max_clips=40, min_classes=10,
          packages=PACKAGES, command=""):
    """Download, label, cut and write the dev set (and the noise set); see the module docstring.

    Returns
    -------
    dict
        ``{"rows": csv rows, "noise": {split: files} or None}``.

    Raises
    ------
    RuntimeError
        When fewer than ``min_classes`` classes pass the thresholds, or a download fails.
    """
    pkgs = fetch_packages(list(packages), cache)
    events, ambience = collect_sources(pkgs)
    kept, report = select_classes(events, min_sources, min_clips, max_clips)
    for label, (n_src, n_clips) in sorted(report.items()):
        status = "kept" if any(s.label == label for s in kept) else "dropped"
        logger.info("class %-15s %3d sources %4d clips: %s", label, n_src, n_clips, status)
    n_classes = len({s.label for s in kept})
    if n_classes < min_classes:
        raise RuntimeError(
            f"only {n_classes} classes have >= {min_sources} sources and >= {min_clips} clips "
            f"(need {min_classes}); add packages to PACKAGES or lower --min-sources / --min-clips"
        )
    rows = write_devset(out, kept, pkgs, seed, command)
    logger.info("dev set: %d clips of %d classes in %s", len(rows), n_classes, out)
    noise = None
    if noise_out is not None:
        if len(ambience) < 3:
            logger.warning("only %d ambience recordings: no noise set written", len(ambience))
        else:
            noise = write_noise(noise_out, ambience, pkgs, seed, command)
            logger.info("noise set: %s files in %s", noise, noise_out / "wham_noise")
    return {"rows": rows, "noise": noise}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="dev set folder (ESC-50 layout)")
    parser.add_argument("--noise-out", type=Path, help="also write wham_noise/{tr,cv,tt} here")
    parser.add_argument("--cache", type=Path, default=Path("data/debs"),
                        help="where the .deb files are downloaded and extracted")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-sources", type=int, default=15, help="distinct source files a class needs")
    parser.add_argument("--min-clips", type=int, default=20, help="clips a class needs")
    parser.add_argument("--max-clips", type=int, default=40, help="clips kept per class at most (ESC-50: 40)")
    parser.add_argument("--min-classes", type=int, default=10, help="fail with fewer classes than this")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    command = "python benchmarks/real_devset.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    try:
        build(args.out, args.noise_out, args.cache, args.seed, args.min_sources, args.min_clips,
              args.max_clips, args.min_classes, command=command)
    except (RuntimeError, ValueError, FileNotFoundError) as error:
        logger.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
