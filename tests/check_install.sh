#!/usr/bin/env bash
# What a framework does: install, then build a program against vconv.pc (shared
# and static), and use vconv as a meson subproject.
#   check_install.sh <source dir> <build dir>
set -eu
src=$(cd "$1" && pwd) b=$(cd "$2" && pwd)
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
meson install -C "$b" --destdir "$t/root" --no-rebuild >/dev/null
pc=$(find "$t/root" -name vconv.pc | head -1)
[ -n "$pc" ] || { echo "FAIL: vconv.pc not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
prefix=$(pkg-config --variable=prefix vconv)
pcx() { pkg-config --define-variable=prefix="$t/root$prefix" "$@"; }
cat > "$t/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <vconv.h>
int main(void) {
  if (strcmp(vconv_version(), VCONV_VERSION_STRING) != 0) return 1;
  vconv_conv2d_desc d;
  vconv_conv2d_desc_init(&d);
  d.batch = d.in_channels = d.out_channels = 1;
  d.in_height = d.in_width = 3;
  d.kernel_h = d.kernel_w = 3;
  const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  float y = 0;
  vconv_conv2d_op *op;
  if (vconv_conv2d_create(&d, VCONV_ALGO_AUTO, w, NULL, &op) || vconv_conv2d_run(op, x, &y, NULL, 0, NULL))
    return 2;
  printf("vconv %s: %s -> %g\n", vconv_version(), vconv_conv2d_kernel_name(op), y);
  vconv_conv2d_destroy(op);
  return y == 45.0f ? 0 : 3;
}
C
flags=$(pcx --cflags --libs vconv)
libdir=$(pcx --variable=libdir vconv)
cc -std=c11 -Wall -Wextra -Werror "$t/use.c" $flags -o "$t/use_shared"
LD_LIBRARY_PATH=$libdir "$t/use_shared"
# Static: the archive itself, with the optional dependencies linked dynamically:
# the packages of Requires.private and the libraries of Libs.private (pthreadpool).
deps=$(pkg-config --print-requires-private vconv | awk '{print $1}' | tr '\n' ' ')
private=$(sed -n 's/^Libs.private: //p' "$libdir/pkgconfig/vconv.pc")
cc -std=c11 "$t/use.c" $(pcx --cflags vconv) "$libdir/libvconv.a" \
  ${deps:+$(pkg-config --libs $deps)} $private -lpthread -lm -o "$t/use_static"
"$t/use_static"
if ldd "$t/use_static" | grep -q libvconv; then echo "FAIL: static build links libvconv.so"; exit 1; fi
# Subproject: declare_dependency / override_dependency.
mkdir -p "$t/sub/subprojects"
ln -s "$src" "$t/sub/subprojects/vconv"
cat > "$t/sub/meson.build" <<'M'
project('user', 'c', default_options: ['c_std=c11'])
vconv = dependency('vconv', fallback: ['vconv', 'vconv_dep'], default_options: ['tests=false', 'benchmarks=disabled', 'default_library=static'])
executable('use', 'use.c', dependencies: vconv)
M
cp "$t/use.c" "$t/sub/"
PKG_CONFIG_PATH= meson setup "$t/sub/b" "$t/sub" --wrap-mode=forcefallback >"$t/sub.log" 2>&1 &&
  ninja -C "$t/sub/b" >>"$t/sub.log" 2>&1 || { cat "$t/sub.log"; echo "FAIL: subproject build"; exit 1; }
"$t/sub/b/use"
echo OK
