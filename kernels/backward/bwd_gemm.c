/*
 * Backward convolution as GEMMs on the tier's own SGEMM (kernels/gemm),
 * written once over the vector layer and compiled per tier.
 *
 * Data gradient ("col2im"), per image n, group g and block of input channels:
 *   NCHW  col[(c, r, t)][pq] = W_g^T[(c, r, t)][k] x dY_g[k][pq]: the
 *         transposed weights are A, packed once at create into MR-row panels
 *         (one set per channel block); dY is B, packed a block of pixels at
 *         a time straight from the caller's tensor.
 *   NHWC  col[pq][(r, t, c)] = dY_g[pq][k] x W'_g[k][(r, t, c)]: dY is A, the
 *         weights B (packed once), so that col2im adds contiguous channels.
 *   Then col2im adds every column entry into dX at its tap (skipping the
 *   padding), block after block in a fixed order; the task owns its dX
 *   channels, so nothing is shared.  col is one pixel block (about half of
 *   L2), never C R S P Q floats.
 * Weight gradient ("im2col"), per group and block of input channels:
 *   dW_g[k][(c, r, t)] += dY_g[k][pq] x col[pq][(c, r, t)] over the batch and
 *   blocks of pixels, col built from the input (padding taps as zeros), the
 *   GEMM accumulating into dW itself (beta 1 after the first block).  db is
 *   summed by the first channel block's task.
 * Connection tables are declined (their zero pairs would cost full work).
 */
#include <stdint.h>
#include <string.h>

#include "kernel.h"
#include "vec/vec.h"
#include "gemm/gemm.h"

#define MR VCONV_GEMM_MR
#define NR VCONV_GEMM_NR

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t round_up(int64_t x, int64_t m) { return cdiv(x, m) * m; }
static size_t align64(size_t b) { return (b + 63) / 64 * 64; }

typedef struct bg_plan {
  int64_t cb, ncb;  /* input channels per block, blocks per group */
  int64_t nb;       /* pixels per block (images, when images) */
  int images;       /* data, one-pixel dY (LeNet C5): the batch is the GEMM's pixels */
  int64_t nib;      /* data, images: blocks of images */
  vconv_gemm_blocking b;
} bg_plan;

static bg_plan bg_own(const vconv_conv_plan *p) {
  bg_plan pl;
  memcpy(&pl, &p->own, sizeof pl);
  return pl;
}

/* Pixel blocks whose col block (rows floats per pixel) takes about half of L2. */
static int64_t pixel_block(const vconv_conv_shape *s, const vconv_machine *m, int64_t per_pixel,
                           int64_t tile) {
  int64_t nb = m->l2 / 2 / (int64_t)sizeof(float) / max64(1, per_pixel);
  nb = max64(tile, nb / tile * tile);
  return min64(nb, round_up(s->P * s->Q, tile));
}

/* ======================================================================== */
/* Data gradient                                                             */

static const char *const bgd_paths[] = {"col2im"};

static size_t bgd_per_block(const vconv_conv_shape *s, const bg_plan *pl) {
  const int64_t rs = s->R * s->S;
  return s->layout == VCONV_LAYOUT_NCHW ? vconv_gemm_packed_a_floats(pl->cb * rs, s->Kg)
                                        : vconv_gemm_packed_b_floats(s->Kg, pl->cb * rs);
}

static size_t bgd_scratch(const vconv_conv_shape *s, const bg_plan *pl, size_t *col) {
  const size_t op = s->layout == VCONV_LAYOUT_NCHW ? vconv_gemm_packed_b_floats(s->Kg, pl->nb)
                                                   : vconv_gemm_packed_a_floats(pl->nb, s->Kg);
  *col = align64(op * sizeof(float));
  return *col + (size_t)(pl->cb * s->R * s->S * pl->nb) * sizeof(float);
}

