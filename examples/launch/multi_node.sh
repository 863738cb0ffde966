#!/usr/bin/env bash
# Several nodes: start the head, join the others, then train from any node of the cluster.
#   head node:    examples/launch/multi_node.sh head
#   other nodes:  HEAD=10.0.0.1 examples/launch/multi_node.sh worker
#   training:     HEAD=10.0.0.1 MODEL=/models/Qwen2.5-7B-Instruct WORKERS=16 GPUS=16 LEARNERS=8 \
#                 examples/launch/multi_node.sh train [extra flags]
set -euo pipefail
PORT=${PORT:-6379}
export RAY_AUTH_MODE=${RAY_AUTH_MODE:-disabled}
case "${1:?usage: multi_node.sh head|worker|train [flags]}" in
  head) ray start --head --port "$PORT" --disable-usage-stats ;;
  worker) ray start --address "${HEAD:?set HEAD to the head node address}:$PORT" ;;
  train)
    shift
    python examples/train_seal.py --preset paper-alfworld --model "${MODEL:?set MODEL}" \
        --ray-address "${HEAD:?set HEAD}:$PORT" --num-workers "${WORKERS:?}" --num-gpus "${GPUS:-$WORKERS}" \
        --num-learners "${LEARNERS:-1}" "$@" ;;
  *) echo "usage: multi_node.sh head|worker|train [flags]" >&2; exit 2 ;;
esac
