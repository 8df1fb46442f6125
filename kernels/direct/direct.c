/*
 * Direct convolution, written once over the vector layer (kernels/vec) and
 * compiled once per tier.  Three loop nests, chosen per shape (make_plan, a cost
 * model between the first two):
 *
 * blocked  Output channels are the vector dimension.  Weights are packed at
 *          create as [group][K-block][c-block][r][c][s][KB], KB = NV vectors
 *          (zero padded).  The register tile is T output pixels of one row x
 *          NV vectors of output channels; for each input channel and tap the
 *          kernel loads NV weight vectors, broadcasts one input value per
 *          pixel and does T x NV FMAs (direct_ukernels.h).  A task keeps a
 *          buffer row per output row of its rows and runs every row tile chunk
 *          by chunk of input channels, so a chunk's weights stay in L1 for all
 *          of them (a tile over all channels would reread the K-block's
 *          weights from L2 per tile).  NCHW input is read
 *          in place; NHWC input is first transposed into a per-task CHW panel.
 *          Rows go to NCHW through VEC_W x VEC_W transposes, to NHWC
 *          directly.  With one vector (few output channels per group) the
 *          stride-1 tile slides along the row instead: one broadcast feeds S
 *          FMAs, because a broadcast per FMA is slower than the FMAs.
 * spatial  Output width is the vector dimension (stride 1): the tile is KT
 *          output channels x NQ vectors of one output row, one input vector
 *          load shared by KT FMAs.  For layers with few output channels per
 *          group and long rows, where channel vectors would be mostly empty
 *          (LeNet C1: 1 -> 6 channels; depthwise NCHW).
 * depthwise  NHWC with one input and one output channel per group: channels
 *          are the vector dimension, read in place (a tile of DW_T pixels per
 *          vector of channels; pixels whose taps reach the padding one by one).
 *
 * Padding is never computed and never copied.  For each row tile the range of
 * pixels whose tap reads real input is known per kernel column: columns that
 * leave up to EDGE_MAX pixels out at an end stay in the tile's single pass
 * (the kernel skips those FMAs), others get a pass over just their range.  The
 * spatial path masks the lanes of a tap that falls into the padding at the
 * load, so they read nothing.  Tap rows outside the input are skipped for the
 * whole output row.
 *
 * Connection table: input channels that no output channel of a block reads
 * are skipped (the block visits runs of connected channels), unconnected
 * pairs inside a block are packed as zeros (their weights are never read),
 * and the plan counts what each path costs on the table.
 *
 * Work is split into tasks (image, channel block, block of output rows);
 * every output element is written by one task, in an order that does not
 * depend on the split.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel.h"
#include "vec/vec.h"

#if defined(__GNUC__)
#  define DC_INLINE static inline __attribute__((always_inline))
#  define PREFETCH_L2(p) __builtin_prefetch((p), 0, 2)
/* Tile loops unrolled early, before scalar replacement, so the accumulators
 * become registers for the whole kernel instead of a stack array. */
#  define DC_UNROLL _Pragma("GCC unroll 32")
#else
#  define DC_INLINE static inline
#  define PREFETCH_L2(p) ((void)(p))
#  define DC_UNROLL
#endif

/* Register budgets per tier: blocked tiles (T pixels x NV vectors) and spatial
 * tiles (KT channels x NQ vectors) that fit the register file with their
 * weight/input registers.  The instance lists below are the only tiles built. */
#define FT1(X, b) X(1, b)
#define FT2(X, b) FT1(X, b) X(2, b)
#define FT3(X, b) FT2(X, b) X(3, b)
#define FT4(X, b) FT3(X, b) X(4, b)
#define FT5(X, b) FT4(X, b) X(5, b)
#define FT6(X, b) FT5(X, b) X(6, b)
#define FT7(X, b) FT6(X, b) X(7, b)
#define FT8(X, b) FT7(X, b) X(8, b)
#define FT9(X, b) FT8(X, b) X(9, b)
#define FT10(X, b) FT9(X, b) X(10, b)
#define FT11(X, b) FT10(X, b) X(11, b)
#define FT12(X, b) FT11(X, b) X(12, b)
#define FT13(X, b) FT12(X, b) X(13, b)
#define FT14(X, b) FT13(X, b) X(14, b)

#define NVMAX 4 /* blocked: vectors of output channels */
/* vector registers */
#if defined(VCONV_TIER_AVX512) || defined(VCONV_TIER_NEON)
#  define VEC_NREGS 32
#else
#  define VEC_NREGS 16
#endif
/* depthwise NHWC: pixels per tile (a load per FMA: enough chains, few registers) */
#if defined(VCONV_TIER_AVX512) || defined(VCONV_TIER_NEON)
#  define DW_T 12
#elif defined(VCONV_TIER_SCALAR)
#  define DW_T 4
#else
#  define DW_T 8
#endif
/* Instructions per broadcast of a weight from memory: SSE4.1 has no
 * broadcast load (movss + shufps); AVX, AVX-512 and NEON (ld1r) have one. */
#if defined(VCONV_TIER_SSE41)
#  define SP_BCAST 2.0
#else
#  define SP_BCAST 1.0
#endif
#define KTMAX 8 /* spatial: output channels */
#define NQMAX 4 /* spatial: vectors of output pixels */
#define SLIDE_SMAX 5 /* sliding one-vector tiles: kernel widths 3 and 5 */
#define PF_AHEAD_FLOATS (32 * 1024) /* weights of the next block fetched ahead: 128 KB */
/* BK_INSTANCES: every blocked tile; BK_EDGE_INSTANCES: the stride-1 tiles with
 * in-pass edge skips (the vectors per block that large layers pick);
 * BK_STRIDED_INSTANCES: tiles for strides 2 and 4 with constant pixel steps. */
