/*
 * The kernel tables, generated from the variant list (kernels/variants.h) for
 * every built tier: what the planner chooses from and what tests and
 * benchmarks enumerate, so no kernel exists without being tested and timed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "variants.h"
#include "vconv_config.h"

/* The kernel of a variant-list entry (variants.h) on the tier TIER names. */
#define CAT4_(a, b, c, d) a##b##c##d
#define CAT4(a, b, c, d) CAT4_(a, b, c, d)
#define SYM(stem) CAT4(vconv_, stem, _kernel__, TIER)
#define CONV_EXTERN(stem, ALGO) extern const vconv_conv_kernel SYM(stem);
#define WINO_EXTERN(tn, ALGO, ...) CONV_EXTERN(winograd_##tn, ALGO)
#define CONV_ENTRY(stem, ALGO) &SYM(stem),
#define WINO_ENTRY(tn, ALGO, ...) CONV_ENTRY(winograd_##tn, ALGO)

#ifdef VCONV_BUILT_SCALAR
#define TIER scalar
extern const vconv_pool_kernel vconv_pool_kernel__scalar;
extern const vconv_gemm_kernel vconv_gemm_kernel__scalar;
VCONV_CONV_ALGOS(CONV_EXTERN, WINO_EXTERN)
#undef TIER
#endif
#ifdef VCONV_BUILT_SSE41
#define TIER sse41
extern const vconv_pool_kernel vconv_pool_kernel__sse41;
extern const vconv_gemm_kernel vconv_gemm_kernel__sse41;
VCONV_CONV_ALGOS(CONV_EXTERN, WINO_EXTERN)
#undef TIER
#endif
#ifdef VCONV_BUILT_AVX2
#define TIER avx2
extern const vconv_pool_kernel vconv_pool_kernel__avx2;
extern const vconv_gemm_kernel vconv_gemm_kernel__avx2;
VCONV_CONV_ALGOS(CONV_EXTERN, WINO_EXTERN)
#undef TIER
#endif
#ifdef VCONV_BUILT_AVX512
#define TIER avx512
extern const vconv_pool_kernel vconv_pool_kernel__avx512;
extern const vconv_gemm_kernel vconv_gemm_kernel__avx512;
VCONV_CONV_ALGOS(CONV_EXTERN, WINO_EXTERN)
#undef TIER
#endif
#ifdef VCONV_BUILT_NEON
#define TIER neon
extern const vconv_pool_kernel vconv_pool_kernel__neon;
extern const vconv_gemm_kernel vconv_gemm_kernel__neon;
VCONV_CONV_ALGOS(CONV_EXTERN, WINO_EXTERN)
#undef TIER
#endif

/* Tier by tier, each tier's entries in the list's order. */
static const vconv_conv_kernel *const conv_kernels[] = {
#ifdef VCONV_BUILT_SCALAR
#define TIER scalar
    VCONV_CONV_ALGOS(CONV_ENTRY, WINO_ENTRY)
#undef TIER
#endif
#ifdef VCONV_BUILT_SSE41
#define TIER sse41
    VCONV_CONV_ALGOS(CONV_ENTRY, WINO_ENTRY)
#undef TIER
#endif
#ifdef VCONV_BUILT_AVX2
#define TIER avx2
    VCONV_CONV_ALGOS(CONV_ENTRY, WINO_ENTRY)
#undef TIER
#endif
#ifdef VCONV_BUILT_AVX512
#define TIER avx512
    VCONV_CONV_ALGOS(CONV_ENTRY, WINO_ENTRY)
#undef TIER
#endif
#ifdef VCONV_BUILT_NEON
#define TIER neon
    VCONV_CONV_ALGOS(CONV_ENTRY, WINO_ENTRY)
#undef TIER
#endif
};

static const vconv_pool_kernel *const pool_kernels[] = {
#ifdef VCONV_BUILT_SCALAR
    &vconv_pool_kernel__scalar,
#endif
#ifdef VCONV_BUILT_SSE41
    &vconv_pool_kernel__sse41,
#endif
#ifdef VCONV_BUILT_AVX2
    &vconv_pool_kernel__avx2,
#endif
#ifdef VCONV_BUILT_AVX512
    &vconv_pool_kernel__avx512,
#endif
#ifdef VCONV_BUILT_NEON
    &vconv_pool_kernel__neon,
#endif
};

