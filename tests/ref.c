/*
 * Float64 reference convolution and pooling, and the tolerances the parity
 * tests compare against.
 *
 * Why float64 with exact products: a float has a 24-bit significand, so the
 * product of two floats has at most 48 significant bits and is exact in a
 * double (53 bits).  The only error of the reference is in its n - 1 double
 * additions, which the tolerance accounts for below.
 *
 * Error bound (the tolerance), for one output element
 * ---------------------------------------------------
 * The library computes y = act(b + sum_i x_i w_i) in float (u = 2^-24), in
 * some order, with or without FMA.  Let A = |b| + sum |x_i w_i| and n = the
 * number of terms including the bias (products + 1).
 *
 * 1. Summation: any evaluation order of a sum of n terms uses n - 1 additions,
 *    and every term passes through at most n - 1 of them; with the standard
 *    model fl(a op b) = (a op b)(1 + d), |d| <= u, the computed sum differs
 *    from the exact one by at most gamma(n-1) * sum|t_i| (Higham, Accuracy and
 *    Stability of Numerical Algorithms, 2nd ed., eq. 4.4 and Lemma 3.1),
 *    gamma(k) = k u / (1 - k u).
 * 2. Products: a separately rounded product adds one more factor (1 + d) to
 *    its term, so every term carries at most n factors: gamma(n) * A.  An FMA
 *    rounds the product together with the addition, which only removes
 *    factors, so the same bound holds with or without FMA.  The bias is a term
 *    like the others (it is exact, but gamma(n) >= gamma(n-1) covers it).
 * 3. Underflow: the model above assumes no underflow.  A product or sum in
 *    the subnormal range is off by at most half a subnormal ulp (2^-150)
 *    absolutely instead of relatively, once per operation: at most
 *    2n * 2^-150 = n * 2^-149.
 * 4. Activation: relu and clamp are 1-Lipschitz (|f(a) - f(b)| <= |a - b|),
 *    and the reference applies the same function to its exact-product sum,
 *    so the bound carries through unchanged.  act_min and act_max are floats,
 *    so clamping adds no rounding.
 * 5. The reference itself: exact products, n - 1 double additions (terms and
 *    sums never underflow in double for float inputs of this magnitude):
 *    |y_ref - y_exact| <= gamma_d(n-1) * A with u_d = 2^-53; gamma_d(n) * A
 *    is used.  Finally 2^-50 * A covers the rounding of the comparison itself
 *    (|y - y_ref| is evaluated in double).
 *
 *    tol(n, A) = gamma(n) A + n 2^-149 + gamma_d(n) A + 2^-50 A.
 *
 * Average pooling: a sum of m in-input terms (m - 1 additions, no products)
 * followed by one division by the exact integer divisor D (converted to float
 * exactly, D <= 2^24): |fl(fl(S)/D) - S/D| <= gamma(m) sum|x| / D, and
 * gamma(m + 1) >= gamma(m) is used, with the same underflow term per
 * operation (m additions or division, each at most 2^-150 off, so m 2^-149
 * covers them) and the reference's own double terms:
 *
 *    tol_avg(m, A) = gamma(m + 1) A + m 2^-149 + gamma_d(m + 1) A + 2^-50 A,
 *    A = sum |x| / D.
 *
 * These are worst-case bounds: they do not depend on how the library orders
 * its sums, blocks its loops or splits work into tasks, so they are never
 * tuned to an implementation.  (They hold for direct and im2col+GEMM, which
 * evaluate the same n terms in some order; a Winograd kernel transforms
 * inputs and weights and needs its own derived bound, below.)
 *
 * Winograd F(mh x mw, r x r) (ref_wino_bound, ref_wino_tol)
 * ------------------------------------------------------------
 * Each axis is a 1-D transform F(m, r) with alpha = m + r - 1 points and
 * matrices A^T, G, B^T (rows of the tile: _h, columns: _w).  One output of a
 * tile is y = b + sum_{x,z} A_h^T[i][x] A_w^T[j][z] M[x][z] with
 * M = sum_c U_c . V_c, U_c = G_h g_c G_w^T (the kernel transform) and
 * V_c = B_h^T d_c B_w (the input transform of the tile's alpha_h x alpha_w
 * patch d_c).
 * Expanded, y is a sum of "elementary terms", one per (c, x, z, kernel tap,
 * patch pixel): a product of matrix coefficients, one weight and one input.
 * Exactly, they cancel down to the direct convolution's sum; in floating point
 * each one carries the rounding factors of every operation on its way to y:
 *
 *   V             two passes of sums over the nonzeros of a row of B_h^T, then
 *                 B_w^T (at most nB_h, nB_w terms: as many roundings), with
 *                 coefficients rounded to float (one factor (1+d) each, 0 for
 *                 dyadic points): nB_h + nB_w + 2 factors;
 *   U             computed in double and rounded once to float: 2 (one for the
 *                 rounding, one covering the double error and the rounding of
 *                 G itself, both far below u);
 *   M             the GEMM's sum over Cg channels, any order, FMA or not: Cg;
 *   Y             two passes over at most nA_h, nA_w nonzeros, rounded
 *                 coefficients: nA_h + nA_w + 2;
 *   + bias        1; the activation is 1-Lipschitz (as above).
 *
 * With products of (1 + d_i) bounded by gamma of their count (Higham, Lemma
 * 3.3), |y - y_exact| <= gamma(Kw) Z, where
 *
 *   Kw = Cg + nB_h + nB_w + nA_h + nA_w + 7,
 *   Z  = |b| + sum_c sum_{x,z} |A_h^T[i][x]| |A_w^T[j][z]| (|G_h| |g_c| |G_w|^T)[x][z]
 *                                                        (|B_h^T| |d_c| |B_w|)[x][z],
 *
 * the sum of the elementary terms' magnitudes (including those that cancel:
 * the reason Winograd's bound exceeds direct's, and grows with alpha).  Z
 * depends on where the output sits in its tile and on the whole patch, so
 * ref_wino_bound computes it tile by tile, with the tiles where the library
 * puts them (kernels/winograd/wino_plan.h: a canvas of gx images per row, ph
 * rows and pw columns apart, zeros between them; tiles step by mh rows and mw
 * columns from the canvas origin), in double: its own rounding (at most nz terms per output) is
 * covered by a factor 1 + gamma_d(nz).  Underflow: an operation that
 * underflows is off by at most 2^-150 absolutely, and reaches y multiplied by
 * at most F = ||A_h^T|| ||A_w^T|| ||G_h|| ||G_w|| ||B_h^T|| ||B_w^T|| max|g|
 * (infinity norms: maximal absolute row sums); at most
 * nops = T (Cg (alpha_h + alpha_w + 1) + alpha_h + alpha_w) + 1 operations
 * feed one output (T = alpha_h alpha_w): nops F 2^-149 covers them.  Plus, as for
 * direct, the reference's own error gamma_d(n) A and the comparison's
 * 2^-50 (A + Z):
 *
 *   tol_w = gamma(Kw) Z (1 + gamma_d(nz)) + nops F 2^-149 + gamma_d(n) A + 2^-50 (A + Z).
 *
 * Like direct's, this bound is a worst case over every order of evaluation;
 * measured errors (README, "Winograd accuracy") are orders of magnitude below.
 */
