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
 * The im2col matrix is never built.  NCHW: each task packs one kc x NR panel
 * of it at a time, straight from the input into the GEMM's panel format
 * (padding taps as zeros), and multiplies it by the weights at once, while
 * it is still in L1/L2; the worker's scratch holds one panel plus a band of
 * input rows (a few hundred KB), never C*R*S*P*Q floats.  NHWC: each task
 * packs its block of output pixels (mc x kc) as A.  A 1x1, stride-1,
 * unpadded convolution needs no im2col at all: the input already is the
 * operand and is packed like any matrix.  Bias and activation are applied
 * by the GEMM's tile store (bias on the first reduction pass, the clamp on
 * the last), so the output is never re-read for an epilogue.
 *
 * Tasks: (image, group, block of output pixels), so batch 1 parallelises.
 * Connection tables are declined (see im2col_plan).
 */
#include <stdint.h>
#include <string.h>

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

static void make_plan(const vconv_conv_shape *s, const vconv_machine *m, plan *pl) {
  vconv_gemm_blocking b;
  VCONV_GEMM_FN(vconv_gemm_blocking)(m, &b);
  const int64_t red = reduction(s), pq = s->P * s->Q;
  const int64_t passes = (red + b.kc - 1) / b.kc;
  pl->kc = (red + passes - 1) / passes;
  /* NCHW packs B a panel at a time, so blk only sizes the input band a task
   * reads (about blk / Q + R rows of each channel of a pass): 1024 pixels
   * keep it to a few hundred KB.  NHWC packs the task's pixels as one
   * mc x kc block of A. */
  const int64_t tile = s->layout == VCONV_LAYOUT_NCHW ? NR : MR;
  int64_t blk = s->layout == VCONV_LAYOUT_NCHW ? min64(b.nc, 1024 / NR * NR) : b.mc;
  blk = min64(blk, round_up(pq, tile));
  while (blk > tile && s->N * s->G * ((pq + blk - 1) / blk) < MIN_TASKS)
    blk = round_up(blk / 2, tile);
  pl->blk = blk;
  pl->blocks = (pq + blk - 1) / blk;
}

static size_t packed_floats(const vconv_conv_shape *s) {
  const int64_t red = reduction(s);
  if (s->layout == VCONV_LAYOUT_NCHW) return (size_t)s->G * vconv_gemm_packed_a_floats(s->Kg, red);
  return (size_t)s->G * vconv_gemm_packed_b_floats(red, s->Kg);
}

