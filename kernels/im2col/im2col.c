/*
 * im2col + GEMM convolution, written once over the vector layer and compiled
 * per tier, on the tier's own SGEMM (kernels/gemm).  Per image n and group g
 * the convolution is one matrix product over the reduction t = (c, r, s)
 * (NCHW) or (r, s, c) (NHWC, so that a tap reads a contiguous channel run):
 *
 *   NCHW  out[k][pq] = W_g[k][t] x col[t][pq]: the weights are A, packed once
 *         at create into MR-row panels; the im2col matrix is B.
 *   NHWC  out[pq][k] = col[pq][t] x W_g[t][k]: the im2col matrix is A, the
 *         weights are B, packed once into NR-column panels.
 *
 * The im2col matrix is never built: each task packs the kc x (column block)
 * slice of it that the GEMM is about to use straight from the input into the
 * GEMM's panel format, padding taps as zeros, in the worker's scratch (a
 * bounded kc x block, not C*R*S*P*Q floats).  A 1x1, stride-1, unpadded
 * convolution needs no im2col at all: the input already is the operand and
 * is packed like any matrix.  Bias and activation are applied by the GEMM's
 * tile store after the last reduction pass, so the output is written once
 * per pass and never re-read for an epilogue.
 *
 * Tasks: (image, group, block of output pixels), so batch 1 parallelises.
 * Connection tables are declined (applicable() = 0): zero weights for the
 * unconnected pairs would turn an inf input into inf * 0 = NaN.
 */
#include <stdint.h>

#if defined(GEMM_TUNE_ENV) || defined(IM2COL_TUNE_ENV)
#  include <stdlib.h>
#endif
#include "kernel.h"
#include "vec/vec.h"
#include "gemm/gemm.h"

#define MR VCONV_GEMM_MR
#define NR VCONV_GEMM_NR

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

static int64_t reduction(const vconv_conv_shape *s) { return s->Cg * s->R * s->S; }

static int pointwise(const vconv_conv_shape *s) {
  return s->R == 1 && s->S == 1 && s->sh == 1 && s->sw == 1 && s->pt == 0 && s->pb == 0 &&
         s->pl == 0 && s->pr == 0;
}

/* How a convolution is cut: kc per reduction pass, blk output pixels per task. */
typedef struct plan {
  int64_t kc, blk, blocks;
} plan;

/* With fewer tasks than this an image is cut finer, so that batch 1 still
 * spreads over a few threads. */
#define MIN_TASKS 4

static void make_plan(const vconv_conv_shape *s, plan *pl) {
  vconv_gemm_blocking b;
  VCONV_GEMM_FN(vconv_gemm_blocking)(&b);
  const int64_t red = reduction(s), pq = s->P * s->Q;
  const int64_t passes = (red + b.kc - 1) / b.kc;
  pl->kc = (red + passes - 1) / passes;
  const int64_t tile = s->layout == VCONV_LAYOUT_NCHW ? NR : MR;
  int64_t blk = s->layout == VCONV_LAYOUT_NCHW ? b.nc : b.mc;
#ifdef IM2COL_TUNE_ENV
  if (getenv("BLK")) blk = atol(getenv("BLK"));
#endif
  blk = min64(blk, round_up(pq, tile));
  while (blk > tile && s->N * s->G * ((pq + blk - 1) / blk) < MIN_TASKS)
    blk = round_up(blk / 2, tile);
  pl->blk = blk;
  pl->blocks = (pq + blk - 1) / blk;
}

static int im2col_applicable(const vconv_conv_shape *s) { return s->conn == NULL; }

static size_t im2col_packed_floats(const vconv_conv_shape *s) {
  const int64_t red = reduction(s);
  if (s->layout == VCONV_LAYOUT_NCHW) return (size_t)s->G * vconv_gemm_packed_a_floats(s->Kg, red);
  return (size_t)s->G * vconv_gemm_packed_b_floats(red, s->Kg);
}

