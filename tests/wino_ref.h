/*
 * The Winograd tiles as the library builds them (the generated matrices of
 * kernels/winograd/wino_tiles.h and the tile layout of wino_plan.h, both
 * header-only), for the tests' error bound (ref_wino_bound in ref.c).
 */
#ifndef VCONV_TEST_WINO_REF_H
#define VCONV_TEST_WINO_REF_H

#include <stdint.h>

#include "ref.h"
#include "vconv.h"

/* Number of Winograd tiles; index of the tile an algorithm value names, or -1. */
int wino_tile_count(void);
int wino_tile_index(vconv_algorithm algo);
/* The tile F(mh x mw, r x r) and its algorithm value. */
void wino_tile_shape(int index, int *mh, int *mw, int *r, vconv_algorithm *algo);

/*
 * Z of every output (NCHW order) of the convolution d (batch and padding as
 * given; the input NCHW) computed with tile `index` laid out as the library
 * lays it out, and *t set up for ref_wino_tol.  wmax: the largest |weight|.
 * Returns REF_OK, or the error of ref_wino_bound.
 */
int wino_bound(int index, const vconv_conv2d_desc *d, const float *input, const float *weights,
               const float *bias, double wmax, ref_wino_tile *t, double *z);

/*
 * The Winograd data gradient's bound: the kernel runs the forward
 * convolution of dY with each group's kernel rotated by 180 degrees and its
 * channels exchanged (kernels/kernel.h, vconv_bwd_data_as_forward), so the
 * bound is forward's (ref_wino_bound) on that convolution, with the tile
 * the plan names ("bwd_data_winograd/<tier>:<tile>").  The geometry: dY is
 * N x K x P x Q, dX N x C x H x W (layout), R x S kernels W[K][C/G][R][S],
 * dX's padding pt, pl.  Fills tol[] in dX's layout; returns 0 on failure.
 */
typedef struct wino_bwd_geom {
  int64_t N, K, P, Q, C, H, W, R, S, G, pt, pl;
  vconv_layout layout;
} wino_bwd_geom;

int wino_bwd_data_tols(const char *plan, const wino_bwd_geom *e, const float *dy, const float *w,
                       const float *bias, const double *a, const int32_t *n, double *tol);

#endif
