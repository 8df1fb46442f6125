/*
 * Float64 reference of the locally connected / tiled layer (vconv_local2d):
 * forward, backward data, backward weights and bias.  Plain loops from the
 * definition in vconv.h; the geometry comes from ref_conv2d_geometry (the
 * conv reference's own resolution of the padding modes), the tile is
 * resolved here.  Every result carries its bound term a (sum of |terms|) and
 * term count n, for ref_conv_tol(n, a).
 */
#ifndef VCONV_TEST_LOCAL_REF_H
#define VCONV_TEST_LOCAL_REF_H

#include <stdint.h>

#include "ref.h"
#include "vconv.h"

typedef struct local_geom {
  ref_geom g;
  int64_t th, tw; /* resolved tile */
} local_geom;

/* The conv descriptor of the same geometry. */
void local_ref_conv_desc(const vconv_local2d_desc *d, vconv_conv2d_desc *c);
/* REF_OK, or REF_TOO_LARGE / REF_INVALID (an invalid tile included). */
int local_ref_geometry(const vconv_local2d_desc *d, local_geom *lg);

/* y, a, n: N x K x P x Q in d->layout order (n counts the bias as a term). */
int local_ref_forward(const vconv_local2d_desc *d, const float *input, const float *weights,
                      const float *bias, double *y, double *a, int32_t *n);
/* dx, a, n: N x C x H x W in d->layout order; dy is the pre-activation gradient. */
int local_ref_backward_data(const vconv_local2d_desc *d, const float *weights, const float *dy,
                            double *dx, double *a, int32_t *n);
/* dw, a, n: the weight layout; db, ab, nb: the bias layout (skipped when db NULL). */
int local_ref_backward_weights(const vconv_local2d_desc *d, const float *input, const float *dy,
                               double *dw, double *a, int32_t *n, double *db, double *ab,
                               int32_t *nb);

#endif
