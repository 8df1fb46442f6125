/*
 * Direct convolution, written once over the vector layer and compiled per
 * tier.  Taps that fall into the padding are skipped by computing, per tap,
 * the range of outputs that read real input; nothing is copied into a padded
 * buffer.
 *
 * NCHW: a task is one output plane (n, k).  The output row is the vector
 *   dimension, so layers with few channels (LeNet C1: 1 -> 6) still vectorise.
 * NHWC: a task is one output row (n, p); output channels are the vector
 *   dimension, weights packed [g][r][s][c][Kg rounded up to VEC_W] so every
 *   load is a full vector of our own memory.
 * A connection table (LeNet-5 C3) visits only the connected (k, c) pairs.
 */
#include <math.h>
#include <string.h>

#include "kernel.h"
#include "vec/vec.h"

static int64_t round_up_w(int64_t x) { return (x + VEC_W - 1) / VEC_W * VEC_W; }

static int nhwc_packed(const vconv_conv_shape *s) {
  return s->layout == VCONV_LAYOUT_NHWC && s->conn == NULL;
}

static int direct_applicable(const vconv_conv_shape *s) {
  (void)s;
  return 1;
}

static size_t direct_packed_floats(const vconv_conv_shape *s) {
  if (nhwc_packed(s)) return (size_t)(s->G * s->R * s->S * s->Cg * round_up_w(s->Kg));
  return (size_t)(s->K * s->Cg * s->R * s->S);
}

static void direct_pack(const vconv_conv_shape *s, const float *w, float *packed) {
  if (!nhwc_packed(s)) {
    memcpy(packed, w, direct_packed_floats(s) * sizeof(float));
    return;
  }
  const int64_t kp = round_up_w(s->Kg);
  memset(packed, 0, direct_packed_floats(s) * sizeof(float));
  for (int64_t g = 0; g < s->G; g++)
    for (int64_t kg = 0; kg < s->Kg; kg++)
      for (int64_t c = 0; c < s->Cg; c++)
        for (int64_t r = 0; r < s->R; r++)
          for (int64_t t = 0; t < s->S; t++)
            packed[(((g * s->R + r) * s->S + t) * s->Cg + c) * kp + kg] =
                w[(((g * s->Kg + kg) * s->Cg + c) * s->R + r) * s->S + t];
}

static size_t direct_task_workspace(const vconv_conv_shape *s) {
  (void)s;
  return 0;
}

static size_t direct_task_count(const vconv_conv_shape *s) {
  return (size_t)(s->layout == VCONV_LAYOUT_NCHW ? s->N * s->K : s->N * s->P);
}

static vf activate(const vconv_conv_shape *s, vf x) {
  if (s->act == VCONV_ACTIVATION_NONE) return x;
  return vf_upper(vf_set1(s->act_max), vf_lower(vf_set1(s->act_min), x));
}

static float activate1(const vconv_conv_shape *s, float x) {
  if (s->act == VCONV_ACTIVATION_NONE) return x;
  x = x < s->act_min ? s->act_min : x;
  return x > s->act_max ? s->act_max : x;
}

/* y[i] += a * x[i] for n contiguous floats. */
static void axpy(float *y, const float *x, float a, int64_t n) {
  const vf va = vf_set1(a);
  int64_t i = 0;
  for (; i + VEC_W <= n; i += VEC_W) vf_storeu(y + i, vf_fmadd(va, vf_loadu(x + i), vf_loadu(y + i)));
  if (i < n) {
    int m = (int)(n - i);
    vf_store_part(y + i, vf_fmadd(va, vf_load_part(x + i, m), vf_load_part(y + i, m)), m);
  }
}

static void fill(float *y, float v, int64_t n) {
  const vf vv = vf_set1(v);
  int64_t i = 0;
  for (; i + VEC_W <= n; i += VEC_W) vf_storeu(y + i, vv);
  if (i < n) vf_store_part(y + i, vv, (int)(n - i));
}

static void activate_row(const vconv_conv_shape *s, float *y, int64_t n) {
  if (s->act == VCONV_ACTIVATION_NONE) return;
  int64_t i = 0;
  for (; i + VEC_W <= n; i += VEC_W) vf_storeu(y + i, activate(s, vf_loadu(y + i)));
  if (i < n) {
    int m = (int)(n - i);
    vf_store_part(y + i, activate(s, vf_load_part(y + i, m)), m);
  }
}

