/*
 * The locally connected / tiled kernel of each tier: the list create chooses
 * from and tests and benchmarks enumerate (apart from registry.c's tables,
 * which the planner's wisdom hashes: this layer has nothing to plan).
 */
#include "dispatch.h"
#include "vconv_config.h"

#define TIER_KERNEL(tier) extern const vconv_local_kernel vconv_local_kernel__##tier;
#ifdef VCONV_BUILT_SCALAR
TIER_KERNEL(scalar)
#endif
#ifdef VCONV_BUILT_SSE41
TIER_KERNEL(sse41)
#endif
#ifdef VCONV_BUILT_AVX2
TIER_KERNEL(avx2)
#endif
#ifdef VCONV_BUILT_AVX512
TIER_KERNEL(avx512)
#endif
#ifdef VCONV_BUILT_NEON
TIER_KERNEL(neon)
#endif

static const vconv_local_kernel *const local_kernels[] = {
#ifdef VCONV_BUILT_SCALAR
    &vconv_local_kernel__scalar,
#endif
#ifdef VCONV_BUILT_SSE41
    &vconv_local_kernel__sse41,
#endif
#ifdef VCONV_BUILT_AVX2
    &vconv_local_kernel__avx2,
#endif
#ifdef VCONV_BUILT_AVX512
    &vconv_local_kernel__avx512,
#endif
#ifdef VCONV_BUILT_NEON
    &vconv_local_kernel__neon,
#endif
};

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

vconv_status vconv_i_select_local(vconv_isa isa, const vconv_local_kernel **kernel) {
  for (size_t i = 0; i < LEN(local_kernels); i++)
    if (local_kernels[i]->isa == isa) {
      *kernel = local_kernels[i];
      return VCONV_OK;
    }
  return VCONV_ERR_ISA_UNAVAILABLE;
}

size_t vconv_local2d_variant_count(void) { return LEN(local_kernels); }

vconv_status vconv_local2d_variant(size_t index, vconv_isa *isa) {
  if (!isa) return VCONV_ERR_NULL_POINTER;
  if (index >= LEN(local_kernels)) return VCONV_ERR_INVALID_ARGUMENT;
  *isa = local_kernels[index]->isa;
  return VCONV_OK;
}
