/* SSE4.1: 4 lanes, no FMA (mul + add). */
#include <smmintrin.h>

#include "vec_x86_part.h"

#define VEC_W 4
#define VEC_ISA VCONV_ISA_SSE41

typedef __m128 vf;

static inline vf vf_zero(void) { return _mm_setzero_ps(); }
static inline vf vf_set1(float x) { return _mm_set1_ps(x); }
static inline vf vf_loadu(const float *p) { return _mm_loadu_ps(p); }
static inline void vf_storeu(float *p, vf v) { _mm_storeu_ps(p, v); }
static inline vf vf_load_part(const float *p, int n) { return x86_load4_part_(p, n); }
static inline void vf_store_part(float *p, vf v, int n) { x86_store4_part_(p, v, n); }
static inline vf vf_add(vf a, vf b) { return _mm_add_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return _mm_div_ps(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
/* maxps(x, acc) returns acc when either is NaN: keeps a NaN acc; the blend adds a NaN x. */
static inline vf vf_max_nan(vf acc, vf x) {
  return _mm_blendv_ps(_mm_max_ps(x, acc), x, _mm_cmpunord_ps(x, x));
}
/* maxps(lo, x) returns x when x is NaN. */
static inline vf vf_lower(vf lo, vf x) { return _mm_max_ps(lo, x); }
static inline vf vf_upper(vf hi, vf x) { return _mm_min_ps(hi, x); }

/* Direct convolution helpers. */
/* Lanes [lo, hi) from p[lo..hi-1], the others 0; masked lanes are never touched. */
static inline vf vf_load_lanes(const float *p, int lo, int hi) {
  const __m128i v = _mm_castps_si128(x86_load4_part_(p + lo, hi - lo)); /* see vec_x86_part.h */
  switch (lo) {
    case 1: return _mm_castsi128_ps(_mm_slli_si128(v, 4));
    case 2: return _mm_castsi128_ps(_mm_slli_si128(v, 8));
    case 3: return _mm_castsi128_ps(_mm_slli_si128(v, 12));
    default: return lo <= 0 ? _mm_castsi128_ps(v) : _mm_setzero_ps();
  }
}
/* VEC_W x VEC_W transpose in place: lane j of r[i] trades places with lane i of r[j]. */
static inline void vf_transpose_block(vf *r) { _MM_TRANSPOSE4_PS(r[0], r[1], r[2], r[3]); }

/* Pooling helpers. */
/* NaN if either is NaN, OR of the two on ties (-0 beats +0): the same in every
 * tier and scan order (vec_scalar.h explains the rule).  maxps(a, b) returns b
 * on NaN and ties, so the OR of both orders keeps a NaN from either side. */
static inline vf vf_maximum(vf acc, vf x) {
#if defined(__GNUC__)
  __asm__("" : "+x"(x)); /* one register: GCC would fold x's load into both maxps */
#endif
  return _mm_or_ps(_mm_max_ps(x, acc), _mm_max_ps(acc, x));
}
/* a where x equals y or x is NaN, else b (vec_scalar.h). */
static inline vf vf_pick_match(vf x, vf y, vf a, vf b) {
  return _mm_blendv_ps(b, a, _mm_or_ps(_mm_cmpeq_ps(x, y), _mm_cmpunord_ps(x, x)));
}
/* Lanes 0 .. n-1 (whole numbers below 2^24) as int32 at p. */
static inline void vf_store_i32(int32_t *p, vf v, int n) { x86_store4i_part_(p, _mm_cvttps_epi32(v), n); }
/* p[0 .. n-1] (int32) as floats, other lanes 0. */
static inline vf vf_load_i32(const int32_t *p, int n) { return _mm_cvtepi32_ps(x86_load4i_part_(p, n)); }
/* The inverse of vf_deinterleave: e0 o0 e1 o1 ... into lo (first) and hi. */
static inline void vf_interleave(vf e, vf o, vf *lo, vf *hi) {
  *lo = _mm_unpacklo_ps(e, o);
  *hi = _mm_unpackhi_ps(e, o);
}
static inline vf vf_sqrt(vf x) { return _mm_sqrt_ps(x); }
/* Even and odd lanes of the 2 * VEC_W floats a:b (a first). */
static inline void vf_deinterleave(vf a, vf b, vf *even, vf *odd) {
  *even = _mm_shuffle_ps(a, b, 0x88);
  *odd = _mm_shuffle_ps(a, b, 0xdd);
}
/* Lanes 1 .. VEC_W-1 of lo, then lane 0 of hi. */
static inline vf vf_alignr1(vf hi, vf lo) {
  return _mm_castsi128_ps(_mm_alignr_epi8(_mm_castps_si128(hi), _mm_castps_si128(lo), 4));
}
/* Lanes VEC_W/2 .. VEC_W-1, then 0 .. VEC_W/2-1 (one lane: itself). */
static inline vf vf_swap_halves(vf v) { return _mm_shuffle_ps(v, v, 0x4e); }
