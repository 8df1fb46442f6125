/*
 * Pooling backward, written once over the vector layer and compiled per tier:
 * grad_input = sum over the windows covering each input of the window's
 * gradient share.  Every task owns a disjoint part of grad_input (NCHW: one
 * plane; NHWC: one image's block of channels), zeroes it and adds the
 * windows' shares in a fixed order (windows in output order, taps in scan
 * order), so results do not depend on the thread count.
 *
 * Max and stochastic training send a window's gradient to one tap: the saved
 * index, or the same index recomputed with the forward's scalar routine.
 * Average, weighted and L2 are linear in the gradient: coefficient =
 * gradient / divisor (count, in-input weight sum, or the forward result y for
 * L2), times 1, the tap's weight or the tap's input (dy/dx = x / y).  NCHW at
 * stride 1 adds a whole row of coefficients with vector loads; NHWC adds a
 * vector of channels per tap.  A window whose coefficient overflows (a
 * subnormal weight sum or y under a normal gradient) is spilled: it adds
 * gradient * (weight / sum) or gradient * (x / y) tap by tap instead, ratios
 * of at most 1, so its taps get what they are owed rather than inf and NaN.
 */
#include <math.h>
#include <string.h>

#include "kernel.h"
#include "pool/pool_common.h"
#include "vec/vec.h"

#define STACK_FLOATS 4096
/* NHWC tasks own this many channels of one image: disjoint slices of grad_input. */
#define NHWC_BLOCK 64

/* n valid floats at p: a whole vector while it stays before end, else only the
 * valid ones.  For grad_input, end is the end of the task's own part: a load
 * must not touch floats another task is writing, even in lanes it discards. */
POOL_INLINE vf load_n(const float *p, int64_t n, const float *end) {
  if (n >= VEC_W || end - p >= VEC_W) return vf_loadu(p);
  return vf_load_part(p, (int)n);
}

POOL_INLINE void store_n(float *p, vf v, int64_t n) {
  if (n >= VEC_W)
    vf_storeu(p, v);
  else
    vf_store_part(p, v, (int)n);
}

static int is_linear(const vconv_pool_shape *s) {
  return s->kind == VCONV_POOL_AVG_INCLUDE_PAD || s->kind == VCONV_POOL_AVG_EXCLUDE_PAD ||
         s->kind == VCONV_POOL_WEIGHTED || s->kind == VCONV_POOL_L2;
}

size_t VCONV_TIERED(vconv_pool_bwd_task_count)(const vconv_pool_shape *s) {
  if (s->layout == VCONV_LAYOUT_NCHW) return (size_t)(s->N * s->C);
  return (size_t)(s->N * ((s->C + NHWC_BLOCK - 1) / NHWC_BLOCK));
}

static size_t nchw_coef_floats(const vconv_pool_shape *s) { return (size_t)s->Q + 2 * VEC_W; }

size_t VCONV_TIERED(vconv_pool_bwd_task_workspace)(const vconv_pool_shape *s) {
  if (s->layout != VCONV_LAYOUT_NCHW || !is_linear(s)) return 0;
  const size_t f = nchw_coef_floats(s);
  return f <= STACK_FLOATS ? 0 : f * sizeof(float);
}

/* Divisor of window w: the in-input weight sum (weighted), the tap count
 * (averages); L2 divides by each output's own y instead. */
static float divisor(const vconv_pool_shape *s, const pool_win *w) {
  if (s->kind == VCONV_POOL_WEIGHTED) return pool_wsum(s, w);
  return (float)(pool_avg_rows(s, w->h0) * pool_avg_cols(s, w->w0));
}

/* A window's coefficient: its gradient over the divisor, 0 where the divisor
 * is 0 (a weighted window with zero in-input weights, L2 with y = 0).  0 too
 * where the quotient overflows a finite gradient: *spill is then set and the
 * window goes through spill_window. */
static float coefficient(const vconv_pool_shape *s, float d, float gy, float y, int *spill) {
  if (s->kind == VCONV_POOL_L2) d = y;
  if (d == 0.0f) return 0.0f;
  const float c = gy / d;
  if (isinf(c) && !isinf(gy)) {
    *spill = 1;
    return 0.0f;
  }
  return c;
}

/* One spilled window of one channel: elements of x and gx are `stride` apart
 * per pixel (1 in NCHW, C in NHWC), d is its divisor (y for L2). */
