/*
 * Direct backward convolution, written once over the vector layer and
 * compiled once per tier (kernel.h has the two definitions).
 *
 * Data gradient ("blocked"): input channels are the vector dimension.
 *   Weights are packed at create as [group][c-block][k][r][t][CB], CB = NV
 *   vectors of input channels (zero padded, unconnected pairs zero), so one
 *   tap of one output channel is NV contiguous vector loads.  Strides are
 *   handled by phases, never by a zero-inserted or padded copy of dY: the
 *   pixels of a dX row with w = rho + sw j (one residue rho) are reached by
 *   exactly the kernel columns t with (rho + pl - t dw) divisible by sw, at
 *   dY column q = j + off_t, so a phase is a stride-1 correlation in j with
 *   its own taps.  Rows the same way: row h gets the taps r whose
 *   (h + pt - r dh) / sh is a whole row of dY.  A phase is cut into segments
 *   where its set of valid taps is constant (the borders, where some q falls
 *   outside dY, are short segments with fewer taps), and each segment into
 *   register tiles of T pixels x NV vectors: per (k, r, t) NV weight loads,
 *   T broadcasts of dY and T x NV FMAs.  Tiles land in a row buffer
 *   [w][CB], which goes to NHWC as it is and to NCHW through VEC_W x VEC_W
 *   transposes.  Output channels that no channel of a block reads are
 *   skipped (runs of connected k).
 *
 * Data gradient ("rows", stride 1 only): dX columns are the vector
 *   dimension, for layers with fewer input channels than lanes (LeNet-5 C3:
 *   6 channels, so "blocked" fills 6 of 16 lanes; 14 columns fill 14).  A
 *   task copies the dY rows it reads into zero-bordered planes in scratch
 *   [k][row][column], so every tap of every pixel is an unconditional load;
 *   weights are packed rotated, [group][c-tile][k][r'][t'][CT] with
 *   r' = R-1-r, t' = S-1-t, so that output row i, column vector w0 and tap
 *   (r', t') read plane row i + r' dh at column w0 + t' dw.  Register tile:
 *   CT channels x HT rows x one vector of columns; per (k, r', t') HT loads,
 *   CT broadcasts and CT x HT FMAs.  Unconnected pairs are zeros in a tile,
 *   and output channels no channel of the tile reads are skipped, as in
 *   "blocked".  The plan picks the path whose lanes do more useful work.
 *
 * Weight gradient ("tiles"): output channels are the vector dimension.  Per
 *   (k-block, tap) the gradient is a K x C product over the pixels:
 *   dW[k][c][r][t] += dY[pix][k] x[c][pix at the tap].  dY rows are
 *   gathered into a panel [row][q][KB] (transposed from NCHW, copied from
 *   NHWC) once per block of rows and used by every tap and channel; the
 *   register tile is NV vectors of k x TC channels of one run of connected
 *   channels, and runs over a block's rows and the tap's valid columns with
 *   NV loads + TC broadcasts per TC x NV FMAs, its sums kept in a scratch
 *   [tap][channel][KB] between row blocks.  db is the sum of the panel rows.
 *
 * Tasks: data (image, group, c-block, block of dX rows); weights (group,
 * k-block, chunk of input channels), each reducing over the whole batch in a
 * fixed order.  Every output element is written by one task.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel.h"
#include "vec/vec.h"

#if defined(__GNUC__)
#  define BW_INLINE static inline __attribute__((always_inline))
#  define BW_UNROLL _Pragma("GCC unroll 32")
#else
#  define BW_INLINE static inline
#  define BW_UNROLL
#endif

#define L1(X, b) X(1, b)
#define L2(X, b) L1(X, b) X(2, b)
#define L3(X, b) L2(X, b) X(3, b)
#define L4(X, b) L3(X, b) X(4, b)
#define L5(X, b) L4(X, b) X(5, b)
#define L6(X, b) L5(X, b) X(6, b)
#define L7(X, b) L6(X, b) X(7, b)
#define L8(X, b) L7(X, b) X(8, b)
#define L9(X, b) L8(X, b) X(9, b)
#define L10(X, b) L9(X, b) X(10, b)
#define L11(X, b) L10(X, b) X(11, b)
#define L12(X, b) L11(X, b) X(12, b)
#define L13(X, b) L12(X, b) X(13, b)
#define L14(X, b) L13(X, b) X(14, b)

#define NVMAX 2
/* Tiles (pixels or channels) x NV vectors that fit the register file with
 * their NV operand vectors and a broadcast; the same budgets as forward's. */
#if defined(VCONV_TIER_AVX512) || defined(VCONV_TIER_NEON)
#  define TMAX 14
#  define INSTANCES(X) L14(X, 1) L14(X, 2)
#elif defined(VCONV_TIER_AVX2)
#  define TMAX 12
#  define INSTANCES(X) L12(X, 1) L6(X, 2)
#elif defined(VCONV_TIER_SSE41)
#  define TMAX 8
#  define INSTANCES(X) L8(X, 1) L5(X, 2)
#else
#  define TMAX 8
#  define INSTANCES(X) L8(X, 1) L6(X, 2)
#endif

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static size_t align64(size_t b) { return (b + 63) / 64 * 64; }

static int connected(const vconv_conv_shape *s, int64_t k, int64_t c) {
  return !s->conn || s->conn[k * s->Cg + c] != 0;
}

/* ======================================================================== */
/* Data gradient                                                             */

typedef struct bd_args {
  const float *dy;          /* dY of the group's first k at the tile's first pixel */
  const float *w;           /* the c-block's packed weights [k][r][t][CB] */
  float *out;               /* pixel i at out + i * ostep */
  ptrdiff_t ostep;
  const float *init;        /* CB start values (the bias, or zeros) */
  const int64_t *runs;      /* connected output channels: nruns [k0, k1) pairs */
  int64_t nruns;
  ptrdiff_t dy_k, dy_q;     /* dY steps per output channel and per pixel */
  int64_t w_k;              /* packed floats per output channel: R S CB */
  const int64_t *rt;        /* per tap row: (dY offset, weight offset) */
  const int64_t *tt;        /* per column tap: (dY offset, weight offset, edge code) */
  int64_t nr, nt;
} bd_args;

typedef void (*bd_fn)(const bd_args *);

/* acc[LO..HI) += one column tap over every connected k and row tap. */
BW_INLINE void bd_tap(vf acc[TMAX][NVMAX], const bd_args *a, ptrdiff_t dt, ptrdiff_t wt,
                      const int LO, const int HI, const int NV) {
  const ptrdiff_t dq = a->dy_q;
  for (int64_t ri = 0; ri < a->nruns; ri++) {
    for (int64_t k = a->runs[2 * ri]; k < a->runs[2 * ri + 1]; k++) {
      const float *dk = a->dy + k * a->dy_k + dt, *wk = a->w + k * a->w_k + wt;
      for (int64_t r = 0; r < a->nr; r++) {
        const float *dp = dk + a->rt[2 * r], *wp = wk + a->rt[2 * r + 1];
        vf wv[NVMAX];
        BW_UNROLL
        for (int v = 0; v < NV; v++) wv[v] = vf_loadu(wp + v * VEC_W);
        BW_UNROLL
        for (int i = LO; i < HI; i++) {
          const vf x = vf_set1(dp[i * dq]);
          BW_UNROLL
          for (int v = 0; v < NV; v++) acc[i][v] = vf_fmadd(x, wv[v], acc[i][v]);
        }
      }
    }
  }
}

/* A tap's code: the pixels it leaves out at the tile's left and right ends
 * (its dY column falls outside dY there), each at most EDGE_MAX, chosen by a
 * switch outside its loops so that every range is a compile-time one. */
#define EDGE_MAX 2
#define BD_CASE(L, R) \
  case (L) * (EDGE_MAX + 1) + (R): bd_tap(acc, a, dt, wt, (L), T - (R), NV); break;