static const vconv_gemm_kernel *const gemm_kernels[] = {
#ifdef VCONV_BUILT_SCALAR
    &vconv_gemm_kernel__scalar,
#endif
#ifdef VCONV_BUILT_SSE41
    &vconv_gemm_kernel__sse41,
#endif
#ifdef VCONV_BUILT_AVX2
    &vconv_gemm_kernel__avx2,
#endif
#ifdef VCONV_BUILT_AVX512
    &vconv_gemm_kernel__avx512,
#endif
#ifdef VCONV_BUILT_NEON
    &vconv_gemm_kernel__neon,
#endif
};

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

size_t vconv_i_conv_kernel_count(void) { return LEN(conv_kernels); }
const vconv_conv_kernel *vconv_i_conv_kernel(size_t i) {
  return i < LEN(conv_kernels) ? conv_kernels[i] : NULL;
}
size_t vconv_i_pool_kernel_count(void) { return LEN(pool_kernels); }
const vconv_pool_kernel *vconv_i_pool_kernel(size_t i) {
  return i < LEN(pool_kernels) ? pool_kernels[i] : NULL;
}

vconv_status vconv_i_select_pool(vconv_isa isa, const vconv_pool_kernel **kernel) {
  for (size_t i = 0; i < LEN(pool_kernels); i++)
    if (pool_kernels[i]->isa == isa) {
      *kernel = pool_kernels[i];
      return VCONV_OK;
    }
  return VCONV_ERR_ISA_UNAVAILABLE;
}

vconv_status vconv_i_select_gemm(vconv_isa isa, const vconv_gemm_kernel **kernel) {
  for (size_t i = 0; i < LEN(gemm_kernels); i++)
    if (gemm_kernels[i]->isa == isa) {
      *kernel = gemm_kernels[i];
      return VCONV_OK;
    }
  return VCONV_ERR_ISA_UNAVAILABLE;
}

size_t vconv_conv2d_variant_count(void) { return LEN(conv_kernels); }

vconv_status vconv_conv2d_variant(size_t index, vconv_algorithm *algo, vconv_isa *isa) {
  if (!algo || !isa) return VCONV_ERR_NULL_POINTER;
  if (index >= LEN(conv_kernels)) return VCONV_ERR_INVALID_ARGUMENT;
  *algo = conv_kernels[index]->algo;
  *isa = conv_kernels[index]->isa;
  return VCONV_OK;
}

size_t vconv_pool2d_variant_count(void) { return LEN(pool_kernels); }

vconv_status vconv_pool2d_variant(size_t index, vconv_isa *isa) {
  if (!isa) return VCONV_ERR_NULL_POINTER;
  if (index >= LEN(pool_kernels)) return VCONV_ERR_INVALID_ARGUMENT;
  *isa = pool_kernels[index]->isa;
  return VCONV_OK;
}

const vconv_conv_kernel *vconv_i_conv_kernel_named(const char *name, size_t len) {
  for (size_t i = 0; i < LEN(conv_kernels); i++)
    if (strncmp(conv_kernels[i]->name, name, len) == 0 && conv_kernels[i]->name[len] == '\0')
      return conv_kernels[i];
  return NULL;
}

/* ---- named plans: every (kernel, path) pair, "<kernel>:<path>" ----------- */

#define PLAN_NAME_MAX 64
static char (*plan_names)[PLAN_NAME_MAX];
static size_t plan_total;
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void make_names(void) {
  size_t n = 0;
  for (size_t i = 0; i < LEN(conv_kernels); i++) n += (size_t)conv_kernels[i]->npaths;
  if (!(plan_names = malloc(n * sizeof *plan_names))) return; /* then no plan has a name */
  for (size_t i = 0, j = 0; i < LEN(conv_kernels); i++)
    for (int p = 0; p < conv_kernels[i]->npaths; p++, j++)
      snprintf(plan_names[j], PLAN_NAME_MAX, "%s:%s", conv_kernels[i]->name, conv_kernels[i]->paths[p]);
  plan_total = n;
}

size_t vconv_conv2d_plan_count(void) {
  pthread_once(&names_once, make_names);
  return plan_total;
}

const char *vconv_conv2d_plan_name(size_t index) {
  return index < vconv_conv2d_plan_count() ? plan_names[index] : NULL;
}

/* ---- backward kernels (variants.h: VCONV_CONV_BWD_ALGOS), tier by tier ---- */