#include "ref.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

double ref_gamma(double n, double u) { return n * u / (1.0 - n * u); }

double ref_conv_tol(int32_t n, double a) {
  const double u = 0x1p-24, ud = 0x1p-53;
  return ref_gamma(n, u) * a + (double)n * 0x1p-149 + ref_gamma(n, ud) * a + 0x1p-50 * a;
}

double ref_wino_tol(const ref_wino_tile *t, int64_t Cg, double z, double a, int32_t n) {
  const double u = 0x1p-24, ud = 0x1p-53;
  const int kw = (int)Cg + t->nb + t->na + 7;
  return ref_gamma(kw, u) * z * (1.0 + ref_gamma(t->nz, ud)) + t->nops * t->amp * 0x1p-149 +
         ref_gamma(n, ud) * a + 0x1p-50 * (a + z);
}

double ref_avg_tol(int32_t m, double a) {
  const double u = 0x1p-24, ud = 0x1p-53;
  return ref_gamma(m + 1, u) * a + (double)m * 0x1p-149 + ref_gamma(m + 1, ud) * a + 0x1p-50 * a;
}

/*
 * One axis, following the header's rules word for word:
 *   VALID    no padding;
 *   SAME     out = ceil(in / stride), total = max((out-1)*stride + keff - in, 0),
 *            the smaller half first (top/left);
 *   FULL     keff - 1 on both sides;
 *   EXPLICIT the given padding.
 * out = floor((in + pads - keff) / stride) + 1, and in ceil mode (pooling)
 * out = ceil((in + pads - keff) / stride) + 1, minus one if that last window
 * would start at or past in + pad_begin (entirely in the trailing padding).
 */
