/*
 * Winograd accuracy: the error table of the README, and the checks behind the
 * choice of interpolation points.
 *
 * For every tile it measures, against the float64 reference (ref.c), on
 * AlexNet conv3-conv5 (3x3 tiles) or LeNet-5 C1, C3 and AlexNet conv2 (the
 * 5x5 tile), and on random shapes of the tile's kernel size:
 *   direct    the library's direct kernel (effective tier);
 *   library   the library's Winograd kernel (effective tier);
 *   ours      a plain-C float emulation of the library's algorithm with the
 *             points of kernels/winograd/wino_tiles.h and its summation order
 *             (FMA, like the SIMD tiers); it checks that the table's "ours"
 *             is what the kernels do;
 *   textbook  the same emulation with the textbook points (0, +-1, +-2,
 *             +-1/2, ..., as listed in wino_tiles.h) summed in index order.
 * Inputs and weights are uniform in [-1, 1], bias in [-1, 1], batch 1.
 *   max error  = max |y - y_ref| / max |y_ref|   over the layer's outputs
 *   mean error = sum |y - y_ref| / sum |y_ref|
 *
 * Checks:
 *   - the matrices of wino_tiles.h are those of their points: rebuilt here in
 *     double by the Toom-Cook construction (independent of the generator);
 *   - our points are no worse than the textbook ones on any row (mean error,
 *     5% slack for noise) and clearly better where they differ (F(4x4, 3x3),
 *     F(2x2, 5x5): mean error at most 0.8x);
 *   - the library's error is the emulation's (within 2x either way);
 *   - the 5x5 tile ships only within 10x of direct (max and mean, every row).
 *
 * Usage: test_winograd_accuracy [--quick] [--markdown]
 *   --quick (or VCONV_PARITY_QUICK=1): AlexNet channels / 8, fewer random shapes.
 *   --markdown: print the table as Markdown (the README's).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "util.h"
#include "winograd/wino_tiles.h"

#define AMAX 8

static int opt_quick, opt_markdown;

/* ---- tiles and their matrices -------------------------------------------- */

/* A 1-D transform F(m, r) as the library has it (wino_tiles.h). */
typedef struct axis1d {
  int m, r;
  const int (*points)[2], (*textbook)[2];
  const float *at, *bt;
  const double *g;
  const signed char *bt_ord, *at_ord;
} axis1d;

