/*
 * vconv: SIMD-optimised fp32 CNN kernels (convolution and pooling) with
 * runtime CPU dispatch.  This is the only public header.
 *
 * Conventions
 * -----------
 * - Every function returns a vconv_status (0 = VCONV_OK) unless it is a pure
 *   query.  Status values are unique and never reused across versions.
 * - Sizes are int64_t so that zero, negative and overflowing values can be
 *   reported instead of wrapping.  A descriptor is validated completely at
 *   create time; run() only re-checks pointers.
 * - Tensors are dense fp32 arrays in the caller's memory.  No alignment is
 *   required of any pointer; buffers are never read or written outside the
 *   extents given by the descriptor.
 * - Activations are NCHW or NHWC (vconv_layout).  Weights are always OIHW:
 *   [out_channels][in_channels / groups][kernel_h][kernel_w], so the weights
 *   of group g are output channels g*K/G .. (g+1)*K/G-1.  Bias has
 *   out_channels entries.
 * - Thread safety: detection and the ISA cap are initialised once, thread
 *   safely.  Only update_weights() and destroy() change an operator:
 *   run() may be called on one operator from many threads at once provided
 *   each call has its own output and workspace; update_weights() and
 *   destroy() must not race with run().
 * - The library owns no threads and never changes the floating-point
 *   environment (MXCSR / FPCR).
 */
#ifndef VCONV_H
#define VCONV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && !defined(VCONV_STATIC)
#  ifdef VCONV_BUILDING
#    define VCONV_API __declspec(dllexport)
#  else
#    define VCONV_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define VCONV_API __attribute__((visibility("default")))
#else
#  define VCONV_API
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                    */

#define VCONV_VERSION_MAJOR 0
#define VCONV_VERSION_MINOR 1
#define VCONV_VERSION_PATCH 0
#define VCONV_VERSION_STRING "0.1.0"
/* Comparable integer: 0xMMmmpp. */
#define VCONV_VERSION ((VCONV_VERSION_MAJOR << 16) | (VCONV_VERSION_MINOR << 8) | VCONV_VERSION_PATCH)

/* Version of the library actually loaded, e.g. "0.1.0". */
VCONV_API const char *vconv_version(void);

/* ------------------------------------------------------------------------ */
/* Status                                                                     */

typedef enum vconv_status {
  VCONV_OK = 0,
  VCONV_ERR_NULL_POINTER = 1,         /* a required pointer is NULL */
  VCONV_ERR_INVALID_SIZE = 2,         /* batch, channel or spatial size <= 0 */
  VCONV_ERR_INVALID_KERNEL_SIZE = 3,  /* kernel or window size <= 0 */
  VCONV_ERR_KERNEL_TOO_LARGE = 4,     /* (dilated) kernel exceeds padded input */
  VCONV_ERR_INVALID_STRIDE = 5,       /* stride <= 0 */
  VCONV_ERR_INVALID_DILATION = 6,     /* dilation <= 0 */
  VCONV_ERR_INVALID_PADDING = 7,      /* negative padding, or pool padding >= window */
  VCONV_ERR_INVALID_PADDING_MODE = 8, /* unknown vconv_padding_mode */
  VCONV_ERR_INVALID_GROUPS = 9,       /* groups <= 0 or not dividing both channel counts */
  VCONV_ERR_SIZE_OVERFLOW = 10,       /* a field or derived size beyond the limits (VCONV_MAX_*) */
  VCONV_ERR_INVALID_LAYOUT = 11,      /* unknown vconv_layout */
  VCONV_ERR_INVALID_ACTIVATION = 12,  /* unknown activation, or clamp min > max / NaN */
  VCONV_ERR_INVALID_POOL_KIND = 13,   /* unknown vconv_pool_kind */
  VCONV_ERR_INVALID_ALGORITHM = 14,   /* value outside vconv_algorithm */
  VCONV_ERR_UNSUPPORTED_ALGORITHM = 15, /* algorithm not built or not applicable to this shape */
  VCONV_ERR_INVALID_ISA = 16,         /* value outside vconv_isa; in vconv_set_max_isa also a tier of another architecture */
  VCONV_ERR_ISA_UNAVAILABLE = 17,     /* tier not built into the library or not supported by this CPU */
  VCONV_ERR_ISA_LOCKED = 18,          /* vconv_set_max_isa() after the tier was already fixed */
  VCONV_ERR_OUT_OF_MEMORY = 19,
  VCONV_ERR_WORKSPACE_TOO_SMALL = 20, /* workspace given but smaller than *_workspace_size() */
  VCONV_ERR_INVALID_CONNECTION_TABLE = 21, /* an output channel connected to no input channel */
  VCONV_ERR_INVALID_ARGUMENT = 22,    /* any other out-of-range argument (e.g. a variant index) */
  /* a valid option the operator's kind does not have: pooling dilation with
   * weighted or stochastic pooling, indices of a kind without a single source tap */
  VCONV_ERR_UNSUPPORTED_OPTION = 23,
  VCONV_ERR_IO = 24,                  /* a wisdom file cannot be opened, read or written */
  /* a wisdom file from another library version, kernel registry or CPU: nothing imported */
  VCONV_ERR_WISDOM_MISMATCH = 25,
  /* a wisdom file that is not well formed (corrupt, truncated): nothing imported */
  VCONV_ERR_WISDOM_CORRUPT = 26,
  /* a locally connected / tiled layer's tile size negative, larger than the
   * output or not dividing it */
  VCONV_ERR_INVALID_TILE = 27
} vconv_status;

/* Static English text for a status; never NULL (unknown codes get a generic text). */
VCONV_API const char *vconv_status_string(vconv_status status);

/* ------------------------------------------------------------------------ */
/* Limits                                                                     */

/*
 * Every descriptor is held to these limits at create (and by the *_output_size
 * queries), in one place; beyond them the answer is VCONV_ERR_SIZE_OVERFLOW,
 * whatever the field.  No real network comes near them, and within them all
 * index and pointer arithmetic inside the kernels is in range.
 *
 * VCONV_MAX_EXTENT (2^31 - 1) bounds, for convolution and pooling:
 *   every field that is a size or a count: batch, channels, in_height,
 *     in_width, out_channels, kernel_h/w and window_h/w, stride_h/w,
 *     dilation_h/w, groups, and the explicit pad_* fields;
 *   and per axis, whatever the padding mode: the dilated kernel
 *     k_eff = (k - 1) * dilation + 1, the resolved padding and the padded
 *     extent in + pad_begin + pad_end (so also the output extent).
 * VCONV_MAX_PLANE (2^31 - 1) bounds the padded input plane
 *   (in_height + pads) * (in_width + pads), and so the output plane, the
 *   window's taps and every pooling index (which therefore fits int32).
 * VCONV_MAX_ELEMENTS (2^40; on 32-bit targets PTRDIFF_MAX / 4 where smaller)
 *   bounds the element count of the padded input (batch * channels * padded
 *   plane), of the output and of the weights.
 * VCONV_MAX_THREADS (2^18): a vconv_parallel's `threads` above it is taken as
 *   VCONV_MAX_THREADS (the library's own pool refuses more).
 * Workspace sizes are computed with overflow checks; a size that does not fit
 * size_t is reported as SIZE_MAX (allocation then fails with
 * VCONV_ERR_OUT_OF_MEMORY), and no scratch grows with a quantity the output
 * does not need: a stride beyond the padded extent is taken as that extent,
 * and the dilation of an axis with one tap as 1 (neither changes an output).
 * vconv_sgemm: each matrix spans at most PTRDIFF_MAX bytes (see there).
 */
#define VCONV_MAX_EXTENT ((int64_t)2147483647)
#define VCONV_MAX_PLANE ((int64_t)2147483647)
#define VCONV_MAX_ELEMENTS ((int64_t)1 << 40)
#define VCONV_MAX_THREADS ((size_t)1 << 18)

/* ------------------------------------------------------------------------ */
/* Instruction-set tiers and the dispatcher                                   */

typedef enum vconv_isa {
  VCONV_ISA_AUTO = -1,   /* in create_for_isa(): the effective tier */
  VCONV_ISA_SCALAR = 0,  /* portable C, compiled without auto-vectorisation */
  VCONV_ISA_SSE41 = 1,   /* x86 SSE4.1 */
  VCONV_ISA_AVX2 = 2,    /* x86 AVX2 + FMA3 */
  VCONV_ISA_AVX512 = 3,  /* x86 AVX-512 F + BW + DQ + VL */
  VCONV_ISA_NEON = 4     /* AArch64 Advanced SIMD */
} vconv_isa;

#define VCONV_ISA_COUNT 5

/* "scalar", "sse41", "avx2", "avx512", "neon"; "auto" for VCONV_ISA_AUTO; NULL if unknown. */
VCONV_API const char *vconv_isa_name(vconv_isa isa);
/* Inverse of vconv_isa_name (case-sensitive).  Returns VCONV_ERR_INVALID_ISA for unknown names. */
VCONV_API vconv_status vconv_isa_from_name(const char *name, vconv_isa *isa);
/* 1 if the tier's kernels are built into this library (independent of the CPU). */
VCONV_API int vconv_isa_built(vconv_isa isa);
/* 1 if the CPU and OS support the tier (CPUID + XGETBV on x86, getauxval on ARM). */
VCONV_API int vconv_isa_cpu_supported(vconv_isa isa);
/* 1 if the tier is built, supported, and not above the cap: it can run now. */
VCONV_API int vconv_isa_available(vconv_isa isa);
/* The tier every operator created with VCONV_ISA_AUTO uses: the best tier that is
 * built and supported, not above the cap.  The first call fixes the cap. */
