/*
 * Winograd in the planner: which tile VCONV_ALGO_WINOGRAD means for a shape,
 * whether VCONV_ALGO_AUTO takes it, and the process-wide switch
 * (vconv_set_winograd, VCONV_WINOGRAD).
 *
 * The heuristic compares estimated multiply-adds (vconv_wino_cost in
 * wino_plan.h): a tile's GEMM work (tile rows rounded up to the GEMM register
 * tile, output channels to whole vectors, alpha_h alpha_w products per tile
 * and channel pair) plus its transforms, against the direct convolution's
 * N*P*Q*R*S*Cg*Kg.  The cheapest applicable tile is the one
 * VCONV_ALGO_WINOGRAD runs; AUTO takes it when it is cheaper than direct by
 * WIN_MARGIN, which covers the GEMM's lower efficiency than direct's on
 * large layers (single-thread measurements, Zen 5, AVX-512), and only with
 * enough channels for the transforms to amortise.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "winograd/wino_plan.h"

/* Winograd wins when its estimate times this is below direct's. */
#define WIN_MARGIN 1.3
/* Fewer input or output channels per group than this: the transforms cost
 * as much as they save (and depthwise layers have a single channel). */
#define MIN_CHANNELS 8

/* In order of accuracy, the most accurate first (ties go to it). */
static const struct {
  vconv_algorithm algo;
  int mh, mw, r;
} tiles[] = {
    {VCONV_ALGO_WINOGRAD_F2X2_3X3, 2, 2, 3},
    {VCONV_ALGO_WINOGRAD_F4X4_3X3, 4, 4, 3},
    {VCONV_ALGO_WINOGRAD_F4X5_3X3, 4, 5, 3},
    {VCONV_ALGO_WINOGRAD_F6X6_3X3, 6, 6, 3},
    {VCONV_ALGO_WINOGRAD_F2X2_5X5, 2, 2, 5},
};
#define NTILES (sizeof tiles / sizeof tiles[0])

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

const vconv_conv_kernel *vconv_i_winograd_tile(vconv_isa isa, const vconv_conv_shape *s,
                                               double *cost) {
  const vconv_gemm_kernel *gemm;
  if (vconv_i_select_gemm(isa, &gemm) != VCONV_OK) return NULL;
  const vconv_conv_kernel *best = NULL;
  double best_cost = 0.0;
  for (size_t t = 0; t < NTILES; t++)
    for (size_t i = 0; i < vconv_i_conv_kernel_count(); i++) {
      const vconv_conv_kernel *k = vconv_i_conv_kernel(i);
      if (k->isa != isa || k->algo != tiles[t].algo || !k->applicable(s)) continue;
      vconv_wino_geom g;
      vconv_wino_geometry(tiles[t].mh, tiles[t].mw, tiles[t].r, s->N, s->H, s->W, s->pt, s->pb,
                          s->pl, s->pr, &g);
      const double c = vconv_wino_cost(&g, s->G, s->Cg, s->Kg, gemm->mr, lanes(isa));
      if (!best || c < best_cost) { /* strictly cheaper: ties keep the more accurate */
        best = k;
        best_cost = c;
      }
    }
  if (cost) *cost = best_cost;
  return best;
}

const vconv_conv_kernel *vconv_i_winograd_auto(vconv_isa isa, const vconv_conv_shape *s) {
  if (!vconv_winograd_enabled() || s->Cg < MIN_CHANNELS || s->Kg < MIN_CHANNELS) return NULL;
  double cost;
  const vconv_conv_kernel *k = vconv_i_winograd_tile(isa, s, &cost);
  if (!k) return NULL;
  const double direct = (double)s->N * (double)(s->P * s->Q) * (double)(s->R * s->S) *
                        (double)s->G * (double)s->Cg * (double)s->Kg;
  return cost * WIN_MARGIN < direct ? k : NULL;
}
