/*
 * Register-tiled microkernels of direct.c (included once, per tier).  Each is
 * one body written over the vector layer, instantiated with constant tile
 * sizes (the *_INSTANCES lists of direct.c) so the compiler unrolls the tile
 * and keeps every accumulator in a register.
 */

/* ------------------------------------------------------------------------ */
/* Blocked: T output pixels of one row x NV vectors of output channels. */

/* Input channels per block: the weights are packed per block, and a block's
 * input lines (CB planes x the tap rows) stay in L1 while all its taps run. */
#define CB 16
/* Pixels a kernel column may leave out at either end of the tile (padding)
 * without leaving the tile's single pass: enough for 3x3 and 5x5 "same". */
#define EDGE_MAX 2

/* A run of kernel columns t0 .. t0+n-1 that all read real input for tile
 * pixels [skip_l, T - skip_r). */
typedef struct bk_cols {
  int64_t t0, n;
  int skip_l, skip_r;
} bk_cols;

typedef struct bk_args {
  const float *in;   /* input channel c0, first tap row, pixel 0 of the tile at column 0 */
  const float *w;    /* the K-block's packed weights: [cb][r][c in cb][s][NV * VEC_W] */
  float *acc;        /* T x NV * VEC_W floats, read and written back */
  int64_t c0, c1;    /* input channels [c0, c1) of the group */
  int64_t Cg, R, S;  /* for the packed weight layout */
  int64_t r0, nr;    /* tap rows r0 .. r0+nr-1 */
  const bk_cols *cols;
  int ncols;
  ptrdiff_t in_r, in_s, in_c, in_q;  /* input steps per tap row, tap column, channel, pixel */
  const float *pf;   /* cache lines to prefetch into L2 while computing */
  int64_t pf_lines;
} bk_args;

typedef void (*bk_fn)(const bk_args *);

/* acc[LO..HI) += input x weights over cn channels of one tap. */
DC_INLINE void bk_taps(vf acc[TMAX][NVMAX], const float *ip, const float *wp, int64_t cn,
                       ptrdiff_t in_c, ptrdiff_t w_c, ptrdiff_t qs, const int LO, const int HI,
                       const int NV) {
  for (int64_t c = 0; c < cn; c++, ip += in_c, wp += w_c) {
    vf wv[NVMAX];
    DC_UNROLL
    for (int v = 0; v < NV; v++) wv[v] = vf_loadu(wp + v * VEC_W);
    DC_UNROLL
    for (int q = LO; q < HI; q++) {
      const vf x = vf_set1(ip[q * qs]);
      DC_UNROLL
      for (int v = 0; v < NV; v++) acc[q][v] = vf_fmadd(x, wv[v], acc[q][v]);
    }
  }
}

#define BK_EDGE(L, R)                                                                    \
  case (L) * (EDGE_MAX + 1) + (R):                                                       \
    for (int64_t t = t0; t < t1; t++)                                                    \
      bk_taps(acc, ir + t * in_s, wr + t * kb, cn, in_c, w_c, qs, (L), T - (R), NV);    \
    break;

/* QS: the pixel step when known at compile time (stride 1), 0 = a->in_q.
 * Kernel columns outside the loop over the block's channels: each column run
 * may leave up to EDGE_MAX pixels out at either end (the padding of 3x3 and
 * 5x5 "same" convolutions), chosen by a switch outside the channel loop. */