BW_INLINE void bd_body(const bd_args *a, const int T, const int NV) {
  vf acc[TMAX][NVMAX];
  BW_UNROLL
  for (int i = 0; i < T; i++)
    BW_UNROLL
    for (int v = 0; v < NV; v++) acc[i][v] = vf_loadu(a->init + v * VEC_W);
  for (int64_t t = 0; t < a->nt; t++) {
    const ptrdiff_t dt = a->tt[3 * t], wt = a->tt[3 * t + 1];
    switch ((int)a->tt[3 * t + 2]) {
      BD_CASE(0, 0) BD_CASE(0, 1) BD_CASE(0, 2)
      BD_CASE(1, 0) BD_CASE(1, 1) BD_CASE(1, 2)
      BD_CASE(2, 0) BD_CASE(2, 1) BD_CASE(2, 2)
      default: break;
    }
  }
  BW_UNROLL
  for (int i = 0; i < T; i++)
    BW_UNROLL
    for (int v = 0; v < NV; v++) vf_storeu(a->out + i * a->ostep + v * VEC_W, acc[i][v]);
}
#undef BD_CASE

#define BD_DEF(T, NV) \
  static void bd_##T##_##NV(const bd_args *a) { bd_body(a, T, NV); }
INSTANCES(BD_DEF)
#define BD_ENT(T, NV) [NV][T] = bd_##T##_##NV,
static const bd_fn bd_tab[NVMAX + 1][TMAX + 1] = {INSTANCES(BD_ENT)};

static int tile_max(const bd_fn tab[NVMAX + 1][TMAX + 1], int nv) {
  int t = 0;
  for (int i = 1; i <= TMAX; i++)
    if (tab[nv][i]) t = i;
  return t;
}

typedef struct bd_plan {
  int nv, tmax;          /* blocked: tile vectors, most pixels */
  int64_t cb, ncb;       /* blocked: channels per block, blocks per group */
  int64_t rows, rblocks; /* dX rows per task, row blocks */
  int ct, ht;            /* rows: channels and rows per register tile */
  int64_t nct;           /* rows: channel tiles per group */
  int64_t yn, xn;        /* rows: padded plane rows per task and columns */
} bd_plan;

enum { BD_BLOCKED, BD_ROWS };
static const char *const bd_paths[] = {"blocked", "rows"};

/* Scratch: the row buffer, then int64 lists: connected k runs (2 Kg), row
 * taps (2 R), column taps of a residue (2 S, with their ranges 2 S), and
 * a tile's taps (3 S). */
static size_t bd_scratch(const vconv_conv_shape *s, const bd_plan *pl, size_t *lists) {
  *lists = align64((size_t)(s->W * pl->cb) * sizeof(float));
  return *lists + (size_t)(2 * s->Kg + 2 * s->R + 7 * s->S + 8) * sizeof(int64_t);
}

static void blocked_plan(const vconv_conv_shape *s, bd_plan *pl) {
  pl->nv = s->Cg > VEC_W ? 2 : 1;
  pl->tmax = tile_max(bd_tab, pl->nv);
  pl->cb = (int64_t)pl->nv * VEC_W;
  pl->ncb = cdiv(s->Cg, pl->cb);
  /* About 2 MFLOP per task, as forward: batch 1 spreads over cores. */
  const double row_flops = 2.0 * (double)s->W * (double)pl->cb * (double)s->Kg *
                           (double)(s->R * s->S) / (double)(s->sh * s->sw);
  pl->rows = row_flops >= 2.0e6 ? 1 : min64(s->H, (int64_t)(2.0e6 / row_flops) + 1);
  pl->rblocks = cdiv(s->H, pl->rows);
}

static bd_plan bd_own(const vconv_conv_plan *p) {
  bd_plan pl;
  memcpy(&pl, &p->own, sizeof pl);
  return pl;
}

static void blocked_pack(const vconv_conv_shape *s, const bd_plan *p, const float *w,
                         float *packed) {
  const bd_plan pl = *p;
  const int64_t RS = s->R * s->S;
  for (int64_t g = 0; g < s->G; g++)
    for (int64_t b = 0; b < pl.ncb; b++)
      for (int64_t k = 0; k < s->Kg; k++)
        for (int64_t rs = 0; rs < RS; rs++) {
          float *d = packed + (((g * pl.ncb + b) * s->Kg + k) * RS + rs) * pl.cb;
          for (int64_t j = 0; j < pl.cb; j++) {
            const int64_t c = b * pl.cb + j, kk = g * s->Kg + k;
            d[j] = c < s->Cg && connected(s, kk, c) ? w[(kk * s->Cg + c) * RS + rs] : 0.0f;
          }
        }
}

/* The row buffer [w][CB] into row h of dX (channels [c0, c0 + cvalid) of the image). */
static void bd_store_row(const vconv_conv_shape *s, const bd_plan *pl, const float *row,
                         int64_t cvalid, float *dx, int64_t n, int64_t cabs, int64_t h) {
  if (s->layout == VCONV_LAYOUT_NHWC) {
    float *o = dx + ((n * s->H + h) * s->W) * s->C + cabs;
    for (int64_t w = 0; w < s->W; w++)
      for (int64_t v = 0; v < cvalid; v += VEC_W) {
        const int64_t m = min64(VEC_W, cvalid - v);
        const vf x = vf_loadu(row + w * pl->cb + v);
        if (m == VEC_W)
          vf_storeu(o + w * s->C + v, x);
        else
          vf_store_part(o + w * s->C + v, x, (int)m);
      }
    return;
  }
  const int64_t HW = s->H * s->W;
  float *o = dx + ((n * s->C + cabs) * s->H + h) * s->W;
  for (int64_t w0 = 0; w0 < s->W; w0 += VEC_W) {
    const int wn = (int)min64(VEC_W, s->W - w0);
    for (int64_t v = 0; v < cvalid; v += VEC_W) {
      vf blk[VEC_W];
      for (int i = 0; i < VEC_W; i++) blk[i] = i < wn ? vf_loadu(row + (w0 + i) * pl->cb + v) : vf_zero();
      vf_transpose_block(blk);
      const int64_t m = min64(VEC_W, cvalid - v);
      for (int64_t j = 0; j < m; j++) {
        float *d = o + (v + j) * HW + w0;
        if (wn == VEC_W)
          vf_storeu(d, blk[j]);
        else
          vf_store_part(d, blk[j], wn);
      }
    }
  }
}

