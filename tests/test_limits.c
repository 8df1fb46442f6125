/*
 * The limits of vconv.h (VCONV_MAX_EXTENT, VCONV_MAX_PLANE, VCONV_MAX_ELEMENTS,
 * VCONV_MAX_THREADS), boundary by boundary: every field and every derived
 * size is accepted at its limit and refused one past it, with
 * VCONV_ERR_SIZE_OVERFLOW.  Where the limit can be reached with little
 * memory (huge strides, dilations and paddings on tiny inputs), the layer
 * also runs on every variant of every tier here, in both layouts, against the
 * float64 reference, with guarded, misaligned buffers.  Plus the other
 * hostile values of issue 12: a caller's thread count, subnormal divisors in
 * pooling backward, and *op after every failed create.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "util.h"
#include "vconv.h"

#define MAXE VCONV_MAX_EXTENT
static const vconv_status OV = VCONV_ERR_SIZE_OVERFLOW;

static vconv_conv2d_desc conv_base(void) {
  vconv_conv2d_desc d;
  vconv_conv2d_desc_init(&d);
  d.batch = d.in_channels = d.out_channels = 1;
  d.in_height = d.in_width = 1;
  d.kernel_h = d.kernel_w = 1;
  return d;
}

static vconv_pool2d_desc pool_base(void) {
  vconv_pool2d_desc d;
  vconv_pool2d_desc_init(&d);
  d.batch = d.channels = 1;
  d.in_height = d.in_width = 1;
  d.window_h = d.window_w = 1;
  return d;
}

static void conv_status(const char *what, const vconv_conv2d_desc *d, vconv_status want) {
  int64_t p = -1, q = -1;
  const vconv_status got = vconv_conv2d_output_size(d, &p, &q);
  CHECK(got == want, "conv %s: %s, expected %s", what, vconv_status_string(got),
        vconv_status_string(want));
}

static void pool_status(const char *what, const vconv_pool2d_desc *d, vconv_status want) {
  int64_t p = -1, q = -1;
  const vconv_status got = vconv_pool2d_output_size(d, &p, &q);
  CHECK(got == want, "pool %s: %s, expected %s", what, vconv_status_string(got),
        vconv_status_string(want));
  if (got == VCONV_OK) { /* create validates the same way and allocates nothing size-dependent */
    vconv_pool2d_op *op = NULL;
    const vconv_status c = vconv_pool2d_create(d, &op);
    CHECK(c == VCONV_OK, "pool %s: create %s", what, vconv_status_string(c));
    vconv_pool2d_destroy(op);
  }
}

/* Sets one field, checks value `at` (want_at) and at + 1 (SIZE_OVERFLOW). */
#define EDGE(type, base, status, what, setup, field, at, want_at)      \
  do {                                                                 \
    type d_ = base();                                                  \
    setup;                                                             \
    d_.field = (at);                                                   \
    status(what " at the limit", &d_, want_at);                        \
    d_.field = (at) + 1;                                               \
    status(what " one past the limit", &d_, OV);                       \
  } while (0)
#define CONV_EDGE(...) EDGE(vconv_conv2d_desc, conv_base, conv_status, __VA_ARGS__)
#define POOL_EDGE(...) EDGE(vconv_pool2d_desc, pool_base, pool_status, __VA_ARGS__)