DC_INLINE void bk_body_edges(const bk_args *a, const int T, const int NV, const int QS) {
  const int kb = NV * VEC_W;
  const ptrdiff_t qs = QS ? QS : a->in_q, in_c = a->in_c, in_r = a->in_r, in_s = a->in_s;
  const int64_t S = a->S, RS = a->R * a->S, c1 = a->c1, nr = a->nr;
  const ptrdiff_t w_c = S * kb;
  const float *pf = a->pf;
  int64_t pfn = a->pf_lines;
  vf acc[TMAX][NVMAX];
  DC_UNROLL
  for (int q = 0; q < T; q++)
    DC_UNROLL
    for (int v = 0; v < NV; v++)
      acc[q][v] = vf_loadu(a->acc + q * kb + v * VEC_W);
  for (int64_t c0 = a->c0; c0 < c1;) {
    const int64_t blk = c0 / CB, cend = c1 < (blk + 1) * CB ? c1 : (blk + 1) * CB;
    const int64_t cn = cend - c0, cbn = a->Cg - blk * CB < CB ? a->Cg - blk * CB : CB;
    const float *wb = a->w + (blk * CB * RS + (c0 - blk * CB) * S) * kb;
    const float *ib = a->in + (c0 - a->c0) * in_c;
    for (int64_t r = 0; r < nr; r++) {
      const float *wr = wb + (a->r0 + r) * cbn * w_c, *ir = ib + r * in_r;
      if (pfn > 0) {
        PREFETCH_L2(pf);
        PREFETCH_L2(pf + 16);
        PREFETCH_L2(pf + 32);
        PREFETCH_L2(pf + 48);
        pf += 64;
        pfn -= 4;
      }
      for (int g = 0; g < a->ncols; g++) {
        const int64_t t0 = a->cols[g].t0, t1 = t0 + a->cols[g].n;
        switch (a->cols[g].skip_l * (EDGE_MAX + 1) + a->cols[g].skip_r) {
          BK_EDGE(0, 0) BK_EDGE(0, 1) BK_EDGE(0, 2)
          BK_EDGE(1, 0) BK_EDGE(1, 1) BK_EDGE(1, 2)
          BK_EDGE(2, 0) BK_EDGE(2, 1) BK_EDGE(2, 2)
          default: break;
        }
      }
    }
    c0 = cend;
  }
  DC_UNROLL
  for (int q = 0; q < T; q++)
    DC_UNROLL
    for (int v = 0; v < NV; v++) vf_storeu(a->acc + q * kb + v * VEC_W, acc[q][v]);
}
#undef BK_EDGE

/* acc += one input channel's taps over the column runs (every run covers the tile). */
DC_INLINE void bk_plain_chan(vf acc[TMAX][NVMAX], const float *ic, const float *wc,
                             const bk_cols *cols, int ncols, ptrdiff_t in_s, ptrdiff_t qs,
                             const int T, const int NV) {
  const int kb = NV * VEC_W;
  for (int g = 0; g < ncols; g++) {
    const int64_t t0 = cols[g].t0, t1 = t0 + cols[g].n;
    const float *ip = ic + t0 * in_s, *wp = wc + t0 * kb;
    for (int64_t t = t0; t < t1; t++, ip += in_s, wp += kb) {
      vf wv[NVMAX];
      DC_UNROLL
      for (int v = 0; v < NV; v++) wv[v] = vf_loadu(wp + v * VEC_W);
      DC_UNROLL
      for (int q = 0; q < T; q++) {
        const vf x = vf_set1(ip[q * qs]);
        DC_UNROLL
        for (int v = 0; v < NV; v++) acc[q][v] = vf_fmadd(x, wv[v], acc[q][v]);
      }
    }
  }
}

/* Every column run covers the whole tile.  Kernel columns are the inner loop:
 * they walk the weights in order and neighbouring input, and they are the long
 * loop when there are few input channels (AlexNet conv1: 3 channels, 11 columns).
 * Tiles of fewer than 8 accumulators (1x1 outputs: LeNet C5) would wait on the
 * FMA latency: they keep a second set for odd channels. */