static void blocked_run(const vconv_conv_shape *s, const bd_plan *p, const float *packed,
                        const float *bias, const float *dy, float *dx, void *workspace,
                        size_t task) {
  const bd_plan pl = *p;
  size_t lists;
  bd_scratch(s, &pl, &lists);
  unsigned char *ws = workspace;
  float *row = (float *)(void *)ws;
  int64_t *runs = (int64_t *)(void *)(ws + lists);
  int64_t *rt = runs + 2 * s->Kg, *ct = rt + 2 * s->R, *crange = ct + 2 * s->S;
  int64_t *tt = crange + 2 * s->S;

  int64_t t = (int64_t)task;
  const int64_t rb = t % pl.rblocks;
  t /= pl.rblocks;
  const int64_t b = t % pl.ncb;
  t /= pl.ncb;
  const int64_t g = t % s->G, n = t / s->G;
  const int64_t c0 = b * pl.cb, cvalid = min64(pl.cb, s->Cg - c0);
  const int64_t RS = s->R * s->S;

  /* Output channels any channel of the block reads, as runs. */
  int64_t nruns = 0;
  for (int64_t k = 0; k < s->Kg; k++) {
    int any = 0;
    for (int64_t c = c0; c < c0 + cvalid && !any; c++) any = connected(s, g * s->Kg + k, c);
    if (!any) continue;
    if (nruns && runs[2 * nruns - 1] == k)
      runs[2 * nruns - 1] = k + 1;
    else {
      runs[2 * nruns] = k;
      runs[2 * nruns + 1] = k + 1;
      nruns++;
    }
  }
  float init[NVMAX * VEC_W];
  for (int64_t j = 0; j < pl.cb; j++) init[j] = bias && j < cvalid ? bias[g * s->Cg + c0 + j] : 0.0f;

  const int nhwc = s->layout == VCONV_LAYOUT_NHWC;
  const ptrdiff_t dy_k = nhwc ? 1 : s->P * s->Q, dy_p = nhwc ? s->Q * s->K : s->Q,
                  dy_q = nhwc ? s->K : 1;
  const float *dyn = nhwc ? dy + n * s->P * s->Q * s->K + g * s->Kg
                          : dy + (n * s->K + g * s->Kg) * s->P * s->Q;
  const float *wblk = packed + (g * pl.ncb + b) * s->Kg * RS * pl.cb;
  bd_args a;
  a.w = wblk;
  a.init = init;
  a.runs = runs;
  a.nruns = nruns;
  a.dy_k = dy_k;
  a.dy_q = dy_q;
  a.w_k = RS * pl.cb;
  a.rt = rt;
  a.tt = tt;
  a.ostep = s->sw * pl.cb;

  const int64_t h0 = rb * pl.rows, h1 = min64(s->H, h0 + pl.rows);
  for (int64_t h = h0; h < h1; h++) {
    int64_t nr = 0;
    for (int64_t r = 0; r < s->R; r++) {
      const int64_t num = h + s->pt - r * s->dh;
      if (num < 0) break; /* falls with r */
      if (num % s->sh) continue;
      const int64_t pp = num / s->sh;
      if (pp >= s->P) continue;
      rt[2 * nr] = pp * dy_p;
      rt[2 * nr + 1] = r * s->S * pl.cb;
      nr++;
    }
    a.nr = nr;
    for (int64_t rho = 0; rho < s->sw && rho < s->W; rho++) {
      const int64_t J = (s->W - rho + s->sw - 1) / s->sw;
      /* The columns of this phase: off_t = (rho + pl - t dw) / sw, valid for
       * j in [max(0, -off), min(J, Q - off)). */
      int64_t nc = 0;
      for (int64_t tcol = 0; tcol < s->S; tcol++) {
        const int64_t num = rho + s->pl - tcol * s->dw;
        if (num % s->sw) continue;
        const int64_t off = num / s->sw;
        const int64_t lo = max64(0, -off), hi = min64(J, s->Q - off);
        if (hi <= lo) continue;
        ct[2 * nc] = tcol;
        ct[2 * nc + 1] = off;
        crange[2 * nc] = lo;
        crange[2 * nc + 1] = hi;
        nc++;
      }
      /* Balanced tiles of the phase; a tap that misses a few pixels at a
       * tile's ends stays in the tile (its edge code), others split the tile
       * into segments of constant valid taps. */
      const int64_t ntl = cdiv(J, pl.tmax);
      for (int64_t ti = 0; ti < ntl; ti++) {
        const int64_t j0 = ti * J / ntl, j1 = (ti + 1) * J / ntl;
        int64_t nt = 0;
        int fits = 1;
        for (int64_t i = 0; i < nc && fits; i++) {
          const int64_t lo = max64(crange[2 * i], j0), hi = min64(crange[2 * i + 1], j1);
          if (hi <= lo) continue;
          const int64_t sl = lo - j0, sr = j1 - hi;
          fits = sl <= EDGE_MAX && sr <= EDGE_MAX;
          tt[3 * nt] = ct[2 * i + 1] * dy_q;
          tt[3 * nt + 1] = ct[2 * i] * pl.cb;
          tt[3 * nt + 2] = sl * (EDGE_MAX + 1) + sr;
          nt++;
        }
        if (fits) {
          a.nt = nt;
          a.dy = dyn + j0 * dy_q;
          a.out = row + (rho + s->sw * j0) * pl.cb;
          bd_tab[pl.nv][j1 - j0](&a);
          continue;
        }
        for (int64_t ja = j0; ja < j1;) {
          int64_t jb = j1;
          nt = 0;
          for (int64_t i = 0; i < nc; i++) {
            const int64_t lo = crange[2 * i], hi = crange[2 * i + 1];
            if (lo > ja) {
              jb = min64(jb, lo);
            } else if (hi > ja) {
              jb = min64(jb, hi);
              tt[3 * nt] = ct[2 * i + 1] * dy_q;
              tt[3 * nt + 1] = ct[2 * i] * pl.cb;
              tt[3 * nt + 2] = 0;
              nt++;
            }
          }
          a.nt = nt;
          a.dy = dyn + ja * dy_q;
          a.out = row + (rho + s->sw * ja) * pl.cb;
          bd_tab[pl.nv][jb - ja](&a);
          ja = jb;
        }
      }
    }
    bd_store_row(s, &pl, row, cvalid, dx, n, g * s->Cg + c0, h);
  }
}

/* ---- data gradient, "rows" -------------------------------------------- */

/* Channels x rows of a tile; HT rows of CT accumulators plus HT loads and a
 * broadcast fit the register file. */
#define CTMAX 6
#if defined(VCONV_TIER_AVX512) || defined(VCONV_TIER_NEON)
#  define HTMAX 4
#  define RT(X, c) X(c, 1) X(c, 2) X(c, 3) X(c, 4)
#else
#  define HTMAX 2
#  define RT(X, c) X(c, 1) X(c, 2)
#endif
#define RINSTANCES(X) RT(X, 1) RT(X, 2) RT(X, 3) RT(X, 4) RT(X, 5) RT(X, 6)

typedef struct br_args {
  const float *x;             /* padded dY of the group's k = 0 at the tile's row and column */
  ptrdiff_t x_k, x_row;       /* floats per plane, per plane row */
  ptrdiff_t x_r, x_t;         /* per row tap (dh rows) and column tap (dw) */
  const float *w;             /* the tile's packed weights, k = 0 */
  ptrdiff_t w_k;              /* R S ct */
  int64_t R, S, ct;
  const int64_t *runs;        /* connected output channels: nruns [k0, k1) pairs */
  int64_t nruns;
  const float *init;          /* CT start values */
  float *out;                 /* channel c, row i at out + c out_c + i out_h */
  ptrdiff_t out_c, out_h;
  int wn;                     /* valid columns of the vector */
} br_args;

typedef void (*br_fn)(const br_args *);

BW_INLINE void br_body(const br_args *a, const int CT, const int HT) {
  vf acc[CTMAX][HTMAX];
  BW_UNROLL
  for (int c = 0; c < CT; c++) {
    const vf b = vf_set1(a->init[c]);
    BW_UNROLL
    for (int i = 0; i < HT; i++) acc[c][i] = b;
  }
  const ptrdiff_t xr = a->x_row;
  for (int64_t ri = 0; ri < a->nruns; ri++)
    for (int64_t k = a->runs[2 * ri]; k < a->runs[2 * ri + 1]; k++) {
      const float *xk = a->x + k * a->x_k, *wk = a->w + k * a->w_k;
      for (int64_t r = 0; r < a->R; r++) {
        const float *xp = xk + r * a->x_r, *wp = wk + r * a->S * a->ct;
        for (int64_t t = 0; t < a->S; t++, xp += a->x_t, wp += a->ct) {
          vf x[HTMAX];
          BW_UNROLL
          for (int i = 0; i < HT; i++) x[i] = vf_loadu(xp + i * xr);
          BW_UNROLL
          for (int c = 0; c < CT; c++) {
            const vf wv = vf_set1(wp[c]);
            BW_UNROLL
            for (int i = 0; i < HT; i++) acc[c][i] = vf_fmadd(wv, x[i], acc[c][i]);
          }
        }
      }
    }
  BW_UNROLL
  for (int c = 0; c < CT; c++)
    BW_UNROLL
    for (int i = 0; i < HT; i++) {
      float *o = a->out + c * a->out_c + i * a->out_h;
      if (a->wn == VEC_W)
        vf_storeu(o, acc[c][i]);
      else
        vf_store_part(o, acc[c][i], a->wn);
    }
}

#define BR_DEF(C, H) \
  static void br_##C##_##H(const br_args *a) { br_body(a, C, H); }
RINSTANCES(BR_DEF)
#define BR_ENT(C, H) [C][H] = br_##C##_##H,
static const br_fn br_tab[CTMAX + 1][HTMAX + 1] = {RINSTANCES(BR_ENT)};

/* Scratch: the padded planes, the NHWC tile buffer, then the k runs (2 Kg). */
static size_t br_scratch(const vconv_conv_shape *s, const bd_plan *pl, size_t *tile,
                         size_t *lists) {
  *tile = align64((size_t)(s->Kg * pl->yn * pl->xn) * sizeof(float));
  *lists = *tile + align64((size_t)(CTMAX * HTMAX * VEC_W) * sizeof(float));
  return *lists + (size_t)(2 * s->Kg) * sizeof(int64_t);
}

