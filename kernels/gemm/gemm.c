/*
 * SGEMM, written once over the vector layer and compiled per tier (see
 * gemm.h for the packed formats and the tile store).
 *
 * Loop nest (Goto / BLIS): for each nc-wide block of columns, for each kc
 * slice of the reduction, B's kc x nc block is packed once and reused by
 * every mc-row block of A, itself packed into an L2-sized block; the macro
 * kernel then runs the MR x NR microkernel over NR-wide B panels (outer: the
 * panel is reused from cache by every A panel) and MR-high A panels (inner).
 *
 * Right and bottom edges: the last B panel of a block runs a microkernel only
 * as many vectors wide as it needs (NV, NV-1, ... 1 vectors, each compiled
 * from the one generic body), so a 169-column conv output wastes 7 columns
 * of work, not 23; rows past m compute on the packed zeros and are not stored.
 */
#include "kernel.h"
#include "vec/vec.h"
#include "gemm/gemm.h"

#define MR VCONV_GEMM_MR
#define NV VCONV_GEMM_NV
#define NR VCONV_GEMM_NR
/* Vectors that cover MR floats. */
#define GROUPS ((MR + VEC_W - 1) / VEC_W)

#if defined(__GNUC__)
#  define UNROLL _Pragma("GCC unroll 32")
#  define ALWAYS_INLINE inline __attribute__((always_inline))
#  define PREFETCH_W(p) __builtin_prefetch((p), 1, 3)
#else
#  define UNROLL
#  define ALWAYS_INLINE inline
#  define PREFETCH_W(p) ((void)(p))
#endif

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t clamp64(int64_t x, int64_t lo, int64_t hi) { return x < lo ? lo : x > hi ? hi : x; }

/* ------------------------------------------------------------------------ */
/* Blocking                                                                   */

void VCONV_GEMM_FN(vconv_gemm_blocking)(const vconv_machine *m, vconv_gemm_blocking *b) {
  const int64_t l1 = m->l1d, l2 = m->l2, l3 = m->l3;
  /* kc: the MR x kc A panel in a quarter of L1, where it is reloaded by each
   * microkernel while the B panel streams from L2.  A long kc amortises the
   * C tile's load and store; measured on Zen 5 (48 KiB L1, 6x64 tile), kc 512
   * beat 256 by ~4%. */
  int64_t kc = l1 / 4 / (MR * (int64_t)sizeof(float));
  kc = clamp64(kc / 16 * 16, 128, 512);
  /* mc: the packed mc x kc block of A in half of L2, next to one B panel.
   * Where the time goes (Zen 5, 6x64, 1024^3, per-phase timing): packing A
   * and B ~3%, the rest in the macro kernel, which runs at ~98% of peak with
   * its operands in L1/L2 and ~93% once B panels stream from L3.  Against
   * OpenBLAS in one process, mc 96..384, kc 256..512, nc 512, a software
   * prefetch of the next B panel and a 2x unrolled k loop all came out
   * within +-2% (noise on a shared machine), so the sizes below stay. */
  int64_t mc = l2 / 2 / (kc * (int64_t)sizeof(float));
  mc = clamp64(mc / MR * MR, MR, 128 * MR);
  /* nc: the packed kc x nc block of B in a quarter of L3 (shared with other cores). */
  int64_t nc = l3 / 4 / (kc * (int64_t)sizeof(float));
  nc = clamp64(nc / NR * NR, NR, 4096 / NR * NR);
  b->mc = mc;
  b->kc = kc;
  b->nc = nc;
}

/* ------------------------------------------------------------------------ */
/* Packing                                                                    */

