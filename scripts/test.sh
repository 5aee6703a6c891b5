#!/usr/bin/env bash
# Set up and run the whole test suite on a fresh machine (this is what CI runs: .ci/run).
#
# It installs the system FFmpeg (torchcodec needs it), creates .venv, installs qwenlint with the
# extras the differential tests compare against (torch, torchvision, transformers, qwen-vl-utils,
# torchcodec, PyAV), and runs pytest.  QWENLINT_REQUIRE_DIFF=1 makes a missing real library a
# failure instead of a skip, so CI never passes by skipping the differential tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v ffmpeg >/dev/null 2>&1; then
  echo "== installing FFmpeg (system libraries for torchcodec)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ffmpeg >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
echo "== installing qwenlint[video,diff,smoke,dev]"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[video,diff,smoke,dev]"

export QWENLINT_REQUIRE_DIFF="${QWENLINT_REQUIRE_DIFF:-1}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
echo "== pytest"
exec .venv/bin/python -m pytest -q -n "${QWENLINT_TEST_JOBS:-2}" "$@"
