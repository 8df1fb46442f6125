/*
 * Winograd convolution F(mh x mw, r x r) at stride 1 (any padding, groups,
 * batch; NCHW and NHWC), written once over the vector layer and compiled per
 * tier.  One kernel per tile: F(2x2,3x3), F(4x4,3x3), F(6x6,3x3), F(4x5,3x3),
 * F(2x2,5x5); each axis is a 1-D transform of kernels/winograd/wino_tiles.h,
 * generated from its interpolation points by gen_transforms.py.  With
 * alpha = m + r - 1 per axis and T = alpha_h alpha_w, per group:
 *
 *   create  U[xi] = G g G^T for every (input, output channel), in double,
 *           rounded once to float and packed as T GEMM B operands (Cg x Kg,
 *           NR-column panels): the weights are never transformed again;
 *   input   V[xi] = B^T d B for every alpha x alpha input patch (tile), VEC_W
 *           channels at a time, written straight into T GEMM A operands
 *           (tiles x Cg, MR-row panels);
 *   GEMM    M[xi] = V[xi] U[xi]: T independent products (tiles x Cg) (Cg x Kg)
 *           on the tier's own GEMM (kernels/gemm, vconv_gemm_macro);
 *   output  Y = A^T M A for every tile, VEC_W output channels at a time, plus
 *           bias and activation, stored where the tile's outputs exist; an
 *           output that reads no input pixel (padding >= r) gets act(bias)
 *           itself, exactly as direct gives it.
 *
 * Tiles cover the batch as one canvas (wino_plan.h): images side by side,
 * each with its padding, so a 13x13 map does not cost a whole ragged tile
 * per edge.  Ragged edges are tiles whose outputs are partly dropped; padding
 * and the canvas outside any image read as zeros.
 *
 * Input patches are read from a band: the canvas rows of a block's tiles,
 * padding included, VEC_W channels per pixel (NCHW goes through VEC_W x VEC_W
 * transposes, NHWC is copied), built once per channel vector, so every tile
 * loads whole vectors without a test.  The transforms are straight-line code
 * over the generated constants (loops over constant matrices, unrolled: zero
 * terms disappear, +-1 terms become additions), summed in the generated
 * order.  Transformed tiles reach the GEMM's panel layout (MR tiles per
 * channel) through VEC_W x VEC_W transposes; outputs reach NCHW the same way.
 *
 * Tasks: (group, block of tiles, slice of output channels).  A block's
 * transformed input (T x tiles x Cg floats) and one pass of GEMM output
 * (T x tiles x KB) live in the worker's scratch, bounded by the block size.
 * A batch-1 layer with one block is split along the output channels so that
 * two workers share it (each transforms the input itself).
 */
#include <stdint.h>
#include <string.h>

#include "kernel.h"
#include "vec/vec.h"
#include "gemm/gemm.h"
#include "winograd/wino_plan.h"
#include "winograd/wino_tiles.h"
#include "variants.h"

#define MR VCONV_GEMM_MR
#define NR VCONV_GEMM_NR

#if defined(__GNUC__)
#  define ALWAYS_INLINE inline __attribute__((always_inline))
#  define NOINLINE __attribute__((noinline, cold))
#  define UNROLL _Pragma("GCC unroll 64")
#else
#  define ALWAYS_INLINE inline
#  define NOINLINE
#  define UNROLL
#endif

#define STR_(x) #x
#define STR(x) STR_(x)

#define AMAX 8 /* largest alpha */
#define MMAX 6 /* largest m */

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
static size_t round16(size_t x) { return (x + 15) / 16 * 16; }

/* A 1-D transform F(m, r) (wino_tiles.h). */
typedef struct axis_def {
  int m, a;
  const float *bt;         /* a x a */
  const float *at;         /* m x a */
  const double *g;         /* a x r */
  const signed char *bt_ord, *at_ord;
} axis_def;

/* A tile: rows (h) and columns (w) of outputs, kernel r x r. */
typedef struct tile_def {
  int r;
  axis_def h, w;
} tile_def;

/* ------------------------------------------------------------------------ */
/* Plan                                                                       */

/* Output channels per GEMM pass (kb): as many as keep one pass's output, the
 * T x block x kb floats the output transform reads back, within M_BYTES (in
 * L2): a wider pass rereads the block's transformed input fewer times
 * (batch-1 AlexNet conv3, F(4x5): 192 channels 3% faster than 64), a
 * narrower one keeps a large block's output in cache (batch 16: 64 channels
 * 2-5% faster than 128 or 192). */
#define M_BYTES (512 << 10)
/* Tile rows of the panel chunks vf_transpose_block turns into panel rows. */
#define NCHUNK ((MR + VEC_W - 1) / VEC_W)

