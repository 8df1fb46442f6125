#!/usr/bin/env python3
"""Generates kernels/winograd/wino_tiles.h: the 1-D Winograd transforms the
tiles are made of, their matrices derived in exact rational arithmetic from
the interpolation points.

    python3 kernels/winograd/gen_transforms.py > kernels/winograd/wino_tiles.h

F(m, r) (1-D: m outputs of an r-tap correlation) needs alpha = m + r - 1
points; alpha - 1 finite points p_0 .. p_{alpha-2} and the point at infinity
(the "modified" Toom-Cook algorithm).  With N_j = prod_{l != j} (p_j - p_l):

    A^T[i][j] = p_j^i                       (m x alpha; column alpha-1: 1 in row m-1)
    G[j][k]   = p_j^k / N_j                 (alpha x r; row alpha-1: 1 in column r-1)
    B^T[j][.] = coefficients, lowest degree first, of prod_{l != j} (x - p_l),
                and row alpha-1 those of prod_l (x - p_l)          (alpha x alpha)

and y = A^T [(G g) . (B^T d)] is the correlation y_i = sum_k g_k d_{i+k}; the
script checks that identity exactly before it writes anything.  A 2-D tile
F(mh x mw, r x r) nests two of them, one per axis:
Y = A_h^T [(G_h g G_w^T) . (B_h^T d B_w)] A_w.  The 1/N_j lives in G, which the
library applies once per operator, in double, to the weights; B^T and A^T are
rounded to float (exact for dyadic points).

Besides the matrices the header carries, for every row of B^T and A^T, the
order in which the kernels add its terms: nonzero coefficients by ascending
magnitude (summing the small terms first lowered the error by about 5% in an
emulation over random data; zeros are skipped).

The points: tests/test_winograd_accuracy.c measures, in one run, the error of
every tile with these points and with the textbook ones (listed below too),
and the README carries the table.  m = 4 and the 5x5 kernel (m = 2, r = 5)
use the pair family {+-c, +-1/c} of Alam et al. (ACM TECS 2022) with c = 3/2;
m = 5 a set found by a greedy search over small rationals (28% lower mean
error than the textbook set in a 2-D emulation); for m = 2 and m = 6 the
search found nothing better than the textbook points.
"""
from fractions import Fraction as Fr
import sys

# name, m, r, our points, textbook points (finite ones; infinity is implied)
TRANSFORMS = [
    ("m2r3", 2, 3, ["0", "1", "-1"], ["0", "1", "-1"]),
    ("m4r3", 4, 3, ["0", "2/3", "-2/3", "3/2", "-3/2"], ["0", "1", "-1", "2", "-2"]),
    ("m5r3", 5, 3, ["0", "1", "-3/4", "5/2", "-3/2", "2/5"], ["0", "1", "-1", "2", "-2", "1/2"]),
    ("m6r3", 6, 3, ["0", "1", "-1", "2", "-2", "1/2", "-1/2"],
     ["0", "1", "-1", "2", "-2", "1/2", "-1/2"]),
    ("m2r5", 2, 5, ["0", "2/3", "-2/3", "3/2", "-3/2"], ["0", "1", "-1", "2", "-2"]),
]


def polymul_root(p, root):
    """p(x) * (x - root), coefficients lowest degree first."""
    out = [Fr(0)] * (len(p) + 1)
    for i, c in enumerate(p):
        out[i + 1] += c
        out[i] -= root * c
    return out


def matrices(m, r, pts):
    a = m + r - 1
    assert len(pts) == a - 1 and len(set(pts)) == len(pts)
    AT = [[Fr(0)] * a for _ in range(m)]
    G = [[Fr(0)] * r for _ in range(a)]
    BT = [[Fr(0)] * a for _ in range(a)]
    for j, p in enumerate(pts):
        N = Fr(1)
        poly = [Fr(1)]
        for l, q in enumerate(pts):
            if l != j:
                N *= p - q
                poly = polymul_root(poly, q)
        for i in range(m):
            AT[i][j] = p ** i
        for k in range(r):
            G[j][k] = p ** k / N
        for i, c in enumerate(poly):
            BT[j][i] = c
    AT[m - 1][a - 1] = Fr(1)
    G[a - 1][r - 1] = Fr(1)
    poly = [Fr(1)]
    for q in pts:
        poly = polymul_root(poly, q)
    for i, c in enumerate(poly):
        BT[a - 1][i] = c
    # The identity, exactly: sum_x A^T[i][x] G[x][k] B^T[x][t] = [t == i + k].
    for i in range(m):
        for t in range(a):
            for k in range(r):
                s = sum(AT[i][x] * G[x][k] * BT[x][t] for x in range(a))
                assert s == (1 if t == i + k else 0), (m, r, pts, i, t, k, s)
    return AT, G, BT