static int bgd_plan_fn(const vconv_conv_shape *s, const vconv_machine *m, int path,
                       vconv_conv_plan *p) {
  if ((path != VCONV_PATH_ANY && path != 0) || s->conn) return 0;
  bg_plan pl;
  memset(&pl, 0, sizeof pl);
  VCONV_GEMM_FN(vconv_gemm_blocking)(m, &pl.b);
  const int64_t rs = s->R * s->S;
  /* GEMM rows (channels x taps) of at least about 256 per block. */
  int64_t cb = min64(s->Cg, cdiv(256, rs));
  pl.ncb = cdiv(s->Cg, cb);
  pl.cb = cdiv(s->Cg, pl.ncb);
  const int64_t tile = s->layout == VCONV_LAYOUT_NCHW ? NR : MR;
  pl.images = s->P == 1 && s->Q == 1;
  if (pl.images) {
    /* Blocks of images: col in half of L2, and enough tasks for a few cores. */
    int64_t nb = max64(tile, m->l2 / 2 / (int64_t)sizeof(float) / max64(1, pl.cb * rs) / tile * tile);
    nb = min64(nb, max64(tile, round_up(cdiv(s->N, 4), tile)));
    pl.nb = min64(nb, round_up(s->N, tile));
    pl.nib = cdiv(s->N, pl.nb);
  } else {
    pl.nb = pixel_block(s, m, pl.cb * rs, tile);
  }
  memset(p, 0, sizeof *p);
  size_t col;
  p->packed_floats = (size_t)(s->G * pl.ncb) * bgd_per_block(s, &pl);
  p->task_workspace = bgd_scratch(s, &pl, &col);
  p->task_count = (size_t)((pl.images ? pl.nib : s->N) * s->G * pl.ncb);
  p->path = 0;
  memcpy(&p->own, &pl, sizeof pl);
  return 1;
}

static void bgd_pack(const vconv_conv_shape *s, const vconv_conv_plan *p, const float *w,
                     float *packed) {
  const bg_plan pl = bg_own(p);
  const int64_t rs = s->R * s->S, red = s->Cg * rs;
  const size_t per = bgd_per_block(s, &pl);
  for (int64_t g = 0; g < s->G; g++)
    for (int64_t b = 0; b < pl.ncb; b++) {
      const int64_t c0 = b * pl.cb, cbn = min64(pl.cb, s->Cg - c0);
      float *d = packed + (size_t)(g * pl.ncb + b) * per;
      if (s->layout == VCONV_LAYOUT_NCHW) {
        /* op(A)[(c, r, t)][k] = w[k][c][r][t]: the group's OIHW block transposed. */
        VCONV_GEMM_FN(vconv_gemm_pack_a)(1, w + g * s->Kg * red + c0 * rs, red, cbn * rs, s->Kg, d);
        continue;
      }
      /* B[k][(r S + t) cbn + c] = w[k][c][r][t], NR-column panels, columns past the block zero. */
      const int64_t ncol = rs * cbn;
      for (int64_t j0 = 0; j0 < ncol; j0 += NR, d += s->Kg * NR)
        for (int64_t k = 0; k < s->Kg; k++)
          for (int64_t j = 0; j < NR; j++) {
            const int64_t col = j0 + j, c = col % cbn, tap = col / cbn;
            d[k * NR + j] = col < ncol ? w[((g * s->Kg + k) * s->Cg + c0 + c) * rs + tap] : 0.0f;
          }
    }
}

/* dst[i * ds] += src[i] for i < n. */
static void add_run(float *dst, ptrdiff_t ds, const float *src, int64_t n) {
  int64_t i = 0;
  if (ds == 1) {
    for (; i + VEC_W <= n; i += VEC_W) vf_storeu(dst + i, vf_add(vf_loadu(dst + i), vf_loadu(src + i)));
    /* The tail in scalars: AVX-512 masked stores are slow on Zen 5 (im2col.c). */
    for (; i < n; i++) dst[i] += src[i];
    return;
  }
  for (; i < n; i++) dst[i * ds] += src[i];
}

