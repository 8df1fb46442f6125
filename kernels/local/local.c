/*
 * Locally connected and tiled convolution, written once over the vector layer
 * (kernels/vec) and compiled once per tier.
 *
 * Output channels are the vector dimension everywhere, because that is the
 * one axis along which the weights of a position are contiguous for every
 * tile size: packed at create as [pos][group][K-block][c][r][s][KB], KB = NV
 * vectors (zero past Kg), then the bias as [pos or 1][group][K-blocks * KB].
 *
 * forward          per position, a tile of T images x NV vectors of output
 *                  channels: for each tap of the box (c, r, s) the kernel loads
 *                  NV weight vectors once and broadcasts one input value per
 *                  image, T x NV FMAs.  Each weight is used T times from
 *                  registers, so batch 16 reaches the FMA units while batch 1
 *                  streams every weight once (the layer's bound either way).
 * backward-weights the same box with the roles turned: the vectors are the
 *                  output gradient of one position (NV vectors of channels),
 *                  the broadcasts T input channels, summed over the batch and
 *                  the positions that share the kernel.
 * backward-data    gathers, per input pixel, every (output position, tap) that
 *                  read it; the packed weights have channels of K contiguous,
 *                  so the sums over K run in vector lanes (T images x TC input
 *                  channels of products) and are reduced across lanes at the
 *                  end.  This keeps one packed copy of weights that can reach
 *                  gigabytes (AlexNet conv2 locally connected: 1.8 GB).
 * The backward passes read the output gradient regrouped as a panel
 * [N][P][Q][G][Kv] (built by panel(), or the gradient itself for NHWC with
 * whole vectors per group), so K vectors load in one piece in both layouts.
 *
 * Every output element is written by one task, its sum taken in one order
 * fixed by the shape: results do not depend on the split.  Taps in the
 * padding are never read (the boxes are clipped to the input).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel.h"
#include "vec/vec.h"

#if defined(__GNUC__)
#  define LC_INLINE static inline __attribute__((always_inline))
/* Unrolled before scalar replacement, so the tiles become registers. */
#  define LC_UNROLL _Pragma("GCC unroll 32")
#else
#  define LC_INLINE static inline
#  define LC_UNROLL
#endif

#define NVMAX 4  /* vectors of channels in a box tile */
#define TMAX 16  /* rows (images or channels) in a box tile */
#define DMAX 4   /* backward data: images and channels per tile */

/* Box tiles T x NV that fit the register file beside NV weight vectors and a
 * broadcast (SSE4.1 also needs a product register: it has no FMA). */
#define S1(X, v) X(1, v)
#define S2(X, v) S1(X, v) X(2, v)
#define S3(X, v) S2(X, v) X(3, v)
#define S4(X, v) S3(X, v) X(4, v)
#define S5(X, v) S4(X, v) X(5, v)
#define S6(X, v) S5(X, v) X(6, v)
#define S8(X, v) S6(X, v) X(7, v) X(8, v)
#define S10(X, v) S8(X, v) X(9, v) X(10, v)
#define S12(X, v) S10(X, v) X(11, v) X(12, v)
#define S16(X, v) S12(X, v) X(13, v) X(14, v) X(15, v) X(16, v)
/* Backward data: T images x TC channels of accumulators beside TC weight and
 * T gradient vectors. */
#if defined(VCONV_TIER_AVX512) || defined(VCONV_TIER_NEON)
#  define BOX_TILES(X) S16(X, 1) S12(X, 2) S8(X, 3) S6(X, 4)
#  define DATA_T 4
#  define DATA_C 4
#  define DATA_TILES(X) S4(X, 1) S4(X, 2) S4(X, 3) S4(X, 4)
#elif defined(VCONV_TIER_SSE41)
#  define BOX_TILES(X) S10(X, 1) S5(X, 2) S3(X, 3) S2(X, 4)
#  define DATA_T 3
#  define DATA_C 3
#  define DATA_TILES(X) S3(X, 1) S3(X, 2) S3(X, 3)
#else
#  define BOX_TILES(X) S12(X, 1) S6(X, 2) S4(X, 3) S3(X, 4)
#  define DATA_T 3
#  define DATA_C 3
#  define DATA_TILES(X) S3(X, 1) S3(X, 2) S3(X, 3)
#endif

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ------------------------------------------------------------------------ */
/* The box: acc[t][v] += w[i1, i2, i3][v] * x[t, i1, i2, i3] over a 3-D range */

typedef struct box {
  const float *w;            /* NV vectors at w + i1 w1 + i2 w2 + i3 w3 */
  int64_t w1, w2, w3;
  const float *x;            /* tile row t broadcasts x[t xt + i1 x1 + i2 x2 + i3 x3] */
  int64_t xt, x1, x2, x3;
  int64_t n1, n2, n3;
} box;

/* Independent accumulator sets a T x NV tile rotates through, so that enough
 * FMA chains are in flight (two units x four cycles) when the tile alone is
 * small (batch 1), as long as the sets fit the registers: SETS per row of
 * the box's middle axis along its inner axis, rows taken in pairs (the inner
 * axis is often a kernel row of 5 or fewer taps). */
#if defined(VCONV_TIER_AVX512) || defined(VCONV_TIER_NEON)
#  define CHAINS(tn) ((tn) >= 8 ? 1 : (tn) >= 4 ? 2 : (tn) == 3 ? 3 : 4)
#  define PAIRED(tn) ((tn) <= 4)
#else
#  define CHAINS(tn) ((tn) >= 4 ? 1 : (tn) >= 2 ? 2 : 4)
#  define PAIRED(tn) ((tn) <= 2)
#endif