typedef struct plan {
  vconv_wino_geom gm;
  int64_t T;
  int64_t tb, blocks;     /* tiles per block (a multiple of MR unless one), blocks per group */
  int64_t ksplit, kchunk; /* output channel slices per block, channels each (multiple of NR) */
  int64_t kb;             /* output channels per GEMM pass (multiple of NR) */
  int64_t cvec;           /* channel vectors of a group */
  int64_t pstride;        /* floats from one A panel to the next: Cg*MR + slack */
  int64_t vstride;        /* floats from one xi's A operand to the next */
  int64_t band_rows;      /* canvas rows a block's band holds */
  int dead;               /* some output has no tap inside the image (padding >= r on a side) */
  size_t v_at, m_at, band_at, tile_at, end; /* scratch layout, floats */
} plan;

static void make_plan(const vconv_conv_shape *s, const tile_def *td, plan *pl) {
  vconv_wino_geometry(td->h.m, td->w.m, td->r, s->N, s->H, s->W, s->pt, s->pb, s->pl, s->pr,
                      &pl->gm);
  const int64_t T = (int64_t)td->h.a * td->w.a, tiles = pl->gm.tiles, TX = pl->gm.TX;
  pl->T = T;
  int64_t cap = VCONV_WINO_BLOCK_BYTES / (T * s->Cg * (int64_t)sizeof(float));
  cap = max64(MR, cap / MR * MR);
  pl->blocks = vconv_wino_cdiv(tiles, cap);
  /* Two workers' worth of tasks: two blocks where each still has enough rows
   * for the GEMM; otherwise (batch 1) one block whose output channels are
   * split in two below (each half transforms the input itself). */
  if (s->G * pl->blocks == 1 && tiles >= 8 * MR) pl->blocks = 2;
  pl->tb = pl->blocks == 1 ? tiles : round_up(vconv_wino_cdiv(tiles, pl->blocks), MR);
  pl->blocks = vconv_wino_cdiv(tiles, pl->tb);
  const int64_t kpanels = vconv_wino_cdiv(s->Kg, NR);
  pl->ksplit = s->G * pl->blocks == 1 && kpanels >= 2 ? 2 : 1;
  pl->kchunk = vconv_wino_cdiv(kpanels, pl->ksplit) * NR;
  pl->ksplit = vconv_wino_cdiv(s->Kg, pl->kchunk);
  const int64_t kfit = M_BYTES / (T * pl->tb * (int64_t)sizeof(float)) / NR * NR;
  pl->kb = min64(max64(kfit, NR), pl->kchunk);
  pl->cvec = vconv_wino_cdiv(s->Cg, VEC_W);
  /* Panel rows are written whole vectors at a time, front to back; the last
   * one of a panel may spill up to VEC_W floats into this slack. */
  pl->pstride = (int64_t)round16((size_t)(s->Cg * MR + VEC_W));
  pl->vstride = vconv_wino_cdiv(pl->tb, MR) * pl->pstride;
  /* A block's tiles span at most this many tile rows. */
  const int64_t trows = (TX - 1 + pl->tb - 1) / TX + 1;
  pl->band_rows = (trows - 1) * td->h.m + td->h.a;
  /* Output row p reads padded rows p .. p+r-1: all in the top padding when
   * p + r <= pt (some p does iff pt >= r), all in the bottom one when
   * p >= pt + H (iff pb >= r); the same for the columns. */
  pl->dead = s->pt >= td->r || s->pb >= td->r || s->pl >= td->r || s->pr >= td->r;
  pl->v_at = 0;
  pl->m_at = pl->v_at + (size_t)(T * pl->vstride);
  pl->band_at = pl->m_at + round16((size_t)(pl->tb * T * pl->kb));
  /* + VEC_W vectors of slack: row_nchw's junk past the band's last row */
  pl->tile_at = pl->band_at + round16((size_t)((pl->band_rows * pl->gm.bw + VEC_W) * VEC_W));
  pl->end = pl->tile_at + (size_t)(MR * T * VEC_W);
}

/* ------------------------------------------------------------------------ */
/* Kernel transform (create)                                                  */

static size_t packed_per_group(const vconv_conv_shape *s, const tile_def *td) {
  return (size_t)td->h.a * td->w.a * round16(vconv_gemm_packed_b_floats(s->Cg, s->Kg));
}

/* U = G_h g G_w^T in double, rounded once; stored in T B operands (Cg x Kg).
 * Output channels inside a panel are the inner loop, so each of the T
 * operands is written front to back. */
