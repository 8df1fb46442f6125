/*
 * vconv_sgemm on every tier that can run here (vconv_sgemm_for_isa) and
 * through the dispatcher, against a float64 reference.
 *
 * Sizes sweep every register-tile edge of every tier (MR 4, 6, 8 and NR 2, 4,
 * 8, 16, 64: one below, at and above each multiple, so full, partial and
 * narrower-than-a-vector tiles all run), then the cache-block edges (several
 * kc passes, several mc row blocks, the in-place B of short A), with all four
 * transposes, alpha and beta (beta 0 on a NaN-filled C), leading dimensions
 * above the minimum whose gaps hold NaN, and pointers misaligned by a float.
 *
 * Tolerance from the error bound of a length-(K+2) fp32 sum (K products,
 * alpha, beta): |C - C_ref| <= gamma(K+2) * (|alpha| * sum |a*b| + |beta*c|),
 * gamma(n) = n*u / (1 - n*u), u = 2^-24, with C_ref and the bound in double.
 *
 * Environment: VCONV_PARITY_QUICK=1 shrinks the sweeps (emulated runs);
 * VCONV_PARITY_TIER=<tier> tests only that tier directly;
 * VCONV_PARITY_REQUIRE_ALL=1 makes a built tier that cannot run a failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int opt_quick, opt_require_all, opt_tier = -1;
static test_rng rng;
static const vconv_parallel two_threads = {two_thread_parallel_for, NULL, 2};

/* Which entry point a case goes through. */
typedef struct target {
  vconv_isa isa; /* VCONV_ISA_AUTO: vconv_sgemm */
  const char *label;
  long cases;
  double max_ratio;
} target;

static vconv_status call(const target *t, int ta, int tb, int64_t M, int64_t N, int64_t K,
                         float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                         float beta, float *C, int64_t ldc, const vconv_parallel *par) {
  if (t->isa == VCONV_ISA_AUTO)
    return vconv_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, par);
  return vconv_sgemm_for_isa(t->isa, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, par);
}

static double gamma_n(double n) {
  const double u = 0x1p-24;
  return n * u / (1.0 - n * u);
}

/* ------------------------------------------------------------------------ */
/* One multiplication against the reference                                  */

typedef struct gcase {
  int ta, tb;
  int64_t M, N, K;
  float alpha, beta;
  int64_t pad_a, pad_b, pad_c; /* leading dimension minus its minimum */
  int nan_c;                   /* fill C with NaN (only with beta == 0) */
  int parallel;                /* also run on two threads: must match bitwise */
} gcase;