LC_INLINE void box_step(const int T, const int NV, vf *acc, const float *w, const float *x,
                        int64_t xt) {
  vf wv[NVMAX];
  LC_UNROLL for (int v = 0; v < NV; v++) wv[v] = vf_loadu(w + v * VEC_W);
  LC_UNROLL for (int t = 0; t < T; t++) {
    const vf xb = vf_set1(x[t * xt]);
    LC_UNROLL for (int v = 0; v < NV; v++) acc[t * NV + v] = vf_fmadd(wv[v], xb, acc[t * NV + v]);
  }
}

/* One row of the box's inner axis into sets acc[0 .. SETS). */
LC_INLINE void box_row(const int T, const int NV, const int SETS, vf *acc, const float *w,
                       const float *x, int64_t w3, int64_t x3, int64_t n3, int64_t xt) {
  const int TN = T * NV;
  int64_t i3 = 0;
  for (; i3 + SETS <= n3; i3 += SETS, w += SETS * w3, x += SETS * x3)
    LC_UNROLL for (int j = 0; j < SETS; j++) box_step(T, NV, acc + j * TN, w + j * w3, x + j * x3, xt);
  LC_UNROLL for (int j = 0; j + 1 < SETS; j++)
    if (i3 + j < n3) box_step(T, NV, acc + j * TN, w + j * w3, x + j * x3, xt);
}

LC_INLINE void box_run(const int T, const int NV, vf *accp, const box *b) {
  const int TN = T * NV, SETS = CHAINS(T * NV), ROWS = PAIRED(T * NV) ? 2 : 1;
  /* Set j of row parity h is acc[(h SETS + j) TN ..]; a local copy, as vector
   * stores through accp may alias the float loads.  (At most 24 registers.) */
  vf acc[32];
  LC_UNROLL for (int i = 0; i < TN; i++) acc[i] = accp[i];
  LC_UNROLL for (int i = TN; i < ROWS * SETS * TN; i++) acc[i] = vf_zero();
  const int64_t w1 = b->w1, w2 = b->w2, w3 = b->w3, xt = b->xt, x1 = b->x1, x2 = b->x2,
                x3 = b->x3, n2 = b->n2, n3 = b->n3;
  for (int64_t i1 = 0; i1 < b->n1; i1++) {
    const float *w = b->w + i1 * w1, *x = b->x + i1 * x1;
    int64_t i2 = 0;
    if (ROWS == 2)
      for (; i2 + 2 <= n2; i2 += 2) {
        box_row(T, NV, SETS, acc, w + i2 * w2, x + i2 * x2, w3, x3, n3, xt);
        box_row(T, NV, SETS, acc + SETS * TN, w + (i2 + 1) * w2, x + (i2 + 1) * x2, w3, x3, n3, xt);
      }
    for (; i2 < n2; i2++) box_row(T, NV, SETS, acc, w + i2 * w2, x + i2 * x2, w3, x3, n3, xt);
  }
  /* The sets summed in one fixed order. */
  LC_UNROLL for (int j = 1; j < ROWS * SETS; j++)
    LC_UNROLL for (int i = 0; i < TN; i++) acc[i] = vf_add(acc[i], acc[j * TN + i]);
  LC_UNROLL for (int i = 0; i < TN; i++) accp[i] = acc[i];
}

typedef void (*box_fn)(vf *acc, const box *b);
#define BOX_DEF(T, NV) static void box_##T##_##NV(vf *acc, const box *b) { box_run(T, NV, acc, b); }
BOX_TILES(BOX_DEF)
#define BOX_ENTRY(T, NV) [NV - 1][T - 1] = box_##T##_##NV,
static const box_fn box_fns[NVMAX][TMAX] = {BOX_TILES(BOX_ENTRY)};

/* Most tile rows with NV vectors (the table's built tiles). */
static int box_tmax(int nv) {
  int t = 0;
  while (t < TMAX && box_fns[nv - 1][t]) t++;
  return t;
}

/* Rows per block and vectors per block for `rows` tile rows (images or input
 * channels) and nvk vectors of channels: the fewest cycles with two FMAs and
 * two loads per cycle, counting the rounding of rows and vectors to blocks. */
typedef struct tiling {
  int nv, t;                 /* vectors per block, rows per block */
  int64_t nvb, nrb;          /* vector blocks, row blocks */
} tiling;

static tiling choose_tiling(int64_t rows, int64_t nvk) {
  tiling best = {1, 1, nvk, rows};
  double best_cost = -1;
  for (int nv = 1; nv <= NVMAX && nv <= nvk; nv++) {
    const int64_t tm = min64(box_tmax(nv), rows), nrb = cdiv(rows, tm), t = cdiv(rows, nrb);
    const int64_t nvb = cdiv(nvk, nv);
    const double step = (double)(t * nv > t + nv ? t * nv : t + nv);
    const double cost = (double)nvb * (double)nrb * step;
    if (best_cost < 0 || cost < best_cost) {
      best_cost = cost;
      best = (tiling){nv, (int)t, nvb, nrb};
    }
  }
  return best;
}

/* ------------------------------------------------------------------------ */
/* Geometry shared by the passes                                              */

typedef struct strides {
  int64_t img, ch, row, col;
} strides;

static strides tensor_strides(vconv_layout layout, int64_t C, int64_t H, int64_t W) {
  if (layout == VCONV_LAYOUT_NHWC) return (strides){H * W * C, 1, W * C, C};
  return (strides){C * H * W, H * W, W, 1};
}

static int64_t nvk_of(const vconv_local_shape *s) { return cdiv(s->c.Kg, VEC_W); }
static int64_t kv_of(const vconv_local_shape *s) { return nvk_of(s) * VEC_W; }
static int64_t npos(const vconv_local_shape *s) { return s->th * s->tw; }

/* The packing follows the forward tiling of the batch. */
static tiling fwd_tiling(const vconv_local_shape *s) { return choose_tiling(s->c.N, nvk_of(s)); }