#if defined(VCONV_TIER_AVX512) || defined(VCONV_TIER_NEON)
/* 32 registers: up to 28 accumulators. */
#  define TMAX 14
#  define BK_INSTANCES(X) FT14(X, 1) FT14(X, 2) FT9(X, 3) FT6(X, 4)
#  define BK_EDGE_INSTANCES(X) FT14(X, 2)
#  define BK_STRIDED_INSTANCES(X) FT14(X, 1) FT14(X, 2)
#  define BK_SLIDE_INSTANCES(X) FT14(X, 3) FT14(X, 5)
#  define SP_INSTANCES(X) FT8(X, 1) FT8(X, 2) FT8(X, 3) FT6(X, 4)
#elif defined(VCONV_TIER_AVX2)
/* 16 registers, broadcasts need one: accumulators + NV + 1 <= 16. */
#  define TMAX 12
#  define BK_INSTANCES(X) FT12(X, 1) FT6(X, 2) FT4(X, 3) FT2(X, 4)
#  define BK_EDGE_INSTANCES(X) FT6(X, 2)
#  define BK_STRIDED_INSTANCES(X) FT12(X, 1) FT6(X, 2)
#  define BK_SLIDE_INSTANCES(X) FT11(X, 3) FT9(X, 5)
#  define SP_INSTANCES(X) FT8(X, 1) FT6(X, 2) FT3(X, 3) FT2(X, 4)
#elif defined(VCONV_TIER_SSE41)
/* 16 registers, no FMA: one more for the product. */
#  define TMAX 8
#  define BK_INSTANCES(X) FT8(X, 1) FT5(X, 2) FT3(X, 3) FT2(X, 4)
#  define BK_EDGE_INSTANCES(X) FT5(X, 2)
#  define BK_STRIDED_INSTANCES(X) FT8(X, 1) FT5(X, 2)
#  define BK_SLIDE_INSTANCES(X) FT8(X, 3) FT6(X, 5)
#  define SP_INSTANCES(X) FT8(X, 1) FT5(X, 2) FT3(X, 3) FT2(X, 4)
#else
#  define TMAX 8
#  define BK_INSTANCES(X) FT8(X, 1) FT6(X, 2) FT4(X, 3) FT3(X, 4)
#  define BK_EDGE_INSTANCES(X) FT6(X, 2)
#  define BK_STRIDED_INSTANCES(X) FT8(X, 1) FT6(X, 2)
#  define BK_SLIDE_INSTANCES(X) FT8(X, 3) FT8(X, 5)
#  define SP_INSTANCES(X) FT8(X, 1) FT4(X, 2) FT2(X, 3) FT2(X, 4)
#endif

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* vconv_valid_range without its divisions at stride 1 (per row and tile, they show
 * on layers of a few microseconds). */
static void valid_range(int64_t off, int64_t stride, int64_t extent, int64_t out, int64_t *first,
                        int64_t *last) {
  if (stride != 1) {
    vconv_valid_range(off, stride, extent, out, first, last);
    return;
  }
  int64_t lo = off >= 0 ? 0 : -off, hi = extent - off < 0 ? 0 : extent - off;
  if (hi > out) hi = out;
  if (lo > hi) lo = hi;
  *first = lo;
  *last = hi;
}

static vf activate(const vconv_conv_shape *s, vf x) {
  if (s->act == VCONV_ACTIVATION_NONE) return x;
  return vf_upper(vf_set1(s->act_max), vf_lower(vf_set1(s->act_min), x));
}

#include "direct_ukernels.h"

/* One kernel pass over a row tile: pixels [a, b) with the column runs cols[col0 ..]. */
typedef struct bk_pass {
  int kind, a, b, col0, ncols, main;
} bk_pass;

/* ------------------------------------------------------------------------ */
/* Plan: computed once at create (direct_plan), carried in vconv_conv_plan.   */

enum { PATH_BLOCKED = 0, PATH_SPATIAL = 1, PATH_DEPTHWISE = 2 };
static const char *const path_names[] = {"blocked", "spatial", "depthwise"};

typedef struct plan {
  int path;
  int nv;           /* blocked: vectors per K-block */
  int tmax;         /* blocked: pixels per row tile */
  int64_t kb;       /* blocked: channels per K-block, nv * VEC_W */
  int kt, nq;       /* spatial: channels per tile, vectors per row chunk */
  int64_t nblk;     /* channel blocks per group (K-blocks or spatial tiles) */
  int64_t per_task; /* channel blocks per task: 1, or a whole group (NHWC shares the panel) */
  int64_t units;    /* channel-block units per image */
  int64_t rows, rblocks; /* output rows per task, row blocks */
  int64_t panel_rows;    /* NHWC: input rows of a task's panel */
  int block_major;       /* task order: channel block outer (else image outer) */
  int chunk;             /* blocked: CB-channel blocks per pass over the task's tiles */
} plan;

/* Input channels of group g that any of output channels [k0, k1) of the group reads. */
static int64_t connected_union(const vconv_conv_shape *s, int64_t g, int64_t k0, int64_t k1) {
  if (!s->conn) return s->Cg;
  int64_t u = 0;
  for (int64_t c = 0; c < s->Cg; c++) {
    int any = 0;
    for (int64_t k = k0; k < k1 && !any; k++) any = s->conn[(g * s->Kg + k) * s->Cg + c] != 0;
    u += any;
  }
  return u;
}

static int bk_tmax(int nv) {
  int t = 0;
  for (int i = 1; i <= TMAX; i++)
    if (bk_tab[BK_ANY][nv][i]) t = i;
  return t;
}

static int sp_ktmax(int nq) {
  int k = 0;
  for (int i = 1; i <= KTMAX; i++)
    if (sp_tab[nq][i]) k = i;
  return k;
}

/* Blocked: the CB-channel blocks whose weights (every tap, one K-block of kb
 * channels) and input rows (the R rows an output row reads) fit L1 together,
 * at least one.  Tap rows are not split: AlexNet conv1 (3 channels, 11 rows
 * of 11 taps, 53 KB) ran 5% slower in chunks of 4 rows that fit than whole
 * (Zen 3), its tiles then three calls each. */
static int chunk_blocks(const vconv_conv_shape *s, int64_t kb) {
  const double l1 = 24.0 * 1024; /* of 32 KB and up, the rest for the tiles and stack */
  const double per_block = (double)CB * (double)(s->R * (s->S * kb + s->W)) * sizeof(float);
  return (int)max64(1, min64((int64_t)(l1 / per_block), cdiv(s->Cg, CB)));
}

/*
 * Cycles per (input channel, tap, output row), summed over the channel blocks:
 * the largest of the FMA issue time (2 per cycle), the FMA latency (4 cycles
 * per accumulator chain) and the loads (broadcasts and weight or input
 * vectors, a little over 2 per cycle), plus the spatial path's lane masks.
 */
static double tile_cycles(double accs, double loads) {
  double c = accs / 2.0 > 4.0 ? accs / 2.0 : 4.0;
  return loads / 2.1 > c ? loads / 2.1 : c;
}

static double blocked_cost(const vconv_conv_shape *s, int nv, int64_t *nblk) {
  const int64_t nvec = cdiv(s->Kg, VEC_W), kb = (int64_t)nv * VEC_W;
  const int64_t n = cdiv(nvec, nv), tmax = bk_tmax(nv), tiles = cdiv(s->Q, tmax);
  const double t = (double)s->Q / (double)tiles;
  double c = 0;
  for (int64_t g = 0; g < (s->conn ? s->G : 1); g++)
    for (int64_t b = 0; b < n; b++)
      c += (double)connected_union(s, g, b * kb, min64(s->Kg, (b + 1) * kb));
  *nblk = n;
  /* + per tile: a call per chunk of channels (the accumulators in and out)
   * and the tile's store (a transpose per vector for NCHW), spread over the
   * channels and taps. */
  const double calls = (double)cdiv(s->Cg, CB * (int64_t)chunk_blocks(s, kb));
  const double per_tile = 40.0 * calls + 20.0 * nv * (double)cdiv((int64_t)(t + 0.5), VEC_W);
  return c / (double)s->Cg * (double)tiles *
         (tile_cycles(t * nv, t + nv) + per_tile / (double)(s->Cg * s->R * s->S));
}