void VCONV_GEMM_FN(vconv_gemm_pack_a)(int trans, const float *A, int64_t lda, int64_t m, int64_t k,
                                       float *dst) {
  for (int64_t i0 = 0; i0 < m; i0 += MR, dst += k * MR) {
    const int rows = (int)min64(MR, m - i0);
    if (trans) {
      /* op(A)[i][p] = A[p][i]: each k step is a contiguous run of rows, read
       * exactly (masked past the panel's rows) and stored whole. */
      for (int64_t p = 0; p < k; p++) {
        const float *src = A + p * lda + i0;
        UNROLL for (int g = 0; g < GROUPS; g++) {
          const int cnt = rows - g * VEC_W;
          const vf x = cnt >= VEC_W ? vf_loadu(src + g * VEC_W)
                       : cnt > 0    ? vf_load_part(src + g * VEC_W, cnt)
                                    : vf_zero();
          vf_storeu(dst + p * MR + g * VEC_W, x);
        }
      }
    } else if (rows == MR) {
      /* VEC_W columns at a time through register transposes; a transposed
       * vector is stored whole, its lanes past row MR landing where the next
       * store (or the slack after the last panel) goes. */
      const float *src = A + i0 * lda;
      int64_t p = 0;
      for (; p + VEC_W <= k; p += VEC_W) {
        vf r[GROUPS][VEC_W];
        UNROLL for (int g = 0; g < GROUPS; g++) {
          UNROLL for (int i = 0; i < VEC_W; i++)
            r[g][i] = g * VEC_W + i < MR ? vf_loadu(src + (g * VEC_W + i) * lda + p) : vf_zero();
          vf_transpose_block(r[g]);
        }
        UNROLL for (int j = 0; j < VEC_W; j++) UNROLL for (int g = 0; g < GROUPS; g++)
          vf_storeu(dst + (p + j) * MR + g * VEC_W, r[g][j]);
      }
      for (; p < k; p++) {
        UNROLL for (int i = 0; i < MR; i++) dst[p * MR + i] = src[i * lda + p];
      }
    } else {
      for (int i = 0; i < rows; i++) {
        const float *src = A + (i0 + i) * lda;
        for (int64_t p = 0; p < k; p++) dst[p * MR + i] = src[p];
      }
      for (int i = rows; i < MR; i++)
        for (int64_t p = 0; p < k; p++) dst[p * MR + i] = 0.0f;
    }
  }
}

/* One k row of a B panel: cols <= NR floats from src, zeros after them. */
static inline void pack_b_row(float *d, const float *src, int cols) {
  if (cols == NR) {
    UNROLL for (int v = 0; v < NV; v++) vf_storeu(d + v * VEC_W, vf_loadu(src + v * VEC_W));
    return;
  }
  for (int v = 0; v < NV; v++) {
    const int c = cols - v * VEC_W;
    vf x = vf_zero();
    if (c >= VEC_W)
      x = vf_loadu(src + v * VEC_W);
    else if (c > 0)
      x = vf_load_part(src + v * VEC_W, c);
    vf_storeu(d + v * VEC_W, x);
  }
}

