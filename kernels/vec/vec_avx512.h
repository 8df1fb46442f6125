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