#define BWD_EXTERN(stem, KIND, ALGO) extern const vconv_conv_bwd_kernel SYM(stem);
#define BWD_ENTRY(stem, KIND, ALGO) &SYM(stem),
#ifdef VCONV_BUILT_SCALAR
#define TIER scalar
VCONV_CONV_BWD_ALGOS(BWD_EXTERN)
#undef TIER
#endif
#ifdef VCONV_BUILT_SSE41
#define TIER sse41
VCONV_CONV_BWD_ALGOS(BWD_EXTERN)
#undef TIER
#endif
#ifdef VCONV_BUILT_AVX2
#define TIER avx2
VCONV_CONV_BWD_ALGOS(BWD_EXTERN)
#undef TIER
#endif
#ifdef VCONV_BUILT_AVX512
#define TIER avx512
VCONV_CONV_BWD_ALGOS(BWD_EXTERN)
#undef TIER
#endif
#ifdef VCONV_BUILT_NEON
#define TIER neon
VCONV_CONV_BWD_ALGOS(BWD_EXTERN)
#undef TIER
#endif

static const vconv_conv_bwd_kernel *const bwd_kernels[] = {
#ifdef VCONV_BUILT_SCALAR
#define TIER scalar
    VCONV_CONV_BWD_ALGOS(BWD_ENTRY)
#undef TIER
#endif
#ifdef VCONV_BUILT_SSE41
#define TIER sse41
    VCONV_CONV_BWD_ALGOS(BWD_ENTRY)
#undef TIER
#endif
#ifdef VCONV_BUILT_AVX2
#define TIER avx2
    VCONV_CONV_BWD_ALGOS(BWD_ENTRY)
#undef TIER
#endif
#ifdef VCONV_BUILT_AVX512
#define TIER avx512
    VCONV_CONV_BWD_ALGOS(BWD_ENTRY)
#undef TIER
#endif
#ifdef VCONV_BUILT_NEON
#define TIER neon
    VCONV_CONV_BWD_ALGOS(BWD_ENTRY)
#undef TIER
#endif
};

size_t vconv_i_conv_bwd_kernel_count(void) { return LEN(bwd_kernels); }
const vconv_conv_bwd_kernel *vconv_i_conv_bwd_kernel(size_t i) {
  return i < LEN(bwd_kernels) ? bwd_kernels[i] : NULL;
}
const vconv_conv_bwd_kernel *vconv_i_conv_bwd_kernel_named(const char *name, size_t len) {
  for (size_t i = 0; i < LEN(bwd_kernels); i++)
    if (strncmp(bwd_kernels[i]->name, name, len) == 0 && bwd_kernels[i]->name[len] == '\0')
      return bwd_kernels[i];
  return NULL;
}

size_t vconv_conv2d_bwd_variant_count(void) { return LEN(bwd_kernels); }

vconv_status vconv_conv2d_bwd_variant(size_t index, vconv_bwd_kind *kind, vconv_algorithm *algo,
                                      vconv_isa *isa) {
  if (!kind || !algo || !isa) return VCONV_ERR_NULL_POINTER;
  if (index >= LEN(bwd_kernels)) return VCONV_ERR_INVALID_ARGUMENT;
  *kind = bwd_kernels[index]->kind;
  *algo = bwd_kernels[index]->algo;
  *isa = bwd_kernels[index]->isa;
  return VCONV_OK;
}

static char (*bwd_plan_names)[PLAN_NAME_MAX];
static size_t bwd_plan_total;
static pthread_once_t bwd_names_once = PTHREAD_ONCE_INIT;

static void make_bwd_names(void) {
  size_t n = 0;
  for (size_t i = 0; i < LEN(bwd_kernels); i++) n += (size_t)bwd_kernels[i]->npaths;
  if (!(bwd_plan_names = malloc(n * sizeof *bwd_plan_names))) return;
  for (size_t i = 0, j = 0; i < LEN(bwd_kernels); i++)
    for (int p = 0; p < bwd_kernels[i]->npaths; p++, j++)
      snprintf(bwd_plan_names[j], PLAN_NAME_MAX, "%s:%s", bwd_kernels[i]->name, bwd_kernels[i]->paths[p]);
  bwd_plan_total = n;
}

size_t vconv_conv2d_bwd_plan_count(void) {
  pthread_once(&bwd_names_once, make_bwd_names);
  return bwd_plan_total;
}

const char *vconv_conv2d_bwd_plan_name(size_t index) {
  return index < vconv_conv2d_bwd_plan_count() ? bwd_plan_names[index] : NULL;
}
