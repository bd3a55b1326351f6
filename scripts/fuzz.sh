#!/usr/bin/env bash
# Coverage-guided fuzzing of everything Rollbook parses from the network (docs/fuzzing.md).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Installs what it needs (a nightly toolchain and cargo-fuzz), then runs each target for
# the given time (default 600 s), starting from the committed seeds in fuzz/seeds/ plus
# the corpus earlier runs grew in fuzz/corpus/ (not committed). A crash leaves its input
# in fuzz/artifacts/<target>/ and stops the script with a failure. The summary line of
# each run (executions, coverage) goes to fuzz/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(callback loopback_request id_token discovery oneroster_json classlink_my_info gateway_request)
fi

# A pinned nightly (libFuzzer's instrumentation needs one), so a run next month builds
# what this one did.
toolchain=nightly-2026-05-20
rustup toolchain list | grep -q "^$toolchain" || rustup toolchain install "$toolchain" --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked

# No sanitizer: the code under test is safe Rust (the crates forbid `unsafe`), so
# AddressSanitizer would find nothing and cost half the executions. Optimised with
# debug assertions, so overflow checks stay on.
# The fuzz workspace has its own lock file. It must be current (the test command must not
# rewrite tracked files); after a dependency change, refresh it and commit it:
#   cargo metadata --manifest-path fuzz/Cargo.toml --format-version 1 >/dev/null
if ! cargo metadata --locked --manifest-path fuzz/Cargo.toml --format-version 1 >/dev/null 2>&1; then
  echo "fuzz/Cargo.lock is out of date with the workspace's dependencies; refresh it with" >&2
  echo "  cargo metadata --manifest-path fuzz/Cargo.toml --format-version 1 >/dev/null" >&2
  echo "and commit it" >&2
  exit 1
fi
build=(cargo "+$toolchain" fuzz build --sanitizer none --release --debug-assertions)
"${build[@]}"

mkdir -p fuzz/logs
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  echo "== fuzz $target for ${seconds} s"
  cargo "+$toolchain" fuzz run --sanitizer none --release --debug-assertions "$target" \
    "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    2>"fuzz/logs/$target.log" || { tail -40 "fuzz/logs/$target.log"; exit 1; }
  grep -E '^#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb' "fuzz/logs/$target.log" | tail -4
done