/* bgd_run for a one-pixel dY: task (image block, group, channel block). */
static void bgd_run_images(const vconv_conv_shape *s, const bg_plan *pl, const float *packed,
                           const float *bias, const float *dy, float *dx, void *workspace,
                           size_t task) {
  size_t coff;
  bgd_scratch(s, pl, &coff);
  float *op = workspace, *col = (float *)(void *)((unsigned char *)workspace + coff);
  int64_t t = (int64_t)task;
  const int64_t b = t % pl->ncb;
  t /= pl->ncb;
  const int64_t g = t % s->G, n0 = t / s->G * pl->nb, nbc = min64(pl->nb, s->N - n0);
  const int64_t c0 = b * pl->cb, cbn = min64(pl->cb, s->Cg - c0), cabs = g * s->Cg + c0;
  const int64_t rs = s->R * s->S, HW = s->H * s->W;
  const float *pw = packed + (size_t)(g * pl->ncb + b) * bgd_per_block(s, pl);
  const vconv_gemm_epilogue e = {1.0f, 0.0f, NULL, 0, 0, 0.0f, 0.0f};
  const int nchw = s->layout == VCONV_LAYOUT_NCHW;
  /* dY of image n, group g: Kg floats at dy + n K + g Kg in both layouts. */
  const float *dyb = dy + n0 * s->K + g * s->Kg;
  if (nchw) {
    VCONV_GEMM_FN(vconv_gemm_pack_b)(1, dyb, s->K, s->Kg, nbc, op);
    VCONV_GEMM_FN(vconv_gemm_macro)(cbn * rs, nbc, s->Kg, pw, s->Kg * MR, op, s->Kg * NR, col,
                                    pl->nb, &e, 0, 0);
  } else {
    VCONV_GEMM_FN(vconv_gemm_pack_a)(0, dyb, s->K, nbc, s->Kg, op);
    VCONV_GEMM_FN(vconv_gemm_macro)(nbc, rs * cbn, s->Kg, op, s->Kg * MR, pw, s->Kg * NR, col,
                                    rs * cbn, &e, 0, 0);
  }
  /* Every tap of the one output pixel lands on its own input pixel (or the
   * padding): dX is the bias (or 0) plus col there. */
  for (int64_t j = 0; j < nbc; j++) {
    const int64_t n = n0 + j;
    for (int64_t c = 0; c < cbn; c++) {
      const float v = bias ? bias[cabs + c] : 0.0f;
      float *d = nchw ? dx + (n * s->C + cabs + c) * HW : dx + n * HW * s->C + cabs + c;
      const ptrdiff_t step = nchw ? 1 : s->C;
      for (int64_t i = 0; i < HW; i++) d[i * step] = v;
      for (int64_t r = 0; r < s->R; r++) {
        const int64_t h = r * s->dh - s->pt;
        if (h < 0 || h >= s->H) continue;
        for (int64_t tc = 0; tc < s->S; tc++) {
          const int64_t w = tc * s->dw - s->pl;
          if (w < 0 || w >= s->W) continue;
          const float add = nchw ? col[((c * s->R + r) * s->S + tc) * pl->nb + j]
                                 : col[j * rs * cbn + (r * s->S + tc) * cbn + c];
          d[(h * s->W + w) * step] += add;
        }
      }
    }
  }
}