static void wino_pack(const vconv_conv_shape *s, const tile_def *td, const float *w,
                      float *packed) {
  const int ah = td->h.a, aw = td->w.a, r = td->r;
  const size_t per_xi = round16(vconv_gemm_packed_b_floats(s->Cg, s->Kg));
  for (int64_t g = 0; g < s->G; g++) {
    float *pg = packed + (size_t)g * packed_per_group(s, td);
    for (int64_t k0 = 0; k0 < s->Kg; k0 += NR)
      for (int64_t c = 0; c < s->Cg; c++)
        for (int64_t k = k0; k < k0 + NR; k++) {
          float *dst = pg + (k0 / NR) * (s->Cg * NR) + c * NR + (k - k0);
          if (k >= s->Kg) { /* the last panel's columns past Kg */
            for (int xi = 0; xi < ah * aw; xi++) dst[(size_t)xi * per_xi] = 0.0f;
            continue;
          }
          const float *wk = w + ((g * s->Kg + k) * s->Cg + c) * r * r;
          double t[AMAX][AMAX]; /* G_h g: ah x r */
          for (int x = 0; x < ah; x++)
            for (int j = 0; j < r; j++) {
              double acc = 0.0;
              for (int i = 0; i < r; i++) acc += td->h.g[x * r + i] * (double)wk[i * r + j];
              t[x][j] = acc;
            }
          for (int x = 0; x < ah; x++)
            for (int y = 0; y < aw; y++) {
              double acc = 0.0;
              for (int j = 0; j < r; j++) acc += t[x][j] * td->w.g[y * r + j];
              dst[(size_t)(x * aw + y) * per_xi] = (float)acc;
            }
        }
  }
}

/* ------------------------------------------------------------------------ */
/* Transforms over constant matrices                                          */

/* sum_q coef[ord[q]] v[ord[q]] over a row's nonzero terms, in the generated
 * order (ascending magnitude); with coef and ord constant after inlining, the
 * zeros vanish and +-1 terms are additions (an FMA by -1 is an exact
 * subtraction). */
static ALWAYS_INLINE vf lincomb(const int n, const float *coef, const signed char *ord,
                                const vf *v) {
  vf acc = vf_zero();
  UNROLL for (int q = 0; q < n; q++) {
    const int i = ord[q];
    if (i < 0) break;
    const float c = coef[i];
    if (q == 0)
      acc = c == 1.0f ? v[i] : vf_mul(vf_set1(c), v[i]);
    else
      acc = c == 1.0f ? vf_add(acc, v[i]) : vf_fmadd(vf_set1(c), v[i], acc);
  }
  return acc;
}

/* V = B_h^T d B_w for one tile: d[i][j] (alpha_h x alpha_w) at
 * src + i * rpitch + j * VEC_W; V[xi] (xi = x * alpha_w + y) to out[xi]. */
static ALWAYS_INLINE void input_transform(const tile_def *td, const float *src, int64_t rpitch,
                                          vf *out) {
  const int ah = td->h.a, aw = td->w.a;
  vf t[AMAX][AMAX];
  UNROLL for (int j = 0; j < aw; j++) {
    vf col[AMAX];
    UNROLL for (int i = 0; i < ah; i++) col[i] = vf_loadu(src + i * rpitch + j * VEC_W);
    UNROLL for (int x = 0; x < ah; x++)
      t[x][j] = lincomb(ah, td->h.bt + x * ah, td->h.bt_ord + x * ah, col);
  }
  UNROLL for (int x = 0; x < ah; x++)
    UNROLL for (int y = 0; y < aw; y++)
      out[x * aw + y] = lincomb(aw, td->w.bt + y * aw, td->w.bt_ord + y * aw, t[x]);
}

/* Y = A_h^T M A_w for one tile: M[xi] at src + xi * pitch, Y[i * mw + j] to out. */
static ALWAYS_INLINE void output_transform(const tile_def *td, const float *src, int64_t pitch,
                                           vf *out) {
  const int ah = td->h.a, aw = td->w.a, mh = td->h.m, mw = td->w.m;
  vf t[MMAX][AMAX];
  UNROLL for (int y = 0; y < aw; y++) {
    vf col[AMAX];
    UNROLL for (int x = 0; x < ah; x++) col[x] = vf_loadu(src + (x * aw + y) * pitch);
    UNROLL for (int i = 0; i < mh; i++)
      t[i][y] = lincomb(ah, td->h.at + i * ah, td->h.at_ord + i * ah, col);
  }
  UNROLL for (int i = 0; i < mh; i++)
    UNROLL for (int j = 0; j < mw; j++)
      out[i * mw + j] = lincomb(aw, td->w.at + j * aw, td->w.at_ord + j * aw, t[i]);
}

/* ------------------------------------------------------------------------ */
/* Input: bands and transformed tiles                                         */

/* n floats (a multiple of VEC_W) of zeros.  The first store outside the
 * loop keeps gcc from turning short runs into memset calls. */
static inline void zero_floats(float *d, int64_t n) {
  if (n <= 0) return;
  vf_storeu(d, vf_zero());
  for (int64_t i = VEC_W; i < n; i += VEC_W) vf_storeu(d + i, vf_zero());
}

