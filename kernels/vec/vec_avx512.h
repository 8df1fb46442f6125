/* AVX-512 F/BW/DQ/VL: 16 lanes, tails by opmask. */
#include <immintrin.h>

#define VEC_W 16
#define VEC_ISA VCONV_ISA_AVX512

typedef __m512 vf;

static inline __mmask16 vf_mask_(int n) { return (__mmask16)((1u << n) - 1u); }
static inline vf vf_zero(void) { return _mm512_setzero_ps(); }
static inline vf vf_set1(float x) { return _mm512_set1_ps(x); }
static inline vf vf_loadu(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf_storeu(float *p, vf v) { _mm512_storeu_ps(p, v); }
static inline vf vf_load_part(const float *p, int n) { return _mm512_maskz_loadu_ps(vf_mask_(n), p); }
static inline void vf_store_part(float *p, vf v, int n) { _mm512_mask_storeu_ps(p, vf_mask_(n), v); }
static inline vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return _mm512_div_ps(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline vf vf_max_nan(vf acc, vf x) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), _mm512_max_ps(x, acc), x);
}
static inline vf vf_lower(vf lo, vf x) { return _mm512_max_ps(lo, x); }
static inline vf vf_upper(vf hi, vf x) { return _mm512_min_ps(hi, x); }

/* Direct convolution helpers. */
/* Lanes [lo, hi) from p[lo..hi-1], the others 0; masked lanes are never touched. */
static inline vf vf_load_lanes(const float *p, int lo, int hi) {
  return _mm512_maskz_loadu_ps((__mmask16)(vf_mask_(hi) & ~vf_mask_(lo)), p);
}
/* VEC_W x VEC_W transpose in place: lane j of r[i] trades places with lane i of r[j]. */
static inline void vf_transpose_block(vf *r) {
  __m512 t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  /* u[4m + j], 128-bit lane L: column 4L + j of rows 4m .. 4m+3. */
  for (int m = 0; m < 16; m += 4) {
    const __m512d a = _mm512_castps_pd(t[m]), b = _mm512_castps_pd(t[m + 1]);
    const __m512d c = _mm512_castps_pd(t[m + 2]), d = _mm512_castps_pd(t[m + 3]);
    u[m] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    u[m + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    u[m + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    u[m + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int j = 0; j < 4; j++) {
    const __m512 e0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);
    const __m512 e1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xdd);
    const __m512 e2 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
    const __m512 e3 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xdd);
    r[j] = _mm512_shuffle_f32x4(e0, e2, 0x88);
    r[4 + j] = _mm512_shuffle_f32x4(e1, e3, 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(e0, e2, 0xdd);
    r[12 + j] = _mm512_shuffle_f32x4(e1, e3, 0xdd);
  }
}

/* Pooling helpers. */
/* NaN if either is NaN, OR of the two on ties (-0 beats +0): the same in every
 * tier and scan order (vec_scalar.h explains the rule).  maxps(a, b) returns b
 * on NaN and ties, so the OR of both orders keeps a NaN from either side.
 * (vrangeps looked like a one-instruction maximum but drops NaN operands.) */
static inline vf vf_maximum(vf acc, vf x) {
#if defined(__GNUC__)
  __asm__("" : "+v"(x)); /* one register: GCC would fold x's load into both maxps */
#endif
  return _mm512_or_ps(_mm512_max_ps(x, acc), _mm512_max_ps(acc, x));
}
/* a where x equals y or x is NaN, else b (vec_scalar.h). */
static inline vf vf_pick_match(vf x, vf y, vf a, vf b) {
  const __mmask16 m = _mm512_cmp_ps_mask(x, y, _CMP_EQ_OQ) | _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  return _mm512_mask_blend_ps(m, b, a);
}
/* Lanes 0 .. n-1 (whole numbers below 2^24) as int32 at p. */
static inline void vf_store_i32(int32_t *p, vf v, int n) {
  _mm512_mask_storeu_epi32(p, vf_mask_(n), _mm512_cvttps_epi32(v));
}
/* p[0 .. n-1] (int32) as floats, other lanes 0. */
static inline vf vf_load_i32(const int32_t *p, int n) {
  return _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(vf_mask_(n), p));
}
/* The inverse of vf_deinterleave: e0 o0 e1 o1 ... into lo (first) and hi. */
static inline void vf_interleave(vf e, vf o, vf *lo, vf *hi) {
  const __m512i il = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i ih = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  *lo = _mm512_permutex2var_ps(e, il, o);
  *hi = _mm512_permutex2var_ps(e, ih, o);
}
static inline vf vf_sqrt(vf x) { return _mm512_sqrt_ps(x); }
/* Even and odd lanes of the 2 * VEC_W floats a:b (a first). */
static inline void vf_deinterleave(vf a, vf b, vf *even, vf *odd) {
  const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  *even = _mm512_permutex2var_ps(a, ie, b);
  *odd = _mm512_permutex2var_ps(a, io, b);
}
/* Lanes 1 .. VEC_W-1 of lo, then lane 0 of hi. */
static inline vf vf_alignr1(vf hi, vf lo) {
  return _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(hi), _mm512_castps_si512(lo), 1));
}
/* Lanes VEC_W/2 .. VEC_W-1, then 0 .. VEC_W/2-1 (one lane: itself). */
static inline vf vf_swap_halves(vf v) { return _mm512_shuffle_f32x4(v, v, 0x4e); }
