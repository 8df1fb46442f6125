#!/usr/bin/env bash
# Only vconv_* names may leave the shared library, and every global symbol the
# static library defines must carry the prefix (so static users never clash).
#   check_exports.sh libvconv.so libvconv.a
set -u
so=$1 a=$2
bad=$(nm -D --defined-only "$so" | awk 'NF == 3 {print $3}' | grep -v '^vconv_')
n=$(nm -D --defined-only "$so" | awk 'NF == 3 {print $3}' | grep -c '^vconv_')
[ "$n" -gt 10 ] || { echo "FAIL: only $n vconv_ symbols exported from $so: is nm working?"; exit 1; }
[ -z "$bad" ] || { echo "FAIL: $so exports non-vconv symbols:"; echo "$bad"; exit 1; }
internal=$(nm -D --defined-only "$so" | awk 'NF == 3 {print $3}' | grep -E '^vconv_i_|__(scalar|sse41|avx2|avx512|neon)$')
[ -z "$internal" ] || { echo "FAIL: internal symbols exported (hidden visibility lost):"; echo "$internal"; exit 1; }
bad_a=$(nm --defined-only -g "$a" 2>/dev/null | awk 'NF == 3 {print $3}' | grep -v '^vconv_')
[ -z "$bad_a" ] || { echo "FAIL: $a defines un-prefixed globals:"; echo "$bad_a"; exit 1; }
echo "OK: $n exported symbols, all vconv_*; static library globals all prefixed"