static void bgd_run(const vconv_conv_shape *s, const vconv_conv_plan *p, const float *packed,
                    const float *bias, const float *dy, float *dx, void *workspace, size_t task) {
  const bg_plan pl = bg_own(p);
  if (pl.images) {
    bgd_run_images(s, &pl, packed, bias, dy, dx, workspace, task);
    return;
  }
  size_t coff;
  bgd_scratch(s, &pl, &coff);
  float *op = workspace, *col = (float *)(void *)((unsigned char *)workspace + coff);
  int64_t t = (int64_t)task;
  const int64_t b = t % pl.ncb;
  t /= pl.ncb;
  const int64_t g = t % s->G, n = t / s->G;
  const int64_t c0 = b * pl.cb, cbn = min64(pl.cb, s->Cg - c0), cabs = g * s->Cg + c0;
  const int64_t rs = s->R * s->S, PQ = s->P * s->Q, HW = s->H * s->W;
  const float *pw = packed + (size_t)(g * pl.ncb + b) * bgd_per_block(s, &pl);
  const vconv_gemm_epilogue e = {1.0f, 0.0f, NULL, 0, 0, 0.0f, 0.0f};
  const int nchw = s->layout == VCONV_LAYOUT_NCHW;

  /* The task's channels of dX start at the bias (or zero). */
  for (int64_t c = 0; c < cbn; c++) {
    const float v = bias ? bias[cabs + c] : 0.0f;
    if (nchw) {
      float *d = dx + (n * s->C + cabs + c) * HW;
      for (int64_t i = 0; i < HW; i++) d[i] = v;
    } else {
      float *d = dx + n * HW * s->C + cabs + c;
      for (int64_t i = 0; i < HW; i++) d[i * s->C] = v;
    }
  }
  for (int64_t pq0 = 0; pq0 < PQ; pq0 += pl.nb) {
    const int64_t nbc = min64(pl.nb, PQ - pq0);
    if (nchw) {
      VCONV_GEMM_FN(vconv_gemm_pack_b)(0, dy + (n * s->K + g * s->Kg) * PQ + pq0, PQ, s->Kg, nbc, op);
      VCONV_GEMM_FN(vconv_gemm_macro)(cbn * rs, nbc, s->Kg, pw, s->Kg * MR, op, s->Kg * NR, col,
                                      pl.nb, &e, 0, 0);
      const int64_t pfirst = pq0 / s->Q, plast = (pq0 + nbc - 1) / s->Q;
      for (int64_t c = 0; c < cbn; c++) {
        float *dxc = dx + (n * s->C + cabs + c) * HW;
        for (int64_t r = 0; r < s->R; r++)
          for (int64_t tc = 0; tc < s->S; tc++) {
            const float *cr = col + ((c * s->R + r) * s->S + tc) * pl.nb;
            int64_t qa, qe;
            vconv_valid_range(tc * s->dw - s->pl, s->sw, s->W, s->Q, &qa, &qe);
            for (int64_t pp = pfirst; pp <= plast; pp++) {
              const int64_t h = pp * s->sh - s->pt + r * s->dh;
              if (h < 0 || h >= s->H) continue;
              const int64_t lo = max64(qa, pp == pfirst ? pq0 % s->Q : 0);
              const int64_t hi = min64(qe, pp == plast ? (pq0 + nbc - 1) % s->Q + 1 : s->Q);
              if (hi <= lo) continue;
              add_run(dxc + h * s->W + lo * s->sw - s->pl + tc * s->dw, s->sw,
                      cr + pp * s->Q + lo - pq0, hi - lo);
            }
          }
      }
    } else {
      VCONV_GEMM_FN(vconv_gemm_pack_a)(0, dy + (n * PQ + pq0) * s->K + g * s->Kg, s->K, nbc, s->Kg, op);
      const int64_t ldc = rs * cbn;
      VCONV_GEMM_FN(vconv_gemm_macro)(nbc, ldc, s->Kg, op, s->Kg * MR, pw, s->Kg * NR, col, ldc,
                                      &e, 0, 0);
      for (int64_t i = 0; i < nbc; i++) {
        const int64_t pp = (pq0 + i) / s->Q, q = (pq0 + i) % s->Q;
        for (int64_t r = 0; r < s->R; r++) {
          const int64_t h = pp * s->sh - s->pt + r * s->dh;
          if (h < 0 || h >= s->H) continue;
          for (int64_t tc = 0; tc < s->S; tc++) {
            const int64_t w = q * s->sw - s->pl + tc * s->dw;
            if (w < 0 || w >= s->W) continue;
            add_run(dx + ((n * s->H + h) * s->W + w) * s->C + cabs, 1,
                    col + i * ldc + (r * s->S + tc) * cbn, cbn);
          }
        }
      }
    }
  }
}

/* ======================================================================== */
/* Weight gradient                                                           */

static const char *const bgw_paths[] = {"im2col"};

static size_t bgw_scratch(const vconv_conv_shape *s, const bg_plan *pl, size_t *gs) {
  *gs = align64((size_t)(pl->cb * s->R * s->S * pl->nb) * sizeof(float));
  /* The GEMM's kc slice of a shorter last pixel block can exceed that of a full one. */
  return *gs + VCONV_GEMM_FN(vconv_gemm_workspace)(s->Kg, pl->cb * s->R * s->S,
                                                   min64(pl->nb, pl->b.kc), &pl->b);
}

static int bgw_plan_fn(const vconv_conv_shape *s, const vconv_machine *m, int path,
                       vconv_conv_plan *p) {
  if ((path != VCONV_PATH_ANY && path != 0) || s->conn) return 0;
  bg_plan pl;
  memset(&pl, 0, sizeof pl);
  VCONV_GEMM_FN(vconv_gemm_blocking)(m, &pl.b);
  /* Channel blocks for a few cores' worth of tasks; each rereads dY. */
  pl.ncb = min64(s->Cg, cdiv(8, s->G));
  pl.cb = cdiv(s->Cg, pl.ncb);
  pl.ncb = cdiv(s->Cg, pl.cb);
  pl.nb = pixel_block(s, m, pl.cb * s->R * s->S, 16);
  memset(p, 0, sizeof *p);
  size_t gs;
  p->packed_floats = 0;
  p->task_workspace = bgw_scratch(s, &pl, &gs);
  p->task_count = (size_t)(s->G * pl.ncb);
  p->path = 0;
  memcpy(&p->own, &pl, sizeof pl);
  return 1;
}