/* The rows plan, or 0 where it does not apply: strides other than 1, or
 * planes for even one row beyond the scratch cap. */
static int br_plan_fn(const vconv_conv_shape *s, bd_plan *pl) {
  if (s->sh != 1 || s->sw != 1) return 0;
  const int64_t halo = (s->R - 1) * s->dh; /* R dh <= the dilated kernel: fits */
  const int64_t wv = cdiv(s->W, VEC_W) * VEC_W;
  const int64_t xn = wv + (s->S - 1) * s->dw;
  const double row_bytes = (double)s->Kg * (double)xn * sizeof(float);
  const double cap = 32.0 * 1024 * 1024; /* one row's planes, at most */
  if (row_bytes * (double)(1 + halo) > cap) return 0;
  pl->ct = (int)(s->Cg <= CTMAX ? s->Cg : cdiv(s->Cg, cdiv(s->Cg, CTMAX)));
  pl->nct = cdiv(s->Cg, pl->ct);
  pl->ht = HTMAX;
  /* About 2 MFLOP per task, as "blocked", and the planes in half of L2 when
   * the halo allows. */
  const double row_flops = 2.0 * (double)s->W * (double)s->Cg * (double)s->Kg * (double)(s->R * s->S);
  int64_t rows = row_flops >= 2.0e6 ? 1 : min64(s->H, (int64_t)(2.0e6 / row_flops) + 1);
  const double fit = 256.0 * 1024 / row_bytes - (double)halo;
  if ((double)rows > fit) rows = fit >= 1.0 ? (int64_t)fit : 1;
  pl->rows = rows;
  pl->rblocks = cdiv(s->H, rows);
  pl->yn = rows + halo;
  pl->xn = xn;
  return 1;
}

static void br_pack(const vconv_conv_shape *s, const bd_plan *pl, const float *w, float *packed) {
  const int64_t RS = s->R * s->S;
  for (int64_t g = 0; g < s->G; g++)
    for (int64_t b = 0; b < pl->nct; b++)
      for (int64_t k = 0; k < s->Kg; k++)
        for (int64_t r = 0; r < s->R; r++)
          for (int64_t t = 0; t < s->S; t++) {
            float *d = packed + ((((g * pl->nct + b) * s->Kg + k) * s->R + r) * s->S + t) * pl->ct;
            const int64_t kk = g * s->Kg + k, rs = (s->R - 1 - r) * s->S + (s->S - 1 - t);
            for (int64_t j = 0; j < pl->ct; j++) {
              const int64_t c = b * pl->ct + j;
              d[j] = c < s->Cg && connected(s, kk, c) ? w[(kk * s->Cg + c) * RS + rs] : 0.0f;
            }
          }
}

/* Rows [ybase, ybase + yn) x columns [xbase, xbase + xn) of dY's planes of
 * the group (zero outside dY) into planes [k][yn][xn]. */
static void br_fill(const vconv_conv_shape *s, const bd_plan *pl, const float *dy, int64_t n,
                    int64_t g, int64_t ybase, int64_t xbase, float *planes) {
  const int nhwc = s->layout == VCONV_LAYOUT_NHWC;
  const int64_t xn = pl->xn, x0 = min64(max64(0, -xbase), xn), x1 = max64(x0, min64(xn, s->Q - xbase));
  for (int64_t k = 0; k < s->Kg; k++) {
    const int64_t kk = g * s->Kg + k;
    for (int64_t yy = 0; yy < pl->yn; yy++) {
      float *d = planes + (k * pl->yn + yy) * xn;
      const int64_t y = ybase + yy;
      if (y < 0 || y >= s->P) {
        memset(d, 0, (size_t)xn * sizeof(float));
        continue;
      }
      memset(d, 0, (size_t)x0 * sizeof(float));
      if (nhwc) {
        const float *src = dy + ((n * s->P + y) * s->Q + xbase) * s->K + kk;
        for (int64_t x = x0; x < x1; x++) d[x] = src[x * s->K];
      } else if (x1 > x0) {
        memcpy(d + x0, dy + ((n * s->K + kk) * s->P + y) * s->Q + xbase + x0,
               (size_t)(x1 - x0) * sizeof(float));
      }
      memset(d + x1, 0, (size_t)(xn - x1) * sizeof(float));
    }
  }
}

static void br_run(const vconv_conv_shape *s, const bd_plan *pl, const float *packed,
                   const float *bias, const float *dy, float *dx, void *workspace, size_t task) {
  size_t toff, loff;
  br_scratch(s, pl, &toff, &loff);
  unsigned char *ws = workspace;
  float *planes = (float *)(void *)ws, *tile = (float *)(void *)(ws + toff);
  int64_t *runs = (int64_t *)(void *)(ws + loff);
  const int64_t rb = (int64_t)task % pl->rblocks, ng = (int64_t)task / pl->rblocks;
  const int64_t g = ng % s->G, n = ng / s->G;
  const int64_t h0 = rb * pl->rows, hn = min64(pl->rows, s->H - h0);
  const int64_t ybase = h0 + s->pt - (s->R - 1) * s->dh;
  br_fill(s, pl, dy, n, g, ybase, s->pl - (s->S - 1) * s->dw, planes);

  const int nhwc = s->layout == VCONV_LAYOUT_NHWC;
  const int64_t HW = s->H * s->W;
  br_args a;
  a.x_k = pl->yn * pl->xn;
  a.x_row = pl->xn;
  a.x_r = s->dh * pl->xn;
  a.x_t = s->dw;
  a.w_k = s->R * s->S * pl->ct;
  a.R = s->R;
  a.S = s->S;
  a.ct = pl->ct;
  a.runs = runs;
  a.out_c = nhwc ? HTMAX * VEC_W : HW;
  a.out_h = nhwc ? VEC_W : s->W;
  for (int64_t b = 0; b < pl->nct; b++) {
    const int64_t c0 = b * pl->ct, cvalid = min64(pl->ct, s->Cg - c0), cabs = g * s->Cg + c0;
    int64_t nruns = 0;
    for (int64_t k = 0; k < s->Kg; k++) {
      int any = 0;
      for (int64_t c = c0; c < c0 + cvalid && !any; c++) any = connected(s, g * s->Kg + k, c);
      if (!any) continue;
      if (nruns && runs[2 * nruns - 1] == k) {
        runs[2 * nruns - 1] = k + 1;
      } else {
        runs[2 * nruns] = k;
        runs[2 * nruns + 1] = k + 1;
        nruns++;
      }
    }
    float init[CTMAX];
    for (int64_t j = 0; j < cvalid; j++) init[j] = bias ? bias[cabs + j] : 0.0f;
    a.nruns = nruns;
    a.init = init;
    a.w = packed + (g * pl->nct + b) * s->Kg * a.w_k;
    const float *wtile = a.w;
    for (int64_t i0 = 0; i0 < hn; i0 += pl->ht) {
      const int64_t in = min64(pl->ht, hn - i0);
      /* Only row taps that reach a row of dY for some row of the tile: plane
       * row i + r dh is dY row ybase + i + r dh (the rest are the border). */
      const int64_t lo = -ybase - (i0 + in - 1), hi = s->P - 1 - ybase - i0;
      const int64_t r0 = lo <= 0 ? 0 : cdiv(lo, s->dh), r1 = hi < 0 ? -1 : min64(s->R - 1, hi / s->dh);
      a.R = r1 >= r0 ? r1 - r0 + 1 : 0;
      a.w = wtile + r0 * s->S * pl->ct;
      for (int64_t w0 = 0; w0 < s->W; w0 += VEC_W) {
        a.wn = (int)min64(VEC_W, s->W - w0);
        a.x = planes + (i0 + r0 * s->dh) * pl->xn + w0;
        if (!nhwc) {
          a.out = dx + (n * s->C + cabs) * HW + (h0 + i0) * s->W + w0;
          br_tab[cvalid][in](&a);
          continue;
        }
        const int wn = a.wn;
        a.wn = VEC_W;
        a.out = tile;
        br_tab[cvalid][in](&a);
        for (int64_t i = 0; i < in; i++)
          for (int64_t l = 0; l < wn; l++) {
            float *o = dx + ((n * s->H + h0 + i0 + i) * s->W + w0 + l) * s->C + cabs;
            for (int64_t c = 0; c < cvalid; c++) o[c] = tile[c * HTMAX * VEC_W + i * VEC_W + l];
          }
      }
    }
  }
}