static double spatial_cost(const vconv_conv_shape *s, int kt, int nq, int64_t *nblk) {
  const int64_t n = cdiv(s->Kg, kt), chunks = cdiv(cdiv(s->Q, VEC_W), nq);
  double c = 0;
  for (int64_t g = 0; g < (s->conn ? s->G : 1); g++)
    for (int64_t b = 0; b < n; b++)
      c += (double)connected_union(s, g, b * kt, min64(s->Kg, (b + 1) * kt));
  *nblk = n;
  return c / (double)s->Cg * (double)chunks *
         (tile_cycles((double)kt * nq, SP_BCAST * kt + nq) + 0.5 * nq);
}

static int depthwise_nhwc(const vconv_conv_shape *s) {
  return s->layout == VCONV_LAYOUT_NHWC && s->Cg == 1 && s->Kg == 1 && s->G > 1;
}

/* *cycles: the chosen path's cycle model per input channel, tap and output row
 * (0 for depthwise, which has none).
 * force: VCONV_PATH_ANY the cheapest path, else that path (tests and
 * benchmarks run every path a shape admits); 0 where it does not apply. */
static int make_plan(const vconv_conv_shape *s, plan *pl, int force, double *cycles) {
  memset(pl, 0, sizeof *pl);
  /* Blocked: the vectors per K-block with the least estimated time. */
  double best = 0;
  for (int nv = 1; nv <= NVMAX; nv++) {
    int64_t n;
    if (nv > 1 && (nv - 1) * VEC_W >= s->Kg) break; /* a whole empty vector */
    const double c = blocked_cost(s, nv, &n);
    if (nv == 1 || c < best) {
      best = c;
      pl->nv = nv;
      pl->nblk = n;
    }
  }
  pl->path = PATH_BLOCKED;
  *cycles = best;
  pl->kb = (int64_t)pl->nv * VEC_W;
  pl->tmax = bk_tmax(pl->nv);
  if (s->sw == 1) {
    /* Row chunks of nq vectors, each nq costed: wider chunks leave fewer
     * registers for channels, and few channels per input load starve the
     * FMAs (LeNet C1 on AVX2: 2 channels x 4 vectors, one chunk per row,
     * ran 2.6x slower than 6 channels x 2 vectors, two chunks).  A chunk's
     * kt must also have a tile for the shorter last chunk of the row. */
    const int64_t nvec = cdiv(s->Q, VEC_W);
    int nq = 0, kt = 0, ktcap = KTMAX;
    int64_t n = 0;
    double c = 0;
    for (int q = 1; q <= NQMAX; q++) {
      ktcap = (int)min64(ktcap, sp_ktmax(q));
      if (ktcap == 0) break;
      const int64_t chunks = cdiv(nvec, q);
      if (q > 1 && cdiv(nvec, chunks) < q) continue; /* the same chunks as a narrower q */
      int k = (int)min64(ktcap, s->Kg);
      k = (int)cdiv(s->Kg, cdiv(s->Kg, k)); /* balanced tiles */
      int64_t qn;
      const double qc = spatial_cost(s, k, q, &qn);
      if (nq == 0 || qc <= c) { /* ties: the wider chunk, fewer calls */
        nq = q;
        kt = k;
        n = qn;
        c = qc;
      }
    }
    if (nq > 0 && (force == PATH_SPATIAL || (force == VCONV_PATH_ANY && c < best))) {
      pl->path = PATH_SPATIAL;
      *cycles = c;
      pl->kt = kt;
      pl->nq = nq;
      pl->nblk = n;
    }
  }
  /* Depthwise NHWC: channels are contiguous in the caller's memory and are the
   * vector dimension, no transposed panel (the other paths would transpose
   * every channel's plane apart). */
  if (depthwise_nhwc(s) && (force == VCONV_PATH_ANY || force == PATH_DEPTHWISE)) {
    pl->path = PATH_DEPTHWISE;
    *cycles = 0;
    pl->nblk = 1;
  }
  if (force != VCONV_PATH_ANY && pl->path != force) return 0;
  /* Tasks: NHWC shares one transposed panel between the blocks of a group. */
  pl->per_task = s->layout == VCONV_LAYOUT_NHWC ? pl->nblk : 1;
  pl->units = pl->path == PATH_DEPTHWISE ? 1 : s->G * pl->nblk / pl->per_task;
  const int64_t ch = pl->path == PATH_BLOCKED ? pl->kb : pl->path == PATH_SPATIAL ? pl->kt : s->G;
  const double row_flops = 2.0 * (double)s->Q * (double)(s->Cg * s->R * s->S) *
                           (double)(ch * pl->per_task);
  /* About 2 MFLOP per task: small enough to spread a batch-1 layer over cores,
   * large enough that the per-task set-up does not show. */
  const double target = 2.0e6;
  pl->rows = row_flops >= target ? 1 : min64(s->P, (int64_t)(target / row_flops) + 1);
  pl->rblocks = cdiv(s->P, pl->rows);
  pl->panel_rows = min64(s->H, (pl->rows - 1) * s->sh + (s->R - 1) * s->dh + 1);
  pl->block_major = s->K * s->Cg * s->R * s->S > s->C * s->H * s->W + s->K * s->P * s->Q;
  pl->chunk = chunk_blocks(s, pl->kb);
  return 1;
}

/* ------------------------------------------------------------------------ */
/* Weights */

static int64_t weight_floats(const vconv_conv_shape *s, const plan *pl) {
  if (pl->path == PATH_BLOCKED) return s->G * pl->nblk * pl->kb * s->Cg * s->R * s->S;
  if (pl->path == PATH_DEPTHWISE) return s->R * s->S * cdiv(s->G, VEC_W) * VEC_W;
  return s->K * s->Cg * s->R * s->S;
}


static int connected(const vconv_conv_shape *s, int64_t k, int64_t c) {
  return !s->conn || s->conn[k * s->Cg + c];
}

