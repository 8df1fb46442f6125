#!/usr/bin/env python3
"""Writes the hand-made seeds of tests/fuzz/corpus/<target>/ (seed-*).

Each seed is a tame input (first byte 0x00: every field from its small range,
see fuzz.h) spelling a layer the suite cares about: LeNet-5 and scaled-down
AlexNet layers, Winograd shapes, depthwise, grouped, pointwise, padding
heavier than the kernel, NHWC, clamps; each through several entry points
(the selector byte is taken modulo the number of choices, so one byte value
reaches different variants in builds with different tiers).  The rest of the
corpus (min-*) is what `fuzz_<t> -merge=1` kept of longer runs.

  make_seeds.py [corpus directory]
"""
import os
import struct
import sys

TAME = 0x00


def field(v, lo, hi):
    """fz_field in a tame input: lo + b % span (two bytes above 256)."""
    span = hi - lo + 1
    assert lo <= v <= hi
    b = v - lo
    return bytes([b]) if span <= 256 else bytes([b & 0xff, b >> 8])


def enum(v, lo, hi):
    return bytes([v - lo])


def flt(x):
    """fz_float for (b - 96) / 16 values."""
    b = int(x * 16 + 96)
    assert 0 <= b < 0xc0 and (b - 96) / 16 == x
    return bytes([b])


def data_spec(seed, scale, lo, special=0):
    return bytes([seed & 0xff, seed >> 8 & 0xff, scale - lo, 0xc1 if special else 0])


def parallel(threads, reverse=0):
    """fz_parallel: the serial pool claiming threads (< 9) or NULL (None)."""
    if threads is None:
        return bytes([0])
    return bytes([0x30 | reverse, threads])


def conv2d(N, C, H, W, K, R, S, sh=1, sw=1, dh=1, dw=1, pads=(0, 0, 0, 0), mode=0, G=1,
           layout=0, act=0, clamp=(0.0, 0.0), bias=1, table=None, sel=0, algo=0, isa=0,
           threads=2, wmode=1):
    b = bytes([TAME])
    b += field(N, 1, 3) + field(C, 1, 17) + field(H, 1, 20) + field(W, 1, 20) + field(K, 1, 17)
    b += field(R, 1, 7) + field(S, 1, 7) + field(sh, 1, 3) + field(sw, 1, 3)
    b += field(dh, 1, 3) + field(dw, 1, 3)
    for p in pads:
        b += field(p, 0, 3)
    b += enum(mode, 0, 4) + field(G, 1, 4) + enum(layout, 0, 1) + enum(act, 0, 2)
    if act == 2:
        b += flt(clamp[0]) + flt(clamp[1])
    b += bytes([(bias & 1) | (2 if table else 0) | 0x14])
    b += data_spec(0x1234 + N * 7 + C, 0, -70) + data_spec(0x4321 + K, -3, -70)
    b += bytes([1])  # Winograd allowed in AUTO
    if table:
        b += bytes(3 if t else 0 for t in table)
    b += bytes([sel, algo, isa + 1, 0]) + parallel(threads) + bytes([wmode, 5])
    return b


def backward(N, C, H, W, K, R, S, sh=1, sw=1, dh=1, dw=1, pads=(0, 0, 0, 0), mode=0, G=1,
             layout=0, table=None, sel=0, kind=0, db=1, threads=2, wmode=1):
    """fuzz_backward's gradients: the conv2d fields, no activation, then the entry point."""
    b = bytes([TAME, 0])
    b += field(N, 1, 3) + field(C, 1, 17) + field(H, 1, 20) + field(W, 1, 20) + field(K, 1, 17)
    b += field(R, 1, 7) + field(S, 1, 7) + field(sh, 1, 3) + field(sw, 1, 3)
    b += field(dh, 1, 3) + field(dw, 1, 3)
    for p in pads:
        b += field(p, 0, 3)
    b += enum(mode, 0, 4) + field(G, 1, 4) + enum(layout, 0, 1) + enum(0, 0, 2) + bytes([1])
    b += bytes([(db & 1) | (2 if table else 0) | 0x14])
    b += data_spec(0x2345 + N * 7 + C, 0, -60) + data_spec(0x5432 + K, -3, -60)
    if table:
        b += bytes(3 if t else 0 for t in table)
    b += bytes([sel, kind]) + parallel(threads) + bytes([wmode, 5])
    return b