VCONV_API vconv_isa vconv_isa_effective(void);
/*
 * Cap the tier.  Must be called before anything fixes the cap (the first
 * vconv_isa_effective() or operator create); later calls return
 * VCONV_ERR_ISA_LOCKED.  A tier the CPU lacks falls back to the best supported
 * tier below it.  The environment variable VCONV_ISA=<name> sets the same cap
 * and takes precedence over this call; an unrecognised VCONV_ISA value is
 * ignored (vconv-info shows it).  Tiers are ordered scalar < sse41 < avx2 <
 * avx512 on x86 and scalar < neon on ARM; a tier of the other architecture
 * returns VCONV_ERR_INVALID_ISA.
 */
VCONV_API vconv_status vconv_set_max_isa(vconv_isa isa);

/* ------------------------------------------------------------------------ */
/* The machine                                                                */

typedef struct vconv_cpu_info {
  char vendor[32];          /* "AuthenticAMD", "GenuineIntel", "ARM", ... or "" */
  char brand[96];           /* marketing name as the CPU (or hypervisor) reports it */
  int family, model, stepping; /* x86 display family/model; -1 where unknown */
  int packages, cores, threads; /* from hwloc when built with it, else from the OS; -1 unknown */
  /* L1d and L2 of core 0, and the L3 instance core 0 shares (not a package total on
   * multi-die parts; VMs may report fictitious L3 sizes); 0 unknown */
  int64_t l1d_bytes, l2_bytes, l3_bytes;
  int64_t cache_line_bytes;
  char source[32];          /* where the topology came from: "hwloc", "cpuid", "sysconf" */
} vconv_cpu_info;

/* Fills *info (detection runs once per process and is cached). */
VCONV_API vconv_status vconv_get_cpu_info(vconv_cpu_info *info);

/* ------------------------------------------------------------------------ */
/* Common enums                                                               */

typedef enum vconv_layout {
  VCONV_LAYOUT_NCHW = 0, /* [batch][channels][height][width] */
  VCONV_LAYOUT_NHWC = 1  /* [batch][height][width][channels] */
} vconv_layout;

typedef enum vconv_padding_mode {
  /* Use pad_top/bottom/left/right as given (asymmetric allowed). */
  VCONV_PADDING_EXPLICIT = 0,
  /* No padding: out = floor((in - k_eff) / stride) + 1. */
  VCONV_PADDING_VALID = 1,
  /* out = ceil(in / stride); total padding max((out-1)*stride + k_eff - in, 0),
   * the smaller half on top/left (TensorFlow's rule, ONNX's SAME_UPPER).  At
   * stride 1 out = in. */
  VCONV_PADDING_SAME = 2,
  /* k_eff - 1 on every side: every input pixel meets every kernel tap, out = in + k_eff - 1 at stride 1. */
  VCONV_PADDING_FULL = 3,
  /* SAME with the larger half on top/left (ONNX's SAME_LOWER). */
  VCONV_PADDING_SAME_LOWER = 4
} vconv_padding_mode;
/* k_eff = (kernel - 1) * dilation + 1.  The named modes overwrite the pad_* fields' meaning. */

typedef enum vconv_activation {
  VCONV_ACTIVATION_NONE = 0,
  VCONV_ACTIVATION_RELU = 1,  /* max(x, 0) */
  VCONV_ACTIVATION_CLAMP = 2  /* min(max(x, act_min), act_max) */
} vconv_activation;

typedef enum vconv_algorithm {
  VCONV_ALGO_AUTO = 0,     /* the library chooses (a documented cost model) */
  VCONV_ALGO_DIRECT = 1,   /* direct loops over the taps */
  VCONV_ALGO_IM2COL = 2,   /* im2col + GEMM */
  VCONV_ALGO_WINOGRAD = 3, /* Winograd minimal filtering (3x3 / 5x5, stride 1): the library picks the tile */
  /* One Winograd tile each, F(mh x mw, r x r): mh x mw outputs (rows x
   * columns) per tile of an r x r kernel at stride 1 and dilation 1, any
   * padding, groups and batch, no connection table (else
   * VCONV_ERR_UNSUPPORTED_ALGORITHM).  Error bounds and measured errors:
   * README ("Winograd accuracy"). */
  VCONV_ALGO_WINOGRAD_F2X2_3X3 = 4,
  VCONV_ALGO_WINOGRAD_F4X4_3X3 = 5,
  VCONV_ALGO_WINOGRAD_F6X6_3X3 = 6,
  VCONV_ALGO_WINOGRAD_F2X2_5X5 = 7,
  VCONV_ALGO_WINOGRAD_F4X5_3X3 = 8  /* 4 rows x 5 columns: 4 x 3 tiles cover a 13x13 map */
} vconv_algorithm;

#define VCONV_ALGO_COUNT 9

/*
 * VCONV_ALGO_AUTO picks, on the operator's tier, the plan (kernel and loop
 * nest: VCONV_ALGO_* and the paths below, "Named plans") with the lowest
 * estimated single-thread time; Winograd tiles only within the accuracy rule
 * below and unless switched off (vconv_set_winograd).  VCONV_ALGO_WINOGRAD is
 * the tile with the lowest estimate.  The estimate is a cost model per tier:
 *   time = a * multiply-adds + b * moved values + c
 * with the plan's own counts (the multiply-adds it issues, lanes its vectors
 * and register tiles pad included; the values im2col packs and Winograd
 * transforms) and a, b, c per tier and family (each direct path, im2col, each
 * tile) fitted to measurements of every plan on a set of shapes, made by
 * tools/vconv-calibrate and built in: one table per CPU it was made on
 * (plan/calibration/), this CPU's if there is one, else one of its vendor and
 * family, else the default (vconv_cost_model_cpu names the one in use); a
 * tier without measurements borrows the nearest one's, per lane.  On AlexNet
 * (Zen 5, AVX-512): conv1 im2col; conv2 F(2x2, 5x5);
 * conv3-5 F(4x5, 3x3) at batch 1, F(6x6, 3x3) at batch 16; LeNet-5 direct
 * (C1 spatial, the others blocked).  The choices may change between versions.
 * Direct and im2col meet the same error bound; Winograd has its own, larger
 * per tile (README, "Winograd accuracy").
 * Accuracy: AUTO, VCONV_ALGO_WINOGRAD and the planner (below) consider only
 * tiles whose error bound on the shape is at most 100 times direct's.  Both
 * bounds are taken at their largest over the outputs for inputs and weights
 * of bounded magnitude; their ratio is
 *   gamma(Cg + k) c_h c_w / (gamma(Cg t + 1) t),   gamma(n) = n u / (1 - n u),
 * u = 2^-24, Cg input channels per group, t = min(R, H) min(S, W) (the most
 * taps an output has inside the input), k the tile's roundings besides the
 * channel sum (17 for F(2x2, 3x3), 25 for F(4x4) and F(2x2, 5x5), 28 for
 * F(4x5), 33 for F(6x6)) and c_h c_w its growth, the largest sum of the
 * magnitudes of its transforms' terms per output (c = 8 for an F(2, 3) axis,
 * 23.2 for F(4, 3), 47.9 for F(5, 3), 67.7 for F(6, 3), 34 for F(2, 5)).  The
 * ratio falls as Cg grows, so small channel counts take smaller tiles:
 * F(6x6) from 43 input channels per group, F(4x5) from 5, F(4x4) from 2, the
 * F(2x2) tiles on every image at least as large as the kernel; where none is
 * within the rule, VCONV_ALGO_WINOGRAD is VCONV_ERR_UNSUPPORTED_ALGORITHM.
 * The tile values are never refused for accuracy.
 * im2col needs scratch of a few hundred KB per thread, Winograd a few MB
 * (workspace_size).
 */

/* "auto", "direct", "im2col", "winograd", "winograd_f2x2_3x3", "winograd_f4x4_3x3",
 * "winograd_f6x6_3x3", "winograd_f2x2_5x5", "winograd_f4x5_3x3"; NULL if unknown. */
VCONV_API const char *vconv_algorithm_name(vconv_algorithm algo);

/* The CPU whose calibration table VCONV_ALGO_AUTO's cost model uses here, as
 * "<vendor> family <f> model <m>" (static storage): this CPU's own when the
 * vendor, family and model match, else the default table's. */
VCONV_API const char *vconv_cost_model_cpu(void);

