/* Partial loads and stores shared by the SSE4.1 and AVX2 layers (included by both).
 *
 * A tail load reads exactly the floats it is given and nothing past them:
 * hardware would suppress faults on masked vmaskmovps lanes, but qemu 7.2
 * (our AVX2 test CPU) loads all 32 bytes and faults at a page end.  It also
 * never goes through memory: four scalar stores read back as one vector is a
 * store-forwarding stall (~15 cycles on Zen 3), paid per tap on every row tail
 * of the spatial direct kernel (LeNet C1's 28-pixel rows on AVX2: 8+8+8+4).
 *
 * A tail store writes exactly its lanes with plain stores of 16, 8 and 4
 * bytes, not vmaskmovps: a masked store took 7 ns against 1.5 ns for these
 * (Zen 3, 4096 stores of 5 and of 7 lanes in a loop), about 20 cycles, paid
 * per vector of a tile's NCHW store in the direct kernel. */
#ifndef VCONV_VEC_X86_PART_H
#define VCONV_VEC_X86_PART_H
#include <smmintrin.h>
#include <stdint.h>

/* p[0..n-1] into lanes 0..n-1 of an SSE vector, the others 0 (n <= 0: zero). */
static inline __m128 x86_load4_part_(const float *p, int n) {
  switch (n) {
    case 1: return _mm_load_ss(p);
    case 2: return _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)p));
    case 3: return _mm_movelh_ps(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)p)), _mm_load_ss(p + 2));
    default: return n >= 4 ? _mm_loadu_ps(p) : _mm_setzero_ps();
  }
}
/* p[0..n-1] (int32) into lanes 0..n-1, the others 0 (n <= 0: zero). */
static inline __m128i x86_load4i_part_(const int32_t *p, int n) {
  switch (n) {
    case 1: return _mm_cvtsi32_si128(p[0]);
    case 2: return _mm_loadl_epi64((const __m128i *)(const void *)p);
    case 3: return _mm_insert_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p), p[2], 2);
    default: return n >= 4 ? _mm_loadu_si128((const __m128i *)(const void *)p) : _mm_setzero_si128();
  }
}
/* Lanes 0..n-1 of v to p[0..n-1], nothing past them (n <= 0: nothing). */
static inline void x86_store4_part_(float *p, __m128 v, int n) {
  switch (n) {
    case 1: _mm_store_ss(p, v); break;
    case 2: _mm_storel_epi64((__m128i *)(void *)p, _mm_castps_si128(v)); break;
    case 3:
      _mm_storel_epi64((__m128i *)(void *)p, _mm_castps_si128(v));
      _mm_store_ss(p + 2, _mm_movehl_ps(v, v));
      break;
    default:
      if (n >= 4) _mm_storeu_ps(p, v);
  }
}
/* The same for int32 lanes. */
static inline void x86_store4i_part_(int32_t *p, __m128i v, int n) {
  x86_store4_part_((float *)(void *)p, _mm_castsi128_ps(v), n);
}
#endif
