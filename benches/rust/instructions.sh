#!/usr/bin/env bash
# Instructions per run of the Rust API's workloads, counted by valgrind's callgrind: the same
# figure on a busy machine as on an idle one, so a change to the hot path shows its cost where
# wall-clock time cannot.
#
#   bash benches/rust/instructions.sh                    # W1, W1/op_ref, W2, W2/op_ref, W3, W3/op_ref
#   bash benches/rust/instructions.sh W1 W3/op_ref       # some of them
#   BIN=path/to/api-binary bash benches/rust/instructions.sh     # another build (e.g. an older commit's)
#
# For each workload, the `api` bench binary (benches/rust/api.rs) runs N and 2N runs
# (OPERONX_BENCH_PROFILE, after 3 untimed runs) under callgrind; the difference over N is one
# run's instructions, set-up and warm-up cancelled out. Prints one line per workload:
#
#   instructions W1 per_run=… per_op=… runs=N
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
jobs="${JOBS:-2}"
if [ -z "${BIN:-}" ]; then
    BIN="$(cd "$root" && cargo bench --locked -j "$jobs" -p operonx --bench api --no-run --message-format=json 2>/dev/null |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)"
fi
[ -x "$BIN" ] || { echo "no bench binary (BIN=$BIN)" >&2; exit 1; }

# ops per run of each workload, and N
declare -A ops=([W1]=1000 [W2]=1002 [W3]=5)
declare -A runs=([W1]=40 [W2]=40 [W3]=4000)

count() { # figure runs -> instructions of the whole process
    local out
    out="$(mktemp)"
    OPERONX_BENCH_PROFILE="$1:$2" valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" >/dev/null 2>&1
    sed -n 's/^summary: *//p;s/^totals: *//p' "$out" | head -1
    rm -f "$out"
}

figures=("$@")
[ ${#figures[@]} -gt 0 ] || figures=(W1 W1/op_ref W2 W2/op_ref W3 W3/op_ref)
for figure in "${figures[@]}"; do
    id="${figure%%/*}"
    n="${runs[$id]}"
    one="$(count "$figure" "$n")"
    two="$(count "$figure" $((2 * n)))"
    awk -v f="$figure" -v a="$one" -v b="$two" -v n="$n" -v ops="${ops[$id]}" \
        'BEGIN { r = (b - a) / n; printf "instructions %s per_run=%.0f per_op=%.1f runs=%d\n", f, r, r / ops, n }'
done
