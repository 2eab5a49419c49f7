"""benchmarks/real_devset.py: labels from file names, takes, folds and the ESC-50 files, offline.

No package is downloaded: fake extracted packages (a few wav, ogg and zip files) stand in.
"""

import csv
import importlib.util
import json
import re
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from data_prep import prepare_esc50, prepare_wham

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("real_devset", ROOT / "benchmarks" / "real_devset.py")
rd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rd)


@pytest.mark.parametrize(
    "path, label",
    [
        ("usr/share/games/lugaru/Sounds/FootStepGrass1.ogg", "footsteps"),
        ("baseoa/pak0.pk3!sound/player/footsteps/boot1.wav", "footsteps"),  # folder decides
        ("sounds/expl_ball.wav", "explosion"),
        ("sounds/BarkGrowl.ogg", "dog"),
        ("sounds/chicken_ack2.wav", "hen"),  # an animal's "ack" is its call, kept
        ("sounds/water-impact.ogg", "water"),  # rule order: water comes before impact
        ("sounds/stickfighter_attack2.wav", None),  # whole tokens only: no "tick" -> click
        ("sounds/swordman_die1.wav", None),  # nor "sword"
        ("sounds/cannon_selected.wav", None),  # a unit's spoken reply
        ("music/forest_theme.ogg", None),  # music folder
        ("voices/Default/Explosion.ogg", None),  # speech folder, even with a class word
        ("sounds/rain.ogg", None),  # ambience: goes to the noise set
        ("sounds/plop.wav", None),  # no rule
    ],
)
def test_label_from_name(path, label):
    assert rd.label_from_name(path) == label


def test_file_name_decides_before_folder_and_rules_are_ordered():
    assert rd.label_from_name("footsteps/splash1.wav") == "water"
    rules = (("b", r"bang"), ("a", r"boom|bang"))
    assert rd.label_from_name("x/bang.wav", rules) == "b"
    assert rd.label_from_name("x/boom.wav", rules) == "a"


def test_ambience_is_by_file_name_and_never_a_class():
    assert rd.is_ambience("sounds/DesertAmbient.ogg")
    assert rd.is_ambience("world/wind1.wav")
    assert not rd.is_ambience("rain/drop.wav")  # folder names do not make ambience
    assert not rd.is_ambience("music/night.ogg")  # music stays out of both sets
    assert rd.label_from_name("world/wind1.wav") is None


def test_name_tokens():
    assert rd.name_tokens("FootStepGrass1.ogg") == ["foot", "step", "grass"]
    assert rd.name_tokens("pain100_1.wav") == ["pain"]
    assert rd.name_tokens("FIRE.WAV") == ["fire"]


def test_cut_takes():
    sr = 100
    short = rd.cut_takes(np.ones(120), sr, signal_length_s=5.0)
    assert len(short) == 1 and short[0].shape == (500,)
    assert short[0][:120].sum() == 120 and short[0][120:].sum() == 0  # zero-padded
    audio = np.arange(1300, dtype=np.float32)
    takes = rd.cut_takes(audio, sr, signal_length_s=5.0, max_takes=3)  # 13 s: tail of 3 s kept
    assert [t.shape for t in takes] == [(500,)] * 3
    assert np.array_equal(takes[1], audio[500:1000])
    assert np.array_equal(takes[2][:300], audio[1000:]) and not takes[2][300:].any()
    assert len(rd.cut_takes(np.ones(1200), sr, 5.0, 3)) == 2  # tail of 2 s < half a take: dropped
    assert len(rd.cut_takes(np.ones(5000), sr, 5.0, 3)) == 3  # capped
    assert rd.cut_takes(np.zeros(0), sr) == []
    with pytest.raises(ValueError):
        rd.cut_takes(np.ones((2, 10)), sr)


def test_is_silent():
    assert rd.is_silent(np.zeros(1000))
    assert rd.is_silent(np.full(1000, 1e-4))
    assert not rd.is_silent(0.1 * np.sin(np.linspace(0, 100, 1000)))


def test_take_letters_and_source_ids():
    assert [rd.take_letter(i) for i in (0, 1, 25, 26)] == ["A", "B", "Z", "AA"]
    taken = set()
    a = rd.source_id("ab" * 20, taken)
    b = rd.source_id("ab" * 20, taken)  # same digest prefix: next free number
    assert b == a + 1 and 1_000_000 <= a < 10_000_000


def test_assign_folds_balances_each_class_and_is_seeded():
    sources = {i: ("dog" if i < 23 else "bird", 1 + i % 3) for i in range(50)}
    folds = rd.assign_folds(sources, n_folds=5, seed=3)
    assert set(folds) == set(sources) and set(folds.values()) == {1, 2, 3, 4, 5}
    for label in ("dog", "bird"):
        clips = Counter()
        for src, (lab, n) in sources.items():
            if lab == label:
                clips[folds[src]] += n
        # Greedy largest-first: folds differ by at most one source's clips (here 3).
        assert max(clips.values()) - min(clips.values()) <= 3
    assert rd.assign_folds(sources, 5, seed=3) == folds
    assert rd.assign_folds(sources, 5, seed=4) != folds


