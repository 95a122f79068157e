#!/usr/bin/env bash
# Rebuild the bundled models in models/ from the real data in ../shared/datasets (or $INKREC_DATASETS):
#
#   bash scripts/build-models.sh                 # doodles, digits, hanzi-numerals and hanzi
#   bash scripts/build-models.sh digits          # just one (or several) of them
#
# `hanzi` (15,433 Chinese characters) learns from synthetic handwriting only (`synth:hanzi`), for hours on
# two cores: its run resumes where it stopped when the command is run again (HANZI_RUN, default
# $INKREC_BUILD_DIR/hanzi), and it is scored on real handwriting (CASIA writer 1043, Chinese MNIST as
# pictures, Tegaki) that it never trains on.
#
# The bundled models are sized for the browser: inknet at width 16 (a quarter of the default's compute),
# quantized to int8 (static, calibrated on real training drawings), so one guess in onnxruntime-web's wasm
# costs what the course's small CNN costs (a third of a millisecond here) and under a tenth of one in the
# server. The handwriting models are trained to do what a wider net does rather than made wider: each learns
# from wide teachers (inknet at width 48, and 32) trained first on the same data, by knowledge distillation,
# on a longer schedule, with pen-width augmentation (other writers' pens). The doodles model learns half of
# Quick, Draw!'s other categories beside its own (auxiliary classes), for an embedding that new categories
# can be taught on.
#
# Each model is trained with `inkrec train`, exported with `inkrec export --int8` (which adds the embedding
# output, the open-set rule and the teaching calibration from the same data), scored on its data set's standard
# test split with `inkrec eval`, and gets its model card (models/<id>.md) with those figures, which are also
# written into the .onnx metadata. `digits` and `hanzi-numerals` frame pictures and ink like their own training
# bitmaps, MNIST digits and Chinese MNIST scans (the framing is measured from the data by scripts/stamp_lines.py
# after the export), which single pictures and `inkrec read`'s lines rely on. Runs go to $INKREC_BUILD_DIR
# (default runs/bundled). Epoch counts can be overridden for a quick rebuild (DOODLES_EPOCHS, DIGITS_EPOCHS,
# HANZI_EPOCHS), and the training samples per class capped (DOODLES_MAX_PER_CLASS); the defaults are the recipe
# the bundled files were built with.
# INKREC_TRAIN_ARGS adds `inkrec train` options to every run (e.g. "--threads 1" on a busy machine), and
# INKREC_REUSE_RUNS=1 exports a run already finished in $INKREC_BUILD_DIR/<id> instead of training it again.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA="${INKREC_DATASETS:-../shared/datasets}"
WORK="${INKREC_BUILD_DIR:-runs/bundled}"
if [[ -x .venv/bin/inkrec ]]; then BIN=.venv/bin; else BIN="$(dirname "$(command -v inkrec)")"; fi
INKREC="$BIN/inkrec"
PY="$BIN/python"

# train RUN DATA ARGS...: one `inkrec train` run into $WORK/RUN, unless INKREC_REUSE_RUNS finds it finished.
train() {
  local run="$1" data="$2"
  shift 2
  if [[ -n "${INKREC_REUSE_RUNS:-}" && -f "$WORK/$run/best.pt" ]]; then
    echo "== $run: reusing the finished run $WORK/$run (INKREC_REUSE_RUNS)"
    return
  fi
  echo "== $run: training on $data"
  # shellcheck disable=SC2086  # INKREC_TRAIN_ARGS is a list of options
  "$INKREC" train --data "$data" --model inknet --out "$WORK/$run" --no-track --no-test --amp --patience 0 \
    --val-fraction 0 "$@" ${INKREC_TRAIN_ARGS:-}
}

build() {
  local id="$1" data="$2"
  shift 2
  if [[ -n "${INKREC_REUSE_RUNS:-}" && -f "$WORK/$id/best.pt" ]]; then
    echo "== $id: reusing the finished run $WORK/$id (INKREC_REUSE_RUNS)"
  else
    echo "== $id: training on $data"
    # shellcheck disable=SC2086  # INKREC_TRAIN_ARGS is a list of options
    "$INKREC" train --data "$data" --model inknet --model-arg width=16 --out "$WORK/$id" --seed 0 --no-track \
      --no-test --amp "$@" ${INKREC_TRAIN_ARGS:-}
  fi
  echo "== $id: export"
  # shellcheck disable=SC2086  # EXPORT_ARGS is a list of options
  "$INKREC" export "$WORK/$id" -o "models/$id.onnx" --id "$id" --int8 ${EXPORT_ARGS:-}
  if [[ -n "${FRAMING_FROM:-}" ]]; then
    # pictures and ink framed like the model's own training bitmaps (measured), for single pictures and lines
    "$PY" scripts/stamp_lines.py "models/$id.onnx" --framing-from "$FRAMING_FROM"
  fi
  # the float weights ship beside the model (weights-only checkpoint), for `inkrec train --init models/$id.onnx`
  cp "$WORK/$id/best.pt" "models/$id.pt"
  echo "== $id: test accuracy of the exported file"
  "$INKREC" eval --model "models/$id.onnx" --data "$data" --split test --json "$WORK/$id.test.json"
  "$PY" scripts/model_card.py "models/$id.onnx" --eval "$WORK/$id.test.json" --run "$WORK/$id"
}

