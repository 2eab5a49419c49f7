"""L-MAC cost relative to one classifier forward, measured in one run (issue: speed targets).

    python benchmarks/bench_lmac.py [--device cuda] [--batch 8] [--seconds 5] [--repeats 3] \
        [--configs paper compact] [--decoders coarse fullres fullres_shallow transposed_stack]

For the paper CNN14 (width 64, n_fft 1024, 80 mels) and the compact one, and each decoder variant
(``lmac_brain.models.decoder.VARIANTS``), on the same batch of ``batch`` clips of ``seconds`` s at 16 kHz,
prints: classifier forward time, one L-MAC training step (forward, Eq. 2 loss, backward, Adam
step) and one explanation (waveform -> mask), in milliseconds, their ratios to the forward
(targets: step <= 8, explanation <= 1.5), the numerical rank of one item's ``[frames, bins]`` mask
logits (random weights, decoder in eval mode: how much detail the decoder can express; target >
100 at paper size, full rank = the number of frames), the decoder's parameter count and the peak
RSS of the process that ran them (each configuration and variant runs in its own process).
"""

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
from pathlib import Path

import speechbrain as sb
import torch
from bench_common import CONFIGS, timed
from torch import nn

from lmac_brain.audio.spectral import SpectralFrontEnd
from lmac_brain.explainers.lmac import LMACExplainer
from lmac_brain.models.classifier import AudioClassifier
from lmac_brain.models.cnn14 import Cnn14
from lmac_brain.models.decoder import VARIANTS, build_decoder

ROOT = Path(__file__).resolve().parents[1]


def logit_rank(decoder, classifier, wav):
    """Numerical rank of the ``[frames, bins]`` pre-sigmoid STFT mask logits of one clip."""
    decoder.eval()
    with torch.no_grad():
        mag, _ = classifier.frontend.magnitude_phase(wav)
        _, hidden = classifier.logits_of_input(mag, "stft", return_hidden=True, shallow=decoder.uses_shallow)
        logits = decoder.logits(hidden, mag.shape[1])[0]
    decoder.train()
    return int(torch.linalg.matrix_rank(logits.float().cpu()))


def recipe_brain():
    """The ``LMAC`` Brain of the recipe script (which holds its loss)."""
    spec = importlib.util.spec_from_file_location("train_lmac", ROOT / "recipes" / "ESC50" / "train_lmac.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LMAC


def measure(name, variant, device, batch_size, seconds, repeats):
    cfg = CONFIGS[name]
    torch.manual_seed(0)
    frontend = SpectralFrontEnd(16000, cfg["n_fft"], cfg["hop_length_ms"], cfg["win_length_ms"], cfg["n_mels"])
    cnn = Cnn14(cfg["n_mels"], base_channels=cfg["base_channels"])
    classifier = AudioClassifier(frontend, cnn, nn.Linear(cnn.emb_dim, 50)).to(device).eval()
    classifier.requires_grad_(False)
    decoder = build_decoder(cnn, frontend, "stft", width=cfg["width"], variant=variant)
    hparams = dict(classifier_model=classifier, domain="stft", l_in_w=4.0, l_out_w=0.2, reg_w_l1=0.4, reg_w_tv=0.0,
                   regularizer_reduction="batch_sum", wham_at_validation=False, finetuning=False, n_listenable=0, interpret_period=1, output_folder="/tmp")
    brain = recipe_brain()(modules={"decoder": decoder}, opt_class=lambda p: torch.optim.Adam(p, lr=2e-4),
                      hparams=hparams, run_opts={"device": device})
    brain.on_fit_start()
    wavs = torch.randn(batch_size, int(16000 * seconds)) * 0.1
    batch = sb.dataio.batch.PaddedBatch([{"id": str(i), "sig": w} for i, w in enumerate(wavs)])
    wavs_dev = wavs.to(device)
    rank = logit_rank(brain.modules.decoder, classifier, wavs_dev[:1])
    explainer = LMACExplainer(classifier, "stft", decoder=brain.modules.decoder)

    def forward():
        with torch.no_grad():
            classifier(wavs_dev)

    def step():
        brain.on_stage_start(sb.Stage.TRAIN, epoch=1)
        brain.modules.train()
        brain.fit_batch(batch)

    def explain():
        mag, _ = frontend.magnitude_phase(wavs_dev)
        explainer(classifier.domain_input(mag, "stft"))

    t_forward = timed(forward, device, repeats)
    t_step = timed(step, device, repeats)
    t_explain = timed(explain, device, repeats)
    return {
        "config": name,
        "decoder": variant,
        "device": device,
        "batch": f"{batch_size} x {seconds:g} s",
        # Milliseconds (two decimals in the table): seconds rounded to 0.00 hide a fast GPU.
        "forward_ms": round(1000 * t_forward, 3),
        "train_step_ms": round(1000 * t_step, 3),
        "explain_ms": round(1000 * t_explain, 3),
        "step_over_forward": round(t_step / t_forward, 2),
        "explain_over_forward": round(t_explain / t_forward, 2),
        "rank": rank,
        "decoder_params": sum(p.numel() for p in decoder.parameters()),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--decoders", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, variant = args.child.split(":")
        print(json.dumps(measure(name, variant, args.device, args.batch, args.seconds, args.repeats)))
        return
    rows = []
    for name in args.configs:
        for variant in args.decoders:
            cmd = [sys.executable, __file__, "--child", f"{name}:{variant}", "--device", args.device,
                   "--batch", str(args.batch), "--seconds", str(args.seconds), "--repeats", str(args.repeats)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode:  # the child's own error, not only its exit status
                sys.exit(f"{name}/{variant} failed:\n{proc.stderr[-3000:]}")
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    from lmac_brain.reporting.tables import format_table

    print(format_table(rows))


if __name__ == "__main__":
    main()