/* W pixels of channels c .. c+nc-1 (nc <= VEC_W) of image row `src` (NCHW:
 * channel planes cpitch floats apart) as vectors at dst, VEC_W apart,
 * through VEC_W x VEC_W transposes.  Whole transposed blocks are stored: up to
 * VEC_W-1 vectors past the row's end receive junk, which build_band
 * overwrites (padding and the next image follow) or leaves in its slack. */
static void row_nchw(float *dst, const float *src, int64_t cpitch, int nc, int64_t W) {
  for (int64_t w0 = 0; w0 < W; w0 += VEC_W) {
    const int cols = (int)min64(VEC_W, W - w0);
    vf r[VEC_W];
    if (nc == VEC_W && cols == VEC_W) {
      UNROLL for (int l = 0; l < VEC_W; l++) r[l] = vf_loadu(src + l * cpitch + w0);
    } else {
      UNROLL for (int l = 0; l < VEC_W; l++)
        r[l] = l >= nc ? vf_zero() : vf_load_part(src + l * cpitch + w0, cols);
    }
    vf_transpose_block(r);
    UNROLL for (int j = 0; j < VEC_W; j++) vf_storeu(dst + (w0 + j) * VEC_W, r[j]);
  }
}

static void row_nhwc(float *dst, const float *src, int64_t C, int nc, int64_t W) {
  if (nc == VEC_W)
    for (int64_t w = 0; w < W; w++) vf_storeu(dst + w * VEC_W, vf_loadu(src + w * C));
  else
    for (int64_t w = 0; w < W; w++) vf_storeu(dst + w * VEC_W, vf_load_part(src + w * C, nc));
}

/* The band: canvas rows y0 .. y0+rows-1, gm.bw columns, VEC_W channels per
 * pixel: the channel vector from channel c0 of group g (nc channels, the rest
 * of the vector zero).  Padding and the canvas outside the images are zeros.
 * Each row is written left to right: an image's pixels, then its right
 * padding and the next image's left padding over the junk row_nchw leaves. */
static void build_band(const vconv_conv_shape *s, const plan *pl, const float *input, int64_t g,
                       int64_t c0, int nc, int64_t y0, int64_t rows, float *band) {
  const vconv_wino_geom *gm = &pl->gm;
  const int64_t bwf = gm->bw * VEC_W, used = gm->gx * gm->pw * VEC_W;
  for (int64_t i = 0; i < rows; i++) {
    float *row = band + i * bwf;
    const int64_t Y = y0 + i, iy = Y / gm->ph, h = Y % gm->ph - s->pt;
    if (iy >= gm->gy || h < 0 || h >= s->H) {
      zero_floats(row, bwf);
      continue;
    }
    for (int64_t ix = 0; ix < gm->gx; ix++) {
      float *seg = row + ix * gm->pw * VEC_W;
      const int64_t n = iy * gm->gx + ix;
      if (n >= s->N) {
        zero_floats(seg, gm->pw * VEC_W);
        continue;
      }
      zero_floats(seg, s->pl * VEC_W);
      float *px = seg + s->pl * VEC_W;
      const int64_t c = g * s->Cg + c0;
      if (s->layout == VCONV_LAYOUT_NCHW)
        row_nchw(px, input + ((n * s->C + c) * s->H + h) * s->W, s->H * s->W, nc, s->W);
      else
        row_nhwc(px, input + ((n * s->H + h) * s->W) * s->C + c, s->C, nc, s->W);
      zero_floats(px + s->W * VEC_W, (gm->pw - s->pl - s->W) * VEC_W);
    }
    zero_floats(row + used, bwf - used);
  }
}

/*
 * One panel's rows for nc channels: dst[c * MR + t] = lane c of src[t * T]
 * (tile t's vector), for c < nc and every t < MR.  VEC_W x VEC_W transposes
 * of the panel's tiles give one vector per channel, stored whole, channels in
 * ascending order: each store's lanes past the panel row land where the next
 * store goes, the last one's in the next channel vector's rows (written
 * later) or the panel's slack.
 */
static inline void panel_rows(const vf *src, int64_t T, int nc, float *dst) {
  vf r[NCHUNK][VEC_W];
  for (int k = 0; k < NCHUNK; k++) {
    for (int l = 0; l < VEC_W; l++)
      r[k][l] = k * VEC_W + l < MR ? src[(k * VEC_W + l) * T] : vf_zero();
    vf_transpose_block(r[k]);
  }
  for (int c = 0; c < nc; c++)
    for (int k = 0; k < NCHUNK; k++) vf_storeu(dst + c * MR + k * VEC_W, r[k][c]);
}

/*
 * Transforms tiles t0 .. t0+tb-1 of group g into the block's A operands:
 * element (tile tt, channel c) of position xi at
 * V + xi*vstride + (tt/MR)*pstride + c*MR + tt%MR.  Rows of the last panel
 * past the block's tiles are zeros.
 */