static int resolve(int64_t in, int64_t k, int64_t stride, int64_t dil, int64_t pb, int64_t pe,
                   vconv_padding_mode mode, int ceil_mode, ref_axis *a) {
  if (in < 1 || k < 1 || stride < 1 || dil < 1) return REF_INVALID;
  a->keff = (k - 1) * dil + 1;
  switch (mode) {
    case VCONV_PADDING_EXPLICIT:
      if (pb < 0 || pe < 0) return REF_INVALID;
      a->pad_begin = pb;
      a->pad_end = pe;
      break;
    case VCONV_PADDING_VALID:
      a->pad_begin = a->pad_end = 0;
      break;
    case VCONV_PADDING_SAME:
    case VCONV_PADDING_SAME_LOWER: {
      int64_t out = (in + stride - 1) / stride;
      int64_t total = (out - 1) * stride + a->keff - in;
      if (total < 0) total = 0;
      /* SAME (ONNX's SAME_UPPER) puts the odd pixel at the end, SAME_LOWER at the start. */
      const int64_t extra = total % 2;
      a->pad_begin = total / 2 + (mode == VCONV_PADDING_SAME_LOWER ? extra : 0);
      a->pad_end = total / 2 + (mode == VCONV_PADDING_SAME ? extra : 0);
      break;
    }
    case VCONV_PADDING_FULL:
      a->pad_begin = a->pad_end = a->keff - 1;
      break;
    default:
      return REF_INVALID;
  }
  const int64_t span = in + a->pad_begin + a->pad_end - a->keff;
  if (span < 0) return REF_TOO_LARGE;
  if (!ceil_mode) {
    a->out = span / stride + 1;
  } else {
    a->out = (span + stride - 1) / stride + 1;
    if ((a->out - 1) * stride >= in + a->pad_begin) a->out -= 1;
  }
  return REF_OK;
}

int ref_conv2d_geometry(const vconv_conv2d_desc *d, ref_geom *g) {
  if (d->batch < 1 || d->in_channels < 1 || d->out_channels < 1 || d->groups < 1 ||
      d->in_channels % d->groups || d->out_channels % d->groups)
    return REF_INVALID;
  int rh = resolve(d->in_height, d->kernel_h, d->stride_h, d->dilation_h, d->pad_top,
                   d->pad_bottom, d->padding_mode, 0, &g->h);
  if (rh == REF_INVALID) return rh;
  int rw = resolve(d->in_width, d->kernel_w, d->stride_w, d->dilation_w, d->pad_left,
                   d->pad_right, d->padding_mode, 0, &g->w);
  if (rw == REF_INVALID) return rw;
  return rh != REF_OK ? rh : rw;
}

int ref_pool2d_geometry(const vconv_pool2d_desc *d, ref_geom *g) {
  if (d->batch < 1 || d->channels < 1 || d->padding_mode == VCONV_PADDING_FULL) return REF_INVALID;
  if (d->padding_mode == VCONV_PADDING_EXPLICIT &&
      (d->pad_top >= d->window_h || d->pad_bottom >= d->window_h || d->pad_left >= d->window_w ||
       d->pad_right >= d->window_w))
    return REF_INVALID;
  int rh = resolve(d->in_height, d->window_h, d->stride_h, 1, d->pad_top, d->pad_bottom,
                   d->padding_mode, d->ceil_mode != 0, &g->h);
  if (rh == REF_INVALID) return rh;
  int rw = resolve(d->in_width, d->window_w, d->stride_w, 1, d->pad_left, d->pad_right,
                   d->padding_mode, d->ceil_mode != 0, &g->w);
  if (rw == REF_INVALID) return rw;
  return rh != REF_OK ? rh : rw;
}

static double activate(const vconv_conv2d_desc *d, double v) {
  switch (d->activation) {
    case VCONV_ACTIVATION_RELU:
      return v > 0.0 ? v : 0.0;
    case VCONV_ACTIVATION_CLAMP:
      v = v < (double)d->act_min ? (double)d->act_min : v;
      return v > (double)d->act_max ? (double)d->act_max : v;
    default:
      return v;
  }
}

