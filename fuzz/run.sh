#!/usr/bin/env bash
# Runs every fuzz target (or those named) for a given time each, JOBS at a time (default 2).
#
#   fuzz/run.sh [SECONDS] [TARGET...]      e.g. fuzz/run.sh 600
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Corpora grow in
# fuzz/corpus/<target>, seeded from tests/data; crashes land in fuzz/artifacts/<target>, and each
# one belongs in tests as a regression test. Exits non-zero if any target found one.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(framing record repair marc8 marcspec)
fi
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    case $target in
        framing|record|repair) cp -n tests/data/*.mrc tests/data/broken/* tests/data/forms/* "fuzz/corpus/$target/" 2>/dev/null || true ;;
        marc8) for f in tests/data/marc8/*; do head -c 4096 "$f" > "fuzz/corpus/$target/$(basename "$f")"; done ;;
        marcspec) printf '245$a' > "fuzz/corpus/$target/seed1"; printf '6..[0]$a{$2=\\lcsh}' > "fuzz/corpus/$target/seed2" ;;
    esac
done
# No sanitizer: the code under test is safe Rust, whose bounds are checked; a panic is the crash.
# Debug assertions on (-a): overflow checks, and the checks the code makes only in debug builds
# (every string view validated as the safe constructor would).
cargo +nightly fuzz build --release -a --sanitizer none 2>&1 | tail -3
status=0
run() {
    local target=$1
    cargo +nightly fuzz run --release -a --sanitizer none "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=262144 \
        > "fuzz/$target.log" 2>&1 || { echo "$target: FAILED (fuzz/$target.log)"; return 1; }
    echo "$target: $(grep -E '^#[0-9]+.*(DONE|pulse)' "fuzz/$target.log" | tail -1)"
}
pids=()
for target in "${targets[@]}"; do
    run "$target" &
    pids+=($!)
    if [ ${#pids[@]} -ge "${JOBS:-2}" ]; then
        wait "${pids[0]}" || status=1
        pids=("${pids[@]:1}")
    fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