/*
 * Winograd in VCONV_ALGO_AUTO, for the whole process: enabled 1 (the
 * default) lets AUTO pick a Winograd tile where the cost model above expects
 * it to win, 0 never (AUTO then chooses as if no Winograd kernel existed).
 * The environment variable VCONV_WINOGRAD=0 or =1, when set, wins over this
 * call.  Applies to operators created afterwards; explicit requests
 * (VCONV_ALGO_WINOGRAD, within the accuracy rule above, and the tile
 * values) are always honoured, and an
 * explicit VCONV_ALGO_DIRECT or VCONV_ALGO_IM2COL keeps one operator off
 * Winograd.  Thread-safe.  enabled other than 0 or 1: VCONV_ERR_INVALID_ARGUMENT.
 */
VCONV_API vconv_status vconv_set_winograd(int enabled);
/* 1 if AUTO may pick Winograd now (after the environment and vconv_set_winograd). */
VCONV_API int vconv_winograd_enabled(void);

/* ------------------------------------------------------------------------ */
/* Parallel execution hook                                                    */

/*
 * The library owns no threads.  A caller that wants parallel execution passes
 * its own parallel-for: it must call task(task_arg, i) exactly once for every
 * i in [0, n), in any order and on any threads, and return when all calls
 * have returned.  `threads` is how many of those calls may run at once (the
 * pool's thread count); run() makes n <= threads calls (fewer for small
 * operations, see below), each a worker that takes pieces of the operation
 * from a shared counter, and gives each worker its own part of the workspace.  NULL (or a NULL parallel_for) runs
 * everything on the calling thread.  Results do not depend on the thread
 * count: every piece writes its own outputs in a fixed order.
 */
typedef void (*vconv_task_fn)(void *task_arg, size_t i);
typedef struct vconv_parallel {
  void (*parallel_for)(void *context, size_t n, vconv_task_fn task, void *task_arg);
  void *context;
  size_t threads; /* 0 is taken as 1 */
} vconv_parallel;

/*
 * Work is split into pieces (batch x output-channel blocks x row tiles for
 * convolution, planes or rows for pooling, blocks of C for GEMM), so batch 1
 * has as many pieces as batch 16.  An operation estimated below a few
 * microseconds per worker uses fewer workers (LeNet-5's layers often one):
 * waking a thread would cost more than it saves.  The environment variable
 * VCONV_SPLIT_MIN_NS=<ns> (read at create) overrides that least work per
 * worker; 0 splits everything that has pieces.
 */

/* A caller's pthreadpool_t (pthreadpool.h, the pool PyTorch, XNNPACK and
 * NNPACK share) as a vconv_parallel: *out runs on the pool's threads, which
 * the caller keeps alive while *out is in use.  pool NULL gives the calling
 * thread.  VCONV_ERR_UNSUPPORTED_OPTION when the library was built without
 * pthreadpool (*out is then the calling thread). */
struct pthreadpool;
VCONV_API vconv_status vconv_parallel_from_pthreadpool(struct pthreadpool *pool,
                                                       vconv_parallel *out);

/*
 * A thread pool for callers that have none.  The library never creates one by
 * itself; the caller owns it and destroys it.  threads: 0 = one per physical
 * core (hwloc's topology when built with hwloc, else the OS); the calling
 * thread of run() is one of them, so threads - 1 threads are started.
 * VCONV_THREADPOOL_PIN binds pool thread i to core i (modulo the cores; hwloc
 * cores when built with it, else logical CPUs); the calling thread is left as
 * it is.  Idle threads spin for 0.2 ms, then sleep.  The pool's parallel_for
 * runs one call at a time (concurrent callers take turns).
 * VCONV_ERR_UNSUPPORTED_OPTION if pinning is refused, VCONV_ERR_INVALID_ARGUMENT
 * for unknown flags or more than 262143 threads (no pool is created then).
 */
#define VCONV_THREADPOOL_PIN 1u
typedef struct vconv_threadpool vconv_threadpool;
VCONV_API vconv_status vconv_threadpool_create(size_t threads, unsigned flags,
                                               vconv_threadpool **pool);
/* The pool as a vconv_parallel, valid until destroy; NULL for a NULL pool. */
VCONV_API const vconv_parallel *vconv_threadpool_parallel(const vconv_threadpool *pool);
/* Stops and joins the threads; must not race with a run on the pool.  NULL is a no-op. */
VCONV_API void vconv_threadpool_destroy(vconv_threadpool *pool);

/*
 * Denormals.  The library never changes MXCSR / FPCR; a caller that wants
 * flush-to-zero (faster on some CPUs when activations decay to subnormals)
 * opens a scope on each thread that runs vconv code (its pool threads too):
 * begin sets FTZ and DAZ (x86) or FPCR.FZ (AArch64) on the calling thread and
 * saves the previous bits, end restores them.  Results then differ from the
 * documented error bounds wherever a subnormal occurs.
 * VCONV_ERR_UNSUPPORTED_OPTION on other architectures.
 */
typedef struct vconv_fp_state { uint64_t bits; } vconv_fp_state;
VCONV_API vconv_status vconv_flush_denormals_begin(vconv_fp_state *saved);
VCONV_API vconv_status vconv_flush_denormals_end(const vconv_fp_state *saved);

/* ------------------------------------------------------------------------ */
/* 2-D convolution                                                            */

typedef struct vconv_conv2d_desc {
  int64_t batch;          /* N >= 1 */
  int64_t in_channels;    /* C >= 1 */
  int64_t in_height;      /* H >= 1 */
  int64_t in_width;       /* W >= 1 */
  int64_t out_channels;   /* K >= 1 */
  int64_t kernel_h, kernel_w;  /* R, S >= 1 */
  int64_t stride_h, stride_w;  /* >= 1 */
  int64_t dilation_h, dilation_w; /* >= 1 */
  int64_t pad_top, pad_bottom, pad_left, pad_right; /* >= 0, used with VCONV_PADDING_EXPLICIT */
  vconv_padding_mode padding_mode;
  int64_t groups;         /* >= 1, divides C and K; C = K = groups is depthwise */
  vconv_layout layout;    /* of input and output */
  vconv_activation activation;
  float act_min, act_max; /* VCONV_ACTIVATION_CLAMP only; act_min <= act_max */
  /*
   * Optional partial connection table (LeNet-5 C3), or NULL for dense.
   * connections[k * (C/groups) + c] != 0 when output channel k reads input
   * channel c of its group.  Every output channel must read at least one
   * input channel.  Weights of unconnected pairs are never read as values
   * and cost nothing.  The table is copied at create.
   */
  const unsigned char *connections;
} vconv_conv2d_desc;

/* Defaults: every size 0 (must be set), strides/dilations/groups 1, no padding,
 * explicit padding mode, NCHW, no activation, no connection table. */
VCONV_API void vconv_conv2d_desc_init(vconv_conv2d_desc *desc);

/* Validates the descriptor and returns the output height and width. */
VCONV_API vconv_status vconv_conv2d_output_size(const vconv_conv2d_desc *desc,
                                                int64_t *out_height, int64_t *out_width);
/* Trainable parameters: connected weights plus one bias per output channel
 * when has_bias.  AlexNet conv1: 34,944; LeNet-5 C3 with its table: 1516. */
VCONV_API vconv_status vconv_conv2d_param_count(const vconv_conv2d_desc *desc, int has_bias,
                                                int64_t *count);

typedef struct vconv_conv2d_op vconv_conv2d_op;

/*
 * Create an operator.  weights (OIHW, required) and bias (out_channels
 * floats, or NULL for none) are copied and packed here; the caller may free
 * them afterwards.  algo VCONV_ALGO_AUTO picks the algorithm; an explicit one
 * that is not built or not applicable answers VCONV_ERR_UNSUPPORTED_ALGORITHM.
 */
VCONV_API vconv_status vconv_conv2d_create(const vconv_conv2d_desc *desc, vconv_algorithm algo,
                                           const float *weights, const float *bias,
                                           vconv_conv2d_op **op);
/* Same, on a named tier (VCONV_ISA_AUTO = effective tier).  A tier that cannot
 * run here (not built, not supported, above the cap) is VCONV_ERR_ISA_UNAVAILABLE. */
VCONV_API vconv_status vconv_conv2d_create_for_isa(const vconv_conv2d_desc *desc,
                                                   vconv_algorithm algo, vconv_isa isa,
                                                   const float *weights, const float *bias,
                                                   vconv_conv2d_op **op);
/* Bytes of scratch memory run() needs with this `parallel` (the same pointer
 * passed to run; NULL = calling thread only).  0 is possible. */
VCONV_API size_t vconv_conv2d_workspace_size(const vconv_conv2d_op *op,
                                             const vconv_parallel *parallel);
/*
 * input:  N x C x H x W floats in the descriptor's layout.
 * output: N x K x P x Q floats (P, Q from vconv_conv2d_output_size), overwritten.
 * workspace: at least vconv_conv2d_workspace_size(op, parallel) bytes, any alignment, or
 * NULL to let the library allocate (and free) it during the call.
 * parallel: see vconv_parallel; NULL runs on the calling thread.
 * input and output must not overlap.
 */
VCONV_API vconv_status vconv_conv2d_run(const vconv_conv2d_op *op, const float *input,
                                        float *output, void *workspace, size_t workspace_size,
                                        const vconv_parallel *parallel);
