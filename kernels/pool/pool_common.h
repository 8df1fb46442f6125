/*
 * Scalar pieces of the pooling kernels, shared by forward and backward and
 * compiled into every tier: window geometry, the one-window routines that
 * border outputs, saved indices, stochastic pooling and recomputed gradients
 * use, and the stochastic sampler.
 *
 * Everything here is plain C on floats and doubles with the operations
 * written one per statement, so it gives the same bits in every tier (the
 * build is ISO C, so GCC does not contract a*b+c into an FMA; separate
 * statements keep clang from doing it either).  Stochastic pooling is done
 * only here, which is what makes its samples identical in every tier.
 */
#ifndef VCONV_POOL_COMMON_H
#define VCONV_POOL_COMMON_H

#include <math.h>
#include <stdint.h>

#include "kernel.h"

#if defined(__GNUC__)
#  define POOL_INLINE static inline __attribute__((always_inline))
#else
#  define POOL_INLINE static inline
#endif

/* One (n, c) plane: element (h, w) is base[h * rs + w * cs] (NCHW: cs = 1, rs = W;
 * NHWC: cs = C, rs = W * C). */
typedef struct pool_plane {
  const float *base;
  int64_t rs, cs;
} pool_plane;

/* vf_maximum for one float (see vec_scalar.h): NaN if either is NaN, the OR of
 * equal operands (-0 beats +0), so the result never depends on the scan order. */
static inline float pool_max1(float acc, float x) {
  if (x > acc) return x;
  if (acc > x) return acc;
  union { float f; uint32_t u; } a = {acc}, b = {x};
  a.u |= b.u;
  return a.f;
}

/* Window (p, q) starts at input row h0 / column w0; its taps r in [r0, r1) and
 * t in [t0, t1) are the ones inside the input (dilation steps over rows/columns). */
typedef struct pool_win {
  int64_t h0, w0, r0, r1, t0, t1;
} pool_win;

/* Windows that tile a plane exactly (LeNet-5's S2 and S4): 2x2 at stride 2,
 * no padding or dilation, H = 2P, W = 2Q.  Each input is in one window. */
static inline int pool_tiles_2x2(const vconv_pool_shape *s) {
  return s->R == 2 && s->S == 2 && s->sh == 2 && s->sw == 2 && s->dh == 1 && s->dw == 1 &&
         s->pt == 0 && s->pl == 0 && s->H == 2 * s->P && s->W == 2 * s->Q;
}

static inline pool_win pool_window_at(const vconv_pool_shape *s, int64_t p, int64_t q) {
  pool_win w;
  w.h0 = p * s->sh - s->pt;
  w.w0 = q * s->sw - s->pl;
  vconv_valid_range(w.h0, s->dh, s->H, s->R, &w.r0, &w.r1);
  vconv_valid_range(w.w0, s->dw, s->W, s->S, &w.t0, &w.t1);
  return w;
}

/* Of the taps start + i * dilation, 0 <= i < taps, those inside [lo, hi). */
static inline int64_t pool_taps_inside(int64_t start, int64_t taps, int64_t dilation, int64_t lo,
                                       int64_t hi) {
  if (dilation == 1) return vconv_taps_inside(start, taps, lo, hi);
  int64_t a, b;
  vconv_valid_range(start - lo, dilation, hi - lo, taps, &a, &b);
  return b - a;
}

/* Rows / columns an average divides by: taps inside the input, or inside the
 * padded input for AVG_INCLUDE_PAD (ceil mode can run past the padding). */
static inline int64_t pool_avg_rows(const vconv_pool_shape *s, int64_t h0) {
  const int incl = s->kind == VCONV_POOL_AVG_INCLUDE_PAD;
  return pool_taps_inside(h0, s->R, s->dh, incl ? -s->pt : 0, incl ? s->H + s->pb : s->H);
}
static inline int64_t pool_avg_cols(const vconv_pool_shape *s, int64_t w0) {
  const int incl = s->kind == VCONV_POOL_AVG_INCLUDE_PAD;
  return pool_taps_inside(w0, s->S, s->dw, incl ? -s->pl : 0, incl ? s->W + s->pr : s->W);
}

/* 1 / divisor, 0 for a window with no tap to divide by (dilation can step
 * over the whole input): such a window's sum is 0, and so is its average. */
static inline float pool_avg_scale(const vconv_pool_shape *s, int64_t h0, int64_t w0) {
  const int64_t n = pool_avg_rows(s, h0) * pool_avg_cols(s, w0);
  return n ? 1.0f / (float)n : 0.0f;
}

/* Sum of the weights of the taps inside the input, in scan order (rows, then
 * columns), as create computes s->wsum for a whole window: the same bits. */
