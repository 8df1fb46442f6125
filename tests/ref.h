/*
 * Float64 reference convolution and pooling for the parity tests.
 *
 * Written from the public header alone, with plain loops and no library call
 * beyond the descriptor types: the named padding modes, output sizes and the
 * ceil-mode rule are resolved here independently, so a mistake in the
 * library's descriptor code cannot hide in a shared helper.  Never dispatched,
 * never vectorised on purpose.
 */
#ifndef VCONV_TEST_REF_H
#define VCONV_TEST_REF_H

#include <stdint.h>

#include "vconv.h"

/* One spatial axis after the padding mode is resolved. */
typedef struct ref_axis {
  int64_t pad_begin, pad_end; /* resolved padding */
  int64_t keff;               /* (kernel - 1) * dilation + 1 */
  int64_t out;                /* output size */
} ref_axis;

typedef struct ref_geom {
  ref_axis h, w;
} ref_geom;

/* Status-like results of the reference geometry. */
enum { REF_OK = 0, REF_TOO_LARGE = 1, REF_INVALID = 2 };

/*
 * Output geometry of a convolution / pooling descriptor.  Returns REF_OK,
 * REF_TOO_LARGE when the (dilated) kernel or window exceeds the padded input,
 * or REF_INVALID for anything else the reference does not accept (the
 * library's validation is tested separately, with exact status codes).
 */
int ref_conv2d_geometry(const vconv_conv2d_desc *d, ref_geom *g);
int ref_pool2d_geometry(const vconv_pool2d_desc *d, ref_geom *g);

/*
 * Reference convolution.  input in d->layout, weights OIHW, bias NULL or
 * out_channels floats, connections as in the descriptor.  For every output
 * element (in d->layout order) it stores:
 *   y[i]  the exact-product float64 result, activation applied;
 *   a[i]  the bound term |bias| + sum |x * w| over connected in-bounds taps;
 *   n[i]  the number of terms: products + 1 (the bias counts even when NULL,
 *         as a zero term, so n >= 1).
 * Returns REF_OK or the geometry error.
 */
int ref_conv2d(const vconv_conv2d_desc *d, const float *input, const float *weights,
               const float *bias, double *y, double *a, int32_t *n);
/* The same, one output at a time straight from the definition: slower, used
 * only to check ref_conv2d (the results must be bitwise identical). */
int ref_conv2d_naive(const vconv_conv2d_desc *d, const float *input, const float *weights,
                     const float *bias, double *y, double *a, int32_t *n);

/*
 * Reference pooling, output in d->layout order.  Max: y is the exact result
 * (NaN if any tap is NaN), a = 0, n = taps.  Average: y is the float64 mean,
 * a = sum |x| / divisor (the bound term), n = taps summed (in-input taps).
 */
int ref_pool2d(const vconv_pool2d_desc *d, const float *input, double *y, double *a, int32_t *n);

/* Divisor of the average window starting at (h0, w0) in input coordinates. */
int64_t ref_pool_divisor(const vconv_pool2d_desc *d, const ref_geom *g, int64_t h0, int64_t w0);

/*
 * Tolerances, derived from error bounds (see ref.c for the derivation).
 * conv: |y - y_ref| <= ref_conv_tol(n, a); pool average: ref_avg_tol(m, a).
 * Pool max is exact and has no tolerance.
 */
double ref_gamma(double n, double u);
double ref_conv_tol(int32_t n, double a);
double ref_avg_tol(int32_t m, double a);

/*
 * Winograd F(mh x mw, r x r) (see ref.c for the derivation): per axis, the
 * 1-D transform's matrices A^T (m x alpha), G (alpha x r), B^T (alpha x alpha)
 * as the library uses them (h: the tile's rows, w: its columns), and what the
 * bound derives from them.
 */
typedef struct ref_wino_axis {
  int m;
  const double *at, *g, *bt;
} ref_wino_axis;

typedef struct ref_wino_tile {
  int r;
  ref_wino_axis h, w;
  int nb, na;       /* most nonzeros in a row of B^T, of A^T: summed over both axes */
  int32_t nz;       /* terms of Z per output (its double rounding) */
  double nops, amp; /* operations feeding an output; their amplification F */
} ref_wino_tile;

/* wmax: the largest |weight|; Cg: input channels per group. */
void ref_wino_tile_init(ref_wino_tile *t, int r, ref_wino_axis h, ref_wino_axis w, int64_t Cg,
                        double wmax);
/*
 * z[i] (NCHW order, like ref_conv2d's y) = Z of every output: |bias| plus the
 * magnitude of its elementary terms with the tiles on a canvas of gx images
 * per row, ph rows and pw columns apart (stride 1, dilation 1, r x r kernel,
 * pitches that keep the images' padding, else REF_INVALID).  input NCHW.
 */
int ref_wino_bound(const vconv_conv2d_desc *d, const float *input, const float *weights,
                   const float *bias, int64_t gx, int64_t ph, int64_t pw, const ref_wino_tile *t,
                   double *z);
/* |y - y_ref| <= ref_wino_tol(tile, Cg, Z, A, n). */
double ref_wino_tol(const ref_wino_tile *t, int64_t Cg, double z, double a, int32_t n);

/* Index of logical element (n, c, h, w) in a tensor of the given layout. */
static inline int64_t ref_index(vconv_layout layout, int64_t C, int64_t H, int64_t W, int64_t n,
                                int64_t c, int64_t h, int64_t w) {
  return layout == VCONV_LAYOUT_NHWC ? ((n * H + h) * W + w) * C + c : ((n * C + c) * H + h) * W + w;
}

/* Copies an N x C x H x W tensor from one layout to another. */
void ref_relayout(const float *src, vconv_layout from, float *dst, vconv_layout to, int64_t N,
                  int64_t C, int64_t H, int64_t W);

#endif