static void run_case(target *t, const gcase *g) {
  const int64_t M = g->M, N = g->N, K = g->K;
  const int64_t a_rows = g->ta ? K : M, a_cols = g->ta ? M : K;
  const int64_t b_rows = g->tb ? N : K, b_cols = g->tb ? K : N;
  const int64_t lda = (a_cols > 1 ? a_cols : 1) + g->pad_a, ldb = (b_cols > 1 ? b_cols : 1) + g->pad_b;
  const int64_t ldc = (N > 1 ? N : 1) + g->pad_c;
  const size_t na = (size_t)(a_rows * lda), nb = (size_t)(b_rows * ldb), nc = (size_t)(M * ldc);
  tbuf A, B, C;
  if (!tbuf_alloc_in(&A, na ? na : 1) || !tbuf_alloc_in(&B, nb ? nb : 1) ||
      !tbuf_alloc_out(&C, nc ? nc : 1)) {
    CHECK(0, "out of memory");
    return;
  }
  /* Gaps between rows are NaN: reading one poisons the result. */
  for (int64_t i = 0; i < a_rows; i++)
    for (int64_t j = 0; j < lda; j++) A.data[i * lda + j] = j < a_cols ? rng_sym(&rng) : NAN;
  for (int64_t i = 0; i < b_rows; i++)
    for (int64_t j = 0; j < ldb; j++) B.data[i * ldb + j] = j < b_cols ? rng_sym(&rng) : NAN;
  float *c0 = malloc((nc ? nc : 1) * sizeof(float));
  for (size_t i = 0; i < nc; i++) {
    const int64_t j = (int64_t)i % ldc;
    C.data[i] = j >= N ? C.data[i] /* gap: keeps the sentinel */ : g->nan_c ? NAN : rng_sym(&rng);
    c0[i] = C.data[i];
  }
  const vconv_status st = call(t, g->ta, g->tb, M, N, K, g->alpha, A.data, lda, B.data, ldb,
                               g->beta, C.data, ldc, NULL);
  CHECK_STATUS(st, VCONV_OK);
  int bad = 0;
  for (int64_t i = 0; i < M && st == VCONV_OK; i++) {
    for (int64_t j = 0; j < ldc; j++) {
      const float got = C.data[i * ldc + j];
      if (j >= N) {
        if (memcmp(&got, &c0[i * ldc + j], sizeof got) != 0 && bad++ < 3)
          CHECK(0, "%s: gap C[%ld][%ld] written", t->label, (long)i, (long)j);
        continue;
      }
      double sum = 0.0, mag = 0.0;
      for (int64_t p = 0; p < K && g->alpha != 0.0f; p++) {
        const double a = g->ta ? A.data[p * lda + i] : A.data[i * lda + p];
        const double b = g->tb ? B.data[j * ldb + p] : B.data[p * ldb + j];
        sum += a * b;
        mag += fabs(a * b);
      }
      const double cv = g->beta != 0.0f ? (double)c0[i * ldc + j] * g->beta : 0.0;
      const double ref = (double)g->alpha * sum + cv;
      const double tol = gamma_n((double)K + 2) * (fabs((double)g->alpha) * mag + fabs(cv));
      const double err = fabs((double)got - ref);
      const double ratio = err == 0.0 ? 0.0 : tol > 0.0 ? err / tol : INFINITY;
      if (ratio > t->max_ratio || ratio != ratio) t->max_ratio = ratio != ratio ? INFINITY : ratio;
      if (!(err <= tol) && bad++ < 3)
        CHECK(0, "%s: ta=%d tb=%d M=%ld N=%ld K=%ld alpha=%g beta=%g lda+%ld ldb+%ld ldc+%ld%s: "
              "C[%ld][%ld] = %.9g, reference %.9g, |err| %.3g > tol %.3g",
              t->label, g->ta, g->tb, (long)M, (long)N, (long)K, (double)g->alpha,
              (double)g->beta, (long)g->pad_a, (long)g->pad_b, (long)g->pad_c,
              g->nan_c ? " NaN C" : "", (long)i, (long)j, (double)got, ref, err, tol);
    }
  }
  test_checks++;
  if (bad) test_failures++;
  CHECK(tbuf_guards_ok(&C), "%s: M=%ld N=%ld K=%ld wrote outside C", t->label, (long)M, (long)N,
        (long)K);
  if (g->parallel && st == VCONV_OK && nc) {
    /* Same result bitwise on two threads: the split never changes the arithmetic. */
    float *c1 = malloc(nc * sizeof(float));
    memcpy(c1, C.data, nc * sizeof(float));
    memcpy(C.data, c0, nc * sizeof(float));
    CHECK_STATUS(call(t, g->ta, g->tb, M, N, K, g->alpha, A.data, lda, B.data, ldb, g->beta,
                      C.data, ldc, &two_threads),
                 VCONV_OK);
    CHECK(memcmp(c1, C.data, nc * sizeof(float)) == 0,
          "%s: M=%ld N=%ld K=%ld differs on two threads", t->label, (long)M, (long)N, (long)K);
    free(c1);
  }
  t->cases++;
  free(c0);
  tbuf_free(&A);
  tbuf_free(&B);
  tbuf_free(&C);
}

/* ------------------------------------------------------------------------ */
/* Sweeps                                                                     */

static const float alphas[] = {1.0f, -0.5f, 2.0f, 0.75f};
static const float betas[] = {0.0f, 1.0f, -1.0f, 0.5f, 0.0f};

/* Every tile edge: around multiples of 4, 6, 8 (rows) and 2, 4, 8, 16, 64 (columns). */
static const int64_t edge_m[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 23, 24, 25};
static const int64_t edge_m_quick[] = {1, 3, 4, 5, 6, 7, 8, 9, 13, 17};
static const int64_t edge_n[] = {1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17, 23, 24, 25,
                                 31, 32, 33, 47, 48, 49, 63, 64, 65, 127, 128, 129};
