#!/usr/bin/env bash
# What a framework building against an uninstalled vconv does:
#   PKG_CONFIG_PATH=<build>/meson-uninstalled cc app.c $(pkg-config --cflags --libs vconv-uninstalled)
# from a directory outside the tree.  The file must name the directory that
# really holds the library and expose include/ and nothing else.
#   check_uninstalled_pc.sh <source dir> <directory of vconv-uninstalled.pc>
set -eu
src=$(cd "$1" && pwd -P) pcdir=$(cd "$2" && pwd -P)
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
export PKG_CONFIG_PATH=$pcdir
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
fail() { echo "FAIL: $*"; echo "--- $pcdir/vconv-uninstalled.pc"; cat "$pcdir/vconv-uninstalled.pc"; exit 1; }

pkg-config --exists vconv-uninstalled || fail "pkg-config does not find vconv-uninstalled"
libdir=$(pkg-config --variable=libdir vconv-uninstalled)
[ -d "$libdir" ] || fail "libdir $libdir does not exist"
ls "$libdir"/libvconv.so* >/dev/null 2>&1 || fail "libdir $libdir holds no libvconv.so"
# vconv's own flags (pkg-config adds those of Requires.private, e.g. libcpuid's
# include directory): the public header's directory and nothing else.
req_flags=" "
for r in $(pkg-config --print-requires-private vconv-uninstalled | awk '{print $1}'); do
  req_flags+="$(pkg-config --cflags "$r") "
done
own=0
for f in $(pkg-config --cflags vconv-uninstalled); do
  case "$req_flags" in *" $f "*) continue ;; esac
  case $f in
    -I*) [ "$(cd "${f#-I}" 2>/dev/null && pwd -P)" = "$src/include" ] || fail "Cflags expose $f"
         own=$((own + 1)) ;;
    *) fail "Cflags carry $f" ;;
  esac
done
[ $own = 1 ] || fail "Cflags name $own include directories of vconv's, not one"

mkdir "$t/app" && cd "$t/app"
cat > app.c <<'C'
#include <stdio.h>
#include <string.h>
#include <vconv.h>
int main(void) {
  if (strcmp(vconv_version(), VCONV_VERSION_STRING) != 0) return 1;
  const float x[4] = {1, 5, 3, 2};
  float y = 0;
  vconv_pool2d_desc d;
  vconv_pool2d_desc_init(&d);
  d.batch = d.channels = 1;
  d.in_height = d.in_width = d.window_h = d.window_w = 2;
  vconv_pool2d_op *op;
  if (vconv_pool2d_create(&d, &op) || vconv_pool2d_run(op, x, &y, NULL, 0, NULL)) return 2;
  vconv_pool2d_destroy(op);
  printf("vconv %s (uninstalled): max pool -> %g\n", vconv_version(), y);
  return y == 5.0f ? 0 : 3;
}
C
# The internal headers must stay out of reach of such a program.
# (kernels/ and dispatch/ as the library's own sources name them, and as
# paths from the source root.)
for f in kernels/kernel.h dispatch/dispatch.h; do
  [ -f "$src/$f" ] || fail "test out of date: no internal header $f in the tree"
  for h in "${f#*/}" "$f"; do
    printf '#include "%s"\nint main(void) { return 0; }\n' "$h" > internal.c
    if cc -std=c11 -c internal.c $(pkg-config --cflags vconv-uninstalled) -o internal.o 2>/dev/null; then
      fail "a program outside the tree can include the internal header $h"
    fi
  done
done
cc -std=c11 -Wall -Wextra -Werror app.c $(pkg-config --cflags --libs vconv-uninstalled) -o app \
  || fail "cannot build a program against vconv-uninstalled"
LD_LIBRARY_PATH=$libdir ./app
# The loader must have taken the build tree's library, not an installed one.
LD_LIBRARY_PATH=$libdir ldd ./app | grep -q "$libdir/libvconv.so" || fail "app does not load $libdir/libvconv.so"
echo OK