/* ---- data gradient: the plan picks the path --------------------------- */

/* Useful lanes of a vector: blocked's are input channels, rows' columns. */
static double lane_use(int64_t n, int64_t width) {
  return (double)n / (double)(cdiv(n, width) * width);
}

static int bd_plan_fn(const vconv_conv_shape *s, const vconv_machine *m, int path,
                      vconv_conv_plan *p) {
  (void)m; /* tiles for registers, tasks for cores */
  if (path != VCONV_PATH_ANY && path != BD_BLOCKED && path != BD_ROWS) return 0;
  bd_plan pl;
  memset(&pl, 0, sizeof pl);
  int rows = path != BD_BLOCKED && br_plan_fn(s, &pl);
  if (rows && path == VCONV_PATH_ANY) {
    bd_plan b;
    memset(&b, 0, sizeof b);
    blocked_plan(s, &b);
    /* Rows where its lanes do more useful work.  Single thread, batch 16,
     * Zen 4: LeNet C3 (6 channels, 14 columns) rows 181 us against blocked's
     * 426 on avx512 (236 against 488 on avx2), C1 111 against 873; AlexNet
     * conv2-5 (13-27 columns, 48-384 channels) blocked 1.2-1.6x faster. */
    rows = lane_use(s->W, VEC_W) > lane_use(s->Cg, b.cb);
  }
  if (path == BD_ROWS && !rows) return 0;
  if (!rows) {
    memset(&pl, 0, sizeof pl);
    blocked_plan(s, &pl);
  }
  memset(p, 0, sizeof *p);
  size_t a, b;
  if (rows) {
    p->packed_floats = (size_t)(s->G * pl.nct * s->Kg * s->R * s->S * pl.ct);
    p->task_workspace = br_scratch(s, &pl, &a, &b);
    p->task_count = (size_t)(s->N * s->G * pl.rblocks);
  } else {
    p->packed_floats = (size_t)(s->G * pl.ncb * s->Kg * s->R * s->S * pl.cb);
    p->task_workspace = bd_scratch(s, &pl, &a);
    p->task_count = (size_t)(s->N * s->G * pl.ncb * pl.rblocks);
  }
  p->path = rows ? BD_ROWS : BD_BLOCKED;
  _Static_assert(sizeof pl <= sizeof p->own, "bd_plan fits the plan");
  memcpy(&p->own, &pl, sizeof pl);
  return 1;
}

static void bd_pack(const vconv_conv_shape *s, const vconv_conv_plan *p, const float *w,
                    float *packed) {
  const bd_plan pl = bd_own(p);
  if (p->path == BD_ROWS)
    br_pack(s, &pl, w, packed);
  else
    blocked_pack(s, &pl, w, packed);
}

static void bd_run(const vconv_conv_shape *s, const vconv_conv_plan *p, const float *packed,
                   const float *bias, const float *dy, float *dx, void *workspace, size_t task) {
  const bd_plan pl = bd_own(p);
  if (p->path == BD_ROWS)
    br_run(s, &pl, packed, bias, dy, dx, workspace, task);
  else
    blocked_run(s, &pl, packed, bias, dy, dx, workspace, task);
}

/* ======================================================================== */
/* Weight gradient                                                           */

typedef struct bw_args {
  float *acc;               /* TC sums of KB floats, acc_j apart, accumulated in place */
  ptrdiff_t acc_j;
  const float *x;           /* the tile's first channel or tap at the first row and pixel */
  const float *dy;          /* the panel at the first row and pixel */
  int64_t rows, cols;
  ptrdiff_t x_c, x_row, x_col, dy_row; /* x_c: from one channel (or tap) of the tile to the next */
} bw_args;

typedef void (*bw_fn)(const bw_args *);

BW_INLINE void bw_body(const bw_args *a, const int TC, const int NV) {
  const int kb = NV * VEC_W;
  vf acc[TMAX][NVMAX];
  BW_UNROLL
  for (int j = 0; j < TC; j++)
    BW_UNROLL
    for (int v = 0; v < NV; v++) acc[j][v] = vf_loadu(a->acc + j * a->acc_j + v * VEC_W);
  const ptrdiff_t xc = a->x_c, xq = a->x_col;
  for (int64_t i = 0; i < a->rows; i++) {
    const float *xr = a->x + i * a->x_row, *dr = a->dy + i * a->dy_row;
    for (int64_t q = 0; q < a->cols; q++, xr += xq, dr += kb) {
      vf d[NVMAX];
      BW_UNROLL
      for (int v = 0; v < NV; v++) d[v] = vf_loadu(dr + v * VEC_W);
      BW_UNROLL
      for (int j = 0; j < TC; j++) {
        const vf b = vf_set1(xr[j * xc]);
        BW_UNROLL
        for (int v = 0; v < NV; v++) acc[j][v] = vf_fmadd(b, d[v], acc[j][v]);
      }
    }
  }
  BW_UNROLL
  for (int j = 0; j < TC; j++)
    BW_UNROLL
    for (int v = 0; v < NV; v++) vf_storeu(a->acc + j * a->acc_j + v * VEC_W, acc[j][v]);
}

#define BW_DEF(T, NV) \
  static void bw_##T##_##NV(const bw_args *a) { bw_body(a, T, NV); }
INSTANCES(BW_DEF)
#define BW_ENT(T, NV) [NV][T] = bw_##T##_##NV,
static const bw_fn bw_tab[NVMAX + 1][TMAX + 1] = {INSTANCES(BW_ENT)};

typedef struct bw_plan {
  int nv, tc;       /* tile: nv vectors of k x tc channels, or tc kernel columns when taps */
  int taps;         /* tiles over the kernel columns of one channel (few channels, wide kernels) */
  int64_t kb, nkb;  /* output channels per block, blocks per group */
  int64_t cc, ncc;  /* input channels per chunk, chunks per group */
  int64_t pb;       /* dY rows per panel (images, when img) */
  int img;          /* one-row dY (LeNet C5): a tile's rows are images */
  int kt, tt;       /* pixels: register tile of kt output channels x tt kernel columns */
  int64_t yn, xn;   /* pixels: zero-bordered input plane, rows and columns */
} bw_plan;

enum { BW_TILES, BW_PIXELS };
static const char *const bw_paths[] = {"tiles", "pixels"};

/* Scratch: sums [tap][channel][KB], the panel [row][q][KB], then int64 lists
 * of the chunk's connected channels (cc), tiles (3 cc) and their map (cc). */
static size_t bw_scratch(const vconv_conv_shape *s, const bw_plan *pl, size_t *panel,
                         size_t *lists) {
  *panel = align64((size_t)(s->R * s->S * pl->cc * pl->kb) * sizeof(float));
  *lists = *panel + align64((size_t)(pl->pb * s->Q * pl->kb) * sizeof(float));
  return *lists + (size_t)(5 * pl->cc + 4) * sizeof(int64_t);
}

