#!/usr/bin/env bash
# The real-stream table of the model card and README: `vidsr eval --video` on the shared clips
# and on crisp pans over Set5, each shipped model at each scale, saved as JSON.
#
#     bash benchmarks/video_eval.sh [SCALE ...]        (default: 2 3 4)
#     MODELS=tiny,small TAG=tiers bash benchmarks/video_eval.sh 2    (some models only)
#
# x2 is scored with VMAF too (vidsr[vmaf]; the slow part: about 20 minutes on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
VIDEO=../shared/data/video
SET5=../shared/data/val/Set5
OUT=benchmarks/results
DATE=$(date +%F)
MACHINE=$(.venv/bin/python -c "from vidsr.bench import machine; print(machine().slug)")
scales=("$@")
[ ${#scales[@]} -gt 0 ] || scales=(2 3 4)
for scale in "${scales[@]}"; do
  models=${MODELS:-$(.venv/bin/python -c \
    "from vidsr.models import SHIPPED; print(','.join(n for n, s in SHIPPED if s == $scale))")}
  vmaf=$([ "$scale" = 2 ] && echo "" || echo "--no-vmaf")
  name="$OUT/$DATE-video-eval-x$scale${TAG:+-$TAG}"
  .venv/bin/vidsr eval --scale "$scale" --model "$models" --crf 23,30 --frames 20 $vmaf --json \
    --video $VIDEO/cockatoo_yuv420.mp4 --video $VIDEO/car-detection.mp4 \
    --video $VIDEO/flipping_a_pancake.mkv --video $VIDEO/stream-of-water.mp4 \
    > "$name-clips-$MACHINE.json"
  .venv/bin/vidsr eval --scale "$scale" --model "$models" --crf 23,30 --frames 20 $vmaf --json \
    --pan $SET5/*.png > "$name-pans-$MACHINE.json"
done