static void spill_window(const vconv_pool_shape *s, const pool_win *w, float gy, float d,
                         const float *x, float *gx, int64_t stride) {
  for (int64_t r = w->r0; r < w->r1; r++)
    for (int64_t t = w->t0; t < w->t1; t++) {
      const int64_t i = ((w->h0 + r * s->dh) * s->W + (w->w0 + t * s->dw)) * stride;
      const float num = s->kind == VCONV_POOL_L2 ? x[i] : s->weights[r * s->S + t];
      gx[i] += gy * (num / d);
    }
}

/* Average, weighted and L2 over one NCHW plane. */
static void nchw_linear(const vconv_pool_shape *s, const float *x, const float *y, const float *gy,
                        float *gx, const float *x_end, const float *gx_end, float *coef) {
  const int64_t W = s->W;
  for (int64_t p = 0; p < s->P; p++) {
    int spill = 0;
    for (int64_t q = 0; q < s->Q; q++) {
      const pool_win w = pool_window_at(s, p, q);
      coef[q] = coefficient(s, divisor(s, &w), gy[p * s->Q + q], y ? y[p * s->Q + q] : 0.0f, &spill);
    }
    int64_t r0, r1;
    const int64_t h0 = p * s->sh - s->pt;
    vconv_valid_range(h0, s->dh, s->H, s->R, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
      const int64_t ih = h0 + r * s->dh;
      float *grow = gx + ih * W;
      const float *xrow = x ? x + ih * W : NULL;
      /* Only columns some output reaches (a huge window mostly hangs in the
       * padding); with dilation every column is tried, its range may be empty. */
      int64_t t_lo = 0, t_hi = s->S;
      if (s->dw == 1) {
        t_lo = s->pl - (s->Q - 1) * s->sw > 0 ? s->pl - (s->Q - 1) * s->sw : 0;
        t_hi = s->pl + W < s->S ? s->pl + W : s->S;
      }
      for (int64_t t = t_lo; t < t_hi; t++) {
        const int64_t off = t * s->dw - s->pl;
        int64_t q0, q1;
        vconv_valid_range(off, s->sw, W, s->Q, &q0, &q1);
        const float wt = s->kind == VCONV_POOL_WEIGHTED ? s->weights[r * s->S + t] : 1.0f;
        if (s->sw == 1) {
          const vf wv = vf_set1(wt);
          for (int64_t q = q0; q < q1; q += VEC_W) {
            const int64_t n = q1 - q;
            float *gp = grow + q + off;
            const vf c = vf_loadu(coef + q);
            vf g = load_n(gp, n, gx_end);
            if (s->kind == VCONV_POOL_L2)
              g = vf_fmadd(c, load_n(xrow + q + off, n, x_end), g);
            else if (s->kind == VCONV_POOL_WEIGHTED)
              g = vf_fmadd(c, wv, g);
            else
              g = vf_add(g, c);
            store_n(gp, g, n);
          }
        } else {
          for (int64_t q = q0; q < q1; q++) {
            const int64_t iw = q * s->sw + off;
            float term = coef[q];
            if (s->kind == VCONV_POOL_L2) term = term * xrow[iw];
            if (s->kind == VCONV_POOL_WEIGHTED) term = term * wt;
            grow[iw] += term;
          }
        }
      }
    }
    for (int64_t q = 0; spill && q < s->Q; q++) {
      const pool_win w = pool_window_at(s, p, q);
      const float d = s->kind == VCONV_POOL_L2 ? y[p * s->Q + q] : divisor(s, &w);
      int again = 0;
      coefficient(s, d, gy[p * s->Q + q], d, &again);
      if (again) spill_window(s, &w, gy[p * s->Q + q], d, x, gx, 1);
    }
  }
}