static ALWAYS_INLINE void transform_block(const vconv_conv_shape *s, const tile_def *td,
                                          const plan *pl, const float *input, int64_t g,
                                          int64_t t0, int64_t tb, float *V, float *band,
                                          vf *tbuf) {
  const int64_t T = pl->T, mh = td->h.m, mw = td->w.m, TX = pl->gm.TX;
  const int64_t rpitch = pl->gm.bw * VEC_W, ty0 = t0 / TX;
  const int64_t rows = ((t0 + tb - 1) / TX - ty0) * mh + td->h.a;
  for (int64_t cv = 0; cv < pl->cvec; cv++) {
    const int64_t c0 = cv * VEC_W;
    const int nc = (int)min64(VEC_W, s->Cg - c0);
    build_band(s, pl, input, g, c0, nc, ty0 * mh, rows, band);
    for (int64_t p0 = 0; p0 < tb; p0 += MR) {
      const int cnt = (int)min64(MR, tb - p0);
      for (int j = 0; j < MR; j++) {
        vf *v = tbuf + j * T;
        if (j >= cnt) {
          for (int64_t xi = 0; xi < T; xi++) v[xi] = vf_zero();
          continue;
        }
        const int64_t t = t0 + p0 + j, ty = t / TX, tx = t % TX;
        input_transform(td, band + (ty - ty0) * mh * rpitch + tx * mw * VEC_W, rpitch, v);
      }
      float *dst = V + (p0 / MR) * pl->pstride + c0 * MR;
      for (int64_t xi = 0; xi < T; xi++) panel_rows(tbuf + xi, T, nc, dst + xi * pl->vstride);
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Output                                                                     */

/* Stores mh x mw outputs of VEC_W (nk valid) channels, y[i*mw + j] the vector
 * of tile position (i, j), to NCHW: per channel, per row, the columns that
 * land in one image at once (colrun: runs of j with their image column and q). */
typedef struct colrun {
  int j0, len;
  int64_t ix, q0;
} colrun;

/* n <= MMAX floats, as plain moves (masked stores of a few lanes are slow on
 * some CPUs, and an output row is not padded for whole vectors). */
static inline void copy_short(float *d, const float *b, int n) {
  switch (n) {
    case 6: memcpy(d, b, 6 * sizeof(float)); break;
    case 5: memcpy(d, b, 5 * sizeof(float)); break;
    case 4: memcpy(d, b, 4 * sizeof(float)); break;
    case 3: memcpy(d, b, 3 * sizeof(float)); break;
    case 2: memcpy(d, b, 2 * sizeof(float)); break;
    default: memcpy(d, b, 1 * sizeof(float)); break;
  }
}

static inline void store_nchw(const vconv_conv_shape *s, const vf *y, int mh, int mw, int nk,
                              const int64_t *rn, const int64_t *rp, const colrun *runs,
                              int nruns, int64_t k, float *output) {
  const int mm = mh * mw;
  enum { POS = MMAX * MMAX + VEC_W }; /* positions, padded for whole-vector loads */
  float buf[VEC_W * POS];
  for (int p0 = 0; p0 < mm; p0 += VEC_W) {
    vf r[VEC_W];
    for (int l = 0; l < VEC_W; l++) r[l] = p0 + l < mm ? y[p0 + l] : vf_zero();
    vf_transpose_block(r);
    for (int l = 0; l < nk; l++) vf_storeu(buf + l * POS + p0, r[l]);
  }
  const int64_t pq = s->P * s->Q;
  for (int i = 0; i < mh; i++) {
    if (rn[i] < 0) continue;
    for (int u = 0; u < nruns; u++) {
      const int64_t n = rn[i] + runs[u].ix;
      if (n >= s->N) continue;
      float *d = output + (n * s->K + k) * pq + rp[i] * s->Q + runs[u].q0;
      const float *b = buf + i * mw + runs[u].j0;
      for (int l = 0; l < nk; l++, d += pq, b += POS) copy_short(d, b, runs[u].len);
    }
  }
}

/* Where tile (ty, tx) lands: its rows (rn: image index of the canvas row's
 * first image, -1 dropped; rp: output row) and its columns (runs); 0 if no
 * output of it is stored. */
static ALWAYS_INLINE int place_tile(const vconv_conv_shape *s, const vconv_wino_geom *gm, int mh,
                                    int mw, int64_t ty, int64_t tx, int64_t *rn, int64_t *rp,
                                    colrun *runs, int *nruns) {
  int64_t cn[MMAX], cq[MMAX];
  int any_r = 0;
  for (int i = 0; i < mh; i++) {
    const int64_t Y = ty * mh + i, iy = Y / gm->ph, p = Y % gm->ph;
    rn[i] = iy < gm->gy && p < s->P ? iy * gm->gx : -1;
    rp[i] = p;
    any_r |= rn[i] >= 0;
  }
  for (int j = 0; j < mw; j++) {
    const int64_t X = tx * mw + j, ix = X / gm->pw, q = X % gm->pw;
    cn[j] = ix < gm->gx && q < s->Q ? ix : -1;
    cq[j] = q;
  }
  int n = 0;
  for (int j = 0; j < mw; j++) {
    if (cn[j] < 0) continue;
    if (n && runs[n - 1].ix == cn[j] && runs[n - 1].j0 + runs[n - 1].len == j)
      runs[n - 1].len++;
    else
      runs[n++] = (colrun){j, 1, cn[j], cq[j]};
  }
  *nruns = n;
  return any_r && n;
}

/*
 * Outputs of one tile that read no input pixel (their rows' or their
 * columns' taps all lie in the padding) get act(bias), for output channels
 * k .. k+kw-1, over what the transforms stored there: the exact value, which
 * the transforms miss because they mix every pixel of the patch into every
 * output of the tile and the rounding of those terms does not cancel (a
 * residue of 1e-7..1e-6 on unit data with F(4x4) and up).
 */
static void store_dead_tile(const vconv_conv_shape *s, const tile_def *td,
                            const vconv_wino_geom *gm, int64_t ty, int64_t tx, const float *bias,
                            int64_t k, int64_t kw, float *output) {
  const int mh = td->h.m, r = td->r;
  int64_t rn[MMAX], rp[MMAX];
  colrun runs[MMAX];
  int nruns;
  if (!place_tile(s, gm, mh, td->w.m, ty, tx, rn, rp, runs, &nruns)) return;
  unsigned dead_r = 0, any_c = 0;
  for (int i = 0; i < mh; i++)
    if (rn[i] >= 0 && (rp[i] + r <= s->pt || rp[i] >= s->pt + s->H)) dead_r |= 1u << i;
  for (int u = 0; u < nruns; u++)
    any_c |= runs[u].q0 + r <= s->pl || runs[u].q0 + runs[u].len > s->pl + s->W;
  if (!dead_r && !any_c) return;
  const int clamp = s->act != VCONV_ACTIVATION_NONE;
  const vf lo = vf_set1(s->act_min), hi = vf_set1(s->act_max);
  const int64_t pq = s->P * s->Q;
  for (int64_t kv = 0; kv < kw; kv += VEC_W) {
    const int nk = (int)min64(VEC_W, kw - kv);
    vf e = !bias        ? vf_zero()
           : nk == VEC_W ? vf_loadu(bias + k + kv)
                         : vf_load_part(bias + k + kv, nk);
    if (clamp) e = vf_upper(hi, vf_lower(lo, e));
    float el[VEC_W];
    vf_storeu(el, e);
    for (int i = 0; i < mh; i++) {
      if (rn[i] < 0) continue;
      const int row_dead = (int)(dead_r >> i & 1u);
      for (int u = 0; u < nruns; u++) {
        const int64_t n = rn[i] + runs[u].ix;
        if (n >= s->N) continue;
        for (int j = 0; j < runs[u].len; j++) {
          const int64_t q = runs[u].q0 + j;
          if (!row_dead && q + r > s->pl && q < s->pl + s->W) continue;
          if (s->layout == VCONV_LAYOUT_NHWC) {
            float *d = output + ((n * s->P + rp[i]) * s->Q + q) * s->K + k + kv;
            if (nk == VEC_W)
              vf_storeu(d, e);
            else
              vf_store_part(d, e, nk);
          } else {
            float *d = output + (n * s->K + k + kv) * pq + rp[i] * s->Q + q;
            for (int l = 0; l < nk; l++) d[l * pq] = el[l];
          }
        }
      }
    }
  }
}

/* The same for the tiles t0 .. t0+tb-1, after the output stage has stored
 * them: apart from it, which then pays one test per block pass, and only
 * where padding >= r makes such outputs possible (plan.dead). */
static NOINLINE void store_dead(const vconv_conv_shape *s, const tile_def *td,
                                const vconv_wino_geom *gm, int64_t t0, int64_t tb,
                                const float *bias, int64_t k, int64_t kw, float *output) {
  for (int64_t t = t0; t < t0 + tb; t++)
    store_dead_tile(s, td, gm, t / gm->TX, t % gm->TX, bias, k, kw, output);
}

/* Output transform, bias and activation of the block's tiles for output
 * channels k0 .. k0+kw-1 of group g; M holds the pass's GEMM outputs: tile tt,
 * position xi, channel k at M[(tt * T + xi) * kb + k - k0]. */
static ALWAYS_INLINE void output_block(const vconv_conv_shape *s, const tile_def *td,
                                       const plan *pl, const float *M, const float *bias,
                                       float *output, int64_t g, int64_t t0, int64_t tb,
                                       int64_t k0, int64_t kw) {
  const vconv_wino_geom *gm = &pl->gm;
  const int mh = td->h.m, mw = td->w.m;
  const int64_t T = pl->T;
  const int nhwc = s->layout == VCONV_LAYOUT_NHWC;
  const int clamp = s->act != VCONV_ACTIVATION_NONE;
  const vf lo = vf_set1(s->act_min), hi = vf_set1(s->act_max);
  for (int64_t tt = 0; tt < tb; tt++) {
    const int64_t t = t0 + tt, ty = t / gm->TX, tx = t % gm->TX;
    int64_t rn[MMAX], rp[MMAX];
    colrun runs[MMAX];
    int nruns;
    if (!place_tile(s, gm, mh, mw, ty, tx, rn, rp, runs, &nruns)) continue;
    const float *mt = M + tt * T * pl->kb;
    for (int64_t kv = 0; kv < kw; kv += VEC_W) {
      const int nk = (int)min64(VEC_W, kw - kv);
      const int64_t k = g * s->Kg + k0 + kv; /* first output channel */
      vf y[MMAX * MMAX];
      output_transform(td, mt + kv, pl->kb, y);
      const vf b = !bias        ? vf_zero()
                   : nk == VEC_W ? vf_loadu(bias + k)
                                 : vf_load_part(bias + k, nk);
      for (int i = 0; i < mh * mw; i++) {
        vf v = vf_add(y[i], b);
        if (clamp) v = vf_upper(hi, vf_lower(lo, v));
        y[i] = v;
      }
      if (!nhwc) {
        store_nchw(s, y, mh, mw, nk, rn, rp, runs, nruns, k, output);
        continue;
      }
      for (int i = 0; i < mh; i++) {
        if (rn[i] < 0) continue;
        for (int u = 0; u < nruns; u++) {
          const int64_t n = rn[i] + runs[u].ix;
          if (n >= s->N) continue;
          float *d = output + ((n * s->P + rp[i]) * s->Q + runs[u].q0) * s->K + k;
          for (int j = 0; j < runs[u].len; j++, d += s->K) {
            if (nk == VEC_W)
              vf_storeu(d, y[i * mw + runs[u].j0 + j]);
            else
              vf_store_part(d, y[i * mw + runs[u].j0 + j], nk);
          }
        }
      }
    }
  }
  if (pl->dead) store_dead(s, td, gm, t0, tb, bias, g * s->Kg + k0, kw, output);
}

/* ------------------------------------------------------------------------ */
/* Tasks                                                                      */

/* Asks for n floats from p (n may be <= 0) into L2, a cache line at a time. */
static inline void prefetch_l2(const float *p, int64_t n) {
#if defined(__GNUC__)
  for (int64_t i = 0; i < n; i += 16) __builtin_prefetch(p + i, 0, 2);
#else
  (void)p;
  (void)n;
#endif
}

_Static_assert(sizeof(plan) <= sizeof(((vconv_conv_plan *)0)->own), "Winograd plan too large");

static const char *const path_names[] = {"canvas"};

static int wino_plan(const vconv_conv_shape *s, const tile_def *td, int path, vconv_conv_plan *p) {
  if (s->R != td->r || s->S != td->r || s->sh != 1 || s->sw != 1 || s->dh != 1 || s->dw != 1 ||
      s->conn != NULL || (path != VCONV_PATH_ANY && path != 0))
    return 0;
  plan pl;
  make_plan(s, td, &pl);
  memset(p, 0, sizeof *p);
  p->packed_floats = (size_t)s->G * packed_per_group(s, td);
  p->task_workspace = pl.end * sizeof(float);
  p->task_count = (size_t)(s->G * pl.blocks * pl.ksplit);
  /* The GEMM stage: T products of (tiles, to the register tile) x Cg x (Kg,
   * to whole panels) per group; the transforms: every tile's T values per
   * input and output channel. */
  const double T = (double)pl.T, tiles = (double)pl.gm.tiles;
  p->macs = (double)s->G * T * (double)round_up(pl.gm.tiles, MR) * (double)s->Cg *
            (double)round_up(s->Kg, NR);
  p->moved = (double)s->G * T * tiles * (double)(s->Cg + s->Kg);
  memcpy(&p->own, &pl, sizeof pl);
  return 1;
}

static ALWAYS_INLINE void wino_run(const vconv_conv_shape *s, const tile_def *td,
                                   const vconv_conv_plan *p, const float *packed,
                                   const float *bias, const float *input, float *output,
                                   void *workspace, size_t task) {
  plan pl;
  memcpy(&pl, &p->own, sizeof pl);
  const int64_t ks = (int64_t)task % pl.ksplit, rest = (int64_t)task / pl.ksplit;
  const int64_t blk = rest % pl.blocks, g = rest / pl.blocks;
  const int64_t t0 = blk * pl.tb, tb = min64(pl.tb, pl.gm.tiles - t0);
  const int64_t kbeg = ks * pl.kchunk, kend = min64(s->Kg, kbeg + pl.kchunk);
  float *ws = workspace;
  float *V = ws + pl.v_at, *M = ws + pl.m_at, *band = ws + pl.band_at;
  transform_block(s, td, &pl, input, g, t0, tb, V, band, (vf *)(ws + pl.tile_at));

  const size_t per_xi = round16(vconv_gemm_packed_b_floats(s->Cg, s->Kg));
  const float *U = packed + (size_t)g * packed_per_group(s, td);
  const vconv_gemm_epilogue e = {1.0f, 0.0f, NULL, 0, 0, 0.0f, 0.0f};
  /* One GEMM per A panel (MR tiles): between them, a slice of the next
   * GEMM's B operand (Cg x kw floats of U) is prefetched into L2, so that U,
   * far larger than the caches, streams from memory while the FMAs run.
   * With few panels the slices come in bursts the memory system cannot take
   * (measured: 4-20% slower at batch 1), so only blocks of 4 panels or more. */
  const int64_t panels = vconv_wino_cdiv(tb, MR);
  const int prefetch = panels >= 4;
  for (int64_t k0 = kbeg; k0 < kend; k0 += pl.kb) {
    const int64_t kw = min64(pl.kb, kend - k0);
    const int64_t bfl = vconv_wino_cdiv(kw, NR) * NR * s->Cg; /* floats of one B operand */
    const int64_t slice = round_up(vconv_wino_cdiv(bfl, panels), 16);
    for (int64_t xi = 0; xi < pl.T; xi++) {
      const float *b = U + xi * per_xi + (k0 / NR) * (s->Cg * NR);
      /* the GEMM after this one: the next position, or the next pass's first */
      const float *next = xi + 1 < pl.T       ? b + per_xi
                          : k0 + pl.kb < kend ? U + (k0 + pl.kb) / NR * (s->Cg * NR)
                                              : NULL;
      for (int64_t p = 0; p < panels; p++) {
        VCONV_GEMM_FN(vconv_gemm_macro)(min64(MR, tb - p * MR), kw, s->Cg,
                                        V + xi * pl.vstride + p * pl.pstride, pl.pstride, b,
                                        s->Cg * NR, M + (p * MR * pl.T + xi) * pl.kb,
                                        pl.T * pl.kb, &e, 0, 0);
        if (prefetch && next) prefetch_l2(next + p * slice, min64(slice, bfl - p * slice));
      }
    }
    output_block(s, td, &pl, M, bias, output, g, t0, tb, k0, kw);
  }
}

/* ------------------------------------------------------------------------ */
/* The kernels                                                                */

#define AXIS(t, T)                                                                        \
  {WINO_##T##_M, WINO_##T##_A, &wino_##t##_bt[0][0], &wino_##t##_at[0][0], &wino_##t##_g[0][0], \
   &wino_##t##_bt_ord[0][0], &wino_##t##_at_ord[0][0]}

/* One kernel per line of VCONV_WINO_TILES (variants.h). */
#define WINO_KERNEL(tn, ALGO, R_, h_, H_, w_, W_)                                             \
  static const tile_def tile_##tn = {R_, AXIS(h_, H_), AXIS(w_, W_)};                        \
  static int plan_##tn(const vconv_conv_shape *s, const vconv_machine *m, int path,           \
                       vconv_conv_plan *p) {                                                  \
    (void)m; /* blocks are sized by VCONV_WINO_BLOCK_BYTES and M_BYTES */                     \
    return wino_plan(s, &tile_##tn, path, p);                                                 \
  }                                                                                           \
  static void pack_##tn(const vconv_conv_shape *s, const vconv_conv_plan *p, const float *w,  \
                        float *packed) {                                                      \
    (void)p;                                                                                  \
    wino_pack(s, &tile_##tn, w, packed);                                                      \
  }                                                                                           \
  static void run_##tn(const vconv_conv_shape *s, const vconv_conv_plan *p, const float *packed, \
                       const float *bias, const float *input, float *output, void *ws,        \
                       size_t task) {                                                         \
    wino_run(s, &tile_##tn, p, packed, bias, input, output, ws, task);                        \
  }                                                                                           \
  const vconv_conv_kernel VCONV_TIERED(vconv_winograd_##tn##_kernel) = {                      \
      .algo = VCONV_ALGO_##ALGO,                                                              \
      .isa = VEC_ISA,                                                                         \
      .name = "winograd_" #tn "/" STR(VCONV_TIER),                                            \
      .paths = path_names,                                                                    \
      .npaths = 1,                                                                            \
      .plan = plan_##tn,                                                                      \
      .pack = pack_##tn,                                                                      \
      .run = run_##tn,                                                                        \
  };

VCONV_WINO_TILES(WINO_KERNEL)