typedef struct layout_ {
  int64_t kb;                /* channels per K-block */
  int64_t nkb;               /* K-blocks per group */
  int64_t blk;               /* floats of one (pos, group, K-block): Cg R S KB */
  int64_t pos;               /* floats of one position: G nkb blk */
  int64_t weights;           /* floats of all weights; the bias follows */
} layout_;

static layout_ packed_layout(const vconv_local_shape *s) {
  const tiling t = fwd_tiling(s);
  const vconv_conv_shape *c = &s->c;
  layout_ L;
  L.kb = (int64_t)t.nv * VEC_W;
  L.nkb = t.nvb;
  L.blk = c->Cg * c->R * c->S * L.kb;
  L.pos = c->G * L.nkb * L.blk;
  L.weights = npos(s) * L.pos;
  return L;
}

static int64_t bias_positions(const vconv_local_shape *s) {
  return s->bias == VCONV_LOCAL_BIAS_POSITION ? npos(s) : s->bias == VCONV_LOCAL_BIAS_CHANNEL;
}

static size_t mul_sat(size_t a, size_t b) {
  size_t r;
  return __builtin_mul_overflow(a, b, &r) ? SIZE_MAX : r;
}

static size_t add_sat(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

static size_t kpacked_floats(const vconv_local_shape *s) {
  const vconv_conv_shape *c = &s->c;
  const tiling t = fwd_tiling(s);
  const size_t kb = (size_t)t.nv * VEC_W;
  /* Each factor fits (descriptor limits); their product may not on 32-bit targets. */
  size_t w = mul_sat(mul_sat(mul_sat((size_t)npos(s), (size_t)c->G), (size_t)t.nvb), kb);
  w = mul_sat(mul_sat(mul_sat(w, (size_t)c->Cg), (size_t)c->R), (size_t)c->S);
  const size_t b = mul_sat(mul_sat((size_t)bias_positions(s), (size_t)c->G), mul_sat((size_t)t.nvb, kb));
  return add_sat(w, b);
}

static void kpack(const vconv_local_shape *s, const float *weights, const float *bias,
                  float *packed) {
  const vconv_conv_shape *c = &s->c;
  const layout_ L = packed_layout(s);
  const int64_t RS = c->R * c->S, CRS = c->Cg * RS;
  for (int64_t pos = 0; pos < npos(s); pos++)
    for (int64_t g = 0; g < c->G; g++)
      for (int64_t kb = 0; kb < L.nkb; kb++) {
        float *dst = packed + pos * L.pos + (g * L.nkb + kb) * L.blk;
        const int64_t k0 = kb * L.kb, n = min64(L.kb, c->Kg - k0);
        const float *src = weights + (pos * c->K + g * c->Kg + k0) * CRS;
        for (int64_t t = 0; t < CRS; t++, dst += L.kb) {
          int64_t l = 0;
          for (; l < n; l++) dst[l] = src[l * CRS + t];
          for (; l < L.kb; l++) dst[l] = 0.0f;
        }
      }
  if (!bias_positions(s)) return;
  float *dst = packed + L.weights;
  for (int64_t pos = 0; pos < bias_positions(s); pos++)
    for (int64_t g = 0; g < c->G; g++, dst += L.nkb * L.kb) {
      int64_t l = 0;
      for (; l < c->Kg; l++) dst[l] = bias[pos * c->K + g * c->Kg + l];
      for (; l < L.nkb * L.kb; l++) dst[l] = 0.0f;
    }
}

/* Taps o in [0, taps) of one axis with 0 <= base + o * dilation < extent. */
static void tap_range(int64_t base, int64_t dilation, int64_t extent, int64_t taps, int64_t *lo,
                      int64_t *hi) {
  vconv_valid_range(base, dilation, extent, taps, lo, hi);
}

static vf activate(const vconv_conv_shape *s, vf x) {
  if (s->act == VCONV_ACTIVATION_NONE) return x;
  return vf_upper(vf_set1(s->act_max), vf_lower(vf_set1(s->act_min), x));
}

/* ------------------------------------------------------------------------ */
/* Forward along output columns                                               */
/*
 * With few output channels per group (LeNet C1: 6), channel vectors would be
 * mostly padding (6 of 16 AVX-512 lanes), which wastes the FMAs and, worse at
 * batch 1, streams the zeros with the weights.  NCHW layers with unit column
 * stride then also pack the weights with VEC_W output columns of one row in
 * the lanes, [row kernel][column block][group][k][c][r][s][VEC_W] (a tap in
 * the padding packed as 0, lanes past the row as 0), and the forward pass
 * loads VEC_W contiguous input pixels per tap (lanes in the padding masked,
 * never read), shared by KT output channels x T images.  The channel-vector
 * packing stays for backward data.
 */
#define SP_KT 8 /* output channels per tile */
#if defined(VCONV_TIER_AVX512) || defined(VCONV_TIER_NEON)
#  define SP_TILES(X) S4(X, 1) S4(X, 2) S4(X, 3) S4(X, 4) S4(X, 5) S4(X, 6) S3(X, 7) S3(X, 8)
#else
#  define SP_TILES(X) S4(X, 1) S4(X, 2) S3(X, 3) S3(X, 4) S2(X, 5) S2(X, 6) S1(X, 7) S1(X, 8)
#endif

static int64_t nqb_of(const vconv_local_shape *s) { return cdiv(s->c.Q, VEC_W); }

static int use_columns(const vconv_local_shape *s) {
  const vconv_conv_shape *c = &s->c;
  if (VEC_W == 1 || c->layout != VCONV_LAYOUT_NCHW || c->sw != 1) return 0;
  /* The lanes each packing fills. */
  return (double)c->Kg / (double)(nvk_of(s) * VEC_W) < (double)c->Q / (double)(nqb_of(s) * VEC_W);
}

typedef struct sp_box {
  const float *w;            /* weights of (c, r0, s = 0), k at w + k wk */
  int64_t wk, wc, wr;        /* per k, per c, per r */
  const float *x;            /* input row of (c = 0, r0), image t at x + t xt */
  int64_t xt, xc, xr;
  int64_t nc, nr, S, dw;
  int64_t off;               /* column of lane 0 at s = 0: q0 - pl */
  int64_t W;
  int lanes;                 /* output columns in the block */
} sp_box;

LC_INLINE void sp_run(const int T, const int KT, vf *out, const sp_box *b) {
  vf acc[SP_KT * DMAX];
  LC_UNROLL for (int i = 0; i < T * KT; i++) acc[i] = vf_zero();
  const int64_t wk = b->wk, xt = b->xt;
  for (int64_t c = 0; c < b->nc; c++)
    for (int64_t r = 0; r < b->nr; r++) {
      const float *w = b->w + c * b->wc + r * b->wr, *x = b->x + c * b->xc + r * b->xr;
      for (int64_t sx = 0; sx < b->S; sx++, w += VEC_W) {
        const int64_t iw = b->off + sx * b->dw;
        const int64_t lo = iw < 0 ? -iw : 0, hi = b->W - iw < b->lanes ? b->W - iw : b->lanes;
        if (lo >= hi) continue;
        vf xv[DMAX];
        if (lo == 0 && hi == VEC_W) {
          LC_UNROLL for (int t = 0; t < T; t++) xv[t] = vf_loadu(x + t * xt + iw);
        } else {
          LC_UNROLL for (int t = 0; t < T; t++) xv[t] = vf_load_lanes(x + t * xt + iw, (int)lo, (int)hi);
        }
        LC_UNROLL for (int k = 0; k < KT; k++) {
          const vf wv = vf_loadu(w + k * wk);
          LC_UNROLL for (int t = 0; t < T; t++) acc[t * KT + k] = vf_fmadd(wv, xv[t], acc[t * KT + k]);
        }
      }
    }
  LC_UNROLL for (int i = 0; i < T * KT; i++) out[i] = acc[i];
}

typedef void (*sp_fn)(vf *out, const sp_box *b);
#define SP_DEF(T, KT) static void sp_##T##_##KT(vf *out, const sp_box *b) { sp_run(T, KT, out, b); }
SP_TILES(SP_DEF)
#define SP_ENTRY(T, KT) [KT - 1][T - 1] = sp_##T##_##KT,
static const sp_fn sp_fns[SP_KT][DMAX] = {SP_TILES(SP_ENTRY)};

typedef struct sp_tiling {
  int kt, t;                 /* output channels, images per tile */
  int64_t nkt, nnb;          /* channel blocks per group, image blocks */
} sp_tiling;

static sp_tiling sp_tiles(const vconv_local_shape *s) {
  const vconv_conv_shape *c = &s->c;
  sp_tiling d;
  d.nkt = cdiv(c->Kg, min64(SP_KT, c->Kg));
  d.kt = (int)cdiv(c->Kg, d.nkt);
  int tm = 0;
  while (tm < DMAX && sp_fns[d.kt - 1][tm]) tm++;
  d.nnb = cdiv(c->N, min64(tm, c->N));
  d.t = (int)cdiv(c->N, d.nnb);
  return d;
}

/* Floats of one column block of one kernel row: G Kg Cg R S VEC_W. */
static int64_t sp_block(const vconv_conv_shape *c) { return c->G * c->Kg * c->Cg * c->R * c->S * VEC_W; }

static size_t sp_floats(const vconv_local_shape *s) {
  const vconv_conv_shape *c = &s->c;
  const size_t rows = mul_sat((size_t)s->th, (size_t)nqb_of(s));
  size_t w = mul_sat(mul_sat(rows, (size_t)(c->G * c->Kg)), (size_t)c->Cg);
  w = mul_sat(mul_sat(mul_sat(w, (size_t)c->R), (size_t)c->S), VEC_W);
  const size_t b = s->bias == VCONV_LOCAL_BIAS_NONE ? 0 : mul_sat(rows, (size_t)(c->G * c->Kg * VEC_W));
  return add_sat(w, b);
}

static void sp_pack(const vconv_local_shape *s, const float *weights, const float *bias,
                    float *dst) {
  const vconv_conv_shape *c = &s->c;
  const int64_t RS = c->R * c->S, CRS = c->Cg * RS, nqb = nqb_of(s);
  for (int64_t py = 0; py < s->th; py++)
    for (int64_t qb = 0; qb < nqb; qb++)
      for (int64_t k = 0; k < c->K; k++)
        for (int64_t t = 0; t < CRS; t++, dst += VEC_W)
          for (int64_t l = 0; l < VEC_W; l++) {
            const int64_t q = qb * VEC_W + l, iw = q - c->pl + t % c->S * c->dw;
            const int inside = q < c->Q && iw >= 0 && iw < c->W;
            const int64_t pos = py * s->tw + q % s->tw;
            dst[l] = inside ? weights[(pos * c->K + k) * CRS + t] : 0.0f;
          }
  if (s->bias == VCONV_LOCAL_BIAS_NONE) return;
  for (int64_t py = 0; py < s->th; py++)
    for (int64_t qb = 0; qb < nqb; qb++)
      for (int64_t k = 0; k < c->K; k++, dst += VEC_W)
        for (int64_t l = 0; l < VEC_W; l++) {
          const int64_t q = qb * VEC_W + l, pos = py * s->tw + q % s->tw;
          dst[l] = q >= c->Q ? 0.0f : s->bias == VCONV_LOCAL_BIAS_CHANNEL ? bias[k] : bias[pos * c->K + k];
        }
}

/* Task (g, channel block, output row p): every column block, every image. */
static void sp_forward(const vconv_local_shape *s, const float *packed, const float *input,
                       float *output, size_t task) {
  const vconv_conv_shape *c = &s->c;
  const sp_tiling d = sp_tiles(s);
  const int64_t p = (int64_t)task % c->P, rest = (int64_t)task / c->P;
  const int64_t kt = rest % d.nkt, g = rest / d.nkt;
  const int64_t k0 = kt * d.kt, KT = min64(d.kt, c->Kg - k0);
  if (KT <= 0) return;
  const int64_t RS = c->R * c->S, CRS = c->Cg * RS, nqb = nqb_of(s), py = p % s->th;
  const int64_t hb = p * c->sh - c->pt;
  int64_t r0, r1;
  tap_range(hb, c->dh, c->H, c->R, &r0, &r1);
  const float *wts = packed + kpacked_floats(s); /* after the channel-vector packing */
  const float *bias = s->bias == VCONV_LOCAL_BIAS_NONE ? NULL : wts + s->th * nqb * sp_block(c);
  for (int64_t qb = 0; qb < nqb; qb++) {
    const int64_t q0 = qb * VEC_W, row = py * nqb + qb;
    sp_box b;
    b.w = wts + row * sp_block(c) + (g * c->Kg + k0) * CRS * VEC_W + r0 * c->S * VEC_W;
    b.wk = CRS * VEC_W;
    b.wc = RS * VEC_W;
    b.wr = c->S * VEC_W;
    b.xt = c->C * c->H * c->W;
    b.xc = c->H * c->W;
    b.xr = c->dh * c->W;
    b.nc = c->Cg;
    b.nr = r1 - r0;
    b.S = c->S;
    b.dw = c->dw;
    b.off = q0 - c->pl;
    b.W = c->W;
    b.lanes = (int)min64(VEC_W, c->Q - q0);
    const float *bv = bias ? bias + (row * c->G * c->Kg + g * c->Kg + k0) * VEC_W : NULL;
    for (int64_t n0 = 0; n0 < c->N; n0 += d.t) {
      const int T = (int)min64(d.t, c->N - n0);
      b.x = input + n0 * b.xt + g * c->Cg * b.xc + (hb + r0 * c->dh) * c->W;
      vf acc[SP_KT * DMAX];
      sp_fns[KT - 1][T - 1](acc, &b);
      for (int t = 0; t < T; t++)
        for (int64_t k = 0; k < KT; k++) {
          const vf y = activate(c, bv ? vf_add(acc[t * KT + k], vf_loadu(bv + k * VEC_W)) : acc[t * KT + k]);
          float *o = output + (((n0 + t) * c->K + g * c->Kg + k0 + k) * c->P + p) * c->Q + q0;
          if (b.lanes == VEC_W)
            vf_storeu(o, y);
          else
            vf_store_part(o, y, b.lanes);
        }
    }
  }
}

/* Both packings when the forward pass runs along columns. */
static size_t local_packed_floats(const vconv_local_shape *s) {
  return use_columns(s) ? add_sat(kpacked_floats(s), sp_floats(s)) : kpacked_floats(s);
}

static void local_pack(const vconv_local_shape *s, const float *weights, const float *bias,
                       float *packed) {
  kpack(s, weights, bias, packed);
  if (use_columns(s)) sp_pack(s, weights, bias, packed + kpacked_floats(s));
}

/* ------------------------------------------------------------------------ */
/* Forward                                                                    */

static size_t local_fwd_tasks(const vconv_local_shape *s) {
  if (use_columns(s)) return (size_t)(s->c.G * sp_tiles(s).nkt * s->c.P);
  return (size_t)(s->c.G * fwd_tiling(s).nvb * s->c.P);
}

/* Task (g, K-block, output row p): every position of the row, every image. */
static void local_forward(const vconv_local_shape *s, const float *packed, const float *input,
                          float *output, size_t task) {
  if (use_columns(s)) {
    sp_forward(s, packed, input, output, task);
    return;
  }
  const vconv_conv_shape *c = &s->c;
  const tiling tl = fwd_tiling(s);
  const layout_ L = packed_layout(s);
  const int64_t p = (int64_t)task % c->P, rest = (int64_t)task / c->P;
  const int64_t kb = rest % L.nkb, g = rest / L.nkb;
  const strides xs = tensor_strides(c->layout, c->C, c->H, c->W);
  const strides ys = tensor_strides(c->layout, c->K, c->P, c->Q);
  const box_fn run_full = box_fns[tl.nv - 1][tl.t - 1];
  const int64_t k0 = kb * L.kb;
  const int64_t hb = p * c->sh - c->pt;
  int64_t r0, r1;
  tap_range(hb, c->dh, c->H, c->R, &r0, &r1);
  const float *bias = NULL;
  if (s->bias != VCONV_LOCAL_BIAS_NONE) bias = packed + L.weights + g * L.nkb * L.kb + k0;
  for (int64_t q = 0; q < c->Q; q++) {
    const int64_t pos = (p % s->th) * s->tw + q % s->tw;
    const int64_t wb = q * c->sw - c->pl;
    int64_t s0, s1;
    tap_range(wb, c->dw, c->W, c->S, &s0, &s1);
    const float *bv = bias && s->bias == VCONV_LOCAL_BIAS_POSITION ? bias + pos * c->G * L.nkb * L.kb
                                                                  : bias;
    box b;
    b.w = packed + pos * L.pos + (g * L.nkb + kb) * L.blk + (r0 * c->S + s0) * L.kb;
    b.w1 = c->R * c->S * L.kb;
    b.w2 = c->S * L.kb;
    b.w3 = L.kb;
    b.xt = xs.img;
    b.x1 = xs.ch;
    b.x2 = c->dh * xs.row;
    b.x3 = c->dw * xs.col;
    b.n1 = c->Cg;
    b.n2 = r1 - r0;
    b.n3 = s1 - s0;
    for (int64_t n0 = 0; n0 < c->N; n0 += tl.t) {
      const int T = (int)min64(tl.t, c->N - n0);
      vf acc[TMAX * NVMAX];
      for (int i = 0; i < T * tl.nv; i++) acc[i] = vf_zero();
      if (b.n2 > 0 && b.n3 > 0) {
        b.x = input + n0 * xs.img + g * c->Cg * xs.ch + (hb + r0 * c->dh) * xs.row +
              (wb + s0 * c->dw) * xs.col;
        (T == tl.t ? run_full : box_fns[tl.nv - 1][T - 1])(acc, &b);
      }
      for (int v = 0; v < tl.nv; v++) {
        const int64_t kk = k0 + (int64_t)v * VEC_W, lanes = min64(VEC_W, c->Kg - kk);
        if (lanes <= 0) break;
        const vf bb = bv ? vf_loadu(bv + v * VEC_W) : vf_zero();
        for (int t = 0; t < T; t++) {
          const vf y = activate(c, vf_add(acc[t * tl.nv + v], bb));
          float *o = output + (n0 + t) * ys.img + (g * c->Kg + kk) * ys.ch + p * ys.row + q * ys.col;
          if (c->layout == VCONV_LAYOUT_NHWC) {
            if (lanes == VEC_W)
              vf_storeu(o, y);
            else
              vf_store_part(o, y, (int)lanes);
          } else {
            float tmp[VEC_W];
            vf_storeu(tmp, y);
            for (int64_t l = 0; l < lanes; l++) o[l * ys.ch] = tmp[l];
          }
        }
      }
    }
  }
}

/* ------------------------------------------------------------------------ */
/* The output gradient as a panel [N][P][Q][G][Kv]                            */

static size_t local_panel_floats(const vconv_local_shape *s) {
  const vconv_conv_shape *c = &s->c;
  if (c->layout == VCONV_LAYOUT_NHWC && kv_of(s) == c->Kg) return 0;
  return mul_sat(mul_sat((size_t)(c->N * c->P), (size_t)c->Q), mul_sat((size_t)c->G, (size_t)kv_of(s)));
}

static size_t local_panel_tasks(const vconv_local_shape *s) { return (size_t)(s->c.N * s->c.P); }

static void local_panel(const vconv_local_shape *s, const float *dy, float *panel, size_t task) {
  const vconv_conv_shape *c = &s->c;
  const int64_t n = (int64_t)task / c->P, p = (int64_t)task % c->P, Kv = kv_of(s);
  const strides ys = tensor_strides(c->layout, c->K, c->P, c->Q);
  float *dst = panel + (n * c->P + p) * c->Q * c->G * Kv;
  for (int64_t q = 0; q < c->Q; q++)
    for (int64_t g = 0; g < c->G; g++, dst += Kv) {
      const float *src = dy + n * ys.img + g * c->Kg * ys.ch + p * ys.row + q * ys.col;
      int64_t k = 0;
      for (; k < c->Kg; k++) dst[k] = src[k * ys.ch];
      for (; k < Kv; k++) dst[k] = 0.0f;
    }
}

/* ------------------------------------------------------------------------ */
/* Backward data                                                              */

typedef struct data_tiling {
  int t, tc;                 /* images, input channels per tile */
  int64_t nnb, ncb;          /* image blocks, channel blocks */
} data_tiling;

static data_tiling data_tiles(const vconv_local_shape *s) {
  const vconv_conv_shape *c = &s->c;
  data_tiling d;
  d.nnb = cdiv(c->N, min64(DATA_T, c->N));
  d.t = (int)cdiv(c->N, d.nnb);
  d.ncb = cdiv(c->Cg, min64(DATA_C, c->Cg));
  d.tc = (int)cdiv(c->Cg, d.ncb);
  return d;
}

/* Most (tap, output) pairs one input row or column can meet. */
static int64_t pairs_rows(const vconv_conv_shape *c) { return min64(c->R, c->P); }
static int64_t pairs_cols(const vconv_conv_shape *c) { return min64(c->S, c->Q); }

static size_t local_bwd_data_tasks(const vconv_local_shape *s) {
  const data_tiling d = data_tiles(s);
  return (size_t)(d.nnb * s->c.G * d.ncb * s->c.H);
}

static size_t local_bwd_data_scratch(const vconv_local_shape *s) {
  return (size_t)(pairs_rows(&s->c) + pairs_cols(&s->c)) * 2 * sizeof(int64_t);
}

/* For input coordinate i, the taps o and outputs m with m * stride - pad + o * dilation == i;
 * list[2j] gets off_w(m, o), list[2j + 1] off_y(m).  Returns the count. */
typedef struct axis_ {
  int64_t stride, pad, dilation, taps, out, period;
  int64_t w_tap, w_pos, y_out; /* offsets per tap, per kernel position, per output */
} axis_;

static int64_t gather_axis(const axis_ *a, int64_t i, int64_t *list) {
  const int64_t top = i + a->pad;  /* = m stride + o dilation */
  int64_t olo = 0;
  const int64_t far = top - (a->out - 1) * a->stride; /* o dilation >= far */
  if (far > 0) olo = cdiv(far, a->dilation);
  const int64_t ohi = min64(a->taps - 1, top / a->dilation);
  int64_t n = 0;
  for (int64_t o = olo; o <= ohi; o++) {
    const int64_t num = top - o * a->dilation;
    if (num % a->stride) continue;
    const int64_t m = num / a->stride;
    list[2 * n] = o * a->w_tap + (m % a->period) * a->w_pos;
    list[2 * n + 1] = m * a->y_out;
    n++;
  }
  return n;
}

LC_INLINE void data_run(const int T, const int TC, float *out, const float *w, int64_t wc,
                        int64_t wkb, const float *dy, int64_t dyt, const int64_t *rl, int64_t nr,
                        const int64_t *cl, int64_t nc, int64_t nvk, int64_t nv) {
  vf acc[DMAX * DMAX];
  LC_UNROLL for (int i = 0; i < T * TC; i++) acc[i] = vf_zero();
  for (int64_t i = 0; i < nr; i++)
    for (int64_t j = 0; j < nc; j++) {
      const float *wp = w + rl[2 * i] + cl[2 * j], *dp = dy + rl[2 * i + 1] + cl[2 * j + 1];
      for (int64_t kv = 0; kv < nvk; kv += nv, wp += wkb) {
        const int64_t vn = min64(nv, nvk - kv);
        for (int64_t v = 0; v < vn; v++) {
          vf wv[DMAX], dv[DMAX];
          LC_UNROLL for (int ci = 0; ci < TC; ci++) wv[ci] = vf_loadu(wp + ci * wc + v * VEC_W);
          LC_UNROLL for (int t = 0; t < T; t++) dv[t] = vf_loadu(dp + t * dyt + (kv + v) * VEC_W);
          LC_UNROLL for (int ci = 0; ci < TC; ci++)
            LC_UNROLL for (int t = 0; t < T; t++) acc[ci * T + t] = vf_fmadd(wv[ci], dv[t], acc[ci * T + t]);
        }
      }
    }
  LC_UNROLL for (int i = 0; i < T * TC; i++) {
    float lanes[VEC_W];
    vf_storeu(lanes, acc[i]);
    float sum = lanes[0];
    for (int l = 1; l < VEC_W; l++) sum += lanes[l];
    out[i] = sum;
  }
}

typedef void (*data_fn)(float *out, const float *w, int64_t wc, int64_t wkb, const float *dy,
                        int64_t dyt, const int64_t *rl, int64_t nr, const int64_t *cl, int64_t nc,
                        int64_t nvk, int64_t nv);
#define DATA_DEF(T, TC)                                                                          \
  static void data_##T##_##TC(float *out, const float *w, int64_t wc, int64_t wkb,               \
                              const float *dy, int64_t dyt, const int64_t *rl, int64_t nr,       \
                              const int64_t *cl, int64_t nc, int64_t nvk, int64_t nv) {          \
    data_run(T, TC, out, w, wc, wkb, dy, dyt, rl, nr, cl, nc, nvk, nv);                          \
  }
