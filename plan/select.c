/*
 * The heuristic: which plan VCONV_ALGO_AUTO and VCONV_ALGO_WINOGRAD mean on a
 * tier for a shape (with no wisdom and no measuring), Winograd's accuracy
 * rule, and the process-wide Winograd switch (vconv_set_winograd,
 * VCONV_WINOGRAD).
 *
 * AUTO is the plan with the lowest estimated time (cost.c: every path of
 * every kernel of the tier that applies, Winograd tiles only within the
 * accuracy rule and while the switch is on); WINOGRAD the tile with the
 * lowest estimate.  Ties keep the earlier entry of the variant list (direct,
 * im2col, then the tiles, most accurate first).
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "variants.h"
#include "winograd/wino_plan.h"
#include "winograd/wino_tiles.h"

/* A 1-D transform of wino_tiles.h: m outputs, alpha = m + r - 1. */
typedef struct axis {
  int m, r;
  const float *at, *bt; /* m x alpha, alpha x alpha */
  const double *g;      /* alpha x r */
} axis;

#define AXIS(t, T) \
  {WINO_##T##_M, WINO_##T##_R, &wino_##t##_at[0][0], &wino_##t##_bt[0][0], &wino_##t##_g[0][0]}

#define TILE(tn, ALGO, r, h, H, w, W) {VCONV_ALGO_##ALGO, WINO_##H##_M, WINO_##W##_M, r, AXIS(h, H), AXIS(w, W)},
/* The list's order: the most accurate first (ties go to it). */
static const struct {
  vconv_algorithm algo;
  int mh, mw, r;
  axis h, w; /* the transforms of the tile's rows and columns */
} tiles[] = {VCONV_WINO_TILES(TILE)};
#define NTILES (sizeof tiles / sizeof tiles[0])

/* ---- accuracy ---------------------------------------------------------------- */

/*
 * A tile is taken only where its error bound on the shape is at most
 * ACCURACY_M times direct's.  The bounds are the parity suite's (tests/ref.c,
 * README "Winograd accuracy"), at their largest over the outputs for inputs
 * and weights of bounded magnitude, |x| <= X and |w| <= Y (both bounds scale
 * with XY, their ratio does not):
 *
 *   direct  gamma(n) A,  n = Cg t + 1 terms,  A = Cg t XY, where t =
 *           min(R, H) min(S, W) is the most taps an output has in the image;
 *   tile    gamma(Cg + k) Z, k = nB_h + nB_w + nA_h + nA_w + 7 roundings on
 *           top of the GEMM's Cg (the nonzeros of a row of B^T and A^T, per
 *           axis), Z <= Cg c_h c_w XY, with the growth of an axis
 *           c = max_i sum_x |A^T[i][x]| sum_j |G[x][j]| sum_l |B^T[x][l]|
 *           (Z at all-equal magnitudes, the largest over the tile's
 *           positions; an F(2,3) axis has c = 8, F(4,3) 23.2, F(5,3) 47.9,
 *           F(6,3) 67.7, F(2,5) 34);
 *
 * with gamma(n) = n u / (1 - n u), u = 2^-24.  So
 *
 *   ratio = gamma(Cg + k) c_h c_w / (gamma(Cg t + 1) t),
 *
 * the ratio of the two bounds whenever a whole tile's patch lies inside the
 * image (Z then reaches Cg c_h c_w XY) and above it otherwise.  The bias is left out: it adds the same to A and Z >= A, so it
 * only lowers the ratio.  The ratio falls with Cg towards c_h c_w / (R S)^2:
 * 0.79 for F(2x2, 3x3), 6.6 for F(4x4), 13.7 for F(4x5), 56.5 for F(6x6),
 * 1.85 for F(2x2, 5x5); with few channels the tile's fixed roundings weigh
 * more (Cg = 8: 2.4, 27, 61, 286, 7.6).  ACCURACY_M = 100 keeps every tile
 * the planner measured fastest on AlexNet conv2-5 (results/wisdom.txt:
 * F(2x2, 5x5) on conv2 at 48 and 96 channels per group, 2.8 and 2.3;
 * F(4x4) and F(4x5) on conv3-5, at most 16; F(6x6) on conv5 at 192 and
 * 384, 66 and 61) and takes F(6x6) from 43 channels per group, F(4x5) from
 * 5, F(4x4) from 2, the F(2x2) tiles on any image at least as large as the
 * kernel (at most 12.8 and 46 there).  c, nB and nA come from the matrices
 * the kernels use, on every call: a few hundred operations per create.
 * tests/test_winograd_auto.c evaluates both bounds of tests/ref.c output by
 * output instead, and fails where a choice lies above ACCURACY_M.
 */
#define ACCURACY_M 100.0

static double gamma_u(double n) {
  const double u = 0x1p-24;
  return n * u / (1.0 - n * u);
}

/* c of the axis; *nb, *na: the most nonzeros in a row of B^T, of A^T. */
static double axis_growth(const axis *x, int *nb, int *na) {
  const int a = x->m + x->r - 1;
  double gb[16];
  *nb = *na = 0;
  if (a > 16) return INFINITY;
  for (int i = 0; i < a; i++) {
    double sg = 0.0, sb = 0.0;
    int nz = 0;
    for (int j = 0; j < x->r; j++) sg += fabs(x->g[i * x->r + j]);
    for (int l = 0; l < a; l++) {
      sb += fabs((double)x->bt[i * a + l]);
      nz += x->bt[i * a + l] != 0.0f;
    }
    gb[i] = sg * sb;
    if (nz > *nb) *nb = nz;
  }
  double c = 0.0;
  for (int i = 0; i < x->m; i++) {
    double s = 0.0;
    int nz = 0;
    for (int j = 0; j < a; j++) {
      s += fabs((double)x->at[i * a + j]) * gb[j];
      nz += x->at[i * a + j] != 0.0f;
    }
    if (s > c) c = s;
    if (nz > *na) *na = nz;
  }
  return c;
}

static double tile_ratio(size_t t, const vconv_conv_shape *s) {
  int nbh, nah, nbw, naw;
  const double ch = axis_growth(&tiles[t].h, &nbh, &nah);
  const double cw = axis_growth(&tiles[t].w, &nbw, &naw);
  const double k = nbh + nbw + nah + naw + 7;
  const double taps = (double)(s->R < s->H ? s->R : s->H) * (double)(s->S < s->W ? s->S : s->W);
  const double cg = (double)s->Cg;
  return gamma_u(cg + k) * ch * cw / (gamma_u(cg * taps + 1.0) * taps);
}

int vconv_i_is_winograd_tile(vconv_algorithm algo) {
  for (size_t t = 0; t < NTILES; t++)
    if (tiles[t].algo == algo) return 1;
  return 0;
}

double vconv_i_winograd_bound_ratio(vconv_algorithm algo, const vconv_conv_shape *s) {
  for (size_t t = 0; t < NTILES; t++)
    if (tiles[t].algo == algo) return tile_ratio(t, s);
  return 1.0; /* not a Winograd tile: direct's own bound, or im2col's, the same */
}

int vconv_i_winograd_accurate(vconv_algorithm algo, const vconv_conv_shape *s) {
  return vconv_i_winograd_bound_ratio(algo, s) <= ACCURACY_M;
}

/* ---- the switch ---------------------------------------------------------- */

static atomic_int api_enabled = 1;
static int env_value = -1; /* VCONV_WINOGRAD: 0, 1, or -1 when unset or unrecognised */
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static void read_env(void) {
  const char *e = getenv("VCONV_WINOGRAD");
  if (e && (strcmp(e, "0") == 0 || strcmp(e, "1") == 0)) env_value = e[0] - '0';
}

int vconv_winograd_enabled(void) {
  pthread_once(&env_once, read_env);
  return env_value >= 0 ? env_value : atomic_load(&api_enabled);
}

vconv_status vconv_set_winograd(int enabled) {
  if (enabled != 0 && enabled != 1) return VCONV_ERR_INVALID_ARGUMENT;
  atomic_store(&api_enabled, enabled);
  return VCONV_OK;
}

/* ---- tile choice ----------------------------------------------------------- */

/* The plan of the tier with the lowest estimated time among the kernels
 * that want() accepts, every path of each; 0 if none applies. */
static int cheapest(vconv_isa isa, const vconv_conv_shape *s, int (*want)(vconv_algorithm, const vconv_conv_shape *),
                    vconv_i_choice *c) {
  int found = 0;
  for (size_t i = 0; i < vconv_i_conv_kernel_count(); i++) {
    const vconv_conv_kernel *k = vconv_i_conv_kernel(i);
    if (k->isa != isa || !want(k->algo, s)) continue;
    for (int path = 0; path < k->npaths; path++) {
      vconv_i_choice ct;
      if (vconv_i_plan_kernel(k, path, s, &ct) && (!found || ct.work_ns < c->work_ns)) {
        *c = ct;
        found = 1;
      }
    }
  }
  return found;
}

static int auto_wants(vconv_algorithm algo, const vconv_conv_shape *s) {
  return !vconv_i_is_winograd_tile(algo) ||
         (vconv_winograd_enabled() && vconv_i_winograd_accurate(algo, s));
}

static int tile_wanted(vconv_algorithm algo, const vconv_conv_shape *s) {
  return vconv_i_is_winograd_tile(algo) && vconv_i_winograd_accurate(algo, s);
}

vconv_status vconv_i_select(vconv_algorithm algo, vconv_isa isa, const vconv_conv_shape *s,
                            vconv_i_choice *c) {
  if ((int)algo < 0 || (int)algo >= VCONV_ALGO_COUNT) return VCONV_ERR_INVALID_ALGORITHM;
  if (algo == VCONV_ALGO_AUTO)
    return cheapest(isa, s, auto_wants, c) ? VCONV_OK : VCONV_ERR_UNSUPPORTED_ALGORITHM;
  if (algo == VCONV_ALGO_WINOGRAD)
    return cheapest(isa, s, tile_wanted, c) ? VCONV_OK : VCONV_ERR_UNSUPPORTED_ALGORITHM;
  /* One algorithm: its kernel's own choice of path. */
  for (size_t i = 0; i < vconv_i_conv_kernel_count(); i++) {
    const vconv_conv_kernel *k = vconv_i_conv_kernel(i);
    if (k->algo == algo && k->isa == isa)
      return vconv_i_plan_kernel(k, VCONV_PATH_ANY, s, c) ? VCONV_OK : VCONV_ERR_UNSUPPORTED_ALGORITHM;
  }
  return VCONV_ERR_UNSUPPORTED_ALGORITHM;
}
