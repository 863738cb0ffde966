#!/usr/bin/env bash
# One node with N GPUs: a local Ray head, then a training run with rollout workers and learner ranks.
# Usage: MODEL=/models/Qwen2.5-1.5B-Instruct GPUS=8 WORKERS=4 LEARNERS=4 examples/launch/single_node.sh [extra flags]
set -euo pipefail
MODEL=${MODEL:?set MODEL to a local Hugging Face model folder}
GPUS=${GPUS:-$(nvidia-smi -L | wc -l)}
WORKERS=${WORKERS:-$((GPUS / 2))}
LEARNERS=${LEARNERS:-$((GPUS - WORKERS))}
PORT=${PORT:-6379}
export RAY_AUTH_MODE=${RAY_AUTH_MODE:-disabled}
ray start --head --port "$PORT" --num-gpus "$GPUS" --disable-usage-stats
trap 'ray stop' EXIT
python examples/train_seal.py --preset paper-alfworld --model "$MODEL" \
    --ray-address "127.0.0.1:$PORT" --num-workers "$WORKERS" --num-gpus "$WORKERS" --num-learners "$LEARNERS" "$@"