DATA_TILES(DATA_DEF)
#define DATA_ENTRY(T, TC) [T - 1][TC - 1] = data_##T##_##TC,
static const data_fn data_fns[DMAX][DMAX] = {DATA_TILES(DATA_ENTRY)};

/* Task (image block, g, channel block, input row ih): every pixel of the row. */
static void local_backward_data(const vconv_local_shape *s, const float *packed, const float *panel,
                                float *dx, void *scratch, size_t task) {
  const vconv_conv_shape *c = &s->c;
  const layout_ L = packed_layout(s);
  const data_tiling d = data_tiles(s);
  const int64_t Kv = kv_of(s), nvk = nvk_of(s), nv = L.kb / VEC_W;
  int64_t rest = (int64_t)task;
  const int64_t ih = rest % c->H;
  rest /= c->H;
  const int64_t cb = rest % d.ncb;
  rest /= d.ncb;
  const int64_t g = rest % c->G, nb = rest / c->G;
  const int64_t n0 = nb * d.t, c0 = cb * d.tc;
  const int T = (int)min64(d.t, c->N - n0), TC = (int)min64(d.tc, c->Cg - c0);
  if (T <= 0 || TC <= 0) return;
  const strides xs = tensor_strides(c->layout, c->C, c->H, c->W);
  const int64_t RS = c->R * c->S;
  int64_t *rl = scratch, *cl = rl + 2 * pairs_rows(c);
  const axis_ ah = {c->sh, c->pt, c->dh, c->R, c->P, s->th, c->S * L.kb, s->tw * L.pos,
                    c->Q * c->G * Kv};
  const axis_ aw = {c->sw, c->pl, c->dw, c->S, c->Q, s->tw, L.kb, L.pos, c->G * Kv};
  const int64_t nr = gather_axis(&ah, ih, rl);
  const float *w = packed + g * L.nkb * L.blk + c0 * RS * L.kb;
  const float *dy = panel + n0 * c->P * c->Q * c->G * Kv + g * Kv;
  const data_fn fn = data_fns[T - 1][TC - 1];
  for (int64_t iw = 0; iw < c->W; iw++) {
    const int64_t nc = gather_axis(&aw, iw, cl);
    float out[DMAX * DMAX];
    fn(out, w, RS * L.kb, L.blk, dy, c->P * c->Q * c->G * Kv, rl, nr, cl, nc, nvk, nv);
    for (int ci = 0; ci < TC; ci++)
      for (int t = 0; t < T; t++)
        dx[(n0 + t) * xs.img + (g * c->Cg + c0 + ci) * xs.ch + ih * xs.row + iw * xs.col] =
            out[ci * T + t];
  }
}

