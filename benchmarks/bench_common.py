"""What the benchmarks share: the two CNN14 configurations and a timer."""

import statistics
import time

import torch

# Paper: SpeechBrain's ESC-50 set-up. Compact: hparams/*_compact.yaml. `width` is the decoder's.
CONFIGS = {
    "paper": dict(n_fft=1024, hop_length_ms=11.6099, win_length_ms=23.2199, n_mels=80, base_channels=64,
                  width=64, signal_length_s=5.0),
    "compact": dict(n_fft=512, hop_length_ms=16.0, win_length_ms=32.0, n_mels=64, base_channels=8,
                    width=16, signal_length_s=2.0),
}


def timed(fn, device, repeats):
    """Median wall time of ``fn()`` over ``repeats`` runs after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
