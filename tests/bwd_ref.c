/* Float64 reference gradients and transposed convolution (bwd_ref.h). */
#include "bwd_ref.h"

#include <math.h>
#include <stdlib.h>

#include "ref.h"

int ref_conv2d_bwd_data(const vconv_conv2d_desc *d, const float *w, const float *dy, double *dx,
                        double *a, int32_t *n) {
  ref_geom g;
  const int st = ref_conv2d_geometry(d, &g);
  if (st != REF_OK) return st;
  const int64_t N = d->batch, C = d->in_channels, H = d->in_height, W = d->in_width;
  const int64_t K = d->out_channels, P = g.h.out, Q = g.w.out, G = d->groups;
  const int64_t Cg = C / G, Kg = K / G, R = d->kernel_h, S = d->kernel_w;
  for (int64_t i = 0; i < N * C * H * W; i++) {
    dx[i] = 0.0;
    a[i] = 0.0;
    n[i] = 1;
  }
  for (int64_t b = 0; b < N; b++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t p = 0; p < P; p++)
        for (int64_t q = 0; q < Q; q++) {
          const double gy = dy[ref_index(d->layout, K, P, Q, b, k, p, q)];
          const int64_t grp = k / Kg;
          for (int64_t c = 0; c < Cg; c++) {
            if (d->connections && !d->connections[k * Cg + c]) continue;
            for (int64_t r = 0; r < R; r++) {
              const int64_t h = p * d->stride_h - g.h.pad_begin + r * d->dilation_h;
              if (h < 0 || h >= H) continue;
              for (int64_t t = 0; t < S; t++) {
                const int64_t x = q * d->stride_w - g.w.pad_begin + t * d->dilation_w;
                if (x < 0 || x >= W) continue;
                const double term = (double)w[((k * Cg + c) * R + r) * S + t] * gy;
                const int64_t i = ref_index(d->layout, C, H, W, b, grp * Cg + c, h, x);
                dx[i] += term;
                a[i] += fabs(term);
                n[i] += 1;
              }
            }
          }
        }
  return REF_OK;
}

int ref_conv2d_bwd_weights(const vconv_conv2d_desc *d, const float *x, const float *dy,
                           double *dw, double *aw, int32_t *nw, double *db, double *ab,
                           int32_t *nb) {
  ref_geom g;
  const int st = ref_conv2d_geometry(d, &g);
  if (st != REF_OK) return st;
  const int64_t N = d->batch, C = d->in_channels, H = d->in_height, W = d->in_width;
  const int64_t K = d->out_channels, P = g.h.out, Q = g.w.out, G = d->groups;
  const int64_t Cg = C / G, Kg = K / G, R = d->kernel_h, S = d->kernel_w;
  for (int64_t i = 0; i < K * Cg * R * S; i++) {
    dw[i] = 0.0;
    aw[i] = 0.0;
    nw[i] = 1;
  }
  for (int64_t k = 0; k < K; k++) {
    db[k] = ab[k] = 0.0;
    nb[k] = 1;
  }
  for (int64_t b = 0; b < N; b++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t p = 0; p < P; p++)
        for (int64_t q = 0; q < Q; q++) {
          const double gy = dy[ref_index(d->layout, K, P, Q, b, k, p, q)];
          db[k] += gy;
          ab[k] += fabs(gy);
          nb[k] += 1;
          const int64_t grp = k / Kg;
          for (int64_t c = 0; c < Cg; c++) {
            if (d->connections && !d->connections[k * Cg + c]) continue;
            for (int64_t r = 0; r < R; r++) {
              const int64_t h = p * d->stride_h - g.h.pad_begin + r * d->dilation_h;
              if (h < 0 || h >= H) continue;
              for (int64_t t = 0; t < S; t++) {
                const int64_t xw = q * d->stride_w - g.w.pad_begin + t * d->dilation_w;
                if (xw < 0 || xw >= W) continue;
                const double term = (double)x[ref_index(d->layout, C, H, W, b, grp * Cg + c, h, xw)] * gy;
                const int64_t i = ((k * Cg + c) * R + r) * S + t;
                dw[i] += term;
                aw[i] += fabs(term);
                nw[i] += 1;
              }
            }
          }
        }
  return REF_OK;
}