/*
 * New weights (OIHW, required) and bias for an existing operator: packed in
 * place, with neither planning nor allocation, which is what a training loop
 * wants after each optimizer step.  The operator then computes what create
 * would make of the same descriptor and these weights with the same plan,
 * bit for bit.  bias: K floats for an operator created with a bias, or NULL
 * to keep the one it has; a bias for an operator created without one is
 * VCONV_ERR_INVALID_ARGUMENT (it would change the plan's inputs).  op or
 * weights NULL: VCONV_ERR_NULL_POINTER.  Not while the operator runs.
 */
VCONV_API vconv_status vconv_conv2d_update_weights(vconv_conv2d_op *op, const float *weights,
                                                   const float *bias);
/* "<algorithm>/<tier>" of the kernel this operator runs, e.g. "direct/avx512". */
VCONV_API const char *vconv_conv2d_kernel_name(const vconv_conv2d_op *op);
VCONV_API vconv_algorithm vconv_conv2d_algorithm(const vconv_conv2d_op *op);
VCONV_API vconv_isa vconv_conv2d_isa(const vconv_conv2d_op *op);
/* NULL is a no-op. */
VCONV_API void vconv_conv2d_destroy(vconv_conv2d_op *op);

/*
 * The planner.  vconv_conv2d_create_planned() is create() that also takes the
 * `parallel` the operator will run with (its thread count is part of the
 * plan) and flags:
 *   0                  algo AUTO: the kernel recorded in wisdom for this
 *                      descriptor and thread count, if it can run here, else
 *                      the heuristic (VCONV_ALGO_AUTO above).
 *   VCONV_PLAN_MEASURE algo AUTO: without wisdom for the key, times every
 *                      candidate (each path of each applicable algorithm on
 *                      the effective tier; the kernels' own blocking
 *                      follows the shape and the caches) on scratch data with
 *                      `parallel`, keeps the fastest and records its plan as
 *                      wisdom: those within 1.5x of the first pass's best (at
 *                      most 4) and the heuristic's choice on the effective
 *                      tier run again in 9-201 interleaved rounds (as many
 *                      as fit in 0.2 s); the heuristic's choice is kept
 *                      unless another is faster round by round by more than
 *                      2% (README, "Planner").  An explicit algo times that
 *                      algorithm
 *                      (VCONV_ALGO_WINOGRAD: its tiles) on the effective
 *                      tier and records nothing.
 *                      AUTO, timed or from wisdom, and WINOGRAD take only
 *                      Winograd tiles within the accuracy rule (above).
 *                      Create then takes a few dozen runs of the layer
 *                      (about 0.2 s more for the largest AlexNet layers).
 * vconv_conv2d_create(desc, AUTO, ...) consults wisdom for one thread.
 * Wisdom is process-wide (thread safe), starts with the file named by the
 * environment variable VCONV_WISDOM if set (imported at the first planned
 * create; a file that does not import is ignored), and lives until exit.
 */
#define VCONV_PLAN_MEASURE 1u
VCONV_API vconv_status vconv_conv2d_create_planned(const vconv_conv2d_desc *desc,
                                                   vconv_algorithm algo, unsigned flags,
                                                   const vconv_parallel *parallel,
                                                   const float *weights, const float *bias,
                                                   vconv_conv2d_op **op);

/*
 * Wisdom files (text, FFTW-style).  The header names the library version, a
 * hash of the kernel registry and the CPU (vendor, model, tiers); each line
 * maps a resolved descriptor and a thread count to a kernel; a trailer counts
 * the lines and checksums the file.  Import is all or nothing: a file from
 * another version, registry or CPU is VCONV_ERR_WISDOM_MISMATCH, a malformed,
 * truncated or altered one VCONV_ERR_WISDOM_CORRUPT, and neither changes the
 * wisdom held.  Imported entries replace held ones of the same key.
 */
VCONV_API vconv_status vconv_wisdom_export(const char *path);
VCONV_API vconv_status vconv_wisdom_import(const char *path);
/* Entries held now. */
VCONV_API size_t vconv_wisdom_count(void);
/* Drops every entry. */
VCONV_API void vconv_wisdom_forget(void);

/*
 * Every convolution kernel built into the library, whether or not this CPU can
 * run it: index 0 .. vconv_conv2d_variant_count()-1.  Tests and benchmarks
 * enumerate this list, the same one the dispatcher chooses from.
 */
VCONV_API size_t vconv_conv2d_variant_count(void);
VCONV_API vconv_status vconv_conv2d_variant(size_t index, vconv_algorithm *algo, vconv_isa *isa);

/*
 * Named plans.  A kernel may have several loop nests (paths) that its plan
 * chooses between per shape; a plan's name is "<kernel name>:<path>", e.g.
 * "direct/avx2:spatial".  The paths today: direct's "blocked" (output
 * channels in vectors), "spatial" (output width in vectors; stride 1) and
 * "depthwise" (NHWC, one channel per group); im2col's "gemm"; each Winograd
 * tile's "canvas".  Index 0 .. vconv_conv2d_plan_count()-1 lists every
 * (kernel, path) pair of the variants above (a static string per index,
 * NULL past the end), so tests and benchmarks can run every path, not only
 * the one a shape happens to pick.
 *
 * vconv_conv2d_create_named() is create() with that plan forced (or, given a
 * kernel name alone, with the kernel's own choice of path): INVALID_ARGUMENT
 * for a name that is not in the list, ISA_UNAVAILABLE for a tier that cannot
 * run here, UNSUPPORTED_ALGORITHM where the path does not apply to the shape
 * (spatial with stride > 1, ...).  Results are those of the same path chosen
 * by AUTO.  vconv_conv2d_plan_of() names the plan an operator runs.
 */
VCONV_API size_t vconv_conv2d_plan_count(void);
VCONV_API const char *vconv_conv2d_plan_name(size_t index);
VCONV_API vconv_status vconv_conv2d_create_named(const vconv_conv2d_desc *desc, const char *plan,
                                                 const float *weights, const float *bias,
                                                 vconv_conv2d_op **op);
VCONV_API const char *vconv_conv2d_plan_of(const vconv_conv2d_op *op);

/* ------------------------------------------------------------------------ */
/* Convolution backward (training) and transposed convolution                 */

/*
 * The gradients of the convolution a vconv_conv2d_desc describes, with
 * dY = dL/dY (N x K x P x Q, the forward output's shape and layout):
 *   data     dX[n][c][h][w] = sum of W[k][c][r][t] dY[n][k][p][q] over the
 *            (k, r, t, p, q) whose tap reads x[n][c][h][w] in forward
 *            (p sh - pt + r dh = h, q sw - pl + t dw = w); dX is N x C x H x W
 *            and every element is written (0 where no tap reads it).  This is
 *            the full convolution of dY with the 180-degree-rotated kernel,
 *            and the transposed convolution (below).
 *   weights  dW[k][c][r][t] = sum over n, p, q of dY[n][k][p][q] x[n][c][h][w]
 *            at the tap (the correlation of the input with dY), OIHW, padding
 *            taps contributing nothing; and, when asked, db[k] = sum over n,
 *            p, q of dY[n][k][p][q].
 * Every descriptor feature is honoured: both layouts (X, dX, dY in the
 * descriptor's layout; W and dW always OIHW), strides, dilations,
 * asymmetric padding and every padding mode, groups and depthwise, and the
 * connection table (unconnected pairs: not read as weights, dW written as
 * 0, and blocks of them skipped).  The activation must be NONE
 * (VCONV_ERR_UNSUPPORTED_OPTION otherwise): dY is the gradient of the
 * convolution's own output; the activation's derivative is the caller's
 * (for ReLU, zero dY where the forward output is 0).
 *
 * Accumulation is in float, in a fixed order per kernel (FMA where the tier
 * has it): results are the same bits for any `parallel`, and each element
 * is within gamma(n) sum|terms| (n = terms + 1, gamma as in the forward
 * bound) of the exact value, like forward (tests/test_backward.c).
 *
 * Algorithms: VCONV_ALGO_DIRECT (data: input channels in vectors, strides by
 * phases, no zero-inserted copy of dY, or at stride 1 columns in vectors;
 * weights: output channels in vectors x input-channel register tiles, reduced
 * over the batch and the pixels, or at stride 1 in NCHW columns in vectors),
 * VCONV_ALGO_IM2COL, the GEMM formulation on the library's SGEMM (data: W^T
 * dY then col2im; weights: dY x im2col(X)); no connection tables
 * (VCONV_ERR_UNSUPPORTED_ALGORITHM), and for the data gradient at stride 1
 * and dilation 1 without a table, with padding within the kernel,
 * VCONV_ALGO_WINOGRAD and the tiles VCONV_ALGO_WINOGRAD_*: the forward
 * Winograd convolution of dY with each group's kernel rotated by 180 degrees
 * and its channels exchanged, on the forward tile kernels, with their error
 * bounds on that convolution (README, "Winograd accuracy"); WINOGRAD is the
 * tile forward's cost model estimates fastest there, within forward's
 * accuracy rule. Other algorithm values: VCONV_ERR_UNSUPPORTED_ALGORITHM.
 * VCONV_ALGO_AUTO picks, on the tier, without a connection table (with one:
 * direct): weights: the GEMM form where dY has one pixel at batch 1, else
 * direct; data: a Winograd tile where forward AUTO would take one on that
 * rotated convolution (AlexNet conv2-5), else the GEMM form where dY has one
 * pixel at a batch above 4 (a fully connected layer, LeNet C5: the batch is
 * then the GEMM's pixel dimension) or where the input channels per group fill
 * less than half a vector of the tier (1-7 on AVX-512, 1-3 on AVX2) at a
 * stride other than 1 (AlexNet conv1), else direct. Direct's data gradient
 * has two paths: "blocked" (input channels in vectors) and, at stride 1,
 * "rows" (dX columns in vectors), taken where its lanes do more useful work
 * (LeNet C1 and C3). The rules (kernels/ops/conv_bwd.c, select_bwd and
 * winograd_tile; kernels/backward/bwd_direct.c) follow single-thread runs on
 * Zen 4 and 5 and may change between versions.
 *
 * Operators follow forward's thread rules (concurrent runs with distinct
 * outputs and workspaces), own copies of what they need (the data operator
 * packs the weights at create), and run on the caller's `parallel`, with
 * the same workspace contract as vconv_conv2d_run.  Checks at create, in
 * order: op NULL, desc NULL (data: weights NULL) -> NULL_POINTER (*op is
 * then NULL); the descriptor as for forward; activation -> UNSUPPORTED_OPTION;
 * algo outside vconv_algorithm -> INVALID_ALGORITHM; the tier as in
 * create_for_isa; an algorithm that does not apply -> UNSUPPORTED_ALGORITHM.
 */