static void im2col_pack(const vconv_conv_shape *s, const float *w, float *packed) {
  const int64_t red = reduction(s);
  if (s->layout == VCONV_LAYOUT_NCHW) {
    /* OIHW per group already is the row-major Kg x (C/G*R*S) matrix A. */
    const size_t per = vconv_gemm_packed_a_floats(s->Kg, red);
    for (int64_t g = 0; g < s->G; g++)
      VCONV_GEMM_FN(vconv_gemm_pack_a)(0, w + g * s->Kg * red, red, s->Kg, red, packed + g * per);
    return;
  }
  /* B[(r*S + s)*Cg + c][k] = w[k][c][r][s], NR-column panels, columns past Kg zero. */
  const size_t per = vconv_gemm_packed_b_floats(red, s->Kg);
  for (int64_t g = 0; g < s->G; g++) {
    float *d = packed + g * per;
    for (int64_t j0 = 0; j0 < s->Kg; j0 += NR, d += red * NR)
      for (int64_t r = 0; r < s->R; r++)
        for (int64_t t = 0; t < s->S; t++)
          for (int64_t c = 0; c < s->Cg; c++) {
            float *row = d + ((r * s->S + t) * s->Cg + c) * NR;
            for (int64_t j = 0; j < NR; j++)
              row[j] = j0 + j < s->Kg
                           ? w[(((g * s->Kg + j0 + j) * s->Cg + c) * s->R + r) * s->S + t]
                           : 0.0f;
          }
  }
}

/* ------------------------------------------------------------------------ */
/* im2col into B panels (NCHW)                                               */

/*
 * Panel writers.  They store whole vectors, so they may write up to VEC_W-1
 * floats past the run; a panel row is written front to back and the panel
 * buffer has VEC_W floats of slack, so whatever lands past a run is
 * overwritten by the next run, the next row or nothing.  Masked stores cost
 * several times a plain one on Zen 4/5; masked loads do not, and the input is
 * only ever read with them at a run's end, never past it.
 */
static void copy_run(float *d, const float *src, int64_t n) {
  int64_t u = 0;
  for (; u + VEC_W <= n; u += VEC_W) vf_storeu(d + u, vf_loadu(src + u));
  if (u < n) vf_storeu(d + u, vf_load_part(src + u, (int)(n - u)));
}

static void zero_run(float *d, int64_t n) {
  if (n <= 0) return;
  /* The first store outside the loop keeps gcc from turning short runs into memset calls. */
  vf_storeu(d, vf_zero());
  for (int64_t u = VEC_W; u < n; u += VEC_W) vf_storeu(d + u, vf_zero());
}

/* The output pixels of one panel fall into runs along output rows. */
typedef struct seg {
  int64_t off, len, p, q;
} seg;

/*
 * Where B packing reads input row (c, ih): channels c0.., rows h0.. of
 * base, cpitch / rpitch floats apart.  With a horizontal stride sw > 1 the
 * rows are phase-split copies (column iw at [iw % sw][iw / sw], phases
 * wp floats apart), so that a tap's run of output pixels reads a contiguous
 * run instead of every sw-th float: AlexNet conv1 (stride 4) packs 7x more
 * floats than its input holds, and strided gathers were a third of its time.
 */
typedef struct src_view {
  const float *base;
  int64_t c0, h0, cpitch, rpitch, wp;
} src_view;

/* Output rows of a block of pixels lo .. lo+cnt-1 need input rows [*h0, *h1). */
static void band(const vconv_conv_shape *s, int64_t lo, int64_t cnt, int64_t *h0, int64_t *h1) {
  const int64_t p0 = lo / s->Q, p1 = (lo + cnt - 1) / s->Q;
  *h0 = p0 * s->sh - s->pt;
  *h1 = p1 * s->sh - s->pt + (s->R - 1) * s->dh + 1;
  if (*h0 < 0) *h0 = 0;
  if (*h1 > s->H) *h1 = s->H;
  if (*h1 < *h0) *h1 = *h0;
}

/* Phase width, and the phase-split buffer's floats for one task's pass. */
static int64_t phase_width(const vconv_conv_shape *s) { return (s->W + s->sw - 1) / s->sw; }
static int64_t phase_floats(const vconv_conv_shape *s, const plan *pl) {
  if (s->layout != VCONV_LAYOUT_NCHW || s->sw == 1 || pointwise(s)) return 0;
  const int64_t RS = s->R * s->S;
  const int64_t chans = min64(s->Cg, (pl->kc - 1) / RS + 2);
  const int64_t rows = min64(s->H, ((pl->blk - 1) / s->Q + 1) * s->sh + (s->R - 1) * s->dh + 1);
  return chans * rows * s->sw * phase_width(s);
}