DC_INLINE void bk_body_plain(const bk_args *a, const int T, const int NV, const int QS) {
  const int kb = NV * VEC_W, two = T * NV < 8;
  const ptrdiff_t qs = QS ? QS : a->in_q, in_c = a->in_c, in_r = a->in_r, in_s = a->in_s;
  const int64_t S = a->S, RS = a->R * a->S, c1 = a->c1, nr = a->nr;
  const ptrdiff_t w_c = S * kb;
  const float *pf = a->pf;
  int64_t pfn = a->pf_lines;
  vf acc[TMAX][NVMAX], acc2[TMAX][NVMAX];
  DC_UNROLL
  for (int q = 0; q < T; q++)
    DC_UNROLL
    for (int v = 0; v < NV; v++) {
      acc[q][v] = vf_loadu(a->acc + q * kb + v * VEC_W);
      acc2[q][v] = vf_zero();
    }
  for (int64_t c0 = a->c0; c0 < c1;) {
    const int64_t blk = c0 / CB, cend = c1 < (blk + 1) * CB ? c1 : (blk + 1) * CB;
    const int64_t cn = cend - c0, cbn = a->Cg - blk * CB < CB ? a->Cg - blk * CB : CB;
    const float *wb = a->w + (blk * CB * RS + (c0 - blk * CB) * S) * kb;
    const float *ib = a->in + (c0 - a->c0) * in_c;
    for (int64_t r = 0; r < nr; r++) {
      const float *wr = wb + (a->r0 + r) * cbn * w_c, *ir = ib + r * in_r;
      if (pfn > 0) {
        PREFETCH_L2(pf);
        PREFETCH_L2(pf + 16);
        PREFETCH_L2(pf + 32);
        PREFETCH_L2(pf + 48);
        pf += 64;
        pfn -= 4;
      }
      int64_t c = 0;
      if (two)
        for (; c + 1 < cn; c += 2) {
          bk_plain_chan(acc, ir + c * in_c, wr + c * w_c, a->cols, a->ncols, in_s, qs, T, NV);
          bk_plain_chan(acc2, ir + (c + 1) * in_c, wr + (c + 1) * w_c, a->cols, a->ncols, in_s,
                        qs, T, NV);
        }
      for (; c < cn; c++)
        bk_plain_chan(acc, ir + c * in_c, wr + c * w_c, a->cols, a->ncols, in_s, qs, T, NV);
    }
    c0 = cend;
  }
  DC_UNROLL
  for (int q = 0; q < T; q++)
    DC_UNROLL
    for (int v = 0; v < NV; v++)
      vf_storeu(a->acc + q * kb + v * VEC_W, two ? vf_add(acc[q][v], acc2[q][v]) : acc[q][v]);
}

/* acc[0..T) += one input channel's row of taps, sliding: each input value is
 * broadcast once and feeds the S pixels whose taps read it (pixel j - t with
 * column t). */
DC_INLINE void bk_slide_chan(vf acc[TMAX], const float *ip, const float *wp, const int T,
                             const int S) {
  vf wv[SLIDE_SMAX];
  DC_UNROLL
  for (int t = 0; t < S; t++) wv[t] = vf_loadu(wp + t * VEC_W);
  DC_UNROLL
  for (int j = 0; j < T + S - 1; j++) {
    const vf x = vf_set1(ip[j]);
    DC_UNROLL
    for (int t = 0; t < S; t++)
      if (j - t >= 0 && j - t < T) acc[j - t] = vf_fmadd(x, wv[t], acc[j - t]);
  }
}

/* One vector of output channels, stride and dilation 1, every kernel column over
 * the whole tile (bk_slide_chan).  A broadcast per FMA, as the other kernels
 * would do with one vector, is slower than the FMAs (Zen 5).  Each pixel's S
 * FMAs per channel form a chain, started in turn along the tile: where the
 * registers allow, odd channels go to a second set of accumulators, so one
 * channel's chains need not wait for the previous channel's (LeNet C3: 10
 * pixels, 10 chains, fewer than the FMA pipes keep busy across the stagger). */