static void conv_field_limits(void) {
  /* Each field alone, on a shape that can take it. */
  CONV_EDGE("batch", (void)0, batch, MAXE, VCONV_OK);
  CONV_EDGE("in_channels", (void)0, in_channels, MAXE, VCONV_OK);
  CONV_EDGE("out_channels", (void)0, out_channels, MAXE, VCONV_OK);
  CONV_EDGE("in_height", (void)0, in_height, MAXE, VCONV_OK);
  CONV_EDGE("in_width", (void)0, in_width, MAXE, VCONV_OK);
  CONV_EDGE("kernel_h", d_.in_height = MAXE, kernel_h, MAXE, VCONV_OK);
  CONV_EDGE("kernel_w", d_.in_width = MAXE, kernel_w, MAXE, VCONV_OK);
  CONV_EDGE("stride_h", d_.in_height = 7, stride_h, MAXE, VCONV_OK);
  CONV_EDGE("stride_w", d_.in_width = 7, stride_w, MAXE, VCONV_OK);
  CONV_EDGE("dilation_h of one tap", (void)0, dilation_h, MAXE, VCONV_OK);
  CONV_EDGE("dilation_w of one tap", (void)0, dilation_w, MAXE, VCONV_OK);
  {
    /* groups divides the channels, so it cannot pass the limit alone. */
    vconv_conv2d_desc d = conv_base();
    d.in_channels = d.out_channels = d.groups = MAXE;
    conv_status("groups at the limit", &d, VCONV_OK);
    d.in_channels = d.out_channels = MAXE + 1;
    d.groups = MAXE + 1;
    conv_status("groups and channels past the limit", &d, OV);
  }
  /* Paddings: the field and the padded extent it makes. */
  CONV_EDGE("pad_top", (void)0, pad_top, MAXE - 1, VCONV_OK);
  CONV_EDGE("pad_bottom", (void)0, pad_bottom, MAXE - 1, VCONV_OK);
  CONV_EDGE("pad_left", (void)0, pad_left, MAXE - 1, VCONV_OK);
  CONV_EDGE("pad_right", (void)0, pad_right, MAXE - 1, VCONV_OK);
  CONV_EDGE("pad_top + pad_bottom", d_.pad_bottom = MAXE / 2, pad_top, MAXE - 1 - MAXE / 2, VCONV_OK);
  {
    vconv_conv2d_desc d = conv_base();
    d.pad_left = MAXE + 1; /* alone past the limit, whatever the rest */
    conv_status("pad_left past the limit", &d, OV);
    d.pad_left = INT64_MAX;
    conv_status("pad_left INT64_MAX", &d, OV);
  }
  /* The dilated kernel: (k - 1) * dilation + 1. */
  CONV_EDGE("k_eff rows", (d_.in_height = MAXE, d_.kernel_h = 2), dilation_h, MAXE - 1, VCONV_OK);
  CONV_EDGE("k_eff columns", (d_.in_width = MAXE, d_.kernel_w = 3), dilation_w, (MAXE - 1) / 2, VCONV_OK);
  {
    vconv_conv2d_desc d = conv_base();
    d.in_height = 7;
    d.kernel_h = 2;
    d.dilation_h = MAXE;
    conv_status("k_eff past the limit on a small input", &d, OV);
    d.kernel_h = (int64_t)1 << 31;
    d.dilation_h = (int64_t)1 << 31;
    conv_status("k_eff 2^62", &d, OV);
  }
  /* The padded extent of the named modes: FULL adds 2 (k_eff - 1), SAME k_eff - 1 at stride 1. */
  CONV_EDGE("FULL padded rows", d_.padding_mode = VCONV_PADDING_FULL, kernel_h, (int64_t)1 << 30,
            VCONV_OK);
  CONV_EDGE("SAME padded columns", (d_.padding_mode = VCONV_PADDING_SAME, d_.in_width = (int64_t)1 << 30),
            kernel_w, (int64_t)1 << 30, VCONV_OK);
  /* The padded plane. */
  CONV_EDGE("plane", d_.in_height = (int64_t)1 << 16, in_width, MAXE >> 16, VCONV_OK);
  CONV_EDGE("plane with padding", (d_.in_height = (int64_t)1 << 16, d_.in_width = (MAXE >> 16) - 1),
            pad_right, 1, VCONV_OK);
  /* Elements: padded input, output, weights. */
  CONV_EDGE("input elements", d_.in_height = MAXE, in_channels, 512, VCONV_OK);
  CONV_EDGE("padded input elements", (d_.in_height = ((int64_t)1 << 30) - 1, d_.in_channels = 1024),
            pad_top, 1, VCONV_OK);
  CONV_EDGE("output elements", d_.out_channels = MAXE, batch, 512, VCONV_OK);
  CONV_EDGE("weight elements", d_.out_channels = (int64_t)1 << 20, in_channels, (int64_t)1 << 20,
            VCONV_OK);
  /* The 1-D entry point is the same validation. */
  vconv_conv1d_desc c1;
  vconv_conv1d_desc_init(&c1);
  c1.batch = c1.in_channels = c1.out_channels = c1.kernel = 1;
  c1.in_width = 7;
  c1.stride = MAXE;
  int64_t q = -1;
  CHECK_STATUS(vconv_conv1d_output_size(&c1, &q), VCONV_OK);
  CHECK(q == 1, "conv1d stride at the limit: %lld outputs", (long long)q);
  c1.stride = MAXE + 1;
  CHECK_STATUS(vconv_conv1d_output_size(&c1, &q), OV);
}

