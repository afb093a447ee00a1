#!/usr/bin/env bash
# Measure verification-step latencies on one GPU with `specroof measure`, in under 8 minutes
# on an H200. Run from the repository root, in an environment where specroof and a CUDA build
# of torch are installed (pip install -e '.[measure]'):
#
#     OUT=/some/folder bash tools/gpu_measure_plan.sh
#
# Writes into $OUT (default: out/gpu-measure):
#   <hw>-llama-7b-s1024.jsonl   llama-7b, batch 1,4,16,64 x candidates 1,16,64,112, seq_len 1024
#                               (CUDA graph, plus eager_latency_ms)
#   <hw>-llama-7b-context.jsonl llama-7b, batch 1,16 x candidates 1,16,64,112 x seq_len 128,4096,8192
#   <hw>-llama-13b.jsonl        llama-13b, batch 1,16,64 x candidates 1,16,64, seq_len 1024
#   <hw>-llama-3-8b.jsonl       llama-3-8b (GQA), same grid
# and one .log per run (progress, skipped points, errors).
#
# Every run has a time cap (together 450 s), and `specroof measure` rewrites its file after
# each point, so a run cut short keeps the points it finished. A failing run does not stop
# the others; the script exits non-zero if any run failed.
# Expected on an H200: ~1.5 min + ~1.5 min + ~1 min + ~1 min, torch start-up included.

set -u

OUT="${OUT:-out/gpu-measure}"
SPECROOF="${SPECROOF:-specroof}"
HW="${HW:-h200}"            # only names the files; the rows' hardware field comes from the GPU
REPEATS="${REPEATS:-10}"
WARMUP="${WARMUP:-3}"
mkdir -p "$OUT"

failed=0
run() {  # run <cap seconds> <name> <specroof measure options...>
    local cap="$1" name="$2"
    shift 2
    local start=$SECONDS
    echo "== $name (cap ${cap}s)" >&2
    timeout --signal=INT --kill-after=15 "$cap" \
        $SPECROOF measure --device cuda --dtype fp16 --repeats "$REPEATS" --warmup "$WARMUP" \
        "$@" -o "$OUT/$HW-$name.jsonl" 2> >(tee "$OUT/$HW-$name.log" >&2)
    local rc=$?
    echo "== $name: exit $rc after $((SECONDS - start))s" >&2
    [ "$rc" -eq 0 ] || failed=1
}

run 150 llama-7b-s1024   --model llama-7b --batch 1,4,16,64 --candidates 1,16,64,112 --seq-len 1024 --eager-too
run 120 llama-7b-context --model llama-7b --batch 1,16 --candidates 1,16,64,112 --seq-len 128,4096,8192
run 90  llama-13b        --model llama-13b --batch 1,16,64 --candidates 1,16,64 --seq-len 1024
run 90  llama-3-8b       --model llama-3-8b --batch 1,16,64 --candidates 1,16,64 --seq-len 1024

wait
echo "rows written:" >&2
for f in "$OUT"/*.jsonl; do
    [ -e "$f" ] && echo "  $(grep -c . "$f") $f" >&2
done
exit "$failed"
