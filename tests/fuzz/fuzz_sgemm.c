/*
 * Fuzz target: vconv_sgemm and vconv_sgemm_for_isa on every tier value.
 *
 * The header lists the checks in order (transposes, sizes, NULL matrices,
 * leading dimensions, spans, then the tier): the status must be exactly the
 * first that applies.  Matrices are exactly as long as their leading
 * dimension says ((rows - 1) * ld + columns floats) with a guard page after
 * them; the gaps between rows hold NaN, C's gaps a sentinel that must survive,
 * and a C that beta == 0 must not read holds NaN.  With alpha == 0 (or K == 0)
 * A and B are NaN too.  Results: the same bits on the calling thread alone,
 * and for plain data the bound of tests/test_gemm.c,
 * |C - C_ref| <= gamma(K + 2) (|alpha| sum |a b| + |beta c|), plus the
 * absolute error of underflow (alpha and beta may be subnormal here).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ta, tb;
static int64_t M, N, K, lda, ldb, ldc;
static float alpha, beta;
static int isa_arg;

_Noreturn static void fail(const char *msg, long long a, long long b) {
  fprintf(stderr, "  sgemm isa=%d ta=%d tb=%d M=%lld N=%lld K=%lld lda=%lld ldb=%lld ldc=%lld alpha=%a beta=%a\n",
          isa_arg, ta, tb, (long long)M, (long long)N, (long long)K, (long long)lda, (long long)ldb,
          (long long)ldc, (double)alpha, (double)beta);
  fz_fail("sgemm: %s (%lld, %lld)", msg, a, b);
}

/* A factor of the bound: small values, and in wild inputs anything. */
static float scalar(fz *f) {
  if (!f->tame) return fz_float(f);
  static const float v[] = {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, -0.25f, 3.0f, 0x1p-20f};
  return v[fz_u8(f) % 8];
}

/* A leading dimension: the minimum plus a little, or (wild) anything. */
static int64_t lead(fz *f, int64_t cols) {
  const int64_t min = cols > 1 ? cols : 1, extra = fz_field(f, 0, 3);
  int64_t ld;
  return fz_add(min, extra, &ld) ? ld : extra;
}

/* Floats a rows x cols matrix with leading dimension ld spans: 0 without
 * elements, -1 if that does not fit in int64. */