def transpose(N, C, H, W, K, R, S, sh=1, sw=1, dh=1, dw=1, pads=(0, 0, 0, 0), opad=(0, 0),
              mode=0, G=1, layout=0, bias=1, algo=0, isa=-1, threads=2, wmode=1):
    """fuzz_backward's transposed convolution (selector byte 3)."""
    b = bytes([TAME, 3])
    b += field(N, 1, 3) + field(C, 1, 17) + field(H, 1, 12) + field(W, 1, 12) + field(K, 1, 17)
    b += field(R, 1, 5) + field(S, 1, 5) + field(sh, 1, 3) + field(sw, 1, 3)
    b += field(dh, 1, 2) + field(dw, 1, 2)
    for p in pads:
        b += field(p, 0, 3)
    b += field(opad[0], 0, 2) + field(opad[1], 0, 2)
    b += enum(mode, 0, 4) + field(G, 1, 4) + enum(layout, 0, 1)
    b += bytes([(bias & 1) | 0x14])
    b += data_spec(0x3456 + N * 7 + C, 0, -60) + data_spec(0x6543 + K, -3, -60)
    b += bytes([algo, isa + 1]) + parallel(threads) + bytes([wmode, 5])
    return b


def local(N, C, H, W, K, R, S, sh=1, sw=1, dh=1, dw=1, pads=(0, 0, 0, 0), mode=0, G=1,
          layout=0, act=0, tile=(0, 0), bias=1, sel=0, threads=2, wmode=1):
    """fuzz_local: the conv2d fields, the tile (0: locally connected) and the bias kind."""
    b = bytes([TAME])
    b += field(N, 1, 3) + field(C, 1, 17) + field(H, 1, 20) + field(W, 1, 20) + field(K, 1, 17)
    b += field(R, 1, 7) + field(S, 1, 7) + field(sh, 1, 3) + field(sw, 1, 3)
    b += field(dh, 1, 3) + field(dw, 1, 3)
    for p in pads:
        b += field(p, 0, 3)
    b += enum(mode, 0, 4) + field(G, 1, 4) + enum(layout, 0, 1) + enum(act, 0, 1)
    b += field(tile[0], 0, 4) + field(tile[1], 0, 4) + enum(bias, 0, 2)
    b += bytes([0x16])  # bias gradient asked for
    b += data_spec(0x4567 + N * 7 + C, 0, -60) + data_spec(0x7654 + K, -3, -60)
    b += bytes([sel]) + parallel(threads) + bytes([wmode, 5])
    return b


def pool2d(N, C, H, W, kind, R, S, sh, sw, pads=(0, 0, 0, 0), mode=0, ceil=0, layout=0,
           dh=1, dw=1, glob=0, training=0, seed=7, weights=None, sel=0, threads=2, bmode=0x48):
    b = bytes([TAME])
    b += field(N, 1, 3) + field(C, 1, 9) + field(H, 1, 16) + field(W, 1, 16)
    b += enum(kind, 0, 5) + field(R, 1, 5) + field(S, 1, 5) + field(sh, 1, 3) + field(sw, 1, 3)
    for p in pads:
        b += field(p, 0, 2)
    b += enum(mode, 0, 4) + enum(ceil, 0, 1) + enum(layout, 0, 1)
    maxd = 1 if kind in (4, 5) else 3
    b += field(dh, 1, maxd) + field(dw, 1, maxd)
    b += bytes([(7 if glob else 0) | (8 if training else 0)]) + struct.pack('<Q', seed)
    b += data_spec(0x77 + N + C, 0, -100, special=(kind != 3)) + data_spec(0x99, 0, -60)
    if kind == 4:
        n = H * W if glob else R * S
        b += bytes((16 * (1 + (i % 3))) for i in range(n))  # weights 1, 2, 3 (b / 16)
    b += bytes([sel]) + parallel(threads) + bytes([bmode, 0])
    return b