typedef enum vconv_bwd_kind {
  VCONV_BWD_DATA = 0,    /* grad_input from grad_output and the weights */
  VCONV_BWD_WEIGHTS = 1  /* grad_weights (and grad_bias) from the input and grad_output */
} vconv_bwd_kind;

typedef struct vconv_conv2d_bwd_op vconv_conv2d_bwd_op;

/* weights: OIHW, copied and packed (the caller may free them). */
VCONV_API vconv_status vconv_conv2d_bwd_data_create(const vconv_conv2d_desc *desc,
                                                    vconv_algorithm algo, const float *weights,
                                                    vconv_conv2d_bwd_op **op);
VCONV_API vconv_status vconv_conv2d_bwd_data_create_for_isa(const vconv_conv2d_desc *desc,
                                                            vconv_algorithm algo, vconv_isa isa,
                                                            const float *weights,
                                                            vconv_conv2d_bwd_op **op);
VCONV_API vconv_status vconv_conv2d_bwd_weights_create(const vconv_conv2d_desc *desc,
                                                       vconv_algorithm algo,
                                                       vconv_conv2d_bwd_op **op);
VCONV_API vconv_status vconv_conv2d_bwd_weights_create_for_isa(const vconv_conv2d_desc *desc,
                                                               vconv_algorithm algo, vconv_isa isa,
                                                               vconv_conv2d_bwd_op **op);
/* Bytes of scratch the run functions need with this `parallel` (0 possible). */
VCONV_API size_t vconv_conv2d_bwd_workspace_size(const vconv_conv2d_bwd_op *op,
                                                 const vconv_parallel *parallel);
/*
 * Data operator (or a transposed convolution's): grad_input (N x C x H x W,
 * overwritten) from grad_output (N x K x P x Q).  Pointers NULL:
 * NULL_POINTER; a weights operator: INVALID_ARGUMENT; workspace as in
 * vconv_conv2d_run.  The buffers must not overlap.
 */
VCONV_API vconv_status vconv_conv2d_bwd_data_run(const vconv_conv2d_bwd_op *op,
                                                 const float *grad_output, float *grad_input,
                                                 void *workspace, size_t workspace_size,
                                                 const vconv_parallel *parallel);
/*
 * Weights operator: grad_weights (K x C/groups x R x S, OIHW, overwritten)
 * and, unless grad_bias is NULL, grad_bias (K floats, overwritten) from the
 * forward input (N x C x H x W) and grad_output (N x K x P x Q).  input,
 * grad_output or grad_weights NULL: NULL_POINTER; a data operator:
 * INVALID_ARGUMENT.  To accumulate over several calls, add the results.
 */
VCONV_API vconv_status vconv_conv2d_bwd_weights_run(const vconv_conv2d_bwd_op *op,
                                                    const float *input, const float *grad_output,
                                                    float *grad_weights, float *grad_bias,
                                                    void *workspace, size_t workspace_size,
                                                    const vconv_parallel *parallel);
/*
 * A data operator's (or a transposed convolution's) new weights, and bias
 * for a transposed convolution created with one (NULL keeps it), as
 * vconv_conv2d_update_weights: packed in place, the same bits as a new
 * operator.  A weights operator, or a bias for an operator without one:
 * VCONV_ERR_INVALID_ARGUMENT; op or weights NULL: VCONV_ERR_NULL_POINTER.
 */
VCONV_API vconv_status vconv_conv2d_bwd_update_weights(vconv_conv2d_bwd_op *op,
                                                       const float *weights, const float *bias);
/* "bwd_data_direct/avx2", "bwd_weights_gemm/sse41", ...; NULL for NULL. */
VCONV_API const char *vconv_conv2d_bwd_kernel_name(const vconv_conv2d_bwd_op *op);
/* "<kernel>:<path>": bwd_data_direct's "blocked" or "rows" (stride 1),
 * bwd_data_gemm's "col2im", bwd_weights_direct's "tiles" or "pixels" (NCHW,
 * stride 1), bwd_weights_gemm's "im2col". */
VCONV_API const char *vconv_conv2d_bwd_plan_of(const vconv_conv2d_bwd_op *op);
VCONV_API vconv_bwd_kind vconv_conv2d_bwd_kind(const vconv_conv2d_bwd_op *op);
VCONV_API vconv_algorithm vconv_conv2d_bwd_algorithm(const vconv_conv2d_bwd_op *op);
VCONV_API vconv_isa vconv_conv2d_bwd_isa(const vconv_conv2d_bwd_op *op);
/* NULL is a no-op. */
VCONV_API void vconv_conv2d_bwd_destroy(vconv_conv2d_bwd_op *op);

/* Every backward kernel built (whether or not this CPU runs it), index 0 ..
 * count-1, and every plan name "<kernel>:<path>" (a static string, NULL past
 * the end).  create_named forces one (or, given a kernel name, that kernel's
 * own path); the kind comes from the name; weights are required for a data
 * plan and ignored for a weights plan.  Statuses as vconv_conv2d_create_named. */
VCONV_API size_t vconv_conv2d_bwd_variant_count(void);
VCONV_API vconv_status vconv_conv2d_bwd_variant(size_t index, vconv_bwd_kind *kind,
                                                vconv_algorithm *algo, vconv_isa *isa);
VCONV_API size_t vconv_conv2d_bwd_plan_count(void);
VCONV_API const char *vconv_conv2d_bwd_plan_name(size_t index);
VCONV_API vconv_status vconv_conv2d_bwd_create_named(const vconv_conv2d_desc *desc,
                                                     const char *plan, const float *weights,
                                                     vconv_conv2d_bwd_op **op);

/*
 * Transposed convolution (deconvolution; ONNX ConvTranspose, PyTorch
 * ConvTranspose2d): the data gradient of the convolution that maps its
 * output back to its input, plus a bias.  Per spatial axis, with
 * k_eff = (kernel - 1) * dilation + 1:
 *   out = stride * (in - 1) + output_padding + k_eff - pad_begin - pad_end,
 * output_padding >= 0 adding rows (columns) at the end that only the bias
 * reaches past the last tap (ONNX allows any value; PyTorch requires it
 * below stride or dilation).  Padding modes: EXPLICIT (pad_* as given, >= 0),
 * VALID (0), SAME and SAME_LOWER as ONNX's auto_pad SAME_UPPER / SAME_LOWER
 * (out = in * stride, total = stride * (in - 1) + output_padding + k_eff -
 * out split with the odd unit at the end / the start; a negative total is
 * VCONV_ERR_UNSUPPORTED_OPTION); FULL is VCONV_ERR_INVALID_PADDING_MODE.
 * ONNX's output_shape attribute is the padding that total - pads leaves:
 * give it as explicit pads (and output_padding).
 * Weights are (in_channels, out_channels / groups, kernel_h, kernel_w), the
 * layout of ONNX and PyTorch, which is the OIHW weight of the forward
 * convolution from out_channels to in_channels; bias: out_channels floats
 * or NULL.  Input N x in_channels x in_height x in_width, output N x
 * out_channels x out_h x out_w, both in `layout`.
 * Checks: sizes, kernel, stride, dilation, groups as for forward (their own
 * statuses); negative pads or output_padding: INVALID_PADDING; an output of
 * 0 or fewer rows or columns: INVALID_PADDING; limits as for forward
 * (VCONV_ERR_SIZE_OVERFLOW).  Algorithms and AUTO as for the data gradient;
 * the operator is a vconv_conv2d_bwd_op of kind VCONV_BWD_DATA
 * (vconv_conv_transpose2d_run or vconv_conv2d_bwd_data_run run it).
 */