TARGETS=("$@")
for t in "${TARGETS[@]}"; do
  case "$t" in doodles|digits|hanzi-numerals|hanzi) ;;
    *) echo "unknown model '$t' (doodles, digits, hanzi-numerals, hanzi)" >&2; exit 2;; esac
done
all() {  # true when no model was named or $1 was
  [[ ${#TARGETS[@]} -eq 0 ]] && return 0
  local x; for x in "${TARGETS[@]}"; do [[ "$x" == "$1" ]] && return 0; done
  return 1
}

mkdir -p "$WORK" models
# Training sets are trained on whole, to the last epoch of the cosine schedule: on the small ones (5,000
# digits; 9,600 numerals) a 10% hold-out costs more accuracy than its noisy choice of epoch gives back.
if all digits; then
  train digits-teacher-1 "$DATA/mnist" --model-arg width=48 --seed 1 --epochs 40 --augment strong
  train digits-teacher-2 "$DATA/mnist" --model-arg width=32 --seed 2 --epochs 30
  train digits-teacher-3 "$DATA/mnist" --model-arg width=32 --seed 3 --epochs 30
  # line context: some digits shown with bits of touching neighbours at their edges, and some touching pairs
  # framed as one and taught as no digit in particular, as `inkrec read` cuts and frames its candidates
  FRAMING_FROM="$DATA/mnist" build digits "$DATA/mnist" --epochs "${DIGITS_EPOCHS:-60}" --patience 0 --val-fraction 0 --pen 0.3 --augment strong \
    --line-context 0.15 --line-pairs 0.3 --teacher "$WORK/digits-teacher-1" --teacher "$WORK/digits-teacher-2" --teacher "$WORK/digits-teacher-3"
fi
if all hanzi-numerals; then
  train hanzi-numerals-teacher "$DATA/chinese-mnist" --model-arg width=48 --seed 1 --epochs 20 --augment strong
  # pictures and ink framed like its own scans (small characters in thin lines), as for digits
  FRAMING_FROM="$DATA/chinese-mnist" build hanzi-numerals "$DATA/chinese-mnist" --epochs "${HANZI_EPOCHS:-20}" \
    --patience 0 --val-fraction 0 --pen 0.3 --teacher "$WORK/hanzi-numerals-teacher"
fi
if all doodles; then
  # one model, no teacher: beside its 18 categories it learns the training drawings (1-20) of every other
  # Quick, Draw! simplified category it lacks, less every fourth of those, as auxiliary classes (cut from its
  # classifier when saved; each drawing once an epoch, no label smoothing: both keep the features general),
  # with a cosine classifier, so its embedding tells categories it never saw apart (teaching, "not sure").
  # Export: a Gaussian head on the embedding (a taught class is then one of the same kind), its teaching
  # bias fit on the fourth it did not learn from; open set: outlier exposure with the whole shown half (the
  # other half stays unseen)
  EXPORT_ARGS="--outliers $DATA/quickdraw/simplified --head gaussian" build doodles "$DATA/quickdraw/numpy_bitmap" \
    --epochs "${DOODLES_EPOCHS:-20}" --patience 0 --val-fraction 0 --model-arg width=24 --model-arg head=cosine \
    --label-smoothing 0 --aux-data "$DATA/quickdraw/simplified" --aux-repeat 1 \
    ${DOODLES_MAX_PER_CLASS:+--max-per-class "$DOODLES_MAX_PER_CLASS"}
fi
if all hanzi; then
  run="${HANZI_RUN:-$WORK/hanzi}"
  resume=(); [[ -f "$run/last.pt" ]] && resume=(--resume)
  echo "== hanzi: training on synthetic handwriting (resumable: $run)"
  # shellcheck disable=SC2086  # INKREC_TRAIN_ARGS is a list of options
  "$INKREC" train --data "synth:hanzi?charset=zh&per_class=8&boost=3,2" --model inknet --model-arg width=64 \
    --model-arg "blocks=[1,1,1]" --size 64 --epochs "${HANZI_EPOCHS_ZH:-10}" --batch-size 128 --lr 2e-3 \
    --augment light --pen 0.3 --workers 2 --patience 0 --out "$run" --no-track "${resume[@]}" ${INKREC_TRAIN_ARGS:-}
  # continue_hanzi FROM OUT EPOCHS DATA: a warm restart from FROM's weights on fresh samples of DATA, at a quarter of
  # the learning rate (resumable: OUT)
  continue_hanzi() {
    local resume=(); [[ -f "$2/last.pt" ]] && resume=(--resume)
    echo "== hanzi: continuing from $1 (resumable: $2)"
    # shellcheck disable=SC2086  # INKREC_TRAIN_ARGS is a list of options
    "$INKREC" train --data "$4" --init "$1" --size 64 --epochs "$3" --batch-size 128 --lr 5e-4 \
      --warmup-epochs 0.2 --augment light --pen 0.3 --workers 2 --patience 0 --out "$2" --no-track \
      "${resume[@]}" ${INKREC_TRAIN_ARGS:-}
  }
  ft="$run-ft"
  continue_hanzi "$run" "$ft" "${HANZI_FT_EPOCHS:-4}" "synth:hanzi?charset=zh&per_class=8&boost=3,2"
  # then a third of the samples from fonts, where Japanese pen and brush fonts written by hand join the Kai
  # ones (`inkrec.data.synth.glyphs.FONTS`; scripts/setup.sh installs them): their semi-cursive forms are
  # what the strokes' synthetic writers do not reach. (The two stages above were run when only the Kai fonts
  # were known; where the others are installed, they draw some of those stages' font samples too.)
  hw="$run-hw"
  continue_hanzi "$ft" "$hw" "${HANZI_HW_EPOCHS:-7}" "synth:hanzi?charset=zh&per_class=8&boost=3,2&fonts=0.35"
  "$INKREC" export "$hw" -o models/hanzi.onnx --id hanzi --int8
  # the line reader's priors for Chinese ink and pictures, chosen on lines of the synthetic handwriting it
  # learnt from (benchmarks/read_lines_priors.py --chinese-model models/hanzi.onnx [--pictures]): its
  # characters are wide and made of parts that read as characters themselves, so a run of pieces is kept
  # whole more readily than for digits
  "$PY" scripts/stamp_lines.py models/hanzi.onnx --ink-priors char_bonus=-0.4,wide=1.2,wide_cost=3 \
    --picture-priors char_bonus=-0.4
  # the float weights ship beside it for `inkrec train --init models/hanzi.onnx`, in half precision (12 MB,
  # not 24): loading them casts them back to float32
  "$PY" -c "import sys, torch; p = torch.load(sys.argv[1], map_location='cpu', weights_only=True); \
p['state_dict'] = {k: v.half() if v.is_floating_point() else v for k, v in p['state_dict'].items()}; \
torch.save(p, sys.argv[2])" "$hw/best.pt" models/hanzi.pt
  "$INKREC" eval --model models/hanzi.onnx --data "$DATA/casia-olhwdb/1043-c.pot" --split all --json "$WORK/hanzi.casia.json"
  "$INKREC" eval --model models/hanzi.onnx --data "$DATA/chinese-mnist" --split test --as-pictures \
    --json "$WORK/hanzi.chinese-mnist.json"
  "$INKREC" eval --model models/hanzi.onnx --data "$DATA/tegaki/traditional-chinese" --split all --known-only \
    --json "$WORK/hanzi.tegaki-zh.json"
  "$INKREC" eval --model models/hanzi.onnx --data "$DATA/tegaki/tegaki-lab" --split all --known-only \
    --json "$WORK/hanzi.tegaki-kanji.json"
  "$PY" scripts/model_card.py models/hanzi.onnx --run "$hw" \
    --real "CASIA OLHWDB writer 1043=$WORK/hanzi.casia.json" \
    --real "Chinese MNIST writers 65-80 (pictures)=$WORK/hanzi.chinese-mnist.json" \
    --real "Tegaki Traditional Chinese (the characters in zh)=$WORK/hanzi.tegaki-zh.json" \
    --real "Tegaki kanji, native and learner writers (the kanji in zh)=$WORK/hanzi.tegaki-kanji.json"
fi
echo "== speed: onnxruntime and the page (headless Chromium)"
"$PY" benchmarks/model_time.py --threads 1 --out "$WORK/model_time.json"
pages=()
for id in doodles digits hanzi-numerals hanzi; do
  all "$id" || continue
  "$PY" benchmarks/browser.py --model "models/$id.onnx" --json "$WORK/browser-$id.json"
  pages+=("$WORK/browser-$id.json")
done
"$PY" scripts/model_card.py models/*.onnx --refresh --model-time "$WORK/model_time.json" --browser "${pages[@]}"
echo "bundled models:"
ls -l models/*.onnx
