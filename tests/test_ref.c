/*
 * Self-test of the float64 reference (tests/ref.c): the parity suite is only
 * as good as its oracle, so the oracle is checked against cases computed by
 * hand, against itself across layouts, and its independent output-size rules
 * are cross-checked with the library's helpers over an exhaustive sweep of
 * small axes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "util.h"

static void conv_desc(vconv_conv2d_desc *d, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R,
                      int64_t S) {
  vconv_conv2d_desc_init(d);
  d->batch = 1;
  d->in_channels = C;
  d->in_height = H;
  d->in_width = W;
  d->out_channels = K;
  d->kernel_h = R;
  d->kernel_w = S;
}

/* Runs the reference and compares with expected values and term counts. */
static void expect_conv(const char *what, const vconv_conv2d_desc *d, const float *x, const float *w,
                        const float *b, int64_t count, const double *want, const int32_t *want_n) {
  double y[64], a[64];
  int32_t n[64];
  CHECK(count <= 64, "%s: test too large", what);
  for (int naive = 0; naive < 2; naive++) {
    int st = naive ? ref_conv2d_naive(d, x, w, b, y, a, n) : ref_conv2d(d, x, w, b, y, a, n);
    const char *which = naive ? "naive" : "fast";
    CHECK(st == REF_OK, "%s (%s): reference returned %d", what, which, st);
    if (st != REF_OK) return;
    for (int64_t i = 0; i < count; i++) {
      CHECK(y[i] == want[i], "%s (%s): y[%lld] = %.17g, expected %.17g", what, which, (long long)i,
            y[i], want[i]);
      if (want_n)
        CHECK(n[i] == want_n[i], "%s (%s): n[%lld] = %d, expected %d", what, which, (long long)i,
              n[i], want_n[i]);
    }
  }
}

