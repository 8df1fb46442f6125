/* vconv_sgemm: argument checks, the tier, the split over the caller's threads. */
#include <stdint.h>

#include "ops.h"
#include "plan.h"

/* Largest element count of one matrix: its byte size must fit ptrdiff_t. */
#define MAX_ELEMS ((int64_t)(PTRDIFF_MAX / (ptrdiff_t)sizeof(float)))

/* A rows x cols matrix with leading dimension ld spans (rows-1)*ld + cols floats. */
static int extent_ok(int64_t rows, int64_t cols, int64_t ld) {
  if (rows == 0 || cols == 0) return 1;
  int64_t e;
  return !__builtin_mul_overflow(rows - 1, ld, &e) && !__builtin_add_overflow(e, cols, &e) &&
         e <= MAX_ELEMS;
}

static int64_t max1(int64_t x) { return x > 1 ? x : 1; }

typedef struct gemm_call {
  const vconv_gemm_kernel *kernel;
  int trans_a, trans_b;
  int64_t M, N, K;
  float alpha, beta;
  const float *A, *B;
  float *C;
  int64_t lda, ldb, ldc;
  int dot;           /* the whole product by dot products (kernel->dot_rows) */
  int split_n;       /* pieces are column blocks (1) or row blocks (0) */
  int64_t step;      /* columns or rows per piece, a multiple of the tile */
  vconv_gemm_blocking blocking;
} gemm_call;

/* One piece: the same loop nest on a block of C.  Every element of C sees the
 * same kc slices in the same order whatever the split, so results do not
 * depend on the thread count. */
static void gemm_piece(void *arg, void *scratch, size_t piece) {
  const gemm_call *g = arg;
  const int64_t lo = (int64_t)piece * g->step;
  if (g->split_n) {
    const int64_t n = g->N - lo < g->step ? g->N - lo : g->step;
    const float *b = g->trans_b ? g->B + lo * g->ldb : g->B + lo;
    if (g->dot)
      g->kernel->dot_rows(g->M, n, g->K, g->alpha, g->A, g->lda, b, g->ldb, g->beta, g->C + lo,
                          g->ldc);
    else
      g->kernel->run(g->trans_a, g->trans_b, g->M, n, g->K, g->alpha, g->A, g->lda, b, g->ldb,
                     g->beta, g->C + lo, g->ldc, &g->blocking, scratch);
  } else {
    const int64_t m = g->M - lo < g->step ? g->M - lo : g->step;
    const float *a = g->trans_a ? g->A + lo : g->A + lo * g->lda;
    g->kernel->run(g->trans_a, g->trans_b, m, g->N, g->K, g->alpha, a, g->lda, g->B, g->ldb,
                   g->beta, g->C + lo * g->ldc, g->ldc, &g->blocking, scratch);
  }
}

/* C = beta * C without reading C when beta == 0 (K == 0 or alpha == 0). */
static void scale_c(int64_t M, int64_t N, float beta, float *C, int64_t ldc) {
  if (beta == 1.0f) return;
  for (int64_t i = 0; i < M; i++) {
    float *c = C + i * ldc;
    if (beta == 0.0f)
      for (int64_t j = 0; j < N; j++) c[j] = 0.0f;
    else
      for (int64_t j = 0; j < N; j++) c[j] *= beta;
  }
}

vconv_status vconv_sgemm_for_isa(vconv_isa isa, int trans_a, int trans_b, int64_t M, int64_t N,
                                 int64_t K, float alpha, const float *A, int64_t lda,
                                 const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
                                 const vconv_parallel *parallel) {
  if ((trans_a != 0 && trans_a != 1) || (trans_b != 0 && trans_b != 1))
    return VCONV_ERR_INVALID_ARGUMENT;
  if (M < 0 || N < 0 || K < 0) return VCONV_ERR_INVALID_SIZE;
  /* Stored shapes: A is M x K (K x M transposed), B is K x N (N x K transposed). */
  const int64_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K;
  const int64_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N;
  if ((!A && M > 0 && K > 0) || (!B && K > 0 && N > 0) || (!C && M > 0 && N > 0))
    return VCONV_ERR_NULL_POINTER;
  if (lda < max1(a_cols) || ldb < max1(b_cols) || ldc < max1(N)) return VCONV_ERR_INVALID_ARGUMENT;
  if (!extent_ok(a_rows, a_cols, lda) || !extent_ok(b_rows, b_cols, ldb) || !extent_ok(M, N, ldc))
    return VCONV_ERR_SIZE_OVERFLOW;
  vconv_isa tier;
  vconv_status st = vconv_i_resolve_isa(isa, &tier);
  if (st != VCONV_OK) return st;
  const vconv_gemm_kernel *kernel;
  if ((st = vconv_i_select_gemm(tier, &kernel)) != VCONV_OK) return st;

  if (M == 0 || N == 0) return VCONV_OK;
  if (K == 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return VCONV_OK;
  }

  const int dot = !trans_a && trans_b && M <= VCONV_GEMM_DOT_ROWS;
  gemm_call g = {kernel, trans_a, trans_b, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc, dot, 1, N,
                 {0}};
  kernel->blocking(vconv_i_machine(), &g.blocking);
  /* Split the longer side of C into one block per thread, whole tiles each
   * (dot products: always columns, each piece by the same dot_rows). */
  const size_t threads = vconv_i_workers(parallel, SIZE_MAX);
  if (threads > 1) {
    g.split_n = dot || N >= M;
    const int64_t len = g.split_n ? N : M, tile = g.split_n ? kernel->nr : kernel->mr;
    const int64_t tiles = (len + tile - 1) / tile;
    const int64_t per = (tiles + (int64_t)threads - 1) / (int64_t)threads;
    g.step = per * tile;
  }
  const size_t pieces = (size_t)(((g.split_n ? N : M) + g.step - 1) / g.step);
  const size_t workers = vconv_i_workers(parallel, pieces);
  /* The workspace is not monotonic in the piece size (block_sizes splits a
   * dimension into equal blocks, so a shorter last piece can get a larger mc
   * or nc): size the slice for the larger of a full and the last piece. */
  const int64_t last = (g.split_n ? N : M) - (int64_t)(pieces - 1) * g.step;
  size_t ws_bytes = kernel->workspace(g.split_n ? M : g.step, g.split_n ? g.step : N, K, &g.blocking);
  const size_t ws_last = kernel->workspace(g.split_n ? M : last, g.split_n ? last : N, K, &g.blocking);
  if (ws_last > ws_bytes) ws_bytes = ws_last;
  const size_t slice = (ws_bytes + 63) / 64 * 64;
  if (slice > (SIZE_MAX - 64) / workers) return VCONV_ERR_OUT_OF_MEMORY;
  unsigned char *ws = vconv_i_alloc(slice * workers);
  if (!ws) return VCONV_ERR_OUT_OF_MEMORY;
  vconv_i_run_pieces(parallel, pieces, ws, slice, gemm_piece, &g);
  vconv_i_free(ws);
  return VCONV_OK;
}

vconv_status vconv_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc, const vconv_parallel *parallel) {
  return vconv_sgemm_for_isa(VCONV_ISA_AUTO, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb,
                             beta, C, ldc, parallel);
}