static void pack_weights(const vconv_conv_shape *s, const plan *plp, const float *w, float *packed) {
  const plan pl = *plp;
  const int64_t RS = s->R * s->S, Cg = s->Cg;
  if (pl.path == PATH_BLOCKED) {
    /* [g][K-block][c-block][r][c][s][kb]: a pass reads its weights in order. */
    const int64_t kb = pl.kb;
    memset(packed, 0, (size_t)weight_floats(s, &pl) * sizeof(float));
    for (int64_t g = 0; g < s->G; g++)
      for (int64_t kg = 0; kg < s->Kg; kg++) {
        const int64_t k = g * s->Kg + kg;
        float *blk = packed + (g * pl.nblk + kg / kb) * kb * Cg * RS + kg % kb;
        for (int64_t c = 0; c < Cg; c++) {
          if (!connected(s, k, c)) continue; /* stays 0: its weight is never read */
          const int64_t cb = c / CB, cbn = min64(CB, Cg - cb * CB);
          float *wc = blk + (cb * CB * RS + (c - cb * CB) * s->S) * kb;
          for (int64_t r = 0; r < s->R; r++)
            for (int64_t t = 0; t < s->S; t++)
              wc[(r * cbn * s->S + t) * kb] = w[((k * Cg + c) * s->R + r) * s->S + t];
        }
      }
  } else if (pl.path == PATH_DEPTHWISE) {
    /* [r][s][channel, padded to VEC_W] */
    const int64_t gp = cdiv(s->G, VEC_W) * VEC_W;
    memset(packed, 0, (size_t)weight_floats(s, &pl) * sizeof(float));
    for (int64_t g = 0; g < s->G; g++)
      for (int64_t t = 0; t < RS; t++) packed[t * gp + g] = w[g * RS + t];
  } else {
    /* [g][tile][c][r][s][kt'], kt' the tile's own width (the last may be narrower) */
    for (int64_t g = 0; g < s->G; g++)
      for (int64_t k0 = 0; k0 < s->Kg; k0 += pl.kt) {
        const int64_t kt = min64(pl.kt, s->Kg - k0);
        float *blk = packed + (g * s->Kg + k0) * Cg * RS;
        for (int64_t j = 0; j < kt; j++) {
          const int64_t k = g * s->Kg + k0 + j;
          for (int64_t c = 0; c < Cg; c++)
            for (int64_t t = 0; t < RS; t++)
              blk[(c * RS + t) * kt + j] = connected(s, k, c) ? w[(k * Cg + c) * RS + t] : 0.0f;
        }
      }
  }
}

_Static_assert(sizeof(plan) <= sizeof(((vconv_conv_plan *)0)->own), "direct plan too large");

static plan own_plan(const vconv_conv_plan *p) {
  plan pl;
  memcpy(&pl, &p->own, sizeof pl);
  return pl;
}

static void direct_pack(const vconv_conv_shape *s, const vconv_conv_plan *p, const float *w,
                        float *packed) {
  const plan pl = own_plan(p);
  pack_weights(s, &pl, w, packed);
}

/* ------------------------------------------------------------------------ */
/* Workspace and tasks */

static size_t round64(size_t b) { return (b + 63) / 64 * 64; }

/* Per-worker scratch: [connection runs][tile or chunk buffer][NHWC panel][column runs]. */
typedef struct scratch_layout {
  size_t runs, tile, panel, cols, total;
} scratch_layout;

static void scratch_of(const vconv_conv_shape *s, const plan *pl, scratch_layout *L) {
  L->runs = s->conn && pl->path != PATH_DEPTHWISE ? round64((size_t)(s->Cg + 1) * 2 * sizeof(int64_t)) : 0;
  size_t tile = 0;
  if (pl->path == PATH_BLOCKED) /* a buffer row per output row of the task, its pixels
                                  * rounded up for the NCHW store's transposes */
    tile = (size_t)(pl->rows * cdiv(s->Q, VEC_W) * VEC_W * pl->kb) * sizeof(float);
  else if (s->layout == VCONV_LAYOUT_NHWC)
    tile = (size_t)pl->kt * (size_t)pl->nq * VEC_W * sizeof(float);
  L->tile = round64(tile);
  L->panel = s->layout == VCONV_LAYOUT_NHWC && pl->path != PATH_DEPTHWISE
                 ? round64((size_t)(s->Cg * pl->panel_rows * s->W) * sizeof(float))
                 : 0;
  /* Blocked: per row tile, its passes and their column runs (the same for every row). */
  const size_t tiles = (size_t)cdiv(s->Q, pl->tmax);
  L->cols = pl->path == PATH_BLOCKED
                ? round64(tiles * ((size_t)(s->S + 1) * sizeof(bk_pass) + (size_t)s->S * sizeof(bk_cols)) +
                          (tiles + 1 + 2 * (size_t)s->S) * sizeof(int64_t))
                : 0;
  L->total = L->runs + L->tile + L->panel + L->cols;
}

/* Runs [c0, c1) of input channels of group g read by output channels [k0, k1)
 * of the group; returns the count.  Dense: one run of all channels. */
static int64_t channel_runs(const vconv_conv_shape *s, int64_t g, int64_t k0, int64_t k1,
                            int64_t *runs) {
  if (!s->conn) {
    runs[0] = 0;
    runs[1] = s->Cg;
    return 1;
  }
  int64_t n = 0;
  for (int64_t c = 0; c < s->Cg; c++) {
    int any = 0;
    for (int64_t k = k0; k < k1 && !any; k++) any = s->conn[(g * s->Kg + k) * s->Cg + c] != 0;
    if (!any) continue;
    if (n && runs[2 * n - 1] == c) {
      runs[2 * n - 1] = c + 1;
    } else {
      runs[2 * n] = c;
      runs[2 * n + 1] = c + 1;
      n++;
    }
  }
  return n;
}

/* Input rows [ih_lo, ih_lo + rows) of group g of image n, NHWC -> [c][row][w]. */
static void fill_panel(const vconv_conv_shape *s, const float *in, int64_t n, int64_t g,
                       int64_t ih_lo, int64_t rows, float *panel) {
  const int64_t W = s->W, C = s->C, Cg = s->Cg, plane = rows * W;
  for (int64_t i = 0; i < rows; i++) {
    const float *src = in + ((n * s->H + ih_lo + i) * W) * C + g * Cg;
    float *dst = panel + i * W;
    for (int64_t w = 0; w < W; w++, src += C)
      for (int64_t c = 0; c < Cg; c++) dst[c * plane + w] = src[c];
  }
}

/* Where a task's input comes from: the caller's NCHW planes or the NHWC panel. */
typedef struct in_view {
  const float *base; /* channel 0 of the group, input row ih_lo */
  int64_t ih_lo;
  ptrdiff_t plane;   /* floats between channels */
} in_view;

/* Consecutive tasks share what is larger: the tasks of one block of weights
 * (every image) run together when the weights outweigh an image's input and
 * output (AlexNet conv2-5), the tasks of one image when its activations do
 * (conv1), so a worker keeps the larger stream in L2 and rereads the smaller. */
