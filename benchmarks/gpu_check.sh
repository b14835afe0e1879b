#!/usr/bin/env bash
# The prepared GPU check (docs/cuda.md): the CUDA tests on the device, then the GPU benchmarks, in under 8 minutes.
#
#   bash benchmarks/gpu_check.sh OUT_DIR          on a machine with a CUDA GPU
#   bash benchmarks/gpu_check.sh --dry OUT_DIR    here: Numba's CUDA simulator, toy sizes (checks the script)
#
# Needs python3 with numpy, numba, numba-cuda, scipy, h5py, pytest and hypothesis; CuPy (the layer benchmark's
# dense products) and torch with snnTorch / SpikingJelly / Norse (the peers) when present. Installs nothing, needs
# no network, runs eventsnn from this checkout (PYTHONPATH). Writes into OUT_DIR: environment.json, cuda_tests.xml,
# train_step_cuda_<n>.json, lm_engine_cuda.json, sparse_vs_dense_cuda.json, plasticity_cuda.json, cuba_cuda.json, a
# .log per step, summary.json (each step's exit code, seconds and limit), and report.md (benchmarks/gpu_report.py:
# the results against issue 17's goals, in Markdown). Exits non-zero if any step failed; later steps run anyway.
#
# Time on one H200, estimated (no GPU has run this script yet; the logs' "exit ... after N s" will say). The steps
# that measure issue 17's speed goals (the layer benchmark, CUBA at 1M neurons) come right after the tests, so a
# budget cut by slow earlier steps falls on the informative ones at the end:
#   environment        ~5 s   imports, nvidia-smi
#   tests             ~130 s  numba-cuda compiles each kernel per signature (~1-3 s each): ~20 for the training and
#                             LM kernels, ~25 for the simulator backend (7 neuron-model kernels under the simulator's
#                             run of test_cuda_simulator.py, its step kernels, the learn step's); the examples run in
#                             ms, CUBA 4000 for 1 s on both backends (the device-only test) in ~2 s
#   train_step_4096    ~45 s  4 processes (eventsnn, snnTorch, SpikingJelly, Norse) start and import torch/CuPy;
#                             then 19 interleaved measurements (ours 10, each peer 3) of a forward and a backward
#                             of T = 500 (~20 ms each for ours; snnTorch's Python loop over T slower)
#   train_step_16384   ~70 s  the same at 16x the products (~0.2 s per forward+backward), 1 GiB weights per process
#   cuba               ~60 s  CUBA (backend="cuda") at 4000, 64000 and 1M neurons for 1 s against the one-core Numba
#                             backend (~18 s at 1M); builds ~1.5 s per 1M network; kernels compile on the warm-up;
#                             a GPU run of 10^4 steps costs the host ~0.1 s (3 launches a step, ~9 us of Python:
#                             scripts/cuda_launch_overhead.py) on top of the device's work
#   plasticity         ~45 s  CUBA 64000 for 0.5 s with STDP on every excitatory synapse, and without, on the GPU (the
#                             learn step's 6 kernels compile on the warm-up, ~10 s); the Izhikevich (2007) network
#                             with R-STDP and without for 5 s each, run in chunks between rewards (a run each)
#   lm_engine          ~25 s  token_steps compiles (~10 s); 6 batches x 4 feeds of 64 tokens; CPU engine at 1, 16, and
#                             the parity check at batch 1024 (16 tokens on one core)
#   sparse_vs_dense    ~50 s  a torch worker starts (~10 s), event_linear and token_steps compile (~15 s); the sweep
#                             (4 batches x 8 activities x 4 of ours + 3 of torch, 41 calls each: ~10 s, the event
#                             product at batch 1024 up to ~10 ms a call) and the model (4 batches, 276 tokens per
#                             engine: ~10 s). Its limit is generous: as the last step it takes what is left anyway
#                      ~430 s in all
# Each step runs under its own limit and under what is left of BUDGET seconds from the start, so the script ends
# within 8 minutes even if the estimates are wrong (a step with under 10 s left is skipped: exit 124).
set -uo pipefail
dry=0
if [[ "${1:-}" == "--dry" ]]; then dry=1; shift; fi
out=${1:?usage: benchmarks/gpu_check.sh [--dry] OUT_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out" && out=$(cd "$out" && pwd)
cd "$root"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
py=${PYTHON:-python3}
tests=${GPU_CHECK_TESTS:-tests/test_cuda_kernels.py tests/test_cuda_engine.py tests/test_cuda_simulator.py}
if (( dry )); then
    export NUMBA_ENABLE_CUDASIM=1
    layer_sizes=(8) ; layer_args=(--steps 10 --layer-rounds 1)
    lm_args=(--batches 1,2 --cpu-batches 1 --tokens 3 --repeats 1 --hidden 6 --memory 4 --readout 4 --vocab 10
             --threads 1)  # the simulator's barriers cost a Python thread switch each; the kernel is tested elsewhere
    sparse_args=(--layer-n 8 --batches 1,2 --repeats 2 --rounds 1 --steps 3 --threads 1
                 --shape hidden=6,memory=4,readout=4,d_embed=4,vocab_size=10)
    cuba_args=(--n 100 --duration 0.002)
    plasticity_args=(--n 100 --duration 0.002 --izh-duration 0)
else
    export NUMBA_ENABLE_CUDASIM=0
    layer_sizes=(4096 16384) ; layer_args=()
    lm_args=() ; sparse_args=() ; cuba_args=(--n 4000 64000 1000000 --duration 1)
    plasticity_args=(--n 64000 --duration 0.5 --izh-duration 5)
fi
declare -A limit=([tests]=180 [train_step_4096]=100 [train_step_16384]=150 [cuba]=120 [plasticity]=70
                  [lm_engine]=90 [sparse_vs_dense]=150 [train_step_8]=60)
end=$((SECONDS + ${BUDGET:-450}))  # + timeout's 10 s grace for a last step that ignores its TERM: under 8 minutes
summary=()

step() {  # step NAME COMMAND...: run under its time limit (or what is left), log to OUT/NAME.log, record the result
    local name=$1; shift
    local start=$SECONDS cap=${limit[$name]} rc=124
    (( cap > end - SECONDS )) && cap=$((end - SECONDS))
    echo "== $name (limit $cap s): $*"
    if (( cap >= 10 )); then
        timeout -k 10 "$cap" "$@" > "$out/$name.log" 2>&1
        rc=$?
    else
        echo "skipped: $cap s of the budget left" > "$out/$name.log"
    fi
    echo "   exit $rc after $((SECONDS - start)) s"
    summary+=("\"$name\": {\"exit\": $rc, \"seconds\": $((SECONDS - start)), \"limit\": $cap}")
}

"$py" - "$out/environment.json" <<'PY'
import importlib.metadata, json, os, platform, subprocess, sys
import numba, numpy
from numba import cuda
env = {"python": sys.version, "numpy": numpy.__version__, "numba": numba.__version__,
       "numba_cuda": importlib.metadata.version("numba-cuda"), "simulator": os.environ["NUMBA_ENABLE_CUDASIM"] == "1",
       "cuda_available": cuda.is_available(), "machine": platform.platform()}
try:
    env["gpus"] = [str(d) for d in cuda.gpus] if not env["simulator"] else []
    env["nvidia_smi"] = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
except Exception as err:  # no GPU, no driver tool: recorded, the steps below say the rest
    env["nvidia_smi"] = repr(err)
json.dump(env, open(sys.argv[1], "w"), indent=2)
print(json.dumps(env, indent=2))
PY
# shellcheck disable=SC2086
step tests "$py" -m pytest -q -p no:cacheprovider $tests --junitxml="$out/cuda_tests.xml"
for n in "${layer_sizes[@]}"; do
    step "train_step_$n" "$py" benchmarks/train_step.py --device cuda --layer-sizes "$n" "${layer_args[@]}" \
        --json "$out/train_step_cuda_$n.json"
done
step cuba "$py" benchmarks/cuba.py --backend cuda "${cuba_args[@]}" --rounds 1 --json "$out/cuba_cuda.json"
step plasticity "$py" benchmarks/plasticity.py --backend cuda --peers "" --rounds 1 "${plasticity_args[@]}" \
    --json "$out/plasticity_cuda.json"
step lm_engine "$py" benchmarks/lm_engine_cuda.py "${lm_args[@]}" --json "$out/lm_engine_cuda.json"
step sparse_vs_dense "$py" benchmarks/sparse_vs_dense.py --device cuda "${sparse_args[@]}" \
    --json "$out/sparse_vs_dense_cuda.json"

(IFS=,; echo "{${summary[*]}}") > "$out/summary.json"
cat "$out/summary.json"
"$py" benchmarks/gpu_report.py "$out" > "$out/report.log" 2>&1 || echo "gpu_report.py failed: $out/report.log"
! grep -q '"exit": [1-9]' "$out/summary.json"