/* Channels [c0, c1) x rows [h0, h1) of img, phase split (see src_view). */
static void phase_split(const vconv_conv_shape *s, const float *img, int64_t c0, int64_t c1,
                        int64_t h0, int64_t h1, float *dst, src_view *v) {
  const int64_t wp = phase_width(s), sw = s->sw;
  v->base = dst;
  v->c0 = c0;
  v->h0 = h0;
  v->rpitch = sw * wp;
  v->cpitch = (h1 - h0) * v->rpitch;
  v->wp = wp;
  for (int64_t c = c0; c < c1; c++)
    for (int64_t ih = h0; ih < h1; ih++) {
      const float *src = img + (c * s->H + ih) * s->W;
      float *d = dst + (c - c0) * v->cpitch + (ih - h0) * v->rpitch;
      for (int64_t ph = 0; ph < sw; ph++)
        for (int64_t x = 0; x * sw + ph < s->W; x++) d[ph * wp + x] = src[x * sw + ph];
    }
}

/* Runs of output pixels in one panel: at most this many (a run ends at each output row end). */
static int64_t max_segs(const vconv_conv_shape *s) { return min64(NR, (NR - 1) / s->Q + 2); }

/* For one run and one kernel column: the run's pixels [u0, u1) read the
 * input row from offset off on, the others are padding; the run sits at
 * doff in the panel row and is len long. */
typedef struct tap_run {
  int64_t u0, u1, off, doff, len;
} tap_run;

/* Scratch of pack_b_im2col's tables, in bytes. */
static size_t tap_table_bytes(const vconv_conv_shape *s) {
  return (size_t)max_segs(s) * ((size_t)s->S * sizeof(tap_run) + (size_t)s->R * sizeof(int64_t));
}

/*
 * Rows t0 .. t0+kc-1 of im2col(image) restricted to output pixels j0 ..
 * j0+ncols-1, as NR-column panels.  tab: tap_table_bytes() of scratch.
 * Where a run reads depends on the kernel column (horizontal) and the kernel
 * row (vertical) separately, not on the channel: both are worked out once
 * per panel (divisions by the stride included), so each panel row is a few
 * table lookups and contiguous copies.
 */
static void pack_b_im2col(const vconv_conv_shape *s, const src_view *v, int64_t t0, int64_t kc,
                          int64_t j0, int64_t ncols, float *dst, void *tab) {
  const int64_t RS = s->R * s->S, sw = s->sw;
  tap_run *ctab = tab;
  int64_t *rtab = (int64_t *)(ctab + max_segs(s) * s->S);
  for (int64_t jp = 0; jp < ncols; jp += NR, dst += kc * NR) {
    const int64_t cols = min64(NR, ncols - jp);
    seg sg[NR];
    int nseg = 0;
    for (int64_t off = 0, j = j0 + jp; off < cols; nseg++) {
      const int64_t p = j / s->Q, q = j % s->Q, len = min64(s->Q - q, cols - off);
      sg[nseg] = (seg){off, len, p, q};
      off += len;
      j += len;
    }
    for (int64_t t = 0; t < s->S; t++)
      for (int i = 0; i < nseg; i++) {
        const int64_t len = sg[i].len, iw0 = sg[i].q * sw - s->pl + t * s->dw; /* column of u = 0 */
        int64_t u0, u1; /* 0 <= iw0 + u*sw < W */
        if (sw == 1) {
          u0 = iw0 < 0 ? -iw0 : 0;
          u1 = s->W - iw0;
        } else {
          u0 = iw0 < 0 ? (-iw0 + sw - 1) / sw : 0;
          u1 = iw0 >= s->W ? 0 : (s->W - 1 - iw0) / sw + 1;
        }
        if (u0 > len) u0 = len;
        if (u1 > len) u1 = len;
        if (u1 < u0) u1 = u0;
        const int64_t iw = iw0 + u0 * sw; /* first column read, >= 0 when u1 > u0 */
        tap_run *e = &ctab[t * nseg + i];
        e->u0 = u0;
        e->u1 = u1;
        e->off = u1 == u0 ? 0 : sw == 1 ? iw : iw % sw * v->wp + iw / sw;
        e->doff = sg[i].off;
        e->len = len;
      }
    for (int64_t r = 0; r < s->R; r++)
      for (int i = 0; i < nseg; i++) {
        const int64_t ih = sg[i].p * s->sh - s->pt + r * s->dh;
        rtab[r * nseg + i] = ih < 0 || ih >= s->H ? -1 : (ih - v->h0) * v->rpitch;
      }
    int64_t c = t0 / RS, r = t0 % RS / s->S, t = t0 % s->S;
    for (int64_t tt = 0; tt < kc; tt++) {
      float *d = dst + tt * NR;
      const float *plane = v->base + (c - v->c0) * v->cpitch;
      const tap_run *e = ctab + t * nseg;
      const int64_t *ro = rtab + r * nseg;
      for (int i = 0; i < nseg; i++) {
        float *ds = d + e[i].doff;
        const int64_t len = e[i].len, u0 = e[i].u0, u1 = e[i].u1;
        if (ro[i] < 0) {
          zero_run(ds, len);
        } else if (u0 == 0 && u1 == len) {
          copy_run(ds, plane + ro[i] + e[i].off, len);
        } else {
          zero_run(ds, u0);
          copy_run(ds + u0, plane + ro[i] + e[i].off, u1 - u0);
          zero_run(ds + u1, len - u1);
        }
      }
      zero_run(d + cols, NR - cols);
      if (++t == s->S) {
        t = 0;
        if (++r == s->R) r = 0, c++;
      }
    }
  }
}