/* Average, weighted and L2 over channels [c_lo, c_hi) of one NHWC image. */
static void nhwc_linear(const vconv_pool_shape *s, const float *x, const float *y, const float *gy,
                        float *gx, int64_t c_lo, int64_t c_hi, const float *x_end) {
  const int64_t C = s->C;
  for (int64_t p = 0; p < s->P; p++)
    for (int64_t q = 0; q < s->Q; q++) {
      const pool_win w = pool_window_at(s, p, q);
      const float d = divisor(s, &w);
      const int64_t o = (p * s->Q + q) * C;
      for (int64_t c0 = c_lo; c0 < c_hi; c0 += VEC_W) {
        const int64_t n = c_hi - c0;
        float cf[VEC_W];
        int spilled[VEC_W] = {0};
        for (int64_t l = 0; l < VEC_W; l++)
          cf[l] = l < n ? coefficient(s, d, gy[o + c0 + l], y ? y[o + c0 + l] : 0.0f, &spilled[l]) : 0.0f;
        const vf c = vf_loadu(cf);
        for (int64_t r = w.r0; r < w.r1; r++)
          for (int64_t t = w.t0; t < w.t1; t++) {
            const int64_t i = ((w.h0 + r * s->dh) * s->W + (w.w0 + t * s->dw)) * C + c0;
            vf g = load_n(gx + i, n, gx + i + n); /* other channel blocks are other tasks' */
            if (s->kind == VCONV_POOL_L2)
              g = vf_fmadd(c, load_n(x + i, n, x_end), g);
            else if (s->kind == VCONV_POOL_WEIGHTED)
              g = vf_fmadd(c, vf_set1(s->weights[r * s->S + t]), g);
            else
              g = vf_add(g, c);
            store_n(gx + i, g, n);
          }
        for (int64_t l = 0; l < VEC_W && l < n; l++)
          if (spilled[l])
            spill_window(s, &w, gy[o + c0 + l], s->kind == VCONV_POOL_L2 ? y[o + c0 + l] : d,
                         x ? x + c0 + l : NULL, gx + c0 + l, C);
      }
    }
}

/* Max, stochastic: one tap per window gets the gradient. */
static void route(const vconv_pool_shape *s, pool_plane v, const int32_t *idx, int64_t istride,
                  const float *gy, int64_t gstride, float *gx, int64_t xstride, int64_t flat0) {
  for (int64_t p = 0; p < s->P; p++)
    for (int64_t q = 0; q < s->Q; q++) {
      const int64_t o = p * s->Q + q;
      int32_t k;
      if (idx)
        k = idx[o * istride];
      else if (s->kind == VCONV_POOL_MAX)
        pool_window(s, v, p, q, &k);
      else
        pool_stochastic(s, v, flat0 + o, p, q, &k);
      if (k >= 0) gx[(int64_t)k * xstride] += gy[o * gstride];
    }
}

/*
 * route() for pool_tiles_2x2 with indices, one NCHW plane: every input is in
 * one window, so each gets its window's gradient where the index names it
 * and 0 elsewhere, written once (no zeroing, no scattered adds), two rows of
 * grad_input per row of outputs through vf_interleave.  0 + g as route's
 * 0 + g: the same bits.  Returns 0, having written nonsense, if an index
 * names a tap outside its own window (route() sends it there): the caller
 * then runs route().  Indices are compared as floats: planes <= 2^24.
 */