static void im2col_pack(const vconv_conv_shape *s, const vconv_conv_plan *p, const float *w,
                        float *packed) {
  (void)p; /* the whole reduction is packed, whatever the plan's kc */
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
 * overwritten by the next run, the next row or nothing.  (Masked stores were
 * the hot spot of the packing in Zen 5 profiles; masked loads are not.)  The
 * caller's input is only ever read with a masked load at a run's end, never
 * past it.
 */
static void copy_run(float *d, const float *src, int64_t n) {
  int64_t u = 0;
  for (; u + VEC_W <= n; u += VEC_W) vf_storeu(d + u, vf_loadu(src + u));
  if (u < n) vf_storeu(d + u, vf_load_part(src + u, (int)(n - u)));
}

/* copy_run without masks, for runs read from the band (our own buffer, with
 * VEC_W floats of slack at its end): reads up to VEC_W-1 floats past the run
 * too, whose values land only where a later run or row overwrites them.
 * n > 0. */
static inline void copy_run_over(float *d, const float *src, int64_t n) {
  /* The first copy outside the loop keeps gcc from turning the loop into a memcpy call. */
  vf_storeu(d, vf_loadu(src));
  for (int64_t u = VEC_W; u < n; u += VEC_W) vf_storeu(d + u, vf_loadu(src + u));
}

static void zero_run(float *d, int64_t n) {
  if (n <= 0) return;
  /* The first store outside the loop keeps gcc from turning short runs into memset calls. */
  vf_storeu(d, vf_zero());
  for (int64_t u = VEC_W; u < n; u += VEC_W) vf_storeu(d + u, vf_zero());
}

/*
 * The B packing reads a band of the input made ready for it, per task and
 * reduction pass: the pass's channels, the rows the task's output pixels
 * need, zero padding included (so no tap is ever tested against the image
 * border), and with a horizontal stride sw > 1 split into phases: padded
 * column x at [x % sw][x / sw], phases wp floats apart, so a tap's run of
 * output pixels is a contiguous run of the band instead of every sw-th float
 * (AlexNet conv1, stride 4, packs 7x more floats than its input holds: the
 * strided gathers were a third of its time).  Building the band copies each
 * input float about once per task; packing then copies runs without a test.
 */
typedef struct band_view {
  const float *base;
  int64_t c0, hp0;        /* first channel, first padded row */
  int64_t cpitch, rpitch; /* floats between channels, rows */
  int64_t wp;             /* floats per phase */
} band_view;

static int64_t padded_width(const vconv_conv_shape *s) { return s->W + s->pl + s->pr; }
static int64_t phase_width(const vconv_conv_shape *s) { return (padded_width(s) + s->sw - 1) / s->sw; }

/* Padded rows [*hp0, *hp1) read by output pixels lo .. lo+cnt-1. */
static void band_rows(const vconv_conv_shape *s, int64_t lo, int64_t cnt, int64_t *hp0,
                      int64_t *hp1) {
  *hp0 = lo / s->Q * s->sh;
  *hp1 = (lo + cnt - 1) / s->Q * s->sh + (s->R - 1) * s->dh + 1;
}

/* Floats of the band of one task's pass, VEC_W of slack, and with a stride
 * a padded row to split from. */
static int64_t band_floats(const vconv_conv_shape *s, const plan *pl) {
  if (pointwise(s)) return 0;
  const int64_t chans = min64(s->Cg, (pl->kc - 1) / (s->R * s->S) + 2);
  /* A band never holds more than the padded rows there are (a tall stride on a
   * short input would otherwise size it by the stride). */
  const int64_t rows = min64(((pl->blk - 1) / s->Q + 1) * s->sh + (s->R - 1) * s->dh + 1,
                             s->H + s->pt + s->pb);
  return chans * rows * s->sw * phase_width(s) + VEC_W + (s->sw > 1 ? padded_width(s) + VEC_W : 0);
}

#if defined(__GNUC__)
#  define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#  define ALWAYS_INLINE inline
#endif

/* Phase split of one padded row; inlined with a constant stride the
 * compiler turns the strided reads into vector permutes. */
static ALWAYS_INLINE void split_row(float *restrict d, const float *restrict row, int64_t n,
                                    int64_t wp, const int64_t sw) {
  for (int64_t ph = 0; ph < sw; ph++)
    for (int64_t i = 0; i * sw + ph < n; i++) d[ph * wp + i] = row[i * sw + ph];
}

/* Stride 2 and 4 by deinterleaving whole vectors (gcc leaves the stride-4
 * loop above scalar: AlexNet conv1's band cost 4% of the layer), over the
 * blocks of sw * VEC_W floats that lie wholly inside the row, so that no
 * read passes the row's end and no phase's last vector runs into the next
 * phase; the rest goes through split_row's scalar tail. */
static ALWAYS_INLINE void split_row_vec(float *restrict d, const float *restrict row, int64_t n,
                                        int64_t wp, const int64_t sw) {
  const int64_t blocks = n / (sw * VEC_W);
  for (int64_t b = 0; b < blocks; b++) {
    const float *r = row + b * sw * VEC_W;
    float *o = d + b * VEC_W;
    vf e0, o0;
    vf_deinterleave(vf_loadu(r), vf_loadu(r + VEC_W), &e0, &o0);
    if (sw == 2) {
      vf_storeu(o, e0);
      vf_storeu(o + wp, o0);
      continue;
    }
    vf e1, o1, p0, p1, p2, p3;
    vf_deinterleave(vf_loadu(r + 2 * VEC_W), vf_loadu(r + 3 * VEC_W), &e1, &o1);
    vf_deinterleave(e0, e1, &p0, &p2);
    vf_deinterleave(o0, o1, &p1, &p3);
    vf_storeu(o, p0);
    vf_storeu(o + wp, p1);
    vf_storeu(o + 2 * wp, p2);
    vf_storeu(o + 3 * wp, p3);
  }
  const int64_t done = blocks * VEC_W; /* floats of each phase written */
  for (int64_t ph = 0; ph < sw; ph++)
    for (int64_t i = done; i * sw + ph < n; i++) d[ph * wp + i] = row[i * sw + ph];
}

static void build_band(const vconv_conv_shape *s, const float *img, int64_t c0, int64_t c1,
                       int64_t hp0, int64_t hp1, float *dst, band_view *v) {
  const int64_t sw = s->sw, wp = phase_width(s), wpad = padded_width(s);
  float *tmp = dst + (c1 - c0) * (hp1 - hp0) * sw * wp + VEC_W; /* the padded row (stride > 1) */
  v->base = dst;
  v->c0 = c0;
  v->hp0 = hp0;
  v->rpitch = sw * wp;
  v->cpitch = (hp1 - hp0) * v->rpitch;
  v->wp = wp;
  for (int64_t c = c0; c < c1; c++)
    for (int64_t hr = hp0; hr < hp1; hr++) {
      float *d = dst + (c - c0) * v->cpitch + (hr - hp0) * v->rpitch;
      const int64_t ih = hr - s->pt;
      if (ih < 0 || ih >= s->H) {
        zero_run(d, v->rpitch);
        continue;
      }
      const float *src = img + (c * s->H + ih) * s->W;
      if (sw == 1) {
        /* Written front to back: each run's overhang is overwritten by the next. */
        zero_run(d, s->pl);
        copy_run(d + s->pl, src, s->W);
        zero_run(d + s->pl + s->W, s->pr);
        continue;
      }
      /* Without horizontal padding the image row itself is the padded row. */
      const float *row = src;
      if (s->pl > 0 || s->pr > 0) {
        zero_run(tmp, s->pl);
        copy_run(tmp + s->pl, src, s->W);
        zero_run(tmp + s->pl + s->W, s->pr);
        row = tmp;
      }
      switch (sw) {
        case 2: split_row_vec(d, row, wpad, wp, 2); break;
        case 3: split_row(d, row, wpad, wp, 3); break;
        case 4: split_row_vec(d, row, wpad, wp, 4); break;
        default: split_row(d, row, wpad, wp, sw); break;
      }
    }
}

/* Scratch of pack_b_im2col's table, in bytes. */
static size_t tap_table_bytes(const vconv_conv_shape *s) { return (size_t)s->S * sizeof(int64_t); }

/*
 * Rows t0 .. t0+kc-1 of im2col(image) restricted to output pixels j0 ..
 * j0+ncols-1, as NR-column panels, from the band.  tab: tap_table_bytes().
 * The pixels of a panel fall into runs along output rows, and where a run
 * reads for tap (c, r, s) is the run's own offset plus the tap's: a panel row
 * is one add and one copy per run.
 */
static void pack_b_im2col(const vconv_conv_shape *s, const band_view *v, int64_t t0, int64_t kc,
                          int64_t j0, int64_t ncols, float *dst, void *tab) {
  const int64_t RS = s->R * s->S, sw = s->sw;
  int64_t *coff = tab; /* kernel column t: offset in a band row */
  for (int64_t t = 0; t < s->S; t++) {
    const int64_t x = t * s->dw;
    coff[t] = sw == 1 ? x : x % sw * v->wp + x / sw;
  }
  const int64_t rstep = s->dh * v->rpitch;
  for (int64_t jp = 0; jp < ncols; jp += NR, dst += kc * NR) {
    const int64_t cols = min64(NR, ncols - jp);
    int64_t doff[NR], len[NR], src[NR];
    int nseg = 0;
    for (int64_t off = 0, j = j0 + jp; off < cols; nseg++) {
      const int64_t p = j / s->Q, q = j % s->Q, n = min64(s->Q - q, cols - off);
      doff[nseg] = off;
      len[nseg] = n;
      src[nseg] = (p * s->sh - v->hp0) * v->rpitch + q; /* tap (0, 0, 0) of the run's first pixel */
      off += n;
      j += n;
    }
    int64_t c = t0 / RS, r = t0 % RS / s->S, t = t0 % s->S;
    for (int64_t tt = 0; tt < kc; tt++) {
      float *d = dst + tt * NR;
      const float *b = v->base + (c - v->c0) * v->cpitch + r * rstep + coff[t];
      for (int i = 0; i < nseg; i++) copy_run_over(d + doff[i], b + src[i], len[i]);
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
 * A pixel's reduction is read in runs as long as the input allows: one tap's
 * Cg channels, or with a single group and no horizontal dilation a whole
 * kernel row's S*C floats, which are adjacent in NHWC (LeNet C1, one input
 * channel, would otherwise pay a run's overhead for every float).
 */
static void pack_a_im2col(const vconv_conv_shape *s, const float *img, int64_t g, int64_t t0,
                          int64_t kc, int64_t m0, int64_t mrows, float *dst) {
  const int64_t SC = s->S * s->Cg;
  const int merge = s->G == 1 && s->dw == 1;
  for (int64_t i0 = 0; i0 < mrows; i0 += MR, dst += kc * MR) {
    const int rows = (int)min64(MR, mrows - i0);
    for (int i = 0; i < MR; i++) {
      float *d = dst + i;
      if (i >= rows) {
        for (int64_t tt = 0; tt < kc; tt++) d[tt * MR] = 0.0f;
        continue;
      }
      const int64_t pix = m0 + i0 + i, p = pix / s->Q, q = pix % s->Q;
      const int64_t iwq = q * s->sw - s->pl; /* input column of kernel column 0 */
      int64_t r = t0 / SC, t = t0 % SC / s->Cg, c = t0 % s->Cg;
      for (int64_t tt = 0; tt < kc;) {
        const int64_t ih = p * s->sh - s->pt + r * s->dh, iw = iwq + t * s->dw;
        int64_t run, taps; /* floats of this run, kernel columns it finishes */
        const float *src = NULL;
        if (ih < 0 || ih >= s->H) {
          taps = s->S - t; /* the rest of the kernel row is padding */
          run = taps * s->Cg - c;
        } else if (iw < 0 || iw >= s->W) {
          taps = 1;
          run = s->Cg - c;
        } else {
          taps = 1;
          if (merge) { /* kernel columns t.. inside the image, adjacent in memory */
            const int64_t end = min64(s->S, s->W - iwq);
            taps = end - t;
          }
          run = taps * s->Cg - c;
          src = img + (ih * s->W + iw) * s->C + g * s->Cg + c;
        }
        if (run > kc - tt) run = kc - tt; /* the pass ends inside the run: no advance needed */
        float *dd = d + tt * MR;
        if (src)
          for (int64_t u = 0; u < run; u++) dd[u * MR] = src[u];
        else
          for (int64_t u = 0; u < run; u++) dd[u * MR] = 0.0f;
        tt += run;
        c = 0;
        t += taps;
        if (t == s->S) t = 0, r++;
      }
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Scratch and tasks                                                          */

/* NCHW scratch: one B panel, the band, the tap tables (floats, each 64-byte aligned). */
typedef struct nchw_scratch {
  size_t phase_at, tab_at, end;
} nchw_scratch;

static void nchw_layout(const vconv_conv_shape *s, const plan *pl, nchw_scratch *l) {
  l->phase_at = (vconv_gemm_packed_b_floats(pl->kc, NR) + VEC_W + 15) / 16 * 16; /* + slack */
  l->tab_at = l->phase_at + (size_t)(band_floats(s, pl) + 15) / 16 * 16;
  l->end = l->tab_at + (tap_table_bytes(s) + sizeof(float) - 1) / sizeof(float);
}

_Static_assert(sizeof(plan) <= sizeof(((vconv_conv_plan *)0)->own), "im2col plan too large");

static const char *const path_names[] = {"gemm"};

/* Connection tables are declined: zero weights for the unconnected pairs
 * would turn an inf input into inf * 0 = NaN. */
static int im2col_plan(const vconv_conv_shape *s, const vconv_machine *m, int path,
                       vconv_conv_plan *p) {
  if (s->conn || (path != VCONV_PATH_ANY && path != 0)) return 0;
  plan pl;
  make_plan(s, m, &pl);
  memset(p, 0, sizeof *p);
  p->packed_floats = packed_floats(s);
  if (s->layout == VCONV_LAYOUT_NHWC) {
    p->task_workspace = vconv_gemm_packed_a_floats(pl.blk, pl.kc) * sizeof(float);
  } else {
    nchw_scratch l;
    nchw_layout(s, &pl, &l);
    p->task_workspace = l.end * sizeof(float);
  }
  p->task_count = (size_t)(s->N * s->G * pl.blocks);
  /* The GEMM's tiles: weights rows (NCHW) or columns (NHWC) to the register
   * tile, pixels to the other side's; the matrix it packs. */
  const int64_t red = reduction(s), pq = s->P * s->Q;
  const int64_t krows = s->layout == VCONV_LAYOUT_NCHW ? round_up(s->Kg, MR) : round_up(s->Kg, NR);
  const int64_t pcols = s->layout == VCONV_LAYOUT_NCHW ? round_up(pq, NR) : round_up(pq, MR);
  p->macs = (double)(s->N * s->G) * (double)krows * (double)pcols * (double)red;
  p->moved = (double)(s->N * s->G) * (double)red * (double)pq;
  memcpy(&p->own, &pl, sizeof pl);
  return 1;
}

/* ------------------------------------------------------------------------ */
/* Run                                                                        */

static void im2col_run(const vconv_conv_shape *s, const vconv_conv_plan *p, const float *packed,
                       const float *bias, const float *input, float *output, void *workspace,
                       size_t task) {
  plan pl;
  memcpy(&pl, &p->own, sizeof pl);
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
      band_view v = {0};
      if (!pw) {
        const int64_t RS = s->R * s->S;
        int64_t hp0, hp1;
        band_rows(s, lo, cnt, &hp0, &hp1);
        build_band(s, img, pc / RS, (pc + kcur - 1) / RS + 1, hp0, hp1, buf + l.phase_at, &v);
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
    .paths = path_names,
    .npaths = 1,
    .plan = im2col_plan,
    .pack = im2col_pack,
    .run = im2col_run,
};