static void bgw_run(const vconv_conv_shape *s, const vconv_conv_plan *p, const float *x,
                    const float *dy, float *dw, float *db, void *workspace, size_t task) {
  const bg_plan pl = bg_own(p);
  size_t gs;
  bgw_scratch(s, &pl, &gs);
  float *col = workspace;
  void *gscratch = (unsigned char *)workspace + gs;
  const int64_t b = (int64_t)task % pl.ncb, g = (int64_t)task / pl.ncb;
  const int64_t c0 = b * pl.cb, cbn = min64(pl.cb, s->Cg - c0), cabs = g * s->Cg + c0;
  const int64_t rs = s->R * s->S, PQ = s->P * s->Q, HW = s->H * s->W, ncol = cbn * rs;
  const int nchw = s->layout == VCONV_LAYOUT_NCHW;
  float *dwg = dw + (g * s->Kg * s->Cg + c0) * rs;
  int first = 1;
  for (int64_t n = 0; n < s->N; n++)
    for (int64_t pq0 = 0; pq0 < PQ; pq0 += pl.nb) {
      const int64_t nbc = min64(pl.nb, PQ - pq0);
      /* col: NCHW [(c, r, t)][pixel], NHWC [pixel][(c, r, t)]. */
      const ptrdiff_t ct = nchw ? nbc : 1, ci = nchw ? 1 : ncol;
      for (int64_t i = 0; i < nbc; i++) {
        const int64_t pp = (pq0 + i) / s->Q, q = (pq0 + i) % s->Q;
        for (int64_t r = 0; r < s->R; r++) {
          const int64_t h = pp * s->sh - s->pt + r * s->dh;
          for (int64_t tc = 0; tc < s->S; tc++) {
            const int64_t w = q * s->sw - s->pl + tc * s->dw;
            const int in = h >= 0 && h < s->H && w >= 0 && w < s->W;
            float *d = col + i * ci + (r * s->S + tc) * ct;
            if (!in) {
              for (int64_t c = 0; c < cbn; c++) d[c * rs * ct] = 0.0f;
            } else if (nchw) {
              const float *src = x + (n * s->C + cabs) * HW + h * s->W + w;
              for (int64_t c = 0; c < cbn; c++) d[c * rs * ct] = src[c * HW];
            } else {
              const float *src = x + ((n * s->H + h) * s->W + w) * s->C + cabs;
              for (int64_t c = 0; c < cbn; c++) d[c * rs * ct] = src[c];
            }
          }
        }
      }
      if (nchw)
        VCONV_GEMM_FN(vconv_gemm_run)(0, 1, s->Kg, ncol, nbc, 1.0f, dy + (n * s->K + g * s->Kg) * PQ + pq0,
                                      PQ, col, nbc, first ? 0.0f : 1.0f, dwg, s->Cg * rs, &pl.b, gscratch);
      else
        VCONV_GEMM_FN(vconv_gemm_run)(1, 0, s->Kg, ncol, nbc, 1.0f, dy + (n * PQ + pq0) * s->K + g * s->Kg,
                                      s->K, col, ncol, first ? 0.0f : 1.0f, dwg, s->Cg * rs, &pl.b, gscratch);
      first = 0;
    }
  if (db && b == 0)
    for (int64_t k = 0; k < s->Kg; k++) {
      float sum = 0.0f;
      for (int64_t n = 0; n < s->N; n++)
        for (int64_t i = 0; i < PQ; i++)
          sum += nchw ? dy[(n * s->K + g * s->Kg + k) * PQ + i] : dy[(n * PQ + i) * s->K + g * s->Kg + k];
      db[g * s->Kg + k] = sum;
    }
}

#define STR_(x) #x
#define STR(x) STR_(x)

const vconv_conv_bwd_kernel VCONV_TIERED(vconv_bwd_data_gemm_kernel) = {
    .kind = VCONV_BWD_DATA,
    .algo = VCONV_ALGO_IM2COL,
    .isa = VEC_ISA,
    .name = "bwd_data_gemm/" STR(VCONV_TIER),
    .paths = bgd_paths,
    .npaths = 1,
    .plan = bgd_plan_fn,
    .pack = bgd_pack,
    .run_data = bgd_run,
    .run_weights = NULL,
};

const vconv_conv_bwd_kernel VCONV_TIERED(vconv_bwd_weights_gemm_kernel) = {
    .kind = VCONV_BWD_WEIGHTS,
    .algo = VCONV_ALGO_IM2COL,
    .isa = VEC_ISA,
    .name = "bwd_weights_gemm/" STR(VCONV_TIER),
    .paths = bgw_paths,
    .npaths = 1,
    .plan = bgw_plan_fn,
    .pack = NULL,
    .run_data = NULL,
    .run_weights = bgw_run,
};
