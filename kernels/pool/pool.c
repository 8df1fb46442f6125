/*
 * Pooling forward, written once over the vector layer and compiled per tier
 * (backward: pool_backward.c).  One numeric rule everywhere, SIMD bodies and
 * tails alike: max is vf_maximum / pool_max1, whose result does not depend on
 * the order a window is scanned in (NaN wins, -0 beats +0), so the separable,
 * per-tap and scalar paths below agree bitwise.  Padding taps are skipped,
 * never read.
 *
 * NCHW: a task is a few whole planes (n, c).  Max, average and L2 are separable: each
 *   output row first reduces its window rows column by column (vertical, one
 *   vector of columns at a time), then reduces along the row (horizontal).
 *   At horizontal stride 2 the vertical result is split into even and odd
 *   columns with vector shuffles, so output q's taps 2q, 2q+1, 2q+2 are lanes
 *   of E[q], O[q], E[q+1]: every input float is loaded once per window row
 *   that covers it and the output is written once, which is what a
 *   bandwidth-bound layer needs.  Windows of 2 or 3 columns at stride 2 keep
 *   everything in registers; other shapes go through a row buffer.  Weighted
 *   pooling is not separable and accumulates all taps per vector of outputs.
 *   Outputs whose window crosses the left/right edge are computed one by one.
 * NHWC: a task is one output row (n, p); channels are the vector dimension.
 * Saved indices and stochastic pooling run the scalar window routines of
 * pool_common.h in every tier.
 *
 * Tails: a vector that would run past the end of a row is loaded whole when it
 * still lies inside the input tensor (its extra lanes belong to the next row
 * and only ever reach lanes that are not stored), and with a partial load
 * only at the very end of the tensor, so a buffer ending at a page boundary
 * is never over-read.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "kernel.h"
#include "pool/pool_common.h"
#include "vec/vec.h"

/* Scratch a task can take from its own stack before it needs the workspace. */
#define STACK_FLOATS 4096

enum { OP_MAX, OP_SUM, OP_SQ }; /* separable reductions */

static int op_of(vconv_pool_kind k) {
  return k == VCONV_POOL_MAX ? OP_MAX : k == VCONV_POOL_L2 ? OP_SQ : OP_SUM;
}

/* Floats of scratch one NCHW task needs: a vertical row, its even/odd halves,
 * or (weighted, stride 2) every window row split into halves. */
static size_t nchw_floats(const vconv_pool_shape *s) {
  const size_t row = (size_t)s->W + 4 * VEC_W;
  size_t need = 3 * row;
  if (s->kind == VCONV_POOL_WEIGHTED) need += (size_t)s->R * row;
  return need + 4 * VEC_W;
}

/* NCHW tasks take whole planes, enough of them for about 64 KB of input: a
 * task costs a shared-counter update, a few calls and the plane loop's setup,
 * which at 16 KB per task still showed as 5% of AlexNet pool2. */
static int64_t planes_per_task(const vconv_pool_shape *s) {
  const int64_t k = 16384 / (s->H * s->W);
  return k < 1 ? 1 : k;
}

static size_t pool_task_count(const vconv_pool_shape *s) {
  if (s->layout != VCONV_LAYOUT_NCHW) return (size_t)(s->N * s->P);
  const int64_t k = planes_per_task(s);
  return (size_t)((s->N * s->C + k - 1) / k);
}

static size_t pool_task_workspace(const vconv_pool_shape *s) {
  if (s->layout != VCONV_LAYOUT_NCHW) return 0;
  const size_t f = nchw_floats(s);
  return f <= STACK_FLOATS ? 0 : f * sizeof(float);
}

/* n valid floats at p (n may exceed VEC_W or be <= 0): a whole vector while it
 * stays inside the tensor (end), else only the valid floats. */
POOL_INLINE vf load_cols(const float *p, int64_t n, const float *end) {
  if (n >= VEC_W || end - p >= VEC_W) return vf_loadu(p);
  return n > 0 ? vf_load_part(p, (int)n) : vf_zero();
}

POOL_INLINE void store_cols(float *p, vf v, int64_t n) {
  if (n >= VEC_W)
    vf_storeu(p, v);
  else
    vf_store_part(p, v, (int)n);
}

/* Software prefetch of the n floats PF_AHEAD floats past p, a line per 16
 * floats, where they lie inside the tensor (end).  The hardware prefetcher
 * alone left AlexNet pool1 at batch 16 (23 MB, streamed from L3 and beyond)
 * at half the speed this gives; 5 KB ahead measured best (2.5 to 10 KB tried). */
#define PF_AHEAD 1280
POOL_INLINE void prefetch_ahead(const float *p, int64_t n, const float *end) {
#if defined(__GNUC__)
  if (end - p < PF_AHEAD + n) return;
  for (int64_t f = 0; f < n; f += 16) __builtin_prefetch(p + PF_AHEAD + f);
#else
  (void)p, (void)n, (void)end;
#endif
}

POOL_INLINE vf combine(int op, vf acc, vf x) {
  if (op == OP_MAX) return vf_maximum(acc, x);
  if (op == OP_SQ) return vf_fmadd(x, x, acc);
  return vf_add(acc, x);
}

POOL_INLINE vf first_term(int op, vf x) { return op == OP_SQ ? vf_mul(x, x) : x; }

/* One vector of a row: a plain load where the caller knows it is whole. */
POOL_INLINE vf load_row(int full, const float *p, int64_t n, const float *end) {
  return full ? vf_loadu(p) : load_cols(p, n, end);
}

/* Vertical reduction of column vector c (n valid columns) over nr <= 4 rows. */
POOL_INLINE vf vred4(int op, int full, const float *const *rows, int nr, int64_t c, int64_t n,
                     const float *end) {
  vf acc = first_term(op, load_row(full, rows[0] + c, n, end));
  if (nr > 1) acc = combine(op, acc, load_row(full, rows[1] + c, n, end));
  if (nr > 2) acc = combine(op, acc, load_row(full, rows[2] + c, n, end));
  if (nr > 3) acc = combine(op, acc, load_row(full, rows[3] + c, n, end));
  return acc;
}