static void tiles_plan(const vconv_conv_shape *s, const vconv_machine *m, vconv_conv_plan *p) {
  bw_plan pl;
  memset(&pl, 0, sizeof pl);
  pl.nv = s->Kg > VEC_W ? 2 : 1;
  for (int i = 1; i <= TMAX; i++)
    if (bw_tab[pl.nv][i]) pl.tc = i;
  pl.kb = (int64_t)pl.nv * VEC_W;
  pl.nkb = cdiv(s->Kg, pl.kb);
  /* Balanced tiles over channels, or over kernel columns where there are
   * more columns than channels (AlexNet conv1: 3 channels, 11 columns). */
  pl.taps = s->S > s->Cg;
  const int64_t along = pl.taps ? s->S : s->Cg;
  const int tcmax = pl.tc;
  pl.tc = (int)cdiv(along, cdiv(along, pl.tc));
  /* A chunk's sums in a quarter of L2, where every row block revisits them;
   * then smaller chunks until there are tasks for a few cores. */
  const int64_t per_c = s->R * s->S * pl.kb * (int64_t)sizeof(float);
  int64_t cc = max64(1, m->l2 / 4 / per_c);
  const int64_t unit = pl.taps ? 1 : pl.tc;
  (void)tcmax;
  cc = min64(max64(cc / unit * unit, unit), s->Cg);
  while (cc > unit && s->G * pl.nkb * cdiv(s->Cg, cc) < 8) cc = cdiv(cdiv(cc, 2), unit) * unit;
  pl.cc = cc;
  pl.ncc = cdiv(s->Cg, cc);
  /* A panel of about 16 KB: in L1 while every tap and channel tile reads it. */
  pl.img = s->P == 1;
  pl.pb = max64(1, min64(pl.img ? s->N : s->P, 4096 / max64(1, s->Q * pl.kb)));
  memset(p, 0, sizeof *p);
  size_t panel, lists;
  p->packed_floats = 0;
  p->task_workspace = bw_scratch(s, &pl, &panel, &lists);
  p->task_count = (size_t)(s->G * pl.nkb * pl.ncc);
  p->path = BW_TILES;
  memcpy(&p->own, &pl, sizeof pl);
}

static bw_plan bw_own(const vconv_conv_plan *p) {
  bw_plan pl;
  memcpy(&pl, &p->own, sizeof pl);
  return pl;
}

/* Rows p0 .. p0+pn-1 of dY (output channels k0 .. k0+kvalid-1 of the image) as
 * [row][q][KB], lanes past kvalid zero. */
static void bw_fill_panel(const vconv_conv_shape *s, const bw_plan *pl, const float *dy, int64_t n,
                          int64_t kabs, int64_t kvalid, int64_t p0, int64_t pn, float *panel) {
  const int64_t kb = pl->kb, Q = s->Q;
  if (s->layout == VCONV_LAYOUT_NHWC) {
    for (int64_t i = 0; i < pn; i++)
      for (int64_t q = 0; q < Q; q++) {
        const float *src = dy + ((n * s->P + p0 + i) * Q + q) * s->K + kabs;
        float *d = panel + (i * Q + q) * kb;
        for (int64_t v = 0; v < kb; v += VEC_W) {
          const int64_t m = kvalid - v;
          vf_storeu(d + v, m >= VEC_W ? vf_loadu(src + v) : m > 0 ? vf_load_part(src + v, (int)m) : vf_zero());
        }
      }
    return;
  }
  const int64_t PQ = s->P * Q;
  for (int64_t i = 0; i < pn; i++) {
    const float *src = dy + (n * s->K + kabs) * PQ + (p0 + i) * Q;
    float *d = panel + i * Q * kb;
    for (int64_t q0 = 0; q0 < Q; q0 += VEC_W) {
      const int qn = (int)min64(VEC_W, Q - q0);
      for (int64_t v = 0; v < kb; v += VEC_W) {
        vf blk[VEC_W];
        for (int j = 0; j < VEC_W; j++) {
          const float *sp = src + (v + j) * PQ + q0;
          blk[j] = v + j < kvalid ? (qn == VEC_W ? vf_loadu(sp) : vf_load_part(sp, qn)) : vf_zero();
        }
        vf_transpose_block(blk);
        for (int j = 0; j < qn; j++) vf_storeu(d + (q0 + j) * kb + v, blk[j]);
      }
    }
  }
}