/* ------------------------------------------------------------------------ */
/* Backward weights (and bias)                                                */

static tiling weight_tiling(const vconv_local_shape *s) { return choose_tiling(s->c.Cg, nvk_of(s)); }

static size_t weight_tasks(const vconv_local_shape *s) {
  const tiling t = weight_tiling(s);
  return (size_t)(npos(s) * s->c.G * t.nvb * t.nrb * s->c.R);
}

static size_t local_bwd_weights_tasks(const vconv_local_shape *s) {
  const size_t bias = (size_t)(bias_positions(s) * s->c.G * nvk_of(s));
  return weight_tasks(s) + bias;
}

/* Outputs of the class of kernel position `first` (period `period`) whose tap
 * with offset `off` reads inside the input: indices [*i0, *i0 + return). */
static int64_t class_range(int64_t off, int64_t stride, int64_t extent, int64_t out, int64_t first,
                           int64_t period, int64_t *i0) {
  int64_t lo, hi;
  vconv_valid_range(off, stride, extent, out, &lo, &hi);
  const int64_t a = lo > first ? cdiv(lo - first, period) : 0;
  const int64_t b = hi > first ? cdiv(hi - first, period) : 0;
  *i0 = a;
  return b > a ? b - a : 0;
}

static void bias_task(const vconv_local_shape *s, const float *panel, float *db, int64_t t) {
  const vconv_conv_shape *c = &s->c;
  const int64_t nvk = nvk_of(s), Kv = kv_of(s), kv = t % nvk, g = (t / nvk) % c->G,
                pos = t / (nvk * c->G);
  const int per_pos = s->bias == VCONV_LOCAL_BIAS_POSITION;
  const int64_t py = per_pos ? pos / s->tw : 0, qx = per_pos ? pos % s->tw : 0;
  const int64_t ps = per_pos ? s->th : 1, qs = per_pos ? s->tw : 1;
  vf acc = vf_zero();
  for (int64_t n = 0; n < c->N; n++)
    for (int64_t p = py; p < c->P; p += ps)
      for (int64_t q = qx; q < c->Q; q += qs)
        acc = vf_add(acc, vf_loadu(panel + ((n * c->P + p) * c->Q + q) * c->G * Kv + g * Kv + kv * VEC_W));
  float lanes[VEC_W];
  vf_storeu(lanes, acc);
  const int64_t k0 = kv * VEC_W, n = min64(VEC_W, c->Kg - k0);
  for (int64_t l = 0; l < n; l++) db[pos * c->K + g * c->Kg + k0 + l] = lanes[l];
}