static int64_t span(int64_t rows, int64_t cols, int64_t ld) {
  if (rows <= 0 || cols <= 0) return 0;
  int64_t n;
  if (ld < 1 || !fz_mul(rows - 1, ld, &n) || !fz_add(n, cols, &n)) return -1;
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz f;
  fz_init(&f, data, size);
  ta = fz_enum(&f, 0, 1);
  tb = fz_enum(&f, 0, 1);
  M = fz_field(&f, 0, 70);
  N = fz_field(&f, 0, 70);
  K = fz_field(&f, 0, 300);
  const int64_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
  lda = lead(&f, ac);
  ldb = lead(&f, bc);
  ldc = lead(&f, N);
  alpha = scalar(&f);
  beta = scalar(&f);
  const size_t ntier = fz_u8(&f) % (VCONV_ISA_COUNT + 2);
  isa_arg = ntier < VCONV_ISA_COUNT ? (int)ntier : ntier == VCONV_ISA_COUNT ? VCONV_ISA_AUTO : fz_enum(&f, -1, 4);
  const int plain_call = ntier == VCONV_ISA_COUNT + 1 && (fz_u8(&f) & 1); /* vconv_sgemm itself */
  const uint8_t nulls = fz_u8(&f);
  const fz_data aspec = fz_data_spec(&f, -30, 30, 1), bspec = fz_data_spec(&f, -30, 30, 1);
  fz_pool pool;
  const vconv_parallel *par = fz_parallel(&f, &pool);

  /* The status the header's order of checks gives. */
  const int64_t na = span(ar, ac, lda), nb = span(br, bc, ldb), nc = span(M, N, ldc);
  const int a_has = M > 0 && K > 0, b_has = K > 0 && N > 0, c_has = M > 0 && N > 0;
  const int null_a = a_has && (nulls & 1), null_b = b_has && (nulls & 2), null_c = c_has && (nulls & 4);
  vconv_status want = VCONV_OK;
  const int64_t too_big = (int64_t)(PTRDIFF_MAX / (ptrdiff_t)sizeof(float));
  if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1)) want = VCONV_ERR_INVALID_ARGUMENT;
  else if (M < 0 || N < 0 || K < 0) want = VCONV_ERR_INVALID_SIZE;
  else if (null_a || null_b || null_c) want = VCONV_ERR_NULL_POINTER;
  else if (lda < (ac > 1 ? ac : 1) || ldb < (bc > 1 ? bc : 1) || ldc < (N > 1 ? N : 1))
    want = VCONV_ERR_INVALID_ARGUMENT;
  else if (na < 0 || nb < 0 || nc < 0 || na > too_big || nb > too_big || nc > too_big)
    want = VCONV_ERR_SIZE_OVERFLOW;
  else if (!plain_call && isa_arg != VCONV_ISA_AUTO && (isa_arg < 0 || isa_arg >= VCONV_ISA_COUNT))
    want = VCONV_ERR_INVALID_ISA;
  else if (!plain_call && isa_arg != VCONV_ISA_AUTO && !vconv_isa_available((vconv_isa)isa_arg))
    want = VCONV_ERR_ISA_UNAVAILABLE;

  int64_t work = -1;
  const int fits = na >= 0 && nb >= 0 && nc >= 0 && na <= FZ_MAX_FLOATS && nb <= FZ_MAX_FLOATS &&
                   nc <= FZ_MAX_FLOATS && fz_mul(M, N, &work) && fz_mul(work, K, &work) &&
                   work <= FZ_MAX_RUN_WORK;
  /* Memory it may not touch: a call that would run needs real matrices. */
  if (want == VCONV_OK && !fits) return 0;
  fbuf abuf, bbuf, cbuf;
  float *A = fbuf_alloc(&abuf, (size_t)(fits ? na : 1) * sizeof(float), nulls & 8);
  float *B = fbuf_alloc(&bbuf, (size_t)(fits ? nb : 1) * sizeof(float), nulls & 16);
  float *Cm = fbuf_alloc(&cbuf, (size_t)(fits ? nc : 1) * sizeof(float), nulls & 32);
  float *c0 = NULL;
  const int no_ab = alpha == 0.0f || K == 0; /* A and B are never read */
  if (fits) {
    fz_fill(&aspec, A, (size_t)na);
    fz_fill(&bspec, B, (size_t)nb);
    for (int64_t i = 0; i < na; i++)
      if (i % lda >= ac || no_ab) A[i] = NAN;
    for (int64_t i = 0; i < nb; i++)
      if (i % ldb >= bc || no_ab) B[i] = NAN;
    fz_data cspec = aspec;
    cspec.seed ^= 0xc;
    fz_fill(&cspec, Cm, (size_t)nc);
    for (int64_t i = 0; i < nc; i++) {
      if (i % ldc >= N) Cm[i] = fz_sentinel();
      else if (beta == 0.0f) Cm[i] = NAN;
    }
    c0 = malloc(sizeof(float) * (size_t)(nc ? nc : 1));
    memcpy(c0, Cm, sizeof(float) * (size_t)nc);
  }
  const float *a_arg = null_a ? NULL : A, *b_arg = null_b ? NULL : B;
  float *c_arg = null_c ? NULL : Cm;
  const vconv_status st =
      plain_call || isa_arg == VCONV_ISA_AUTO
          ? (plain_call ? vconv_sgemm(ta, tb, M, N, K, alpha, a_arg, lda, b_arg, ldb, beta, c_arg, ldc, par)
                        : vconv_sgemm_for_isa(VCONV_ISA_AUTO, ta, tb, M, N, K, alpha, a_arg, lda,
                                              b_arg, ldb, beta, c_arg, ldc, par))
          : vconv_sgemm_for_isa((vconv_isa)isa_arg, ta, tb, M, N, K, alpha, a_arg, lda, b_arg, ldb,
                                beta, c_arg, ldc, par);
  if (st != want) fail("status differs from the header's order of checks", st, want);
  if (st != VCONV_OK) goto out;
  for (int64_t i = 0; i < nc; i++)
    if (i % ldc >= N && !fz_is_sentinel(Cm[i])) fail("wrote into a gap of C", i / ldc, i % ldc);
  if (pool.calls && pool.par.threads > 1) {
    float *c1 = malloc(sizeof(float) * (size_t)(nc ? nc : 1));
    memcpy(c1, c0, sizeof(float) * (size_t)nc);
    const vconv_status s1 = vconv_sgemm_for_isa(plain_call ? VCONV_ISA_AUTO : (vconv_isa)isa_arg, ta,
                                                tb, M, N, K, alpha, A, lda, B, ldb, beta, c1, ldc, NULL);
    if (s1 != VCONV_OK || memcmp(c1, Cm, sizeof(float) * (size_t)nc) != 0)
      fail("results differ between thread counts", s1, (long long)pool.par.threads);
    free(c1);
  }
  /* The reference, for plain data and factors.  Only a C with elements: with
   * N == 0 the work is 0 whatever M is, and M alone may be 2^48 rows. */
  const int plain = !aspec.special && !bspec.special && isfinite(alpha) && isfinite(beta) &&
                    fabsf(alpha) <= 0x1p20f && fabsf(beta) <= 0x1p20f;
  if (plain && c_has && work <= FZ_MAX_REF_WORK) {
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double sum = 0.0, mag = 0.0;
        for (int64_t p = 0; p < K && !no_ab; p++) {
          const double a = ta ? A[p * lda + i] : A[i * lda + p];
          const double b = tb ? B[j * ldb + p] : B[p * ldb + j];
          sum += a * b;
          mag += fabs(a * b);
        }
        const double cv = beta != 0.0f ? (double)c0[i * ldc + j] * beta : 0.0;
        const double ref = (double)alpha * sum + cv;
        /* Plus underflow: each rounding may also lose up to half the smallest
         * subnormal, 2^-150 absolute (the K products and sums, scaled by alpha
         * afterwards; alpha's own product, beta's and the final sum), doubled
         * for the relative errors acting on them. */
        const double tol = ref_gamma((double)K + 2, 0x1p-24) * (fabs((double)alpha) * mag + fabs(cv)) +
                           (fabs((double)alpha) * 2.0 * (double)K + 3.0) * 0x1p-149;
        const float got = Cm[i * ldc + j];
        if (!(fabs((double)got - ref) <= tol)) {
          fprintf(stderr, "  C[%lld][%lld] = %.9g, reference %.17g, tol %.3g\n", (long long)i,
                  (long long)j, (double)got, ref, tol);
          fail("result outside the error bound", i, j);
        }
      }
  }
out:
  free(c0);
  fbuf_free(&abuf);
  fbuf_free(&bbuf);
  fbuf_free(&cbuf);
  return 0;
}