typedef struct vconv_conv_transpose2d_desc {
  int64_t batch, in_channels, in_height, in_width, out_channels;
  int64_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w;
  int64_t pad_top, pad_bottom, pad_left, pad_right; /* EXPLICIT only */
  int64_t output_padding_h, output_padding_w;
  vconv_padding_mode padding_mode;
  int64_t groups;
  vconv_layout layout;
} vconv_conv_transpose2d_desc;

/* Defaults: sizes 0, strides/dilations/groups 1, no padding, no output padding, EXPLICIT, NCHW. */
VCONV_API void vconv_conv_transpose2d_desc_init(vconv_conv_transpose2d_desc *desc);
VCONV_API vconv_status vconv_conv_transpose2d_output_size(const vconv_conv_transpose2d_desc *desc,
                                                          int64_t *out_height, int64_t *out_width);
VCONV_API vconv_status vconv_conv_transpose2d_create(const vconv_conv_transpose2d_desc *desc,
                                                     vconv_algorithm algo, const float *weights,
                                                     const float *bias, vconv_conv2d_bwd_op **op);
VCONV_API vconv_status vconv_conv_transpose2d_create_for_isa(
    const vconv_conv_transpose2d_desc *desc, vconv_algorithm algo, vconv_isa isa,
    const float *weights, const float *bias, vconv_conv2d_bwd_op **op);
VCONV_API vconv_status vconv_conv_transpose2d_run(const vconv_conv2d_bwd_op *op, const float *input,
                                                  float *output, void *workspace,
                                                  size_t workspace_size,
                                                  const vconv_parallel *parallel);

/* ------------------------------------------------------------------------ */
/* 1-D convolution: a convenience over 2-D with height 1                     */

typedef struct vconv_conv1d_desc {
  int64_t batch, in_channels, in_width, out_channels;
  int64_t kernel, stride, dilation;
  int64_t pad_left, pad_right;
  vconv_padding_mode padding_mode;
  int64_t groups;
  vconv_layout layout;    /* NCHW means NCW, NHWC means NWC */
  vconv_activation activation;
  float act_min, act_max;
  const unsigned char *connections;
} vconv_conv1d_desc;

VCONV_API void vconv_conv1d_desc_init(vconv_conv1d_desc *desc);
/* The equivalent 2-D descriptor (H = kernel_h = 1). */
VCONV_API vconv_status vconv_conv1d_to_2d(const vconv_conv1d_desc *desc1, vconv_conv2d_desc *desc2);
VCONV_API vconv_status vconv_conv1d_output_size(const vconv_conv1d_desc *desc, int64_t *out_width);
/* Weights are OIW; the operator is a 2-D one and is run and destroyed as such. */
VCONV_API vconv_status vconv_conv1d_create(const vconv_conv1d_desc *desc, vconv_algorithm algo,
                                           const float *weights, const float *bias,
                                           vconv_conv2d_op **op);

/* ------------------------------------------------------------------------ */
/* 2-D pooling                                                                */

/*
 * Numeric contract of every pooling kind, the same in every tier, layout and
 * thread count, and in the SIMD body and every tail of every kernel:
 *   - A tap is a window position inside the input.  Padding taps are never
 *     read; they count only where a kind says so (AVG_INCLUDE_PAD's divisor).
 *   - Scan order, where it matters (saved indices, ties, stochastic sampling):
 *     the window's rows top to bottom, each row left to right.
 *   - NaN in a window gives NaN for every kind (which NaN is not specified).
 *     +-inf are ordinary values: max over -inf taps is -inf; sums follow IEEE
 *     arithmetic (+inf and -inf in one average give NaN).
 *   - Max is exact.  When the maximum is zero and a maximal tap is -0, the
 *     result is -0: a rule that does not depend on the order a window is
 *     scanned in, so every kernel gives the same bits.
 *   - A window with no tap inside the input is possible only with dilation
 *     (taps stepping over the input): max gives -inf there, its index is -1
 *     and it passes no gradient; the averages and L2 give 0 (a sum over no
 *     input) and pass no gradient.  Without dilation padding < window
 *     guarantees every window at least one tap.
 *   - Subnormal inputs are used as they are (the library never sets
 *     flush-to-zero): max and averages stay exact / within their bounds, the
 *     L2 squares of tiny values underflow (see VCONV_POOL_L2).
 *   - Averages, L2 and weighted sums are accumulated in float in an
 *     unspecified order (tests/test_pool.c derives the bounds it checks), with
 *     g(n) = n u / (1 - n u), u = 2^-24, m = taps:
 *       average   |error| <= g(m + 1) sum|x| / divisor;
 *       L2        relative error about g(m) / 2 + u;
 *       weighted  |error| <= about 2 g(m) sum|w x| / sum w;
 *     plus 2^-150 per operation whose result is subnormal.  Stochastic
 *     pooling is correctly rounded from double.
 */
typedef enum vconv_pool_kind {
  /* Largest tap (see above for NaN and -0). */
  VCONV_POOL_MAX = 0,
  /* Sum over the window / the number of its taps inside the padded input
   * (window_h * window_w except where ceil mode runs a window past the padding);
   * padding taps count as zeros. */
  VCONV_POOL_AVG_INCLUDE_PAD = 1,
  /* Sum over the taps inside the input / their number. */
  VCONV_POOL_AVG_EXCLUDE_PAD = 2,
  /* L2 norm sqrt(sum x^2) over the taps.  The squares are summed in float: a
   * window whose sum of squares exceeds FLT_MAX gives +inf (|x| above about
   * 1.8e19), and squares below 2^-126 lose precision (absolute error at most
   * sqrt(taps * 2^-149), about 1.4e-22 sqrt(taps)). */
  VCONV_POOL_L2 = 3,
  /* sum w[r][s] x / sum w[r][s] over the taps, with the caller's window_weights
   * (e.g. by distance from the centre).  Taps in the padding drop out of both
   * sums, so border windows are renormalised to their taps inside the input; a
   * window whose weights inside the input are all 0 gives +0 (NaN where IEEE
   * arithmetic makes the sum NaN: a NaN tap, or 0 * inf). */
  VCONV_POOL_WEIGHTED = 4,
  /*
   * Stochastic pooling (Zeiler & Fergus, 2013) over r = max(x, 0): negative
   * inputs and -inf have probability 0.  With `training`, the output is r of
   * one tap drawn with probability r / sum r (see `seed`); without, it is
   * the probability-weighted average sum r^2 / sum r.  A window whose sum r is
   * 0 gives 0 (index -1); a NaN gives NaN (index: the first NaN), else a +inf
   * tap gives +inf (index: the first +inf).  Sums are taken in double and the
   * result rounded once, so both modes give the same bits in every tier.
   */
  VCONV_POOL_STOCHASTIC = 5,
  /*
   * Lp norm (sum |x|^p)^(1/p) over the taps, p the descriptor's norm_p (ONNX
   * LpPool).  p = 2 is VCONV_POOL_L2 itself (the same kernel and bits); any
   * other p is computed in double, scaled by the window's largest |x| so that
   * no power overflows or underflows to a wrong result, and rounded once:
   * within about u + 2^-50 (m + 5) relative of the exact norm, the same bits in
   * every tier, layout and thread count.  NaN gives NaN, an infinite tap +inf.
   * Backward: tap x gets grad * sign(x) (|x| / y)^(p - 1) (0 for x == 0 or
   * y == 0), each term in double, rounded once.
   */
  VCONV_POOL_LP = 6
} vconv_pool_kind;

typedef struct vconv_pool2d_desc {
  int64_t batch, channels, in_height, in_width;
  vconv_pool_kind kind;
  int64_t window_h, window_w; /* >= 1 */
  int64_t stride_h, stride_w; /* >= 1 */
  /* >= 0 and < the (dilated) window, (window - 1) * dilation + 1, so that the
   * first and last windows hold at least one input pixel. */
  int64_t pad_top, pad_bottom, pad_left, pad_right;
  vconv_padding_mode padding_mode; /* EXPLICIT, VALID, SAME or SAME_LOWER (FULL is rejected) */
  /* 0: out = floor((in + pads - window) / stride) + 1.  1: ceil instead, minus
   * the last window if it would start in the bottom/right padding (Caffe/PyTorch). */
  int ceil_mode;
  vconv_layout layout;
  /* --- appended fields: vconv_pool2d_desc_init sets their defaults --- */
  /* >= 1 (else VCONV_ERR_INVALID_DILATION); other than 1 with MAX, both
   * averages and L2 (ONNX opset 19), not with WEIGHTED or STOCHASTIC (else
   * VCONV_ERR_UNSUPPORTED_OPTION).  A tap is at row h0 + r * dilation_h;
   * the averages' divisors count the dilated taps.  Default 1. */
  int64_t dilation_h, dilation_w;
  /* Non-zero: global pooling, the window is the whole input (window H x W,
   * stride 1, no padding, dilation 1; output N x C x 1 x 1).  window_*, stride_*,
   * pad_*, padding_mode, ceil_mode and dilation_* are then ignored.  Default 0. */
  int global;
  /*
   * VCONV_POOL_WEIGHTED: window_h * window_w weights, row-major (in_height *
   * in_width when global); each finite and >= 0, and their float sum finite
   * and > 0 (else VCONV_ERR_INVALID_ARGUMENT; NULL: VCONV_ERR_NULL_POINTER).
   * Copied at create.  Ignored by the other kinds.  Default NULL.
   */
  const float *window_weights;
  /* VCONV_POOL_STOCHASTIC: non-zero samples (training), 0 averages (inference). */
  int training;
  /*
   * VCONV_POOL_STOCHASTIC with training: the draw of output element i (its
   * NCHW index ((n * C + c) * P + p) * Q + q, whatever the layout) is
   *   u = (splitmix64(seed + (i + 1) * 0x9e3779b97f4a7c15) >> 11) * 2^-53,
   * splitmix64(z): z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9,
   *                z = (z ^ z >> 27) * 0x94d049bb133111eb, z ^ z >> 31 (mod 2^64),
   * and the tap taken is the first in scan order whose running sum of r (in
   * double, scan order) exceeds u * sum r.  So a seed gives the same samples
   * in every tier, layout, thread count and run.  Default 0.
   */
  uint64_t seed;
  /* VCONV_POOL_LP: p, finite and >= 1 (else VCONV_ERR_INVALID_ARGUMENT).
   * Ignored by the other kinds.  Default 2. */
  double norm_p;
} vconv_pool2d_desc;

