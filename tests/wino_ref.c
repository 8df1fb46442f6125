/* The library's Winograd tiles for the tests' error bound (see wino_ref.h). */
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
