/*
 * The SGEMM building blocks of one tier (kernels/gemm/gemm.c), shared by the
 * public vconv_sgemm driver, im2col convolution and Winograd.  Tier sources
 * only: include after vec/vec.h, which fixes VEC_W and VCONV_TIER.
 *
 * Goto/BLIS structure.  C (row-major) is computed in MR x NR register tiles:
 * NR = VCONV_GEMM_NV vectors along a row of C (so stores are contiguous),
 * MR rows, each an A element broadcast against the NR-wide row of B.
 *   packed A: ceil(m / MR) panels; panel i holds rows i*MR .. i*MR+MR-1 as
 *             k groups of MR floats (rows past m are zeros);
 *   packed B: ceil(n / NR) panels; panel j holds columns j*NR .. as k groups
 *             of NR floats (columns past n are zeros).
 * Zero padding lives only in our own buffers, so the microkernel runs full
 * tiles without reading outside the caller's matrices; edge tiles are written
 * back through masked stores.  The zeros meet finite or infinite values only
 * in lanes that are never stored, so inf * 0 never reaches C.
 */
#ifndef VCONV_GEMM_H
#define VCONV_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "kernel.h"

/* Register tiles: MR x NV vectors of accumulators plus NV vectors of B and a
 * broadcast must fit the register file without spills (objdump shows the
 * k-loop as loads + FMAs only).  Overridable for tile experiments. */
#ifndef VCONV_GEMM_MR
#  if defined(VCONV_TIER_AVX512)
#    define VCONV_GEMM_MR 6 /* 24 zmm accumulators + 4 B + broadcast; beat 14x32, 12x32, 8x48 */
#    define VCONV_GEMM_NV 4
#  elif defined(VCONV_TIER_AVX2)
#    define VCONV_GEMM_MR 6 /* 12 ymm accumulators + 2 B + broadcast, 16 registers */
#    define VCONV_GEMM_NV 2
#  elif defined(VCONV_TIER_SSE41)
#    define VCONV_GEMM_MR 6 /* 12 accumulators + 2 B + broadcast + product (no FMA) = 16 */
#    define VCONV_GEMM_NV 2
#  elif defined(VCONV_TIER_NEON)
#    define VCONV_GEMM_MR 8 /* 16 accumulators + 2 B + 8 A scalars; 8x12 spills (gcc 12) */
#    define VCONV_GEMM_NV 2
#  elif defined(__aarch64__)
#    define VCONV_GEMM_MR 4 /* scalar: 16 accumulators of 32 FP registers */
#    define VCONV_GEMM_NV 4
#  else
#    define VCONV_GEMM_MR 4 /* scalar on x86: 4x4 spills from the 16 XMM registers */
#    define VCONV_GEMM_NV 2
#  endif
#endif
#define VCONV_GEMM_NR (VCONV_GEMM_NV * VEC_W)


/*
 * What the tile store does with an accumulator x of row i, column j:
 *   y = alpha * x + beta * C[i][j]   (beta == 0: C is not read, NaN there cannot leak)
 *   y += bias[row0 + i] (bias_per_col == 0) or bias[col0 + j] (bias_per_col == 1)
 *   y = min(max(y, lo), hi) when clamp (NaN stays NaN)
 * A reduction split into kc passes stores after each pass: the first pass
 * carries the caller's beta and the bias, later ones beta = 1 and no bias,
 * the last one the clamp.
 */
typedef struct vconv_gemm_epilogue {
  float alpha, beta;
  const float *bias;
  int bias_per_col;
  int clamp;
  float lo, hi;
} vconv_gemm_epilogue;

#define VCONV_GEMM_FN(name) VCONV_TIERED(name)

/* The blocking of this tier for the machine's caches. */
void VCONV_GEMM_FN(vconv_gemm_blocking)(const vconv_machine *m, vconv_gemm_blocking *b);

/* Floats of a packed m x k block of A (k x n block of B), padding included;
 * A's also VEC_W floats of slack that vconv_gemm_pack_a may write past the
 * last panel (whole-vector stores). */
static inline size_t vconv_gemm_packed_a_floats(int64_t m, int64_t k) {
  return (size_t)((m + VCONV_GEMM_MR - 1) / VCONV_GEMM_MR * VCONV_GEMM_MR * k + VEC_W);
}
static inline size_t vconv_gemm_packed_b_floats(int64_t k, int64_t n) {
  return (size_t)((n + VCONV_GEMM_NR - 1) / VCONV_GEMM_NR * VCONV_GEMM_NR * k);
}

/* Pack rows 0..m-1, columns 0..k-1 of op(A) where op(A)[i][p] is A[i*lda + p]
 * (trans 0) or A[p*lda + i] (trans 1).  Panels are k*MR floats apart; dst
 * holds vconv_gemm_packed_a_floats(m, k) floats. */
void VCONV_GEMM_FN(vconv_gemm_pack_a)(int trans, const float *A, int64_t lda, int64_t m, int64_t k,
                                       float *dst);
/* Pack op(B) (k x n): B[p*ldb + j] (trans 0) or B[j*ldb + p] (trans 1).
 * Panels are k*NR floats apart. */
void VCONV_GEMM_FN(vconv_gemm_pack_b)(int trans, const float *B, int64_t ldb, int64_t k, int64_t n,
                                       float *dst);

/*
 * C[0..m) x [0..n) = epilogue(packed A x packed B) over a reduction of k.
 * a_stride / b_stride: floats from one panel to the next (k*MR and k*NR for
 * blocks packed by the functions above; larger when a block is the k-slice
 * of a matrix packed once over a longer reduction).  row0/col0: where C[0][0]
 * sits in the bias's index space.
 */
void VCONV_GEMM_FN(vconv_gemm_macro)(int64_t m, int64_t n, int64_t k, const float *pa,
                                      int64_t a_stride, const float *pb, int64_t b_stride, float *C,
                                      int64_t ldc, const vconv_gemm_epilogue *e, int64_t row0,
                                      int64_t col0);

/* Bytes of scratch vconv_gemm_run needs for any call with m' <= m, n' <= n, k
 * (64-byte aligned scratch) under blocking b. */
size_t VCONV_GEMM_FN(vconv_gemm_workspace)(int64_t m, int64_t n, int64_t k,
                                            const vconv_gemm_blocking *b);

/*
 * C = alpha * op(A) op(B) + beta * C for row-major matrices, m, n, k > 0,
 * on the calling thread with the given scratch.  Shared by vconv_sgemm and
 * Winograd's batched multiplication.
 */
void VCONV_GEMM_FN(vconv_gemm_run)(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                                    float alpha, const float *A, int64_t lda, const float *B,
                                    int64_t ldb, float beta, float *C, int64_t ldc,
                                    const vconv_gemm_blocking *b, void *scratch);

#endif