static inline float pool_wsum(const vconv_pool_shape *s, const pool_win *w) {
  if (w->r0 == 0 && w->r1 == s->R && w->t0 == 0 && w->t1 == s->S) return s->wsum;
  float a = 0.0f;
  for (int64_t r = w->r0; r < w->r1; r++)
    for (int64_t t = w->t0; t < w->t1; t++) a += s->weights[r * s->S + t];
  return a;
}

/*
 * LP (p != 2) over one window, in double: M = the largest |x|, then
 * M (sum (|x| / M)^p)^(1/p), every ratio at most 1, so no power overflows and
 * those that underflow are below the sum's last bit; rounded once.
 */
static inline float pool_lp(const vconv_pool_shape *s, pool_plane v, const pool_win *w) {
  double m = 0.0;
  for (int64_t r = w->r0; r < w->r1; r++)
    for (int64_t t = w->t0; t < w->t1; t++) {
      const float x = v.base[(w->h0 + r * s->dh) * v.rs + (w->w0 + t * s->dw) * v.cs];
      if (x != x) return NAN;
      const double a = fabs((double)x);
      if (a > m) m = a;
    }
  if (m == 0.0 || isinf(m)) return (float)m;
  double sum = 0.0;
  for (int64_t r = w->r0; r < w->r1; r++)
    for (int64_t t = w->t0; t < w->t1; t++) {
      const float x = v.base[(w->h0 + r * s->dh) * v.rs + (w->w0 + t * s->dw) * v.cs];
      sum += pow(fabs((double)x) / m, s->p);
    }
  return (float)(m * pow(sum, 1.0 / s->p));
}

/* Gradient of LP for one window into g (grad_input with the input's strides):
 * gy sign(x) (|x| / y)^(p - 1), y the forward result, in double. */
static inline void pool_lp_grad(const vconv_pool_shape *s, pool_plane v, float *g, int64_t p,
                                int64_t q, float gy, float y) {
  if (y == 0.0f) return;
  const pool_win w = pool_window_at(s, p, q);
  for (int64_t r = w.r0; r < w.r1; r++)
    for (int64_t t = w.t0; t < w.t1; t++) {
      const int64_t o = (w.h0 + r * s->dh) * v.rs + (w.w0 + t * s->dw) * v.cs;
      const float x = v.base[o];
      if (x == 0.0f) continue;
      g[o] += (float)((double)gy * copysign(pow(fabs((double)x) / (double)y, s->p - 1.0), (double)x));
    }
}

/*
 * Output of one window, every kind but STOCHASTIC, scanning the taps in order
 * (rows, then columns).  idx (MAX only, may be NULL) receives the flat index
 * ih * W + iw of the first tap equal to the result, or of the first NaN; -1
 * for a window without taps (possible only with dilation; max is -inf there).
 */
static inline float pool_window(const vconv_pool_shape *s, pool_plane v, int64_t p, int64_t q,
                                int32_t *idx) {
  const pool_win w = pool_window_at(s, p, q);
  if (s->kind == VCONV_POOL_LP) {
    if (idx) *idx = -1;
    return pool_lp(s, v, &w);
  }
  if (s->kind == VCONV_POOL_MAX) {
    float m = -INFINITY;
    int64_t k = -1;
    for (int64_t r = w.r0; r < w.r1; r++) {
      const int64_t ih = w.h0 + r * s->dh;
      for (int64_t t = w.t0; t < w.t1; t++) {
        const int64_t iw = w.w0 + t * s->dw;
        const float x = v.base[ih * v.rs + iw * v.cs];
        /* The index moves only to a strictly larger value or to the first NaN. */
        if (k < 0 || x > m || (x != x && m == m)) k = ih * s->W + iw;
        m = pool_max1(m, x);
      }
    }
    if (idx) *idx = (int32_t)k;
    return m;
  }
  float acc = 0.0f;
  for (int64_t r = w.r0; r < w.r1; r++) {
    const float *row = v.base + (w.h0 + r * s->dh) * v.rs;
    for (int64_t t = w.t0; t < w.t1; t++) {
      const float x = row[(w.w0 + t * s->dw) * v.cs];
      float term = x;
      if (s->kind == VCONV_POOL_L2) term = x * x;
      if (s->kind == VCONV_POOL_WEIGHTED) term = s->weights[r * s->S + t] * x;
      acc += term;
    }
  }
  if (idx) *idx = -1;
  switch (s->kind) {
    case VCONV_POOL_L2: return sqrtf(acc);
    case VCONV_POOL_WEIGHTED: {
      /* No weight inside the input: +0, or NaN where IEEE arithmetic made the
       * sum NaN (a NaN tap, or 0 * inf). */
      const float d = pool_wsum(s, &w);
      return d != 0.0f ? acc / d : acc * 0.0f + 0.0f;
    }
    default: {
      const int64_t n = pool_avg_rows(s, w.h0) * pool_avg_cols(s, w.w0);
      return n ? acc / (float)n : acc;  /* no tap: acc is the empty sum, 0 */
    }
  }
}