#define AXIS(name, NAME)                                                                      \
  {WINO_##NAME##_M, WINO_##NAME##_R, wino_##name##_points, wino_##name##_textbook,            \
   &wino_##name##_at[0][0], &wino_##name##_bt[0][0], &wino_##name##_g[0][0],                  \
   &wino_##name##_bt_ord[0][0], &wino_##name##_at_ord[0][0]}
static const axis1d axes[] = {AXIS(m2r3, M2R3), AXIS(m4r3, M4R3), AXIS(m5r3, M5R3),
                              AXIS(m6r3, M6R3), AXIS(m2r5, M2R5)};
#define NAXES ((int)(sizeof axes / sizeof axes[0]))

typedef struct tile {
  const char *name; /* "F(4x4, 3x3)" */
  vconv_algorithm algo;
  const axis1d *h, *w; /* rows, columns */
} tile;

static const tile tiles[] = {
    {"F(2x2, 3x3)", VCONV_ALGO_WINOGRAD_F2X2_3X3, &axes[0], &axes[0]},
    {"F(4x4, 3x3)", VCONV_ALGO_WINOGRAD_F4X4_3X3, &axes[1], &axes[1]},
    {"F(4x5, 3x3)", VCONV_ALGO_WINOGRAD_F4X5_3X3, &axes[1], &axes[2]},
    {"F(6x6, 3x3)", VCONV_ALGO_WINOGRAD_F6X6_3X3, &axes[3], &axes[3]},
    {"F(2x2, 5x5)", VCONV_ALGO_WINOGRAD_F2X2_5X5, &axes[4], &axes[4]},
};
#define NTILES ((int)(sizeof tiles / sizeof tiles[0]))

/* Matrices of a point set, in double (Toom-Cook, modified: the last point is
 * infinity; 1/N_j in G).  at: m x a, g: a x r, bt: a x a. */
typedef struct mats {
  int m, r, a;
  double at[AMAX * AMAX], g[AMAX * AMAX], bt[AMAX * AMAX];
} mats;

static void build(mats *x, int m, int r, const int (*pts)[2]) {
  const int a = m + r - 1;
  double p[AMAX];
  for (int j = 0; j < a - 1; j++) p[j] = (double)pts[j][0] / (double)pts[j][1];
  memset(x, 0, sizeof *x);
  x->m = m;
  x->r = r;
  x->a = a;
  for (int j = 0; j < a; j++) {
    /* coefficients of prod_{l != j, l < a-1} (t - p_l), lowest degree first */
    double poly[AMAX + 1] = {1.0};
    int deg = 0;
    double N = 1.0;
    for (int l = 0; l < a - 1; l++) {
      if (l == j) continue;
      if (j < a - 1) N *= p[j] - p[l];
      for (int i = deg + 1; i >= 0; i--) poly[i] = (i ? poly[i - 1] : 0.0) - p[l] * poly[i];
      deg++;
    }
    for (int i = 0; i < a; i++) x->bt[j * a + i] = i <= deg ? poly[i] : 0.0;
    if (j == a - 1) continue;
    for (int i = 0; i < m; i++) x->at[i * a + j] = pow(p[j], i);
    for (int k = 0; k < r; k++) x->g[j * r + k] = pow(p[j], k) / N;
  }
  x->at[(m - 1) * a + a - 1] = 1.0;
  x->g[(a - 1) * r + r - 1] = 1.0;
}

/* The generated header against the construction: float matrices rounded from
 * the same values, G equal to double precision, and the identity. */
static void check_axis(const axis1d *t) {
  mats x;
  build(&x, t->m, t->r, t->points);
  const int a = x.a;
  int bad = 0;
  for (int i = 0; i < a * a; i++) bad += (float)x.bt[i] != t->bt[i];
  for (int i = 0; i < t->m * a; i++) bad += (float)x.at[i] != t->at[i];
  for (int i = 0; i < a * t->r; i++)
    bad += fabs(x.g[i] - t->g[i]) > 1e-14 * (fabs(x.g[i]) + 1e-300);
  CHECK(bad == 0, "F(%d, %d): %d entries of wino_tiles.h differ from the matrices of its points",
        t->m, t->r, bad);
  double worst = 0.0; /* A^T (G g . B^T d) = correlation, in double */
  for (int i = 0; i < t->m; i++)
    for (int s = 0; s < a; s++)
      for (int k = 0; k < t->r; k++) {
        double v = 0.0;
        for (int q = 0; q < a; q++) v += x.at[i * a + q] * x.g[q * t->r + k] * x.bt[q * a + s];
        const double e = fabs(v - (s == i + k ? 1.0 : 0.0));
        if (e > worst) worst = e;
      }
  CHECK(worst < 1e-12, "F(%d, %d): the points' matrices miss the identity by %g", t->m, t->r, worst);
}

/* ---- the emulation ---------------------------------------------------------- */

/* sum over a row of coef (n entries) times v, terms in the order `ord` (-1
 * ends it) or, without ord, in index order; zeros skipped; first term a
 * product (a copy for 1), then FMAs, as the kernels do. */
static float lincomb(const float *coef, const signed char *ord, int n, const float *v, int stride) {
  float acc = 0.0f;
  int first = 1;
  for (int q = 0; q < n; q++) {
    const int i = ord ? ord[q] : q;
    if (i < 0) break;
    const float c = coef[i];
    if (c == 0.0f) continue;
    const float x = v[i * stride];
    acc = first ? (c == 1.0f ? x : c * x) : (c == 1.0f ? acc + x : fmaf(c, x, acc));
    first = 0;
  }
  return acc;
}

/* One axis of an emulated tile. */
typedef struct emu_axis {
  int m, a;
  float at[AMAX * AMAX], bt[AMAX * AMAX];
  double g[AMAX * AMAX];
  const signed char *bt_ord, *at_ord; /* NULL: index order */
} emu_axis;

typedef struct emu {
  int r;
  emu_axis h, w;
} emu;

static void axis_library(emu_axis *e, const axis1d *t) {
  const int a = t->m + t->r - 1;
  e->m = t->m;
  e->a = a;
  memcpy(e->at, t->at, sizeof(float) * (size_t)(t->m * a));
  memcpy(e->bt, t->bt, sizeof(float) * (size_t)(a * a));
  memcpy(e->g, t->g, sizeof(double) * (size_t)(a * t->r));
  e->bt_ord = t->bt_ord;
  e->at_ord = t->at_ord;
}

/* The points' matrices rounded to float; ord: NULL (index order) or storage
 * for the ascending-magnitude order. */
static void axis_points(emu_axis *e, int m, int r, const int (*pts)[2], signed char *ord) {
  mats x;
  build(&x, m, r, pts);
  const int a = x.a;
  e->m = m;
  e->a = a;
  for (int i = 0; i < m * a; i++) e->at[i] = (float)x.at[i];
  for (int i = 0; i < a * a; i++) e->bt[i] = (float)x.bt[i];
  memcpy(e->g, x.g, sizeof(double) * (size_t)(a * r));
  e->bt_ord = e->at_ord = NULL;
  if (!ord) return;
  for (int k = 0; k < 2; k++) /* B^T rows, then A^T rows: nonzeros by ascending |c| */
    for (int rw = 0; rw < (k ? m : a); rw++) {
      const float *row = (k ? e->at : e->bt) + rw * a;
      signed char *o = ord + (k ? AMAX * AMAX : 0) + rw * a;
      int n = 0;
      for (int i = 0; i < a; i++)
        if (row[i] != 0.0f) o[n++] = (signed char)i;
      for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && fabsf(row[o[j]]) < fabsf(row[o[j - 1]]); j--) {
          const signed char tmp = o[j];
          o[j] = o[j - 1];
          o[j - 1] = tmp;
        }
      for (int i = n; i < a; i++) o[i] = -1;
    }
  e->bt_ord = ord;
  e->at_ord = ord + AMAX * AMAX;
}

