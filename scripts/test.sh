#!/usr/bin/env bash
# Set up and run the whole test suite on a fresh machine (this is what CI runs: .ci/run).
#
# It installs the system FFmpeg (torchcodec needs it), creates .venv, installs qwenlint with the
# extras the differential tests compare against (torch, torchvision, transformers, qwen-vl-utils,
# torchcodec, PyAV) and older qwen-vl-utils and transformers releases beside it (.versions/),
# creates .venv-vllm with the real vLLM (its own environment: vLLM pins its own transformers; the
# tests start its GPU-less render server on 127.0.0.1 and stop it) and a second vLLM release beside it, and runs pytest.  QWENLINT_REQUIRE_DIFF=1 makes a
# missing real library a failure instead of a skip, so CI never passes by skipping the differential
# tests.  Both environments are reused when present.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v ffmpeg >/dev/null 2>&1; then
  echo "== installing FFmpeg (system libraries for torchcodec)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ffmpeg >/dev/null
fi
# Debian's Chromium: tests/test_report_html.py renders --format html in it headless (through
# playwright, which never downloads a browser of its own here).
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Chromium (the HTML report's screenshot test)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
echo "== installing qwenlint[video,diff,smoke,lsp,remote,parquet,ray,dev]"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[video,diff,smoke,lsp,remote,parquet,ray,dev]"

# Older releases the version branches are proven against, beside the ones installed above
# (tests/differential/test_vision_qvu_versions.py loads them by path; they share .venv's torch).
for QVU_OLD in 0.0.10 0.0.11 0.0.13; do
  if [ ! -f ".versions/qwen-vl-utils-$QVU_OLD/qwen_vl_utils/vision_process.py" ]; then
    echo "== installing qwen-vl-utils $QVU_OLD into .versions/"
    .venv/bin/python -m pip install -q --no-deps --target ".versions/qwen-vl-utils-$QVU_OLD" "qwen-vl-utils==$QVU_OLD"
  fi
done
# 0.0.10 reads video files with decord (qwen-vl-utils[decord]); the test runs it in a worker with
# this folder on PYTHONPATH, never in one process with torchcodec.
if [ ! -f ".versions/decord-0.6.0/decord/__init__.py" ]; then
  echo "== installing decord 0.6.0 into .versions/"
  .venv/bin/python -m pip install -q --no-deps --target ".versions/decord-0.6.0" "decord==0.6.0"
fi

# transformers releases beside .venv's (tests/differential/test_vision_transformers_versions.py
# runs a worker with one first on PYTHONPATH): each with the huggingface-hub and tokenizers it pins.
install_transformers() {
  local target=".versions/transformers-$1"
  if [ ! -f "$target/transformers/__init__.py" ]; then
    echo "== installing transformers $1 into .versions/"
    .venv/bin/python -m pip install -q --no-deps --target "$target" "transformers==$1" "$2" "$3" httpx httpcore
  fi
}
install_transformers 4.55.4 "huggingface-hub>=0.34,<1.0" "tokenizers>=0.21,<0.22"
install_transformers 4.56.2 "huggingface-hub>=0.34,<1.0" "tokenizers>=0.22,<=0.23.0"
install_transformers 4.57.6 "huggingface-hub>=0.34,<1.0" "tokenizers>=0.22,<=0.23.0"
install_transformers 5.1.0 "huggingface-hub>=1.3,<2" "tokenizers>=0.22,<=0.23.0"
install_transformers 5.6.0 "huggingface-hub>=1.5,<2" "tokenizers>=0.22,<=0.23.0"
install_transformers 5.17.0 "huggingface-hub>=1.5,<2" "tokenizers>=0.23.1,<0.24"

# The fine-tuning frameworks (tests/differential/test_llamafactory.py and test_ms_swift.py run their
# own dataset code in a worker): each release --no-deps with the peft it pins, beside the packages
# both import (.versions/frameworks-deps: datasets, accelerate, omegaconf, torchaudio, trl;
# torchaudio 2.11.1 imports beside .venv's torch, its audio code never runs) and a transformers
# each allows: LLaMA-Factory 0.9.5 5.6.0 (above), 0.9.4 4.57.1, ms-swift 4.6.0 5.17.0 and 3.12.6
# 4.57.6 (above).
install_transformers 4.57.1 "huggingface-hub>=0.34,<1.0" "tokenizers>=0.22,<=0.23.0"
if [ ! -f ".versions/frameworks-deps/datasets/__init__.py" ]; then
  echo "== installing the frameworks' data dependencies into .versions/"
  .venv/bin/python -m pip install -q --no-deps --target ".versions/frameworks-deps" \
    "datasets==4.0.0" "pyarrow==26.0.1" "dill==0.3.8" "multiprocess==0.70.16" "xxhash==4.1.0" \
    "pandas==3.1.1" "python-dateutil==4.0.0" "six==1.17.0" "pytz==2026.6" "tzdata==2026.6" \
    "accelerate==1.11.0" "omegaconf==2.4.0" "antlr4-python3-runtime==4.9.3" "torchaudio==2.11.1" "trl==0.24.0"
fi
install_framework() {  # folder, then what pip installs into it
  local target=".versions/$1"; shift
  if [ ! -f "$target/.installed" ]; then
    echo "== installing $1 into $target"
    .venv/bin/python -m pip install -q --no-deps --target "$target" "$@"
    touch "$target/.installed"
  fi
}
install_framework llamafactory-0.9.5 "llamafactory==0.9.5" "peft==0.18.1"
install_framework llamafactory-0.9.4 "llamafactory==0.9.4" "peft==0.17.1"
# ms-swift 4.6.0 and 3.12.6 (the last 3.x; beside transformers 4.57.6, above) with what they import
# that LLaMA-Factory does not, and the datasets each pins (first on their path: 4.8.4, 3.6.0).
SWIFT_DEPS=("modelscope==1.40.2" "modelscope-hub==0.5.1" "addict==2.4.0" "attrdict==2.0.1" "binpacking==2.0.1"
  "dacite==1.9.2" "json-repair==0.64.6" "simplejson==4.3.0" "sortedcontainers==2.4.0" "zstandard==0.25.0"
  "cryptography==51.0.1" "cffi==2.1.1" "pycparser==3.12" "aiohttp==3.14.5" "aiohappyeyeballs==2.7.1"
  "aiosignal==1.4.0" "frozenlist==1.8.0" "multidict==7.2.1" "propcache==0.5.4" "yarl==1.25.1")
install_framework ms-swift-4.6.0 "ms-swift==4.6.0" "peft==0.20.0" "datasets==4.8.4" "${SWIFT_DEPS[@]}"
install_framework ms-swift-3.12.6 "ms-swift==3.12.6" "peft==0.17.1" "datasets==3.6.0" "${SWIFT_DEPS[@]}"

VLLM_VERSION=0.33.0
if ! .venv-vllm/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('vllm') != '$VLLM_VERSION')" 2>/dev/null; then
  echo "== installing vLLM $VLLM_VERSION into .venv-vllm (~4 min, ~9.5 GB)"
  "$PY" -m venv .venv-vllm
  .venv-vllm/bin/python -m pip install -q --upgrade pip
  .venv-vllm/bin/python -m pip install -q "vllm==$VLLM_VERSION"