def sgemm(ta, tb, M, N, K, pads=(0, 0, 0), alpha=1, beta=0, tier=0, threads=2):
    alphas = [0.0, 1.0, -1.0, 0.5, 2.0, -0.25, 3.0]
    b = bytes([TAME]) + enum(ta, 0, 1) + enum(tb, 0, 1)
    b += field(M, 0, 70) + field(N, 0, 70) + field(K, 0, 300)
    for p in pads:
        b += field(p, 0, 3)
    b += bytes([alphas.index(alpha), alphas.index(beta), tier])
    if tier == 6:  # the last choice: an isa value read from the input, then vconv_sgemm or not
        b += bytes([tier % 6, 1])
    b += bytes([0x38])  # no NULL matrix; A, B and C each after a guard page
    b += data_spec(0x51 + M, 0, -30) + data_spec(0x15 + N, 1, -30) + parallel(threads)
    return b


def conv1d(N, C, W, K, k, s=1, d=1, pads=(0, 0), mode=0, G=1, layout=0, act=0, algo=0, threads=2):
    b = bytes([0, TAME]) + field(N, 1, 3) + field(C, 1, 12) + field(W, 1, 40) + field(K, 1, 12)
    b += field(k, 1, 7) + field(s, 1, 3) + field(d, 1, 3) + field(pads[0], 0, 3) + field(pads[1], 0, 3)
    b += enum(mode, 0, 4) + field(G, 1, 3) + enum(layout, 0, 1) + enum(act, 0, 2)
    b += bytes([1]) + data_spec(0x31, 0, -60) + data_spec(0x13, 0, -60) + enum(algo, 0, 8)
    return b + parallel(threads)


def pool1d(N, C, W, kind, win, s=1, pads=(0, 0), mode=0, ceil=0, layout=0, dil=1, glob=0,
           training=0, threads=2):
    b = bytes([1, TAME]) + field(N, 1, 3) + field(C, 1, 9) + field(W, 1, 40) + enum(kind, 0, 5)
    b += field(win, 1, 6) + field(s, 1, 3) + field(pads[0], 0, 3) + field(pads[1], 0, 3)
    b += enum(mode, 0, 4) + enum(ceil, 0, 1) + enum(layout, 0, 1)
    b += field(dil, 1, 1 if kind in (4, 5) else 3)
    b += bytes([(7 if glob else 0) | (8 if training else 0)]) + struct.pack('<Q', 11)
    b += data_spec(0x42, 0, -100, special=1)
    if kind == 4:
        b += bytes([4, 8, 4, 2, 1, 3][: (W if glob else win)] + [1] * max(0, (W if glob else win) - 6))
    return b + parallel(threads)


def wisdom_lines(*lines):
    return bytes([0x80]) + ''.join(l + '\n' for l in lines).encode()


