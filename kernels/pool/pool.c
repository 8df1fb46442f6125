/*
 * Max and average pooling, written once over the vector layer and compiled
 * per tier.  One numeric rule everywhere, SIMD body and tails alike: max
 * propagates NaN (vf_max_nan), -inf is an ordinary value.  Every window holds
 * at least one input pixel (padding < window is validated), so max never sees
 * an empty window; padding taps are skipped, never read.
 *
 * NCHW: a task is one plane (n, c); the output row is the vector dimension
 *   when the horizontal stride is 1, scalar otherwise.
 * NHWC: a task is one output row (n, p); channels are the vector dimension.
 */
#include <math.h>

#include "kernel.h"
#include "vec/vec.h"

static size_t pool_task_count(const vconv_pool_shape *s) {
  return (size_t)(s->layout == VCONV_LAYOUT_NCHW ? s->N * s->C : s->N * s->P);
}

static float max_nan1(float acc, float x) { return (x > acc || x != x) ? x : acc; }

/* Divisor of an average window: taps inside the input, or inside the padded input. */
static int64_t window_count(const vconv_pool_shape *s, int64_t p, int64_t q) {
  const int incl = s->kind == VCONV_POOL_AVG_INCLUDE_PAD;
  const int64_t h0 = p * s->sh - s->pt, w0 = q * s->sw - s->pl;
  const int64_t rows = vconv_taps_inside(h0, s->R, incl ? -s->pt : 0, incl ? s->H + s->pb : s->H);
  const int64_t cols = vconv_taps_inside(w0, s->S, incl ? -s->pl : 0, incl ? s->W + s->pr : s->W);
  return rows * cols;
}

/* y[i] = op(y[i], x[i]) for n contiguous floats. */
static void combine_row(float *y, const float *x, int64_t n, int is_max) {
  int64_t i = 0;
  if (is_max) {
    for (; i + VEC_W <= n; i += VEC_W) vf_storeu(y + i, vf_max_nan(vf_loadu(y + i), vf_loadu(x + i)));
    if (i < n) {
      int m = (int)(n - i);
      vf_store_part(y + i, vf_max_nan(vf_load_part(y + i, m), vf_load_part(x + i, m)), m);
    }
  } else {
    for (; i + VEC_W <= n; i += VEC_W) vf_storeu(y + i, vf_add(vf_loadu(y + i), vf_loadu(x + i)));
    if (i < n) {
      int m = (int)(n - i);
      vf_store_part(y + i, vf_add(vf_load_part(y + i, m), vf_load_part(x + i, m)), m);
    }
  }
}

static void run_nchw(const vconv_pool_shape *s, const float *in, float *out, size_t task) {
  const int is_max = s->kind == VCONV_POOL_MAX;
  const float *plane = in + (int64_t)task * s->H * s->W;
  float *o = out + (int64_t)task * s->P * s->Q;
  for (int64_t p = 0; p < s->P; p++) {
    float *orow = o + p * s->Q;
    const float init = is_max ? -INFINITY : 0.0f;
    for (int64_t q = 0; q < s->Q; q++) orow[q] = init;
    for (int64_t r = 0; r < s->R; r++) {
      const int64_t ih = p * s->sh - s->pt + r;
      if (ih < 0 || ih >= s->H) continue;
      const float *irow = plane + ih * s->W;
      for (int64_t t = 0; t < s->S; t++) {
        const int64_t off = t - s->pl;
        int64_t q0, q1;
        vconv_valid_range(off, s->sw, s->W, s->Q, &q0, &q1);
        if (s->sw == 1) {
          combine_row(orow + q0, irow + q0 + off, q1 - q0, is_max);
        } else if (is_max) {
          for (int64_t q = q0; q < q1; q++) orow[q] = max_nan1(orow[q], irow[q * s->sw + off]);
        } else {
          for (int64_t q = q0; q < q1; q++) orow[q] += irow[q * s->sw + off];
        }
      }
    }
    if (!is_max)
      for (int64_t q = 0; q < s->Q; q++) orow[q] /= (float)window_count(s, p, q);
  }
}

static void run_nhwc(const vconv_pool_shape *s, const float *in, float *out, size_t task) {
  const int is_max = s->kind == VCONV_POOL_MAX;
  const int64_t n = (int64_t)task / s->P, p = (int64_t)task % s->P;
  const float *in_n = in + n * s->H * s->W * s->C;
  int64_t r0, r1;
  vconv_valid_range(p * s->sh - s->pt, 1, s->H, s->R, &r0, &r1);
  for (int64_t q = 0; q < s->Q; q++) {
    float *opix = out + ((n * s->P + p) * s->Q + q) * s->C;
    int64_t t0, t1;
    vconv_valid_range(q * s->sw - s->pl, 1, s->W, s->S, &t0, &t1);
    const vf div = vf_set1(is_max ? 1.0f : (float)window_count(s, p, q));
    for (int64_t c0 = 0; c0 < s->C; c0 += VEC_W) {
      const int m = (int)(s->C - c0 < VEC_W ? s->C - c0 : VEC_W);
      vf acc = is_max ? vf_set1(-INFINITY) : vf_zero();
      for (int64_t r = r0; r < r1; r++) {
        const int64_t ih = p * s->sh - s->pt + r;
        for (int64_t t = t0; t < t1; t++) {
          const int64_t iw = q * s->sw - s->pl + t;
          const float *ipix = in_n + (ih * s->W + iw) * s->C + c0;
          const vf x = m == VEC_W ? vf_loadu(ipix) : vf_load_part(ipix, m);
          acc = is_max ? vf_max_nan(acc, x) : vf_add(acc, x);
        }
      }
      if (!is_max) acc = vf_div(acc, div);
      if (m == VEC_W)
        vf_storeu(opix + c0, acc);
      else
        vf_store_part(opix + c0, acc, m);
    }
  }
}

static void pool_run(const vconv_pool_shape *s, const float *input, float *output, size_t task) {
  if (s->layout == VCONV_LAYOUT_NCHW)
    run_nchw(s, input, output, task);
  else
    run_nhwc(s, input, output, task);
}

#define STR_(x) #x
#define STR(x) STR_(x)

const vconv_pool_kernel VCONV_TIERED(vconv_pool_kernel) = {
    .isa = VEC_ISA,
    .name = "pool/" STR(VCONV_TIER),
    .task_count = pool_task_count,
    .run = pool_run,
};