DC_INLINE void bk_body_slide(const bk_args *a, const int T, const int S) {
  const int kb = VEC_W, two = 2 * T + S + 1 <= VEC_NREGS;
  const ptrdiff_t in_c = a->in_c, in_r = a->in_r;
  const int64_t RS = a->R * S, c1 = a->c1, nr = a->nr;
  vf acc[TMAX], acc2[TMAX];
  DC_UNROLL
  for (int q = 0; q < T; q++) {
    acc[q] = vf_loadu(a->acc + q * kb);
    acc2[q] = vf_zero();
  }
  for (int64_t c0 = a->c0; c0 < c1;) {
    const int64_t blk = c0 / CB, cend = c1 < (blk + 1) * CB ? c1 : (blk + 1) * CB;
    const int64_t cn = cend - c0, cbn = a->Cg - blk * CB < CB ? a->Cg - blk * CB : CB;
    const float *wb = a->w + (blk * CB * RS + (c0 - blk * CB) * S) * kb;
    const float *ib = a->in + (c0 - a->c0) * in_c;
    for (int64_t r = 0; r < nr; r++) {
      const float *wr = wb + (a->r0 + r) * cbn * S * kb, *ir = ib + r * in_r;
      int64_t c = 0;
      if (two)
        for (; c + 1 < cn; c += 2) {
          bk_slide_chan(acc, ir + c * in_c, wr + c * S * kb, T, S);
          bk_slide_chan(acc2, ir + (c + 1) * in_c, wr + (c + 1) * S * kb, T, S);
        }
      for (; c < cn; c++) bk_slide_chan(acc, ir + c * in_c, wr + c * S * kb, T, S);
    }
    c0 = cend;
  }
  DC_UNROLL
  for (int q = 0; q < T; q++) vf_storeu(a->acc + q * kb, two ? vf_add(acc[q], acc2[q]) : acc[q]);
}

/* Tile kinds: E stride 1 with edge skips (the NV that big layers use), 1 stride 1,
 * 2 and 4 strides known at compile time (AlexNet conv1), 0 any stride. */
#define BK_DEF_E(T, NV) static void bk_##T##_##NV##_E(const bk_args *a) { bk_body_edges(a, T, NV, 1); }
#define BK_DEF_1(T, NV) static void bk_##T##_##NV##_1(const bk_args *a) { bk_body_plain(a, T, NV, 1); }
#define BK_DEF_2(T, NV) static void bk_##T##_##NV##_2(const bk_args *a) { bk_body_plain(a, T, NV, 2); }
#define BK_DEF_4(T, NV) static void bk_##T##_##NV##_4(const bk_args *a) { bk_body_plain(a, T, NV, 4); }
#define BK_DEF_0(T, NV) static void bk_##T##_##NV##_0(const bk_args *a) { bk_body_plain(a, T, NV, 0); }
BK_EDGE_INSTANCES(BK_DEF_E)
BK_INSTANCES(BK_DEF_1)
BK_STRIDED_INSTANCES(BK_DEF_2)
BK_STRIDED_INSTANCES(BK_DEF_4)
BK_INSTANCES(BK_DEF_0)
#undef BK_DEF_E
#undef BK_DEF_1
#undef BK_DEF_2
#undef BK_DEF_4
#undef BK_DEF_0

#define BK_DEF_SL(T, S) static void bk_##T##_s##S(const bk_args *a) { bk_body_slide(a, T, S); }
BK_SLIDE_INSTANCES(BK_DEF_SL)
#undef BK_DEF_SL
/* [S][T] */
#define BK_ENTRY_SL(T, S) [S][T] = bk_##T##_s##S,
static const bk_fn bk_slide_tab[SLIDE_SMAX + 1][TMAX + 1] = {BK_SLIDE_INSTANCES(BK_ENTRY_SL)};
#undef BK_ENTRY_SL

