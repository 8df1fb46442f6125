/*
 * Where Winograd tiles lie: header-only integer arithmetic shared by the
 * kernels (kernels/winograd/winograd.c, every tier), the AUTO heuristic
 * (plan/select.c) and the parity tests (the error bound of an output
 * depends on its place in its tile).  No vector code, no tier flags.
 *
 * The canvas.  The images of a batch are laid out as a grid of gx images per
 * row and gy rows, ph rows and pw columns apart, and the mh x mw output tiles
 * step over the whole canvas, across image borders.  Between two images lie
 * ph - H >= max(pad_top, pad_bottom) zero rows (and pw - W >= max(pad_left,
 * pad_right) zero columns): the padding of both, shared.  At stride 1 a
 * canvas output (Y, X) reads canvas input rows Y .. Y+r-1 and columns
 * X .. X+r-1, so outputs inside an image see exactly its own padded pixels;
 * the few rows and columns of outputs between images are computed and
 * dropped.  AlexNet's 13x13 maps need 3 x 3 F(6x6) tiles each (18x18 outputs
 * for 169); sixteen of them on an 8 x 2 canvas need 19 x 5 tiles, 5.9 per
 * image.  Batch 1 is the image itself.
 *
 *   canvas input (Y, X):  image iy*gx + ix with iy = Y / ph, ix = X / pw,
 *                         pixel (Y % ph - pad_top, X % pw - pad_left)
 *   canvas output (Y, X): image iy*gx + ix, output (Y % ph, X % pw) when that
 *                         is below (P, Q); the rest is dropped
 *   tile t:               (ty, tx) = (t / TX, t % TX), mh x mw outputs from
 *                         (ty*mh, tx*mw), input patch (alpha_h x alpha_w) from
 *                         the same corner
 */
#ifndef VCONV_WINO_PLAN_H
#define VCONV_WINO_PLAN_H

#include <stdint.h>

typedef struct vconv_wino_geom {
  int64_t mh, mw, r;      /* tile F(mh x mw, r x r): mh rows, mw columns of outputs */
  int64_t ah, aw;         /* its input patch: alpha_h = mh + r - 1 rows, alpha_w columns */
  int64_t ph, pw;         /* canvas pitch: max(H + max(pad_top, pad_bottom), P), the same for W */
  int64_t P, Q;           /* output of one image */
  int64_t gx, gy;         /* canvas: gx images per row, gy rows (gx * gy >= N) */
  int64_t TY, TX, tiles;  /* tile grid over the canvas output, per group */
  int64_t bw;             /* canvas input columns the tiles read (>= gx * pw) */
} vconv_wino_geom;

/* A task's block of tiles: at most this many bytes of transformed input
 * (alpha_h alpha_w x tiles x Cg floats), which every output channel pass
 * rereads (from L3), while every block streams all of the transformed
 * weights U (alpha_h alpha_w x Cg x Kg floats) once.  6 MB beat 3, 8 and 16
 * (the last two leave batch-16 AlexNet layers one block, split in two along
 * the output channels, transforming the input twice) by 4-15% there. */
#ifndef VCONV_WINO_BLOCK_BYTES
#  define VCONV_WINO_BLOCK_BYTES (6 << 20)
#endif

/* The widest canvas considered, in padded input columns: the kernels keep a
 * band of canvas rows of this width per channel vector. */
#define VCONV_WINO_MAX_CANVAS_W 512

static inline int64_t vconv_wino_cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* The canvas with the fewest tiles (the narrowest among equals) for N images
 * of H x W with the given padding, stride 1, kernel r x r. */
static inline void vconv_wino_geometry(int64_t mh, int64_t mw, int64_t r, int64_t N, int64_t H,
                                       int64_t W, int64_t pt, int64_t pb, int64_t pl, int64_t pr,
                                       vconv_wino_geom *g) {
  g->mh = mh;
  g->mw = mw;
  g->r = r;
  g->ah = mh + r - 1;
  g->aw = mw + r - 1;
  g->P = H + pt + pb - r + 1;
  g->Q = W + pl + pr - r + 1;
  g->ph = H + (pt > pb ? pt : pb);
  g->pw = W + (pl > pr ? pl : pr);
  if (g->ph < g->P) g->ph = g->P;
  if (g->pw < g->Q) g->pw = g->Q;
  int64_t best = -1;
  g->gx = g->gy = g->TY = g->TX = 0;
  for (int64_t gx = 1; gx <= N && (gx == 1 || gx * g->pw <= VCONV_WINO_MAX_CANVAS_W); gx++) {
    const int64_t gy = vconv_wino_cdiv(N, gx);
    if (gx > 1 && vconv_wino_cdiv(N, gx - 1) == gy) continue; /* same rows, wider: no gain */
    const int64_t ty = vconv_wino_cdiv((gy - 1) * g->ph + g->P, mh);
    const int64_t tx = vconv_wino_cdiv((gx - 1) * g->pw + g->Q, mw);
    if (best < 0 || ty * tx < best) {
      best = ty * tx;
      g->gx = gx;
      g->gy = gy;
      g->TY = ty;
      g->TX = tx;
    }
  }
  g->tiles = best;
  g->bw = g->TX * mw + r - 1;
  if (g->bw < g->gx * g->pw) g->bw = g->gx * g->pw;
}

#endif