/* Task (pos, g, vector block, channel block, tap row r): every tap column s. */
static void local_backward_weights(const vconv_local_shape *s, const float *panel,
                                   const float *input, float *dw, float *db, size_t task) {
  const vconv_conv_shape *c = &s->c;
  if (task >= weight_tasks(s)) {
    if (db) bias_task(s, panel, db, (int64_t)(task - weight_tasks(s)));
    return;
  }
  const tiling tl = weight_tiling(s);
  const int64_t Kv = kv_of(s), nvk = nvk_of(s);
  int64_t rest = (int64_t)task;
  const int64_t r = rest % c->R;
  rest /= c->R;
  const int64_t cb = rest % tl.nrb;
  rest /= tl.nrb;
  const int64_t vb = rest % tl.nvb;
  rest /= tl.nvb;
  const int64_t g = rest % c->G, pos = rest / c->G;
  const int64_t py = pos / s->tw, qx = pos % s->tw;
  const int64_t c0 = cb * tl.t, kv0 = vb * tl.nv;
  const int T = (int)min64(tl.t, c->Cg - c0), NV = (int)min64(tl.nv, nvk - kv0);
  if (T <= 0 || NV <= 0) return;
  const strides xs = tensor_strides(c->layout, c->C, c->H, c->W);
  const int64_t RS = c->R * c->S, row = c->Q * c->G * Kv;
  int64_t i0, j0;
  const int64_t ni = class_range(r * c->dh - c->pt, c->sh, c->H, c->P, py, s->th, &i0);
  const box_fn fn = box_fns[NV - 1][T - 1];
  for (int64_t sx = 0; sx < c->S; sx++) {
    const int64_t nj = class_range(sx * c->dw - c->pl, c->sw, c->W, c->Q, qx, s->tw, &j0);
    vf acc[TMAX * NVMAX];
    for (int i = 0; i < T * NV; i++) acc[i] = vf_zero();
    if (ni > 0 && nj > 0) {
      const int64_t p = py + i0 * s->th, q = qx + j0 * s->tw;
      box b;
      b.w = panel + (p * c->Q + q) * c->G * Kv + g * Kv + kv0 * VEC_W;
      b.w1 = c->P * row;
      b.w2 = s->th * row;
      b.w3 = s->tw * c->G * Kv;
      b.x = input + (g * c->Cg + c0) * xs.ch + (p * c->sh - c->pt + r * c->dh) * xs.row +
            (q * c->sw - c->pl + sx * c->dw) * xs.col;
      b.xt = xs.ch;
      b.x1 = xs.img;
      b.x2 = s->th * c->sh * xs.row;
      b.x3 = s->tw * c->sw * xs.col;
      b.n1 = c->N;
      b.n2 = ni;
      b.n3 = nj;
      fn(acc, &b);
    }
    for (int v = 0; v < NV; v++) {
      const int64_t kk = (kv0 + v) * VEC_W, n = min64(VEC_W, c->Kg - kk);
      for (int t = 0; t < T; t++) {
        float lanes[VEC_W];
        vf_storeu(lanes, acc[t * NV + v]);
        float *o = dw + ((pos * c->K + g * c->Kg + kk) * c->Cg + c0 + t) * RS + r * c->S + sx;
        for (int64_t l = 0; l < n; l++) o[l * c->Cg * RS] = lanes[l];
      }
    }
  }
}

#define STR_(x) #x
#define STR(x) STR_(x)

const vconv_local_kernel VCONV_TIERED(vconv_local_kernel) = {
    .isa = VEC_ISA,
    .name = "local/" STR(VCONV_TIER),
    .packed_floats = local_packed_floats,
    .pack = local_pack,
    .fwd_tasks = local_fwd_tasks,
    .forward = local_forward,
    .panel_floats = local_panel_floats,
    .panel_tasks = local_panel_tasks,
    .panel = local_panel,
    .bwd_data_tasks = local_bwd_data_tasks,
    .bwd_data_scratch = local_bwd_data_scratch,
    .backward_data = local_backward_data,
    .bwd_weights_tasks = local_bwd_weights_tasks,
    .backward_weights = local_backward_weights,
};