static void task_split(const vconv_conv_shape *s, const plan *pl, size_t task, int64_t *n,
                       int64_t *unit, int64_t *rb) {
  *rb = (int64_t)task % pl->rblocks;
  if (pl->block_major) {
    *n = (int64_t)task / pl->rblocks % s->N;
    *unit = (int64_t)task / pl->rblocks / s->N;
  } else {
    *unit = (int64_t)task / pl->rblocks % pl->units;
    *n = (int64_t)task / pl->rblocks / pl->units;
  }
}

static void task_rows(const vconv_conv_shape *s, const plan *pl, int64_t rb, int64_t *p0,
                      int64_t *p1, int64_t *ih_lo, int64_t *ih_n) {
  *p0 = rb * pl->rows;
  *p1 = min64(s->P, *p0 + pl->rows);
  const int64_t lo = max64(0, *p0 * s->sh - s->pt);
  const int64_t hi = min64(s->H, (*p1 - 1) * s->sh - s->pt + (s->R - 1) * s->dh + 1);
  *ih_lo = lo;
  *ih_n = hi > lo ? hi - lo : 0;
}

/* ------------------------------------------------------------------------ */
/* Blocked path */

/* Tile [T pixels][kb] -> NCHW through VEC_W x VEC_W transposes. */
static void bk_store_nchw(const vconv_conv_shape *s, const float *acc, int64_t T, int64_t kb,
                          int64_t kvalid, float *out, ptrdiff_t plane) {
  if (T * 4 <= VEC_W) { /* a few pixels: a transpose would be mostly empty */
    for (int64_t q = 0; q < T; q++)
      for (int64_t k = 0; k < kvalid; k++) {
        float x = acc[q * kb + k];
        if (s->act != VCONV_ACTIVATION_NONE) {
          x = x < s->act_min ? s->act_min : x; /* NaN stays NaN */
          x = x > s->act_max ? s->act_max : x;
        }
        out[k * plane + q] = x;
      }
    return;
  }
  const int act = s->act != VCONV_ACTIVATION_NONE;
  const vf lo = vf_set1(s->act_min), hi = vf_set1(s->act_max);
  for (int64_t v = 0; v * VEC_W < kvalid; v++) {
    const int nk = (int)min64(VEC_W, kvalid - v * VEC_W);
    for (int64_t q0 = 0; q0 < T; q0 += VEC_W) {
      const int m = (int)min64(T - q0, VEC_W);
      /* Pixels past T are the buffer row's padding (finite: set to the bias
       * with the row): their lanes are never stored. */
      vf r[VEC_W];
      const float *src = acc + q0 * kb + v * VEC_W;
      for (int i = 0; i < VEC_W; i++) r[i] = vf_loadu(src + i * kb);
      vf_transpose_block(r);
      if (act)
        for (int j = 0; j < VEC_W; j++) r[j] = vf_upper(hi, vf_lower(lo, r[j]));
      float *o = out + v * VEC_W * plane + q0;
      /* Constant trip counts on the common paths keep r[] in registers. */
      if (m == VEC_W && nk == VEC_W) {
        for (int j = 0; j < VEC_W; j++) vf_storeu(o + j * plane, r[j]);
      } else if (nk == VEC_W) {
        for (int j = 0; j < VEC_W; j++) vf_store_part(o + j * plane, r[j], m);
      } else {
        for (int j = 0; j < nk; j++) vf_store_part(o + j * plane, r[j], m);
      }
    }
  }
}

/* Tile [T pixels][kb] -> NHWC, pixels K floats apart. */
static void bk_store_nhwc(const vconv_conv_shape *s, const float *acc, int64_t T, int64_t kb,
                          int64_t kvalid, float *out) {
  for (int64_t q = 0; q < T; q++)
    for (int64_t k = 0; k < kvalid; k += VEC_W) {
      const vf x = activate(s, vf_loadu(acc + q * kb + k));
      if (kvalid - k >= VEC_W)
        vf_storeu(out + q * s->K + k, x);
      else
        vf_store_part(out + q * s->K + k, x, (int)(kvalid - k));
    }
}

/* The tile kind for stride sw without edge skips: a constant pixel step where built. */
static int plain_kind(const plan *pl, int64_t sw, int T) {
  const int k = sw == 1 ? BK_S1 : sw == 2 ? BK_S2 : sw == 4 ? BK_S4 : BK_ANY;
  return bk_tab[k][pl->nv][T] ? k : BK_ANY;
}

/*
 * The passes of every row tile.  Columns whose pixels all read real input join
 * the tile's main pass, and so do columns that leave at most EDGE_MAX pixels
 * out at either end where the edge-skipping tile exists; every other run of
 * columns with the same range gets a pass of its own over just that range.
 * Returns the tile count; tile ti has passes [first[ti], first[ti + 1]).
 */
static int64_t tile_programs(const vconv_conv_shape *s, const plan *pl, bk_pass *passes,
                             bk_cols *cols, int64_t *first, int64_t *range) {
  const int64_t tiles = cdiv(s->Q, pl->tmax);
  int64_t np = 0, nc = 0;
  for (int64_t t = 0; t < s->S; t++)
    valid_range(t * s->dw - s->pl, s->sw, s->W, s->Q, &range[2 * t], &range[2 * t + 1]);
  for (int64_t ti = 0; ti < tiles; ti++) {
    const int64_t q0 = ti * s->Q / tiles;
    const int T = (int)((ti + 1) * s->Q / tiles - q0);
    const int edges = s->sw == 1 && bk_tab[BK_EDGES][pl->nv][T];
    first[ti] = np;
    /* Twice over the columns: the main pass's runs first, so they are contiguous. */
    for (int sep = 0; sep < 2; sep++) {
      const int64_t col0 = nc;
      for (int64_t t = 0; t < s->S;) {
        int64_t t2 = t + 1;
        const int64_t lo = range[2 * t], hi = range[2 * t + 1];
        const int64_t a = max64(lo, q0) - q0, b = max64(min64(hi, q0 + T) - q0, a);
        for (; t2 < s->S; t2++) {
          const int64_t lo2 = range[2 * t2], hi2 = range[2 * t2 + 1];
          if (max64(lo2, q0) - q0 != a || max64(min64(hi2, q0 + T) - q0, a) != b) break;
        }
        const int in_main =
            (a == 0 && b == T) || (edges && a <= EDGE_MAX && T - b <= EDGE_MAX);
        if (b > a && in_main && !sep) {
          cols[nc++] = (bk_cols){t, t2 - t, (int)a, (int)(T - b)};
        } else if (b > a && !in_main && sep) {
          passes[np++] = (bk_pass){plain_kind(pl, s->sw, (int)(b - a)), (int)a, (int)b, (int)nc, 1, 0};
          cols[nc++] = (bk_cols){t, t2 - t, 0, 0};
        }
        t = t2;
      }
      if (!sep && nc > col0) {
        /* One vector, stride and dilation 1, all columns over the whole tile: the
         * sliding tile. */
        const int slide = pl->nv == 1 && s->sw == 1 && s->dw == 1 && s->S <= SLIDE_SMAX &&
                          nc - col0 == 1 && cols[col0].n == s->S && cols[col0].skip_l == 0 &&
                          cols[col0].skip_r == 0 && bk_slide_tab[s->S][T];
        passes[np++] = (bk_pass){slide ? BK_SLIDE : edges ? BK_EDGES : plain_kind(pl, s->sw, T), 0,
                                 T, (int)col0, (int)(nc - col0), 1};
      }
    }
  }
  first[tiles] = np;
  return tiles;
}