static void tiles_run(const vconv_conv_shape *s, const vconv_conv_plan *p, const float *x,
                      const float *dy, float *dw, float *db, void *workspace, size_t task) {
  const bw_plan pl = bw_own(p);
  size_t poff, loff;
  bw_scratch(s, &pl, &poff, &loff);
  unsigned char *ws = workspace;
  float *acc = (float *)(void *)ws, *panel = (float *)(void *)(ws + poff);
  int64_t *chan = (int64_t *)(void *)(ws + loff); /* the chunk's connected channels */
  int64_t *tiles = chan + pl.cc;                   /* (first index in chan, count, channel) */

  int64_t t = (int64_t)task;
  const int64_t ci = t % pl.ncc;
  t /= pl.ncc;
  const int64_t kbi = t % pl.nkb, g = t / pl.nkb;
  const int64_t k0 = kbi * pl.kb, kvalid = min64(pl.kb, s->Kg - k0);
  const int64_t c0 = ci * pl.cc, cn = min64(pl.cc, s->Cg - c0);
  const int64_t RS = s->R * s->S, kb = pl.kb;

  /* Channels of the chunk that some k of the block reads, cut into tiles of
   * consecutive channels (one stride in x) of at most TC. */
  int64_t ncl = 0, ntiles = 0;
  for (int64_t c = c0; c < c0 + cn; c++) {
    int any = 0;
    for (int64_t k = k0; k < k0 + kvalid && !any; k++) any = connected(s, g * s->Kg + k, c);
    if (!any) continue;
    if (ntiles && tiles[3 * ntiles - 1] + tiles[3 * ntiles - 2] == c && tiles[3 * ntiles - 2] < pl.tc) {
      tiles[3 * ntiles - 2]++;
    } else {
      tiles[3 * ntiles] = ncl;
      tiles[3 * ntiles + 1] = 1;
      tiles[3 * ntiles + 2] = c;
      ntiles++;
    }
    chan[ncl++] = c;
  }
  for (int64_t i = 0; i < RS * ncl * kb; i += VEC_W) vf_storeu(acc + i, vf_zero());
  vf dbv[NVMAX];
  for (int v = 0; v < NVMAX; v++) dbv[v] = vf_zero();
  const int want_db = db && ci == 0;

  const int nhwc = s->layout == VCONV_LAYOUT_NHWC;
  const ptrdiff_t x_c = nhwc ? 1 : s->H * s->W, x_h = nhwc ? s->W * s->C : s->W,
                  x_w = nhwc ? s->C : 1;
  bw_args a;
  a.x_c = x_c;
  a.x_col = s->sw * x_w;
  a.x_row = pl.img ? s->H * s->W * s->C : s->sh * x_h;
  a.dy_row = s->Q * kb;
  for (int64_t n = 0; n < s->N; n += pl.img ? pl.pb : 1) {
    const int64_t nn = pl.img ? min64(pl.pb, s->N - n) : 1;
    const float *xn = nhwc ? x + n * s->H * s->W * s->C + g * s->Cg
                           : x + (n * s->C + g * s->Cg) * s->H * s->W;
    for (int64_t p0 = 0; p0 < s->P; p0 += pl.pb) {
      const int64_t pn = pl.img ? 1 : min64(pl.pb, s->P - p0);
      if (pl.img)
        for (int64_t i = 0; i < nn; i++)
          bw_fill_panel(s, &pl, dy, n + i, g * s->Kg + k0, kvalid, 0, 1, panel + i * s->Q * kb);
      else
        bw_fill_panel(s, &pl, dy, n, g * s->Kg + k0, kvalid, p0, pn, panel);
      if (want_db)
        for (int64_t i = 0; i < nn * pn * s->Q; i++)
          for (int v = 0; v < pl.nv; v++) dbv[v] = vf_add(dbv[v], vf_loadu(panel + i * kb + v * VEC_W));
      if (ncl == 0) continue;
      for (int64_t r = 0; r < s->R; r++) {
        int64_t pa, pe;
        vconv_valid_range(r * s->dh - s->pt, s->sh, s->H, s->P, &pa, &pe);
        pa = max64(pa, p0);
        pe = min64(pe, p0 + pn);
        if (pe <= pa) continue;
        const int64_t h = pa * s->sh - s->pt + r * s->dh;
        if (pl.taps) {
          /* Columns t0 .. t0+tn-1 of one channel share the pixels every one of
           * them reads; the few each reads beyond those go one column at a time. */
          for (int64_t t0 = 0; t0 < s->S; t0 += pl.tc) {
            const int64_t tn = min64(pl.tc, s->S - t0);
            int64_t qa = 0, qe = s->Q;
            for (int64_t tc = t0; tc < t0 + tn; tc++) {
              int64_t lo, hi;
              vconv_valid_range(tc * s->dw - s->pl, s->sw, s->W, s->Q, &lo, &hi);
              qa = max64(qa, lo);
              qe = min64(qe, hi);
            }
            if (qe < qa) qe = qa;
            for (int64_t li = 0; li < ncl; li++) {
              const float *xc = xn + chan[li] * x_c + h * x_h;
              a.rows = pl.img ? nn : pe - pa;
              if (qe > qa) {
                a.acc = acc + ((r * s->S + t0) * ncl + li) * kb;
                a.acc_j = ncl * kb;
                a.x_c = s->dw * x_w;
                a.x = xc + (qa * s->sw - s->pl + t0 * s->dw) * x_w;
                a.cols = qe - qa;
                a.dy = panel + ((pa - p0) * s->Q + qa) * kb;
                bw_tab[pl.nv][tn](&a);
              }
              for (int64_t tc = t0; tc < t0 + tn; tc++) {
                int64_t lo, hi;
                vconv_valid_range(tc * s->dw - s->pl, s->sw, s->W, s->Q, &lo, &hi);
                const int64_t piece[4] = {lo, min64(hi, qa), max64(lo, qe), hi};
                for (int e = 0; e < 4; e += 2) {
                  if (piece[e + 1] <= piece[e]) continue;
                  a.acc = acc + ((r * s->S + tc) * ncl + li) * kb;
                  a.acc_j = kb;
                  a.x = xc + (piece[e] * s->sw - s->pl + tc * s->dw) * x_w;
                  a.cols = piece[e + 1] - piece[e];
                  a.dy = panel + ((pa - p0) * s->Q + piece[e]) * kb;
                  bw_tab[pl.nv][1](&a);
                }
              }
            }
          }
          continue;
        }
        a.x_c = x_c;
        a.acc_j = kb;
        for (int64_t tc = 0; tc < s->S; tc++) {
          int64_t qa, qe;
          vconv_valid_range(tc * s->dw - s->pl, s->sw, s->W, s->Q, &qa, &qe);
          if (qe <= qa) continue;
          const int64_t wcol = qa * s->sw - s->pl + tc * s->dw;
          a.rows = pl.img ? nn : pe - pa;
          a.cols = qe - qa;
          a.dy = panel + ((pa - p0) * s->Q + qa) * kb;
          for (int64_t ti = 0; ti < ntiles; ti++) {
            a.acc = acc + ((r * s->S + tc) * ncl + tiles[3 * ti]) * kb;
            a.x = xn + tiles[3 * ti + 2] * x_c + h * x_h + wcol * x_w;
            bw_tab[pl.nv][tiles[3 * ti + 1]](&a);
          }
        }
      }
    }
  }
  /* dW, OIHW, from the sums [tap][channel][k] through VEC_W x VEC_W
   * transposes.  A k's rows of the chunk's channels are one span of cn R S
   * floats, transposed as one (a copy lane by lane, strided by a tap row,
   * showed on layers with few pixels, LeNet C5, and so did a masked tail per
   * channel row); channels nothing in the block reads are zeros. */
  int64_t *lmap = tiles + 3 * pl.cc; /* chunk channel -> index in chan, or -1 */
  for (int64_t c = 0; c < cn; c++) lmap[c] = -1;
  for (int64_t li = 0; li < ncl; li++) lmap[chan[li] - c0] = li;
  const int64_t span = cn * RS;
  for (int64_t v = 0; v < kvalid; v += VEC_W) {
    const int64_t kn = min64(VEC_W, kvalid - v);
    for (int64_t f0 = 0; f0 < span; f0 += VEC_W) {
      const int fn = (int)min64(VEC_W, span - f0);
      vf blk[VEC_W];
      int64_t c = f0 / RS, rs = f0 % RS;
      for (int i = 0; i < VEC_W; i++) {
        const int64_t li = i < fn ? lmap[c] : -1;
        blk[i] = li >= 0 ? vf_loadu(acc + (rs * ncl + li) * kb + v) : vf_zero();
        if (++rs == RS) rs = 0, c++;
      }
      vf_transpose_block(blk);
      for (int64_t j = 0; j < kn; j++) {
        float *d = dw + ((g * s->Kg + k0 + v + j) * s->Cg + c0) * RS + f0;
        if (fn == VEC_W)
          vf_storeu(d, blk[j]);
        else
          vf_store_part(d, blk[j], fn);
      }
    }
  }
  if (s->conn) /* the pairs a block computed but the table leaves out */
    for (int64_t kk = 0; kk < kvalid; kk++)
      for (int64_t c = c0; c < c0 + cn; c++)
        if (!connected(s, g * s->Kg + k0 + kk, c))
          memset(dw + ((g * s->Kg + k0 + kk) * s->Cg + c) * RS, 0, (size_t)RS * sizeof(float));
  if (want_db) {
    float tmp[NVMAX * VEC_W];
    for (int v = 0; v < pl.nv; v++) vf_storeu(tmp + v * VEC_W, dbv[v]);
    for (int64_t kk = 0; kk < kvalid; kk++) db[g * s->Kg + k0 + kk] = tmp[kk];
  }
}

/* ---- weight gradient, "pixels" ------------------------------------------ */
/*
 * NCHW at stride 1, for few output channels (LeNet C1: 6 of 16 lanes in
 * "tiles", 28 columns fill 28 of 32 here): dY and input columns are the
 * vector dimension.  A task is one input channel of a group: per image its
 * plane is copied into a zero-bordered plane in scratch (so every tap is an
 * unconditional load), then per row tap r and tile of kernel columns the
 * register tile of KT output channels x TT columns sums dY x input over the
 * pixels, in vector partial sums kept in scratch [k][r][t][lane] from image
 * to image.  dW is each partial sum's lanes added in order; db the first
 * channel's task's sum of dY.
 */
#if defined(VCONV_TIER_AVX512) || defined(VCONV_TIER_NEON)
#  define KTMAX 6
#  define PT(X, k) X(k, 1) X(k, 2) X(k, 3)
#  define PINSTANCES(X) PT(X, 1) PT(X, 2) PT(X, 3) PT(X, 4) PT(X, 5) PT(X, 6)
#else
#  define KTMAX 3
#  define PT(X, k) X(k, 1) X(k, 2) X(k, 3)
#  define PINSTANCES(X) PT(X, 1) PT(X, 2) PT(X, 3)
#endif
#define TTMAX 3

typedef struct bp_args {
  float *acc;               /* partial sums of (k, t): acc + k acc_k + t VEC_W */
  ptrdiff_t acc_k;
  const float *dy;          /* dY of the tile's first k, row 0 */
  ptrdiff_t dy_k;           /* P Q */
  const float *x;           /* the bordered plane at the row tap and first column tap */
  ptrdiff_t x_row, x_t;     /* floats per plane row, per column tap (dw) */
  int64_t P, Q;
} bp_args;

typedef void (*bp_fn)(const bp_args *);

BW_INLINE void bp_body(const bp_args *a, const int KT, const int TT) {
  vf acc[KTMAX][TTMAX];
  BW_UNROLL
  for (int k = 0; k < KT; k++)
    BW_UNROLL
    for (int t = 0; t < TT; t++) acc[k][t] = vf_loadu(a->acc + k * a->acc_k + t * VEC_W);
  for (int64_t p = 0; p < a->P; p++) {
    const float *dr = a->dy + p * a->Q, *xr = a->x + p * a->x_row;
    for (int64_t q = 0; q < a->Q; q += VEC_W) {
      const int n = (int)(a->Q - q < VEC_W ? a->Q - q : VEC_W);
      vf d[KTMAX];
      BW_UNROLL
      for (int k = 0; k < KT; k++)
        d[k] = n == VEC_W ? vf_loadu(dr + k * a->dy_k + q) : vf_load_part(dr + k * a->dy_k + q, n);
      BW_UNROLL
      for (int t = 0; t < TT; t++) {
        /* Lanes past Q: 0 in dY and in the input (an inf there must not make 0 x inf). */
        const float *xp = xr + q + t * a->x_t;
        const vf xv = n == VEC_W ? vf_loadu(xp) : vf_load_part(xp, n);
        BW_UNROLL
        for (int k = 0; k < KT; k++) acc[k][t] = vf_fmadd(d[k], xv, acc[k][t]);
      }
    }
  }
  BW_UNROLL
  for (int k = 0; k < KT; k++)
    BW_UNROLL
    for (int t = 0; t < TT; t++) vf_storeu(a->acc + k * a->acc_k + t * VEC_W, acc[k][t]);
}

