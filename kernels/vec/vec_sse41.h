/* SSE4.1: 4 lanes, no FMA (mul + add). */
#include <smmintrin.h>

#define VEC_W 4
#define VEC_ISA VCONV_ISA_SSE41

typedef __m128 vf;

static inline vf vf_zero(void) { return _mm_setzero_ps(); }
static inline vf vf_set1(float x) { return _mm_set1_ps(x); }
static inline vf vf_loadu(const float *p) { return _mm_loadu_ps(p); }
static inline void vf_storeu(float *p, vf v) { _mm_storeu_ps(p, v); }
static inline vf vf_load_part(const float *p, int n) {
  float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int i = 0; i < n; i++) t[i] = p[i];
  return _mm_loadu_ps(t);
}
static inline void vf_store_part(float *p, vf v, int n) {
  float t[4];
  _mm_storeu_ps(t, v);
  for (int i = 0; i < n; i++) p[i] = t[i];
}
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
  float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int i = lo; i < hi; i++) t[i] = p[i];
  return _mm_loadu_ps(t);
}
/* VEC_W x VEC_W transpose in place: lane j of r[i] trades places with lane i of r[j]. */
static inline void vf_transpose_block(vf *r) { _MM_TRANSPOSE4_PS(r[0], r[1], r[2], r[3]); }
