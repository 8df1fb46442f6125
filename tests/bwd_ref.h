/*
 * Float64 reference gradients of a convolution and the transposed
 * convolution, written from include/vconv.h's definitions with plain loops
 * over the forward taps (geometry from ref_conv2d_geometry, ref.c).  Like
 * ref_conv2d, every product of two floats is exact in double, and for each
 * output element it reports the bound term a = sum |terms| (plus |bias|)
 * and the term count n = products + 1, so ref_conv_tol(n, a) is its bound
 * (ref.c derives it; it holds for any summation order).
 */
#ifndef VCONV_TEST_BWD_REF_H
#define VCONV_TEST_BWD_REF_H

#include <stdint.h>

#include "vconv.h"

/* dX (N x C x H x W in d->layout) from dY (N x K x P x Q) and OIHW weights;
 * unconnected pairs contribute nothing.  Returns REF_OK or the geometry error. */
int ref_conv2d_bwd_data(const vconv_conv2d_desc *d, const float *w, const float *dy, double *dx,
                        double *a, int32_t *n);
/* dW (OIHW; 0 with a = 0, n = 1 for unconnected pairs) and db (K), from x and dY. */
int ref_conv2d_bwd_weights(const vconv_conv2d_desc *d, const float *x, const float *dy,
                           double *dw, double *aw, int32_t *nw, double *db, double *ab,
                           int32_t *nb);

/* Transposed convolution geometry per ONNX's ConvTranspose: REF_OK, or REF_INVALID
 * for what the library must refuse. */
int ref_conv_transpose2d_geometry(const vconv_conv_transpose2d_desc *d, int64_t *pt, int64_t *pl,
                                  int64_t *out_h, int64_t *out_w);
/* y (N x out_channels x out_h x out_w, d->layout) = bias + the scatter of every
 * input pixel through the kernel, weights (in_channels, out_channels/G, kh, kw). */
int ref_conv_transpose2d(const vconv_conv_transpose2d_desc *d, const float *x, const float *w,
                         const float *bias, double *y, double *a, int32_t *n);

#endif
