#!/usr/bin/env bash
# One prepared check for a machine with a CUDA GPU, in four parts, each reported even when
# another fails:
#   1. the test suite's CUDA tests (and every recipe test with LMAC_TEST_DEVICE=cuda),
#   2. benchmarks/bench_lmac.py --device cuda (ratios to one classifier forward on that card),
#   3. a short paper-size pipeline on a synthetic ESC-50 twin (5 s clips at 44.1 kHz, width-64
#      CNN14): classifier -> L-MAC -> L-MAC FT -> L2I -> evaluation under both protocols, all
#      with --device=cuda,
#   4. (on the machine's CPU cores, beside parts 1-3) tests/margins.py: every learned quantity
#      the suite asserts, over seeds 0-4 x 1 and 2 threads, with its bar; MARGINS_TIMEOUT bounds it.
#
#   bash benchmarks/cuda_check.sh [OUT_DIR] [EPOCHS]
#
# OUT_DIR (default results/cuda_check) receives cuda_check.log and the metrics of part 3.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-results/cuda_check}
EPOCHS=${2:-3}
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
PARTS=${PARTS:-1234}   # which parts to run
read -r -a EXTRA <<< "${EXTRA:-}"   # extra overrides for every recipe (a dry run on CPU)
read -r -a LMAC_EXTRA <<< "${LMAC_EXTRA:-}"   # extra overrides of the L-MAC runs (e.g. --decoder_variant=...)
mkdir -p "$OUT"
LOG="$OUT/cuda_check.log"
start=$(date +%s)
status=0
part() { printf '\n=== %s (%ds elapsed)\n' "$1" "$(( $(date +%s) - start ))" | tee -a "$LOG"; }
run() {  # run a command, log it, remember a failure, go on
    echo "+ $*" | tee -a "$LOG"
    "$@" 2>&1 | tee -a "$LOG" | tail -n 40
    local rc=${PIPESTATUS[0]}
    if [ "$rc" -ne 0 ]; then echo "!!! exit $rc: $*" | tee -a "$LOG"; status=1; fi
}

part "device"
run "$PY" -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0))"

if [[ $PARTS == *4* ]]; then
    # CPU only: runs beside the GPU parts and is collected at the end.
    CUDA_VISIBLE_DEVICES= timeout "${MARGINS_TIMEOUT:-600}" "$PY" tests/margins.py --jobs 10 \
        --records "$OUT/margins.jsonl" > "$OUT/margins.txt" 2>&1 &
    margins_pid=$!
fi

if [[ $PARTS == *1* ]]; then
part "1/4 CUDA tests"
run "$PY" -m pytest -q -x -p no:cacheprovider tests -k "cuda"
LMAC_TEST_DEVICE=cuda run "$PY" -m pytest -q -p no:cacheprovider tests/test_recipe_lmac.py tests/test_recipe_classifier.py

fi
if [[ $PARTS == *2* ]]; then
part "2/4 benchmarks/bench_lmac.py --device cuda"
run "$PY" benchmarks/bench_lmac.py --device cuda --repeats 5

fi
if [[ $PARTS == *3* ]]; then
part "3/4 paper-size pipeline on a synthetic ESC-50 twin, $EPOCHS epochs"
DATA="$OUT/data"
run "$PY" -m lmac_brain.synthetic esc50 --out "$DATA/ESC50" --n-classes 10 \
    --clips-per-class-per-fold 4 --signal-length-s 5.0 --log-level WARNING
run "$PY" -m lmac_brain.synthetic wham --out "$DATA/wham" --log-level WARNING
COMMON=(--data_folder="$DATA/ESC50" --wham_folder="$DATA/wham" --add_wham_noise=True
        --device="$DEVICE" --number_of_epochs="$EPOCHS" "${EXTRA[@]}")
RES="$OUT/results/esc50"
run "$PY" recipes/ESC50/train_classifier.py hparams/classifier_cnn14.yaml "${COMMON[@]}" \
    --output_folder="$RES/classifier_cnn14/1234"
run "$PY" recipes/ESC50/train_lmac.py hparams/lmac_cnn14.yaml "${COMMON[@]}" \
    --output_folder="$RES/lmac_cnn14/1234" --classifier_source="$RES/classifier_cnn14/1234/save" "${LMAC_EXTRA[@]}"
run "$PY" recipes/ESC50/train_lmac.py hparams/lmac_cnn14_ft.yaml "${COMMON[@]}" --number_of_epochs=1 \
    --output_folder="$RES/lmac_cnn14_ft/1234" --classifier_source="$RES/classifier_cnn14/1234/save" \
    --lmac_source="$RES/lmac_cnn14/1234/save" "${LMAC_EXTRA[@]}"
run "$PY" recipes/ESC50/train_l2i.py hparams/l2i_cnn14.yaml "${COMMON[@]}" --number_of_epochs=1 \
    --output_folder="$RES/l2i_cnn14/1234" --classifier_source="$RES/classifier_cnn14/1234/save"
EVAL=(recipes/ESC50/eval.py hparams/eval_cnn14_compact.yaml --data_folder="$DATA/ESC50"
    --wham_folder="$DATA/wham" --device="$DEVICE" --results_root="$RES" --output_folder="$RES/eval/1234"
    --classifier_source="$RES/classifier_cnn14/1234/save"
    --classifier_experiment=classifier_cnn14 --lmac_experiment=lmac_cnn14 --lmac_ft_experiment=lmac_cnn14_ft
    --l2i_experiment=l2i_cnn14 --signal_length_s=5.0 --n_fft=1024 --hop_length=11.6099
    --win_length=23.2199 --n_mels=80 --base_channels=64 --domains='[stft]'
    --conditions='{ood_mix: null, white_noise: null, speech: null}' "${EXTRA[@]}")
run "$PY" "${EVAL[@]}" --protocol=paper
run "$PY" "${EVAL[@]}" --protocol=reference
[ -f "$RES/eval/1234/metrics.md" ] && cat "$RES/eval/1234/metrics.md" | tee -a "$LOG"
for f in "$RES"/*/1234/train_log.txt; do echo "--- $f"; tail -n 3 "$f"; done | tee -a "$LOG"
fi

if [[ $PARTS == *4* ]]; then
part "4/4 tests/margins.py (CPU, 5 seeds x 1, 2 threads)"
wait "$margins_pid"; echo "margins exit $?" | tee -a "$LOG"
tail -n 40 "$OUT/margins.txt" | tee -a "$LOG"
fi

part "done, status $status"
exit $status