fi

# Other vLLM releases beside it (tests/differential/_vllm.py RELEASES): --no-deps, first on PYTHONPATH,
# sharing .venv-vllm's torch 2.14.0 (0.30 to 0.32 pin 2.13.0: the render path runs no compiled
# kernel) and its transformers 5.20.2, or .versions/transformers-5.17.0 for 0.31 / 0.32, whose pins stop
# below 5.18 / 5.20, and for 0.30 (pinned >=5.10.4 only; it also runs beside 5.20.2, where its video
# loader lookup fails).  0.34's own pins cannot be installed here (flashinfer-python==0.7.3 is not on the
# registry); the render path never imports it.
for VLLM_OTHER in 0.30.0 0.31.0 0.32.0 0.34.0; do
  if [ ! -f ".versions/vllm-$VLLM_OTHER/vllm/__init__.py" ]; then
    echo "== installing vLLM $VLLM_OTHER into .versions/ (--no-deps, ~0.5 GB)"
    .venv-vllm/bin/python -m pip install -q --no-deps --target ".versions/vllm-$VLLM_OTHER" "vllm==$VLLM_OTHER"
  fi
done
# 0.23 (before 0.24's Qwen video loaders) and 0.25.1 (after them, before 0.26): both pin torch 2.11.0,
# their render path runs on 2.14.0 too; 0.23 runs with .venv-vllm's transformers 5.20.2 (it allows
# >=4.56 without 5.0-5.5), 0.25.1 with 5.17.0; with the modules they import that 0.33 no longer needs.
for VLLM_OLD in 0.23.0 0.25.1; do
  if [ ! -f ".versions/vllm-$VLLM_OLD/vllm/__init__.py" ]; then
    echo "== installing vLLM $VLLM_OLD into .versions/ (--no-deps, ~0.5 GB)"
    .venv-vllm/bin/python -m pip install -q --no-deps --target ".versions/vllm-$VLLM_OLD" "vllm==$VLLM_OLD" \
      "diskcache==5.6.3" "gguf==0.19.0" "openai-harmony==0.0.8"
  fi
done

export QWENLINT_REQUIRE_DIFF="${QWENLINT_REQUIRE_DIFF:-1}"
# pre-commit is in the dev extra: the README's hook is run as written, never skipped in CI
export QWENLINT_REQUIRE_PRECOMMIT="${QWENLINT_REQUIRE_PRECOMMIT:-1}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
echo "== pytest"
# --dist worksteal: each worker starts on a contiguous half of the tests (module fixtures such as a
# framework worker per release are set up once per worker) and an idle worker takes half of what
# the other has left (the tests' lengths differ by 1000x).  No test needs another's worker: each
# vLLM test starts and stops its own render server.  (xdist_group cannot be used: with pytest 9.2
# and pytest-xdist 3.8.0 the group never reaches the scheduler, whose node ids pytest now builds
# from ``_id`` where xdist appends "@group" to ``_nodeid``.)
exec .venv/bin/python -m pytest -q -n "${QWENLINT_TEST_JOBS:-2}" --dist worksteal "$@"