def test_summarise_licences():
    dep5 = "Files: *\nLicense: GPL-2+\n\nFiles: sounds/*\nLicense: CC-BY-SA-3.0\n\nLicense: GPL-2+\n text\n"
    assert rd.summarise_licences(dep5) == "CC-BY-SA-3.0, GPL-2+"
    free = "Sounds are under the terms of the GNU General Public License, version 2.\nArt: Free Art License."
    assert rd.summarise_licences(free) == "free-text: GPL, Free-Art-License"
    assert rd.summarise_licences("Copyright 2001 someone") == "unknown"


def test_excluded_packages_are_refused():
    rd.check_excluded(rd.PACKAGES)
    for name in ("wesnoth-1.16-music", "asterisk-core-sounds-en", "minetest-data"):
        with pytest.raises(ValueError, match="independent evaluation"):
            rd.check_excluded(["supertux-data", name])


def _tone(seconds, freq, sr=22050):
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr


def _fake_package(root, name):
    """An extracted package: wav and ogg files, a zip archive, a duplicate, a silent file."""
    pkg = rd.Package(name, "1.0-1", root / f"{name}_1.0-1_all.deb", root / name)
    sounds = pkg.root / "usr/share/games" / name / "sounds"
    sounds.mkdir(parents=True)
    for i, letter in enumerate("abcdef"):  # no trailing number: six families of one file
        sf.write(sounds / f"explosion_{letter}.wav", *_tone(0.5 + 0.1 * i, 100 + 10 * i))
        sf.write(sounds / f"bird_{letter}.ogg", *_tone(0.4, 2000 + 50 * i), format="OGG", subtype="VORBIS")
    sf.write(sounds / "footstep_long.wav", *_tone(11.0, 300))  # 11 s: takes A and B (the 1 s tail is dropped)
    sf.write(sounds / "explosion_copy.wav", *_tone(0.5, 100))  # same bytes as explosion_a
    data, sr = _tone(0.5, 100)
    sf.write(sounds / "explosion_loud.flac", 2 * np.roll(data, 200), sr)  # same recording
    for i in range(3):  # one family of numbered variants
        sf.write(sounds / f"splash{i + 1}.wav", *_tone(0.6, 500 + 100 * i))
    sf.write(sounds / "door_silent.wav", np.zeros(2205, np.float32), 22050)
    sf.write(sounds / "rain_loop.wav", *_tone(9.0, 50))  # ambience
    with zipfile.ZipFile(pkg.root / "usr/share/games" / name / "pak0.pk3", "w") as archive:
        for i, letter in enumerate("abcde"):
            data, sr = _tone(0.3, 700 + 30 * i)
            path = root / "tmp.wav"
            sf.write(path, data, sr)
            archive.write(path, f"sound/footsteps/boot_{letter}.wav")
    doc = pkg.root / "usr/share/doc" / name
    doc.mkdir(parents=True)
    (doc / "copyright").write_text("Files: *\nLicense: GPL-2+\n")
    pkg.licences = rd._package_licences(pkg)
    return pkg


def test_build_offline_writes_an_esc50_layout_that_prepare_esc50_reads(tmp_path):
    pkg = _fake_package(tmp_path, "fake-data")
    assert pkg.licences == "GPL-2+"
    events, ambience = rd.collect_sources([pkg])
    paths = sorted(s.sound.path for s in events)
    # Silent, same bytes, same recording re-levelled and shifted: all dropped.
    assert not any(name in p for p in paths for name in ("door_silent", "explosion_copy", "explosion_loud"))
    assert sum("pak0.pk3!sound/footsteps/boot" in p for p in paths) == 5  # read from the archive
    assert [s.sound.path.rsplit("/", 1)[1] for s in ambience] == ["rain_loop.wav"]
    assert ambience[0].takes[0].shape == (9 * rd.NOISE_SAMPLE_RATE,)

    kept, report = rd.select_classes(events, min_sources=5, min_clips=6, max_clips=6)
    assert report == {"bird": (6, 6), "explosion": (6, 6), "footsteps": (6, 7), "water": (3, 3)}
    assert Counter(s.label for s in kept for _ in s.takes) == {"bird": 6, "explosion": 6, "footsteps": 6}
    # The cap keeps one take of every source before a second take of any.
    assert sorted(len(s.takes) for s in kept if s.label == "footsteps") == [1] * 6

    out = tmp_path / "devset"
    rows = rd.write_devset(out, kept, [pkg], seed=0, command="python benchmarks/real_devset.py --out x")
    with open(out / "meta" / "esc50.csv") as handle:
        assert handle.readline() == "filename,fold,target,category,esc10,src_file,take\n"
    with open(out / "meta" / "esc50.csv") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == len(rows) == 18
    assert {r["category"]: r["target"] for r in table} == {"bird": "0", "explosion": "1", "footsteps": "2"}
    folds_of_source = defaultdict(set)
    for r in table:
        assert r["filename"] == f"{r['fold']}-{r['src_file']}-{r['take']}-{r['target']}.wav"
        assert r["esc10"] == "False" and r["take"] == "A"
        folds_of_source[r["src_file"]].add(r["fold"])
        audio, sr = sf.read(out / "audio" / r["filename"])
        assert sr == 44100 and audio.shape == (5 * 44100,)
    assert all(len(f) == 1 for f in folds_of_source.values())
    # 6 clips of a class over 5 folds: every fold has one, one fold has two.
    per_class_fold = Counter((r["category"], r["fold"]) for r in table)
    assert sorted(per_class_fold.values()) == [1] * 12 + [2] * 3
    readme = (out / "README.md").read_text()
    assert "| fake-data | 1.0-1 |" in readme and "GPL-2+" in readme and "--out x" in readme

    manifests = prepare_esc50(out, tmp_path / "manifests")
    items = {split: json.load(open(path)) for split, path in manifests.items()}
    assert sum(len(v) for v in items.values()) == 18
    assert {item["class_name"] for item in items["train"].values()} == {"bird", "explosion", "footsteps"}