/* The definition, one output at a time; the oracle of the oracle (test_ref). */
int ref_conv2d_naive(const vconv_conv2d_desc *d, const float *input, const float *weights,
                     const float *bias, double *y, double *a, int32_t *n) {
  ref_geom g;
  int st = ref_conv2d_geometry(d, &g);
  if (st != REF_OK) return st;
  const int64_t N = d->batch, C = d->in_channels, H = d->in_height, W = d->in_width;
  const int64_t K = d->out_channels, R = d->kernel_h, S = d->kernel_w;
  const int64_t P = g.h.out, Q = g.w.out, G = d->groups, Cg = C / G, Kg = K / G;
  const int64_t pt = g.h.pad_begin, pl = g.w.pad_begin;
  const vconv_layout L = d->layout;

  for (int64_t b = 0; b < N; b++)
    for (int64_t k = 0; k < K; k++) {
      const int64_t grp = k / Kg;
      for (int64_t p = 0; p < P; p++)
        for (int64_t q = 0; q < Q; q++) {
          const double bv = bias ? (double)bias[k] : 0.0;
          double sum = bv, abs_sum = fabs(bv);
          int32_t terms = 1;
          for (int64_t cl = 0; cl < Cg; cl++) {
            if (d->connections && !d->connections[k * Cg + cl]) continue;
            const int64_t c = grp * Cg + cl;
            for (int64_t r = 0; r < R; r++) {
              const int64_t ih = p * d->stride_h - pt + r * d->dilation_h;
              if (ih < 0 || ih >= H) continue;
              for (int64_t s = 0; s < S; s++) {
                const int64_t iw = q * d->stride_w - pl + s * d->dilation_w;
                if (iw < 0 || iw >= W) continue;
                const double prod = (double)input[ref_index(L, C, H, W, b, c, ih, iw)] *
                                    (double)weights[((k * Cg + cl) * R + r) * S + s];
                sum += prod;
                abs_sum += fabs(prod);
                terms++;
              }
            }
          }
          const int64_t o = ref_index(L, K, P, Q, b, k, p, q);
          y[o] = activate(d, sum);
          a[o] = abs_sum;
          n[o] = terms;
        }
    }
  return REF_OK;
}

/*
 * The same sums with the loops interchanged: every output of one (image,
 * output channel) plane accumulates in its own double, and the taps are
 * visited in the same (channel, row, column) order as in ref_conv2d_naive, so
 * the results are bitwise identical (test_ref checks it) while the inner loop
 * runs over independent outputs instead of one long dependency chain.  That
 * keeps the full-size AlexNet reference within the CI time budget.
 */
