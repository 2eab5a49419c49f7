"""Speed of the interpret CLI: seconds of compute per explained second of audio.

    python benchmarks/bench_interpret.py [--device cuda] [--seconds 30] [--repeats 3] [--configs compact paper]

For the paper CNN14 (width 64, n_fft 1024, 80 mels, 5 s windows) and the compact one (width 8,
n_fft 512, 64 mels, 2 s windows), with RANDOM weights (speed does not depend on them), on one
``seconds``-long recording, prints:

- ``core_s_per_s``: :func:`lmac_brain.inference.windowing.explain_signal` (one STFT, classifier and L-MAC
  on windows with 50% overlap, stitching) plus the inverse STFTs of the interpretation and the
  residual, divided by the recording's duration;
- ``end_to_end_s_per_s``: :func:`lmac_brain.interpret.run.interpret_inputs` on a 44.1 kHz stereo
  file of that length (reading, resampling, explaining, writing three wavs, the figure,
  report.json and index.html), divided by the duration.

Each configuration runs in its own process; the median of ``repeats`` runs after one warm-up.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from bench_common import CONFIGS, timed
from torch import nn

from lmac_brain.audio.spectral import SpectralFrontEnd
from lmac_brain.experiments.methods import ResolvedMethod
from lmac_brain.explainers.lmac import LMACExplainer
from lmac_brain.inference.windowing import explain_signal
from lmac_brain.interpret.inputs import collect_inputs
from lmac_brain.interpret.outputs import listenable_signals
from lmac_brain.interpret.run import interpret_inputs
from lmac_brain.models.classifier import AudioClassifier
from lmac_brain.models.cnn14 import Cnn14
from lmac_brain.models.decoder import build_decoder


def build_method(name, device):
    """A ResolvedMethod for L-MAC with random weights in configuration ``name``."""
    cfg = CONFIGS[name]
    torch.manual_seed(0)
    frontend = SpectralFrontEnd(16000, cfg["n_fft"], cfg["hop_length_ms"], cfg["win_length_ms"], cfg["n_mels"])
    cnn = Cnn14(cfg["n_mels"], base_channels=cfg["base_channels"])
    classifier = AudioClassifier(frontend, cnn, nn.Linear(cnn.emb_dim, 50)).to(device).eval()
    classifier.requires_grad_(False)
    decoder = build_decoder(cnn, frontend, "stft", width=cfg["width"]).to(device)
    explainer = LMACExplainer(classifier, "stft", decoder=decoder)
    return ResolvedMethod(
        name="lmac", label="L-MAC", classifier=classifier, explainer=explainer, domain="stft",
        classes=[f"class {i}" for i in range(50)], signal_length_s=cfg["signal_length_s"],
        classifier_folder=Path("random"), interpreter_folder=Path("random"), classifier_weights="random",
    )


def measure(name, device, seconds, repeats):
    method = build_method(name, device)
    frontend = method.classifier.frontend
    clip_samples = int(method.signal_length_s * frontend.sample_rate)
    wav = 0.1 * torch.randn(int(seconds * frontend.sample_rate))

    def core():
        explanation = explain_signal(wav, method.classifier, method.explainer, clip_samples)
        listenable_signals(explanation, frontend)
        return explanation

    n_windows = core().n_windows
    t_core = timed(core, device, repeats)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.wav"
        rng = np.random.default_rng(0)
        sf.write(path, 0.1 * rng.standard_normal((int(seconds * 44100), 2)).astype(np.float32), 44100)
        items = collect_inputs(path)
        out = Path(tmp) / "run"
        t_end = timed(lambda: interpret_inputs(items, method, out, progress=False), device, repeats)
    return {
        "config": name,
        "device": device,
        "threads": torch.get_num_threads(),
        "audio_s": seconds,
        "windows": n_windows,
        "core_s": round(t_core, 3),
        "core_s_per_s": round(t_core / seconds, 4),
        "end_to_end_s": round(t_end, 3),
        "end_to_end_s_per_s": round(t_end / seconds, 4),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.device, args.seconds, args.repeats)))
        return
    rows = []
    for name in args.configs:
        cmd = [sys.executable, __file__, "--child", name, "--device", args.device,
               "--seconds", str(args.seconds), "--repeats", str(args.repeats)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    from lmac_brain.reporting.tables import format_table

    print(format_table(rows))


if __name__ == "__main__":
    main()