static void pool_field_limits(void) {
  POOL_EDGE("batch", (void)0, batch, MAXE, VCONV_OK);
  POOL_EDGE("channels", (void)0, channels, MAXE, VCONV_OK);
  POOL_EDGE("in_height", (void)0, in_height, MAXE, VCONV_OK);
  POOL_EDGE("in_width", (void)0, in_width, MAXE, VCONV_OK);
  POOL_EDGE("window_h", d_.in_height = MAXE, window_h, MAXE, VCONV_OK);
  POOL_EDGE("window_w", d_.in_width = MAXE, window_w, MAXE, VCONV_OK);
  POOL_EDGE("stride_h", d_.in_height = 5, stride_h, MAXE, VCONV_OK);
  POOL_EDGE("stride_w", d_.in_width = 5, stride_w, MAXE, VCONV_OK);
  POOL_EDGE("dilation_h of one tap", (void)0, dilation_h, MAXE, VCONV_OK);
  /* Max pooling's dilation with the padding it allows (below the dilated window). */
  POOL_EDGE("dilated window rows", (d_.in_height = 1, d_.window_h = 2, d_.pad_top = (MAXE - 1) / 2,
                                    d_.pad_bottom = (MAXE - 1) / 2),
            dilation_h, MAXE - 1, VCONV_OK);
  POOL_EDGE("pool padding", (d_.in_width = 2, d_.window_w = 2, d_.dilation_w = MAXE - 1), pad_left,
            MAXE - 2, VCONV_OK);
  /* Windows of 2^32 x 2^32 with padding just under them: past every limit. */
  {
    vconv_pool2d_desc d = pool_base();
    d.window_h = d.window_w = (int64_t)1 << 32;
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = ((int64_t)1 << 32) - 2;
    pool_status("window 2^32 x 2^32", &d, OV);
    d.kind = VCONV_POOL_AVG_INCLUDE_PAD;
    pool_status("average window 2^32 x 2^32", &d, OV);
    d.dilation_h = (int64_t)1 << 62;
    d.window_h = 2;
    d.kind = VCONV_POOL_MAX;
    pool_status("dilation 2^62", &d, OV);
  }
  POOL_EDGE("plane", d_.in_height = (int64_t)1 << 16, in_width, MAXE >> 16, VCONV_OK);
  POOL_EDGE("input elements", d_.in_height = MAXE, channels, 512, VCONV_OK);
  POOL_EDGE("global plane", (d_.global = 1, d_.in_height = (int64_t)1 << 16), in_width, MAXE >> 16,
            VCONV_OK);
  vconv_pool1d_desc p1;
  vconv_pool1d_desc_init(&p1);
  p1.batch = p1.channels = p1.window = 1;
  p1.in_width = 5;
  p1.stride = MAXE;
  int64_t q = -1;
  CHECK_STATUS(vconv_pool1d_output_size(&p1, &q), VCONV_OK);
  p1.stride = MAXE + 1;
  CHECK_STATUS(vconv_pool1d_output_size(&p1, &q), OV);
}

/* ------------------------------------------------------------------------ */
/* Layers at the limits that fit in memory: every variant against float64.    */

static int is_winograd(vconv_algorithm a) { return a >= VCONV_ALGO_WINOGRAD; }

