/*
 * The one list of convolution variants.  Every entry is built for every tier
 * (a variant is an (entry, tier) pair); the registry (dispatch/registry.c),
 * vconv_conv2d_variant(), the planner, the Winograd kernels and their error
 * bounds, the parity suite and the bench all come from it, so a new Winograd
 * tile is one line below (plus its enum value in include/vconv.h, which is
 * ABI and so spelled out there).
 *
 * VCONV_WINO_TILES(X): X(name, ALGO, r, rows, ROWS, cols, COLS) for the tile
 * F(m_h x m_w, r x r) whose rows use the 1-D transform `rows` of
 * kernels/winograd/wino_tiles.h (ROWS its macro prefix) and whose columns use
 * `cols`; in order of accuracy, the most accurate first (ties go to it).
 */
#ifndef VCONV_VARIANTS_H
#define VCONV_VARIANTS_H

#define VCONV_WINO_TILES(X)                                        \
  X(f2x2_3x3, WINOGRAD_F2X2_3X3, 3, m2r3, M2R3, m2r3, M2R3)         \
  X(f4x4_3x3, WINOGRAD_F4X4_3X3, 3, m4r3, M4R3, m4r3, M4R3)         \
  X(f4x5_3x3, WINOGRAD_F4X5_3X3, 3, m4r3, M4R3, m5r3, M5R3)         \
  X(f6x6_3x3, WINOGRAD_F6X6_3X3, 3, m6r3, M6R3, m6r3, M6R3)         \
  X(f2x2_5x5, WINOGRAD_F2X2_5X5, 5, m2r5, M2R5, m2r5, M2R5)

/* VCONV_CONV_ALGOS(X, XW): X(stem, ALGO) for the other entries and XW (the
 * arguments of VCONV_WINO_TILES) for the tiles, in the order tests and
 * benchmarks list them; a kernel's symbol is vconv_<stem>_kernel__<tier>,
 * a tile's vconv_winograd_<name>_kernel__<tier>. */
#define VCONV_CONV_ALGOS(X, XW) \
  X(direct, DIRECT)             \
  X(im2col, IM2COL)             \
  VCONV_WINO_TILES(XW)

/* VCONV_CONV_BWD_ALGOS(X): X(stem, KIND, ALGO) for the backward kernels
 * (kernels/backward), in the order tests and benchmarks list them; a
 * kernel's symbol is vconv_<stem>_kernel__<tier>. */
#define VCONV_CONV_BWD_ALGOS(X)             \
  X(bwd_data_direct, DATA, DIRECT)          \
  X(bwd_data_gemm, DATA, IM2COL)            \
  X(bwd_data_winograd, DATA, WINOGRAD)      \
  X(bwd_weights_direct, WEIGHTS, DIRECT)    \
  X(bwd_weights_gemm, WEIGHTS, IM2COL)

#endif
