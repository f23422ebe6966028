#!/usr/bin/env bash
# Distributed training on one machine with torchrun: tools/dist_train.sh RECIPE NUM_PROCS [train.py args...]
# PORT (default 29500), NNODES, NODE_RANK and MASTER_ADDR may be set in the environment. Without GPUs the
# processes run on CPU with the gloo backend (tools/train.py chooses it).
set -euo pipefail
CONFIG=$1
NPROCS=$2
shift 2
PYTHON=${PYTHON:-python}
exec "$PYTHON" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" --nproc_per_node="$NPROCS" \
  "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "$@"