static void conv_run_all(const char *what, vconv_conv2d_desc d) {
  int64_t P, Q;
  if (vconv_conv2d_output_size(&d, &P, &Q) != VCONV_OK) {
    CHECK(0, "%s: not accepted", what);
    return;
  }
  const int64_t N = d.batch, C = d.in_channels, H = d.in_height, W = d.in_width, K = d.out_channels;
  const int64_t Cg = C / d.groups, nw = K * Cg * d.kernel_h * d.kernel_w;
  const size_t nin = (size_t)(N * C * H * W), nout = (size_t)(N * K * P * Q);
  test_rng r;
  rng_seed(&r, 0x11a175ull + (uint64_t)(P * 31 + Q));
  float *x = malloc(nin * sizeof(float)), *w = malloc((size_t)nw * sizeof(float));
  float bias[64];
  double *y = malloc(nout * sizeof(double)), *a = malloc(nout * sizeof(double));
  int32_t *n = malloc(nout * sizeof(int32_t));
  if (!x || !w || !y || !a || !n || K > 64) abort();
  for (size_t i = 0; i < nin; i++) x[i] = rng_sym(&r);
  for (int64_t i = 0; i < nw; i++) w[i] = rng_sym(&r);
  for (int64_t i = 0; i < K; i++) bias[i] = rng_sym(&r);
  for (int layout = 0; layout < 2; layout++) {
    d.layout = (vconv_layout)layout;
    tbuf in, out;
    if (!tbuf_alloc_in(&in, nin) || !tbuf_alloc_out(&out, nout)) abort();
    ref_relayout(x, VCONV_LAYOUT_NCHW, in.data, d.layout, N, C, H, W);
    CHECK(ref_conv2d(&d, in.data, w, bias, y, a, n) == REF_OK, "%s: reference refused", what);
    int ran = 0;
    for (size_t v = 0; v < vconv_conv2d_variant_count(); v++) {
      vconv_algorithm algo;
      vconv_isa isa;
      if (vconv_conv2d_variant(v, &algo, &isa) != VCONV_OK || !vconv_isa_available(isa)) continue;
      vconv_conv2d_op *op = NULL;
      const vconv_status st = vconv_conv2d_create_for_isa(&d, algo, isa, w, bias, &op);
      if (st == VCONV_ERR_UNSUPPORTED_ALGORITHM && is_winograd(algo)) continue;
      CHECK(st == VCONV_OK, "%s: %s/%s create %s", what, vconv_algorithm_name(algo),
            vconv_isa_name(isa), vconv_status_string(st));
      if (st != VCONV_OK) continue;
      CHECK(!is_winograd(algo), "%s: Winograd accepted a strided or dilated layer", what);
      /* Scratch does not grow with the huge field: a few MB at most. */
      const size_t ws = vconv_conv2d_workspace_size(op, NULL);
      CHECK(ws < ((size_t)64 << 20), "%s: %s workspace %zu bytes", what, vconv_conv2d_kernel_name(op), ws);
      tbuf_poison(&out);
      CHECK_STATUS(vconv_conv2d_run(op, in.data, out.data, NULL, 0, NULL), VCONV_OK);
      CHECK(tbuf_guards_ok(&out), "%s: %s wrote outside its output", what, vconv_conv2d_kernel_name(op));
      for (size_t i = 0; i < nout; i++) {
        const double err = fabs((double)out.data[i] - y[i]), tol = ref_conv_tol(n[i], a[i]);
        if (!(err <= tol)) {
          CHECK(0, "%s %s %s: y[%zu] = %.9g, reference %.17g, tol %.3g", what,
                vconv_conv2d_kernel_name(op), layout ? "NHWC" : "NCHW", i, (double)out.data[i], y[i], tol);
          break;
        }
      }
      ran++;
      vconv_conv2d_destroy(op);
    }
    CHECK(ran >= 2, "%s: only %d variants ran", what, ran);
    tbuf_free(&in);
    tbuf_free(&out);
  }
  free(x);
  free(w);
  free(y);
  free(a);
  free(n);
}

static void conv_runs(void) {
  vconv_conv2d_desc d = conv_base();
  /* Huge strides with FULL padding and one output column (the reproducer). */
  d.batch = 2;
  d.in_channels = 3;
  d.out_channels = 5;
  d.in_height = 4;
  d.in_width = 5;
  d.kernel_h = d.kernel_w = 3;
  d.padding_mode = VCONV_PADDING_FULL;
  const int64_t strides[] = {MAXE - 1, MAXE, 1000, 6, 7};
  for (size_t i = 0; i < sizeof strides / sizeof strides[0]; i++) {
    d.stride_w = strides[i];
    d.stride_h = 1;
    conv_run_all("FULL, stride_w huge", d);
    d.stride_h = strides[i];
    d.stride_w = 2;
    conv_run_all("FULL, stride_h huge", d);
  }
  /* Huge dilations on one-tap axes, with and without padding. */
  d = conv_base();
  d.in_channels = 4;
  d.out_channels = 6;
  d.in_height = 6;
  d.in_width = 9;
  d.kernel_h = 1;
  d.kernel_w = 3;
  d.dilation_h = MAXE;
  d.pad_top = 2;
  conv_run_all("dilation_h at the limit, one tap", d);
  d.kernel_h = 3;
  d.kernel_w = 1;
  d.dilation_h = 1;
  d.dilation_w = MAXE;
  d.pad_left = d.pad_right = 3;
  conv_run_all("dilation_w at the limit, one tap", d);
  /* A tall stride on a one-row input: im2col's band was sized by the stride. */
  d = conv_base();
  d.in_channels = 3;
  d.out_channels = 8;
  d.in_height = 1;
  d.in_width = 40;
  d.kernel_h = 1;
  d.kernel_w = 3;
  d.stride_h = 1000;
  d.stride_w = 1000;
  d.pad_top = d.pad_bottom = 0;
  conv_run_all("stride 1000 on one row", d);
  /* Padding far larger than the input: most outputs read nothing but the bias. */
  d = conv_base();
  d.in_channels = 2;
  d.out_channels = 3;
  d.in_height = 3;
  d.in_width = 2;
  d.kernel_h = d.kernel_w = 2;
  d.pad_top = 5;
  d.pad_left = 4;
  d.pad_right = 3;
  d.stride_h = 3;
  conv_run_all("padding beyond the kernel", d);
}