static int route_2x2(const vconv_pool_shape *s, const int32_t *idx, const float *gy, float *gx) {
  static const float iota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  static const float ones[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  const int64_t W = s->W, Q = s->Q;
  const vf lanes = vf_add(vf_loadu(iota), vf_loadu(iota)), one = vf_set1(1.0f);
  const vf wv = vf_set1((float)W), none = vf_set1(-1.0f), zero = vf_zero();
  vf hits = zero;
  for (int64_t p = 0; p < s->P; p++, gy += Q, idx += Q) {
    float *top = gx + 2 * p * W, *bot = top + W;
    for (int64_t q = 0; q < Q; q += VEC_W) {
      const int n = (int)(Q - q < VEC_W ? Q - q : VEC_W);
      const vf g = n == VEC_W ? vf_loadu(gy + q) : vf_load_part(gy + q, n);
      const vf kf = vf_load_i32(idx + q, n);
      const vf k = vf_add(vf_set1((float)(2 * p * W + 2 * q)), lanes), k1 = vf_add(k, one);
      const vf kb = vf_add(k, wv), kb1 = vf_add(kb, one);
      vf a, b;
      vf_interleave(vf_add(zero, vf_pick_match(kf, k, g, zero)),
                    vf_add(zero, vf_pick_match(kf, k1, g, zero)), &a, &b);
      store_n(top + 2 * q, a, 2 * n);
      if (2 * n > VEC_W) store_n(top + 2 * q + VEC_W, b, 2 * n - VEC_W);
      vf_interleave(vf_add(zero, vf_pick_match(kf, kb, g, zero)),
                    vf_add(zero, vf_pick_match(kf, kb1, g, zero)), &a, &b);
      store_n(bot + 2 * q, a, 2 * n);
      if (2 * n > VEC_W) store_n(bot + 2 * q + VEC_W, b, 2 * n - VEC_W);
      vf hit = vf_pick_match(kf, none, one, zero);
      hit = vf_pick_match(kf, k, one, hit);
      hit = vf_pick_match(kf, k1, one, hit);
      hit = vf_pick_match(kf, kb, one, hit);
      hit = vf_pick_match(kf, kb1, one, hit);
      hits = vf_fmadd(hit, n == VEC_W ? one : vf_load_part(ones, n), hits);
    }
  }
  float lane[VEC_W];
  vf_storeu(lane, hits);
  double total = 0.0;
  for (int l = 0; l < VEC_W; l++) total += lane[l];
  return total == (double)(s->P * Q);
}

void VCONV_TIERED(vconv_pool_backward)(const vconv_pool_shape *s, const vconv_pool_grads *g,
                                       void *scratch, size_t task) {
  const int64_t HW = s->H * s->W, PQ = s->P * s->Q;
  const float *x_end = g->input ? g->input + s->N * s->C * HW : NULL;
  if (s->layout == VCONV_LAYOUT_NCHW) {
    const int64_t plane = (int64_t)task;
    const float *x = g->input ? g->input + plane * HW : NULL;
    const float *y = g->output ? g->output + plane * PQ : NULL;
    const float *gy = g->grad_output + plane * PQ;
    float *gx = g->grad_input + plane * HW;
    if (g->indices && pool_tiles_2x2(s) && HW <= ((int64_t)1 << 24) &&
        route_2x2(s, g->indices + plane * PQ, gy, gx))
      return;
    memset(gx, 0, (size_t)HW * sizeof(float));
    const pool_plane v = {x, s->W, 1};
    if (is_linear(s)) {
      float stack[STACK_FLOATS];
      float *coef = scratch ? (float *)scratch : stack;
      memset(coef, 0, nchw_coef_floats(s) * sizeof(float));
      nchw_linear(s, x, y, gy, gx, x_end, gx + HW, coef);
    } else if (s->kind == VCONV_POOL_STOCHASTIC && !s->training) {
      for (int64_t p = 0; p < s->P; p++)
        for (int64_t q = 0; q < s->Q; q++) pool_stochastic_grad(s, v, gx, p, q, gy[p * s->Q + q]);
    } else if (s->kind == VCONV_POOL_LP) {
      for (int64_t p = 0; p < s->P; p++)
        for (int64_t q = 0; q < s->Q; q++)
          pool_lp_grad(s, v, gx, p, q, gy[p * s->Q + q], y[p * s->Q + q]);
    } else {
      route(s, v, g->indices ? g->indices + plane * PQ : NULL, 1, gy, 1, gx, 1, plane * PQ);
    }
    return;
  }
  const int64_t blocks = (s->C + NHWC_BLOCK - 1) / NHWC_BLOCK;
  const int64_t n = (int64_t)task / blocks, c_lo = (int64_t)task % blocks * NHWC_BLOCK;
  const int64_t c_hi = c_lo + NHWC_BLOCK < s->C ? c_lo + NHWC_BLOCK : s->C, C = s->C;
  const float *x = g->input ? g->input + n * HW * C : NULL;
  const float *y = g->output ? g->output + n * PQ * C : NULL;
  const float *gy = g->grad_output + n * PQ * C;
  float *gx = g->grad_input + n * HW * C;
  for (int64_t i = 0; i < HW; i++) memset(gx + i * C + c_lo, 0, (size_t)(c_hi - c_lo) * sizeof(float));
  if (is_linear(s)) {
    nhwc_linear(s, x, y, gy, gx, c_lo, c_hi, x_end);
    return;
  }
  for (int64_t c = c_lo; c < c_hi; c++) {
    const pool_plane v = {x ? x + c : NULL, s->W * C, C};
    if (s->kind == VCONV_POOL_STOCHASTIC && !s->training) {
      /* The gradient plane has the input's strides: the same view offsets. */
      for (int64_t p = 0; p < s->P; p++)
        for (int64_t q = 0; q < s->Q; q++)
          pool_stochastic_grad(s, v, gx + c, p, q, gy[(p * s->Q + q) * C + c]);
    } else if (s->kind == VCONV_POOL_LP) {
      for (int64_t p = 0; p < s->P; p++)
        for (int64_t q = 0; q < s->Q; q++)
          pool_lp_grad(s, v, gx + c, p, q, gy[(p * s->Q + q) * C + c], y[(p * s->Q + q) * C + c]);
    } else {
      /* flat0 + o must be the NCHW output index ((n C + c) P + p) Q + q. */
      route(s, v, g->indices ? g->indices + n * PQ * C + c : NULL, C, gy + c, C, gx + c, C,
            (n * C + c) * PQ);
    }
  }
}