def test_takes_and_numbered_variants_keep_one_fold(tmp_path):
    pkg = _fake_package(tmp_path, "fake-data")
    events, _ = rd.collect_sources([pkg])
    long = next(s for s in events if s.sound.path.endswith("footstep_long.wav"))
    assert len(long.takes) == 2  # 11 s: two full takes, the 1 s tail is under half a take
    kept, _ = rd.select_classes(events, min_sources=1, min_clips=1, max_clips=40)
    rows = rd.write_devset(tmp_path / "devset", kept, [pkg], seed=0, command="")
    takes = [r for r in rows if r["src_file"] == long.src]
    assert sorted(r["take"] for r in takes) == ["A", "B"] and len({r["fold"] for r in takes}) == 1
    splashes = [r for r in rows if r["category"] == "water"]
    assert len({r["src_file"] for r in splashes}) == 3 and len({r["fold"] for r in splashes}) == 1


def test_variant_family():
    assert rd.variant_family("pak0.pk3!sound/footsteps/boot3.wav") == "pak0.pk3!sound/footsteps/boot"
    assert rd.variant_family("s/pain25_1.wav") == "s/pain25"
    assert rd.variant_family("s/expl_5.wav") == rd.variant_family("s/expl-1.wav") == "s/expl"
    assert rd.variant_family("a/boot1.wav") != rd.variant_family("b/boot1.wav")
    assert rd.variant_family("s/1.ogg") == "s/1"


def test_same_recording():
    sr = 8000
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(sr)
    shifted = 0.3 * np.concatenate([np.zeros(160), noise])[:sr] + 0.01 * rng.standard_normal(sr)
    assert rd.same_recording(noise, shifted, sr)  # re-levelled, 20 ms late, a little noise
    assert not rd.same_recording(noise, np.concatenate([np.zeros(800), noise])[:sr], sr)  # 100 ms
    assert not rd.same_recording(noise, rng.standard_normal(sr), sr)
    assert not rd.same_recording(noise, np.zeros(sr), sr)
    index = rd.RecordingIndex()
    assert index.find_or_add(noise, sr, "a") is None
    assert index.find_or_add(shifted, sr, "b") == "a"
    assert index.find_or_add(np.concatenate([noise, noise]), sr, "c") is None  # twice as long


def test_noise_set_splits_by_source(tmp_path):
    pkg = rd.Package("amb-data", "2", tmp_path / "x.deb", tmp_path)
    sources = []
    for i in range(10):
        sound = rd.Sound(pkg, f"sounds/wind{i}.wav", tmp_path / f"wind{i}.wav")
        audio = np.full(int((12 + i) * rd.NOISE_SAMPLE_RATE), 0.1, np.float32)
        sources.append(rd.Source(sound, "ambience", f"{i:02d}" * 20, [audio]))
    counts = rd.write_noise(tmp_path / "noise", sources, [pkg], seed=0, command="cmd")
    stems = defaultdict(set)
    for split in ("tr", "cv", "tt"):
        for f in (tmp_path / "noise" / "wham_noise" / split).glob("*.wav"):
            stems[split].add(f.name[:10])
            info = sf.info(f)
            assert info.samplerate == rd.NOISE_SAMPLE_RATE and info.channels == 1
            assert rd.NOISE_MIN_SECONDS <= info.duration <= rd.NOISE_SECONDS
    assert [len(stems[s]) for s in ("tr", "cv", "tt")] == [7, 2, 1]
    assert not (stems["tr"] & stems["cv"]) and not (stems["tr"] & stems["tt"])
    # 12 and 13 s give one 10 s segment (2-3 s tails dropped); 14 to 21 s give two.
    assert sum(counts.values()) == 2 * 1 + 8 * 2
    readme = (tmp_path / "noise" / "README.md").read_text()
    assert re.search(r"\| tr \| 7 \|", readme)
    assert "| amb-data | 2 | cv 2, tr 7, tt 1 |" in readme  # source files per split, no classes
    manifests = prepare_wham(tmp_path / "noise", tmp_path / "manifests")
    assert len(json.load(open(manifests["tr"]))) == counts["tr"]