/* ONNX ConvTranspose, one axis: out = stride (in - 1) + output_padding + k_eff
 * - pads; auto_pad SAME_UPPER / SAME_LOWER: out = in * stride and the total
 * padding split with the odd unit at the end / the start. */
static int transpose_axis(int64_t in, int64_t k, int64_t s, int64_t dil, int64_t pb, int64_t pe,
                          int64_t op, vconv_padding_mode mode, int64_t *begin, int64_t *out) {
  if (in < 1 || k < 1 || s < 1 || dil < 1 || op < 0) return REF_INVALID;
  const int64_t keff = (k - 1) * dil + 1, natural = s * (in - 1) + op + keff;
  switch (mode) {
    case VCONV_PADDING_EXPLICIT:
      if (pb < 0 || pe < 0) return REF_INVALID;
      break;
    case VCONV_PADDING_VALID: pb = pe = 0; break;
    case VCONV_PADDING_SAME:
    case VCONV_PADDING_SAME_LOWER: {
      const int64_t total = natural - in * s;
      if (total < 0) return REF_INVALID;
      pb = mode == VCONV_PADDING_SAME ? total / 2 : total - total / 2;
      pe = total - pb;
      break;
    }
    default: return REF_INVALID;
  }
  *begin = pb;
  *out = natural - pb - pe;
  return *out >= 1 ? REF_OK : REF_INVALID;
}

int ref_conv_transpose2d_geometry(const vconv_conv_transpose2d_desc *d, int64_t *pt, int64_t *pl,
                                  int64_t *out_h, int64_t *out_w) {
  if (d->batch < 1 || d->in_channels < 1 || d->out_channels < 1 || d->groups < 1 ||
      d->in_channels % d->groups || d->out_channels % d->groups)
    return REF_INVALID;
  if (transpose_axis(d->in_height, d->kernel_h, d->stride_h, d->dilation_h, d->pad_top,
                     d->pad_bottom, d->output_padding_h, d->padding_mode, pt, out_h) != REF_OK)
    return REF_INVALID;
  return transpose_axis(d->in_width, d->kernel_w, d->stride_w, d->dilation_w, d->pad_left,
                        d->pad_right, d->output_padding_w, d->padding_mode, pl, out_w);
}

int ref_conv_transpose2d(const vconv_conv_transpose2d_desc *d, const float *x, const float *w,
                         const float *bias, double *y, double *a, int32_t *n) {
  int64_t pt, pl, OH, OW;
  if (ref_conv_transpose2d_geometry(d, &pt, &pl, &OH, &OW) != REF_OK) return REF_INVALID;
  const int64_t N = d->batch, CI = d->in_channels, IH = d->in_height, IW = d->in_width;
  const int64_t CO = d->out_channels, G = d->groups, CIg = CI / G, COg = CO / G;
  const int64_t R = d->kernel_h, S = d->kernel_w;
  for (int64_t b = 0; b < N; b++)
    for (int64_t m = 0; m < CO; m++)
      for (int64_t i = 0; i < OH * OW; i++) {
        const int64_t o = ref_index(d->layout, CO, OH, OW, b, m, i / OW, i % OW);
        y[o] = bias ? (double)bias[m] : 0.0;
        a[o] = fabs(y[o]);
        n[o] = 1;
      }
  for (int64_t b = 0; b < N; b++)
    for (int64_t ci = 0; ci < CI; ci++) {
      const int64_t grp = ci / CIg;
      for (int64_t ih = 0; ih < IH; ih++)
        for (int64_t iw = 0; iw < IW; iw++) {
          const double xv = x[ref_index(d->layout, CI, IH, IW, b, ci, ih, iw)];
          for (int64_t mo = 0; mo < COg; mo++)
            for (int64_t r = 0; r < R; r++) {
              const int64_t oh = ih * d->stride_h - pt + r * d->dilation_h;
              if (oh < 0 || oh >= OH) continue;
              for (int64_t t = 0; t < S; t++) {
                const int64_t ow = iw * d->stride_w - pl + t * d->dilation_w;
                if (ow < 0 || ow >= OW) continue;
                const double term = xv * (double)w[((ci * COg + mo) * R + r) * S + t];
                const int64_t o = ref_index(d->layout, CO, OH, OW, b, grp * COg + mo, oh, ow);
                y[o] += term;
                a[o] += fabs(term);
                n[o] += 1;
              }
            }
        }
    }
  return REF_OK;
}