/* Max pooling with a dilation near the limit and the padding it allows. */
static void pool_runs(void) {
  vconv_pool2d_desc d = pool_base();
  d.channels = 3;
  d.in_height = 3;
  d.in_width = 6;
  d.window_h = 2;
  d.window_w = 2;
  d.dilation_h = (int64_t)1 << 28; /* the padded plane stays below VCONV_MAX_PLANE */
  d.pad_top = ((int64_t)1 << 28) - 1;
  d.pad_bottom = 1;
  d.dilation_w = 3;
  d.stride_w = MAXE;
  for (int layout = 0; layout < 2; layout++) {
    d.layout = (vconv_layout)layout;
    int64_t P, Q;
    CHECK_STATUS(vconv_pool2d_output_size(&d, &P, &Q), VCONV_OK);
    const size_t nin = (size_t)(d.channels * d.in_height * d.in_width), nout = (size_t)(d.channels * P * Q);
    tbuf in, out;
    if (!tbuf_alloc_in(&in, nin) || !tbuf_alloc_out(&out, nout)) abort();
    test_rng r;
    rng_seed(&r, 77);
    for (size_t i = 0; i < nin; i++) in.data[i] = rng_sym(&r);
    /* ref_pool2d has no dilation: the maximum straight from the definition. */
    double y[64];
    if (nout > 64) abort();
    for (int64_t c = 0; c < d.channels; c++)
      for (int64_t p = 0; p < P; p++)
        for (int64_t q = 0; q < Q; q++) {
          double m = -INFINITY;
          for (int64_t i = 0; i < d.window_h; i++)
            for (int64_t j = 0; j < d.window_w; j++) {
              const int64_t ih = p * d.stride_h - d.pad_top + i * d.dilation_h;
              const int64_t iw = q * d.stride_w - d.pad_left + j * d.dilation_w;
              if (ih < 0 || ih >= d.in_height || iw < 0 || iw >= d.in_width) continue;
              const double v = in.data[ref_index(d.layout, d.channels, d.in_height, d.in_width, 0, c, ih, iw)];
              if (v > m) m = v;
            }
          y[ref_index(d.layout, d.channels, P, Q, 0, c, p, q)] = m;
        }
    for (size_t v = 0; v < vconv_pool2d_variant_count(); v++) {
      vconv_isa isa;
      if (vconv_pool2d_variant(v, &isa) != VCONV_OK || !vconv_isa_available(isa)) continue;
      vconv_pool2d_op *op = NULL;
      CHECK_STATUS(vconv_pool2d_create_for_isa(&d, isa, &op), VCONV_OK);
      if (!op) continue;
      tbuf_poison(&out);
      int32_t idx[64];
      CHECK_STATUS(vconv_pool2d_run_with_indices(op, in.data, out.data, idx, NULL, 0, NULL), VCONV_OK);
      CHECK(tbuf_guards_ok(&out), "dilated pool %s wrote outside its output", vconv_pool2d_kernel_name(op));
      for (size_t i = 0; i < nout; i++)
        CHECK((double)out.data[i] == y[i], "dilated pool %s: y[%zu] = %g, reference %g",
              vconv_pool2d_kernel_name(op), i, (double)out.data[i], y[i]);
      vconv_pool2d_destroy(op);
    }
    tbuf_free(&in);
    tbuf_free(&out);
  }
}

