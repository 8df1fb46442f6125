/* Float64 reference pooling and its error bounds (see pool_ref.h). */
#include "pool_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

static const double U = 0x1p-24, UD = 0x1p-53;
static double gam(double n, double u) { return n * u / (1.0 - n * u); }

static uint32_t bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* ------------------------------------------------------------------------ */
/* Reference geometry, from the header                                        */

/* 0 on success, -1 if the descriptor is one the header says is invalid. */
static int axis_geom(int64_t in, int64_t k, int64_t st, int64_t dil, int64_t pb, int64_t pe,
                     vconv_padding_mode mode, int ceil_mode, int64_t *b, int64_t *e, int64_t *out) {
  if (in < 1 || k < 1 || st < 1 || dil < 1) return -1;
  /* A dilated window beyond int64 is beyond the header's limits too. */
  int64_t keff;
  if (__builtin_mul_overflow(k - 1, dil, &keff) || keff > INT64_MAX / 4) return -1;
  keff += 1;
  if (mode == VCONV_PADDING_EXPLICIT) {
    if (pb < 0 || pe < 0 || pb > keff - 1 || pe > keff - 1) return -1;
    *b = pb;
    *e = pe;
  } else if (mode == VCONV_PADDING_VALID) {
    *b = *e = 0;
  } else if (mode == VCONV_PADDING_SAME || mode == VCONV_PADDING_SAME_LOWER) {
    const int64_t o = (in + st - 1) / st;
    int64_t total = (o - 1) * st + keff - in;
    if (total < 0) total = 0;
    /* SAME puts the odd pixel of padding at the end, SAME_LOWER at the start. */
    *b = mode == VCONV_PADDING_SAME ? total / 2 : total - total / 2;
    *e = total - *b;
  } else {
    return -1;
  }
  const int64_t span = in + *b + *e - keff;
  if (span < 0) return -1;
  if (!ceil_mode) {
    *out = span / st + 1;
  } else {
    *out = (span + st - 1) / st + 1;
    if ((*out - 1) * st >= in + *b) *out -= 1;
  }
  return 0;
}

int make_geom(const vconv_pool2d_desc *d, geom *g) {
  if (d->global) {
    memset(g, 0, sizeof *g);
    g->R = d->in_height;
    g->S = d->in_width;
    g->sh = g->sw = g->dh = g->dw = 1;
    g->P = g->Q = 1;
    return 0;
  }
  g->R = d->window_h;
  g->S = d->window_w;
  g->sh = d->stride_h;
  g->sw = d->stride_w;
  g->dh = d->dilation_h;
  g->dw = d->dilation_w;
  if (axis_geom(d->in_height, g->R, g->sh, g->dh, d->pad_top, d->pad_bottom, d->padding_mode,
                d->ceil_mode, &g->pt, &g->pb, &g->P) ||
      axis_geom(d->in_width, g->S, g->sw, g->dw, d->pad_left, d->pad_right, d->padding_mode,
                d->ceil_mode, &g->pl, &g->pr, &g->Q))
    return -1;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Reference forward                                                          */

static uint64_t splitmix64(uint64_t z) {
  z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ z >> 27) * 0x94d049bb133111ebull;
  return z ^ z >> 31;
}

