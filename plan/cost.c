/*
 * The cost model: a plan's single-thread time estimated from its real work,
 * per tier, with efficiencies fitted to measurements.
 *
 * A plan's work is two terms and a call, as the kernel counts them in its
 * plan (vconv_conv_plan.macs, .moved): t0 the multiply-adds it issues, the
 * lanes that its vectors and register tiles pad included (im2col and
 * Winograd: the GEMM's tiles), or where the kernel models its own loop nest
 * the multiply-adds two FMA units would issue in the cycles it estimates
 * (.cycles; direct: the FMA issue of its register tiles against their FMA
 * latency and loads, and the per-tile calls and stores, so the channels
 * padded to K-blocks or the row to whole vectors are in it), t1 the values
 * it packs or transforms (im2col's matrix,
 * Winograd's transformed tiles; none for direct),
 * and ns = a t0 + b t1 + c for the plan's family (a direct path, im2col, a
 * Winograd tile) on its tier: a is the
 * inverse of the family's multiply-add rate there (its efficiency against
 * the tier's peak), b the cost of a packed or transformed value, c the
 * fixed cost of a call (task set-up, tiny layers).
 *
 * a, b, c are fitted once per process, by least squares on the relative
 * error (each point weighs the same, whatever its size), to the points of one
 * table of plan/calibration/: single-thread times of every plan on a set of
 * shapes, measured by tools/vconv-calibrate on one CPU and checked in.  The
 * table is this CPU's (vendor, family and model), else one of its vendor and
 * family, else the first: the same tier weighs its families differently
 * from one core to the next (a Zen 4 runs 512-bit FMAs in two halves, a Zen
 * 5 does not: its plans ran 1.2-2.1x slower than the Zen 5's, not by one
 * factor).  Terms that come out negative are dropped and the rest refitted.
 * A tier without points (one the CPU of the table could not run: NEON)
 * borrows the fitted family of the nearest calibrated tier, its a and b
 * scaled by the lane ratio.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "cal_shape.h"
#include "plan.h"

/* Families: direct's paths (kernel path index), im2col, each Winograd tile
 * (whose transforms' cost per value grows with the tile). */
enum { FAM_DIRECT0 = 0, FAM_IM2COL = 3, FAM_WINO0 = 4, NFAM = FAM_WINO0 + VCONV_ALGO_COUNT - VCONV_ALGO_WINOGRAD_F2X2_3X3 };

typedef struct calibration_point {
  const char *plan; /* NULL: the first row of a table, naming its CPU */
  vconv_cal_shape shape;
  double ns;
  const char *vendor;
  int family, model;
} calibration_point;

#define VCONV_CAL(plan, N, C, H, W, K, R, S, stride, pad, groups, nhwc, ns) \
  {plan, {N, C, H, W, K, R, S, stride, pad, groups, nhwc}, ns, NULL, 0, 0},
#define VCONV_CAL_MACHINE(vendor, family, model) {NULL, {0}, 0, vendor, family, model},
/* One table per CPU; the first is the default. */
static const calibration_point points[] = {
#include "calibration/amd-zen5.inc"
#include "calibration/amd-zen4.inc"
#include "calibration/amd-zen3.inc"
    {NULL, {0}, 0, NULL, 0, 0}};

typedef struct fit {
  double a, b, c;
  int n; /* points it was fitted to; 0: borrowed or default */
} fit;

static fit fits[VCONV_ISA_COUNT][NFAM];
static char table_cpu[80]; /* the CPU of the table in use (vconv_cost_model_cpu) */
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The machine row of this CPU's table (see the top of the file). */
static const calibration_point *pick_table(void) {
  vconv_cpu_info ci;
  memset(&ci, 0, sizeof ci);
  vconv_get_cpu_info(&ci);
  const calibration_point *best = NULL;
  int best_score = -1;
  for (const calibration_point *p = points; p->plan || p->vendor; p++) {
    if (p->plan) continue;
    const int same = strcmp(p->vendor, ci.vendor) == 0 && p->family == ci.family;
    const int score = same ? 1 + (p->model == ci.model) : 0;
    if (score > best_score) {
      best = p;
      best_score = score;
    }
  }
  return best;
}

static int lanes(vconv_isa isa) {
  switch (isa) {
    case VCONV_ISA_AVX512: return 16;
    case VCONV_ISA_AVX2: return 8;
    case VCONV_ISA_SSE41:
    case VCONV_ISA_NEON: return 4;
    default: return 1;
  }
}

/* The family of a plan and its two work terms (the kernel's own count). */
static int terms(const vconv_conv_kernel *k, const vconv_conv_plan *pl, double t[2]) {
  /* A kernel's cycle estimate as the multiply-adds the tier's two FMA units
   * could issue in that time (its macs where the tiles never stall), so every
   * family's t0 is on one scale: a borrowed or default fit (scaled by lanes)
   * means the same for direct as for the others. */
  t[0] = pl->cycles > 0 ? pl->cycles * 2.0 * lanes(k->isa) : pl->macs;
  t[1] = pl->moved;
  if (k->algo == VCONV_ALGO_DIRECT) return FAM_DIRECT0 + (pl->path < 3 ? pl->path : 0);
  if (k->algo == VCONV_ALGO_IM2COL) return FAM_IM2COL;
  return FAM_WINO0 + (int)k->algo - (int)VCONV_ALGO_WINOGRAD_F2X2_3X3; /* the tiles' enum values */
}

/* Weighted least squares on relative error over the unknowns in use[];
 * returns 0 if singular. */
