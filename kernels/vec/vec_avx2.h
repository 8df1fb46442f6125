/* AVX2 + FMA3: 8 lanes. */
#include <immintrin.h>

#include "vec_x86_part.h"

#define VEC_W 8
#define VEC_ISA VCONV_ISA_AVX2

typedef __m256 vf;

static inline __m256i vf_mask_(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline vf vf_zero(void) { return _mm256_setzero_ps(); }
static inline vf vf_set1(float x) { return _mm256_set1_ps(x); }
static inline vf vf_loadu(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf_storeu(float *p, vf v) { _mm256_storeu_ps(p, v); }
/* Tails: not vmaskmovps, nor a copy through a buffer (vec_x86_part.h). */
static inline vf vf_load_part(const float *p, int n) {
  if (n <= 4) return _mm256_zextps128_ps256(x86_load4_part_(p, n));
  return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(p)), x86_load4_part_(p + 4, n - 4), 1);
}
static inline void vf_store_part(float *p, vf v, int n) {
  if (n <= 4) {
    x86_store4_part_(p, _mm256_castps256_ps128(v), n);
    return;
  }
  _mm_storeu_ps(p, _mm256_castps256_ps128(v));
  x86_store4_part_(p + 4, _mm256_extractf128_ps(v, 1), n - 4);
}
static inline vf vf_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return _mm256_div_ps(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline vf vf_max_nan(vf acc, vf x) {
  return _mm256_blendv_ps(_mm256_max_ps(x, acc), x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}
static inline vf vf_lower(vf lo, vf x) { return _mm256_max_ps(lo, x); }
static inline vf vf_upper(vf hi, vf x) { return _mm256_min_ps(hi, x); }

/* Direct convolution helpers. */
/* Lanes [lo, hi) from p[lo..hi-1], the others 0; masked lanes are never touched. */
static inline vf vf_load_lanes(const float *p, int lo, int hi) {
  const vf v = vf_load_part(p + lo, hi - lo);
  if (lo <= 0) return v;
  /* Lane i takes lane i - lo; lanes below lo (negative index) are cleared. */
  const __m256i idx = _mm256_sub_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(lo));
  return _mm256_and_ps(_mm256_permutevar8x32_ps(v, idx),
                       _mm256_castsi256_ps(_mm256_cmpgt_epi32(idx, _mm256_set1_epi32(-1))));
}
/* VEC_W x VEC_W transpose in place: lane j of r[i] trades places with lane i of r[j]. */
static inline void vf_transpose_block(vf *r) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int m = 0; m < 8; m += 4) {
    u[m] = _mm256_shuffle_ps(t[m], t[m + 2], 0x44);
    u[m + 1] = _mm256_shuffle_ps(t[m], t[m + 2], 0xee);
    u[m + 2] = _mm256_shuffle_ps(t[m + 1], t[m + 3], 0x44);
    u[m + 3] = _mm256_shuffle_ps(t[m + 1], t[m + 3], 0xee);
  }
  for (int j = 0; j < 4; j++) {
    r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
    r[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
  }
}

/* Pooling helpers. */
/* NaN if either is NaN, OR of the two on ties (-0 beats +0): the same in every
 * tier and scan order (vec_scalar.h explains the rule).  maxps(a, b) returns b
 * on NaN and ties, so the OR of both orders keeps a NaN from either side. */
static inline vf vf_maximum(vf acc, vf x) {
#if defined(__GNUC__)
  __asm__("" : "+x"(x)); /* one register: GCC would fold x's load into both maxps */
#endif
  return _mm256_or_ps(_mm256_max_ps(x, acc), _mm256_max_ps(acc, x));
}
/* a where x equals y or x is NaN, else b (vec_scalar.h). */
static inline vf vf_pick_match(vf x, vf y, vf a, vf b) {
  return _mm256_blendv_ps(b, a, _mm256_or_ps(_mm256_cmp_ps(x, y, _CMP_EQ_OQ), _mm256_cmp_ps(x, x, _CMP_UNORD_Q)));
}
/* Lanes 0 .. n-1 (whole numbers below 2^24) as int32 at p. */
static inline void vf_store_i32(int32_t *p, vf v, int n) {
  const __m256i i = _mm256_cvttps_epi32(v);
  if (n == VEC_W)
    _mm256_storeu_si256((__m256i *)(void *)p, i);
  else if (n <= 4)
    x86_store4i_part_(p, _mm256_castsi256_si128(i), n);
  else {
    _mm_storeu_si128((__m128i *)(void *)p, _mm256_castsi256_si128(i));
    x86_store4i_part_(p + 4, _mm256_extracti128_si256(i, 1), n - 4);
  }
}
/* p[0 .. n-1] (int32) as floats, other lanes 0. */
static inline vf vf_load_i32(const int32_t *p, int n) {
  /* Not vpmaskmovd (vec_x86_part.h: qemu faults on its masked lanes). */
  const __m256i i = n <= 4 ? _mm256_zextsi128_si256(x86_load4i_part_(p, n))
                           : _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)p)),
                                                     x86_load4i_part_(p + 4, n - 4), 1);
  return _mm256_cvtepi32_ps(i);
}
/* The inverse of vf_deinterleave: e0 o0 e1 o1 ... into lo (first) and hi. */
static inline void vf_interleave(vf e, vf o, vf *lo, vf *hi) {
  const __m256 u0 = _mm256_unpacklo_ps(e, o), u1 = _mm256_unpackhi_ps(e, o);
  *lo = _mm256_permute2f128_ps(u0, u1, 0x20);
  *hi = _mm256_permute2f128_ps(u0, u1, 0x31);
}
static inline vf vf_sqrt(vf x) { return _mm256_sqrt_ps(x); }
/* Even and odd lanes of the 2 * VEC_W floats a:b (a first): shuffle within the
 * 128-bit halves, then put the 64-bit pairs in order. */
static inline void vf_deinterleave(vf a, vf b, vf *even, vf *odd) {
  *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xd8));
  *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xdd)), 0xd8));
}
/* Lanes 1 .. VEC_W-1 of lo, then lane 0 of hi. */
static inline vf vf_alignr1(vf hi, vf lo) {
  const __m256i mid = _mm256_castps_si256(_mm256_permute2f128_ps(lo, hi, 0x21));
  return _mm256_castsi256_ps(_mm256_alignr_epi8(mid, _mm256_castps_si256(lo), 4));
}
/* Lanes VEC_W/2 .. VEC_W-1, then 0 .. VEC_W/2-1 (one lane: itself). */
static inline vf vf_swap_halves(vf v) { return _mm256_permute2f128_ps(v, v, 1); }