typedef struct nchw_plane {
  const vconv_pool_shape *s;
  const float *x;      /* input plane */
  const float *end;    /* one past the input tensor */
  float *y;            /* output plane */
  float *buf;          /* scratch, nchw_floats(s) floats */
  int64_t qa, qb;      /* outputs whose taps all lie inside the row */
  int s2;              /* the register path applies: stride 2, 2 or 3 columns, no left pad */
  int64_t p_lo, p_hi;  /* output rows rows_s2 takes (none when equal) */
} nchw_plane;

/* Windows that cross the left or right edge, one output at a time. */
static void nchw_borders(const nchw_plane *c, int64_t p) {
  const pool_plane v = {c->x, c->s->W, 1};
  for (int64_t q = 0; q < c->qa; q++) c->y[p * c->s->Q + q] = pool_window(c->s, v, p, q, NULL);
  for (int64_t q = c->qb; q < c->s->Q; q++) c->y[p * c->s->Q + q] = pool_window(c->s, v, p, q, NULL);
}

/* The interior's last step: scale (average), square root (L2). */
POOL_INLINE vf finish(int op, vf acc, float scale) {
  if (op == OP_SUM) acc = vf_mul(acc, vf_set1(scale));
  if (op == OP_SQ) acc = vf_sqrt(acc);
  return acc;
}

POOL_INLINE void finish_store(int op, float *dst, vf acc, float scale, int64_t n) {
  store_cols(dst, finish(op, acc, scale), n);
}

/*
 * Separable kinds at stride 2 with 2 or 3 window columns (three), no left
 * padding and at most 4 window rows (nr): column pairs (2 * VEC_W input
 * columns) are reduced vertically, split into even and odd lanes and reduced
 * horizontally without leaving registers.  Output vector j needs E[j], O[j]
 * and, for 3 columns, E[j+1]'s first lane: it is finished one pair later.
 * full: every pair may be loaded whole (the plane is not the tensor's last);
 * else only a row's last pair checks.  A row of at most VEC_W floats has no
 * second half to load.
 */
POOL_INLINE void row_s2(int op, int nr, int three, int full, const float *const *rows, int64_t W,
                        int64_t qb, const float *end, float scale, float *yrow) {
  const int hop = op == OP_MAX ? OP_MAX : OP_SUM;
  vf e_prev, o_prev;
  {
    const int whole = full || 2 * VEC_W <= W;
    const vf a = vred4(op, whole, rows, nr, 0, W, end);
    const vf b = W > VEC_W ? vred4(op, whole, rows, nr, VEC_W, W - VEC_W, end) : vf_zero();
    vf_deinterleave(a, b, &e_prev, &o_prev);
  }
  int64_t q = 0;
  for (int64_t col = 2 * VEC_W; col < W && q < qb; col += 2 * VEC_W, q += VEC_W) {
    vf e, o;
    const int whole = full || col + 2 * VEC_W <= W;
    const vf a = vred4(op, whole, rows, nr, col, W - col, end);
    const vf b = vred4(op, whole, rows, nr, col + VEC_W, W - col - VEC_W, end);
    vf_deinterleave(a, b, &e, &o);
    vf acc = combine(hop, e_prev, o_prev);
    if (three) acc = combine(hop, acc, vf_alignr1(e, e_prev));
    finish_store(op, yrow + q, acc, scale, qb - q);
    e_prev = e;
    o_prev = o;
  }
  if (q < qb) {
    /* The last pair: lane VEC_W-1 would need a column past the row, and that
     * output is not an interior one, so the missing E lane is never stored. */
    vf acc = combine(hop, e_prev, o_prev);
    if (three) acc = combine(hop, acc, vf_alignr1(e_prev, e_prev));
    finish_store(op, yrow + q, acc, scale, qb - q);
  }
}

/*
 * Separable kinds, any shape: the vertical reduction of every column goes to
 * vrow, then each interior output reduces its taps with unaligned loads from
 * vrow (stride 1) or from its even / odd halves (stride 2).  Larger strides
 * (rare) reduce horizontally one output at a time.
 */
POOL_INLINE void nchw_row_buffered(int op, const nchw_plane *c, int64_t h0, int64_t r0, int64_t r1,
                                   float scale, float *yrow) {
  const vconv_pool_shape *s = c->s;
  const int64_t W = s->W, row_floats = W + 4 * VEC_W;
  float *vrow = c->buf, *ph0 = vrow + row_floats, *ph1 = ph0 + row_floats;
  const int64_t nr = r1 - r0;
  if (nr <= 4) {
    const float *rows[4] = {NULL, NULL, NULL, NULL};
    for (int64_t i = 0; i < nr; i++) rows[i] = c->x + (h0 + (r0 + i) * s->dh) * W;
    for (int64_t col = 0; col < W; col += VEC_W)
      vf_storeu(vrow + col, vred4(op, 0, rows, (int)nr, col, W - col, c->end));
  } else {
    for (int64_t col = 0; col < W; col += VEC_W)
      vf_storeu(vrow + col, first_term(op, load_cols(c->x + (h0 + r0 * s->dh) * W + col, W - col, c->end)));
    for (int64_t r = r0 + 1; r < r1; r++) {
      const float *row = c->x + (h0 + r * s->dh) * W;
      for (int64_t col = 0; col < W; col += VEC_W)
        vf_storeu(vrow + col, combine(op, vf_loadu(vrow + col), load_cols(row + col, W - col, c->end)));
    }
  }
  const int hop = op == OP_MAX ? OP_MAX : OP_SUM;
  if (s->sw == 1) {
    for (int64_t q = c->qa; q < c->qb; q += VEC_W) {
      vf acc = vf_loadu(vrow + q - s->pl);
      for (int64_t t = 1; t < s->S; t++) acc = combine(hop, acc, vf_loadu(vrow + q + t * s->dw - s->pl));
      finish_store(op, yrow + q, acc, scale, c->qb - q);
    }
  } else if (s->sw == 2) {
    for (int64_t col = 0; col < W; col += 2 * VEC_W) {
      vf e, o;
      vf_deinterleave(vf_loadu(vrow + col), vf_loadu(vrow + col + VEC_W), &e, &o);
      vf_storeu(ph0 + col / 2, e);
      vf_storeu(ph1 + col / 2, o);
    }
    for (int64_t q = c->qa; q < c->qb; q += VEC_W) {
      vf acc = vf_zero();
      for (int64_t t = 0; t < s->S; t++) {
        /* Interior outputs have 2q + off >= 0; its halves index q + floor(off / 2). */
        const int64_t off = t * s->dw - s->pl, odd = off & 1, k = (off - odd) / 2;
        const vf x = vf_loadu((odd ? ph1 : ph0) + q + k);
        acc = t == 0 ? x : combine(hop, acc, x);
      }
      finish_store(op, yrow + q, acc, scale, c->qb - q);
    }
  } else {
    for (int64_t q = c->qa; q < c->qb; q++) {
      float acc = vrow[q * s->sw - s->pl];
      for (int64_t t = 1; t < s->S; t++) {
        const float x = vrow[q * s->sw + t * s->dw - s->pl];
        acc = op == OP_MAX ? pool_max1(acc, x) : acc + x;
      }
      if (op == OP_SUM) acc *= scale;
      if (op == OP_SQ) acc = sqrtf(acc);
      yrow[q] = acc;
    }
  }
}

