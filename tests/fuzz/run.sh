#!/usr/bin/env bash
# Runs one libFuzzer target of tests/fuzz under ASan + UBSan.
#   run.sh FUZZER SEEDS FINDINGS   fuzz for $FUZZ_SECONDS (default 60) seconds,
#                                  starting from the seed corpus SEEDS (left as it
#                                  is: new inputs go to a scratch directory); a
#                                  crash, leak or timeout saves its reproducer in
#                                  FINDINGS/ and fails
#   run.sh --seeds FUZZER SEEDS    runs every seed once and fails if one crashes
# Prints the executions, and the reproducer's path and how to rerun it.
set -u
seeds_only=0
if [ "${1:-}" = --seeds ]; then seeds_only=1; shift; fi
fuzzer=$1 seeds=$2
name=$(basename "$fuzzer")
# Leaks count (libFuzzer reports them as crashes); UBSan never recovers (the
# build says -fno-sanitize-recover, this says it again for other builds).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
sym=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)
[ -n "$sym" ] && export ASAN_SYMBOLIZER_PATH=$sym

if [ $seeds_only = 1 ]; then
  shopt -s nullglob
  files=("$seeds"/*)
  [ ${#files[@]} -gt 0 ] || { echo "FAIL: no seeds in $seeds"; exit 1; }
  "$fuzzer" "${files[@]}" 2>&1 | tail -n 40
  rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] && echo "$name: ${#files[@]} seeds ran" || echo "FAIL: $name crashed on a seed (exit $rc)"
  exit "$rc"
fi

findings=$3
secs=${FUZZ_SECONDS:-60}
mkdir -p "$findings"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
# -timeout: an input that runs this long is a finding too (a hang);
# -rss_limit_mb also caps one allocation (malloc_limit_mb defaults to it).
"$fuzzer" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2560 -print_final_stats=1 \
  -artifact_prefix="$findings/$name-" "$work/corpus" "$seeds" >"$work/log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
[ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$work/log" | tail -n 1 | tr -d '#')
cov=$(grep -oE 'cov: [0-9]+' "$work/log" | tail -n 1)
echo "$name: ${execs:-?} executions in ${secs} s (${cov:-cov: ?}), corpus $(ls "$work/corpus" | wc -l) new inputs"
if [ "$rc" != 0 ]; then
  # The report: from the sanitizer's or the target's first line to the end.
  sed -n '/==ERROR\|FUZZ FAILURE\|runtime error\|ERROR: libFuzzer/,$p' "$work/log" | head -n 80
  artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$work/log" | tail -n 1)
  echo "FAIL: $name exit $rc; reproducer: ${artifact:-none written}"
  [ -n "$artifact" ] && echo "  rerun: $fuzzer $artifact"
  exit 1
fi
exit 0