/* One window of the logical NCHW input plane x (H x W). */
refout ref_window(const vconv_pool2d_desc *d, const geom *g, const float *x, const float *wts,
                         int64_t flat, int64_t p, int64_t q) {
  const int64_t H = d->in_height, W = d->in_width;
  const int64_t h0 = p * g->sh - g->pt, w0 = q * g->sw - g->pl;
  refout o = {0, 0, 0, 0, -1};
  /* LP with p = 2 is the L2 kind, bounds and all. */
  const vconv_pool_kind kind = d->kind == VCONV_POOL_LP && d->norm_p == 2.0 ? VCONV_POOL_L2 : d->kind;
  long double lp_max = 0;
  double sum = 0, abs_sum = 0, wsum = 0, rsum = 0, r2sum = 0;
  int any_nan = 0, any_pinf = 0, m = 0;
  int64_t first_nan = -1, first_pinf = -1;
  double mx = -INFINITY;
  for (int64_t r = 0; r < g->R; r++)
    for (int64_t t = 0; t < g->S; t++) {
      const int64_t ih = h0 + r * g->dh, iw = w0 + t * g->dw;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      const float xf = x[ih * W + iw];
      const double v = xf;
      m++;
      if (isnan(xf)) {
        any_nan = 1;
        if (first_nan < 0) first_nan = ih * W + iw;
      }
      if (xf == INFINITY && first_pinf < 0) {
        any_pinf = 1;
        first_pinf = ih * W + iw;
      }
      if (v > mx) mx = v;
      if (fabsl((long double)v) > lp_max) lp_max = fabsl((long double)v);
      switch (kind) {
        case VCONV_POOL_L2: sum += v * v; abs_sum += v * v; break;
        case VCONV_POOL_WEIGHTED: {
          const double w = wts[r * g->S + t];
          sum += w * v;
          abs_sum += fabs(w * v);
          wsum += w;
          break;
        }
        default: sum += v; abs_sum += fabs(v); break;
      }
      if (v > 0) {
        rsum += v;
        r2sum += v * v;
      }
    }
  switch (kind) {
    case VCONV_POOL_MAX: {
      o.exact = 1;
      if (any_nan) {
        o.want = NAN;
        o.idx = (int32_t)first_nan;
        break;
      }
      /* -0 if the maximum is zero and one of the maximal taps is -0. */
      int neg_zero = 0;
      for (int64_t r = 0; r < g->R; r++)
        for (int64_t t = 0; t < g->S; t++) {
          const int64_t ih = h0 + r * g->dh, iw = w0 + t * g->dw;
          if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
          const float xf = x[ih * W + iw];
          if ((double)xf == mx) {
            if (o.idx < 0) o.idx = (int32_t)(ih * W + iw);
            if (xf == 0.0f && signbit(xf)) neg_zero = 1;
          }
        }
      o.want = m == 0 ? -INFINITY : (mx == 0.0 && neg_zero) ? -0.0f : (float)mx;
      if (m > 0 && o.idx < 0) o.idx = -1;
      break;
    }
    case VCONV_POOL_AVG_INCLUDE_PAD:
    case VCONV_POOL_AVG_EXCLUDE_PAD: {
      int64_t div = 0;
      if (kind == VCONV_POOL_AVG_EXCLUDE_PAD) {
        div = m;
      } else {
        int64_t rows = 0, cols = 0;
        for (int64_t r = 0; r < g->R; r++) rows += h0 + r * g->dh >= -g->pt && h0 + r * g->dh < H + g->pb;
        for (int64_t t = 0; t < g->S; t++) cols += w0 + t * g->dw >= -g->pl && w0 + t * g->dw < W + g->pr;
        div = rows * cols;
      }
      /* Dilation can step over the whole input: a sum over no input, 0. */
      o.y = m ? sum / (double)div : 0.0;
      if (!m) {
        o.exact = 1;
        o.want = 0.0f;
        break;
      }
      /* Average: m - 1 additions and one division (or a rounded reciprocal and
       * a product): every term carries at most m + 1 rounding factors, so
       * gamma(m + 1) sum|x| / D; subnormal results of sums or the quotient
       * are off by at most 2^-150 per operation; the reference's own double
       * sum and the comparison add gamma_d(m + 1) and 2^-50 relative. */
      o.tol = ref_avg_tol(m, abs_sum / (double)div);
      if (any_nan || isinf(o.y) || isnan(o.y)) {
        o.exact = 1;
        o.want = any_nan ? NAN : (float)o.y;
      }
      break;
    }
    case VCONV_POOL_L2: {
      o.y = sqrt(sum);
      /* S = sum x^2 of m non-negative terms: one rounding per square (none
       * when fused) and m - 1 additions, so S' = S (1 + theta) with |theta| <=
       * gamma(m).  sqrt: |sqrt(1 + theta) - 1| <= 1 - sqrt(1 - gamma(m)),
       * then one rounding u.  Squares below 2^-126 are off by at most 2^-150
       * absolutely each (subnormal additions are exact), which moves the
       * root by at most sqrt(m 2^-149).  Reference: a double sum and sqrt. */
      const double gm = gam(m, U), rel = 1.0 - sqrt(1.0 - gm);
      o.tol = o.y * (rel + U + rel * U) + sqrt(m * 0x1p-149) * (1 + U) + o.y * (gam(m + 2, UD) + 0x1p-50);
      /* The float sum overflows for certain once S (1 - gamma(m)) >= 2^128, and
       * may from S (1 + gamma(m)) > FLT_MAX on: between the two either is right. */
      if (m == 0) { /* dilation stepped over the input: sqrt of an empty sum */
        o.exact = 1;
        o.want = 0.0f;
      } else if (any_nan || sum * (1 - gm) >= 0x1p128) {
        o.exact = 1;
        o.want = any_nan ? NAN : INFINITY;
      } else if (sum * (1 + gm) > 0x1.fffffep127) {
        o.exact = 2;
      }
      break;
    }
    case VCONV_POOL_LP: {
      /* The library: M = max |x|, M (sum (|x|/M)^p)^(1/p) in double, rounded
       * once.  Each term: the ratio's rounding raised to p (p 2^-53) and pow's
       * own ulp; the sum of m terms gamma_d(m); the root divides all that by
       * p >= 1 and adds its ulp, the rounding of 1/p (ln(sum) <= ln m of it,
       * sum in [1, m]) and the product by M: under gamma_d(2m + 6) relative.
       * Then one float rounding u, and 2^-150 for a subnormal result.  The
       * reference: the same formula in long double. */
      if (any_nan) {
        o.exact = 1;
        o.want = NAN;
      } else if (isinf(lp_max) || m == 0 || lp_max == 0) {
        o.exact = 1;
        o.want = (float)lp_max;
      } else {
        long double acc = 0;
        for (int64_t r = 0; r < g->R; r++)
          for (int64_t t = 0; t < g->S; t++) {
            const int64_t ih = h0 + r * g->dh, iw = w0 + t * g->dw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            acc += powl(fabsl((long double)x[ih * W + iw]) / lp_max, (long double)d->norm_p);
          }
        o.y = (double)(lp_max * powl(acc, 1.0L / (long double)d->norm_p));
        o.tol = o.y * (U + gam(2 * m + 6, UD) + 0x1p-50) + 0x1p-150;
      }
      break;
    }
    case VCONV_POOL_WEIGHTED: {
      /* N = sum w x, D = sum w over the in-input taps.  N' = N + e, |e| <=
       * gamma(m) sum|w x| (m products and m - 1 additions, fused or not) plus
       * m 2^-149 for subnormal products; D' = D (1 + theta_{m-1}) (non-negative
       * terms); the quotient one more rounding: (1 + d) / (1 + theta_{m-1}) =
       * 1 + theta_m.  So |N'/D' (1 + d) - N/D| <= (|e| / (D (1 - gamma(m-1))))
       * (1 + u) + gamma(m) |N| / D, and |N| <= sum |w x|. */
      if (wsum == 0.0) { /* 0, unless IEEE arithmetic makes the sum NaN (NaN, or 0 * inf) */
        o.exact = 1;
        o.want = isnan(sum) ? NAN : 0.0f;
        break;
      }
      o.y = sum / wsum;
      const double a = abs_sum / wsum;
      o.tol = (gam(m, U) * abs_sum + m * 0x1p-149) / (wsum * (1 - gam(m - 1, U))) * (1 + U) +
              gam(m, U) * a + 0x1p-149 + a * (gam(2 * m + 2, UD) + 0x1p-50);
      if (any_nan || isinf(o.y) || isnan(o.y)) {
        o.exact = 1;
        o.want = any_nan ? NAN : (float)o.y;
      }
      break;
    }
    case VCONV_POOL_STOCHASTIC: {
      if (any_nan) {
        o.exact = 1;
        o.want = NAN;
        o.idx = d->training ? (int32_t)first_nan : -1;
      } else if (any_pinf) {
        o.exact = 1;
        o.want = INFINITY;
        o.idx = d->training ? (int32_t)first_pinf : -1;
      } else if (rsum == 0.0) {
        o.exact = 1;
        o.want = 0.0f;
        o.idx = -1;
      } else if (!d->training) {
        /* Double sums of m terms, one double division, one rounding to float. */
        o.y = r2sum / rsum;
        o.tol = fabs(o.y) * (U + gam(2 * m + 2, UD)) + 0x1p-150;
      } else {
        const double u = (double)(splitmix64(d->seed + (uint64_t)(flat + 1) * 0x9e3779b97f4a7c15ull) >> 11) * 0x1p-53;
        const double thr = u * rsum;
        double run = 0;
        o.exact = 1;
        for (int64_t r = 0; r < g->R && o.idx < 0; r++)
          for (int64_t t = 0; t < g->S; t++) {
            const int64_t ih = h0 + r, iw = w0 + t;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const float xf = x[ih * W + iw];
            if (!(xf > 0)) continue;
            run += xf;
            if (run > thr) {
              o.idx = (int32_t)(ih * W + iw);
              o.want = xf;
              break;
            }
          }
      }
      break;
    }
  }
  return o;
}