/* One output row of the separable kinds, any shape. */
POOL_INLINE void separable_row(int op, const nchw_plane *c, int64_t p) {
  const vconv_pool_shape *s = c->s;
  float *yrow = c->y + p * s->Q;
  int64_t r0, r1;
  const int64_t h0 = p * s->sh - s->pt;
  vconv_valid_range(h0, s->dh, s->H, s->R, &r0, &r1);
  if (r1 == r0) { /* dilation only: the window steps over the input, an empty max or sum */
    for (int64_t q = 0; q < s->Q; q++) yrow[q] = op == OP_MAX ? -INFINITY : 0.0f;
    return;
  }
  /* Interior outputs have all window columns inside the input: divisor rows * S. */
  const float scale = op == OP_SUM ? 1.0f / (float)(pool_avg_rows(s, h0) * s->S) : 1.0f;
  if (c->qa < c->qb) {
    if (c->s2 && r1 - r0 <= 4) {
      const float *rows[4] = {NULL, NULL, NULL, NULL};
      for (int64_t i = 0; i < r1 - r0; i++) rows[i] = c->x + (h0 + (r0 + i) * s->dh) * s->W;
      row_s2(op, (int)(r1 - r0), s->S == 3, 0, rows, s->W, c->qb, c->end, scale, yrow);
    } else {
      nchw_row_buffered(op, c, h0, r0, r1, scale, yrow);
    }
  }
  if (c->qa > 0 || c->qb < s->Q) nchw_borders(c, p);
}

/*
 * The common case, with everything the compiler can know made constant: nr
 * window rows all inside the input (rows p_lo .. p_hi-1), no column borders
 * on the left, `planes` consecutive planes.  AlexNet's and LeNet's pools are
 * all of this kind.
 */