def seeds():
    c = {}
    lenet_c3 = [1 if (k + c_) % 3 else 0 for k in range(16) for c_ in range(6)]
    shapes = {
        'lenet-c1': dict(N=1, C=1, H=20, W=20, K=6, R=5, S=5),
        'lenet-c3-table': dict(N=1, C=6, H=14, W=14, K=16, R=5, S=5, table=lenet_c3),
        'alexnet-conv1-small': dict(N=1, C=3, H=20, W=20, K=12, R=7, S=7, sh=3, sw=3, pads=(2, 2, 2, 2)),
        'alexnet-conv2-grouped': dict(N=2, C=8, H=9, W=9, K=16, R=5, S=5, pads=(2, 2, 2, 2), G=2, act=1),
        'wino-3x3-same': dict(N=1, C=8, H=13, W=13, K=8, R=3, S=3, mode=2, act=1),
        'wino-5x5-nhwc': dict(N=2, C=9, H=11, W=10, K=8, R=5, S=5, pads=(2, 2, 2, 2), layout=1),
        'wino-3x3-pad-heavy': dict(N=1, C=8, H=4, W=5, K=9, R=3, S=3, pads=(3, 3, 3, 3)),
        'depthwise-dilated': dict(N=1, C=4, H=12, W=12, K=4, R=3, S=3, dh=2, dw=3, G=4, pads=(1, 2, 3, 0)),
        'pointwise-16': dict(N=2, C=16, H=6, W=7, K=16, R=1, S=1, layout=1),
        'full-stride2-clamp': dict(N=1, C=2, H=5, W=7, K=3, R=3, S=2, sh=2, sw=2, mode=3, act=2,
                                   clamp=(-0.5, 0.75)),
        'valid-1x7': dict(N=3, C=5, H=1, W=20, K=7, R=1, S=7, mode=1, bias=0),
    }
    for i, (name, kw) in enumerate(shapes.items()):
        for sel in (i % 7, 7 + i, 40 + i):
            c[('conv2d', f'seed-{name}-sel{sel}')] = conv2d(**kw, sel=sel, algo=(i % 9), isa=-1,
                                                             threads=(i % 4))
    # Gradients: the same layers through every entry point (variants, plan names,
    # AUTO, arbitrary algorithm and tier), both kinds.
    for i, (name, kw) in enumerate(shapes.items()):
        kw = {k: v for k, v in kw.items() if k not in ('act', 'clamp', 'bias')}
        for sel in (i % 5, 9 + i, 20 + i):
            for kind in (0, 1):
                c[('backward', f'seed-{name}-sel{sel}-{"weights" if kind else "data"}')] = backward(
                    **kw, sel=sel, kind=kind, db=(i + kind) % 2, threads=(i % 4))
    transposes = {
        'dcgan-4x4-s2': dict(N=1, C=8, H=5, W=5, K=4, R=4, S=4, sh=2, sw=2, pads=(1, 1, 1, 1)),
        'outpad-3x3-s3': dict(N=2, C=3, H=4, W=6, K=5, R=3, S=3, sh=3, sw=2, opad=(2, 1)),
        'grouped-dilated-nhwc': dict(N=1, C=6, H=6, W=5, K=9, R=3, S=2, dh=2, G=3, layout=1),
        'same-upper': dict(N=1, C=4, H=7, W=7, K=4, R=3, S=3, sh=2, sw=2, mode=2, algo=2),
        'same-lower-1x1': dict(N=3, C=5, H=3, W=8, K=2, R=1, S=1, sh=2, sw=1, mode=4, bias=0),
    }
    for i, (name, kw) in enumerate(transposes.items()):
        c[('backward', f'seed-transpose-{name}')] = transpose(**kw, threads=(i % 4))
    locals_ = {
        'lenet-c1-lc': dict(N=1, C=1, H=12, W=12, K=6, R=5, S=5, bias=2),
        'lenet-c1-tiled2x2': dict(N=2, C=1, H=12, W=12, K=6, R=5, S=5, tile=(2, 2), act=1),
        'grouped-tiled-nhwc': dict(N=1, C=4, H=9, W=9, K=6, R=3, S=3, pads=(1, 1, 1, 1), G=2,
                                   tile=(3, 1), layout=1),
        'strided-dilated-conv': dict(N=2, C=3, H=11, W=10, K=5, R=3, S=2, sh=2, sw=3, dh=2,
                                     tile=(1, 1), bias=1),
        'same-lc-few-channels': dict(N=1, C=2, H=7, W=6, K=3, R=3, S=3, mode=2, bias=0),
    }
    for i, (name, kw) in enumerate(locals_.items()):
        for sel in (i % 4, 4 + i):
            c[('local', f'seed-{name}-sel{sel}')] = local(**kw, sel=sel, threads=(i % 4))
    pools = {
        'max-3x3-s2': dict(N=1, C=4, H=13, W=13, kind=0, R=3, S=3, sh=2, sw=2),
        'max-dilated-pad': dict(N=2, C=3, H=9, W=10, kind=0, R=3, S=2, sh=1, sw=2, dh=3, dw=2, pads=(2, 1, 1, 2)),
        'avg-incl-ceil': dict(N=1, C=5, H=11, W=12, kind=1, R=3, S=3, sh=2, sw=2, pads=(1, 1, 1, 1), ceil=1),
        'avg-excl-same-nhwc': dict(N=2, C=9, H=7, W=9, kind=2, R=4, S=3, sh=3, sw=2, mode=2, layout=1),
        'l2-2x2': dict(N=1, C=3, H=8, W=8, kind=3, R=2, S=2, sh=2, sw=2),
        'weighted-3x3': dict(N=1, C=2, H=10, W=9, kind=4, R=3, S=3, sh=1, sw=1, pads=(1, 1, 1, 1)),
        'stochastic-train': dict(N=2, C=3, H=6, W=6, kind=5, R=2, S=3, sh=2, sw=1, training=1, seed=99),
        'stochastic-infer': dict(N=1, C=4, H=9, W=6, kind=5, R=3, S=3, sh=3, sw=3),
        'global-avg': dict(N=2, C=6, H=7, W=5, kind=2, R=1, S=1, sh=1, sw=1, glob=1),
        'global-weighted': dict(N=1, C=3, H=3, W=4, kind=4, R=1, S=1, sh=1, sw=1, glob=1),
    }
    for i, (name, kw) in enumerate(pools.items()):
        for sel in (i % 5, 5 + i):
            c[('pool2d', f'seed-{name}-sel{sel}')] = pool2d(**kw, sel=sel, threads=(i % 4),
                                                             bmode=0x48 | (0x80 if i % 2 else 0))
    gemms = [
        dict(ta=0, tb=1, M=16, N=10, K=84, alpha=1.0, beta=0.0),
        dict(ta=1, tb=0, M=7, N=65, K=3, pads=(1, 2, 3), alpha=2.0, beta=1.0),
        dict(ta=1, tb=1, M=33, N=17, K=257, alpha=-1.0, beta=0.5),
        dict(ta=0, tb=0, M=1, N=1, K=0, alpha=1.0, beta=3.0),
        dict(ta=0, tb=0, M=9, N=8, K=40, alpha=0.0, beta=-0.25),
        dict(ta=0, tb=0, M=70, N=64, K=20, pads=(0, 3, 1)),
    ]
    for i, kw in enumerate(gemms):
        for tier in range(7):
            c[('sgemm', f'seed-{i}-tier{tier}')] = sgemm(**kw, tier=tier, threads=(tier % 3) * 3)
    c[('1d', 'seed-conv1d-k5')] = conv1d(2, 4, 33, 6, 5, pads=(2, 2))
    c[('1d', 'seed-conv1d-dil-same-nwc')] = conv1d(1, 6, 17, 6, 3, s=2, d=3, mode=2, G=3, layout=1, act=1)
    c[('1d', 'seed-conv1d-valid-im2col')] = conv1d(3, 12, 40, 12, 1, mode=1, algo=2)
    c[('1d', 'seed-pool1d-max-dil')] = pool1d(2, 5, 31, 0, 3, s=2, dil=2, pads=(2, 1))
    c[('1d', 'seed-pool1d-avg-ceil')] = pool1d(1, 3, 19, 1, 4, s=3, ceil=1, pads=(1, 1))
    c[('1d', 'seed-pool1d-weighted')] = pool1d(1, 2, 12, 4, 5, s=1)
    c[('1d', 'seed-pool1d-stoch-global')] = pool1d(2, 2, 9, 5, 1, glob=1, training=1, layout=1)
    # Wisdom: entry lines as export writes them (key: N C H W K R S sh sw dh dw pt pb pl pr G
    # layout act act_min act_max connections-hash threads N; then kernel and ns).
    c[('wisdom', 'seed-empty')] = wisdom_lines()
    c[('wisdom', 'seed-direct')] = wisdom_lines(
        '1 1 4 4 1 3 3 1 1 1 1 0 0 0 0 1 0 0 0x0p+0 0x0p+0 0000000000000000 threads 1 kernel direct/scalar:blocked ns 100')
    c[('wisdom', 'seed-wino-wrong-shape')] = wisdom_lines(
        '1 2 6 6 2 1 1 2 2 1 1 0 0 0 0 1 0 0 0x0p+0 0x0p+0 0000000000000000 threads 3 kernel winograd_f2x2_3x3/scalar:canvas ns 5',
        '1 8 8 8 8 3 3 1 1 1 1 1 1 1 1 1 1 1 0x0p+0 0x0p+0 0000000000000000 threads 2 kernel im2col/sse41:gemm ns 7')
    c[('wisdom', 'seed-raw-garbage')] = bytes([0x00]) + b'vconv-wisdom 1\nversion 0.1.0\nend 0 0\n'
    return c


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'corpus')
    for (target, name), data in seeds().items():
        d = os.path.join(root, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