static const int64_t edge_n_quick[] = {1, 3, 4, 5, 8, 9, 12, 13, 16, 17, 31, 33, 63, 64, 65};
static const int64_t edge_k[] = {1, 2, 3, 8, 17};
static const int64_t edge_k_quick[] = {1, 3, 17};

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static void sweep_edges(target *t) {
  const int64_t *ms = opt_quick ? edge_m_quick : edge_m, *ns = opt_quick ? edge_n_quick : edge_n;
  const int64_t *ks = opt_quick ? edge_k_quick : edge_k;
  const size_t nm = opt_quick ? LEN(edge_m_quick) : LEN(edge_m);
  const size_t nn = opt_quick ? LEN(edge_n_quick) : LEN(edge_n);
  const size_t nk = opt_quick ? LEN(edge_k_quick) : LEN(edge_k);
  long i = 0;
  for (size_t a = 0; a < nm; a++)
    for (size_t b = 0; b < nn; b++)
      for (size_t c = 0; c < nk; c++, i++) {
        /* All transposes on every size; alpha, beta and padding rotate. */
        for (int tr = 0; tr < 4; tr++) {
          gcase g = {tr & 1, tr >> 1, ms[a], ns[b], ks[c], alphas[(i + tr) % 4],
                     betas[(i + tr) % 5], (i + tr) % 3, (i + 2 * tr) % 2, (i + tr) % 4 == 3 ? 5 : 0,
                     0, 0};
          g.nan_c = g.beta == 0.0f && (i + tr) % 5 == 4;
          run_case(t, &g);
        }
      }
}

/* Cache-block edges: several kc passes, mc row blocks, nc column blocks, and
 * the short-A path that reads B in place. */
static void sweep_blocks(target *t) {
  static const int64_t big[][3] = {
      /* M, N, K */
      {7, 70, 1100},   {13, 129, 600},  {300, 70, 40},  {260, 33, 513}, {3, 4200, 5},
      {13, 4200, 3},   {1, 1000, 600},  {12, 200, 700}, {64, 64, 1025}, {100, 100, 100},
      {510, 20, 40},
  };
  /* {510, 20, 40} on two threads: row pieces of 258 and 252 straddle the usual
   * mc (252), so the smaller piece gets the larger row block. */
  static const int64_t quick[][3] = {
      {7, 70, 1100}, {13, 129, 600}, {260, 33, 40}, {3, 4200, 5}, {1, 300, 600}, {12, 65, 700},
      {510, 20, 40},
  };
  const size_t n = opt_quick ? LEN(quick) : LEN(big);
  for (size_t i = 0; i < n; i++) {
    const int64_t *s = opt_quick ? quick[i] : big[i];
    for (int tr = 0; tr < 4; tr++) {
      gcase g = {tr & 1, tr >> 1, s[0], s[1], s[2], alphas[(i + tr) % 4], betas[(i + tr) % 4],
                 (int64_t)(i % 2), (int64_t)((i + tr) % 3), (int64_t)(tr % 2), 0, tr == 0};
      run_case(t, &g);
    }
  }
  /* beta 0 on NaN through several passes: only the first pass may skip C. */
  gcase g = {0, 0, 9, 40, 1100, 1.0f, 0.0f, 0, 0, 0, 1, 0};
  run_case(t, &g);
}

/* Two threads over every row count up to a few tiles of any tier (MR <= 16),
 * every transpose: a short last row piece (1 or 2 rows) takes the same packed
 * path as the rows before it, and a product of 1 or 2 rows split by columns
 * the same dot products (a fuzz finding: M = 56 on 4 threads differed). */
static void sweep_splits(target *t) {
  const int64_t top = opt_quick ? 20 : 34;
  for (int64_t m = 1; m <= top; m++)
    for (int tr = 0; tr < 4; tr++) {
      gcase g = {tr & 1, tr >> 1, m, m <= 2 ? 37 : 9, 50, 1.0f, m % 2 ? 0.0f : 0.5f, 0, 1, 0, 0, 1};
      run_case(t, &g);
    }
}