POOL_INLINE void rows_s2(int op, int nr, int three, int full, const nchw_plane *c, int64_t planes) {
  const int64_t W = c->s->W, sh = c->s->sh, dh = c->s->dh, pt = c->s->pt, Q = c->s->Q;
  const int64_t qb = c->qb, p_lo = c->p_lo, p_hi = c->p_hi, HW = c->s->H * W, PQ = c->s->P * Q;
  const float *const end = c->end;
  const float scale = op == OP_SUM ? 1.0f / (float)(nr * (three ? 3 : 2)) : 1.0f;
  const int hop = op == OP_MAX ? OP_MAX : OP_SUM;
  /* 3 rows at stride 2: output row p's first window row is row p-1's last.
   * Keeping its vectors in registers saves a third of the loads, and the
   * loads (each spanning two cache lines at unaligned row starts) are what
   * bounds these rows. */
  const int carry = nr == 3 && sh == 2 && dh == 1;
  if (carry && W <= 4 * VEC_W && (VEC_W > 1 || W > VEC_W) && p_lo < p_hi) {
    /* One loop takes every row of these planes: the plane loop stays this
     * small (a plane of AlexNet pool2 is 13 rows, pool3's 6, and re-testing
     * the paths below per plane cost pool2 a fifth of its time). */
    for (int64_t k = 0; k < planes; k++) {
      const float *const x = c->x + k * HW;
      float *const y = c->y + k * PQ;
      int64_t p = p_lo;
      if (W <= VEC_W) {
        const float *r = x + (p * 2 - pt) * W;
        vf c0 = load_row(full, r, W, end);
        for (; p + 1 < p_hi; p += 2) {
          r = x + (p * 2 - pt) * W;
          prefetch_ahead(r + W, 4 * W, end);
          const vf x1 = load_row(full, r + W, W, end), x2 = load_row(full, r + 2 * W, W, end);
          const vf x3 = load_row(full, r + 3 * W, W, end), x4 = load_row(full, r + 4 * W, W, end);
          const vf a = combine(op, combine(op, first_term(op, c0), x1), x2);
          const vf b = combine(op, combine(op, first_term(op, x2), x3), x4);
          c0 = x4;
          vf e, o;
          vf_deinterleave(a, b, &e, &o);
          vf acc = combine(hop, e, o);
          if (three) acc = combine(hop, acc, vf_alignr1(e, e));
          acc = finish(op, acc, scale);
          store_cols(y + p * Q, acc, qb);
          store_cols(y + (p + 1) * Q, vf_swap_halves(acc), qb);
        }
        if (p < p_hi) { /* an odd row count leaves one */
          const float *r0 = x + (p * 2 - pt) * W;
          const float *rows[4] = {r0, r0 + W, r0 + 2 * W, NULL};
          row_s2(op, nr, three, full, rows, W, qb, end, scale, y + p * Q);
        }
      } else if (W <= 2 * VEC_W) {
        const float *r = x + (p * 2 - pt) * W;
        vf ca = load_row(full, r, W, end), cb = load_row(full, r + VEC_W, W - VEC_W, end);
        for (; p < p_hi; p++) {
          r = x + (p * 2 - pt) * W;
          prefetch_ahead(r + W, 2 * W, end);
          const vf a1 = load_row(full, r + W, W, end), b1 = load_row(full, r + W + VEC_W, W - VEC_W, end);
          const vf a2 = load_row(full, r + 2 * W, W, end), b2 = load_row(full, r + 2 * W + VEC_W, W - VEC_W, end);
          const vf a = combine(op, combine(op, first_term(op, ca), a1), a2);
          const vf b = combine(op, combine(op, first_term(op, cb), b1), b2);
          ca = a2;
          cb = b2;
          vf e, o;
          vf_deinterleave(a, b, &e, &o);
          vf acc = combine(hop, e, o);
          if (three) acc = combine(hop, acc, vf_alignr1(e, e));
          finish_store(op, y + p * Q, acc, scale, qb);
        }
      } else {
        /* Two column pairs per row (AlexNet pool1 at 16 lanes), the shared row
         * in four registers.  Lanes past the row (its last vector's tail, or a
         * whole fourth vector when W <= 3 VEC_W) only reach E / O lanes of
         * outputs that are not interior, so they are never stored. */
        const float *r = x + (p * 2 - pt) * W;
        vf c0 = load_row(full, r, W, end), c1 = load_row(full, r + VEC_W, W - VEC_W, end);
        vf c2 = load_row(full, r + 2 * VEC_W, W - 2 * VEC_W, end);
        vf c3 = load_row(full, r + 3 * VEC_W, W - 3 * VEC_W, end);
        for (; p < p_hi; p++) {
          const float *r1 = x + (p * 2 - pt + 1) * W, *r2 = r1 + W;
          prefetch_ahead(r1, 2 * W, end);
          const vf n0 = load_row(full, r2, W, end), n1 = load_row(full, r2 + VEC_W, W - VEC_W, end);
          const vf n2 = load_row(full, r2 + 2 * VEC_W, W - 2 * VEC_W, end);
          const vf n3 = load_row(full, r2 + 3 * VEC_W, W - 3 * VEC_W, end);
          const vf v0 = combine(op, combine(op, first_term(op, c0), load_row(full, r1, W, end)), n0);
          const vf v1 = combine(op, combine(op, first_term(op, c1), load_row(full, r1 + VEC_W, W - VEC_W, end)), n1);
          const vf v2 = combine(op, combine(op, first_term(op, c2), load_row(full, r1 + 2 * VEC_W, W - 2 * VEC_W, end)), n2);
          const vf v3 = combine(op, combine(op, first_term(op, c3), load_row(full, r1 + 3 * VEC_W, W - 3 * VEC_W, end)), n3);
          c0 = n0;
          c1 = n1;
          c2 = n2;
          c3 = n3;
          vf e0, o0, e1, o1;
          vf_deinterleave(v0, v1, &e0, &o0);
          vf_deinterleave(v2, v3, &e1, &o1);
          vf acc0 = combine(hop, e0, o0), acc1 = combine(hop, e1, o1);
          if (three) {
            acc0 = combine(hop, acc0, vf_alignr1(e1, e0));
            acc1 = combine(hop, acc1, vf_alignr1(e1, e1));
          }
          finish_store(op, y + p * Q, acc0, scale, qb);
          if (qb > VEC_W) finish_store(op, y + p * Q + VEC_W, acc1, scale, qb - VEC_W);
        }
      }
    }
    return;
  }
  for (int64_t k = 0; k < planes; k++) {
    const float *const x = c->x + k * HW;
    float *const y = c->y + k * PQ;
    int64_t p = p_lo;
    if (VEC_W > 1 && W <= VEC_W) {
      /* A row fits one vector: split two rows' vertical results at once, so
       * lanes 0 .. VEC_W/2-1 hold row p's even / odd columns and the upper
       * lanes row p+1's (Q <= VEC_W/2, and with 3 columns Q <= VEC_W/2 - 1, so
       * the shifted E never carries a lane across the halves into a stored
       * output).  Half the horizontal work and stores of one row per vector. */
      for (; p + 1 < p_hi; p += 2) {
        const float *a0 = x + (p * sh - pt) * W, *b0 = a0 + sh * W;
        const float *ra[4] = {a0, a0 + dh * W, a0 + 2 * dh * W, a0 + 3 * dh * W};
        const float *rb[4] = {b0, b0 + dh * W, b0 + 2 * dh * W, b0 + 3 * dh * W};
        vf e, o;
        vf_deinterleave(vred4(op, full, ra, nr, 0, W, end), vred4(op, full, rb, nr, 0, W, end), &e, &o);
        vf acc = combine(hop, e, o);
        if (three) acc = combine(hop, acc, vf_alignr1(e, e));
        acc = finish(op, acc, scale);
        store_cols(y + p * Q, acc, qb);
        store_cols(y + (p + 1) * Q, vf_swap_halves(acc), qb);
      }
    }
    if (W > VEC_W && W <= 2 * VEC_W) {
      /* One column pair per row: straight-line code, no pair loop. */
      for (; p < p_hi; p++) {
        const float *r0 = x + (p * sh - pt) * W;
        const float *rows[4] = {r0, r0 + dh * W, r0 + 2 * dh * W, r0 + 3 * dh * W};
        vf e, o;
        vf_deinterleave(vred4(op, full, rows, nr, 0, W, end),
                        vred4(op, full, rows, nr, VEC_W, W - VEC_W, end), &e, &o);
        vf acc = combine(hop, e, o);
        if (three) acc = combine(hop, acc, vf_alignr1(e, e));
        finish_store(op, y + p * Q, acc, scale, qb);
      }
    }
    for (; p < p_hi; p++) {
      const float *r0 = x + (p * sh - pt) * W;
      const float *rows[4] = {r0, r0 + dh * W, r0 + 2 * dh * W, r0 + 3 * dh * W};
      row_s2(op, nr, three, full, rows, W, qb, end, scale, y + p * Q);
    }
  }
}