enum { BK_ANY = 0, BK_S1 = 1, BK_S2 = 2, BK_S4 = 3, BK_EDGES = 4, BK_KINDS = 5, BK_SLIDE = 6 };
/* [kind][NV][T]; NULL where no tile of that size is built. */
#define BK_ENTRY_E(T, NV) [BK_EDGES][NV][T] = bk_##T##_##NV##_E,
#define BK_ENTRY_1(T, NV) [BK_S1][NV][T] = bk_##T##_##NV##_1,
#define BK_ENTRY_2(T, NV) [BK_S2][NV][T] = bk_##T##_##NV##_2,
#define BK_ENTRY_4(T, NV) [BK_S4][NV][T] = bk_##T##_##NV##_4,
#define BK_ENTRY_0(T, NV) [BK_ANY][NV][T] = bk_##T##_##NV##_0,
static const bk_fn bk_tab[BK_KINDS][NVMAX + 1][TMAX + 1] = {
    BK_EDGE_INSTANCES(BK_ENTRY_E) BK_INSTANCES(BK_ENTRY_1) BK_STRIDED_INSTANCES(BK_ENTRY_2)
        BK_STRIDED_INSTANCES(BK_ENTRY_4) BK_INSTANCES(BK_ENTRY_0)};
#undef BK_ENTRY_E
#undef BK_ENTRY_1
#undef BK_ENTRY_2
#undef BK_ENTRY_4
#undef BK_ENTRY_0

/* ------------------------------------------------------------------------ */
/* Spatial: KT output channels x NQ vectors of output pixels of one row (stride 1). */

typedef struct sp_args {
  const vconv_conv_shape *s;
  const float *in;   /* input channel 0, first tap row, column 0 */
  const float *w;    /* packed [c][r][s][KT] at (channel 0, first tap row) */
  const float *bias; /* KT start values */
  float *out;        /* output at the first pixel of channel 0 */
  ptrdiff_t out_k;   /* floats between output channels */
  int64_t nc, nr, S; /* input channels, tap rows, tap columns */
  int64_t qn;        /* pixels in this chunk */
  int64_t iw0;       /* input column of the chunk's first pixel for tap column 0 */
  int64_t W, dw;
  ptrdiff_t in_r, in_c, w_c, w_r;
  int first, last;   /* start from bias (else from out); apply the activation */
} sp_args;

typedef void (*sp_fn)(const sp_args *);

/* acc += the chunk's taps.  INTERIOR: every tap reads inside the row, so all
 * vectors are whole but the last, whose lane count is the same for every tap;
 * otherwise each tap works out which lanes fall in the padding. */
DC_INLINE void sp_taps(const sp_args *a, vf acc[KTMAX][NQMAX], const int KT, const int NQ,
                       const int INTERIOR) {
  const int64_t nc = a->nc, nr = a->nr, S = a->S, W = a->W, dw = a->dw, qn = a->qn;
  const int mlast = (int)(qn - (NQ - 1) * VEC_W);
  for (int64_t c = 0; c < nc; c++)
    for (int64_t r = 0; r < nr; r++) {
      const float *row = a->in + c * a->in_c + r * a->in_r;
      const float *wp = a->w + c * a->w_c + r * a->w_r;
      for (int64_t t = 0; t < S; t++, wp += KT) {
        const int64_t off = a->iw0 + t * dw; /* input column of lane 0 of vector 0 */
        vf x[NQMAX];
        DC_UNROLL
        for (int j = 0; j < NQ; j++) {
          const int64_t b = off + j * VEC_W;
          if (INTERIOR) {
            x[j] = j < NQ - 1 || mlast == VEC_W ? vf_loadu(row + b) : vf_load_part(row + b, mlast);
            continue;
          }
          const int64_t lo = b < 0 ? -b : 0;
          int64_t hi = W - b < qn - j * VEC_W ? W - b : qn - j * VEC_W;
          if (hi > VEC_W) hi = VEC_W;
          if (lo == 0 && hi == VEC_W)
            x[j] = vf_loadu(row + b);
          else if (lo < hi)
            x[j] = vf_load_lanes(row + b, (int)lo, (int)hi);
          else
            x[j] = vf_zero();
        }
        DC_UNROLL
        for (int k = 0; k < KT; k++) {
          const vf wk = vf_set1(wp[k]);
          DC_UNROLL
          for (int j = 0; j < NQ; j++) acc[k][j] = vf_fmadd(x[j], wk, acc[k][j]);
        }
      }
    }
}