/* K == 0, alpha == 0, M == 0, N == 0: BLAS semantics. */
static void degenerate(target *t) {
  float A[16], B[16], C[6], want[6];
  for (int i = 0; i < 16; i++) A[i] = B[i] = NAN; /* alpha == 0 or K == 0 must not read them */
  static const float cs[6] = {1, -2, 3, -4, 5, 6};
  for (int k = 0; k < 2; k++) {
    const int64_t K = k ? 3 : 0;
    const float alpha = k ? 0.0f : 1.0f;
    memcpy(C, cs, sizeof C);
    CHECK_STATUS(call(t, 0, 0, 2, 3, K, alpha, A, 3, B, 3, 0.5f, C, 3, NULL), VCONV_OK);
    for (int i = 0; i < 6; i++) want[i] = 0.5f * cs[i];
    CHECK(memcmp(C, want, sizeof C) == 0, "%s: K=%ld alpha=%g: C != beta * C", t->label, (long)K,
          (double)alpha);
    for (int i = 0; i < 6; i++) C[i] = NAN;
    CHECK_STATUS(call(t, 1, 1, 2, 3, K, alpha, A, 2, B, 3, 0.0f, C, 3, NULL), VCONV_OK);
    int zero = 1;
    for (int i = 0; i < 6; i++) zero &= C[i] == 0.0f;
    CHECK(zero, "%s: K=%ld alpha=%g beta=0 on NaN C: C not zeroed", t->label, (long)K, (double)alpha);
  }
  memcpy(C, cs, sizeof C);
  CHECK_STATUS(call(t, 0, 0, 0, 3, 2, 1.0f, A, 2, B, 3, 0.0f, C, 3, NULL), VCONV_OK);
  CHECK_STATUS(call(t, 0, 0, 2, 0, 2, 1.0f, A, 2, B, 1, 0.0f, C, 1, NULL), VCONV_OK);
  CHECK(memcmp(C, cs, sizeof C) == 0, "%s: M or N == 0 touched C", t->label);
  /* No elements, no pointer needed. */
  CHECK_STATUS(call(t, 0, 0, 0, 0, 0, 1.0f, NULL, 1, NULL, 1, 0.0f, NULL, 1, NULL), VCONV_OK);
  CHECK_STATUS(call(t, 0, 0, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 0.0f, C, 3, NULL), VCONV_OK);
}

/* ------------------------------------------------------------------------ */
/* Argument checks                                                            */