/* One kernel call per run of connected input channels: tile pixels [a, b) over the
 * given column runs and tap rows [r0, r1). */
static void blocked_pass(const vconv_conv_shape *s, const plan *pl, const in_view *iv,
                         const float *wblk, const int64_t *runs, int64_t nruns, float *tile,
                         int kind, int64_t q0, int64_t a, int64_t b, int64_t r0, int64_t r1,
                         int64_t ih0, const bk_cols *cols, int ncols, const float *pf,
                         int64_t pf_lines, int64_t w0, int64_t w1) {
  const bk_fn fn = kind == BK_SLIDE ? bk_slide_tab[s->S][b - a] : bk_tab[kind][pl->nv][b - a];
  for (int64_t ri = 0; ri < nruns; ri++) {
    bk_args ar;
    ar.c0 = max64(runs[2 * ri], w0);
    ar.c1 = min64(runs[2 * ri + 1], w1);
    if (ar.c0 >= ar.c1) continue;
    ar.in = iv->base + ar.c0 * iv->plane + (ih0 - iv->ih_lo) * s->W + (q0 + a) * s->sw - s->pl;
    ar.w = wblk;
    ar.acc = tile + a * pl->kb;
    ar.Cg = s->Cg;
    ar.R = s->R;
    ar.S = s->S;
    ar.r0 = r0;
    ar.nr = r1 - r0;
    ar.cols = cols;
    ar.ncols = ncols;
    ar.in_r = s->dh * s->W;
    ar.in_s = s->dw;
    ar.in_c = iv->plane;
    ar.in_q = s->sw;
    ar.pf = pf;
    ar.pf_lines = pf_lines;
    pf = NULL; /* once per pass */
    pf_lines = 0;
    fn(&ar);
  }
}

