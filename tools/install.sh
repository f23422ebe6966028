#!/usr/bin/env bash
# Install the pinned OpenMMLab stack and dfd_razor into a virtual environment.
#
#   bash tools/install.sh                 # creates ./.venv (CPU torch 2.13.0)
#   DFD_VENV=/path/to/env bash tools/install.sh
#
# Environment:
#   DFD_VENV          the virtual environment (default: <repo>/.venv). If it exists and already imports a torch
#                     (for example a CUDA torch you installed), that torch is kept and mmcv is built against it,
#                     with its CUDA ops when torch sees CUDA (or FORCE_CUDA=1).
#   DFD_PYTHON        the interpreter that creates the venv (default: python3.11, else python3).
#   DFD_WHEEL_CACHE   where the built mmcv wheel is kept (default: ~/.cache/dfd-razor/wheels). The wheel's
#                     name records the Python, torch and CUDA it was built for; a later install with the same
#                     triple reuses it and takes minutes instead of ~30.
#   MAX_JOBS          parallel compile jobs for mmcv (default: number of cores).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${DFD_VENV:-$REPO/.venv}
CACHE=${DFD_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dfd-razor/wheels}
MMCV_VERSION=2.0.1
START=$(date +%s)

step() { printf '\n[install %4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }

PYBIN=${DFD_PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x "$VENV/bin/python" ]; then
  step "creating virtual environment $VENV with $PYBIN"
  "$PYBIN" -m venv "$VENV"
fi
PY="$VENV/bin/python"
pip_() {  # pip, without its per-package warnings about absent local index folders
  "$PY" -m pip "$@" 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
  return "${PIPESTATUS[0]}"
}
pip_install() { pip_ install --progress-bar off "$@"; }
"$PY" -c 'import sys; assert sys.version_info >= (3, 8), sys.version' \
  || { echo "install: $VENV needs Python >= 3.8" >&2; exit 1; }

step "build tools (requirements/build.txt)"
pip_install -q --upgrade pip
pip_install -q -r "$REPO/requirements/build.txt"

if "$PY" -c 'import torch' 2>/dev/null; then
  step "keeping the torch already in $VENV: $("$PY" -c 'import torch; print(torch.__version__)')"
else
  step "torch (requirements/torch.txt)"
  pip_install -q -r "$REPO/requirements/torch.txt"
fi
# Every later install is held to this torch, so no dependency can swap it for another build.
TORCH_PIN=$(mktemp)
trap 'rm -f "$TORCH_PIN"' EXIT
"$PY" -c 'import torch; print("torch==" + torch.__version__)' > "$TORCH_PIN"

step "OpenMMLab packages (requirements/runtime.txt)"
pip_install -q -c "$TORCH_PIN" -r "$REPO/requirements/runtime.txt"
step "mmpose and openmim without their dependencies (requirements/nodeps.txt)"
pip_install -q -c "$TORCH_PIN" -r "$REPO/requirements/nodeps-deps.txt"
pip_install -q --no-deps -r "$REPO/requirements/nodeps.txt"
step "development tools (requirements/dev.txt)"
pip_install -q -r "$REPO/requirements/dev.txt"
# Optional group: without it everything but the ONNX export and the latency benchmark works, and those say so.
step "optional: ONNX export and ONNX Runtime (requirements/onnx.txt)"
pip_install -q -c "$TORCH_PIN" -r "$REPO/requirements/onnx.txt" \
  || echo "install: requirements/onnx.txt failed to install; tools/export_student.py --onnx will name what is missing" >&2
# The registry's cp311 xtcocotools wheel is built against numpy 1.x and fails under numpy 2: build it here.
if ! "$PY" -c 'import xtcocotools.coco' 2>/dev/null; then
  step "xtcocotools from its sdist (against this numpy)"
  pip_install -q --no-deps --no-build-isolation --no-binary xtcocotools xtcocotools==1.14.3
fi

# ---- mmcv with compiled ops, from the local wheel cache or built once from its sdist ----------------------
WITH_CUDA=$("$PY" -c 'import os, torch; print(int(torch.cuda.is_available() or os.environ.get("FORCE_CUDA") == "1"))')
TAG=$("$PY" -c "import sys, torch; cu = torch.version.cuda if $WITH_CUDA else None; print('py%d%d-torch%s-%s' % (sys.version_info[0], sys.version_info[1], torch.__version__.replace('+', '_'), 'cu' + cu if cu else 'cpu'))")
WHEEL_DIR="$CACHE/mmcv-$MMCV_VERSION-$TAG"
mkdir -p "$WHEEL_DIR"
if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
  step "building mmcv $MMCV_VERSION ($TAG, CUDA ops: $WITH_CUDA); 4-7 min on 2 cores (-g0), once per machine"
  BUILD=$(mktemp -d)
  pip_ download -q --no-deps --no-binary mmcv --no-build-isolation -d "$BUILD" "mmcv==$MMCV_VERSION"
  tar -xzf "$BUILD"/mmcv-$MMCV_VERSION.tar.gz -C "$BUILD"
  SRC="$BUILD/mmcv-$MMCV_VERSION"
  # torch >= 2.1 headers need C++17; mmcv 2.0.1 hard-codes -std=c++14.
  sed -i 's/-std=c++14/-std=c++17/g' "$SRC/setup.py"
  grep -q -- '-std=c++17' "$SRC/setup.py" || { echo "install: mmcv setup.py has no C++ std flag to patch" >&2; exit 1; }
  # Progress: ninja prints [k/N] per compiled file. -g0 drops debug info (83 MB -> ~2 MB shared object).
  ( cd "$SRC" && MMCV_WITH_OPS=1 FORCE_CUDA=$WITH_CUDA MAX_JOBS=${MAX_JOBS:-$(nproc)} CFLAGS="-g0" CXXFLAGS="-g0" \
      "$PY" -m pip wheel -v --no-deps --no-build-isolation -w "$WHEEL_DIR.tmp" . 2>&1 \
      | grep --line-buffered -E '^\[[0-9]+/[0-9]+\]|error|Error|Successfully' | cut -c1-160 )
  mv "$WHEEL_DIR.tmp"/mmcv-*.whl "$WHEEL_DIR"/ && rmdir "$WHEEL_DIR.tmp"
  rm -rf "$BUILD"
else
  step "mmcv $MMCV_VERSION from the wheel cache: $(ls "$WHEEL_DIR"/mmcv-*.whl)"
fi
pip_install -q -c "$TORCH_PIN" "$WHEEL_DIR"/mmcv-*.whl

# Installed once per environment: a reinstall changes nothing (the checkout is imported in place) and setuptools
# prints its editable-install BuildBackendWarning block each time.
if [ "$("$PY" -m pip show dfd-razor 2>/dev/null | sed -n 's/^Editable project location: //p')" = "$REPO" ]; then
  step "dfd_razor: already installed in editable mode from $REPO"
else
  step "dfd_razor (editable)"
  pip_install -q --no-deps --no-build-isolation -e "$REPO"
fi

# mim train mmrazor runs MMRazor's train.py, which imports mmrazor before our custom_imports: a startup hook
# applies dfd_razor's fixes first in every process of this environment (see dfd_razor_startup.py).
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo 'import dfd_razor_startup' > "$SITE/dfd_razor_startup.pth"
# The tools, the demo and the benchmarks import their shared glue (dfd_razor_tools/) from this checkout; the
# library's wheel does not carry it.
echo "$REPO" > "$SITE/dfd_razor_checkout.pth"

step "checking the stack imports"
"$PY" - <<'EOF'
import mmrazor.models  # before dfd_razor: the startup hook must apply the compatibility fixes by itself
import dfd_razor
import mmcv, mmcv.ops, mmdet, mmengine, mmpose, mmseg, mmyolo, torch
print('  torch', torch.__version__, '| mmcv', mmcv.__version__, '| mmengine', mmengine.__version__,
      '| mmdet', mmdet.__version__, '| mmyolo', mmyolo.__version__, '| mmrazor', mmrazor.__version__,
      '| mmpose', mmpose.__version__, '| mmseg', mmseg.__version__)
try:
    import onnx, onnxruntime
    print('  optional: onnx', onnx.__version__, '| onnxruntime', onnxruntime.__version__)
except ImportError as e:
    print('  optional ONNX group missing:', e)
EOF
step "done: activate with 'source $VENV/bin/activate'"