void VCONV_GEMM_FN(vconv_gemm_pack_b)(int trans, const float *B, int64_t ldb, int64_t k, int64_t n,
                                       float *dst) {
  for (int64_t j0 = 0; j0 < n; j0 += NR, dst += k * NR) {
    const int cols = (int)min64(NR, n - j0);
    if (!trans) {
      for (int64_t p = 0; p < k; p++) pack_b_row(dst + p * NR, B + p * ldb + j0, cols);
    } else {
      /* op(B)[p][j] = B[j][p]: VEC_W x VEC_W blocks through register
       * transposes (fully connected layers store their weights this way). */
      const float *src = B + j0 * ldb;
      int64_t p = 0;
      for (; p + VEC_W <= k; p += VEC_W)
        UNROLL for (int v = 0; v < NV; v++) {
          vf r[VEC_W];
          UNROLL for (int i = 0; i < VEC_W; i++)
            r[i] = v * VEC_W + i < cols ? vf_loadu(src + (v * VEC_W + i) * ldb + p) : vf_zero();
          vf_transpose_block(r);
          UNROLL for (int q = 0; q < VEC_W; q++) vf_storeu(dst + (p + q) * NR + v * VEC_W, r[q]);
        }
      for (; p < k; p++)
        for (int j = 0; j < NR; j++) dst[p * NR + j] = j < cols ? src[j * ldb + p] : 0.0f;
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Microkernel                                                                */

/* One vector of a C row through the epilogue; cnt < VEC_W stores a masked part. */
static ALWAYS_INLINE void store_vec(float *c, vf x, int cnt, const vconv_gemm_epilogue *e,
                                    vf bias) {
  if (e->alpha != 1.0f) x = vf_mul(vf_set1(e->alpha), x);
  if (e->beta != 0.0f) {
    const vf old = cnt == VEC_W ? vf_loadu(c) : vf_load_part(c, cnt);
    x = e->beta == 1.0f ? vf_add(x, old) : vf_fmadd(vf_set1(e->beta), old, x);
  }
  if (e->bias) x = vf_add(x, bias);
  if (e->clamp) x = vf_upper(vf_set1(e->hi), vf_lower(vf_set1(e->lo), x));
  if (cnt == VEC_W)
    vf_storeu(c, x);
  else
    vf_store_part(c, x, cnt);
}

/*
 * C tile (mv <= MR rows, nv <= nvec * VEC_W columns) = epilogue(A panel x B
 * panel), B rows ldbk floats apart.  nvec is a constant at every call site, so
 * each width is its own fully unrolled copy: the accumulators are indexed
 * only by unrolled loops and the compiler keeps them all in registers.
 */
static ALWAYS_INLINE void micro(const int nvec, int64_t k, const float *restrict a,
                                const float *restrict b, int64_t ldbk, float *c, int64_t ldc,
                                int mv, int nv, const vconv_gemm_epilogue *e,
                                const float *bias_row, const float *bias_col) {
  vf acc[MR][NV];
  UNROLL for (int i = 0; i < MR; i++) UNROLL for (int j = 0; j < nvec; j++) acc[i][j] = vf_zero();
  /* The tile is read (beta, later passes) or written only after the loop: start its lines coming. */
  UNROLL for (int i = 0; i < MR; i++) {
    if (i < mv) PREFETCH_W(c + i * ldc);
  }
  for (int64_t p = 0; p < k; p++) {
    vf bv[NV];
    UNROLL for (int j = 0; j < nvec; j++) bv[j] = vf_loadu(b + j * VEC_W);
    UNROLL for (int i = 0; i < MR; i++) {
      const vf av = vf_set1(a[i]);
      UNROLL for (int j = 0; j < nvec; j++) acc[i][j] = vf_fmadd(av, bv[j], acc[i][j]);
    }
    a += MR;
    b += ldbk;
  }
  const vf zero = vf_zero();
  if (mv == MR && nv == nvec * VEC_W) {
    UNROLL for (int i = 0; i < MR; i++) {
      const vf br = bias_row ? vf_set1(bias_row[i]) : zero;
      UNROLL for (int j = 0; j < nvec; j++)
        store_vec(c + i * ldc + j * VEC_W, acc[i][j], VEC_W, e,
                  bias_col ? vf_loadu(bias_col + j * VEC_W) : br);
    }
    return;
  }
  UNROLL for (int i = 0; i < MR; i++) {
    if (i < mv) {
      const vf br = bias_row ? vf_set1(bias_row[i]) : zero;
      UNROLL for (int j = 0; j < nvec; j++) {
        const int cnt = nv - j * VEC_W;
        if (cnt > 0) {
          const int w = cnt < VEC_W ? cnt : VEC_W;
          const vf bc = !bias_col ? br
                        : w == VEC_W ? vf_loadu(bias_col + j * VEC_W)
                                     : vf_load_part(bias_col + j * VEC_W, w);
          store_vec(c + i * ldc + j * VEC_W, acc[i][j], w, e, bc);
        }
      }
    }
  }
}

/* Runs the microkernel as wide as the panel's nv columns need. */
static void micro_any(int64_t k, const float *a, const float *b, int64_t ldbk, float *c,
                      int64_t ldc, int mv, int nv, const vconv_gemm_epilogue *e,
                      const float *bias_row, const float *bias_col) {
  switch ((nv + VEC_W - 1) / VEC_W) {
#if NV >= 6
#  error "add the wider cases"
#endif
#if NV >= 5
    case 5: micro(5, k, a, b, ldbk, c, ldc, mv, nv, e, bias_row, bias_col); break;
#endif
#if NV >= 4
    case 4: micro(4, k, a, b, ldbk, c, ldc, mv, nv, e, bias_row, bias_col); break;
#endif
#if NV >= 3
    case 3: micro(3, k, a, b, ldbk, c, ldc, mv, nv, e, bias_row, bias_col); break;
#endif
#if NV >= 2
    case 2: micro(2, k, a, b, ldbk, c, ldc, mv, nv, e, bias_row, bias_col); break;
#endif
    default: micro(1, k, a, b, ldbk, c, ldc, mv, nv, e, bias_row, bias_col); break;
  }
}

/* The full-width tile, kept out of the switch so the hot call is direct. */
static void micro_full(int64_t k, const float *a, const float *b, int64_t ldbk, float *c,
                       int64_t ldc, int mv, const vconv_gemm_epilogue *e, const float *bias_row,
                       const float *bias_col) {
  micro(NV, k, a, b, ldbk, c, ldc, mv, NR, e, bias_row, bias_col);
}

/* The macro kernel over B panels b_stride floats apart whose k rows are ldbk apart. */
static void macro(int64_t m, int64_t n, int64_t k, const float *pa, int64_t a_stride,
                  const float *pb, int64_t b_stride, int64_t ldbk, float *C, int64_t ldc,
                  const vconv_gemm_epilogue *e, int64_t row0, int64_t col0) {
  const float *bias_row = e->bias && !e->bias_per_col ? e->bias + row0 : NULL;
  const float *bias_col = e->bias && e->bias_per_col ? e->bias + col0 : NULL;
  for (int64_t j = 0; j < n; j += NR, pb += b_stride) {
    const int nv = (int)min64(NR, n - j);
    const float *a = pa;
    const float *bc = bias_col ? bias_col + j : NULL;
    for (int64_t i = 0; i < m; i += MR, a += a_stride) {
      const int mv = (int)min64(MR, m - i);
      const float *br = bias_row ? bias_row + i : NULL;
      if (nv == NR)
        micro_full(k, a, pb, ldbk, C + i * ldc + j, ldc, mv, e, br, bc);
      else
        micro_any(k, a, pb, ldbk, C + i * ldc + j, ldc, mv, nv, e, br, bc);
    }
  }
}

void VCONV_GEMM_FN(vconv_gemm_macro)(int64_t m, int64_t n, int64_t k, const float *pa,
                                      int64_t a_stride, const float *pb, int64_t b_stride, float *C,
                                      int64_t ldc, const vconv_gemm_epilogue *e, int64_t row0,
                                      int64_t col0) {
  macro(m, n, k, pa, a_stride, pb, b_stride, NR, C, ldc, e, row0, col0);
}

/* ------------------------------------------------------------------------ */
/* Driver                                                                     */

/* B is read in place (no packing) when A has so few rows that packing B
 * would cost as much as using it: fully connected layers at small batch,
 * whose B (the weights) is read once either way.  Only the last, partial
 * panel is packed, so nothing past the caller's columns is read. */
static int direct_b(int trans_b, int64_t m) { return !trans_b && m <= 2 * MR; }

static void block_sizes(int64_t m, int64_t n, int64_t k, const vconv_gemm_blocking *bl, int64_t *mc,
                        int64_t *kc, int64_t *nc) {
  const vconv_gemm_blocking b = *bl;
  /* Equal slices: a short last kc slice would cost a C pass for little work,
   * a short last mc block a whole reread of the B block for a few rows. */
  const int64_t passes = (k + b.kc - 1) / b.kc;
  *kc = (k + passes - 1) / passes;
  const int64_t mblocks = (m + b.mc - 1) / b.mc, nblocks = (n + b.nc - 1) / b.nc;
  *mc = ((m + mblocks - 1) / mblocks + MR - 1) / MR * MR;
  *nc = ((n + nblocks - 1) / nblocks + NR - 1) / NR * NR;
}

/* Scratch for any m' <= m, n' <= n (vconv_sgemm sizes one slice for pieces of
 * different sizes): the caps of the equalised blocks, which never shrink as m
 * and n grow the way the blocks themselves may. */
static void block_caps(int64_t m, int64_t n, int64_t k, const vconv_gemm_blocking *bl, int64_t *mc,
                       int64_t *kc, int64_t *nc) {
  const vconv_gemm_blocking b = *bl;
  const int64_t passes = (k + b.kc - 1) / b.kc;
  *kc = (k + passes - 1) / passes;
  *mc = min64(b.mc, (m + MR - 1) / MR * MR);
  *nc = min64(b.nc, (n + NR - 1) / NR * NR);
}

static size_t scratch_a_floats(int64_t mc, int64_t kc) {
  return (vconv_gemm_packed_a_floats(mc, kc) + 15) / 16 * 16;
}

size_t VCONV_GEMM_FN(vconv_gemm_workspace)(int64_t m, int64_t n, int64_t k,
                                            const vconv_gemm_blocking *b) {
  int64_t mc, kc, nc;
  block_caps(m, n, k, b, &mc, &kc, &nc);
  return (scratch_a_floats(mc, kc) + vconv_gemm_packed_b_floats(kc, nc)) * sizeof(float);
}

/*
 * One or two rows of A against rows of B (trans_a 0, trans_b 1: a fully
 * connected layer at batch 1 or 2, weights [outputs][inputs]): dot products
 * straight from both matrices, four rows of B at a time sharing A's loads.
 * Packing would copy all of B, which such a product reads only once (AlexNet
 * fc1 at batch 1: 151 MB), for no reuse.  Each dot product sums its lanes
 * over K in order, then the lanes in order: a fixed order per element.
 * vconv_sgemm picks it for the whole product (m <= VCONV_GEMM_DOT_ROWS); a
 * piece of a larger product always takes the packed path, whatever its rows.
 */
#define DOT_COLS 4
static void dot_rows(int64_t m, int64_t n, int64_t k, float alpha, const float *A, int64_t lda,
                     const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  const int64_t kfull = k / VEC_W * VEC_W;
  for (int64_t j0 = 0; j0 < n; j0 += DOT_COLS) {
    const int64_t nj = min64(DOT_COLS, n - j0);
    vf acc[VCONV_GEMM_DOT_ROWS][DOT_COLS];
    for (int i = 0; i < VCONV_GEMM_DOT_ROWS; i++)
      for (int j = 0; j < DOT_COLS; j++) acc[i][j] = vf_zero();
    const float *b[DOT_COLS];
    for (int j = 0; j < DOT_COLS; j++) b[j] = B + (j0 + (j < nj ? j : 0)) * ldb;
    for (int64_t kk = 0; kk < k; kk += VEC_W) {
      const int part = kk >= kfull;
      const int rest = (int)(k - kk);
      vf bv[DOT_COLS];
      for (int j = 0; j < DOT_COLS; j++)
        bv[j] = part ? vf_load_part(b[j] + kk, rest) : vf_loadu(b[j] + kk);
      for (int64_t i = 0; i < m; i++) {
        const vf av = part ? vf_load_part(A + i * lda + kk, rest) : vf_loadu(A + i * lda + kk);
        for (int j = 0; j < DOT_COLS; j++) acc[i][j] = vf_fmadd(av, bv[j], acc[i][j]);
      }
    }
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < nj; j++) {
        float lane[VEC_W], sum = 0.0f;
        vf_storeu(lane, acc[i][j]);
        for (int l = 0; l < VEC_W; l++) sum += lane[l];
        float *c = C + i * ldc + j0 + j;
        *c = beta == 0.0f ? alpha * sum : alpha * sum + beta * *c;
      }
  }
}

void VCONV_GEMM_FN(vconv_gemm_run)(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                                    float alpha, const float *A, int64_t lda, const float *B,
                                    int64_t ldb, float beta, float *C, int64_t ldc,
                                    const vconv_gemm_blocking *b, void *scratch) {
  int64_t mc, kc, nc, mcap, ncap;
  block_sizes(m, n, k, b, &mc, &kc, &nc);
  block_caps(m, n, k, b, &mcap, &kc, &ncap);
  float *pa = scratch;
  float *pb = pa + scratch_a_floats(mcap, kc);
  const int in_place = direct_b(trans_b, m);
  for (int64_t jc = 0; jc < n; jc += nc) {
    const int64_t ncur = min64(nc, n - jc);
    for (int64_t pc = 0; pc < k; pc += kc) {
      const int64_t kcur = min64(kc, k - pc);
      const vconv_gemm_epilogue e = {alpha, pc == 0 ? beta : 1.0f, NULL, 0, 0, 0.0f, 0.0f};
      const float *bsrc = trans_b ? B + jc * ldb + pc : B + pc * ldb + jc;
      const int64_t nfull = ncur / NR * NR;
      /* In place, the partial panel alone is packed, at the start of the B buffer. */
      if (in_place && nfull < ncur)
        VCONV_GEMM_FN(vconv_gemm_pack_b)(0, bsrc + nfull, ldb, kcur, ncur - nfull, pb);
      for (int64_t ic = 0; ic < m; ic += mc) {
        const int64_t mcur = min64(mc, m - ic);
        VCONV_GEMM_FN(vconv_gemm_pack_a)(trans_a, trans_a ? A + pc * lda + ic : A + ic * lda + pc,
                                         lda, mcur, kcur, pa);
        float *c = C + ic * ldc + jc;
        if (in_place) {
          macro(mcur, nfull, kcur, pa, kcur * MR, bsrc, NR, ldb, c, ldc, &e, 0, 0);
          if (nfull < ncur)
            macro(mcur, ncur - nfull, kcur, pa, kcur * MR, pb, kcur * NR, NR, c + nfull, ldc, &e, 0, 0);
        } else if (ic == 0) {
          /* The first row block packs B one panel at a time and uses each
           * while it is still in L1/L2; later blocks reread the packed block. */
          for (int64_t jr = 0; jr < ncur; jr += NR) {
            float *pbj = pb + jr * kcur;
            const int64_t w = min64(NR, ncur - jr);
            VCONV_GEMM_FN(vconv_gemm_pack_b)(trans_b, trans_b ? bsrc + jr * ldb : bsrc + jr, ldb,
                                             kcur, w, pbj);
            macro(mcur, w, kcur, pa, kcur * MR, pbj, kcur * NR, NR, c + jr, ldc, &e, 0, jr);
          }
        } else {
          macro(mcur, ncur, kcur, pa, kcur * MR, pb, kcur * NR, NR, c, ldc, &e, 0, 0);
        }
      }
    }
  }
}

#define STR_(x) #x
#define STR(x) STR_(x)

const vconv_gemm_kernel VCONV_TIERED(vconv_gemm_kernel) = {
    .isa = VEC_ISA,
    .name = "gemm/" STR(VCONV_TIER),
    .mr = MR,
    .nr = NR,
    .blocking = VCONV_GEMM_FN(vconv_gemm_blocking),
    .workspace = VCONV_GEMM_FN(vconv_gemm_workspace),
    .run = VCONV_GEMM_FN(vconv_gemm_run),
    .dot_rows = dot_rows,
};