static void hand_cases(void) {
  /* The source documents' worked example: 5x5 binary input, valid 3x3 "X" kernel. */
  {
    const float x[25] = {1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0};
    const float w[9] = {1, 0, 1, 0, 1, 0, 1, 0, 1};
    const double want[9] = {4, 3, 4, 2, 4, 3, 2, 3, 4};
    const int32_t want_n[9] = {10, 10, 10, 10, 10, 10, 10, 10, 10};
    vconv_conv2d_desc d;
    conv_desc(&d, 1, 5, 5, 1, 3, 3);
    d.padding_mode = VCONV_PADDING_VALID;
    expect_conv("golden 5x5", &d, x, w, NULL, 9, want, want_n);
  }
  /* Padding 1, stride 2, bias: windows start at -1 and 1 on both axes. */
  {
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float w[4] = {1, 2, 3, 4}, b[1] = {0.5f};
    const double want[4] = {4.5, 18.5, 36.5, 77.5};
    const int32_t want_n[4] = {2, 3, 3, 5};
    vconv_conv2d_desc d;
    conv_desc(&d, 1, 3, 3, 1, 2, 2);
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = 1;
    d.stride_h = d.stride_w = 2;
    expect_conv("pad 1 stride 2", &d, x, w, b, 4, want, want_n);
  }
  /* Asymmetric padding: only left 2, so the first output sees one real tap. */
  {
    const float x[3] = {1, 2, 3};
    const float w[3] = {1, 10, 100};
    const double want[3] = {100, 210, 321}; /* windows start at -2, -1, 0 */
    const int32_t want_n[3] = {2, 3, 4};
    vconv_conv2d_desc d;
    conv_desc(&d, 1, 1, 3, 1, 1, 3);
    d.pad_left = 2;
    expect_conv("asymmetric pad", &d, x, w, NULL, 3, want, want_n);
  }
  /* Dilation 2: taps x[i] and x[i+2]. */
  {
    const float x[5] = {1, 2, 3, 4, 5};
    const float w[2] = {1, 10};
    const double want[3] = {31, 42, 53};
    vconv_conv2d_desc d;
    conv_desc(&d, 1, 1, 5, 1, 1, 2);
    d.dilation_w = 2;
    expect_conv("dilation", &d, x, w, NULL, 3, want, NULL);
  }
  /* Connection table: unconnected weights are NaN and must never be read. */
  {
    const float x[2] = {5, 7};
    const float w[4] = {2, NAN, NAN, 3};
    const unsigned char conn[4] = {1, 0, 0, 1};
    const double want[2] = {10, 21};
    const int32_t want_n[2] = {2, 2};
    vconv_conv2d_desc d;
    conv_desc(&d, 2, 1, 1, 2, 1, 1);
    d.connections = conn;
    expect_conv("connection table", &d, x, w, NULL, 2, want, want_n);
  }
  /* Groups: output channels 0,1 read input 0; 2,3 read input 1. */
  {
    const float x[2] = {5, 7};
    const float w[4] = {1, 2, 3, 4};
    const double want[4] = {5, 10, 21, 28};
    vconv_conv2d_desc d;
    conv_desc(&d, 2, 1, 1, 4, 1, 1);
    d.groups = 2;
    expect_conv("groups", &d, x, w, NULL, 4, want, NULL);
  }
  /* Activations. */
  {
    const float x[3] = {-2, 0.25f, 3};
    const float w[1] = {1};
    const double relu[3] = {0, 0.25, 3}, clamp[3] = {-1, 0.25, 0.5};
    vconv_conv2d_desc d;
    conv_desc(&d, 1, 1, 3, 1, 1, 1);
    d.activation = VCONV_ACTIVATION_RELU;
    expect_conv("relu", &d, x, w, NULL, 3, relu, NULL);
    d.activation = VCONV_ACTIVATION_CLAMP;
    d.act_min = -1;
    d.act_max = 0.5f;
    expect_conv("clamp", &d, x, w, NULL, 3, clamp, NULL);
  }
  /* FULL padding: every input meets every tap; a window entirely in the
   * padding is possible with dilation and yields just the bias. */
  {
    const float x[1] = {2};
    const float w[2] = {3, 5}, b[1] = {1};
    vconv_conv2d_desc d;
    conv_desc(&d, 1, 1, 1, 1, 1, 2);
    d.dilation_w = 2;
    d.padding_mode = VCONV_PADDING_FULL;
    ref_geom g;
    CHECK(ref_conv2d_geometry(&d, &g) == REF_OK && g.w.out == 3 && g.w.pad_begin == 2,
          "FULL geometry: out %lld pad %lld", (long long)g.w.out, (long long)g.w.pad_begin);
    /* window at -2: taps -2 (pad), 0 (x=2, w=5) -> 1 + 10; at -1: taps -1, 1 -> 1; at 0: 0 (w=3) -> 7 */
    expect_conv("full + dilation", &d, x, w, b, 3, (const double[]){11, 1, 7},
                (const int32_t[]){2, 1, 2});
  }
  /* SAME: smaller half of the total padding on top/left. */
  {
    vconv_conv2d_desc d;
    ref_geom g;
    conv_desc(&d, 1, 5, 6, 1, 3, 3);
    d.stride_h = d.stride_w = 2;
    d.padding_mode = VCONV_PADDING_SAME;
    CHECK(ref_conv2d_geometry(&d, &g) == REF_OK, "SAME geometry");
    CHECK(g.h.out == 3 && g.h.pad_begin == 1 && g.h.pad_end == 1, "SAME h: %lld %lld %lld",
          (long long)g.h.out, (long long)g.h.pad_begin, (long long)g.h.pad_end);
    CHECK(g.w.out == 3 && g.w.pad_begin == 0 && g.w.pad_end == 1, "SAME w: %lld %lld %lld",
          (long long)g.w.out, (long long)g.w.pad_begin, (long long)g.w.pad_end);
    /* SAME_LOWER (ONNX): the odd pixel of padding goes first. */
    d.padding_mode = VCONV_PADDING_SAME_LOWER;
    CHECK(ref_conv2d_geometry(&d, &g) == REF_OK && g.w.out == 3 && g.w.pad_begin == 1 &&
              g.w.pad_end == 0 && g.h.pad_begin == 1 && g.h.pad_end == 1,
          "SAME_LOWER w: %lld %lld %lld", (long long)g.w.out, (long long)g.w.pad_begin,
          (long long)g.w.pad_end);
    d.padding_mode = VCONV_PADDING_SAME;
    /* Stride larger than the kernel: total padding clamps at 0. */
    conv_desc(&d, 1, 6, 6, 1, 1, 1);
    d.stride_h = d.stride_w = 4;
    d.padding_mode = VCONV_PADDING_SAME;
    CHECK(ref_conv2d_geometry(&d, &g) == REF_OK && g.h.out == 2 && g.h.pad_begin == 0 &&
              g.h.pad_end == 0,
          "SAME clamp");
  }
}

