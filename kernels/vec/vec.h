/*
 * The thin per-tier vector layer.  Kernels are written once against this
 * interface and compiled once per tier; VCONV_TIER_<NAME> (set by the tier's
 * static library) picks the implementation.
 *
 * Every implementation provides, as static inline functions:
 *   VEC_W                    lanes per vector
 *   VEC_ISA                  the vconv_isa value of the tier
 *   vf                       the vector type
 *   vf_zero, vf_set1, vf_loadu, vf_storeu (no alignment needed)
 *   vf_load_part(p, n), vf_store_part(p, v, n)
 *                            touch only p[0..n-1], 0 < n <= VEC_W; other lanes 0
 *   vf_add, vf_mul, vf_div
 *   vf_fmadd(a, b, c)        a*b + c (fused where the tier has FMA)
 *   vf_max_nan(acc, x)       max that returns NaN if either operand is NaN
 *   vf_lower(lo, x)          x < lo ? lo : x   (NaN x stays NaN: ReLU/clamp)
 *   vf_upper(hi, x)          x > hi ? hi : x   (NaN x stays NaN)
 * Helpers must stay `static inline`: an external inline function shared by
 * tiers could be merged by the linker into the copy of a wider tier.
 */
#ifndef VCONV_VEC_H
#define VCONV_VEC_H

#include "vconv.h"

#if defined(VCONV_TIER_SCALAR)
#  include "vec/vec_scalar.h"
#elif defined(VCONV_TIER_SSE41)
#  include "vec/vec_sse41.h"
#elif defined(VCONV_TIER_AVX2)
#  include "vec/vec_avx2.h"
#elif defined(VCONV_TIER_AVX512)
#  include "vec/vec_avx512.h"
#elif defined(VCONV_TIER_NEON)
#  include "vec/vec_neon.h"
#else
#  error "vec.h is only for tier sources: VCONV_TIER_<NAME> is not defined"
#endif

/* Tier-suffixed external names: vconv_direct_kernel__avx2 and so on. */
#define VCONV_CAT2_(a, b) a##__##b
#define VCONV_CAT2(a, b) VCONV_CAT2_(a, b)
#define VCONV_TIERED(name) VCONV_CAT2(name, VCONV_TIER)

#endif