static void bad_arguments(void) {
  float A[16] = {0}, B[16] = {0}, C[16] = {0};
  CHECK_STATUS(vconv_sgemm(2, 0, 2, 2, 2, 1, A, 2, B, 2, 0, C, 2, NULL), VCONV_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(vconv_sgemm(0, -1, 2, 2, 2, 1, A, 2, B, 2, 0, C, 2, NULL), VCONV_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(vconv_sgemm(0, 0, -1, 2, 2, 1, A, 2, B, 2, 0, C, 2, NULL), VCONV_ERR_INVALID_SIZE);
  CHECK_STATUS(vconv_sgemm(0, 0, 2, -1, 2, 1, A, 2, B, 2, 0, C, 2, NULL), VCONV_ERR_INVALID_SIZE);
  CHECK_STATUS(vconv_sgemm(0, 0, 2, 2, -1, 1, A, 2, B, 2, 0, C, 2, NULL), VCONV_ERR_INVALID_SIZE);
  /* Sizes are checked before pointers: a negative size with NULL is a size error. */
  CHECK_STATUS(vconv_sgemm(0, 0, -1, 2, 2, 1, NULL, 2, B, 2, 0, C, 2, NULL), VCONV_ERR_INVALID_SIZE);
  CHECK_STATUS(vconv_sgemm(0, 0, 2, 2, 2, 1, NULL, 2, B, 2, 0, C, 2, NULL), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_sgemm(0, 0, 2, 2, 2, 1, A, 2, NULL, 2, 0, C, 2, NULL), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_sgemm(0, 0, 2, 2, 2, 1, A, 2, B, 2, 0, NULL, 2, NULL), VCONV_ERR_NULL_POINTER);
  /* alpha == 0 still wants the pointers of matrices that have elements. */
  CHECK_STATUS(vconv_sgemm(0, 0, 2, 2, 2, 0, NULL, 2, B, 2, 0, C, 2, NULL), VCONV_ERR_NULL_POINTER);
  /* Leading dimensions: the stored row length, at least 1. */
  CHECK_STATUS(vconv_sgemm(0, 0, 2, 3, 4, 1, A, 3, B, 3, 0, C, 3, NULL), VCONV_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(vconv_sgemm(1, 0, 2, 3, 4, 1, A, 1, B, 3, 0, C, 3, NULL), VCONV_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(vconv_sgemm(1, 0, 2, 3, 4, 1, A, 2, B, 3, 0, C, 3, NULL), VCONV_OK);
  CHECK_STATUS(vconv_sgemm(0, 0, 2, 3, 4, 1, A, 4, B, 2, 0, C, 3, NULL), VCONV_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(vconv_sgemm(0, 1, 2, 3, 4, 1, A, 4, B, 3, 0, C, 3, NULL), VCONV_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(vconv_sgemm(0, 1, 2, 3, 4, 1, A, 4, B, 4, 0, C, 3, NULL), VCONV_OK);
  CHECK_STATUS(vconv_sgemm(0, 0, 2, 3, 4, 1, A, 4, B, 3, 0, C, 2, NULL), VCONV_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(vconv_sgemm(0, 0, 2, 3, 0, 1, A, 0, B, 3, 0, C, 3, NULL), VCONV_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(vconv_sgemm(0, 0, 0, 0, 0, 1, A, 1, B, 1, 0, C, 0, NULL), VCONV_ERR_INVALID_ARGUMENT);
  /* A matrix spanning more than PTRDIFF_MAX bytes: found before anything is touched. */
  const int64_t big = (int64_t)1 << 40;
  CHECK_STATUS(vconv_sgemm(0, 0, big, big, 1, 1, A, 1, B, big, 0, C, big, NULL),
               VCONV_ERR_SIZE_OVERFLOW);
  CHECK_STATUS(vconv_sgemm(0, 0, 2, 2, 2, 1, A, INT64_MAX, B, 2, 0, C, 2, NULL),
               VCONV_ERR_SIZE_OVERFLOW);
  /* Tiers. */
  CHECK_STATUS(vconv_sgemm_for_isa((vconv_isa)99, 0, 0, 2, 2, 2, 1, A, 2, B, 2, 0, C, 2, NULL),
               VCONV_ERR_INVALID_ISA);
  for (int i = 0; i < VCONV_ISA_COUNT; i++) {
    const vconv_isa isa = (vconv_isa)i;
    CHECK_STATUS(vconv_sgemm_for_isa(isa, 0, 0, 2, 2, 2, 1, A, 2, B, 2, 0, C, 2, NULL),
                 vconv_isa_available(isa) ? VCONV_OK : VCONV_ERR_ISA_UNAVAILABLE);
  }
  CHECK_STATUS(vconv_sgemm_for_isa(VCONV_ISA_AUTO, 0, 0, 2, 2, 2, 1, A, 2, B, 2, 0, C, 2, NULL),
               VCONV_OK);
}

/* ------------------------------------------------------------------------ */

static void test_target(target *t) {
  const double t0 = test_now();
  const int f0 = test_failures;
  degenerate(t);
  sweep_edges(t);
  sweep_blocks(t);
  sweep_splits(t);
  printf("  %-14s %6ld products  max err/tol %9.3g  %6.2f s  %s\n", t->label, t->cases,
         t->max_ratio, test_now() - t0, test_failures == f0 ? "ok" : "FAIL");
  fflush(stdout);
}

int main(void) {
  opt_quick = env_flag("VCONV_PARITY_QUICK");
  opt_require_all = env_flag("VCONV_PARITY_REQUIRE_ALL");
  const char *tier = getenv("VCONV_PARITY_TIER");
  if (tier && *tier) {
    vconv_isa t;
    if (vconv_isa_from_name(tier, &t) != VCONV_OK) {
      printf("FAIL: VCONV_PARITY_TIER=%s is not a tier name\n", tier);
      return 1;
    }
    opt_tier = (int)t;
  }
  rng_seed(&rng, 0x6e6d2024u);
  printf("vconv %s sgemm tests%s%s%s\n", vconv_version(), opt_quick ? ", quick" : "",
         opt_tier >= 0 ? ", tier " : "", opt_tier >= 0 ? tier : "");
  bad_arguments();
  static char labels[VCONV_ISA_COUNT][32];
  int tested = 0;
  for (int i = 0; i < VCONV_ISA_COUNT; i++) {
    const vconv_isa isa = (vconv_isa)i;
    if (!vconv_isa_built(isa) || (opt_tier >= 0 && i != opt_tier)) continue;
    snprintf(labels[i], sizeof labels[i], "gemm/%s", vconv_isa_name(isa));
    if (!vconv_isa_available(isa)) {
      if (opt_require_all || opt_tier >= 0)
        CHECK(0, "%s is built but cannot run here", labels[i]);
      else
        printf("SKIP %s: cannot run here\n", labels[i]);
      continue;
    }
    target t = {isa, labels[i], 0, 0.0};
    test_target(&t);
    tested++;
  }
  CHECK(opt_tier < 0 || tested == 1, "VCONV_PARITY_TIER=%s: that tier is not built", tier);
  target t = {VCONV_ISA_AUTO, "vconv_sgemm", 0, 0.0};
  test_target(&t);
  return test_summary("test_gemm");
}