#define BP_DEF(K, T) \
  static void bp_##K##_##T(const bp_args *a) { bp_body(a, K, T); }
PINSTANCES(BP_DEF)
#define BP_ENT(K, T) [K][T] = bp_##K##_##T,
static const bp_fn bp_tab[KTMAX + 1][TTMAX + 1] = {PINSTANCES(BP_ENT)};

/* Scratch: the partial sums [Kg][R][S][VEC_W], then the bordered plane. */
static size_t bp_scratch(const vconv_conv_shape *s, const bw_plan *pl, size_t *plane) {
  *plane = align64((size_t)(s->Kg * s->R * s->S * VEC_W) * sizeof(float));
  return *plane + (size_t)(pl->yn * pl->xn) * sizeof(float);
}

static int pixels_plan(const vconv_conv_shape *s, vconv_conv_plan *p) {
  if (s->layout != VCONV_LAYOUT_NCHW || s->sh != 1 || s->sw != 1) return 0;
  bw_plan pl;
  memset(&pl, 0, sizeof pl);
  const int64_t qv = cdiv(s->Q, VEC_W) * VEC_W;
  const double sums = (double)s->Kg * (double)(s->R * s->S) * VEC_W * sizeof(float);
  const double plane = ((double)s->P + (double)(s->R - 1) * (double)s->dh) *
                       ((double)qv + (double)(s->S - 1) * (double)s->dw) * sizeof(float);
  if (sums + plane > 16.0 * 1024 * 1024) return 0;
  pl.yn = s->P + (s->R - 1) * s->dh;
  pl.xn = qv + (s->S - 1) * s->dw;
  pl.kt = (int)cdiv(s->Kg, cdiv(s->Kg, KTMAX));
  pl.tt = (int)cdiv(s->S, cdiv(s->S, TTMAX));
  memset(p, 0, sizeof *p);
  size_t off;
  p->task_workspace = bp_scratch(s, &pl, &off);
  p->task_count = (size_t)(s->G * s->Cg);
  p->path = BW_PIXELS;
  memcpy(&p->own, &pl, sizeof pl);
  return 1;
}

static void pixels_run(const vconv_conv_shape *s, const vconv_conv_plan *p, const float *x,
                       const float *dy, float *dw, float *db, void *workspace, size_t task) {
  const bw_plan pl = bw_own(p);
  size_t poff;
  bp_scratch(s, &pl, &poff);
  float *sums = workspace, *plane = (float *)(void *)((unsigned char *)workspace + poff);
  const int64_t g = (int64_t)task / s->Cg, c = (int64_t)task % s->Cg, cabs = g * s->Cg + c;
  const int64_t RS = s->R * s->S, PQ = s->P * s->Q, HW = s->H * s->W;
  for (int64_t i = 0; i < s->Kg * RS * VEC_W; i += VEC_W) vf_storeu(sums + i, vf_zero());
  /* Plane row i, column j hold input row i - pt, column j - pl. */
  const int64_t x0 = min64(s->pl, pl.xn), x1 = max64(x0, min64(pl.xn, s->pl + s->W));
  bp_args a;
  a.acc_k = RS * VEC_W;
  a.dy_k = PQ;
  a.x_row = pl.xn;
  a.x_t = s->dw;
  a.P = s->P;
  a.Q = s->Q;
  for (int64_t n = 0; n < s->N; n++) {
    const float *xc = x + (n * s->C + cabs) * HW;
    for (int64_t i = 0; i < pl.yn; i++) {
      float *d = plane + i * pl.xn;
      const int64_t h = i - s->pt;
      if (h < 0 || h >= s->H) {
        memset(d, 0, (size_t)pl.xn * sizeof(float));
        continue;
      }
      memset(d, 0, (size_t)x0 * sizeof(float));
      if (x1 > x0) memcpy(d + x0, xc + h * s->W + (x0 - s->pl), (size_t)(x1 - x0) * sizeof(float));
      memset(d + x1, 0, (size_t)(pl.xn - x1) * sizeof(float));
    }
    for (int64_t k0 = 0; k0 < s->Kg; k0 += pl.kt) {
      const int kn = (int)min64(pl.kt, s->Kg - k0);
      a.dy = dy + (n * s->K + g * s->Kg + k0) * PQ;
      for (int64_t r = 0; r < s->R; r++)
        for (int64_t t0 = 0; t0 < s->S; t0 += pl.tt) {
          const int tn = (int)min64(pl.tt, s->S - t0);
          a.acc = sums + ((k0 * s->R + r) * s->S + t0) * VEC_W;
          a.x = plane + r * s->dh * pl.xn + t0 * s->dw;
          bp_tab[kn][tn](&a);
        }
    }
  }
  for (int64_t k = 0; k < s->Kg; k++) {
    const int on = connected(s, g * s->Kg + k, c);
    for (int64_t rs = 0; rs < RS; rs++) {
      const float *v = sums + (k * RS + rs) * VEC_W;
      float sum = 0.0f;
      for (int l = 0; l < VEC_W; l++) sum += v[l];
      dw[((g * s->Kg + k) * s->Cg + c) * RS + rs] = on ? sum : 0.0f;
    }
  }
  if (db && c == 0)
    for (int64_t k = 0; k < s->Kg; k++) {
      vf acc = vf_zero();
      for (int64_t n = 0; n < s->N; n++) {
        const float *d = dy + (n * s->K + g * s->Kg + k) * PQ;
        for (int64_t i = 0; i < PQ; i += VEC_W)
          acc = vf_add(acc, PQ - i >= VEC_W ? vf_loadu(d + i) : vf_load_part(d + i, (int)(PQ - i)));
      }
      float lane[VEC_W], sum = 0.0f;
      vf_storeu(lane, acc);
      for (int l = 0; l < VEC_W; l++) sum += lane[l];
      db[g * s->Kg + k] = sum;
    }
}

/* ---- weight gradient: the plan picks the path -------------------------- */

static int bw_plan_fn(const vconv_conv_shape *s, const vconv_machine *m, int path,
                      vconv_conv_plan *p) {
  if (path != VCONV_PATH_ANY && path != BW_TILES && path != BW_PIXELS) return 0;
  if (path == BW_PIXELS) return pixels_plan(s, p);
  tiles_plan(s, m, p);
  if (path == BW_TILES) return 1;
  /* Pixels where its lanes do more useful work than tiles' (output channels). */
  const bw_plan t = bw_own(p);
  vconv_conv_plan px;
  if (lane_use(s->Q, VEC_W) > lane_use(s->Kg, t.kb) && pixels_plan(s, &px)) *p = px;
  return 1;
}

static void bw_run(const vconv_conv_shape *s, const vconv_conv_plan *p, const float *x,
                   const float *dy, float *dw, float *db, void *workspace, size_t task) {
  if (p->path == BW_PIXELS)
    pixels_run(s, p, x, dy, dw, db, workspace, task);
  else
    tiles_run(s, p, x, dy, dw, db, workspace, task);
}

#define STR_(x) #x
#define STR(x) STR_(x)

const vconv_conv_bwd_kernel VCONV_TIERED(vconv_bwd_data_direct_kernel) = {
    .kind = VCONV_BWD_DATA,
    .algo = VCONV_ALGO_DIRECT,
    .isa = VEC_ISA,
    .name = "bwd_data_direct/" STR(VCONV_TIER),
    .paths = bd_paths,
    .npaths = 2,
    .plan = bd_plan_fn,
    .pack = bd_pack,
    .run_data = bd_run,
    .run_weights = NULL,
};

const vconv_conv_bwd_kernel VCONV_TIERED(vconv_bwd_weights_direct_kernel) = {
    .kind = VCONV_BWD_WEIGHTS,
    .algo = VCONV_ALGO_DIRECT,
    .isa = VEC_ISA,
    .name = "bwd_weights_direct/" STR(VCONV_TIER),
    .paths = bw_paths,
    .npaths = 2,
    .plan = bw_plan_fn,
    .pack = NULL,
    .run_data = NULL,
    .run_weights = bw_run,
};