DC_INLINE void sp_body(const sp_args *a, const int KT, const int NQ) {
  vf acc[KTMAX][NQMAX];
  const int64_t qn = a->qn;
  DC_UNROLL
  for (int k = 0; k < KT; k++)
    DC_UNROLL
    for (int j = 0; j < NQ; j++) {
      const int m = (int)(qn - j * VEC_W < VEC_W ? qn - j * VEC_W : VEC_W);
      const float *o = a->out + k * a->out_k + j * VEC_W;
      acc[k][j] = a->first ? vf_set1(a->bias[k]) : m == VEC_W ? vf_loadu(o) : vf_load_part(o, m);
    }
  if (a->iw0 >= 0 && a->iw0 + (a->S - 1) * a->dw + qn <= a->W)
    sp_taps(a, acc, KT, NQ, 1);
  else
    sp_taps(a, acc, KT, NQ, 0);
  DC_UNROLL
  for (int k = 0; k < KT; k++)
    DC_UNROLL
    for (int j = 0; j < NQ; j++) {
      const int m = (int)(qn - j * VEC_W < VEC_W ? qn - j * VEC_W : VEC_W);
      float *o = a->out + k * a->out_k + j * VEC_W;
      const vf y = a->last ? activate(a->s, acc[k][j]) : acc[k][j];
      if (m == VEC_W)
        vf_storeu(o, y);
      else
        vf_store_part(o, y, m);
    }
}

#define SP_DEF(KT, NQ) \
  static void sp_##KT##_##NQ(const sp_args *a) { sp_body(a, KT, NQ); }
SP_INSTANCES(SP_DEF)
#undef SP_DEF

/* [NQ][KT]; NULL where no tile of that size is built. */
#define SP_ENTRY(KT, NQ) [NQ][KT] = sp_##KT##_##NQ,
static const sp_fn sp_tab[NQMAX + 1][KTMAX + 1] = {SP_INSTANCES(SP_ENTRY)};
#undef SP_ENTRY

/* ------------------------------------------------------------------------ */
/* Depthwise NHWC: DW_T output pixels x one vector of channels, every tap over
 * every pixel (the caller keeps padding pixels out). */

typedef struct dw_args {
  const float *in;   /* first tap row, column 0 of pixel 0, channel g0 */
  const float *w;    /* [r][s][gp] at the first tap row, channel g0 */
  const float *bias; /* at g0, or NULL */
  float *out;        /* pixel 0, channel g0 */
  ptrdiff_t pix, col, row; /* input steps per output pixel, kernel column, tap row */
  ptrdiff_t gp, opix;      /* weight step per tap, output step per pixel */
  int64_t nr, S;
  const vconv_conv_shape *s;
} dw_args;

static void dw_tile(const dw_args *a) {
  vf acc[DW_T];
  const vf b = a->bias ? vf_loadu(a->bias) : vf_zero();
  DC_UNROLL
  for (int q = 0; q < DW_T; q++) acc[q] = b;
  for (int64_t r = 0; r < a->nr; r++)
    for (int64_t t = 0; t < a->S; t++) {
      const vf wv = vf_loadu(a->w + (r * a->S + t) * a->gp);
      const float *ip = a->in + r * a->row + t * a->col;
      DC_UNROLL
      for (int q = 0; q < DW_T; q++) acc[q] = vf_fmadd(vf_loadu(ip + q * a->pix), wv, acc[q]);
    }
  DC_UNROLL
  for (int q = 0; q < DW_T; q++) vf_storeu(a->out + q * a->opix, activate(a->s, acc[q]));
}
