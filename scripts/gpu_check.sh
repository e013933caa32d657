#!/usr/bin/env bash
# The GPU checks of the venue kernel, run from the repository root on a CUDA machine with JAX:
# a small benchmark (fails fast), the benchmark at 1M and 10M paths x 1,024 steps x 100,000
# accounts, then the GPU tests. Logs and JSON go to $OUT (default gpu-out/). Every stage has a
# time limit inside the whole budget (BUDGET seconds, default 570), so a slow stage cannot eat
# the next one's time. Programs compiled by one stage are reused by the next (persistent cache).
# STAGES picks stages (default: smoke bench_1m bench_10m tests). On an H200 the three benchmark
# stages took 100 s; the GPU tests compile about 60 programs and need 5 minutes or more.
set -u
out=${OUT:-gpu-out}
mkdir -p "$out"
budget=${BUDGET:-570}
t0=$SECONDS
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export JAX_COMPILATION_CACHE_DIR="${JAX_COMPILATION_CACHE_DIR:-$PWD/.jax-cache}"
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=-1

left() { echo $((budget - (SECONDS - t0))); }
stages=" ${STAGES:-smoke bench_1m bench_10m tests} "
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
stage bench_10m 220 "${bench[@]}" --paths 10000000 --steps 1024 --accounts 100000 \
    --chunk 1000000 --warmup chunk --policy none --policy queue_bitmex --policy pro_rata \
    --json "$out/bench_10m.json"
stage tests 400 python3 -m pytest -v -p no:cacheprovider -W default tests/test_gpu.py
echo "done after $(($SECONDS - t0)) s"