static void run_nchw(const vconv_conv_shape *s, const float *w, const float *bias,
                     const float *in, float *out, size_t task) {
  const int64_t n = (int64_t)task / s->K, k = (int64_t)task % s->K, g = k / s->Kg;
  const float *ib = in + (n * s->C + g * s->Cg) * s->H * s->W;
  const float *wk = w + k * s->Cg * s->R * s->S;
  const unsigned char *conn = s->conn ? s->conn + k * s->Cg : NULL;
  float *o = out + (n * s->K + k) * s->P * s->Q;

  for (int64_t p = 0; p < s->P; p++) {
    float *orow = o + p * s->Q;
    fill(orow, bias ? bias[k] : 0.0f, s->Q);
    for (int64_t c = 0; c < s->Cg; c++) {
      if (conn && !conn[c]) continue;
      for (int64_t r = 0; r < s->R; r++) {
        const int64_t ih = p * s->sh - s->pt + r * s->dh;
        if (ih < 0 || ih >= s->H) continue;
        const float *irow = ib + (c * s->H + ih) * s->W;
        for (int64_t t = 0; t < s->S; t++) {
          const float wv = wk[(c * s->R + r) * s->S + t];
          const int64_t off = t * s->dw - s->pl; /* iw = q * sw + off */
          int64_t q0, q1;
          vconv_valid_range(off, s->sw, s->W, s->Q, &q0, &q1);
          if (s->sw == 1) {
            axpy(orow + q0, irow + q0 + off, wv, q1 - q0);
          } else {
            for (int64_t q = q0; q < q1; q++) orow[q] = wv * irow[q * s->sw + off] + orow[q];
          }
        }
      }
    }
    activate_row(s, orow, s->Q);
  }
}

/* NHWC with a connection table: one output channel at a time over its connected inputs. */
static void nhwc_sparse_pixel(const vconv_conv_shape *s, const float *w, const float *bias,
                              const float *in_n, float *opix, int64_t p, int64_t q) {
  for (int64_t k = 0; k < s->K; k++) {
    const int64_t g = k / s->Kg;
    const unsigned char *conn = s->conn + k * s->Cg;
    float acc = bias ? bias[k] : 0.0f;
    for (int64_t r = 0; r < s->R; r++) {
      const int64_t ih = p * s->sh - s->pt + r * s->dh;
      if (ih < 0 || ih >= s->H) continue;
      for (int64_t t = 0; t < s->S; t++) {
        const int64_t iw = q * s->sw - s->pl + t * s->dw;
        if (iw < 0 || iw >= s->W) continue;
        const float *ipix = in_n + (ih * s->W + iw) * s->C + g * s->Cg;
        for (int64_t c = 0; c < s->Cg; c++)
          if (conn[c]) acc = ipix[c] * w[((k * s->Cg + c) * s->R + r) * s->S + t] + acc;
      }
    }
    opix[k] = activate1(s, acc);
  }
}

static void run_nhwc(const vconv_conv_shape *s, const float *w, const float *bias,
                     const float *in, float *out, size_t task) {
  const int64_t n = (int64_t)task / s->P, p = (int64_t)task % s->P;
  const int64_t kp = round_up_w(s->Kg);
  const float *in_n = in + n * s->H * s->W * s->C;
  int64_t r0, r1;
  vconv_valid_range(-s->pt + p * s->sh, s->dh, s->H, s->R, &r0, &r1);

  for (int64_t q = 0; q < s->Q; q++) {
    float *opix = out + ((n * s->P + p) * s->Q + q) * s->K;
    if (s->conn) {
      nhwc_sparse_pixel(s, w, bias, in_n, opix, p, q);
      continue;
    }
    int64_t t0, t1;
    vconv_valid_range(-s->pl + q * s->sw, s->dw, s->W, s->S, &t0, &t1);
    for (int64_t g = 0; g < s->G; g++) {
      for (int64_t k0 = 0; k0 < s->Kg; k0 += VEC_W) {
        const int m = (int)(s->Kg - k0 < VEC_W ? s->Kg - k0 : VEC_W);
        const int64_t kk = g * s->Kg + k0;
        vf acc = bias ? vf_load_part(bias + kk, m) : vf_zero();
        for (int64_t r = r0; r < r1; r++) {
          const int64_t ih = p * s->sh - s->pt + r * s->dh;
          for (int64_t t = t0; t < t1; t++) {
            const int64_t iw = q * s->sw - s->pl + t * s->dw;
            const float *ipix = in_n + (ih * s->W + iw) * s->C + g * s->Cg;
            const float *wp = w + ((g * s->R + r) * s->S + t) * s->Cg * kp + k0;
            for (int64_t c = 0; c < s->Cg; c++)
              acc = vf_fmadd(vf_set1(ipix[c]), vf_loadu(wp + c * kp), acc);
          }
        }
        vf_store_part(opix + kk, activate(s, acc), m);
      }
    }
  }
}

static void direct_run(const vconv_conv_shape *s, const float *packed, const float *bias,
                       const float *input, float *output, void *workspace, size_t task) {
  (void)workspace;
  if (s->layout == VCONV_LAYOUT_NCHW)
    run_nchw(s, packed, bias, input, output, task);
  else
    run_nhwc(s, packed, bias, input, output, task);
}

#define STR_(x) #x
#define STR(x) STR_(x)

const vconv_conv_kernel VCONV_TIERED(vconv_direct_kernel) = {
    .algo = VCONV_ALGO_DIRECT,
    .isa = VEC_ISA,
    .name = "direct/" STR(VCONV_TIER),
    .applicable = direct_applicable,
    .packed_floats = direct_packed_floats,
    .pack = direct_pack,
    .task_workspace = direct_task_workspace,
    .task_count = direct_task_count,
    .run = direct_run,
};