static void blocked_task(const vconv_conv_shape *s, const plan *pl, const float *packed,
                         const float *bias, const float *in, float *out, unsigned char *ws,
                         size_t task) {
  scratch_layout L;
  scratch_of(s, pl, &L);
  int64_t dense_runs[2], *runs = s->conn ? (int64_t *)(void *)ws : dense_runs;
  float *rows_buf = (float *)(void *)(ws + L.runs);
  float *panel = (float *)(void *)(ws + L.runs + L.tile);
  const int64_t ntiles = cdiv(s->Q, pl->tmax);
  bk_pass *passes = (bk_pass *)(void *)(ws + L.runs + L.tile + L.panel);
  bk_cols *cols = (bk_cols *)(void *)(passes + ntiles * (s->S + 1));
  int64_t *first = (int64_t *)(void *)(cols + ntiles * s->S);
  int64_t *range = first + ntiles + 1;

  int64_t n, unit, rb;
  task_split(s, pl, task, &n, &unit, &rb);
  int64_t p0, p1, ih_lo, ih_n;
  task_rows(s, pl, rb, &p0, &p1, &ih_lo, &ih_n);
  const int64_t kb = pl->kb, RS = s->R * s->S;
  const int64_t tiles = tile_programs(s, pl, passes, cols, first, range);
  /* A buffer row [pixel][kb] per output row of the task, its pixels rounded up
   * to whole vectors for the NCHW store's transposes: the row is stored at
   * once, with partial vectors only at its end (AMD's masked stores are slow,
   * and tiles of 4-6 pixels would all be partial). */
  const int64_t row_floats = cdiv(s->Q, VEC_W) * VEC_W * kb;
  const int64_t nchunks = cdiv(s->Cg, (int64_t)pl->chunk * CB);
  int64_t panel_g = -1;

  for (int64_t bi = unit * pl->per_task; bi < (unit + 1) * pl->per_task; bi++) {
    const int64_t g = bi / pl->nblk, k0 = bi % pl->nblk * kb;
    const int64_t kvalid = min64(kb, s->Kg - k0);
    in_view iv;
    if (s->layout == VCONV_LAYOUT_NHWC) {
      if (panel_g != g) {
        fill_panel(s, in, n, g, ih_lo, ih_n, panel);
        panel_g = g;
      }
      iv.base = panel;
      iv.ih_lo = ih_lo;
      iv.plane = ih_n * s->W;
    } else {
      iv.base = in + (n * s->C + g * s->Cg) * s->H * s->W;
      iv.ih_lo = 0;
      iv.plane = s->H * s->W;
    }
    vf binit[NVMAX];
    for (int64_t i = 0; i < kb; i += VEC_W) {
      const int64_t m = bias ? kvalid - i : 0;
      const float *b = bias ? bias + g * s->Kg + k0 + i : NULL;
      binit[i / VEC_W] = m <= 0 ? vf_zero() : m >= VEC_W ? vf_loadu(b) : vf_load_part(b, (int)m);
    }
    /* Every buffer row starts from the bias, its padding pixels included (finite). */
    for (int64_t i = 0; i < (p1 - p0) * row_floats; i += kb)
      for (int64_t v = 0; v < kb / VEC_W; v++) vf_storeu(rows_buf + i + v * VEC_W, binit[v]);
    const float *wblk = packed + bi * kb * s->Cg * RS;
    const int64_t nruns = channel_runs(s, g, k0, k0 + kvalid, runs);

    /* The next block's weights come from L3 or memory: the kernels fetch this
     * task's share of their start into L2 as they go, so the next block starts
     * warm.  Only the start: a whole block more would push this block's weights
     * and input out of L2 (AlexNet conv4: 442 KB per block). */
    const int64_t wfl = kb * s->Cg * RS, pf_floats = min64(wfl, PF_AHEAD_FLOATS);
    const int64_t span = pl->block_major ? s->N * pl->rblocks : pl->rblocks;
    const int64_t calls = pl->rows * tiles * nchunks;
    const int64_t pf_share = cdiv(cdiv(pf_floats, 16), span * calls);
    const float *pf = packed + (bi + 1 < s->G * pl->nblk ? bi + 1 : 0) * wfl +
                      ((pl->block_major ? n * pl->rblocks : 0) + rb) * calls * pf_share * 16;
    /* Channel chunks outermost: a chunk's weights stay in L1 while every row
     * tile of the task's rows uses them, where
     * a tile over all channels would stream the block's weights from L2 once
     * per tile (AlexNet conv3: 147 KB per 4-5 pixels). */
    for (int64_t ch = 0; ch < nchunks; ch++) {
      const int64_t w0 = ch * pl->chunk * CB, w1 = min64(s->Cg, w0 + pl->chunk * CB);
      for (int64_t p = p0; p < p1; p++) {
        int64_t r0, r1;
        valid_range(p * s->sh - s->pt, s->dh, s->H, s->R, &r0, &r1);
        if (r1 <= r0) continue;
        const int64_t ih0 = p * s->sh - s->pt + r0 * s->dh;
        for (int64_t ti = 0; ti < tiles; ti++) {
          const int64_t q0 = ti * s->Q / tiles;
          float *tile = rows_buf + (p - p0) * row_floats + q0 * kb;
          for (int64_t i = first[ti]; i < first[ti + 1]; i++) {
            const bk_pass *ps = &passes[i];
            blocked_pass(s, pl, &iv, wblk, runs, nruns, tile, ps->kind, q0, ps->a, ps->b, r0, r1,
                         ih0, cols + ps->col0, ps->ncols, ps->main ? pf : NULL,
                         ps->main ? pf_share : 0, w0, w1);
            if (ps->main) pf += pf_share * 16;
          }
        }
      }
    }
    for (int64_t p = p0; p < p1; p++) {
      const float *row = rows_buf + (p - p0) * row_floats;
      if (s->layout == VCONV_LAYOUT_NCHW && s->P * s->Q > 1)
        bk_store_nchw(s, row, s->Q, kb, kvalid,
                      out + ((n * s->K + g * s->Kg + k0) * s->P + p) * s->Q, s->P * s->Q);
      else if (s->layout == VCONV_LAYOUT_NCHW) /* 1x1 output: NCHW is NHWC */
        bk_store_nhwc(s, row, s->Q, kb, kvalid, out + n * s->K + g * s->Kg + k0);
      else
        bk_store_nhwc(s, row, s->Q, kb, kvalid, out + ((n * s->P + p) * s->Q) * s->K + g * s->Kg + k0);
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Spatial path */

static void spatial_task(const vconv_conv_shape *s, const plan *pl, const float *packed,
                         const float *bias, const float *in, float *out, unsigned char *ws,
                         size_t task) {
  scratch_layout L;
  scratch_of(s, pl, &L);
  int64_t dense_runs[2], *runs = s->conn ? (int64_t *)(void *)ws : dense_runs;
  /* Without scratch ws is NULL, and NULL + 0 is undefined in C. */
  float *chunk = L.tile ? (float *)(void *)(ws + L.runs) : NULL;
  float *panel = L.panel ? (float *)(void *)(ws + L.runs + L.tile) : NULL;

  int64_t n, unit, rb;
  task_split(s, pl, task, &n, &unit, &rb);
  int64_t p0, p1, ih_lo, ih_n;
  task_rows(s, pl, rb, &p0, &p1, &ih_lo, &ih_n);
  const int64_t RS = s->R * s->S, cw = (int64_t)pl->nq * VEC_W, chunks = cdiv(s->Q, cw);
  const int nhwc = s->layout == VCONV_LAYOUT_NHWC;
  int64_t panel_g = -1;

  for (int64_t bi = unit * pl->per_task; bi < (unit + 1) * pl->per_task; bi++) {
    const int64_t g = bi / pl->nblk, k0 = bi % pl->nblk * pl->kt;
    const int kt = (int)min64(pl->kt, s->Kg - k0);
    in_view iv;
    if (nhwc) {
      if (panel_g != g) {
        fill_panel(s, in, n, g, ih_lo, ih_n, panel);
        panel_g = g;
      }
      iv.base = panel;
      iv.ih_lo = ih_lo;
      iv.plane = ih_n * s->W;
    } else {
      iv.base = in + (n * s->C + g * s->Cg) * s->H * s->W;
      iv.ih_lo = 0;
      iv.plane = s->H * s->W;
    }
    float binit[KTMAX];
    for (int j = 0; j < kt; j++) binit[j] = bias ? bias[g * s->Kg + k0 + j] : 0.0f;
    const float *wblk = packed + (g * s->Kg + k0) * s->Cg * RS;
    const int64_t nruns = channel_runs(s, g, k0, k0 + kt, runs);

    for (int64_t p = p0; p < p1; p++) {
      int64_t r0, r1;
      valid_range(p * s->sh - s->pt, s->dh, s->H, s->R, &r0, &r1);
      const int64_t ih0 = p * s->sh - s->pt + r0 * s->dh;
      for (int64_t ci = 0; ci < chunks; ci++) {
        const int64_t q0 = ci * cw, qn = min64(cw, s->Q - q0);
        const int nq = (int)cdiv(qn, VEC_W);
        sp_args ar;
        ar.s = s;
        ar.bias = binit;
        ar.nr = r1 > r0 ? r1 - r0 : 0;
        ar.S = s->S;
        ar.qn = qn;
        ar.iw0 = q0 - s->pl;
        ar.W = s->W;
        ar.dw = s->dw;
        ar.in_r = s->dh * s->W;
        ar.in_c = iv.plane;
        ar.w_c = RS * kt;
        ar.w_r = s->S * kt;
        if (nhwc) {
          ar.out = chunk;
          ar.out_k = cw;
        } else {
          ar.out = out + ((n * s->K + g * s->Kg + k0) * s->P + p) * s->Q + q0;
          ar.out_k = s->P * s->Q;
        }
        const sp_fn fn = sp_tab[nq][kt];
        for (int64_t ri = 0; ri < nruns || ri == 0; ri++) {
          const int64_t c0 = nruns ? runs[2 * ri] : 0;
          ar.in = iv.base + c0 * iv.plane + (ih0 - iv.ih_lo) * s->W;
          ar.w = wblk + (c0 * RS + r0 * s->S) * kt;
          ar.nc = nruns ? runs[2 * ri + 1] - c0 : 0;
          ar.first = ri == 0;
          ar.last = ri + 1 >= nruns;
          fn(&ar);
        }
        if (nhwc) {
          float *o = out + ((n * s->P + p) * s->Q + q0) * s->K + g * s->Kg + k0;
          for (int64_t q = 0; q < qn; q++)
            for (int j = 0; j < kt; j++) o[q * s->K + j] = chunk[j * cw + q];
        }
      }
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Depthwise NHWC path */

/* One output pixel, channels [g0, g0 + m): every tap checked against the input. */
static void dw_pixel(const vconv_conv_shape *s, const float *w, const float *bias,
                     const float *in_n, float *opix, int64_t p, int64_t q, int64_t g0, int m,
                     int64_t r0, int64_t r1) {
  const int64_t gp = cdiv(s->G, VEC_W) * VEC_W;
  vf acc = bias ? (m == VEC_W ? vf_loadu(bias + g0) : vf_load_part(bias + g0, m)) : vf_zero();
  for (int64_t r = r0; r < r1; r++) {
    const int64_t ih = p * s->sh - s->pt + r * s->dh;
    for (int64_t t = 0; t < s->S; t++) {
      const int64_t iw = q * s->sw - s->pl + t * s->dw;
      if (iw < 0 || iw >= s->W) continue;
      const float *ip = in_n + (ih * s->W + iw) * s->C + g0;
      const vf x = m == VEC_W ? vf_loadu(ip) : vf_load_part(ip, m);
      acc = vf_fmadd(x, vf_loadu(w + (r * s->S + t) * gp + g0), acc);
    }
  }
  acc = activate(s, acc);
  if (m == VEC_W)
    vf_storeu(opix + g0, acc);
  else
    vf_store_part(opix + g0, acc, m);
}

static void depthwise_task(const vconv_conv_shape *s, const plan *pl, const float *w,
                           const float *bias, const float *in, float *out, size_t task) {
  int64_t n, unit, rb, p0, p1, ih_lo, ih_n;
  task_split(s, pl, task, &n, &unit, &rb);
  task_rows(s, pl, rb, &p0, &p1, &ih_lo, &ih_n);
  const float *in_n = in + n * s->H * s->W * s->C;
  const int64_t gp = cdiv(s->G, VEC_W) * VEC_W, gfull = s->G / VEC_W * VEC_W;
  /* Pixels whose every kernel column reads real input: whole tiles there. */
  int64_t qi0 = 0, qi1 = s->Q;
  for (int64_t t = 0; t < s->S; t++) {
    int64_t lo, hi;
    valid_range(t * s->dw - s->pl, s->sw, s->W, s->Q, &lo, &hi);
    qi0 = max64(qi0, lo);
    qi1 = min64(qi1, hi);
  }
  if (qi1 < qi0) qi1 = qi0;
  for (int64_t p = p0; p < p1; p++) {
    int64_t r0, r1;
    valid_range(p * s->sh - s->pt, s->dh, s->H, s->R, &r0, &r1);
    float *orow = out + (n * s->P + p) * s->Q * s->K;
    const int64_t ih0 = p * s->sh - s->pt + r0 * s->dh;
    int64_t q = 0;
    for (; q < qi0; q++)
      for (int64_t g0 = 0; g0 < s->G; g0 += VEC_W)
        dw_pixel(s, w, bias, in_n, orow + q * s->K, p, q, g0, (int)min64(VEC_W, s->G - g0), r0, r1);
    for (; q + DW_T <= qi1; q += DW_T) {
      for (int64_t g0 = 0; g0 < gfull; g0 += VEC_W) {
        dw_args ar = {in_n + (ih0 * s->W + q * s->sw - s->pl) * s->C + g0,
                      w + r0 * s->S * gp + g0, bias ? bias + g0 : NULL, orow + q * s->K + g0,
                      s->sw * s->C, s->dw * s->C, s->dh * s->W * s->C, gp, s->K, r1 - r0, s->S, s};
        dw_tile(&ar);
      }
      for (int64_t i = 0; gfull < s->G && i < DW_T; i++)
        dw_pixel(s, w, bias, in_n, orow + (q + i) * s->K, p, q + i, gfull, (int)(s->G - gfull), r0, r1);
    }
    for (; q < s->Q; q++)
      for (int64_t g0 = 0; g0 < s->G; g0 += VEC_W)
        dw_pixel(s, w, bias, in_n, orow + q * s->K, p, q, g0, (int)min64(VEC_W, s->G - g0), r0, r1);
  }
}

/* ------------------------------------------------------------------------ */

static int direct_plan(const vconv_conv_shape *s, const vconv_machine *m, int path,
                       vconv_conv_plan *p) {
  (void)m; /* the tiles are sized for registers, the tasks for cores, not for caches */
  plan pl;
  double cyc;
  if (!make_plan(s, &pl, path, &cyc)) return 0;
  scratch_layout L;
  scratch_of(s, &pl, &L);
  memset(p, 0, sizeof *p);
  p->packed_floats = (size_t)weight_floats(s, &pl);
  p->task_workspace = L.total;
  p->task_count = (size_t)(s->N * pl.units * pl.rblocks);
  p->path = pl.path;
  /* Lanes issued: blocked pads output channels to K-blocks, spatial the row
   * to whole vectors, depthwise the channels; connection tables skip the
   * input channels a block does not read. */
  const double taps = (double)s->N * (double)s->P * (double)(s->R * s->S);
  if (pl.path == PATH_DEPTHWISE) {
    p->macs = taps * (double)s->Q * (double)(cdiv(s->G, VEC_W) * VEC_W);
  } else {
    const int64_t per = pl.path == PATH_BLOCKED ? pl.kb : pl.kt;
    double reads = 0; /* input channels read, summed over the blocks */
    for (int64_t g = 0; g < (s->conn ? s->G : 1); g++)
      for (int64_t b = 0; b < pl.nblk; b++)
        reads += (double)connected_union(s, g, b * per, min64(s->Kg, (b + 1) * per));
    if (!s->conn) reads *= (double)s->G;
    p->macs = pl.path == PATH_BLOCKED
                  ? taps * (double)s->Q * reads * (double)pl.kb
                  : taps * (double)(cdiv(s->Q, VEC_W) * VEC_W) * reads * (double)pl.kt;
    /* The path models count per input channel, tap and output row of one group. */
    p->cycles = cyc * taps * (double)s->Cg * (double)(s->conn ? 1 : s->G);
  }
  memcpy(&p->own, &pl, sizeof pl);
  return 1;
}

static void direct_run(const vconv_conv_shape *s, const vconv_conv_plan *p, const float *packed,
                       const float *bias, const float *input, float *output, void *workspace,
                       size_t task) {
  const plan pl = own_plan(p);
  if (pl.path == PATH_BLOCKED)
    blocked_task(s, &pl, packed, bias, input, output, workspace, task);
  else if (pl.path == PATH_SPATIAL)
    spatial_task(s, &pl, packed, bias, input, output, workspace, task);
  else
    depthwise_task(s, &pl, packed, bias, input, output, task);
}

#define STR_(x) #x
#define STR(x) STR_(x)

const vconv_conv_kernel VCONV_TIERED(vconv_direct_kernel) = {
    .algo = VCONV_ALGO_DIRECT,
    .isa = VEC_ISA,
    .name = "direct/" STR(VCONV_TIER),
    .paths = path_names,
    .npaths = 3,
    .plan = direct_plan,
    .pack = direct_pack,
    .run = direct_run,
};
