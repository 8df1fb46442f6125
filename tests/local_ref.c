/* Float64 reference of vconv_local2d (see local_ref.h). */
#include "local_ref.h"

#include <math.h>
#include <string.h>

void local_ref_conv_desc(const vconv_local2d_desc *d, vconv_conv2d_desc *c) {
  vconv_conv2d_desc_init(c);
  c->batch = d->batch;
  c->in_channels = d->in_channels;
  c->in_height = d->in_height;
  c->in_width = d->in_width;
  c->out_channels = d->out_channels;
  c->kernel_h = d->kernel_h;
  c->kernel_w = d->kernel_w;
  c->stride_h = d->stride_h;
  c->stride_w = d->stride_w;
  c->dilation_h = d->dilation_h;
  c->dilation_w = d->dilation_w;
  c->pad_top = d->pad_top;
  c->pad_bottom = d->pad_bottom;
  c->pad_left = d->pad_left;
  c->pad_right = d->pad_right;
  c->padding_mode = d->padding_mode;
  c->groups = d->groups;
  c->layout = d->layout;
  c->activation = d->activation;
  c->act_min = d->act_min;
  c->act_max = d->act_max;
}

int local_ref_geometry(const vconv_local2d_desc *d, local_geom *lg) {
  vconv_conv2d_desc c;
  local_ref_conv_desc(d, &c);
  const int st = ref_conv2d_geometry(&c, &lg->g);
  if (st != REF_OK) return st;
  lg->th = d->tile_h ? d->tile_h : lg->g.h.out;
  lg->tw = d->tile_w ? d->tile_w : lg->g.w.out;
  if (lg->th < 1 || lg->tw < 1 || lg->g.h.out % lg->th || lg->g.w.out % lg->tw) return REF_INVALID;
  return REF_OK;
}

/* Weight W[p % th][q % tw][k][c][r][s] of output (p, q). */
static int64_t widx(const vconv_local2d_desc *d, const local_geom *lg, int64_t p, int64_t q,
                    int64_t k, int64_t c, int64_t r, int64_t s) {
  const int64_t Cg = d->in_channels / d->groups;
  const int64_t pos = (p % lg->th) * lg->tw + q % lg->tw;
  return (((pos * d->out_channels + k) * Cg + c) * d->kernel_h + r) * d->kernel_w + s;
}

/* Input row / column of tap r at output p, or -1 outside the input. */
static int64_t in_row(const vconv_local2d_desc *d, const local_geom *lg, int64_t p, int64_t r) {
  const int64_t ih = p * d->stride_h - lg->g.h.pad_begin + r * d->dilation_h;
  return ih >= 0 && ih < d->in_height ? ih : -1;
}
static int64_t in_col(const vconv_local2d_desc *d, const local_geom *lg, int64_t q, int64_t s) {
  const int64_t iw = q * d->stride_w - lg->g.w.pad_begin + s * d->dilation_w;
  return iw >= 0 && iw < d->in_width ? iw : -1;
}

static double act(const vconv_local2d_desc *d, double v) {
  if (d->activation == VCONV_ACTIVATION_RELU) return v < 0 ? 0 : v;
  if (d->activation == VCONV_ACTIVATION_CLAMP) return v < d->act_min ? d->act_min : v > d->act_max ? d->act_max : v;
  return v;
}

static int64_t bias_index(const vconv_local2d_desc *d, const local_geom *lg, int64_t p, int64_t q,
                          int64_t k) {
  if (d->bias == VCONV_LOCAL_BIAS_CHANNEL) return k;
  return ((p % lg->th) * lg->tw + q % lg->tw) * d->out_channels + k;
}

int local_ref_forward(const vconv_local2d_desc *d, const float *x, const float *w, const float *b,
                      double *y, double *a, int32_t *n) {
  local_geom lg;
  const int st = local_ref_geometry(d, &lg);
  if (st != REF_OK) return st;
  const int64_t N = d->batch, C = d->in_channels, H = d->in_height, W = d->in_width;
  const int64_t K = d->out_channels, P = lg.g.h.out, Q = lg.g.w.out;
  const int64_t Cg = C / d->groups, Kg = K / d->groups;
  for (int64_t i = 0; i < N; i++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t p = 0; p < P; p++)
        for (int64_t q = 0; q < Q; q++) {
          double sum = 0, mag = 0;
          int32_t terms = 1;
          if (d->bias != VCONV_LOCAL_BIAS_NONE) {
            sum = b[bias_index(d, &lg, p, q, k)];
            mag = fabs(sum);
          }
          for (int64_t c = 0; c < Cg; c++)
            for (int64_t r = 0; r < d->kernel_h; r++) {
              const int64_t ih = in_row(d, &lg, p, r);
              if (ih < 0) continue;
              for (int64_t s = 0; s < d->kernel_w; s++) {
                const int64_t iw = in_col(d, &lg, q, s);
                if (iw < 0) continue;
                const double t = (double)x[ref_index(d->layout, C, H, W, i, k / Kg * Cg + c, ih, iw)] *
                                 (double)w[widx(d, &lg, p, q, k, c, r, s)];
                sum += t;
                mag += fabs(t);
                terms++;
              }
            }
          const int64_t o = ref_index(d->layout, K, P, Q, i, k, p, q);
          y[o] = act(d, sum);
          a[o] = mag;
          n[o] = terms;
        }
  return REF_OK;
}

