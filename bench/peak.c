/*
 * Peak kernels, compiled once per tier with that tier's flags (bench/meson.build),
 * over the library's vector layer.  Names get the tier suffix: bench_peak_fma__avx2.
 */
#include <stddef.h>
#include <stdint.h>

#include "vec/vec.h"

double VCONV_TIERED(bench_peak_fma)(int64_t n, float *sink);
double VCONV_TIERED(bench_peak_read)(const float *buf, size_t floats, float *sink);

/*
 * 12 independent chains of acc = acc * b + c: fused on FMA tiers, mul + add on
 * sse41 and scalar.  Zen 5 keeps 2 FMAs of latency 4 in flight (8 chains);
 * 12 (plus b and c) still fit in the 16 registers of SSE/AVX2.
 * Returns the FLOPs executed (2 per lane per multiply-add).
 */
double VCONV_TIERED(bench_peak_fma)(int64_t n, float *sink) {
  const vf b = vf_set1(0.999999f), c = vf_set1(1e-6f);
  vf a0 = vf_set1(0.1f), a1 = vf_set1(0.2f), a2 = vf_set1(0.3f), a3 = vf_set1(0.4f);
  vf a4 = vf_set1(0.5f), a5 = vf_set1(0.6f), a6 = vf_set1(0.7f), a7 = vf_set1(0.8f);
  vf a8 = vf_set1(0.9f), a9 = vf_set1(1.0f), a10 = vf_set1(1.1f), a11 = vf_set1(1.2f);
  for (int64_t i = 0; i < n; i++) {
    a0 = vf_fmadd(a0, b, c); a1 = vf_fmadd(a1, b, c); a2 = vf_fmadd(a2, b, c);
    a3 = vf_fmadd(a3, b, c); a4 = vf_fmadd(a4, b, c); a5 = vf_fmadd(a5, b, c);
    a6 = vf_fmadd(a6, b, c); a7 = vf_fmadd(a7, b, c); a8 = vf_fmadd(a8, b, c);
    a9 = vf_fmadd(a9, b, c); a10 = vf_fmadd(a10, b, c); a11 = vf_fmadd(a11, b, c);
  }
  vf s = vf_add(vf_add(vf_add(a0, a1), vf_add(a2, a3)), vf_add(vf_add(a4, a5), vf_add(a6, a7)));
  s = vf_add(s, vf_add(vf_add(a8, a9), vf_add(a10, a11)));
  vf_storeu(sink, s);
  return 2.0 * 12.0 * VEC_W * (double)n;
}

/* Sums floats (a multiple of 8 * VEC_W) with 8 independent vector adds; returns bytes read. */
double VCONV_TIERED(bench_peak_read)(const float *buf, size_t floats, float *sink) {
  vf s0 = vf_zero(), s1 = vf_zero(), s2 = vf_zero(), s3 = vf_zero();
  vf s4 = vf_zero(), s5 = vf_zero(), s6 = vf_zero(), s7 = vf_zero();
  for (size_t i = 0; i + 8 * VEC_W <= floats; i += 8 * VEC_W) {
    const float *p = buf + i;
    s0 = vf_add(s0, vf_loadu(p + 0 * VEC_W)); s1 = vf_add(s1, vf_loadu(p + 1 * VEC_W));
    s2 = vf_add(s2, vf_loadu(p + 2 * VEC_W)); s3 = vf_add(s3, vf_loadu(p + 3 * VEC_W));
    s4 = vf_add(s4, vf_loadu(p + 4 * VEC_W)); s5 = vf_add(s5, vf_loadu(p + 5 * VEC_W));
    s6 = vf_add(s6, vf_loadu(p + 6 * VEC_W)); s7 = vf_add(s7, vf_loadu(p + 7 * VEC_W));
  }
  vf s = vf_add(vf_add(vf_add(s0, s1), vf_add(s2, s3)), vf_add(vf_add(s4, s5), vf_add(s6, s7)));
  vf_storeu(sink, s);
  return 4.0 * (double)(floats / (8 * VEC_W) * (8 * VEC_W));
}
