/* The library's Winograd tiles for the tests' error bound (see wino_ref.h). */
#include "wino_ref.h"

#include "winograd/wino_plan.h"
#include "winograd/wino_tiles.h"

static struct tile {
  vconv_algorithm algo;
  int m, r;
  const float *at, *bt;
  const double *g;
  double atd[6 * 8], btd[8 * 8]; /* the float matrices in double */
  int ready;
} tiles[] = {
#define TILE(algo, name, NAME) \
  {algo, WINO_##NAME##_M, WINO_##NAME##_R, &wino_##name##_at[0][0], &wino_##name##_bt[0][0], &wino_##name##_g[0][0], {0}, {0}, 0}
    TILE(VCONV_ALGO_WINOGRAD_F2X3, f2x3, F2X3),
    TILE(VCONV_ALGO_WINOGRAD_F4X3, f4x3, F4X3),
    TILE(VCONV_ALGO_WINOGRAD_F6X3, f6x3, F6X3),
    TILE(VCONV_ALGO_WINOGRAD_F2X5, f2x5, F2X5),
#undef TILE
};
#define NTILES ((int)(sizeof tiles / sizeof tiles[0]))

int wino_tile_count(void) { return NTILES; }

int wino_tile_index(vconv_algorithm algo) {
  for (int t = 0; t < NTILES; t++)
    if (tiles[t].algo == algo) return t;
  return -1;
}

void wino_tile_shape(int index, int *m, int *r, vconv_algorithm *algo) {
  *m = tiles[index].m;
  *r = tiles[index].r;
  *algo = tiles[index].algo;
}

int wino_bound(int index, const vconv_conv2d_desc *d, const float *input, const float *weights,
               const float *bias, double wmax, ref_wino_tile *t, double *z) {
  struct tile *w = &tiles[index];
  const int a = w->m + w->r - 1;
  if (!w->ready) { /* the same tables every call: racing initialisations write equal values */
    for (int i = 0; i < w->m * a; i++) w->atd[i] = w->at[i];
    for (int i = 0; i < a * a; i++) w->btd[i] = w->bt[i];
    w->ready = 1;
  }
  ref_geom g;
  const int st = ref_conv2d_geometry(d, &g);
  if (st != REF_OK) return st;
  vconv_wino_geom gm;
  vconv_wino_geometry(w->m, w->r, d->batch, d->in_height, d->in_width, g.h.pad_begin,
                      g.h.pad_end, g.w.pad_begin, g.w.pad_end, &gm);
  ref_wino_tile_init(t, w->m, w->r, w->atd, w->g, w->btd, d->in_channels / d->groups, wmax);
  return ref_wino_bound(d, input, weights, bias, gm.gx, t, z);
}