int ref_conv2d(const vconv_conv2d_desc *d, const float *input, const float *weights,
               const float *bias, double *y, double *a, int32_t *n) {
  ref_geom g;
  int st = ref_conv2d_geometry(d, &g);
  if (st != REF_OK) return st;
  const int64_t N = d->batch, C = d->in_channels, H = d->in_height, W = d->in_width;
  const int64_t K = d->out_channels, R = d->kernel_h, S = d->kernel_w;
  const int64_t P = g.h.out, Q = g.w.out, G = d->groups, Cg = C / G, Kg = K / G;
  const int64_t pt = g.h.pad_begin, pl = g.w.pad_begin;
  const int64_t sh = d->stride_h, sw = d->stride_w, dh = d->dilation_h, dw = d->dilation_w;
  const vconv_layout L = d->layout;
  /* Element strides of the input's h and w axes and of its channels. */
  const int64_t xs_w = L == VCONV_LAYOUT_NHWC ? C : 1;
  const int64_t xs_h = W * xs_w;
  const int64_t xs_c = L == VCONV_LAYOUT_NHWC ? 1 : H * W;

  double *acc = malloc(sizeof(double) * (size_t)(P * Q) * 2);
  int32_t *cnt = malloc(sizeof(int32_t) * (size_t)(P * Q));
  if (!acc || !cnt) {
    free(acc);
    free(cnt);
    return REF_INVALID;
  }
  double *abs_acc = acc + P * Q;

  for (int64_t b = 0; b < N; b++)
    for (int64_t k = 0; k < K; k++) {
      const int64_t grp = k / Kg;
      const double bv = bias ? (double)bias[k] : 0.0;
      for (int64_t i = 0; i < P * Q; i++) {
        acc[i] = bv;
        abs_acc[i] = fabs(bv);
        cnt[i] = 1;
      }
      for (int64_t cl = 0; cl < Cg; cl++) {
        if (d->connections && !d->connections[k * Cg + cl]) continue;
        const int64_t c = grp * Cg + cl;
        const float *xc = input + (L == VCONV_LAYOUT_NHWC ? b * H * W * C : b * C * H * W) + c * xs_c;
        for (int64_t r = 0; r < R; r++)
          for (int64_t p = 0; p < P; p++) {
            const int64_t ih = p * sh - pt + r * dh;
            if (ih < 0 || ih >= H) continue;
            const float *xrow = xc + ih * xs_h;
            double *arow = acc + p * Q, *brow = abs_acc + p * Q;
            int32_t *crow = cnt + p * Q;
            for (int64_t s = 0; s < S; s++) {
              const int64_t off = s * dw - pl; /* iw = q * sw + off */
              /* q0 = first q with iw >= 0, q1 = one past the last q with iw < W */
              int64_t q0 = off >= 0 ? 0 : (-off + sw - 1) / sw;
              int64_t q1 = W - 1 - off < 0 ? 0 : (W - 1 - off) / sw + 1;
              if (q1 > Q) q1 = Q;
              const double wv = (double)weights[((k * Cg + cl) * R + r) * S + s];
              for (int64_t q = q0; q < q1; q++) {
                const double prod = (double)xrow[(q * sw + off) * xs_w] * wv;
                arow[q] += prod;
                brow[q] += fabs(prod);
                crow[q]++;
              }
            }
          }
      }
      for (int64_t p = 0; p < P; p++)
        for (int64_t q = 0; q < Q; q++) {
          const int64_t o = ref_index(L, K, P, Q, b, k, p, q);
          y[o] = activate(d, acc[p * Q + q]);
          a[o] = abs_acc[p * Q + q];
          n[o] = cnt[p * Q + q];
        }
    }
  free(acc);
  free(cnt);
  return REF_OK;
}

int64_t ref_pool_divisor(const vconv_pool2d_desc *d, const ref_geom *g, int64_t h0, int64_t w0) {
  /* Include-pad counts the taps inside the padded input [-pt, H + pb) x [-pl, W + pr):
   * in ceil mode the last window may reach past the trailing padding, and those
   * taps count for neither kind. */
  const int incl = d->kind == VCONV_POOL_AVG_INCLUDE_PAD;
  const int64_t hlo = incl ? -g->h.pad_begin : 0, hhi = d->in_height + (incl ? g->h.pad_end : 0);
  const int64_t wlo = incl ? -g->w.pad_begin : 0, whi = d->in_width + (incl ? g->w.pad_end : 0);
  int64_t rows = 0, cols = 0;
  for (int64_t r = 0; r < d->window_h; r++) rows += h0 + r >= hlo && h0 + r < hhi;
  for (int64_t s = 0; s < d->window_w; s++) cols += w0 + s >= wlo && w0 + s < whi;
  return rows * cols;
}

int ref_pool2d(const vconv_pool2d_desc *d, const float *input, double *y, double *a, int32_t *n) {
  ref_geom g;
  int st = ref_pool2d_geometry(d, &g);
  if (st != REF_OK) return st;
  const int64_t N = d->batch, C = d->channels, H = d->in_height, W = d->in_width;
  const int64_t P = g.h.out, Q = g.w.out;
  const vconv_layout L = d->layout;
  for (int64_t b = 0; b < N; b++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t p = 0; p < P; p++)
        for (int64_t q = 0; q < Q; q++) {
          const int64_t h0 = p * d->stride_h - g.h.pad_begin, w0 = q * d->stride_w - g.w.pad_begin;
          double mx = -INFINITY, sum = 0.0, abs_sum = 0.0;
          int any_nan = 0;
          int32_t taps = 0;
          for (int64_t r = 0; r < d->window_h; r++) {
            const int64_t ih = h0 + r;
            if (ih < 0 || ih >= H) continue;
            for (int64_t s = 0; s < d->window_w; s++) {
              const int64_t iw = w0 + s;
              if (iw < 0 || iw >= W) continue;
              const double x = input[ref_index(L, C, H, W, b, c, ih, iw)];
              if (isnan(x)) any_nan = 1;
              if (x > mx) mx = x;
              sum += x;
              abs_sum += fabs(x);
              taps++;
            }
          }
          const int64_t o = ref_index(L, C, P, Q, b, c, p, q);
          n[o] = taps;
          if (d->kind == VCONV_POOL_MAX) {
            y[o] = any_nan ? NAN : mx;
            a[o] = 0.0;
          } else {
            const double div = (double)ref_pool_divisor(d, &g, h0, w0);
            y[o] = any_nan ? NAN : sum / div;
            a[o] = abs_sum / div;
          }
        }
  return REF_OK;
}