static void expect_pool(const char *what, const vconv_pool2d_desc *d, const float *x,
                        int64_t count, const double *want) {
  double y[64], a[64];
  int32_t n[64];
  int st = ref_pool2d(d, x, y, a, n);
  CHECK(st == REF_OK, "%s: reference returned %d", what, st);
  if (st != REF_OK) return;
  for (int64_t i = 0; i < count; i++)
    CHECK(y[i] == want[i] || (isnan(y[i]) && isnan(want[i])), "%s: y[%lld] = %.17g, expected %.17g",
          what, (long long)i, y[i], want[i]);
}

static void pool_desc(vconv_pool2d_desc *d, int64_t H, int64_t W, vconv_pool_kind kind, int64_t win,
                      int64_t stride, int64_t pad) {
  vconv_pool2d_desc_init(d);
  d->batch = d->channels = 1;
  d->in_height = H;
  d->in_width = W;
  d->kind = kind;
  d->window_h = d->window_w = win;
  d->stride_h = d->stride_w = stride;
  d->pad_top = d->pad_bottom = d->pad_left = d->pad_right = pad;
}

static void pool_cases(void) {
  const float x4[4] = {1, 2, 3, 4};
  vconv_pool2d_desc d;
  /* 2x2 input, 2x2 window, stride 1, pad 1: corners see one pixel. */
  pool_desc(&d, 2, 2, VCONV_POOL_AVG_INCLUDE_PAD, 2, 1, 1);
  expect_pool("avg include pad", &d, x4, 9,
              (const double[]){0.25, 0.75, 0.5, 1.0, 2.5, 1.5, 0.75, 1.75, 1.0});
  d.kind = VCONV_POOL_AVG_EXCLUDE_PAD;
  expect_pool("avg exclude pad", &d, x4, 9, (const double[]){1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4});
  d.kind = VCONV_POOL_MAX;
  expect_pool("max pad", &d, x4, 9, (const double[]){1, 2, 2, 3, 4, 4, 3, 4, 4});
  /* NaN anywhere in a window wins; -inf is ordinary. */
  {
    const float xn[4] = {1, NAN, -INFINITY, -INFINITY};
    pool_desc(&d, 2, 2, VCONV_POOL_MAX, 1, 1, 0);
    d.window_w = 2;
    expect_pool("max NaN", &d, xn, 2, (const double[]){NAN, -INFINITY});
  }
  /* Ceil mode: 5 wide, window 2, stride 2 -> 3 outputs, the last one a single pixel. */
  {
    const float x5[5] = {1, 2, 3, 4, 5};
    pool_desc(&d, 1, 5, VCONV_POOL_AVG_INCLUDE_PAD, 1, 2, 0);
    d.window_w = 2;
    d.ceil_mode = 1;
    expect_pool("ceil avg", &d, x5, 3, (const double[]){1.5, 3.5, 5});
    d.kind = VCONV_POOL_MAX;
    expect_pool("ceil max", &d, x5, 3, (const double[]){2, 4, 5});
  }
  /* Ceil mode minus one: the extra window would start in the trailing padding. */
  {
    ref_geom g;
    pool_desc(&d, 1, 5, VCONV_POOL_MAX, 1, 3, 0);
    d.window_w = 2;
    d.pad_left = d.pad_right = 1;
    d.ceil_mode = 1;
    CHECK(ref_pool2d_geometry(&d, &g) == REF_OK && g.w.out == 2, "ceil minus one: out %lld",
          (long long)g.w.out);
    d.ceil_mode = 0;
    CHECK(ref_pool2d_geometry(&d, &g) == REF_OK && g.w.out == 2, "floor: out %lld", (long long)g.w.out);
    /* Without trailing padding the extra window starts inside the input and stays. */
    d.in_width = 6;
    d.pad_right = 0;
    CHECK(ref_pool2d_geometry(&d, &g) == REF_OK && g.w.out == 2, "floor: out %lld", (long long)g.w.out);
    d.ceil_mode = 1;
    CHECK(ref_pool2d_geometry(&d, &g) == REF_OK && g.w.out == 3, "ceil extra: out %lld",
          (long long)g.w.out);
  }
  /* Include-pad divisor in ceil mode counts only taps inside the padded input:
   * 4 wide, pad 1, window 3, stride 2: span 3 -> windows at -1, 1, 3; the last
   * covers 3 (input), 4 (padding) and 5 (beyond the padding): divisor 2. */
  {
    const float xr[4] = {1, 2, 3, 4};
    pool_desc(&d, 1, 4, VCONV_POOL_AVG_INCLUDE_PAD, 1, 2, 0);
    d.window_w = 3;
    d.pad_left = d.pad_right = 1;
    d.ceil_mode = 1;
    expect_pool("ceil include-pad divisor", &d, xr, 3, (const double[]){1, 3, 2});
    d.kind = VCONV_POOL_AVG_EXCLUDE_PAD;
    expect_pool("ceil exclude-pad divisor", &d, xr, 3, (const double[]){1.5, 3, 4});
  }
}

