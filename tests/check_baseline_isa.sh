#!/usr/bin/env bash
# Baseline code (dispatch, drivers) must not contain one AVX instruction, and
# each tier's objects must stay within that tier: otherwise a CPU without the
# tier dies with SIGILL before the dispatcher can choose.
#   check_baseline_isa.sh <build dir>
set -u
b=$1
fail=0
# Mnemonics of VEX/EVEX-encoded instructions start with 'v' (vmovups, vfmadd...);
# zmm/k registers are AVX-512 only.
count() { objdump -d --no-show-raw-insn "$@" 2>/dev/null | awk -F'\t' 'NF >= 2 {print $2}' | grep -cE "$pattern"; }
objs() { find "$b" -path "*$1*" -name '*.o' | sort; }

base=$(find "$b" -path '*libvconv.so*.p/*' -name '*.o' | sort)
[ -n "$base" ] || { echo "FAIL: no baseline objects under $b"; exit 1; }
pattern='^v[a-z]'; n=$(count $base)
echo "baseline objects: $(echo $base | wc -w), VEX/EVEX instructions: $n"; [ "$n" -eq 0 ] || fail=1

check_tier() { # tier, pattern that must be absent, pattern that must be present (positive control)
  local o; o=$(objs "libvconv_$1.a.p")
  [ -n "$o" ] || { echo "tier $1 not built: skipped"; return; }
  pattern=$2; local bad; bad=$(count $o)
  pattern=$3; local good; good=$(count $o)
  echo "tier $1: forbidden ($2) $bad, expected ($3) $good"
  [ "$bad" -eq 0 ] && [ "$good" -gt 0 ] || fail=1
}
check_tier scalar '^v[a-z]|^(add|sub|mul|div|max|min)ps' '^(mulss|addss)'
check_tier sse41 '^v[a-z]' '^(mulps|addps)'
# vmaskmovps/vpmaskmovd loads fault under qemu 7.2 on masked lanes: the AVX2 tier must not use them.
check_tier avx2 '%zmm|%k[0-7]|^v(p)?maskmov[a-z]*[[:space:]]+[^%]*\(' '^vfmadd'
check_tier avx512 'zzzz' '%zmm'
[ $fail -eq 0 ] && echo OK || echo FAIL
exit $fail