static void emu_library(emu *e, const tile *t) {
  e->r = t->h->r;
  axis_library(&e->h, t->h);
  axis_library(&e->w, t->w);
}

static void emu_textbook(emu *e, const tile *t) {
  e->r = t->h->r;
  axis_points(&e->h, t->h->m, t->h->r, t->h->textbook, NULL);
  axis_points(&e->w, t->w->m, t->w->r, t->w->textbook, NULL);
}

/* y (NCHW, batch 1, groups 1) of the convolution with padding (pt, pl),
 * output P x Q, tile by tile from the image's corner as the library tiles a
 * single image. */
static void emu_conv(const emu *e, int64_t C, int64_t H, int64_t W, int64_t K, int64_t P,
                     int64_t Q, int64_t pt, int64_t pl, const float *x, const float *w,
                     const float *bias, float *y) {
  const int mh = e->h.m, mw = e->w.m, r = e->r, ah = e->h.a, aw = e->w.a, T = ah * aw;
  float *U = malloc(sizeof(float) * (size_t)(K * C * T));
  float *V = malloc(sizeof(float) * (size_t)(C * T));
  for (int64_t k = 0; k < K; k++)
    for (int64_t c = 0; c < C; c++) {
      const float *wk = w + (k * C + c) * r * r;
      double t1[AMAX][AMAX];
      for (int i = 0; i < ah; i++)
        for (int j = 0; j < r; j++) {
          double s = 0.0;
          for (int l = 0; l < r; l++) s += e->h.g[i * r + l] * (double)wk[l * r + j];
          t1[i][j] = s;
        }
      for (int i = 0; i < ah; i++)
        for (int j = 0; j < aw; j++) {
          double s = 0.0;
          for (int l = 0; l < r; l++) s += t1[i][l] * e->w.g[j * r + l];
          U[(k * C + c) * T + i * aw + j] = (float)s;
        }
    }
  for (int64_t ty = 0; ty < (P + mh - 1) / mh; ty++)
    for (int64_t tx = 0; tx < (Q + mw - 1) / mw; tx++) {
      for (int64_t c = 0; c < C; c++) {
        float d[AMAX * AMAX], t1[AMAX * AMAX];
        for (int i = 0; i < ah; i++)
          for (int j = 0; j < aw; j++) {
            const int64_t h = ty * mh + i - pt, ww = tx * mw + j - pl;
            d[i * aw + j] = h >= 0 && h < H && ww >= 0 && ww < W ? x[(c * H + h) * W + ww] : 0.0f;
          }
        for (int i = 0; i < ah; i++) /* B_h^T d */
          for (int j = 0; j < aw; j++)
            t1[i * aw + j] = lincomb(e->h.bt + i * ah, e->h.bt_ord ? e->h.bt_ord + i * ah : NULL, ah,
                                     d + j, aw);
        for (int i = 0; i < ah; i++) /* ... B_w */
          for (int j = 0; j < aw; j++)
            V[c * T + i * aw + j] = lincomb(e->w.bt + j * aw, e->w.bt_ord ? e->w.bt_ord + j * aw : NULL,
                                            aw, t1 + i * aw, 1);
      }
      for (int64_t k = 0; k < K; k++) {
        float M[AMAX * AMAX], t2[AMAX * AMAX];
        for (int xi = 0; xi < T; xi++) {
          float acc = 0.0f;
          for (int64_t c = 0; c < C; c++) acc = fmaf(U[(k * C + c) * T + xi], V[c * T + xi], acc);
          M[xi] = acc;
        }
        for (int i = 0; i < mh; i++)
          for (int j = 0; j < aw; j++)
            t2[i * aw + j] = lincomb(e->h.at + i * ah, e->h.at_ord ? e->h.at_ord + i * ah : NULL, ah,
                                     M + j, aw);
        for (int i = 0; i < mh; i++)
          for (int j = 0; j < mw; j++) {
            const int64_t p = ty * mh + i, q = tx * mw + j;
            if (p >= P || q >= Q) continue;
            const float v = lincomb(e->w.at + j * aw, e->w.at_ord ? e->w.at_ord + j * aw : NULL, aw,
                                    t2 + i * aw, 1);
            y[(k * P + p) * Q + q] = v + (bias ? bias[k] : 0.0f);
          }
      }
    }
  free(U);
  free(V);
}

