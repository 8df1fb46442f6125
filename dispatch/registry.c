/*
 * The kernel tables: the one list the dispatcher chooses from and tests and
 * benchmarks enumerate, so no kernel exists without being tested and timed.
 */
#include "dispatch.h"
#include "vconv_config.h"

#define TIER_KERNELS(tier)                                   \
  extern const vconv_conv_kernel vconv_direct_kernel__##tier; \
  extern const vconv_conv_kernel vconv_im2col_kernel__##tier; \
  extern const vconv_pool_kernel vconv_pool_kernel__##tier;   \
  extern const vconv_gemm_kernel vconv_gemm_kernel__##tier;  \
  extern const vconv_conv_kernel vconv_winograd_f2x2_3x3_kernel__##tier; \
  extern const vconv_conv_kernel vconv_winograd_f4x4_3x3_kernel__##tier; \
  extern const vconv_conv_kernel vconv_winograd_f6x6_3x3_kernel__##tier; \
  extern const vconv_conv_kernel vconv_winograd_f4x5_3x3_kernel__##tier; \
  extern const vconv_conv_kernel vconv_winograd_f2x2_5x5_kernel__##tier;

#ifdef VCONV_BUILT_SCALAR
TIER_KERNELS(scalar)
#endif
#ifdef VCONV_BUILT_SSE41
TIER_KERNELS(sse41)
#endif
#ifdef VCONV_BUILT_AVX2
TIER_KERNELS(avx2)
#endif
#ifdef VCONV_BUILT_AVX512
TIER_KERNELS(avx512)
#endif
#ifdef VCONV_BUILT_NEON
TIER_KERNELS(neon)
#endif

#define WINOGRAD_KERNELS(tier)                                                       \
  &vconv_winograd_f2x2_3x3_kernel__##tier, &vconv_winograd_f4x4_3x3_kernel__##tier,   \
      &vconv_winograd_f6x6_3x3_kernel__##tier, &vconv_winograd_f4x5_3x3_kernel__##tier, \
      &vconv_winograd_f2x2_5x5_kernel__##tier,

static const vconv_conv_kernel *const conv_kernels[] = {
#ifdef VCONV_BUILT_SCALAR
    &vconv_direct_kernel__scalar,
    &vconv_im2col_kernel__scalar,
    WINOGRAD_KERNELS(scalar)
#endif
#ifdef VCONV_BUILT_SSE41
    &vconv_direct_kernel__sse41,
    &vconv_im2col_kernel__sse41,
    WINOGRAD_KERNELS(sse41)
#endif
#ifdef VCONV_BUILT_AVX2
    &vconv_direct_kernel__avx2,
    &vconv_im2col_kernel__avx2,
    WINOGRAD_KERNELS(avx2)
#endif
#ifdef VCONV_BUILT_AVX512
    &vconv_direct_kernel__avx512,
    &vconv_im2col_kernel__avx512,
    WINOGRAD_KERNELS(avx512)
#endif
#ifdef VCONV_BUILT_NEON
    &vconv_direct_kernel__neon,
    &vconv_im2col_kernel__neon,
    WINOGRAD_KERNELS(neon)
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

/*
 * AUTO heuristic: the first algorithm in this order that is applicable and
 * wanted for the shape (auto_wants), on the same tier.  Measured single
 * threaded on Zen 5 (AVX-512, NCHW and NHWC, batch 1 and 16) against the
 * direct kernel:
 *   im2col wins clearly on pointwise convolutions (1x1, stride 1, no
 *     padding: the input is the GEMM operand itself, no im2col is built),
 *     1.3x to 3x, and on NCHW layers with few input channels per group and
 *     enough output channels to fill the GEMM tile (a 3-channel stem 3x3:
 *     1.4x), where direct has little to vectorise along the reduction;
 *   direct wins or ties everywhere else (AlexNet conv2-5, 3x3 layers of
 *     16-384 channels: 0.7-0.95x for im2col), and on tiny or depthwise
 *     layers, where the GEMM's tiles are mostly padding.
 */
static const vconv_algorithm auto_order[] = {VCONV_ALGO_IM2COL, VCONV_ALGO_DIRECT};

static int auto_wants(vconv_algorithm algo, const vconv_conv_shape *s) {
  if (algo != VCONV_ALGO_IM2COL) return 1;
  const int pointwise = s->R == 1 && s->S == 1 && s->sh == 1 && s->sw == 1 && s->pt == 0 &&
                        s->pb == 0 && s->pl == 0 && s->pr == 0;
  if (pointwise) return s->Kg >= 8 && s->Cg >= 8;
  return s->layout == VCONV_LAYOUT_NCHW && s->Cg <= 4 && s->Kg >= 16 && s->P * s->Q >= 1024;
}

static const vconv_conv_kernel *find(vconv_algorithm algo, vconv_isa isa) {
  for (size_t i = 0; i < LEN(conv_kernels); i++)
    if (conv_kernels[i]->algo == algo && conv_kernels[i]->isa == isa) return conv_kernels[i];
  return NULL;
}

vconv_status vconv_i_select_conv(vconv_algorithm algo, vconv_isa isa, const vconv_conv_shape *s,
                                 const vconv_conv_kernel **kernel) {
  if ((int)algo < 0 || (int)algo >= VCONV_ALGO_COUNT) return VCONV_ERR_INVALID_ALGORITHM;
  if (algo == VCONV_ALGO_AUTO) {
    /* Winograd first, where it wins (winograd_auto.c); then the order above. */
    if ((*kernel = vconv_i_winograd_auto(isa, s)) != NULL) return VCONV_OK;
    for (size_t i = 0; i < LEN(auto_order); i++) {
      const vconv_conv_kernel *k = find(auto_order[i], isa);
      if (k && k->applicable(s) && auto_wants(auto_order[i], s)) {
        *kernel = k;
        return VCONV_OK;
      }
    }
    return VCONV_ERR_UNSUPPORTED_ALGORITHM;
  }
  const vconv_conv_kernel *k = algo == VCONV_ALGO_WINOGRAD ? vconv_i_winograd_tile(isa, s, NULL)
                                                          : find(algo, isa);
  if (!k || !k->applicable(s)) return VCONV_ERR_UNSUPPORTED_ALGORITHM;
  *kernel = k;
  return VCONV_OK;
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