int local_ref_backward_data(const vconv_local2d_desc *d, const float *w, const float *dy,
                            double *dx, double *a, int32_t *n) {
  local_geom lg;
  const int st = local_ref_geometry(d, &lg);
  if (st != REF_OK) return st;
  const int64_t N = d->batch, C = d->in_channels, H = d->in_height, W = d->in_width;
  const int64_t K = d->out_channels, P = lg.g.h.out, Q = lg.g.w.out;
  const int64_t Cg = C / d->groups, Kg = K / d->groups;
  const int64_t total = N * C * H * W;
  for (int64_t i = 0; i < total; i++) dx[i] = a[i] = 0, n[i] = 1;
  /* Scatter from every output and tap: the other direction from the library's gather. */
  for (int64_t i = 0; i < N; i++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t p = 0; p < P; p++)
        for (int64_t q = 0; q < Q; q++) {
          const double g = dy[ref_index(d->layout, K, P, Q, i, k, p, q)];
          for (int64_t c = 0; c < Cg; c++)
            for (int64_t r = 0; r < d->kernel_h; r++) {
              const int64_t ih = in_row(d, &lg, p, r);
              if (ih < 0) continue;
              for (int64_t s = 0; s < d->kernel_w; s++) {
                const int64_t iw = in_col(d, &lg, q, s);
                if (iw < 0) continue;
                const double t = g * (double)w[widx(d, &lg, p, q, k, c, r, s)];
                const int64_t o = ref_index(d->layout, C, H, W, i, k / Kg * Cg + c, ih, iw);
                dx[o] += t;
                a[o] += fabs(t);
                n[o]++;
              }
            }
        }
  return REF_OK;
}

int local_ref_backward_weights(const vconv_local2d_desc *d, const float *x, const float *dy,
                               double *dw, double *a, int32_t *n, double *db, double *ab,
                               int32_t *nb) {
  local_geom lg;
  const int st = local_ref_geometry(d, &lg);
  if (st != REF_OK) return st;
  const int64_t N = d->batch, C = d->in_channels, H = d->in_height, W = d->in_width;
  const int64_t K = d->out_channels, P = lg.g.h.out, Q = lg.g.w.out;
  const int64_t Cg = C / d->groups, Kg = K / d->groups;
  const int64_t nw = lg.th * lg.tw * K * Cg * d->kernel_h * d->kernel_w;
  for (int64_t i = 0; i < nw; i++) dw[i] = a[i] = 0, n[i] = 1;
  const int64_t nbias = d->bias == VCONV_LOCAL_BIAS_CHANNEL ? K
                        : d->bias == VCONV_LOCAL_BIAS_POSITION ? lg.th * lg.tw * K : 0;
  if (db)
    for (int64_t i = 0; i < nbias; i++) db[i] = ab[i] = 0, nb[i] = 1;
  for (int64_t i = 0; i < N; i++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t p = 0; p < P; p++)
        for (int64_t q = 0; q < Q; q++) {
          const double g = dy[ref_index(d->layout, K, P, Q, i, k, p, q)];
          if (db && nbias) {
            const int64_t o = bias_index(d, &lg, p, q, k);
            db[o] += g;
            ab[o] += fabs(g);
            nb[o]++;
          }
          for (int64_t c = 0; c < Cg; c++)
            for (int64_t r = 0; r < d->kernel_h; r++) {
              const int64_t ih = in_row(d, &lg, p, r);
              if (ih < 0) continue;
              for (int64_t s = 0; s < d->kernel_w; s++) {
                const int64_t iw = in_col(d, &lg, q, s);
                if (iw < 0) continue;
                const double t = g * (double)x[ref_index(d->layout, C, H, W, i, k / Kg * Cg + c, ih, iw)];
                const int64_t o = widx(d, &lg, p, q, k, c, r, s);
                dw[o] += t;
                a[o] += fabs(t);
                n[o]++;
              }
            }
        }
  return REF_OK;
}