/* ------------------------------------------------------------------------ */
/* A caller's thread count                                                    */

static void serial_for(void *context, size_t n, vconv_task_fn task, void *arg) {
  size_t *most = context;
  if (n > *most) *most = n;
  for (size_t i = 0; i < n; i++) task(arg, i);
}

static void thread_counts(void) {
  size_t most = 0;
  const size_t counts[] = {VCONV_MAX_THREADS, VCONV_MAX_THREADS + 1, (size_t)1 << 63, SIZE_MAX};
  enum { M = 37, N = 300, K = 19 };
  static float A[M * K], B[K * N], C[M * N], C1[M * N];
  test_rng r;
  rng_seed(&r, 5);
  for (int i = 0; i < M * K; i++) A[i] = rng_sym(&r);
  for (int i = 0; i < K * N; i++) B[i] = rng_sym(&r);
  CHECK_STATUS(vconv_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C1, N, NULL), VCONV_OK);
  vconv_conv2d_desc d = conv_base();
  d.in_channels = 8;
  d.out_channels = 16;
  d.in_height = d.in_width = 12;
  d.kernel_h = d.kernel_w = 3;
  static float w[16 * 8 * 9];
  for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) w[i] = rng_sym(&r);
  vconv_conv2d_op *op = NULL;
  CHECK_STATUS(vconv_conv2d_create(&d, VCONV_ALGO_IM2COL, w, NULL, &op), VCONV_OK);
  const vconv_parallel cap = {serial_for, &most, VCONV_MAX_THREADS};
  const size_t ws_cap = vconv_conv2d_workspace_size(op, &cap);
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    const vconv_parallel par = {serial_for, &most, counts[i]};
    memset(C, 0, sizeof C);
    CHECK_STATUS(vconv_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N, &par), VCONV_OK);
    CHECK(memcmp(C, C1, sizeof C) == 0, "sgemm with %zu threads differs from one thread", counts[i]);
    CHECK(vconv_conv2d_workspace_size(op, &par) == ws_cap,
          "conv workspace with %zu threads is not that of VCONV_MAX_THREADS", counts[i]);
  }
  CHECK(most <= VCONV_MAX_THREADS, "a parallel_for was asked for %zu calls", most);
  vconv_conv2d_destroy(op);
}

/* ------------------------------------------------------------------------ */
/* Pooling backward with subnormal divisors                                   */