/* ------------------------------------------------------------------------ */
/* Reference backward                                                         */

/* Logical NCHW grad_input and its tolerance.  y: the library's forward output
 * (logical NCHW), used by L2 exactly as the library gets it. */
void ref_backward(const vconv_pool2d_desc *d, const geom *g, const float *x, const float *wts,
                         const refout *fw, const float *y, const float *gy, double *gx, double *tol) {
  const int64_t N = d->batch, C = d->channels, H = d->in_height, W = d->in_width, P = g->P, Q = g->Q;
  const int64_t n_in = N * C * H * W;
  double *abs_terms = calloc((size_t)n_in, sizeof(double));
  int32_t *k = calloc((size_t)n_in, sizeof(int32_t)), *mmax = calloc((size_t)n_in, sizeof(int32_t));
  for (int64_t i = 0; i < n_in; i++) gx[i] = 0;
  const vconv_pool_kind kind = d->kind == VCONV_POOL_LP && d->norm_p == 2.0 ? VCONV_POOL_L2 : d->kind;
  for (int64_t pl = 0; pl < N * C; pl++) {
    const float *xp = x + pl * H * W;
    for (int64_t p = 0; p < P; p++)
      for (int64_t q = 0; q < Q; q++) {
        const int64_t o = (pl * P + p) * Q + q;
        const double gv = gy[o];
        const int64_t h0 = p * g->sh - g->pt, w0 = q * g->sw - g->pl;
        if (kind == VCONV_POOL_MAX || (kind == VCONV_POOL_STOCHASTIC && d->training)) {
          if (fw[o].idx >= 0) {
            const int64_t i = pl * H * W + fw[o].idx;
            gx[i] += gv;
            abs_terms[i] += fabs(gv);
            k[i]++;
          }
          continue;
        }
        /* Taps and the window's divisor. */
        int m = 0;
        double wsum = 0, rsum = 0, r2sum = 0;
        int bad = 0;
        for (int64_t r = 0; r < g->R; r++)
          for (int64_t t = 0; t < g->S; t++) {
            const int64_t ih = h0 + r * g->dh, iw = w0 + t * g->dw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            m++;
            if (wts) wsum += wts[r * g->S + t];
            const double v = xp[ih * W + iw];
            if (isnan(v) || v == INFINITY) bad = 1;
            if (v > 0) {
              rsum += v;
              r2sum += v * v;
            }
          }
        double div = 0;
        if (kind == VCONV_POOL_AVG_EXCLUDE_PAD) {
          div = m;
        } else if (kind == VCONV_POOL_AVG_INCLUDE_PAD) {
          int64_t rows = 0, cols = 0;
          for (int64_t r = 0; r < g->R; r++) rows += h0 + r * g->dh >= -g->pt && h0 + r * g->dh < H + g->pb;
          for (int64_t t = 0; t < g->S; t++) cols += w0 + t * g->dw >= -g->pl && w0 + t * g->dw < W + g->pr;
          div = (double)(rows * cols);
        }
        for (int64_t r = 0; r < g->R; r++)
          for (int64_t t = 0; t < g->S; t++) {
            const int64_t ih = h0 + r * g->dh, iw = w0 + t * g->dw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const int64_t i = pl * H * W + ih * W + iw;
            const double v = xp[ih * W + iw];
            double term = 0;
            switch (kind) {
              case VCONV_POOL_AVG_INCLUDE_PAD:
              case VCONV_POOL_AVG_EXCLUDE_PAD: term = gv / div; break;
              case VCONV_POOL_WEIGHTED: term = wsum != 0 ? gv * wts[r * g->S + t] / wsum : 0; break;
              case VCONV_POOL_L2: term = y[o] != 0 ? gv * v / (double)y[o] : 0; break;
              case VCONV_POOL_LP:
                term = y[o] != 0 && v != 0
                           ? gv * copysign(pow(fabs(v) / (double)y[o], d->norm_p - 1), v)
                           : 0;
                break;
              default: /* stochastic inference */
                term = !bad && rsum > 0 && v > 0 ? gv * (2 * v - r2sum / rsum) / rsum : 0;
                break;
            }
            gx[i] += term;
            abs_terms[i] += fabs(term);
            k[i]++;
            if (m > mmax[i]) mmax[i] = m;
          }
      }
  }
  /*
   * Bounds on a float sum of K terms (K - 1 additions, gamma(K - 1)) whose
   * terms carry their own roundings:
   *   max, stochastic training  the gradient itself:       gamma(K - 1)
   *   average                   g / D, one rounding:        gamma(K)
   *   L2                        (g / y) x, two:             gamma(K + 1)
   *   weighted                  (g / D') w, D' the float sum of m weights
   *                             (m - 1 roundings) and two more: gamma(K + m)
   *   LP                        a double term rounded once: gamma(K), plus its
   *                             evaluation, gamma_d(ceil(p) + 4) relative
   *   stochastic inference      a double term rounded once: gamma(K), plus the
   *                             double evaluation, gamma_d(2m + 4) relative
   * each term's subnormal rounding adds 2^-150 (K + 2 of them), and the
   * reference's double sum and the comparison 2^-50 relative.
   */
  for (int64_t i = 0; i < n_in; i++) {
    double f;
    switch (kind) {
      case VCONV_POOL_AVG_INCLUDE_PAD:
      case VCONV_POOL_AVG_EXCLUDE_PAD: f = gam(k[i], U); break;
      case VCONV_POOL_L2: f = gam(k[i] + 1, U); break;
      /* A double term rounded once; its evaluation: the ratio raised to p - 1,
       * pow's ulp and the product by the gradient. */
      case VCONV_POOL_LP: f = gam(k[i], U) + gam((int)ceil(d->norm_p) + 4, UD); break;
      case VCONV_POOL_WEIGHTED: f = gam(k[i] + mmax[i], U); break;
      case VCONV_POOL_STOCHASTIC: f = d->training ? gam(k[i] > 0 ? k[i] - 1 : 0, U) : gam(k[i], U) + gam(2 * mmax[i] + 4, UD); break;
      default: f = gam(k[i] > 0 ? k[i] - 1 : 0, U); break;
    }
    tol[i] = f * abs_terms[i] + (k[i] + 2) * 0x1p-150 + 0x1p-50 * abs_terms[i];
  }
  free(abs_terms);
  free(k);
  free(mmax);
}

/* Compares one forward output element; returns 1 if it passes. */
int check_out(const refout *r, float got, double *ratio) {
  if (r->exact == 2) return *ratio = 0, 1;
  if (r->exact) {
    const int ok = isnan(r->want) ? isnan(got) : bits(got) == bits(r->want);
    *ratio = ok ? 0 : INFINITY;
    return ok;
  }
  if (isnan(got)) return *ratio = INFINITY, 0;
  *ratio = fabs((double)got - r->y) / r->tol;
  return *ratio <= 1.0;
}

int has_indices(const vconv_pool2d_desc *d) {
  return d->kind == VCONV_POOL_MAX || (d->kind == VCONV_POOL_STOCHASTIC && d->training);
}
