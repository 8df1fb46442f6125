/*
 * gemm.sq1024/<impl>/<tier>/n:1/t:1: one 1024^3 SGEMM, C = A * B.
 * Ours (vconv_sgemm_for_isa, on every tier this CPU has, and auto) where the
 * library has it; OpenBLAS in peer_openblas.c.  Ours is checked first against a
 * plain triple loop computed once.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "bench_config.h"

void bench_gemm_fill(float *a, float *b, size_t mm) {
  for (size_t i = 0; i < mm; i++) {
    a[i] = (float)(i % 17) * 0.0625f - 0.5f;
    b[i] = (float)(i % 13) * 0.0625f - 0.375f;
  }
}

#if BENCH_HAVE_VCONV_SGEMM
static const float *gemm_reference(int m) {
  static float *ref;
  static int ref_m;
  if (ref && ref_m == m) return ref;
  const size_t mm = (size_t)m * (size_t)m;
  float *a = bench_alloc(mm), *b = bench_alloc(mm);
  free(ref);
  ref = bench_alloc(mm);
  ref_m = m;
  bench_gemm_fill(a, b, mm);
  for (int i = 0; i < m; i++)
    for (int k = 0; k < m; k++) {
      const float aik = a[(size_t)i * m + k];
      for (int j = 0; j < m; j++) ref[(size_t)i * m + j] += aik * b[(size_t)k * m + j];
    }
  free(a);
  free(b);
  return ref;
}

static void bm_sgemm(bm_state *st, void *arg) {
  const vconv_isa isa = (vconv_isa)((int)(size_t)arg - 1); /* arg 0: auto */
  const int m = 1024;
  const size_t mm = (size_t)m * (size_t)m;
  float *a = bench_alloc(mm), *b = bench_alloc(mm), *c = bench_alloc(mm);
  char msg[256];
  bench_gemm_fill(a, b, mm);
  vconv_status s = vconv_sgemm_for_isa(isa, 0, 0, m, m, m, 1.0f, a, m, b, m, 0.0f, c, m, NULL);
  if (s != VCONV_OK) {
    bm_skip_with_error(st, vconv_status_string(s));
  } else if (bench_check(c, gemm_reference(m), mm, BENCH_TOL_OURS, msg, sizeof msg)) {
    bm_skip_with_error(st, msg);
  } else {
    double wall = 0.0;
    BENCH_LOOP(st, wall, {
      vconv_sgemm_for_isa(isa, 0, 0, m, m, m, 1.0f, a, m, b, m, 0.0f, c, m, NULL);
      bm_escape(c);
    });
    bench_rate(st, "FLOPS", 2.0 * (double)m * (double)m * (double)m, wall);
  }
  free(a);
  free(b);
  free(c);
}

void bench_register_gemm(void) {
  char name[96];
  for (int i = 0; i < VCONV_ISA_COUNT; i++) {
    if (!vconv_isa_available((vconv_isa)i)) continue;
    snprintf(name, sizeof name, "gemm.sq1024/sgemm/%s/n:1/t:1", vconv_isa_name((vconv_isa)i));
    bm_unit(bm_register(name, bm_sgemm, (void *)(size_t)(i + 1)), BM_MS);
  }
  snprintf(name, sizeof name, "gemm.sq1024/auto/%s/n:1/t:1", vconv_isa_name(vconv_isa_effective()));
  bm_unit(bm_register(name, bm_sgemm, (void *)(size_t)0), BM_MS);
}
#else
void bench_register_gemm(void) {}
#endif