/* Defaults: sizes 0, max pooling, stride 1, dilation 1, no padding, floor mode,
 * NCHW, not global, no weights, inference, seed 0, norm_p 2. */
VCONV_API void vconv_pool2d_desc_init(vconv_pool2d_desc *desc);
VCONV_API vconv_status vconv_pool2d_output_size(const vconv_pool2d_desc *desc,
                                                int64_t *out_height, int64_t *out_width);

typedef struct vconv_pool2d_op vconv_pool2d_op;
VCONV_API vconv_status vconv_pool2d_create(const vconv_pool2d_desc *desc, vconv_pool2d_op **op);
VCONV_API vconv_status vconv_pool2d_create_for_isa(const vconv_pool2d_desc *desc, vconv_isa isa,
                                                   vconv_pool2d_op **op);
/* Bytes of scratch run(), run_with_indices() and backward() need with this
 * `parallel` (0 for rows up to a few thousand floats). */
VCONV_API size_t vconv_pool2d_workspace_size(const vconv_pool2d_op *op,
                                             const vconv_parallel *parallel);
/* Same contract as vconv_conv2d_run; output is N x C x P x Q. */
VCONV_API vconv_status vconv_pool2d_run(const vconv_pool2d_op *op, const float *input,
                                        float *output, void *workspace, size_t workspace_size,
                                        const vconv_parallel *parallel);
/*
 * run() that also stores, for every output element (same index, same layout),
 * the tap it came from as a flat index into its input plane: ih * in_width + iw.
 *   VCONV_POOL_MAX: the first tap in scan order equal to the result (+0 and -0
 *     are equal), or the first NaN; -1 for a window without taps (dilation).
 *   VCONV_POOL_STOCHASTIC with training: the tap drawn; -1 where sum r is 0.
 * Other kinds (no single tap): VCONV_ERR_UNSUPPORTED_OPTION.  A plane of more
 * than INT32_MAX elements: VCONV_ERR_SIZE_OVERFLOW.  indices NULL:
 * VCONV_ERR_NULL_POINTER.  The output is the same, bit for bit, as run()'s.
 * Per plane is PyTorch's convention (MaxPool2d's return_indices); ONNX's
 * MaxPool Indices output is flat over N, C, H, W: see vconv_pool2d_flat_indices.
 */
VCONV_API vconv_status vconv_pool2d_run_with_indices(const vconv_pool2d_op *op, const float *input,
                                                     float *output, int32_t *indices,
                                                     void *workspace, size_t workspace_size,
                                                     const vconv_parallel *parallel);
/*
 * indices from run_with_indices turned into flat[i] = ((n * C + c) * H + ih) * W
 * + iw, the element's source as an index into an NCHW input tensor (ONNX's
 * MaxPool Indices with the default storage order), for every output element
 * in the descriptor's layout; -1 stays -1.  An index outside [-1, H * W):
 * VCONV_ERR_INVALID_ARGUMENT, nothing written.  Kinds without indices:
 * VCONV_ERR_UNSUPPORTED_OPTION.
 */
VCONV_API vconv_status vconv_pool2d_flat_indices(const vconv_pool2d_op *op, const int32_t *indices,
                                                 int64_t *flat);
/*
 * Backward: grad_input (N x C x H x W, overwritten; zero where no window's
 * gradient lands) from grad_output (N x C x P x Q), both in the descriptor's
 * layout.  Overlapping windows add up.  What else each kind needs (NULL
 * where not needed is fine; a needed NULL is VCONV_ERR_NULL_POINTER):
 *   MAX                  indices from run_with_indices, or NULL: the same
 *                        indices are recomputed from input (ties: the first
 *                        tap in scan order gets the gradient);
 *   AVG_*                nothing: each tap gets grad / divisor;
 *   WEIGHTED             nothing: each tap gets grad * w / (sum of the weights
 *                        inside the input), 0 where that sum is 0;
 *   L2                   input and output (the forward result y): each tap
 *                        gets grad * x / y, 0 where y == 0;
 *   STOCHASTIC training  indices, or NULL to redraw them from input (the seed
 *                        makes the draws identical): the tap drawn gets grad;
 *   STOCHASTIC inference input: tap i with x_i > 0 gets
 *                        grad * (2 x_i - y) / sum r, the others 0.
 * Given indices outside [-1, H * W) are VCONV_ERR_INVALID_ARGUMENT (nothing is
 * written); an index inside the plane but outside its window is not detected.
 * Accumulation is in float in a fixed order per tier (not bitwise equal across
 * tiers for the summing kinds).  workspace and parallel as in run().
 */
VCONV_API vconv_status vconv_pool2d_backward(const vconv_pool2d_op *op, const float *input,
                                             const float *output, const int32_t *indices,
                                             const float *grad_output, float *grad_input,
                                             void *workspace, size_t workspace_size,
                                             const vconv_parallel *parallel);
/* "pool/<tier>". */
VCONV_API const char *vconv_pool2d_kernel_name(const vconv_pool2d_op *op);
VCONV_API vconv_isa vconv_pool2d_isa(const vconv_pool2d_op *op);
VCONV_API void vconv_pool2d_destroy(vconv_pool2d_op *op);

/* Tiers for which a pooling kernel is built (index 0 .. count-1). */
VCONV_API size_t vconv_pool2d_variant_count(void);
VCONV_API vconv_status vconv_pool2d_variant(size_t index, vconv_isa *isa);

/* 1-D pooling over 2-D with height 1. */
typedef struct vconv_pool1d_desc {
  int64_t batch, channels, in_width;
  vconv_pool_kind kind;
  int64_t window, stride, pad_left, pad_right;
  vconv_padding_mode padding_mode;
  int ceil_mode;
  vconv_layout layout;
  /* --- appended fields, as in vconv_pool2d_desc (window_weights: `window` floats,
   * in_width when global) --- */
  int64_t dilation;
  int global;
  const float *window_weights;
  int training;
  uint64_t seed;
  double norm_p;
} vconv_pool1d_desc;

VCONV_API void vconv_pool1d_desc_init(vconv_pool1d_desc *desc);
VCONV_API vconv_status vconv_pool1d_to_2d(const vconv_pool1d_desc *desc1, vconv_pool2d_desc *desc2);
VCONV_API vconv_status vconv_pool1d_output_size(const vconv_pool1d_desc *desc, int64_t *out_width);
VCONV_API vconv_status vconv_pool1d_create(const vconv_pool1d_desc *desc, vconv_pool2d_op **op);

/* ------------------------------------------------------------------------ */
/* Matrix multiplication (SGEMM)                                              */

/*
 * C = alpha * op(A) * op(B) + beta * C on row-major matrices, the library's
 * own GEMM (the one im2col convolution and Winograd run on), usable for
 * fully connected layers: out[batch][outputs] = in[batch][inputs] *
 * W[outputs][inputs]^T is vconv_sgemm(0, 1, batch, outputs, inputs, 1, in,
 * inputs, W, inputs, 0, out, outputs, NULL).
 *
 *   op(A) is M x K: A stored M x K with row stride lda (trans_a 0) or K x M (trans_a 1);
 *   op(B) is K x N: B stored K x N with row stride ldb (trans_b 0) or N x K (trans_b 1);
 *   C is M x N with row stride ldc.
 *
 * BLAS semantics: beta == 0 never reads C (NaN or garbage there does not
 * leak); K == 0 or alpha == 0 never reads A or B and sets C = beta * C;
 * M == 0 or N == 0 does nothing.  Accumulation is fp32 with FMA where the tier
 * has it, in a fixed order per element: results do not depend on `parallel`.
 * Any alignment; A and B may alias each other but not C.
 *
 * Checks, in this order:
 *   trans_a, trans_b not 0 or 1                          VCONV_ERR_INVALID_ARGUMENT
 *   M, N or K < 0                                        VCONV_ERR_INVALID_SIZE
 *   A, B or C NULL while that matrix has elements        VCONV_ERR_NULL_POINTER
 *   a leading dimension below max(1, stored columns)     VCONV_ERR_INVALID_ARGUMENT
 *   a matrix spanning more than PTRDIFF_MAX bytes        VCONV_ERR_SIZE_OVERFLOW
 *   then the tier, as vconv_conv2d_create_for_isa does.
 * Scratch (packing buffers, a few MB per thread) is allocated and freed
 * inside the call: VCONV_ERR_OUT_OF_MEMORY if that fails.
 * parallel: the caller's parallel-for (see vconv_parallel); the longer side
 * of C is split into one block per thread.  NULL runs on the calling thread.
 */
