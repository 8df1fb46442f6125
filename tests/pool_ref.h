/*
 * Float64 reference pooling, forward and backward, with the error bounds the
 * tests compare against: written from the header's text alone (geometry,
 * divisors, the NaN and -0 rules, the sampler), shared by tests/test_pool.c
 * and the fuzz targets (tests/fuzz/).  The derivations are in pool_ref.c.
 */
#ifndef VCONV_TEST_POOL_REF_H
#define VCONV_TEST_POOL_REF_H

#include <stdint.h>

#include "vconv.h"

typedef struct geom {
  int64_t R, S, sh, sw, dh, dw, pt, pb, pl, pr, P, Q;
} geom;

/* 0 on success, -1 if the descriptor is one the header says is invalid. */
int make_geom(const vconv_pool2d_desc *d, geom *g);

typedef struct refout {
  double y;      /* the exact (or double-precision) result */
  double tol;    /* |got - y| <= tol; exact kinds compare bits instead */
  int exact;     /* 1: compare bits (NaN: any NaN); 2: anything passes (float overflow either way) */
  float want;    /* exact kinds: the float expected */
  int32_t idx;   /* MAX, STOCHASTIC training: expected index */
} refout;

/* One window (output p, q; flat: its NCHW output index, for the sampler) of
 * the logical NCHW input plane x (H x W); wts: the window weights or NULL. */
refout ref_window(const vconv_pool2d_desc *d, const geom *g, const float *x, const float *wts,
                  int64_t flat, int64_t p, int64_t q);

/* Logical NCHW grad_input gx and its tolerance tol (N*C*H*W each) from the
 * logical NCHW input x, the forward references fw, the library's forward
 * output y (logical NCHW; L2 uses it exactly as the library gets it) and
 * grad_output gy. */
void ref_backward(const vconv_pool2d_desc *d, const geom *g, const float *x, const float *wts,
                  const refout *fw, const float *y, const float *gy, double *gx, double *tol);

/* Compares one forward output element with its reference: 1 if it passes;
 * *ratio = |error| / tolerance (0 or inf for the exact kinds). */
int check_out(const refout *r, float got, double *ratio);

/* 1 if the kind has one source tap per output (run_with_indices applies). */
int has_indices(const vconv_pool2d_desc *d);

#endif
