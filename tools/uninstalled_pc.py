#!/usr/bin/env python3
"""Rewrites meson's <build>/meson-uninstalled/<name>-uninstalled.pc in place.

meson (1.0) writes that file from the library target, and gets two things
wrong for us: libdir is ${prefix}/<libdir option>, a directory the build tree
does not have (meson gives it a placeholder value on purpose and refuses to
let a project set it), and Cflags list every include directory the library
is compiled with, so a program built against it could include the internal
kernels/ and dispatch/ headers.  This script, run by meson.build right after
pkg.generate(), points libdir at the directory that holds the library,
includedir at the public include/, and leaves the rest (Requires.private,
Libs.private) as meson wrote it.

  uninstalled_pc.py <pc file> <library directory> <public include directory>
"""
import re
import sys


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    path, libdir, includedir = sys.argv[1:]
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    out, seen = [], set()
    for line in lines:
        m = re.match(r'([A-Za-z_][\w.]*)\s*([=:])', line)
        name = m.group(1) if m else None
        if name == 'libdir' and m.group(2) == '=':
            line = 'libdir=' + libdir
        elif name == 'includedir' and m.group(2) == '=':
            line = 'includedir=' + includedir
        elif name == 'Cflags' and m.group(2) == ':':
            line = 'Cflags: -I${includedir}'
        elif name == 'Libs' and m.group(2) == ':':
            # meson's -L${prefix} (the build root) is the same directory; say it
            # through libdir, as the installed file does.
            rest = [a for a in line.split(':', 1)[1].split() if not a.startswith('-L')]
            line = 'Libs: -L${libdir} ' + ' '.join(rest)
        else:
            name = None
        if name:
            seen.add(name)
        out.append(line)
    missing = {'libdir', 'includedir', 'Cflags', 'Libs'} - seen
    if missing:
        # meson's layout changed: fail the configure rather than ship a wrong file.
        print(f'{path}: no {", ".join(sorted(missing))} line to rewrite', file=sys.stderr)
        return 1
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(out) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