def nearest_float(x):
    """(significand, exponent) of the binary32 value nearest the rational x
    (ties to even), so that no decimal or double rounding step intervenes."""
    if x == 0:
        return 0, 0
    sign = -1 if x < 0 else 1
    x = abs(x)
    e = x.numerator.bit_length() - x.denominator.bit_length() - 24
    while x / Fr(2) ** e >= 2 ** 24:
        e += 1
    while x / Fr(2) ** e < 2 ** 23:
        e -= 1
    q = x / Fr(2) ** e
    n = q.numerator // q.denominator
    rem = q - n
    if rem > Fr(1, 2) or (rem == Fr(1, 2) and n % 2):
        n += 1
    assert e >= -149, "subnormal constants are not expected"
    return sign * n, e


def cfloat(x):
    """A C float literal equal to the float nearest the rational x."""
    if x.denominator & (x.denominator - 1) == 0:  # dyadic: exact as written
        v = float(x)
        return "%.1ff" % v if v == int(v) else repr(v) + "f"
    n, e = nearest_float(x)
    return "%s0x%xp%df" % ("-" if n < 0 else "", abs(n), e)


def cdouble(x):
    return repr(float(x))  # float(Fraction) is correctly rounded; repr round-trips


def order(row):
    """Indices of the nonzero entries by ascending magnitude (stable), -1 padded."""
    idx = sorted((i for i, c in enumerate(row) if c != 0), key=lambda i: abs(row[i]))
    return idx + [-1] * (len(row) - len(idx))


def fmt_rows(rows, conv):
    return ",\n".join("    {" + ", ".join(conv(c) for c in row) + "}" for row in rows)


def rat(s):
    return Fr(s)


def emit(out):
    w = out.write
    w("/* Generated by kernels/winograd/gen_transforms.py; do not edit: change the points\n"
      " * there and regenerate.  1-D Winograd transforms F(m, r), alpha = m + r - 1,\n"
      " * y = A^T [(G g) . (B^T d)], with matrices derived exactly from the\n"
      " * interpolation points (finite points below, then infinity); a 2-D tile\n"
      " * F(mh x mw, r x r) takes one per axis.  *_ord: per row of B^T / A^T, the\n"
      " * nonzero terms in the order they are summed (ascending magnitude), -1 padded. */\n")
    w("#ifndef VCONV_WINO_TILES_H\n#define VCONV_WINO_TILES_H\n\n")
    for name, m, r, ours, text in TRANSFORMS:
        a = m + r - 1
        pts = [rat(p) for p in ours]
        AT, G, BT = matrices(m, r, pts)
        matrices(m, r, [rat(p) for p in text])  # the textbook set must be valid too
        up = name.upper()
        w("/* F(%d, %d): points %s, inf (textbook: %s, inf) */\n"
          % (m, r, ", ".join(ours), ", ".join(text)))
        w("#define WINO_%s_M %d\n#define WINO_%s_R %d\n#define WINO_%s_A %d\n" % (up, m, up, r, up, a))
        w("static const int wino_%s_points[%d][2] = {%s};\n"
          % (name, a - 1, ", ".join("{%d, %d}" % (p.numerator, p.denominator) for p in pts)))
        w("static const int wino_%s_textbook[%d][2] = {%s};\n"
          % (name, a - 1, ", ".join("{%d, %d}" % (rat(p).numerator, rat(p).denominator) for p in text)))
        w("static const float wino_%s_bt[%d][%d] = {\n%s};\n" % (name, a, a, fmt_rows(BT, cfloat)))
        w("static const float wino_%s_at[%d][%d] = {\n%s};\n" % (name, m, a, fmt_rows(AT, cfloat)))
        w("static const double wino_%s_g[%d][%d] = {\n%s};\n" % (name, a, r, fmt_rows(G, cdouble)))
        w("static const signed char wino_%s_bt_ord[%d][%d] = {\n%s};\n"
          % (name, a, a, fmt_rows([order(row) for row in BT], str)))
        w("static const signed char wino_%s_at_ord[%d][%d] = {\n%s};\n\n"
          % (name, m, a, fmt_rows([order(row) for row in AT], str)))
    w("#endif\n")


if __name__ == "__main__":
    emit(sys.stdout)