static int solve(double A[3][3], const double y[3], const int use[3], double x[3]) {
  int idx[3], n = 0;
  for (int i = 0; i < 3; i++)
    if (use[i]) idx[n++] = i;
  double M[3][4];
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < n; j++) M[i][j] = A[idx[i]][idx[j]];
    M[i][n] = y[idx[i]];
  }
  for (int c = 0; c < n; c++) {
    int p = c;
    for (int i = c + 1; i < n; i++)
      if (fabs(M[i][c]) > fabs(M[p][c])) p = i;
    if (fabs(M[p][c]) < 1e-300) return 0;
    for (int j = 0; j <= n; j++) {
      const double tmp = M[c][j];
      M[c][j] = M[p][j];
      M[p][j] = tmp;
    }
    for (int i = 0; i < n; i++) {
      if (i == c) continue;
      const double f = M[i][c] / M[c][c];
      for (int j = c; j <= n; j++) M[i][j] -= f * M[c][j];
    }
  }
  x[0] = x[1] = x[2] = 0;
  for (int i = 0; i < n; i++) x[idx[i]] = M[i][n] / M[i][i];
  return 1;
}

typedef struct sample {
  double t0, t1, ns;
} sample;

static fit fit_samples(const sample *v, int n, int has_t1) {
  int use[3] = {1, has_t1, 1};
  double x[3] = {0, 0, 0};
  for (int round = 0; round < 3; round++) {
    /* minimise sum ((a t0 + b t1 + c) / ns - 1)^2 */
    double A[3][3] = {{0}}, y[3] = {0};
    for (int i = 0; i < n; i++) {
      const double f[3] = {v[i].t0 / v[i].ns, v[i].t1 / v[i].ns, 1.0 / v[i].ns};
      for (int r = 0; r < 3; r++) {
        y[r] += f[r];
        for (int c = 0; c < 3; c++) A[r][c] += f[r] * f[c];
      }
    }
    if (!solve(A, y, use, x)) break;
    int neg = 0;
    for (int i = 2; i >= 0; i--) /* drop the constant first, then b */
      if (use[i] && x[i] < 0 && !neg) {
        use[i] = 0;
        neg = 1;
      }
    if (!neg) break;
  }
  return (fit){x[0] > 0 ? x[0] : 0, x[1] > 0 ? x[1] : 0, x[2] > 0 ? x[2] : 0, n};
}

static void calibrate(void) {
  static sample v[VCONV_ISA_COUNT][NFAM][64];
  static int nv[VCONV_ISA_COUNT][NFAM];
  const calibration_point *table = pick_table();
  snprintf(table_cpu, sizeof table_cpu, "%s family %d model %d", table->vendor, table->family,
           table->model);
  for (const calibration_point *p = table + 1; p->plan; p++) {
    vconv_conv2d_desc d;
    vconv_cal_desc(&p->shape, &d);
    vconv_conv_shape s;
    const char *colon = strchr(p->plan, ':');
    if (!colon || vconv_i_conv_resolve(&d, &s) != VCONV_OK) continue;
    const vconv_conv_kernel *k = vconv_i_conv_kernel_named(p->plan, (size_t)(colon - p->plan));
    /* A kernel this build does not have, or one this CPU cannot run: plan()
     * is compiled for its tier and may use its instructions. */
    if (!k || !vconv_isa_cpu_supported(k->isa)) continue;
    int path = -1;
    for (int i = 0; i < k->npaths; i++)
      if (strcmp(k->paths[i], colon + 1) == 0) path = i;
    vconv_conv_plan pl;
    double t[2];
    if (path < 0 || !k->plan(&s, vconv_i_machine(), path, &pl)) continue;
    const int f = terms(k, &pl, t);
    if (f < 0 || p->ns <= 0 || nv[k->isa][f] == 64) continue;
    v[k->isa][f][nv[k->isa][f]++] = (sample){t[0], t[1], p->ns};
  }
  for (int i = 0; i < VCONV_ISA_COUNT; i++)
    for (int f = 0; f < NFAM; f++)
      if (nv[i][f] >= 2) fits[i][f] = fit_samples(v[i][f], nv[i][f], f >= FAM_IM2COL);
  /* Uncalibrated: the nearest calibrated tier by lanes, per lane. */
  for (int i = 0; i < VCONV_ISA_COUNT; i++)
    for (int f = 0; f < NFAM; f++) {
      if (fits[i][f].n) continue;
      int best = -1;
      for (int j = 0; j < VCONV_ISA_COUNT; j++)
        if (fits[j][f].n &&
            (best < 0 || abs(lanes((vconv_isa)j) - lanes((vconv_isa)i)) <
                             abs(lanes((vconv_isa)best) - lanes((vconv_isa)i))))
          best = j;
      if (best >= 0) {
        const double r = (double)lanes((vconv_isa)best) / lanes((vconv_isa)i);
        fits[i][f] = (fit){fits[best][f].a * r, fits[best][f].b * r, fits[best][f].c, 0};
      } else { /* no points at all: 1 multiply-add per lane and ns, 1 ns a value */
        fits[i][f] = (fit){1.0 / lanes((vconv_isa)i), 1.0, 0, 0};
      }
    }
}

double vconv_i_cost_ns(const vconv_conv_kernel *k, const vconv_conv_plan *pl,
                       const vconv_conv_shape *s) {
  pthread_once(&once, calibrate);
  (void)s;
  double t[2];
  const int f = terms(k, pl, t);
  const fit *x = &fits[k->isa][f];
  return x->a * t[0] + x->b * t[1] + x->c;
}

const char *vconv_cost_model_cpu(void) {
  pthread_once(&once, calibrate);
  return table_cpu;
}