static void subnormal_divisors(void) {
  for (size_t v = 0; v < vconv_pool2d_variant_count(); v++) {
    vconv_isa isa;
    if (vconv_pool2d_variant(v, &isa) != VCONV_OK || !vconv_isa_available(isa)) continue;
    for (int layout = 0; layout < 2; layout++) {
      /* Weighted, weights {0, 1e-40}: the whole gradient goes to the second tap. */
      const float wts[2] = {0.0f, 1e-40f};
      vconv_pool2d_desc d = pool_base();
      d.kind = VCONV_POOL_WEIGHTED;
      d.window_weights = wts;
      d.channels = 3;
      d.in_width = 8;
      d.window_w = 2;
      d.stride_w = 2;
      d.layout = (vconv_layout)layout;
      vconv_pool2d_op *op = NULL;
      CHECK_STATUS(vconv_pool2d_create_for_isa(&d, isa, &op), VCONV_OK);
      float gy[12], gx[24];
      for (int i = 0; i < 12; i++) gy[i] = 1.5f + (float)i;
      CHECK_STATUS(vconv_pool2d_backward(op, NULL, NULL, NULL, gy, gx, NULL, 0, NULL), VCONV_OK);
      for (int c = 0; c < 3; c++)
        for (int iw = 0; iw < 8; iw++) {
          const int i = layout ? iw * 3 + c : c * 8 + iw, o = layout ? iw / 2 * 3 + c : c * 4 + iw / 2;
          const float want = iw % 2 ? gy[o] : 0.0f;
          CHECK(gx[i] == want, "weighted {0, 1e-40} %s %s: gx[%d] = %g, expected %g",
                vconv_isa_name(isa), layout ? "NHWC" : "NCHW", i, (double)gx[i], (double)want);
        }
      vconv_pool2d_destroy(op);
      /* L2 over subnormal inputs: dy/dx = x / y stays below 1 in magnitude. */
      d.kind = VCONV_POOL_L2;
      d.window_weights = NULL;
      CHECK_STATUS(vconv_pool2d_create_for_isa(&d, isa, &op), VCONV_OK);
      /* A gradient that overflows when divided by y (about 3e-20) first. */
      for (int i = 0; i < 12; i++) gy[i] = 1e30f * (1.0f + (float)i);
      float x[24], y[12];
      for (int i = 0; i < 24; i++) x[i] = (i % 3 ? 1e-20f : 3e-20f) * (i % 2 ? 1.0f : -1.0f);
      CHECK_STATUS(vconv_pool2d_run(op, x, y, NULL, 0, NULL), VCONV_OK);
      CHECK_STATUS(vconv_pool2d_backward(op, x, y, NULL, gy, gx, NULL, 0, NULL), VCONV_OK);
      for (int i = 0; i < 24; i++) {
        const int c = layout ? i % 3 : i / 8, iw = layout ? i / 3 : i % 8;
        const int o = layout ? iw / 2 * 3 + c : c * 4 + iw / 2;
        /* y of subnormal squares is only as good as their float sum: compare
         * against the float64 x / y of the library's own y, with slack for it. */
        const double want = (double)gy[o] * (double)x[i] / (double)y[o];
        CHECK(y[o] > 0 && isfinite(gx[i]) && fabs(gx[i] - want) <= 1e-5 * fabs(gy[o]),
              "L2 subnormal %s %s: gx[%d] = %g, expected %g", vconv_isa_name(isa),
              layout ? "NHWC" : "NCHW", i, (double)gx[i], want);
      }
      vconv_pool2d_destroy(op);
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Max-pooling indices: the caller's are checked, and the flat (ONNX) form    */

static void pool_indices(void) {
  enum { N = 2, C = 3, H = 5, W = 4 };
  for (int layout = 0; layout < 2; layout++) {
    vconv_pool2d_desc d = pool_base();
    d.batch = N;
    d.channels = C;
    d.in_height = H;
    d.in_width = W;
    d.window_h = d.window_w = 2;
    d.stride_h = d.stride_w = 2;
    d.ceil_mode = 1; /* P = 3, Q = 2 */
    d.layout = (vconv_layout)layout;
    vconv_pool2d_op *op = NULL;
    CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_OK);
    enum { P = 3, Q = 2, NO = N * C * P * Q };
    float x[N * C * H * W], y[NO], gy[NO], gx[N * C * H * W];
    test_rng r;
    rng_seed(&r, 99);
    for (int i = 0; i < N * C * H * W; i++) x[i] = rng_sym(&r);
    for (int i = 0; i < NO; i++) gy[i] = 1.0f + (float)i;
    int32_t idx[NO];
    int64_t flat[NO];
    CHECK_STATUS(vconv_pool2d_run_with_indices(op, x, y, idx, NULL, 0, NULL), VCONV_OK);
    CHECK_STATUS(vconv_pool2d_flat_indices(op, idx, flat), VCONV_OK);
    float nchw[N * C * H * W];
    ref_relayout(x, d.layout, nchw, VCONV_LAYOUT_NCHW, N, C, H, W);
    for (int i = 0; i < NO; i++) {
      const int c = layout ? i % C : i / (P * Q) % C, n = layout ? i / (P * Q * C) : i / (P * Q * C);
      CHECK(flat[i] / (H * W) == n * C + c && nchw[flat[i]] == y[i],
            "%s flat index %d: %lld does not name the maximum", layout ? "NHWC" : "NCHW", i,
            (long long)flat[i]);
    }
    const int32_t bad[] = {H * W, -2, INT32_MAX, INT32_MIN};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
      int32_t hostile[NO];
      memcpy(hostile, idx, sizeof idx);
      hostile[NO - 1 - (int)b] = bad[b];
      for (int i = 0; i < N * C * H * W; i++) gx[i] = 7.0f;
      CHECK_STATUS(vconv_pool2d_backward(op, NULL, NULL, hostile, gy, gx, NULL, 0, NULL),
                   VCONV_ERR_INVALID_ARGUMENT);
      int untouched = 1;
      for (int i = 0; i < N * C * H * W; i++) untouched &= gx[i] == 7.0f;
      CHECK(untouched, "a refused backward wrote grad_input");
      CHECK_STATUS(vconv_pool2d_flat_indices(op, hostile, flat), VCONV_ERR_INVALID_ARGUMENT);
    }
    vconv_pool2d_destroy(op);
    d.kind = VCONV_POOL_AVG_EXCLUDE_PAD;
    CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_OK);
    CHECK_STATUS(vconv_pool2d_flat_indices(op, idx, flat), VCONV_ERR_UNSUPPORTED_OPTION);
    CHECK_STATUS(vconv_pool2d_flat_indices(NULL, idx, flat), VCONV_ERR_NULL_POINTER);
    vconv_pool2d_destroy(op);
  }
}

