#!/usr/bin/env bash
# The published operonx 0.7.1 Rust crate (benches/peers/rust) beside our Rust engine, on the
# same graph documents (benches/rust/docs/*.json) with the same trivial Rust ops.
#
#   bash benches/rust/compare.sh                 # release build of the peer, then every workload
#   bash benches/rust/compare.sh --quick         # any peer-bench flag: --only W1,W3,B  --reps N ...
#
# JOBS (default 2) is cargo's -j; the peer builds into PEER_TARGET_DIR (default
# benches/peers/rust/target), ours into CARGO_TARGET_DIR (default target/). Prints the peer's
# lines ("peer W1 median_ns=... per_op_ns=..."), then ours ("ours W1 ..."), then both side by
# side with the ratio peer / ours per workload, or says that ours is missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
peer_dir="$root/benches/peers/rust"
docs_dir="$root/benches/rust/docs"
target="${PEER_TARGET_DIR:-$peer_dir/target}"
jobs="${JOBS:-2}"

build_peer() {
    echo "building the peer (release, -j $jobs) into $target" >&2
    CARGO_TARGET_DIR="$target" cargo build --release --locked -j "$jobs" \
        --manifest-path "$peer_dir/Cargo.toml" >&2
}

# The committed documents must be what the peer's generator writes today (the folder also
# holds their README, which is not generated).
check_docs() {
    local fresh file stale=0
    fresh="$(mktemp -d)"
    "$target/release/peer-bench" --dump-docs "$fresh" >/dev/null
    for file in "$fresh"/*.json; do
        if ! cmp -s "$file" "$docs_dir/$(basename "$file")"; then
            echo "benches/rust/docs/$(basename "$file") differs from the generator's output" >&2
            stale=1
        fi
    done
    if [ "$stale" = 1 ]; then
        echo "warning: refresh the documents with: $target/release/peer-bench --dump-docs $docs_dir" >&2
    fi
    rm -rf "$fresh"
}

peer_figures() {
    "$target/release/peer-bench" --docs "$docs_dir" "$@"
}

# ---------------------------------------------------------------------------------------------
# OUR SIDE: ours_figures prints our bench's figures, one line per workload, in the peer's
# format with "ours" in front:
#
#   ours W1 median_ns=<one run, ns> per_op_ns=... form=op
#   ours W1/op_ref median_ns=... form=op_ref
#
# for W1, W2, W3 (one run), B (one build of W1.json) and W5 (one whole stream of stream.json's
# 100 000 items), each run from the files in benches/rust/docs: `cargo bench -p operonx --bench
# api` (benches/rust/api.rs), with the ops registered as the peer registers them (`.op`, ids
# W1...) and through our borrowed-input fast path (`.op_ref`, ids W1/op_ref...). The peer's
# flags are translated: --quick runs criterion's short settings (OPERONX_BENCH_QUICK), --only
# W1,W3 becomes a criterion filter; --reps and --budget only concern the peer. OURS_CMD, when
# set, is run instead (a command printing such lines). Returns 1 when there is nothing to run.
# ---------------------------------------------------------------------------------------------
ours_figures() {
    if [ -n "${OURS_CMD:-}" ]; then
        bash -c "$OURS_CMD" | grep '^ours '
        return
    fi
    if ! awk '/^\[\[bench\]\]/ { b = 1; next } /^\[/ { b = 0 } b && /^name *= *"api"/ { found = 1 }
              END { exit !found }' "$root/rust/core/Cargo.toml"; then
        return 1
    fi
    local quick="" filter=() arg
    while [ $# -gt 0 ]; do
        arg="$1"
        shift
        case "$arg" in
            --quick) quick=1 ;;
            --only) filter=("^(${1//,/|})/"); shift ;;
            --reps | --budget | --docs | --stream-bound | --stream-items) shift ;;
        esac
    done
    echo "running our bench (cargo bench -p operonx --bench api${quick:+, quick})" >&2
    (cd "$root" && OPERONX_BENCH_QUICK="$quick" cargo bench --locked -j "$jobs" -p operonx --bench api -- "${filter[@]}") |
        grep '^ours '
}

# Both sides per workload: the medians, per op (per item for W5), and peer / ours (how many
# times faster ours is), for the ops registered with `.op` (as the peer does) and with `.op_ref`.
side_by_side() {
    awk '
        {
            id = $2; v = ""; per = ""
            for (i = 3; i <= NF; i++) {
                split($i, kv, "=")
                if (kv[1] == "median_ns") v = kv[2]
                if (kv[1] == "per_op_ns" || kv[1] == "per_item_ns") per = kv[2]
            }
        }
        $1 == "peer" && v != "" { peer[id] = v; peer_per[id] = per; order[++n] = id }
        $1 == "ours" && v != "" { ours[id] = v; ours_per[id] = per }
        function cell(id) {
            if (!(id in ours)) return sprintf("%14s %9s %10s", "-", "-", "-")
            return sprintf("%14s %9s %9.1fx", ours[id], ours_per[id], peer[base] / ours[id])
        }
        END {
            printf "%-4s %14s %9s | %-35s | %-35s\n", "", "peer", "", "ours, .op (as the peer)", "ours, .op_ref"
            printf "%-4s %14s %9s | %14s %9s %10s | %14s %9s %10s\n", "id", "median_ns", "per_op", "median_ns", "per_op", "peer/ours", "median_ns", "per_op", "peer/ours"
            for (k = 1; k <= n; k++) {
                base = order[k]
                printf "%-4s %14s %9s | %s | %s\n", base, peer[base], peer_per[base], cell(base), cell(base "/op_ref")
            }
        }'
}

build_peer
check_docs
peer_lines="$(peer_figures "$@")"
echo "$peer_lines"
if ours_lines="$(ours_figures "$@")" && [ -n "$ours_lines" ]; then
    echo "$ours_lines"
    echo
    printf '%s\n%s\n' "$peer_lines" "$ours_lines" | side_by_side
else
    echo "# ours: missing (no \`cargo bench -p operonx --bench api\` in rust/core yet, and no OURS_CMD);" \
        "only the peer's figures are shown"
fi
