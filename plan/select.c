/*
 * The heuristic: which kernel VCONV_ALGO_AUTO and VCONV_ALGO_WINOGRAD mean on
 * a tier for a shape (with no wisdom and no measuring), Winograd's accuracy
 * rule, and the process-wide Winograd switch (vconv_set_winograd,
 * VCONV_WINOGRAD).
 *
 * The heuristic compares estimated multiply-adds (vconv_wino_cost in
 * wino_plan.h): a tile's GEMM work (tile rows rounded up to the GEMM register
 * tile, output channels to whole vectors, alpha_h alpha_w products per tile
 * and channel pair) plus its transforms, against the direct convolution's
 * N*P*Q*R*S*Cg*Kg.  The cheapest applicable tile is the one
 * VCONV_ALGO_WINOGRAD runs; AUTO takes it when it is cheaper than direct by
 * WIN_MARGIN, which covers the GEMM's lower efficiency than direct's on
 * large layers (single-thread measurements, Zen 5, AVX-512), and only with
 * enough channels for the transforms to amortise.  Both consider only the
 * tiles whose error bound on the shape is within ACCURACY_M of direct's
 * (below), and so do the measuring planner (measure.c) and wisdom (plan.c).
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

/* Winograd wins when its estimate times this is below direct's. */
#define WIN_MARGIN 1.3
/* Fewer input or output channels per group than this: the transforms cost
 * as much as they save (and depthwise layers have a single channel). */
#define MIN_CHANNELS 8

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

/* Floats per vector of a tier. */
static int64_t lanes(vconv_isa isa) {
  switch (isa) {
    case VCONV_ISA_AVX512: return 16;
    case VCONV_ISA_AVX2: return 8;
    case VCONV_ISA_SSE41:
    case VCONV_ISA_NEON: return 4;
    default: return 1;
  }
}

static const vconv_conv_kernel *find(vconv_algorithm algo, vconv_isa isa) {
  for (size_t i = 0; i < vconv_i_conv_kernel_count(); i++) {
    const vconv_conv_kernel *k = vconv_i_conv_kernel(i);
    if (k->algo == algo && k->isa == isa) return k;
  }
  return NULL;
}

/* The cheapest applicable tile of the tier within the accuracy rule (0 if
 * none), its estimated cost in *cost. */
static int winograd_tile(vconv_isa isa, const vconv_conv_shape *s, vconv_i_choice *c,
                         double *cost) {
  const vconv_gemm_kernel *gemm;
  if (vconv_i_select_gemm(isa, &gemm) != VCONV_OK) return 0;
  int found = 0;
  double best_cost = 0.0;
  for (size_t t = 0; t < NTILES; t++) {
    const vconv_conv_kernel *k = find(tiles[t].algo, isa);
    vconv_i_choice ct;
    if (!k || tile_ratio(t, s) > ACCURACY_M || !vconv_i_plan_kernel(k, VCONV_PATH_ANY, s, &ct))
      continue;
    vconv_wino_geom g;
    vconv_wino_geometry(tiles[t].mh, tiles[t].mw, tiles[t].r, s->N, s->H, s->W, s->pt, s->pb,
                        s->pl, s->pr, &g);
    const double cc = vconv_wino_cost(&g, s->G, s->Cg, s->Kg, gemm->mr, lanes(isa));
    if (!found || cc < best_cost) { /* strictly cheaper: ties keep the more accurate */
      *c = ct;
      best_cost = cc;
      found = 1;
    }
  }
  if (cost) *cost = best_cost;
  return found;
}

/* Winograd where its estimate beats direct's by WIN_MARGIN, with enough
 * channels for the transforms to amortise. */
static int winograd_auto(vconv_isa isa, const vconv_conv_shape *s, vconv_i_choice *c) {
  if (!vconv_winograd_enabled() || s->Cg < MIN_CHANNELS || s->Kg < MIN_CHANNELS) return 0;
  double cost;
  if (!winograd_tile(isa, s, c, &cost)) return 0;
  const double direct = (double)s->N * (double)(s->P * s->Q) * (double)(s->R * s->S) *
                        (double)s->G * (double)s->Cg * (double)s->Kg;
  return cost * WIN_MARGIN < direct;
}

/*
 * The rest of AUTO: im2col where it wants the shape (below), else direct.
 * Measured single threaded on Zen 5 (AVX-512, NCHW and NHWC, batch 1 and 16)
 * against the direct kernel:
 *   im2col wins clearly on pointwise convolutions (1x1, stride 1, no
 *     padding: the input is the GEMM operand itself, no im2col is built),
 *     1.3x to 3x, and on NCHW layers with few input channels per group and
 *     enough output channels to fill the GEMM tile (a 3-channel stem 3x3:
 *     1.4x), where direct has little to vectorise along the reduction;
 *   direct wins or ties everywhere else (AlexNet conv2-5, 3x3 layers of
 *     16-384 channels: 0.7-0.95x for im2col), and on tiny or depthwise
 *     layers, where the GEMM's tiles are mostly padding.
 */
static int im2col_wants(const vconv_conv_shape *s) {
  const int pointwise = s->R == 1 && s->S == 1 && s->sh == 1 && s->sw == 1 && s->pt == 0 &&
                        s->pb == 0 && s->pl == 0 && s->pr == 0;
  if (pointwise) return s->Kg >= 8 && s->Cg >= 8;
  return s->layout == VCONV_LAYOUT_NCHW && s->Cg <= 4 && s->Kg >= 16 && s->P * s->Q >= 1024;
}

vconv_status vconv_i_select(vconv_algorithm algo, vconv_isa isa, const vconv_conv_shape *s,
                            vconv_i_choice *c) {
  if ((int)algo < 0 || (int)algo >= VCONV_ALGO_COUNT) return VCONV_ERR_INVALID_ALGORITHM;
  if (algo == VCONV_ALGO_AUTO) {
    if (winograd_auto(isa, s, c)) return VCONV_OK;
    const vconv_conv_kernel *im2col = find(VCONV_ALGO_IM2COL, isa);
    if (im2col && im2col_wants(s) && vconv_i_plan_kernel(im2col, VCONV_PATH_ANY, s, c))
      return VCONV_OK;
    algo = VCONV_ALGO_DIRECT;
  }
  if (algo == VCONV_ALGO_WINOGRAD)
    return winograd_tile(isa, s, c, NULL) ? VCONV_OK : VCONV_ERR_UNSUPPORTED_ALGORITHM;
  const vconv_conv_kernel *k = find(algo, isa);
  return k && vconv_i_plan_kernel(k, VCONV_PATH_ANY, s, c) ? VCONV_OK
                                                           : VCONV_ERR_UNSUPPORTED_ALGORITHM;
}