/* ------------------------------------------------------------------------ */
/* *op after a failed create                                                  */

#define FAILS_NULL(call, want)                                                          \
  do {                                                                                  \
    op = (void *)&op;                                                                   \
    CHECK_STATUS(call, want);                                                           \
    CHECK(op == NULL, "%s left *op as it was", #call);                                  \
  } while (0)

static void op_after_failure(void) {
  const float w[9] = {0};
  vconv_conv2d_desc d = conv_base();
  vconv_conv2d_desc bad = conv_base();
  bad.stride_h = MAXE + 1;
  vconv_conv1d_desc d1;
  vconv_conv1d_desc_init(&d1);
  {
    vconv_conv2d_op *op;
    FAILS_NULL(vconv_conv2d_create(NULL, VCONV_ALGO_AUTO, w, NULL, &op), VCONV_ERR_NULL_POINTER);
    FAILS_NULL(vconv_conv2d_create(&d, VCONV_ALGO_AUTO, NULL, NULL, &op), VCONV_ERR_NULL_POINTER);
    FAILS_NULL(vconv_conv2d_create(&bad, VCONV_ALGO_AUTO, w, NULL, &op), OV);
    FAILS_NULL(vconv_conv2d_create_for_isa(NULL, VCONV_ALGO_DIRECT, VCONV_ISA_SCALAR, w, NULL, &op),
               VCONV_ERR_NULL_POINTER);
    FAILS_NULL(vconv_conv2d_create_for_isa(&d, VCONV_ALGO_DIRECT, (vconv_isa)42, w, NULL, &op),
               VCONV_ERR_INVALID_ISA);
    FAILS_NULL(vconv_conv2d_create_planned(NULL, VCONV_ALGO_AUTO, 0, NULL, w, NULL, &op),
               VCONV_ERR_NULL_POINTER);
    FAILS_NULL(vconv_conv2d_create_planned(&d, VCONV_ALGO_AUTO, 0, NULL, NULL, NULL, &op),
               VCONV_ERR_NULL_POINTER);
    FAILS_NULL(vconv_conv2d_create_planned(&d, VCONV_ALGO_AUTO, 8u, NULL, w, NULL, &op),
               VCONV_ERR_INVALID_ARGUMENT);
    FAILS_NULL(vconv_conv1d_create(NULL, VCONV_ALGO_AUTO, w, NULL, &op), VCONV_ERR_NULL_POINTER);
    FAILS_NULL(vconv_conv1d_create(&d1, VCONV_ALGO_AUTO, w, NULL, &op), VCONV_ERR_INVALID_SIZE);
  }
  {
    vconv_pool2d_op *op;
    vconv_pool2d_desc p = pool_base(), pbad = pool_base();
    pbad.window_w = 0;
    vconv_pool1d_desc p1;
    vconv_pool1d_desc_init(&p1);
    FAILS_NULL(vconv_pool2d_create(NULL, &op), VCONV_ERR_NULL_POINTER);
    FAILS_NULL(vconv_pool2d_create(&pbad, &op), VCONV_ERR_INVALID_KERNEL_SIZE);
    FAILS_NULL(vconv_pool2d_create_for_isa(&p, (vconv_isa)42, &op), VCONV_ERR_INVALID_ISA);
    FAILS_NULL(vconv_pool1d_create(NULL, &op), VCONV_ERR_NULL_POINTER);
    FAILS_NULL(vconv_pool1d_create(&p1, &op), VCONV_ERR_INVALID_SIZE);
  }
}

int main(void) {
  conv_field_limits();
  pool_field_limits();
  conv_runs();
  pool_runs();
  thread_counts();
  subnormal_divisors();
  pool_indices();
  op_after_failure();
  return test_summary("test_limits");
}