/* ------------------------------------------------------------------------ */
/* im2col into A panels (NHWC)                                               */

/*
 * Rows m0 .. m0+mrows-1 (output pixels) x reduction t0 .. t0+kc-1 of the
 * NHWC im2col matrix, as MR-row panels.  img: the image's first pixel.
 */
static void pack_a_im2col(const vconv_conv_shape *s, const float *img, int64_t g, int64_t t0,
                          int64_t kc, int64_t m0, int64_t mrows, float *dst) {
  const int64_t SC = s->S * s->Cg;
  for (int64_t i0 = 0; i0 < mrows; i0 += MR, dst += kc * MR) {
    const int rows = (int)min64(MR, mrows - i0);
    for (int i = 0; i < MR; i++) {
      float *d = dst + i;
      if (i >= rows) {
        for (int64_t tt = 0; tt < kc; tt++) d[tt * MR] = 0.0f;
        continue;
      }
      const int64_t pix = m0 + i0 + i, p = pix / s->Q, q = pix % s->Q;
      int64_t r = t0 / SC, t = t0 % SC / s->Cg, c = t0 % s->Cg;
      for (int64_t tt = 0; tt < kc;) {
        const int64_t run = min64(s->Cg - c, kc - tt);
        const int64_t ih = p * s->sh - s->pt + r * s->dh, iw = q * s->sw - s->pl + t * s->dw;
        float *dd = d + tt * MR;
        if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) {
          for (int64_t u = 0; u < run; u++) dd[u * MR] = 0.0f;
        } else {
          const float *src = img + (ih * s->W + iw) * s->C + g * s->Cg + c;
          for (int64_t u = 0; u < run; u++) dd[u * MR] = src[u];
        }
        tt += run;
        c = 0;
        if (++t == s->S) t = 0, r++;
      }
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Scratch and tasks                                                          */

/* NCHW scratch: one B panel, the phase-split rows, the tap table (floats, each 64-byte aligned). */
typedef struct nchw_scratch {
  size_t phase_at, tab_at, end;
} nchw_scratch;

static void nchw_layout(const vconv_conv_shape *s, const plan *pl, nchw_scratch *l) {
  l->phase_at = (vconv_gemm_packed_b_floats(pl->kc, NR) + VEC_W + 15) / 16 * 16; /* + slack */
  l->tab_at = l->phase_at + (size_t)(phase_floats(s, pl) + 15) / 16 * 16;
  l->end = l->tab_at + (tap_table_bytes(s) + sizeof(float) - 1) / sizeof(float);
}

static size_t im2col_task_workspace(const vconv_conv_shape *s) {
  plan pl;
  make_plan(s, &pl);
  if (s->layout == VCONV_LAYOUT_NHWC) return vconv_gemm_packed_a_floats(pl.blk, pl.kc) * sizeof(float);
  nchw_scratch l;
  nchw_layout(s, &pl, &l);
  return l.end * sizeof(float);
}

static size_t im2col_task_count(const vconv_conv_shape *s) {
  plan pl;
  make_plan(s, &pl);
  return (size_t)(s->N * s->G * pl.blocks);
}

/* ------------------------------------------------------------------------ */
/* Run                                                                        */

static void im2col_run(const vconv_conv_shape *s, const float *packed, const float *bias,
                       const float *input, float *output, void *workspace, size_t task) {
  plan pl;
  make_plan(s, &pl);
  const int64_t red = reduction(s), pq = s->P * s->Q;
  const int64_t blk_i = (int64_t)task % pl.blocks, ng = (int64_t)task / pl.blocks;
  const int64_t n = ng / s->G, g = ng % s->G;
  const int64_t lo = blk_i * pl.blk, cnt = min64(pl.blk, pq - lo);
  const int pw = pointwise(s);
  const float *bias_g = bias ? bias + g * s->Kg : NULL;
  float *buf = workspace;

  for (int64_t pc = 0; pc < red; pc += pl.kc) {
    const int64_t kcur = min64(pl.kc, red - pc);
    /* Pass 1 writes bias + sum, later passes add to it, the last one clamps. */
    const vconv_gemm_epilogue e = {1.0f, pc == 0 ? 0.0f : 1.0f, pc == 0 ? bias_g : NULL,
                                   s->layout == VCONV_LAYOUT_NHWC,
                                   pc + kcur == red && s->act != VCONV_ACTIVATION_NONE,
                                   s->act_min, s->act_max};
    if (s->layout == VCONV_LAYOUT_NCHW) {
      /* B panel by panel, each multiplied by all of the pass's weights while
       * it is still in L1/L2: a packed block of several panels would be
       * written out to L3 and read back (AlexNet conv1: 1.5 MB). */
      const float *img = input + (n * s->C + g * s->Cg) * s->H * s->W;
      nchw_scratch l;
      nchw_layout(s, &pl, &l);
      void *tab = buf + l.tab_at;
      src_view v = {img, 0, 0, s->H * s->W, s->W, 0};
      if (!pw && s->sw > 1) {
        const int64_t RS = s->R * s->S;
        int64_t h0, h1;
        band(s, lo, cnt, &h0, &h1);
        phase_split(s, img, pc / RS, (pc + kcur - 1) / RS + 1, h0, h1, buf + l.phase_at, &v);
      }
      const float *wa = packed + g * vconv_gemm_packed_a_floats(s->Kg, red) + pc * MR;
      float *o = output + (n * s->K + g * s->Kg) * pq + lo;
      for (int64_t jp = 0; jp < cnt; jp += NR) {
        const int64_t cols = min64(NR, cnt - jp);
        if (pw)
          VCONV_GEMM_FN(vconv_gemm_pack_b)(0, img + pc * pq + lo + jp, pq, kcur, cols, buf);
        else
          pack_b_im2col(s, &v, pc, kcur, lo + jp, cols, buf, tab);
        VCONV_GEMM_FN(vconv_gemm_macro)(s->Kg, cols, kcur, wa, red * MR, buf, kcur * NR, o + jp, pq,
                                        &e, 0, 0);
      }
    } else {
      const float *img = input + n * s->H * s->W * s->C;
      if (pw)
        VCONV_GEMM_FN(vconv_gemm_pack_a)(0, img + lo * s->C + g * s->Cg + pc, s->C, cnt, kcur, buf);
      else
        pack_a_im2col(s, img, g, pc, kcur, lo, cnt, buf);
      const float *wb = packed + g * vconv_gemm_packed_b_floats(red, s->Kg);
      float *o = output + (n * pq + lo) * s->K + g * s->Kg;
      VCONV_GEMM_FN(vconv_gemm_macro)(cnt, s->Kg, kcur, buf, kcur * MR, wb + pc * NR, red * NR, o,
                                      s->K, &e, 0, 0);
    }
  }
}

#define STR_(x) #x
#define STR(x) STR_(x)

const vconv_conv_kernel VCONV_TIERED(vconv_im2col_kernel) = {
    .algo = VCONV_ALGO_IM2COL,
    .isa = VEC_ISA,
    .name = "im2col/" STR(VCONV_TIER),
    .applicable = im2col_applicable,
    .packed_floats = im2col_packed_floats,
    .pack = im2col_pack,
    .task_workspace = im2col_task_workspace,
    .task_count = im2col_task_count,
    .run = im2col_run,
};