void ref_relayout(const float *src, vconv_layout from, float *dst, vconv_layout to, int64_t N,
                  int64_t C, int64_t H, int64_t W) {
  for (int64_t b = 0; b < N; b++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t w = 0; w < W; w++)
          dst[ref_index(to, C, H, W, b, c, h, w)] = src[ref_index(from, C, H, W, b, c, h, w)];
}

/* Maximal absolute row sum of a rows x cols matrix. */
static double norm_inf(const double *x, int rows, int cols) {
  double best = 0.0;
  for (int i = 0; i < rows; i++) {
    double s = 0.0;
    for (int j = 0; j < cols; j++) s += fabs(x[i * cols + j]);
    if (s > best) best = s;
  }
  return best;
}

static int row_nonzeros(const double *x, int rows, int cols) {
  int best = 0;
  for (int i = 0; i < rows; i++) {
    int k = 0;
    for (int j = 0; j < cols; j++) k += x[i * cols + j] != 0.0;
    if (k > best) best = k;
  }
  return best;
}

void ref_wino_tile_init(ref_wino_tile *t, int r, ref_wino_axis h, ref_wino_axis w, int64_t Cg,
                        double wmax) {
  const int ah = h.m + r - 1, aw = w.m + r - 1, T = ah * aw;
  t->r = r;
  t->h = h;
  t->w = w;
  t->nb = row_nonzeros(h.bt, ah, ah) + row_nonzeros(w.bt, aw, aw);
  t->na = row_nonzeros(h.at, h.m, ah) + row_nonzeros(w.at, w.m, aw);
  t->nz = (int32_t)(T * (Cg * (T + r * r + 2) + 2) + 2);
  t->nops = (double)T * ((double)Cg * (ah + aw + 1) + ah + aw) + 1;
  t->amp = norm_inf(h.at, h.m, ah) * norm_inf(w.at, w.m, aw) * norm_inf(h.g, ah, r) *
           norm_inf(w.g, aw, r) * norm_inf(h.bt, ah, ah) * norm_inf(w.bt, aw, aw) *
           (wmax > 1.0 ? wmax : 1.0);
}