/* ---- measurements ----------------------------------------------------------- */

typedef struct err {
  double sum_err, sum_ref, max_err, max_ref;
} err;

static void err_add(err *e, const float *y, const double *ref, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const double d = isnan(y[i]) ? INFINITY : fabs((double)y[i] - ref[i]);
    e->sum_err += d;
    e->sum_ref += fabs(ref[i]);
    if (d > e->max_err) e->max_err = d;
    if (fabs(ref[i]) > e->max_ref) e->max_ref = fabs(ref[i]);
  }
}
static double err_max(const err *e) { return e->max_ref > 0 ? e->max_err / e->max_ref : e->max_err; }
static double err_mean(const err *e) { return e->sum_ref > 0 ? e->sum_err / e->sum_ref : e->sum_err; }

enum { E_DIRECT, E_LIBRARY, E_OURS, E_TEXTBOOK, E_COUNT };
static const char *const e_names[E_COUNT] = {"direct", "library", "ours", "textbook"};

typedef struct shape {
  int64_t C, HW, K, pad;
} shape;

/* One shape, every measurement, added to errs. */
static void measure(const tile *t, const shape *sh, uint64_t seed, err *errs) {
  vconv_conv2d_desc d;
  vconv_conv2d_desc_init(&d);
  d.batch = 1;
  d.in_channels = sh->C;
  d.in_height = d.in_width = sh->HW;
  d.out_channels = sh->K;
  d.kernel_h = d.kernel_w = t->h->r;
  d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = sh->pad;
  int64_t P, Q;
  CHECK_STATUS(vconv_conv2d_output_size(&d, &P, &Q), VCONV_OK);
  const int64_t nin = sh->C * sh->HW * sh->HW, nw = sh->K * sh->C * d.kernel_h * d.kernel_w;
  const int64_t nout = sh->K * P * Q;
  test_rng rng;
  rng_seed(&rng, seed);
  float *x = malloc(sizeof(float) * (size_t)nin), *w = malloc(sizeof(float) * (size_t)nw);
  float *b = malloc(sizeof(float) * (size_t)sh->K), *y = malloc(sizeof(float) * (size_t)nout);
  for (int64_t i = 0; i < nin; i++) x[i] = rng_sym(&rng);
  for (int64_t i = 0; i < nw; i++) w[i] = rng_sym(&rng);
  for (int64_t i = 0; i < sh->K; i++) b[i] = rng_sym(&rng);
  double *ref = malloc(sizeof(double) * (size_t)nout * 2), *a = ref + nout;
  int32_t *n = malloc(sizeof(int32_t) * (size_t)nout);
  ref_conv2d(&d, x, w, b, ref, a, n);
  const vconv_algorithm algos[2] = {VCONV_ALGO_DIRECT, t->algo};
  for (int i = 0; i < 2; i++) {
    vconv_conv2d_op *op = NULL;
    CHECK_STATUS(vconv_conv2d_create(&d, algos[i], w, b, &op), VCONV_OK);
    if (!op) continue;
    CHECK_STATUS(vconv_conv2d_run(op, x, y, NULL, 0, NULL), VCONV_OK);
    err_add(&errs[i == 0 ? E_DIRECT : E_LIBRARY], y, ref, nout);
    vconv_conv2d_destroy(op);
  }
  emu e;
  emu_library(&e, t);
  emu_conv(&e, sh->C, sh->HW, sh->HW, sh->K, P, Q, sh->pad, sh->pad, x, w, b, y);
  err_add(&errs[E_OURS], y, ref, nout);
  emu_textbook(&e, t);
  emu_conv(&e, sh->C, sh->HW, sh->HW, sh->K, P, Q, sh->pad, sh->pad, x, w, b, y);
  err_add(&errs[E_TEXTBOOK], y, ref, nout);
  free(x);
  free(w);
  free(b);
  free(y);
  free(ref);
  free(n);
}