/* One small function per specialisation: inlined into the plane loop they ran
 * out of registers and kept their counters on the stack. */
#if defined(__GNUC__)
#  define POOL_NOINLINE __attribute__((noinline))
#else
#  define POOL_NOINLINE
#endif
typedef void (*rows_fn)(const nchw_plane *c, int64_t planes);
#define ROWS_S2(OP, NR, THREE, FULL)                                                   \
  static POOL_NOINLINE void rows_##OP##_##NR##_##THREE##_##FULL(const nchw_plane *c, \
                                                                int64_t planes) {    \
    rows_s2(OP, NR, THREE, FULL, c, planes);                                           \
  }
#define ROWS_S2_OP(OP) \
  ROWS_S2(OP, 2, 0, 0) ROWS_S2(OP, 2, 0, 1) ROWS_S2(OP, 2, 1, 0) ROWS_S2(OP, 2, 1, 1) \
  ROWS_S2(OP, 3, 0, 0) ROWS_S2(OP, 3, 0, 1) ROWS_S2(OP, 3, 1, 0) ROWS_S2(OP, 3, 1, 1)
ROWS_S2_OP(OP_MAX)
ROWS_S2_OP(OP_SUM)
ROWS_S2_OP(OP_SQ)
#define ROWS_S2_ENTRY(OP) \
  {{{rows_##OP##_2_0_0, rows_##OP##_2_0_1}, {rows_##OP##_2_1_0, rows_##OP##_2_1_1}}, \
   {{rows_##OP##_3_0_0, rows_##OP##_3_0_1}, {rows_##OP##_3_1_0, rows_##OP##_3_1_1}}}
/* [op][window rows - 2][3 columns][whole loads] */
static const rows_fn rows_s2_table[3][2][2][2] = {ROWS_S2_ENTRY(OP_MAX), ROWS_S2_ENTRY(OP_SUM),
                                                  ROWS_S2_ENTRY(OP_SQ)};

/* Separable kinds, one plane. */
POOL_INLINE void nchw_separable(int op, const nchw_plane *c) {
  const vconv_pool_shape *s = c->s;
  if (c->p_lo < c->p_hi) {
    /* Whole pairs from every row stay inside the tensor unless this is its last plane. */
    const int64_t W = s->W, pairs = (W + 2 * VEC_W - 1) / (2 * VEC_W);
    const int full = c->end - (c->x + (s->H - 1) * W) >= pairs * 2 * VEC_W;
    rows_s2_table[op][s->R - 2][s->S == 3][full](c, 1);
  }
  for (int64_t p = 0; p < c->p_lo; p++) separable_row(op, c, p);
  if (c->qb < s->Q)
    for (int64_t p = c->p_lo; p < c->p_hi; p++) nchw_borders(c, p);
  for (int64_t p = c->p_hi; p < s->P; p++) separable_row(op, c, p);
}

/* Weighted pooling, one plane: every tap's weight times its input, per vector
 * of interior outputs; at stride 2 each window row is split into halves first. */
static void nchw_weighted(const nchw_plane *c) {
  const vconv_pool_shape *s = c->s;
  const int64_t W = s->W, row_floats = W + 4 * VEC_W;
  float *halves = c->buf + 3 * row_floats;
  for (int64_t p = 0; p < s->P; p++) {
    float *yrow = c->y + p * s->Q;
    int64_t r0, r1;
    const int64_t h0 = p * s->sh - s->pt;
    vconv_valid_range(h0, 1, s->H, s->R, &r0, &r1);
    if (c->qa < c->qb && s->sw <= 2) {
      if (s->sw == 2)
        for (int64_t r = r0; r < r1; r++) {
          const float *row = c->x + (h0 + r) * W;
          float *e = halves + r * row_floats, *o = e + row_floats / 2;
          for (int64_t col = 0; col < W; col += 2 * VEC_W) {
            vf ev, ov;
            vf_deinterleave(load_cols(row + col, W - col, c->end),
                            load_cols(row + col + VEC_W, W - col - VEC_W, c->end), &ev, &ov);
            vf_storeu(e + col / 2, ev);
            vf_storeu(o + col / 2, ov);
          }
        }
      pool_win full = {h0, 0, r0, r1, 0, s->S};
      const float d = pool_wsum(s, &full);
      const vf dv = vf_set1(d);
      for (int64_t q = c->qa; q < c->qb; q += VEC_W) {
        vf acc = vf_zero();
        for (int64_t r = r0; r < r1; r++) {
          const float *row = c->x + (h0 + r) * W;
          const float *e = halves + r * row_floats, *o = e + row_floats / 2;
          for (int64_t t = 0; t < s->S; t++) {
            const int64_t off = t - s->pl;
            vf x;
            if (s->sw == 1) {
              x = load_cols(row + q + off, c->qb - q, c->end);
            } else {
              const int64_t odd = off & 1, k = (off - odd) / 2;
              x = vf_loadu((odd ? o : e) + q + k);
            }
            acc = vf_fmadd(vf_set1(s->weights[r * s->S + t]), x, acc);
          }
        }
        /* No weight inside the input: +0, or NaN where the sum is NaN. */
        acc = d != 0.0f ? vf_div(acc, dv) : vf_add(vf_mul(acc, vf_zero()), vf_zero());
        store_cols(yrow + q, acc, c->qb - q);
      }
    } else {
      for (int64_t q = c->qa; q < c->qb; q++)
        yrow[q] = pool_window(s, (pool_plane){c->x, W, 1}, p, q, NULL);
    }
    nchw_borders(c, p);
  }
}

/* Global pooling of a plane: one flat reduction over H * W contiguous floats. */
static float nchw_global(const vconv_pool_shape *s, const float *x) {
  const int64_t n = s->H * s->W;
  const int op = s->kind == VCONV_POOL_WEIGHTED ? OP_SUM : op_of(s->kind);
  vf a0 = op == OP_MAX ? vf_set1(-INFINITY) : vf_zero(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  if (s->kind == VCONV_POOL_WEIGHTED) {
    for (; i + VEC_W <= n; i += VEC_W) a0 = vf_fmadd(vf_loadu(s->weights + i), vf_loadu(x + i), a0);
  } else {
    for (; i + 4 * VEC_W <= n; i += 4 * VEC_W) {
      a0 = combine(op, a0, vf_loadu(x + i));
      a1 = combine(op, a1, vf_loadu(x + i + VEC_W));
      a2 = combine(op, a2, vf_loadu(x + i + 2 * VEC_W));
      a3 = combine(op, a3, vf_loadu(x + i + 3 * VEC_W));
    }
    for (; i + VEC_W <= n; i += VEC_W) a0 = combine(op, a0, vf_loadu(x + i));
  }
  const int hop = op == OP_MAX ? OP_MAX : OP_SUM;
  a0 = combine(hop, combine(hop, a0, a1), combine(hop, a2, a3));
  float lanes[VEC_W];
  vf_storeu(lanes, a0);
  float acc = lanes[0];
  for (int l = 1; l < VEC_W; l++) acc = op == OP_MAX ? pool_max1(acc, lanes[l]) : acc + lanes[l];
  for (; i < n; i++) {
    float term = x[i];
    if (op == OP_SQ) term = x[i] * x[i];
    if (s->kind == VCONV_POOL_WEIGHTED) term = s->weights[i] * x[i];
    acc = op == OP_MAX ? pool_max1(acc, term) : acc + term;
  }
  switch (s->kind) {
    case VCONV_POOL_MAX: return acc;
    case VCONV_POOL_L2: return sqrtf(acc);
    case VCONV_POOL_WEIGHTED: return acc / s->wsum;
    default: return acc / (float)n;
  }
}

/* Saved indices and stochastic pooling: the scalar window routines. */
static void nchw_scalar_plane(const vconv_pool_shape *s, const float *x, float *y, int32_t *ip,
                              int64_t plane) {
  const pool_plane v = {x, s->W, 1};
  for (int64_t p = 0; p < s->P; p++)
    for (int64_t q = 0; q < s->Q; q++) {
      int32_t *k = ip ? ip + p * s->Q + q : NULL;
      y[p * s->Q + q] = s->kind == VCONV_POOL_STOCHASTIC
                            ? pool_stochastic(s, v, (plane * s->P + p) * s->Q + q, p, q, k)
                            : pool_window(s, v, p, q, k);
    }
}

/*
 * Max pooling's indices over one NCHW plane whose output y is already
 * computed: each window's first tap in scan order equal to y or NaN, which is
 * the scalar routine's rule.  Windows whose columns all lie inside the row
 * take a vector of outputs at a time (unit or stride-2 columns), offering the
 * taps last to first so the first match is what remains; the index rides in
 * float lanes, exact while the plane has at most 2^24 elements (the caller
 * checks).  The rest go through pool_window.
 */
static void nchw_max_indices(const vconv_pool_shape *s, const float *x, const float *y,
                             int32_t *idx, const float *x_end) {
  static const float iota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const int64_t W = s->W, Q = s->Q, sw = s->sw;
  const int64_t lastcol = W - 1 - (s->S - 1) * s->dw + s->pl;
  int64_t qa = (s->pl + sw - 1) / sw, qb = lastcol < 0 ? 0 : lastcol / sw + 1;
  if (qa > Q) qa = Q;
  if (qb > Q) qb = Q;
  if (qb < qa || (sw != 1 && sw != 2)) qb = qa;
  const vf lanes = vf_mul(vf_loadu(iota), vf_set1((float)sw));
  const pool_plane v = {x, W, 1};
  for (int64_t p = 0; p < s->P; p++) {
    int64_t r0, r1;
    const int64_t h0 = p * s->sh - s->pt;
    vconv_valid_range(h0, s->dh, s->H, s->R, &r0, &r1);
    const int64_t vq0 = r1 > r0 ? qa : 0, vq1 = r1 > r0 ? qb : 0;
    for (int64_t q = 0; q < vq0; q++) pool_window(s, v, p, q, idx + p * Q + q);
    for (int64_t q = vq1 > vq0 ? vq1 : 0; q < Q; q++) pool_window(s, v, p, q, idx + p * Q + q);
    for (int64_t q = vq0; q < vq1; q += VEC_W) {
      const int64_t n = vq1 - q < VEC_W ? vq1 - q : VEC_W;
      const vf yv = n == VEC_W ? vf_loadu(y + p * Q + q) : vf_load_part(y + p * Q + q, (int)n);
      vf best = vf_zero();
      for (int64_t r = r1 - 1; r >= r0; r--) {
        const int64_t ih = h0 + r * s->dh;
        for (int64_t t = s->S - 1; t >= 0; t--) {
          const int64_t col = q * sw + t * s->dw - s->pl; /* of output q's tap */
          const float *px = x + ih * W + col;
          vf xv;
          if (sw == 1) {
            xv = load_cols(px, n, x_end);
          } else {
            vf odd;
            vf_deinterleave(load_cols(px, 2 * n - 1, x_end),
                            load_cols(px + VEC_W, 2 * n - 1 - VEC_W, x_end), &xv, &odd);
          }
          best = vf_pick_match(xv, yv, vf_add(vf_set1((float)(ih * W + col)), lanes), best);
        }
      }
      vf_store_i32(idx + p * Q + q, best, (int)n);
    }
  }
}

/* nchw_max_indices for tiles_2x2, planes [0, planes) from x: per vector of
 * outputs two loads per input row, split into even and odd columns, and the
 * four taps offered last to first. */
static void nchw_max_indices_2x2(const vconv_pool_shape *s, const float *x, const float *y,
                                 int32_t *idx, int64_t planes, const float *x_end) {
  static const float iota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const int64_t W = s->W, Q = s->Q;
  const vf lanes = vf_add(vf_loadu(iota), vf_loadu(iota)); /* 2 l: a lane's first column */
  const vf one = vf_set1(1.0f), wv = vf_set1((float)W);
  for (int64_t row = 0, p = 0; row < planes * s->P; row++, x += 2 * W, y += Q, idx += Q) {
    const float p0 = (float)(p * 2 * W); /* the row's first tap in its plane */
    p = p + 1 == s->P ? 0 : p + 1;
    for (int64_t q = 0; q < Q; q += VEC_W) {
      const int64_t n = Q - q < VEC_W ? Q - q : VEC_W;
      const float *top = x + 2 * q, *bot = top + W;
      vf te, to, be, bo;
      vf_deinterleave(load_cols(top, 2 * n, x_end), load_cols(top + VEC_W, 2 * n - VEC_W, x_end), &te, &to);
      vf_deinterleave(load_cols(bot, 2 * n, x_end), load_cols(bot + VEC_W, 2 * n - VEC_W, x_end), &be, &bo);
      const vf yv = n == VEC_W ? vf_loadu(y + q) : vf_load_part(y + q, (int)n);
      const vf k = vf_add(vf_set1(p0 + (float)(2 * q)), lanes), kb = vf_add(k, wv);
      vf best = vf_pick_match(bo, yv, vf_add(kb, one), vf_zero());
      best = vf_pick_match(be, yv, kb, best);
      best = vf_pick_match(to, yv, vf_add(k, one), best);
      best = vf_pick_match(te, yv, k, best);
      vf_store_i32(idx + q, best, (int)n);
    }
  }
}

static void run_nchw(const vconv_pool_shape *s, const float *in, float *out, int32_t *idx,
                     void *scratch, size_t task) {
  const int64_t k = planes_per_task(s), first = (int64_t)task * k;
  const int64_t last_plane = first + k < s->N * s->C ? first + k : s->N * s->C;
  const int64_t HW = s->H * s->W, PQ = s->P * s->Q;
  if (idx && s->kind == VCONV_POOL_MAX && HW <= ((int64_t)1 << 24)) {
    /* Max with indices: the output by the vector paths, then its taps. */
    run_nchw(s, in, out, NULL, scratch, task);
    if (pool_tiles_2x2(s)) {
      nchw_max_indices_2x2(s, in + first * HW, out + first * PQ, idx + first * PQ,
                           last_plane - first, in + s->N * s->C * HW);
      return;
    }
    for (int64_t pl = first; pl < last_plane; pl++)
      nchw_max_indices(s, in + pl * HW, out + pl * PQ, idx + pl * PQ, in + s->N * s->C * HW);
    return;
  }
  /* Indices, and the kinds computed in double, one window at a time. */
  if (idx || s->kind == VCONV_POOL_STOCHASTIC || s->kind == VCONV_POOL_LP) {
    for (int64_t pl = first; pl < last_plane; pl++)
      nchw_scalar_plane(s, in + pl * HW, out + pl * PQ, idx ? idx + pl * PQ : NULL, pl);
    return;
  }
  if (s->P == 1 && s->Q == 1 && s->R == s->H && s->S == s->W && s->pt == 0 && s->pl == 0 &&
      s->dh == 1 && s->dw == 1) {
    for (int64_t pl = first; pl < last_plane; pl++) out[pl] = nchw_global(s, in + pl * HW);
    return;
  }
  float stack[STACK_FLOATS];
  nchw_plane c = {s, NULL, in + s->N * s->C * HW, NULL, scratch ? (float *)scratch : stack, 0, 0, 0, 0, 0};
  /* Interior: outputs every one of whose window columns lies inside the row,
   * q * sw - pl >= 0 and q * sw - pl + (S - 1) * dw <= W - 1. */
  const int64_t lastcol = s->W - 1 - (s->S - 1) * s->dw + s->pl;
  c.qa = (s->pl + s->sw - 1) / s->sw;
  if (c.qa > s->Q) c.qa = s->Q;
  c.qb = lastcol < 0 ? 0 : lastcol / s->sw + 1;
  if (c.qb > s->Q) c.qb = s->Q;
  if (c.qb < c.qa) c.qb = c.qa;
  c.s2 = s->sw == 2 && s->dw == 1 && s->pl == 0 && (s->S == 2 || s->S == 3) &&
         s->kind != VCONV_POOL_WEIGHTED;
  if (c.s2 && c.qa == 0 && (s->R == 2 || s->R == 3)) {
    /* Rows whose whole window lies inside the input: h0 >= 0, h0 + (R-1) dh <= H-1. */
    c.p_lo = (s->pt + s->sh - 1) / s->sh;
    const int64_t lastrow = s->H - 1 - (s->R - 1) * s->dh + s->pt;
    c.p_hi = lastrow < 0 ? 0 : lastrow / s->sh + 1;
    if (c.p_hi > s->P) c.p_hi = s->P;
    if (c.p_lo > c.p_hi) c.p_lo = c.p_hi;
  }
  /* The row buffers' slack is read by whole-vector loads (lanes never stored):
   * zero it so those lanes hold ordinary numbers.  The register path needs none. */
  if (!(c.s2 && s->R <= 4)) memset(c.buf, 0, nchw_floats(s) * sizeof(float));
  if (c.p_lo == 0 && c.p_hi == s->P && c.qb == s->Q && s->kind != VCONV_POOL_WEIGHTED) {
    /* Every output row and column is interior: one call for all the task's
     * planes.  Whole-pair loads are safe except maybe in the tensor's last plane. */
    const int op = op_of(s->kind);
    const rows_fn *fn = rows_s2_table[op][s->R - 2][s->S == 3];
    /* Plane k may load whole pairs if k HW + (H-1) W + 2 VEC_W pairs <= the
     * tensor's size: planes [first, split) may, the rest (the tensor's last
     * few, when planes are tiny) check their loads. */
    const int64_t pairs = (s->W + 2 * VEC_W - 1) / (2 * VEC_W);
    const int64_t room = s->N * s->C * HW - (s->H - 1) * s->W - pairs * 2 * VEC_W;
    int64_t split = room < 0 ? 0 : room / HW + 1;
    if (split < first) split = first;
    if (split > last_plane) split = last_plane;
    /* Windows that tile the plane's rows exactly (no overlap, no padding)
     * make consecutive planes one tall plane: rows pair up across planes for
     * the two-rows-per-vector path, with no per-plane leftovers. */
    const int tall = s->R == s->sh && s->dh == 1 && s->pt == 0 && s->H == s->P * s->sh;
    c.x = in + first * HW;
    c.y = out + first * PQ;
    if (split > first) {
      if (tall) {
        c.p_hi = (split - first) * s->P;
        fn[1](&c, 1);
        c.p_hi = s->P;
      } else {
        fn[1](&c, split - first);
      }
    }
    if (last_plane > split) {
      c.x = in + split * HW;
      c.y = out + split * PQ;
      fn[0](&c, last_plane - split);
    }
    return;
  }
  for (int64_t pl = first; pl < last_plane; pl++) {
    c.x = in + pl * HW;
    c.y = out + pl * PQ;
    switch (s->kind) {
      case VCONV_POOL_MAX: nchw_separable(OP_MAX, &c); break;
      case VCONV_POOL_L2: nchw_separable(OP_SQ, &c); break;
      case VCONV_POOL_WEIGHTED: nchw_weighted(&c); break;
      default: nchw_separable(OP_SUM, &c); break;
    }
  }
}

/* NHWC: one output pixel, channels in vectors; every kind but STOCHASTIC. */
POOL_INLINE void nhwc_pixel(int op, const vconv_pool_shape *s, const float *in_n, float *opix,
                            const pool_win *w, const float *end) {
  const int weighted = s->kind == VCONV_POOL_WEIGHTED;
  const float d = weighted ? pool_wsum(s, w) : 1.0f;
  const float scale = op == OP_SUM && !weighted ? pool_avg_scale(s, w->h0, w->w0) : 1.0f;
  for (int64_t c0 = 0; c0 < s->C; c0 += VEC_W) {
    const int64_t n = s->C - c0;
    vf acc = op == OP_MAX ? vf_set1(-INFINITY) : vf_zero();
    for (int64_t r = w->r0; r < w->r1; r++) {
      const int64_t ih = w->h0 + r * s->dh;
      for (int64_t t = w->t0; t < w->t1; t++) {
        const int64_t iw = w->w0 + t * s->dw;
        const vf x = load_cols(in_n + (ih * s->W + iw) * s->C + c0, n, end);
        acc = weighted ? vf_fmadd(vf_set1(s->weights[r * s->S + t]), x, acc) : combine(op, acc, x);
      }
    }
    if (weighted)
      store_cols(opix + c0, d != 0.0f ? vf_div(acc, vf_set1(d)) : vf_add(vf_mul(acc, vf_zero()), vf_zero()), n);
    else
      finish_store(op, opix + c0, acc, scale, n);
  }
}

static void run_nhwc(const vconv_pool_shape *s, const float *in, float *out, int32_t *idx,
                     size_t task) {
  const int64_t n = (int64_t)task / s->P, p = (int64_t)task % s->P;
  const float *in_n = in + n * s->H * s->W * s->C;
  const float *end = in + s->N * s->H * s->W * s->C;
  for (int64_t q = 0; q < s->Q; q++) {
    const int64_t o = ((n * s->P + p) * s->Q + q) * s->C;
    if (idx || s->kind == VCONV_POOL_STOCHASTIC || s->kind == VCONV_POOL_LP) {
      for (int64_t c = 0; c < s->C; c++) {
        const pool_plane v = {in_n + c, s->W * s->C, s->C};
        int32_t *k = idx ? idx + o + c : NULL;
        out[o + c] = s->kind == VCONV_POOL_STOCHASTIC
                         ? pool_stochastic(s, v, ((n * s->C + c) * s->P + p) * s->Q + q, p, q, k)
                         : pool_window(s, v, p, q, k);
      }
      continue;
    }
    const pool_win w = pool_window_at(s, p, q);
    switch (op_of(s->kind)) {
      case OP_MAX: nhwc_pixel(OP_MAX, s, in_n, out + o, &w, end); break;
      case OP_SQ: nhwc_pixel(OP_SQ, s, in_n, out + o, &w, end); break;
      default: nhwc_pixel(OP_SUM, s, in_n, out + o, &w, end); break;
    }
  }
}

static void pool_run(const vconv_pool_shape *s, const float *input, float *output, int32_t *indices,
                     void *scratch, size_t task) {
  if (s->layout == VCONV_LAYOUT_NCHW)
    run_nchw(s, input, output, indices, scratch, task);
  else
    run_nhwc(s, input, output, indices, task);
}

size_t VCONV_TIERED(vconv_pool_bwd_task_count)(const vconv_pool_shape *s);
size_t VCONV_TIERED(vconv_pool_bwd_task_workspace)(const vconv_pool_shape *s);
void VCONV_TIERED(vconv_pool_backward)(const vconv_pool_shape *s, const vconv_pool_grads *g,
                                       void *scratch, size_t task);

#define STR_(x) #x
#define STR(x) STR_(x)

const vconv_pool_kernel VCONV_TIERED(vconv_pool_kernel) = {
    .isa = VEC_ISA,
    .name = "pool/" STR(VCONV_TIER),
    .task_count = pool_task_count,
    .task_workspace = pool_task_workspace,
    .run = pool_run,
    .bwd_task_count = VCONV_TIERED(vconv_pool_bwd_task_count),
    .bwd_task_workspace = VCONV_TIERED(vconv_pool_bwd_task_workspace),
    .backward = VCONV_TIERED(vconv_pool_backward),
};