/* The reference in NHWC must agree bitwise with itself in NCHW. */
static void layout_consistency(void) {
  test_rng rng;
  rng_seed(&rng, 7);
  vconv_conv2d_desc d;
  conv_desc(&d, 6, 7, 5, 9, 3, 2);
  d.batch = 2;
  d.groups = 3;
  d.pad_top = 1;
  d.pad_right = 2;
  d.stride_w = 2;
  d.dilation_h = 2;
  ref_geom g;
  CHECK(ref_conv2d_geometry(&d, &g) == REF_OK, "layout geometry");
  const int64_t nin = 2 * 6 * 7 * 5, nout = 2 * 9 * g.h.out * g.w.out, nw = 9 * 2 * 3 * 2;
  float *x = malloc(sizeof(float) * nin), *xt = malloc(sizeof(float) * nin), w[108], b[9];
  double *y1 = malloc(sizeof(double) * nout * 4), *a1 = y1 + nout, *y2 = a1 + nout, *a2 = y2 + nout;
  int32_t *n1 = malloc(sizeof(int32_t) * nout * 2), *n2 = n1 + nout;
  for (int64_t i = 0; i < nin; i++) x[i] = rng_sym(&rng);
  for (int64_t i = 0; i < nw; i++) w[i] = rng_sym(&rng);
  for (int i = 0; i < 9; i++) b[i] = rng_sym(&rng);
  ref_relayout(x, VCONV_LAYOUT_NCHW, xt, VCONV_LAYOUT_NHWC, 2, 6, 7, 5);
  ref_conv2d(&d, x, w, b, y1, a1, n1);
  d.layout = VCONV_LAYOUT_NHWC;
  ref_conv2d(&d, xt, w, b, y2, a2, n2);
  int bad = 0;
  for (int64_t bn = 0; bn < 2; bn++)
    for (int64_t k = 0; k < 9; k++)
      for (int64_t p = 0; p < g.h.out; p++)
        for (int64_t q = 0; q < g.w.out; q++) {
          int64_t i = ref_index(VCONV_LAYOUT_NCHW, 9, g.h.out, g.w.out, bn, k, p, q);
          int64_t j = ref_index(VCONV_LAYOUT_NHWC, 9, g.h.out, g.w.out, bn, k, p, q);
          bad += y1[i] != y2[j] || a1[i] != a2[j] || n1[i] != n2[j];
        }
  CHECK(bad == 0, "reference NCHW vs NHWC: %d mismatches", bad);
  free(x);
  free(xt);
  free(y1);
  free(n1);
}

