/* The library's Winograd tiles for the tests' error bound (see wino_ref.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wino_ref.h"

#include "winograd/wino_plan.h"
#include "winograd/wino_tiles.h"

/* A 1-D transform of wino_tiles.h, its float matrices in double. */
typedef struct axis {
  int m, r;
  const float *at, *bt;
  const double *g;
  double atd[6 * 8], btd[8 * 8];
  int ready;
} axis;

#define AXIS(name, NAME)                                                                  \
  {WINO_##NAME##_M, WINO_##NAME##_R, &wino_##name##_at[0][0], &wino_##name##_bt[0][0],      \
   &wino_##name##_g[0][0], {0}, {0}, 0}
static axis axes[] = {AXIS(m2r3, M2R3), AXIS(m4r3, M4R3), AXIS(m5r3, M5R3), AXIS(m6r3, M6R3),
                      AXIS(m2r5, M2R5)};
#undef AXIS

/* The tiles: algorithm, rows' and columns' transforms (indices into axes). */
static const struct {
  vconv_algorithm algo;
  int h, w;
} tiles[] = {
    {VCONV_ALGO_WINOGRAD_F2X2_3X3, 0, 0}, {VCONV_ALGO_WINOGRAD_F4X4_3X3, 1, 1},
    {VCONV_ALGO_WINOGRAD_F6X6_3X3, 3, 3}, {VCONV_ALGO_WINOGRAD_F4X5_3X3, 1, 2},
    {VCONV_ALGO_WINOGRAD_F2X2_5X5, 4, 4},
};
#define NTILES ((int)(sizeof tiles / sizeof tiles[0]))

int wino_tile_count(void) { return NTILES; }

int wino_tile_index(vconv_algorithm algo) {
  for (int t = 0; t < NTILES; t++)
    if (tiles[t].algo == algo) return t;
  return -1;
}

void wino_tile_shape(int index, int *mh, int *mw, int *r, vconv_algorithm *algo) {
  *mh = axes[tiles[index].h].m;
  *mw = axes[tiles[index].w].m;
  *r = axes[tiles[index].h].r;
  *algo = tiles[index].algo;
}

static ref_wino_axis as_ref(axis *x) {
  const int a = x->m + x->r - 1;
  if (!x->ready) { /* the same values every call: a repeated initialisation is harmless */
    for (int i = 0; i < x->m * a; i++) x->atd[i] = x->at[i];
    for (int i = 0; i < a * a; i++) x->btd[i] = x->bt[i];
    x->ready = 1;
  }
  return (ref_wino_axis){x->m, x->atd, x->g, x->btd};
}

int wino_bound(int index, const vconv_conv2d_desc *d, const float *input, const float *weights,
               const float *bias, double wmax, ref_wino_tile *t, double *z) {
  axis *h = &axes[tiles[index].h], *w = &axes[tiles[index].w];
  ref_geom g;
  const int st = ref_conv2d_geometry(d, &g);
  if (st != REF_OK) return st;
  vconv_wino_geom gm;
  vconv_wino_geometry(h->m, w->m, h->r, d->batch, d->in_height, d->in_width, g.h.pad_begin,
                      g.h.pad_end, g.w.pad_begin, g.w.pad_end, &gm);
  ref_wino_tile_init(t, h->r, as_ref(h), as_ref(w), d->in_channels / d->groups, wmax);
  return ref_wino_bound(d, input, weights, bias, gm.gx, gm.ph, gm.pw, t, z);
}

int wino_bwd_data_tols(const char *plan, const wino_bwd_geom *e, const float *dy, const float *w,
                       const float *bias, const double *a, const int32_t *n, double *tol) {
  const char *colon = plan ? strchr(plan, ':') : NULL;
  int tile = -1;
  for (int al = 0; colon && al < VCONV_ALGO_COUNT; al++) {
    const char *nm = vconv_algorithm_name((vconv_algorithm)al);
    if (nm && strncmp(nm, "winograd_", 9) == 0 && strcmp(nm + 9, colon + 1) == 0)
      tile = wino_tile_index((vconv_algorithm)al);
  }
  if (tile < 0) return 0;
  vconv_conv2d_desc f;
  vconv_conv2d_desc_init(&f);
  f.batch = e->N;
  f.in_channels = e->K;
  f.in_height = e->P;
  f.in_width = e->Q;
  f.out_channels = e->C;
  f.kernel_h = e->R;
  f.kernel_w = e->S;
  f.pad_top = e->R - 1 - e->pt;
  f.pad_left = e->S - 1 - e->pl;
  f.pad_bottom = e->H - e->P - f.pad_top + e->R - 1;
  f.pad_right = e->W - e->Q - f.pad_left + e->S - 1;
  f.groups = e->G;
  const int64_t Kg = e->K / e->G, Cg = e->C / e->G, RS = e->R * e->S;
  const int64_t ny = e->N * e->K * e->P * e->Q, nx = e->N * e->C * e->H * e->W;
  float *wr = malloc((size_t)(e->K * Cg * RS) * sizeof(float)), *dyc = malloc((size_t)ny * sizeof(float));
  double *z = malloc((size_t)nx * sizeof(double));
  double wmax = 0;
  int ok = wr && dyc && z;
  for (int64_t g = 0; ok && g < e->G; g++)
    for (int64_t c = 0; c < Cg; c++)
      for (int64_t k = 0; k < Kg; k++)
        for (int64_t r = 0; r < RS; r++) {
          const float x = w[((g * Kg + k) * Cg + c) * RS + (RS - 1 - r)];
          wr[((g * Cg + c) * Kg + k) * RS + r] = x;
          if (fabs((double)x) > wmax) wmax = fabs((double)x);
        }
  if (ok) ref_relayout(dy, e->layout, dyc, VCONV_LAYOUT_NCHW, e->N, e->K, e->P, e->Q);
  ref_wino_tile t;
  ok = ok && wino_bound(tile, &f, dyc, wr, bias, wmax, &t, z) == REF_OK;
  for (int64_t nn = 0; ok && nn < e->N; nn++)
    for (int64_t c = 0; c < e->C; c++)
      for (int64_t h = 0; h < e->H; h++)
        for (int64_t x = 0; x < e->W; x++) {
          const int64_t i = ref_index(e->layout, e->C, e->H, e->W, nn, c, h, x);
          tol[i] = ref_wino_tol(&t, Kg, z[((nn * e->C + c) * e->H + h) * e->W + x], a[i], n[i]);
        }
  free(wr), free(dyc), free(z);
  return ok;
}

