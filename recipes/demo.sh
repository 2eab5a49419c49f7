#!/usr/bin/env bash
# `make demo`: the whole L-MAC pipeline on the embedded synthetic default, end to end, on CPU.
#   synthetic ESC-50 / WHAM! / LJSpeech twins -> compact CNN14 classifier -> L-MAC -> L-MAC FT
#   -> L2I -> every method compared on ID and OOD conditions (STFT-Mel) -> tables printed,
#   listenable wavs written.
# Every step is an ordinary recipe command: copy any line to run it on real data.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATA=${DEMO_DATA:-results/demo_data}
SEED=${DEMO_SEED:-0}
start=$(date +%s)
step() { printf '\n=== [%s] %s (%ds elapsed)\n' "$1" "$2" "$(( $(date +%s) - start ))"; }

step 1/8 "Synthetic twins (ground truth kept beside every clip) in $DATA"
$PY -m lmac_brain.synthetic esc50 --out "$DATA/ESC50" --n-classes 10 \
    --clips-per-class-per-fold 8 --signal-length-s 2.0 --seed "$SEED" --log-level WARNING
$PY -m lmac_brain.synthetic wham --out "$DATA/wham" --seed "$SEED" --log-level WARNING
$PY -m lmac_brain.synthetic ljspeech --out "$DATA/ljspeech" --seed "$SEED" --log-level WARNING

COMMON=(--data_folder="$DATA/ESC50" --wham_folder="$DATA/wham")

step 2/8 "Compact CNN14 classifier with WHAM! augmentation"
$PY recipes/ESC50/train_classifier.py hparams/classifier_cnn14_compact.yaml "${COMMON[@]}" --add_wham_noise=True

step 3/8 "L-MAC (paper Eq. 2) with WHAM! augmentation"
$PY recipes/ESC50/train_lmac.py hparams/lmac_cnn14_compact.yaml "${COMMON[@]}" --add_wham_noise=True

step 4/8 "L-MAC fine-tuning (guidance, l_g 4, CCT 0.6)"
$PY recipes/ESC50/train_lmac.py hparams/lmac_cnn14_compact_ft.yaml "${COMMON[@]}" --add_wham_noise=True

step 5/8 "L2I baseline (NMF dictionary + decoder)"
$PY recipes/ESC50/train_l2i.py hparams/l2i_cnn14_compact.yaml "${COMMON[@]}" --add_wham_noise=True

step 6/8 "Every method on the test fold: ID (WHAM!) and OOD (mixtures, white noise, speech) conditions"
$PY recipes/ESC50/eval.py hparams/eval_cnn14_compact.yaml "${COMMON[@]}" \
    --ljspeech_folder="$DATA/ljspeech" --domains='[stft]' --conditions='{clean: null}'

step 7/8 "Report page: listenable interpretations of a few test clips"
$PY recipes/ESC50/interpret.py --input results/esc50/lmac_cnn14_compact/1234/manifests/test.json \
    --limit 6 --no_progress | tee results/demo_report.txt

step 8/8 "Results"
echo "L-MAC training runs, test split:"
$PY -m lmac_brain.reporting.tables results/esc50/lmac_cnn14_compact/1234/test_metrics.json \
    results/esc50/lmac_cnn14_compact_ft/1234/test_metrics.json
echo
echo "Comparison (results/esc50/eval_cnn14_compact/1234/metrics.md, metrics.csv):"
cat results/esc50/eval_cnn14_compact/1234/metrics.md
echo
echo "Classifier test accuracy: $(cat results/esc50/classifier_cnn14_compact/1234/test_accuracy.txt)"
echo "Listenable interpretations (original / interpretation / residual wav + PNG):"
echo "    results/esc50/lmac_cnn14_compact/1234/listenable/test/"
echo "    results/esc50/lmac_cnn14_compact_ft/1234/listenable/test/"
echo "Report page (audio players, spectrograms, masks, top-3 classes): $(tail -n 1 results/demo_report.txt)"
MODEL=results/esc50/lmac_cnn14_compact/1234/inference
test -f "$MODEL/hyperparams.yaml"  # written by step 3; load it from Python (README, "From Python")
echo "L-MAC model folder (LMACAudioInterpreter.from_hparams(source=\"$MODEL\")):"
echo "    $MODEL/"
printf 'Demo finished in %ds.\n' "$(( $(date +%s) - start ))"