static void points_text(const int (*p)[2], int n, char *buf, size_t len) {
  size_t at = 0;
  for (int i = 0; i < n && at < len; i++) {
    int k = p[i][1] == 1 ? snprintf(buf + at, len - at, "%s%d", i ? ", " : "", p[i][0])
                         : snprintf(buf + at, len - at, "%s%d/%d", i ? ", " : "", p[i][0], p[i][1]);
    at += k > 0 ? (size_t)k : 0;
  }
}

static void row(const tile *t, const char *set, err *errs) {
  const double dmax = err_max(&errs[E_DIRECT]), dmean = err_mean(&errs[E_DIRECT]);
  if (opt_markdown)
    printf("| %s | %s | %.2e / %.2e | %.2e / %.2e | %.2e / %.2e | %.2e / %.2e |\n", t->name, set,
           dmax, dmean, err_max(&errs[E_LIBRARY]), err_mean(&errs[E_LIBRARY]), err_max(&errs[E_OURS]),
           err_mean(&errs[E_OURS]), err_max(&errs[E_TEXTBOOK]), err_mean(&errs[E_TEXTBOOK]));
  else {
    printf("  %-12s %-16s", t->name, set);
    for (int i = 0; i < E_COUNT; i++)
      printf("  %s %.2e/%.2e", e_names[i], err_max(&errs[i]), err_mean(&errs[i]));
    printf("\n");
  }
  fflush(stdout);
  /* Checks. */
  const double ours = err_mean(&errs[E_OURS]), text = err_mean(&errs[E_TEXTBOOK]);
  int differ = 0;
  for (int k = 0; k < 2; k++) {
    const axis1d *x = k ? t->w : t->h;
    for (int i = 0; i < x->m + x->r - 2; i++)
      differ |= x->points[i][0] != x->textbook[i][0] || x->points[i][1] != x->textbook[i][1];
  }
  CHECK(ours <= 1.05 * text, "%s %s: our points' mean error %.3g above the textbook's %.3g", t->name,
        set, ours, text);
  if (differ)
    CHECK(ours <= 0.8 * text, "%s %s: our points gain little: mean error %.3g vs textbook %.3g",
          t->name, set, ours, text);
  const double lib = err_mean(&errs[E_LIBRARY]);
  CHECK(lib <= 2.0 * ours && ours <= 2.0 * lib, "%s %s: library mean error %.3g, its emulation %.3g",
        t->name, set, lib, ours);
  if (t->h->r == 5)
    CHECK(err_max(&errs[E_LIBRARY]) <= 10.0 * dmax && lib <= 10.0 * dmean,
          "%s %s: error %.3g / %.3g, more than 10x direct's %.3g / %.3g", t->name, set,
          err_max(&errs[E_LIBRARY]), lib, dmax, dmean);
}

