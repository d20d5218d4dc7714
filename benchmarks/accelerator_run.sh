#!/usr/bin/env bash
# One prepared accelerator run: a machine with JAX and a GPU, no TensorFlow.
#
# Usage, from the repository root:
#   benchmarks/accelerator_run.sh VIDEOS CODEBOOK OUTPUT_DIR
# VIDEOS: folder(s) of training videos (data.train_pattern of the video source);
# CODEBOOK: a codebook from data_prep.fit_codebook (made on any machine); OUTPUT_DIR:
# new or empty, receives the logs, results.json lines and the MAST workdir.
#
# 1. installs what the machine lacks (keras, ml-collections, optree, namex) from wheels in
#    .whl/ (BENCHMARKS.md "Accelerator" says how they were fetched), if it lacks them;
# 2. times the trainer's JAX step alone (benchmarks/accelerator_step.py) for the paper preset
#    in bfloat16 and for the MAST preset trained below;
# 3. trains the paper preset end to end from VIDEOS (numpy/OpenCV clips, bfloat16) for
#    PAPER_STEPS steps: clips/s with the input pipeline;
# 4. trains MAST (MAST_PRESET at MAST_IMAGE_SIZE crops, batch MAST_BATCH) for MAST_SECONDS
#    seconds (or MAST_STEPS steps, if fewer), checkpointing every MAST_CHECKPOINT_EVERY
#    steps, at the preset's learning rate until MAST_LR_DROP_STEP (default: never; e.g.
#    MAST_STEPS=10000 MAST_LR_DROP_STEP=6700 MAST_SECONDS=330 for a drop at 2/3, BENCHMARKS.md
#    "Schedules and frame rates");
#    the workdir (config, codebook, latest checkpoint) lands in OUTPUT_DIR/mast, which
#      python -m train.export --workdir=OUTPUT_DIR/mast --export_dir=...
#    turns into a SavedModel on any machine with TensorFlow.
# Every setting below can be overridden from the environment (the CPU test uses tiny ones).
set -uo pipefail
if [[ $# -ne 3 ]]; then
  echo "usage: $0 VIDEOS CODEBOOK OUTPUT_DIR" >&2
  exit 2
fi
VIDEOS=$1 CODEBOOK=$2 OUT_DIR=$3
PYTHON=${PYTHON:-python3}
PAPER_PRESET=${PAPER_PRESET:-colortrack/configs/paper.py}
PAPER_DTYPE=${PAPER_DTYPE:-mixed_bfloat16}
PAPER_STEPS=${PAPER_STEPS:-150}
STEP_STEPS=${STEP_STEPS:-50}
MAST_PRESET=${MAST_PRESET:-colortrack/configs/mast_pair.py:cpu}
MAST_IMAGE_SIZE=${MAST_IMAGE_SIZE:-256}
MAST_BATCH=${MAST_BATCH:-64}
MAST_SECONDS=${MAST_SECONDS:-300}
MAST_STEPS=${MAST_STEPS:-100000000}  # whichever comes first: the clock or the steps
MAST_LR_DROP_STEP=${MAST_LR_DROP_STEP:-100000000}  # constant, as every run measured so far
MAST_CHECKPOINT_EVERY=${MAST_CHECKPOINT_EVERY:-500}
MAST_CLIP_STRIDE=${MAST_CLIP_STRIDE:-1}

for path in "$VIDEOS" "$CODEBOOK"; do
  [[ -e $path ]] || { echo "$path: no such file or folder" >&2; exit 2; }
done
if [[ -e $OUT_DIR && -n $(ls -A "$OUT_DIR") ]]; then
  echo "$OUT_DIR: not empty; give a new or empty folder" >&2
  exit 2
fi
mkdir -p "$OUT_DIR" || exit 2
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
if ! "$PYTHON" -c "import keras, ml_collections" 2>/dev/null && [[ -d .whl ]]; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/colortrack_site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/colortrack_site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
RESULTS=$OUT_DIR/results.jsonl
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
status=0

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null \
    || echo "no nvidia-smi"
"$PYTHON" -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)" \
    || exit 1

echo "== the JAX step alone"
"$PYTHON" -m benchmarks.accelerator_step --config="$PAPER_PRESET" --dtype_policy="$PAPER_DTYPE" \
    --steps="$STEP_STEPS" 2> "$OUT_DIR/step_paper.log" | tee -a "$RESULTS" || status=1
"$PYTHON" -m benchmarks.accelerator_step --config="$MAST_PRESET" --steps="$STEP_STEPS" \
    --config.data.image_size="$MAST_IMAGE_SIZE" --config.train.batch_size="$MAST_BATCH" \
    2> "$OUT_DIR/step_mast.log" | tee -a "$RESULTS" || status=1

video_flags=(--config.runtime.backend=jax --config.data.source=video
             "--config.data.train_pattern=$VIDEOS" "--config.data.codebook=$CODEBOOK")

echo "== $PAPER_PRESET end to end ($PAPER_DTYPE, video source), $PAPER_STEPS steps"
"$PYTHON" -m train.train --config="$PAPER_PRESET" --workdir="$WORK/paper" "${video_flags[@]}" \
    --config.runtime.dtype_policy="$PAPER_DTYPE" --config.train.num_steps="$PAPER_STEPS" \
    --config.train.log_every=$(( PAPER_STEPS / 3 > 0 ? PAPER_STEPS / 3 : 1 )) \
    --config.train.checkpoint_every=1000000 --config.train.image_summary_every=1000000 \
    > "$OUT_DIR/paper_train.log" 2>&1 || status=1
grep -E "clips/s|video source|Error" "$OUT_DIR/paper_train.log" | tail -4

echo "== $MAST_PRESET at $MAST_IMAGE_SIZE px, batch $MAST_BATCH, for $MAST_SECONDS s"
# Stopped by the clock (SIGINT), as a preempted job is: the checkpoints written every
# MAST_CHECKPOINT_EVERY steps are what it leaves, and what a resumed run would start from.
timeout -s INT -k 60 "$MAST_SECONDS" "$PYTHON" -m train.train --config="$MAST_PRESET" \
    --workdir="$WORK/mast" "${video_flags[@]}" --config.data.image_size="$MAST_IMAGE_SIZE" \
    --config.data.clip_stride="$MAST_CLIP_STRIDE" --config.train.batch_size="$MAST_BATCH" \
    --config.train.num_steps="$MAST_STEPS" --config.train.lr_drop_step="$MAST_LR_DROP_STEP" \
    --config.train.log_every=100 \
    --config.train.checkpoint_every="$MAST_CHECKPOINT_EVERY" \
    --config.train.image_summary_every=100000000 > "$OUT_DIR/mast_train.log" 2>&1
code=$?
[[ $code -eq 124 || $code -eq 130 || $code -eq 0 ]] || status=1
grep -E "clips/s|video source|Error" "$OUT_DIR/mast_train.log" | tail -3
latest=$(ls "$WORK"/mast/checkpoints/ckpt-*.npz 2>/dev/null | sort -t- -k2 -n | tail -1)
if [[ -n $latest ]]; then
  mkdir -p "$OUT_DIR/mast/checkpoints"
  cp "$WORK/mast/config.json" "$WORK/mast/codebook.json" "$OUT_DIR/mast/"
  cp "$latest" "$OUT_DIR/mast/checkpoints/"
  echo "MAST workdir: $OUT_DIR/mast ($(basename "$latest"))"
else
  echo "MAST: no checkpoint written" >&2
  status=1
fi
exit $status
