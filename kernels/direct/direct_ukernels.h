/*
 * Register-tiled microkernels of direct.c (included once, per tier).  Each is
 * one body written over the vector layer, instantiated with constant tile
 * sizes (the *_INSTANCES lists of direct.c) so the compiler unrolls the tile
 * and keeps every accumulator in a register.
 */

/* ------------------------------------------------------------------------ */
/* Blocked: T output pixels of one row x NV vectors of output channels. */

typedef struct bk_args {
  const float *in; /* input channel 0, first tap row, first tap column, first pixel */
  const float *w;  /* packed weights at the same (r, s, c): [r][s][c][NV * VEC_W] */
  float *acc;      /* T x NV * VEC_W floats, read and written back */
  int64_t nr, ns, nc;                   /* tap rows, tap columns, input channels */
  ptrdiff_t in_r, in_s, in_c, in_q;     /* input steps per tap row/column, channel, pixel */
  ptrdiff_t w_r, w_s;                   /* weight steps per tap row/column */
} bk_args;

typedef void (*bk_fn)(const bk_args *);

/* QS: the pixel step when known at compile time (stride 1), 0 = a->in_q. */
DC_INLINE void bk_body(const bk_args *a, const int T, const int NV, const int QS) {
  const int kb = NV * VEC_W;
  const ptrdiff_t qs = QS ? QS : a->in_q, in_c = a->in_c, in_r = a->in_r, in_s = a->in_s;
  const ptrdiff_t w_r = a->w_r, w_s = a->w_s;
  const int64_t nr = a->nr, ns = a->ns, nc = a->nc;
  vf acc[TMAX][NVMAX];
  for (int q = 0; q < T; q++)
    for (int v = 0; v < NV; v++) acc[q][v] = vf_loadu(a->acc + q * kb + v * VEC_W);
  for (int64_t r = 0; r < nr; r++)
    for (int64_t t = 0; t < ns; t++) {
      const float *ip = a->in + r * in_r + t * in_s;
      const float *wp = a->w + r * w_r + t * w_s;
      for (int64_t c = 0; c < nc; c++, ip += in_c, wp += kb) {
        vf wv[NVMAX];
        for (int v = 0; v < NV; v++) wv[v] = vf_loadu(wp + v * VEC_W);
        for (int q = 0; q < T; q++) {
          const vf x = vf_set1(ip[q * qs]);
          for (int v = 0; v < NV; v++) acc[q][v] = vf_fmadd(x, wv[v], acc[q][v]);
        }
      }
    }
  for (int q = 0; q < T; q++)
    for (int v = 0; v < NV; v++) vf_storeu(a->acc + q * kb + v * VEC_W, acc[q][v]);
}

#define BK_DEF(T, NV)                                                       \
  static void bk_##T##_##NV##_1(const bk_args *a) { bk_body(a, T, NV, 1); } \
  static void bk_##T##_##NV##_0(const bk_args *a) { bk_body(a, T, NV, 0); }
BK_INSTANCES(BK_DEF)
#undef BK_DEF

/* [pixel step is 1][NV][T]; NULL where no tile of that size is built. */
#define BK_ENTRY0(T, NV) [0][NV][T] = bk_##T##_##NV##_0,
#define BK_ENTRY1(T, NV) [1][NV][T] = bk_##T##_##NV##_1,
static const bk_fn bk_tab[2][NVMAX + 1][TMAX + 1] = {BK_INSTANCES(BK_ENTRY0) BK_INSTANCES(BK_ENTRY1)};
#undef BK_ENTRY0
#undef BK_ENTRY1

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

DC_INLINE void sp_body(const sp_args *a, const int KT, const int NQ) {
  vf acc[KTMAX][NQMAX];
  const int64_t nc = a->nc, nr = a->nr, S = a->S, W = a->W, dw = a->dw, qn = a->qn;
  for (int k = 0; k < KT; k++)
    for (int j = 0; j < NQ; j++) {
      const int m = (int)(qn - j * VEC_W < VEC_W ? qn - j * VEC_W : VEC_W);
      const float *o = a->out + k * a->out_k + j * VEC_W;
      acc[k][j] = a->first ? vf_set1(a->bias[k]) : m == VEC_W ? vf_loadu(o) : vf_load_part(o, m);
    }
  for (int64_t c = 0; c < nc; c++)
    for (int64_t r = 0; r < nr; r++) {
      const float *row = a->in + c * a->in_c + r * a->in_r;
      const float *wp = a->w + c * a->w_c + r * a->w_r;
      for (int64_t t = 0; t < S; t++, wp += KT) {
        const int64_t off = a->iw0 + t * dw; /* input column of lane 0 of vector 0 */
        vf x[NQMAX];
        for (int j = 0; j < NQ; j++) {
          const int64_t b = off + j * VEC_W;
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
        for (int k = 0; k < KT; k++) {
          const vf wk = vf_set1(wp[k]);
          for (int j = 0; j < NQ; j++) acc[k][j] = vf_fmadd(x[j], wk, acc[k][j]);
        }
      }
    }
  for (int k = 0; k < KT; k++)
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
