#!/usr/bin/env bash
# The GPU checks of the venue kernel, run from the repository root on a CUDA machine with JAX
# (`pip install -e '.[cuda,test]'`): a small benchmark (fails fast), the headline for EVERY
# policy (10M paths x 1,024 steps x 100,000 accounts, target at most 5 s a policy on an H200),
# every float64 parity case against the reference (18: nine policies x two venues), then the
# float32 GPU tests. Logs and JSON go to $OUT (default gpu-out/). Every stage has a time limit
# inside the whole budget (BUDGET seconds, default 570), so a slow stage cannot eat the next
# one's time. Programs compiled by one stage are reused by the next (persistent cache).
# STAGES picks stages (default: smoke headline parity64 tests32). On an H200 the smoke and
# 10M stages of three policies took about 100 s; the GPU tests compile about 60 programs, so
# with a 15-minute device budget run the script twice, e.g.
#     STAGES="smoke headline" scripts/gpu_check.sh   then   STAGES="parity64 tests32" ...
set -u
out=${OUT:-gpu-out}
mkdir -p "$out"
budget=${BUDGET:-570}
t0=$SECONDS
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export JAX_COMPILATION_CACHE_DIR="${JAX_COMPILATION_CACHE_DIR:-$PWD/.jax-cache}"
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=-1

left() { echo $((budget - (SECONDS - t0))); }
stages=" ${STAGES:-smoke headline parity64 tests32} "
stage() {  # stage NAME LIMIT COMMAND...: run with min(LIMIT, time left - 5) seconds
    local name=$1 limit=$2; shift 2
    [[ $stages == *" $name "* ]] || return 0
    local l; l=$(left); l=$((l - 5 < limit ? l - 5 : limit))
    if ((l < 20)); then echo "== $name: skipped, ${l} s left"; return 1; fi
    echo "== $name (limit ${l} s, $(($SECONDS - t0)) s in)"
    timeout "$l" "$@" 2>&1 | tee "$out/$name.log"
    local rc=${PIPESTATUS[0]}
    echo "== $name: rc $rc after $(($SECONDS - t0)) s"
    return "$rc"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import jax, sys; print(sys.version.split()[0], 'jax', jax.__version__, jax.devices())" \
    | tee -a "$out/gpu.txt"
bench=(python3 -m tailrisk bench --what venue --repeats 1 --no-curve)
stage smoke 150 "${bench[@]}" --paths 65536 --steps 256 --accounts 10000 --chunk 65536 \
    --policy none --policy queue_bitmex --json "$out/bench_65k.json" || exit 1
stage bench_1m 150 "${bench[@]}" --paths 1000000 --steps 1024 --accounts 100000 \
    --chunk 1000000 --policy none --policy queue_bitmex --policy pro_rata \
    --json "$out/bench_1m.json"
# the headline, every policy (one untimed chunk compiles each, then one timed run)
stage headline 330 "${bench[@]}" --paths 10000000 --steps 1024 --accounts 100000 \
    --chunk 1000000 --warmup chunk --json "$out/headline_10m.json"
# every float64 case of the reference parity on the GPU (nine policies x two venues)
stage parity64 400 python3 -m pytest -v -p no:cacheprovider -W default tests/test_gpu.py \
    -k test_gpu_kernel_matches_reference --junitxml "$out/parity64.xml"
stage tests32 200 python3 -m pytest -v -p no:cacheprovider -W default tests/test_gpu.py \
    -k "not test_gpu_kernel_matches_reference" --junitxml "$out/tests32.xml"
# several GPUs on the node: the same chunk split over all of them (tailrisk.scale); the
# numbers must equal one GPU's
if [[ $stages == *" multigpu "* ]] && (( $(nvidia-smi -L | wc -l) > 1 )); then
    stage multigpu 200 python3 -m tailrisk run experiments/quickstart.toml --out "$out/multi" \
        --no-report -q
fi
echo "done after $(($SECONDS - t0)) s"