VCONV_API vconv_status vconv_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                   float alpha, const float *A, int64_t lda, const float *B,
                                   int64_t ldb, float beta, float *C, int64_t ldc,
                                   const vconv_parallel *parallel);
/* Same on a named tier (VCONV_ISA_AUTO = effective tier): every built tier can
 * be reached this way.  A tier that cannot run here (not built, not supported,
 * above the cap) is VCONV_ERR_ISA_UNAVAILABLE, a value outside vconv_isa
 * VCONV_ERR_INVALID_ISA. */
VCONV_API vconv_status vconv_sgemm_for_isa(vconv_isa isa, int trans_a, int trans_b, int64_t M,
                                           int64_t N, int64_t K, float alpha, const float *A,
                                           int64_t lda, const float *B, int64_t ldb, float beta,
                                           float *C, int64_t ldc, const vconv_parallel *parallel);

/* ------------------------------------------------------------------------ */
/* Locally connected and tiled 2-D convolution                                */

/*
 * The conv layer with unshared weights.  Output position (p, q) uses kernel
 * (p mod tile_h, q mod tile_w) of a tile_h x tile_w set, so outputs tile_h
 * rows (tile_w columns) apart share their parameters (tiled convolution,
 * Ngiam et al. 2010):
 *   tile 1 x 1          the standard convolution (one kernel shared everywhere);
 *   tile = output size  the locally connected layer (a kernel per output position);
 *   anything between    tiled convolution.
 * A tile field of 0 means the output extent along that axis, so a descriptor
 * whose tile fields stay 0 (the default) is locally connected whatever its
 * output size.  A tile must divide the output extent (the output is covered
 * by whole tiles), else VCONV_ERR_INVALID_TILE, as for a negative one or one
 * larger than the output.
 *
 *   y[n][k][p][q] = act(b + sum_{c, r, s} W[p % th][q % tw][k][c][r][s]
 *                             * x[n][g Cg + c][p sh - pt + r dh][q sw - pl + s dw])
 * with g = k / Kg the group of k, Cg = C / groups, Kg = K / groups, taps in the
 * padding contributing nothing, and b from the bias kind.
 *
 * Weights: [tile_h][tile_w][K][C / groups][R][S] floats, i.e. one OIHW kernel
 * per tile position, row-major over the tile (for a locally connected layer
 * one per output position, [P][Q][K][C/G][R][S]; a 1 x 1 tile is OIHW).
 * Bias (vconv_local_bias): NONE; CHANNEL, K floats shared by all positions;
 * POSITION, [tile_h][tile_w][K] floats, one per kernel position and output
 * channel (per output position and channel when locally connected).
 * Activations are NCHW or NHWC (the descriptor's layout), as for conv2d.
 *
 * Accuracy: every output (and every gradient element) is a float sum of its
 * products with FMA where the tier has it, in a fixed order per tier and
 * shape: within gamma(n) sum |terms| of the exact value (n terms, gamma(n) =
 * n u / (1 - n u), u = 2^-24), and the same bits for any thread count.
 * Connection tables are not supported (a locally connected layer can carry
 * zero weights instead).
 */
typedef enum vconv_local_bias {
  VCONV_LOCAL_BIAS_NONE = 0,
  VCONV_LOCAL_BIAS_CHANNEL = 1,  /* K floats */
  VCONV_LOCAL_BIAS_POSITION = 2  /* [tile_h][tile_w][K] floats */
} vconv_local_bias;

typedef struct vconv_local2d_desc {
  /* Geometry, as in vconv_conv2d_desc (same checks and statuses). */
  int64_t batch, in_channels, in_height, in_width, out_channels;
  int64_t kernel_h, kernel_w;
  int64_t stride_h, stride_w;
  int64_t dilation_h, dilation_w;
  int64_t pad_top, pad_bottom, pad_left, pad_right; /* VCONV_PADDING_EXPLICIT */
  vconv_padding_mode padding_mode;
  int64_t groups;
  vconv_layout layout;
  vconv_activation activation;
  float act_min, act_max;
  /* Kernel periods along the output rows and columns: 0 (default) = the
   * output extent (locally connected), 1 = shared; each must divide it. */
  int64_t tile_h, tile_w;
  vconv_local_bias bias;         /* unknown value: VCONV_ERR_INVALID_ARGUMENT */
} vconv_local2d_desc;

/* Defaults as vconv_conv2d_desc_init, tile 0 x 0 (locally connected), no bias. */
VCONV_API void vconv_local2d_desc_init(vconv_local2d_desc *desc);
/* Validates the descriptor and returns the output height and width. */
VCONV_API vconv_status vconv_local2d_output_size(const vconv_local2d_desc *desc,
                                                 int64_t *out_height, int64_t *out_width);
/* Floats of weights and of bias the descriptor takes (the layouts above);
 * either pointer may be NULL.  A weight count past VCONV_MAX_ELEMENTS:
 * VCONV_ERR_SIZE_OVERFLOW.  LeNet-5 C1 locally connected: 117,600 and 4,704. */
VCONV_API vconv_status vconv_local2d_param_count(const vconv_local2d_desc *desc,
                                                 int64_t *weights, int64_t *biases);

typedef struct vconv_local2d_op vconv_local2d_op;

/*
 * Create: validates, copies and packs weights (required) and bias (required
 * unless the bias kind is NONE; ignored then) once; the caller may free them
 * afterwards.  The packed copy is about the size of the weights (output
 * channels rounded up to whole vectors of the tier; twice that for NCHW
 * layers with few output channels per group, whose forward pass has a
 * packing of its own along output columns).  create_for_isa names a
 * tier as vconv_conv2d_create_for_isa does (VCONV_ISA_AUTO: the effective
 * tier, which VCONV_ISA and vconv_set_max_isa cap).
 */
VCONV_API vconv_status vconv_local2d_create(const vconv_local2d_desc *desc, const float *weights,
                                            const float *bias, vconv_local2d_op **op);
VCONV_API vconv_status vconv_local2d_create_for_isa(const vconv_local2d_desc *desc, vconv_isa isa,
                                                    const float *weights, const float *bias,
                                                    vconv_local2d_op **op);
/* Bytes of scratch run() and both backward passes need with this `parallel`
 * (0 is possible; the backward passes of NCHW layers need the output gradient
 * once more, regrouped). */
VCONV_API size_t vconv_local2d_workspace_size(const vconv_local2d_op *op,
                                              const vconv_parallel *parallel);
/* Forward: input N x C x H x W, output N x K x P x Q (overwritten), both in
 * the layout; workspace and parallel as in vconv_conv2d_run. */
VCONV_API vconv_status vconv_local2d_run(const vconv_local2d_op *op, const float *input,
                                         float *output, void *workspace, size_t workspace_size,
                                         const vconv_parallel *parallel);
/*
 * Backward passes.  grad_output (N x K x P x Q, the layout) is the gradient
 * of the loss with respect to the pre-activation sum: with a fused
 * activation the caller applies its derivative first (ReLU: 0 where the
 * output is 0).
 * backward_data:    grad_input (N x C x H x W), overwritten: the sum over
 *                   every output and tap that read each input element.
 * backward_weights: grad_weights (the weight layout), overwritten: the sum over
 *                   the batch and every output position that shares the kernel;
 *                   grad_bias (the bias kind's layout) likewise, or NULL for
 *                   none (ignored when the kind is NONE).  input is the
 *                   forward input.
 * Buffers must not overlap.
 */
VCONV_API vconv_status vconv_local2d_backward_data(const vconv_local2d_op *op,
                                                   const float *grad_output, float *grad_input,
                                                   void *workspace, size_t workspace_size,
                                                   const vconv_parallel *parallel);
VCONV_API vconv_status vconv_local2d_backward_weights(const vconv_local2d_op *op,
                                                      const float *input, const float *grad_output,
                                                      float *grad_weights, float *grad_bias,
                                                      void *workspace, size_t workspace_size,
                                                      const vconv_parallel *parallel);
/* "local/<tier>". */
VCONV_API const char *vconv_local2d_kernel_name(const vconv_local2d_op *op);
VCONV_API vconv_isa vconv_local2d_isa(const vconv_local2d_op *op);
/* NULL is a no-op. */
VCONV_API void vconv_local2d_destroy(vconv_local2d_op *op);
/* Tiers for which a locally connected kernel is built (index 0 .. count-1). */
VCONV_API size_t vconv_local2d_variant_count(void);
VCONV_API vconv_status vconv_local2d_variant(size_t index, vconv_isa *isa);

#ifdef __cplusplus
}
#endif

#endif /* VCONV_H */