/* The loop-interchanged reference must reproduce the naive one bit for bit. */
static void fast_vs_naive(void) {
  int bad_shapes = 0, shapes = 0;
  for (uint64_t i = 0; shapes < 300; i++) {
    test_rng rng;
    rng_seed(&rng, 0xfa57 + i);
    vconv_conv2d_desc d;
    const int64_t G = rng_range(&rng, 1, 3);
    conv_desc(&d, G * rng_range(&rng, 1, 4), rng_range(&rng, 1, 13), rng_range(&rng, 1, 13),
              G * rng_range(&rng, 1, 4), rng_range(&rng, 1, 5), rng_range(&rng, 1, 5));
    d.groups = G;
    d.batch = rng_range(&rng, 1, 2);
    d.stride_h = rng_range(&rng, 1, 3);
    d.stride_w = rng_range(&rng, 1, 3);
    d.dilation_h = rng_range(&rng, 1, 2);
    d.dilation_w = rng_range(&rng, 1, 2);
    d.padding_mode = (vconv_padding_mode)rng_range(&rng, 0, 3);
    d.pad_top = rng_range(&rng, 0, 4);
    d.pad_bottom = rng_range(&rng, 0, 4);
    d.pad_left = rng_range(&rng, 0, 4);
    d.pad_right = rng_range(&rng, 0, 4);
    d.layout = (vconv_layout)rng_range(&rng, 0, 1);
    d.activation = (vconv_activation)rng_range(&rng, 0, 2);
    d.act_min = -0.5f;
    d.act_max = 0.25f;
    const int64_t Cg = d.in_channels / G;
    unsigned char conn[64];
    for (int64_t j = 0; j < d.out_channels * Cg; j++) conn[j] = (unsigned char)rng_chance(&rng, 1, 2);
    for (int64_t k = 0; k < d.out_channels; k++) conn[k * Cg] = 1;
    if (rng_chance(&rng, 1, 3)) d.connections = conn;
    ref_geom g;
    if (ref_conv2d_geometry(&d, &g) != REF_OK) continue;
    shapes++;
    const int64_t nin = d.batch * d.in_channels * d.in_height * d.in_width;
    const int64_t nout = d.batch * d.out_channels * g.h.out * g.w.out;
    const int64_t nw = d.out_channels * Cg * d.kernel_h * d.kernel_w;
    float *x = malloc(sizeof(float) * (size_t)(nin + nw + d.out_channels));
    float *w = x + nin, *b = w + nw;
    for (int64_t j = 0; j < nin + nw + d.out_channels; j++) x[j] = rng_sym(&rng);
    double *y = malloc(sizeof(double) * (size_t)nout * 4), *a = y + nout, *y2 = a + nout, *a2 = y2 + nout;
    int32_t *n = malloc(sizeof(int32_t) * (size_t)nout * 2), *n2 = n + nout;
    ref_conv2d(&d, x, w, b, y, a, n);
    ref_conv2d_naive(&d, x, w, b, y2, a2, n2);
    int bad = 0;
    for (int64_t j = 0; j < nout; j++) bad += y[j] != y2[j] || a[j] != a2[j] || n[j] != n2[j];
    if (bad && bad_shapes++ < 5)
      test_fail(__FILE__, __LINE__, "fast reference differs from naive on random shape %llu: %d outputs",
                (unsigned long long)i, bad);
    free(x);
    free(y);
    free(n);
  }
  test_checks++;
  printf("fast vs naive reference: %d shapes, %d differ\n", shapes, bad_shapes);
}

/*
 * The reference's output-size rules against the library's helpers, over
 * every small combination of one axis (the other axis is 1 with a 1-tap
 * kernel).  Both are written from the same header text independently; any
 * disagreement is a bug in one of them.
 */