int ref_wino_bound(const vconv_conv2d_desc *d, const float *input, const float *weights,
                   const float *bias, int64_t gx, int64_t ph, int64_t pw, const ref_wino_tile *t,
                   double *z) {
  ref_geom geo;
  int st = ref_conv2d_geometry(d, &geo);
  if (st != REF_OK) return st;
  const int mh = t->h.m, mw = t->w.m, r = t->r, ah = mh + r - 1, aw = mw + r - 1, T = ah * aw;
  if (d->kernel_h != r || d->kernel_w != r || d->stride_h != 1 || d->stride_w != 1 ||
      d->dilation_h != 1 || d->dilation_w != 1 || gx < 1 || ah > 16 || aw > 16 || r > 8)
    return REF_INVALID;
  /* images ph rows and pw columns apart, no closer than their padding allows */
  if (ph < d->in_height + (geo.h.pad_begin > geo.h.pad_end ? geo.h.pad_begin : geo.h.pad_end) ||
      ph < geo.h.out || pw < d->in_width + (geo.w.pad_begin > geo.w.pad_end ? geo.w.pad_begin : geo.w.pad_end) ||
      pw < geo.w.out)
    return REF_INVALID;
  const int64_t N = d->batch, C = d->in_channels, H = d->in_height, W = d->in_width;
  const int64_t K = d->out_channels, G = d->groups, Cg = C / G, Kg = K / G;
  const int64_t P = geo.h.out, Q = geo.w.out, pt = geo.h.pad_begin, pl = geo.w.pad_begin;
  const int64_t Hp = ph, Wp = pw, gy = (N + gx - 1) / gx;
  const int64_t TY = ((gy - 1) * Hp + P + mh - 1) / mh, TX = ((gx - 1) * Wp + Q + mw - 1) / mw;
  double *U = malloc(sizeof(double) * (size_t)(Kg * Cg * T)); /* |G_h||g||G_w^T| of one group */
  double *V = malloc(sizeof(double) * (size_t)(Cg * T));      /* |B_h^T||d||B_w| of one tile */
  double *M = malloc(sizeof(double) * (size_t)T);
  if (!U || !V || !M) {
    free(U);
    free(V);
    free(M);
    return REF_INVALID;
  }
  for (int64_t grp = 0; grp < G; grp++) {
    for (int64_t k = 0; k < Kg; k++)
      for (int64_t c = 0; c < Cg; c++) {
        const float *w = weights + ((grp * Kg + k) * Cg + c) * r * r;
        double tmp[16][8];
        for (int x = 0; x < ah; x++)
          for (int j = 0; j < r; j++) {
            double s = 0.0;
            for (int i = 0; i < r; i++) s += fabs(t->h.g[x * r + i]) * fabs((double)w[i * r + j]);
            tmp[x][j] = s;
          }
        double *u = U + (k * Cg + c) * T;
        for (int x = 0; x < ah; x++)
          for (int y = 0; y < aw; y++) {
            double s = 0.0;
            for (int j = 0; j < r; j++) s += tmp[x][j] * fabs(t->w.g[y * r + j]);
            u[x * aw + y] = s;
          }
      }
    for (int64_t ty = 0; ty < TY; ty++)
      for (int64_t tx = 0; tx < TX; tx++) {
        for (int64_t c = 0; c < Cg; c++) {
          double dp[16][16], tmp[16][16];
          for (int i = 0; i < ah; i++)
            for (int j = 0; j < aw; j++) { /* the canvas pixel, or a zero */
              const int64_t Y = ty * mh + i, X = tx * mw + j;
              const int64_t n = Y / Hp * gx + X / Wp, h = Y % Hp - pt, w = X % Wp - pl;
              const int inside = X / Wp < gx && n < N && h >= 0 && h < H && w >= 0 && w < W;
              dp[i][j] = inside ? fabs((double)input[((n * C + grp * Cg + c) * H + h) * W + w]) : 0.0;
            }
          for (int x = 0; x < ah; x++)
            for (int j = 0; j < aw; j++) {
              double s = 0.0;
              for (int i = 0; i < ah; i++) s += fabs(t->h.bt[x * ah + i]) * dp[i][j];
              tmp[x][j] = s;
            }
          for (int x = 0; x < ah; x++)
            for (int y = 0; y < aw; y++) {
              double s = 0.0;
              for (int j = 0; j < aw; j++) s += tmp[x][j] * fabs(t->w.bt[y * aw + j]);
              V[c * T + x * aw + y] = s;
            }
        }
        for (int64_t k = 0; k < Kg; k++) {
          for (int xi = 0; xi < T; xi++) M[xi] = 0.0;
          for (int64_t c = 0; c < Cg; c++) {
            const double *u = U + (k * Cg + c) * T, *v = V + c * T;
            for (int xi = 0; xi < T; xi++) M[xi] += u[xi] * v[xi];
          }
          const int64_t ko = grp * Kg + k;
          const double bv = bias ? fabs((double)bias[ko]) : 0.0;
          for (int i = 0; i < mh; i++) {
            const int64_t Y = ty * mh + i, iy = Y / Hp, p = Y % Hp;
            if (p >= P || iy >= gy) continue;
            for (int j = 0; j < mw; j++) {
              const int64_t X = tx * mw + j, ix = X / Wp, q = X % Wp, n = iy * gx + ix;
              if (q >= Q || ix >= gx || n >= N) continue;
              double s = 0.0;
              for (int x = 0; x < ah; x++)
                for (int y = 0; y < aw; y++)
                  s += fabs(t->h.at[i * ah + x]) * fabs(t->w.at[j * aw + y]) * M[x * aw + y];
              z[((n * K + ko) * P + p) * Q + q] = bv + s;
            }
          }
        }
      }
  }
  free(U);
  free(V);
  free(M);
  return REF_OK;
}