/* ---- stochastic pooling -------------------------------------------------- */

/* splitmix64's output function: a bijection of 64-bit words that mixes every bit. */
static inline uint64_t pool_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* The header's uniform number of output i (NCHW flat index), in [0, 1) on a 2^-53 grid:
 * counter-based, so every tier, layout and thread split draws the same number. */
static inline double pool_uniform(uint64_t seed, uint64_t i) {
  return (double)(pool_mix64(seed + (i + 1) * 0x9e3779b97f4a7c15ull) >> 11) * 0x1p-53;
}

/*
 * STOCHASTIC over r = max(x, 0), in double (sums of floats cannot overflow or
 * lose the order of magnitude there).  flat is the output's NCHW index (the
 * sampler's key).  Training: the first tap in scan order whose running sum
 * exceeds u * sum r; inference: sum r^2 / sum r.  A NaN gives NaN (index: the
 * first NaN), else a +inf gives +inf (index: the first +inf), and sum r == 0
 * gives 0 with index -1.
 */
static inline float pool_stochastic(const vconv_pool_shape *s, pool_plane v, int64_t flat,
                                    int64_t p, int64_t q, int32_t *idx) {
  const pool_win w = pool_window_at(s, p, q);
  double sum = 0.0, sum2 = 0.0;
  int64_t first_nan = -1, first_inf = -1;
  for (int64_t r = w.r0; r < w.r1; r++) {
    const int64_t ih = w.h0 + r;
    for (int64_t t = w.t0; t < w.t1; t++) {
      const int64_t iw = w.w0 + t;
      const float x = v.base[ih * v.rs + iw * v.cs];
      if (x != x) {
        if (first_nan < 0) first_nan = ih * s->W + iw;
      } else if (x == INFINITY) {
        if (first_inf < 0) first_inf = ih * s->W + iw;
      } else if (x > 0.0f) {
        const double d = x;
        const double d2 = d * d;
        sum += d;
        sum2 += d2;
      }
    }
  }
  int64_t k = -1;
  float y;
  if (first_nan >= 0) {
    k = first_nan;
    y = NAN;
  } else if (first_inf >= 0) {
    k = first_inf;
    y = INFINITY;
  } else if (sum == 0.0) {
    y = 0.0f;
  } else if (!s->training) {
    y = (float)(sum2 / sum);
  } else {
    /* u < 1 and the running sum reaches sum exactly (same order), so some tap
     * exceeds the threshold, and it has r > 0; `last` only guards the logic. */
    const double thr = pool_uniform(s->seed, (uint64_t)flat) * sum;
    double run = 0.0;
    int64_t last = -1;
    y = 0.0f;
    for (int64_t r = w.r0; r < w.r1 && k < 0; r++) {
      const int64_t ih = w.h0 + r;
      for (int64_t t = w.t0; t < w.t1; t++) {
        const int64_t iw = w.w0 + t;
        const float x = v.base[ih * v.rs + iw * v.cs];
        if (!(x > 0.0f)) continue;
        run += (double)x;
        last = ih * s->W + iw;
        y = x;
        if (run > thr) {
          k = last;
          break;
        }
      }
    }
    if (k < 0) k = last;
  }
  if (idx) *idx = (int32_t)(s->training ? k : -1);
  return y;
}

/* Gradient of STOCHASTIC inference for one window, added into g (a plane view
 * of grad_input with the input's strides): dy/dx_i = (2 r_i - y) / sum r for
 * x_i > 0, else 0; nothing for windows with NaN, +inf or sum r == 0. */
static inline void pool_stochastic_grad(const vconv_pool_shape *s, pool_plane v, float *g,
                                        int64_t p, int64_t q, float gy) {
  const pool_win w = pool_window_at(s, p, q);
  double sum = 0.0, sum2 = 0.0;
  for (int64_t r = w.r0; r < w.r1; r++)
    for (int64_t t = w.t0; t < w.t1; t++) {
      const float x = v.base[(w.h0 + r) * v.rs + (w.w0 + t) * v.cs];
      if (x != x || x == INFINITY) return;
      if (x > 0.0f) {
        const double d = x;
        const double d2 = d * d;
        sum += d;
        sum2 += d2;
      }
    }
  if (sum == 0.0) return;
  const double y = sum2 / sum, scale = (double)gy / sum;
  for (int64_t r = w.r0; r < w.r1; r++)
    for (int64_t t = w.t0; t < w.t1; t++) {
      const int64_t o = (w.h0 + r) * v.rs + (w.w0 + t) * v.cs;
      const float x = v.base[o];
      if (x > 0.0f) {
        const double d = 2.0 * (double)x - y;
        g[o] += (float)(scale * d);
      }
    }
}

#endif