static void geometry_sweep(void) {
  int mismatches = 0, valid = 0, too_large = 0;
  for (int axis = 0; axis < 2; axis++)
    for (int mode = 0; mode < 4; mode++)
      for (int64_t in = 1; in <= 9; in++)
        for (int64_t k = 1; k <= 5; k++)
          for (int64_t st = 1; st <= 4; st++)
            for (int64_t dil = 1; dil <= 3; dil++)
              for (int64_t pb = 0; pb <= 3; pb++)
                for (int64_t pe = 0; pe <= 3; pe++) {
                  if (mode != VCONV_PADDING_EXPLICIT && (pb || pe)) continue;
                  vconv_conv2d_desc d;
                  conv_desc(&d, 1, axis ? 1 : in, axis ? in : 1, 1, axis ? 1 : k, axis ? k : 1);
                  d.padding_mode = (vconv_padding_mode)mode;
                  if (axis) {
                    d.stride_w = st, d.dilation_w = dil, d.pad_left = pb, d.pad_right = pe;
                  } else {
                    d.stride_h = st, d.dilation_h = dil, d.pad_top = pb, d.pad_bottom = pe;
                  }
                  ref_geom g;
                  int r = ref_conv2d_geometry(&d, &g);
                  int64_t oh = -1, ow = -1;
                  vconv_status s = vconv_conv2d_output_size(&d, &oh, &ow);
                  const ref_axis *ax = axis ? &g.w : &g.h;
                  int ok = r == REF_OK ? (s == VCONV_OK && (axis ? ow : oh) == ax->out &&
                                          (axis ? oh : ow) == 1)
                                       : (r == REF_TOO_LARGE && s == VCONV_ERR_KERNEL_TOO_LARGE);
                  if (r == REF_OK && mode == VCONV_PADDING_SAME)
                    ok = ok && ax->out == (in + st - 1) / st;
                  if (r == REF_OK && mode == VCONV_PADDING_FULL && st == 1)
                    ok = ok && ax->out == in + ax->keff - 1;
                  if (r == REF_OK && mode == VCONV_PADDING_VALID)
                    ok = ok && ax->out == (in - ax->keff) / st + 1;
                  valid += r == REF_OK;
                  too_large += r == REF_TOO_LARGE;
                  if (!ok && mismatches++ < 10)
                    test_fail(__FILE__, __LINE__,
                              "conv geometry axis %c mode %d in %lld k %lld s %lld d %lld pads %lld,%lld: "
                              "ref %d out %lld, library %d (%lld x %lld)",
                              axis ? 'w' : 'h', mode, (long long)in, (long long)k, (long long)st,
                              (long long)dil, (long long)pb, (long long)pe, r, (long long)ax->out,
                              (int)s, (long long)oh, (long long)ow);
                }
  for (int axis = 0; axis < 2; axis++)
    for (int mode = 0; mode < 3; mode++)
      for (int ceil_mode = 0; ceil_mode < 2; ceil_mode++)
        for (int64_t in = 1; in <= 9; in++)
          for (int64_t k = 1; k <= 5; k++)
            for (int64_t st = 1; st <= 4; st++)
              for (int64_t pb = 0; pb < k; pb++)
                for (int64_t pe = 0; pe < k; pe++) {
                  if (mode != VCONV_PADDING_EXPLICIT && (pb || pe)) continue;
                  vconv_pool2d_desc d;
                  pool_desc(&d, axis ? 1 : in, axis ? in : 1, VCONV_POOL_MAX, 1, 1, 0);
                  d.padding_mode = (vconv_padding_mode)mode;
                  d.ceil_mode = ceil_mode;
                  if (axis) {
                    d.window_w = k, d.stride_w = st, d.pad_left = pb, d.pad_right = pe;
                  } else {
                    d.window_h = k, d.stride_h = st, d.pad_top = pb, d.pad_bottom = pe;
                  }
                  ref_geom g;
                  int r = ref_pool2d_geometry(&d, &g);
                  int64_t oh = -1, ow = -1;
                  vconv_status s = vconv_pool2d_output_size(&d, &oh, &ow);
                  const ref_axis *ax = axis ? &g.w : &g.h;
                  int ok = r == REF_OK ? (s == VCONV_OK && (axis ? ow : oh) == ax->out)
                                       : (r == REF_TOO_LARGE && s == VCONV_ERR_KERNEL_TOO_LARGE);
                  /* Every window of a valid pooling holds at least one input pixel. */
                  if (r == REF_OK)
                    for (int64_t o = 0; o < ax->out; o++) {
                      const int64_t start = o * st - ax->pad_begin;
                      ok = ok && start < in && start + k > 0;
                    }
                  valid += r == REF_OK;
                  too_large += r == REF_TOO_LARGE;
                  if (!ok && mismatches++ < 10)
                    test_fail(__FILE__, __LINE__,
                              "pool geometry axis %c mode %d ceil %d in %lld k %lld s %lld pads %lld,%lld: "
                              "ref %d out %lld, library %d (%lld x %lld)",
                              axis ? 'w' : 'h', mode, ceil_mode, (long long)in, (long long)k,
                              (long long)st, (long long)pb, (long long)pe, r, (long long)ax->out,
                              (int)s, (long long)oh, (long long)ow);
                }
  test_checks++;
  if (mismatches) test_failures++;
  printf("geometry sweep: %d valid, %d kernel-too-large, %d mismatches\n", valid, too_large,
         mismatches);
  CHECK(valid > 1000 && too_large > 100, "geometry sweep did not cover both outcomes");
}

/* The tolerance must exceed a genuinely possible float error and stay tiny. */
static void tolerance_sanity(void) {
  /* 1 + 2^-24 + 2^-24: in float, left to right, both small terms are lost. */
  const double exact = 1.0 + 0x1p-23;
  const float f = (1.0f + 0x1p-24f) + 0x1p-24f;
  CHECK(fabs((double)f - exact) <= ref_conv_tol(3, exact), "tolerance below a real rounding error");
  CHECK(ref_conv_tol(3, 1.0) < 0x1p-21, "tolerance unexpectedly loose: %g", ref_conv_tol(3, 1.0));
  CHECK(ref_gamma(1, 0x1p-24) > 0x1p-24, "gamma(1) must exceed u");
}

int main(void) {
  /* Line-buffered, so a crash still shows how far the test got. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  hand_cases();
  pool_cases();
  layout_consistency();
  fast_vs_naive();
  geometry_sweep();
  tolerance_sanity();
  return test_summary("test_ref");
}