/* A tile not shipped: emulated only, with its points summed by ascending
 * coefficient magnitude (as the library would), against direct. */
static void candidate(const char *name, int m, int r, const int (*pts)[2]) {
  static signed char ord[2 * AMAX * AMAX];
  emu e;
  e.r = r;
  axis_points(&e.h, m, r, pts, ord);
  e.w = e.h;
  const int div = opt_quick ? 8 : 1;
  const shape five[] = {{1, 32, 6, 0}, {6, 14, 16, 0}, {96 / div, 27, 256 / div, 2}};
  const char *five_names[] = {"LeNet-5 C1", "LeNet-5 C3", "AlexNet conv2"};
  for (int s = 0; s < 3; s++) {
    const shape *sh = &five[s];
    vconv_conv2d_desc d;
    vconv_conv2d_desc_init(&d);
    d.batch = 1;
    d.in_channels = sh->C;
    d.in_height = d.in_width = sh->HW;
    d.out_channels = sh->K;
    d.kernel_h = d.kernel_w = r;
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = sh->pad;
    int64_t P, Q;
    vconv_conv2d_output_size(&d, &P, &Q);
    const int64_t nin = sh->C * sh->HW * sh->HW, nw = sh->K * sh->C * r * r, nout = sh->K * P * Q;
    test_rng rng;
    rng_seed(&rng, 0x1234 + (uint64_t)s);
    float *xx = malloc(sizeof(float) * (size_t)nin), *w = malloc(sizeof(float) * (size_t)nw);
    float *b = malloc(sizeof(float) * (size_t)sh->K), *y = malloc(sizeof(float) * (size_t)nout);
    for (int64_t i = 0; i < nin; i++) xx[i] = rng_sym(&rng);
    for (int64_t i = 0; i < nw; i++) w[i] = rng_sym(&rng);
    for (int64_t i = 0; i < sh->K; i++) b[i] = rng_sym(&rng);
    double *ref = malloc(sizeof(double) * (size_t)nout * 2);
    int32_t *n = malloc(sizeof(int32_t) * (size_t)nout);
    ref_conv2d(&d, xx, w, b, ref, ref + nout, n);
    err errs[E_COUNT];
    memset(errs, 0, sizeof errs);
    vconv_conv2d_op *op = NULL;
    CHECK_STATUS(vconv_conv2d_create(&d, VCONV_ALGO_DIRECT, w, b, &op), VCONV_OK);
    if (op && vconv_conv2d_run(op, xx, y, NULL, 0, NULL) == VCONV_OK) err_add(&errs[E_DIRECT], y, ref, nout);
    vconv_conv2d_destroy(op);
    emu_conv(&e, sh->C, sh->HW, sh->HW, sh->K, P, Q, sh->pad, sh->pad, xx, w, b, y);
    err_add(&errs[E_OURS], y, ref, nout);
    const double ratio_max = err_max(&errs[E_OURS]) / err_max(&errs[E_DIRECT]);
    const double ratio_mean = err_mean(&errs[E_OURS]) / err_mean(&errs[E_DIRECT]);
    if (opt_markdown)
      printf("| %s (not shipped) | %s | %.2e / %.2e | - | %.2e / %.2e | %.1fx / %.1fx direct |\n", name,
             five_names[s], err_max(&errs[E_DIRECT]), err_mean(&errs[E_DIRECT]), err_max(&errs[E_OURS]),
             err_mean(&errs[E_OURS]), ratio_max, ratio_mean);
    else
      printf("  %-12s %-16s  direct %.2e/%.2e  emulated %.2e/%.2e  (%.1fx / %.1fx direct)\n", name,
             five_names[s], err_max(&errs[E_DIRECT]), err_mean(&errs[E_DIRECT]), err_max(&errs[E_OURS]),
             err_mean(&errs[E_OURS]), ratio_max, ratio_mean);
    free(xx);
    free(w);
    free(b);
    free(y);
    free(ref);
    free(n);
  }
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  opt_quick = env_flag("VCONV_PARITY_QUICK");
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) opt_quick = 1;
    else if (strcmp(argv[i], "--markdown") == 0) opt_markdown = 1;
    else {
      fprintf(stderr, "usage: %s [--quick] [--markdown]\n", argv[0]);
      return 2;
    }
  }
  const double t0 = test_now();
  const int div = opt_quick ? 8 : 1;
  printf("vconv %s Winograd accuracy%s, effective tier %s (errors: max / mean, see the header)\n",
         vconv_version(), opt_quick ? " (quick: AlexNet channels / 8)" : "",
         vconv_isa_name(vconv_isa_effective()));
  if (opt_markdown)
    printf("\n| tile | shapes | direct | library | ours (emulated) | textbook points |\n"
           "|---|---|---|---|---|---|\n");
  for (int i = 0; i < NAXES; i++) {
    check_axis(&axes[i]);
    if (!opt_markdown) {
      char a[96], b[96];
      const int n = axes[i].m + axes[i].r - 2;
      points_text(axes[i].points, n, a, sizeof a);
      points_text(axes[i].textbook, n, b, sizeof b);
      printf("F(%d, %d): points %s, inf (textbook %s, inf)\n", axes[i].m, axes[i].r, a, b);
    }
  }
  for (int ti = 0; ti < NTILES; ti++) {
    const tile *t = &tiles[ti];
    const int r = t->h->r;
    const shape alex3[] = {{256 / div, 13, 384 / div, 1}, {384 / div, 13, 384 / div, 1},
                           {384 / div, 13, 256 / div, 1}};
    const char *alex3_names[] = {"AlexNet conv3", "AlexNet conv4", "AlexNet conv5"};
    const shape five[] = {{1, 32, 6, 0}, {6, 14, 16, 0}, {96 / div, 27, 256 / div, 2}};
    const char *five_names[] = {"LeNet-5 C1", "LeNet-5 C3", "AlexNet conv2"};
    const shape *named = r == 3 ? alex3 : five;
    const char **names = r == 3 ? alex3_names : five_names;
    for (int s = 0; s < 3; s++) {
      err errs[E_COUNT];
      memset(errs, 0, sizeof errs);
      measure(t, &named[s], 0x1234 + (uint64_t)s, errs);
      row(t, names[s], errs);
    }
    /* Random shapes of the tile's kernel, pooled. */
    err errs[E_COUNT];
    memset(errs, 0, sizeof errs);
    test_rng rng;
    rng_seed(&rng, 0xacc0 + (uint64_t)r);
    const int nshapes = opt_quick ? 6 : 16;
    for (int s = 0; s < nshapes; s++) {
      shape sh = {rng_range(&rng, 1, 96 / div + 8), rng_range(&rng, r, 40), rng_range(&rng, 1, 64),
                  rng_range(&rng, 0, r / 2)};
      measure(t, &sh, rng_next(&rng), errs);
    }
    row(t, opt_quick ? "6 random" : "16 random", errs);
  }
  /* The larger 5x5 tile, measured to show why it is not shipped: on LeNet-5
   * C1 (one input channel, 25 terms per output) its transforms' error is
   * more than 10x direct's. */
  static const int f4x5[7][2] = {{0, 1}, {1, 1}, {-1, 1}, {2, 1}, {-2, 1}, {1, 2}, {-1, 2}};
  if (!opt_markdown) printf("candidate not shipped (emulated):\n");
  candidate("F(4x4, 5x5)", 4, 5, f4x5);
  printf("total %.1f s\n", test_now() - t0);
  return test_summary("test_winograd_accuracy");
}
