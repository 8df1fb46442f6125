/*
 * Fuzz target: the 1-D entry points, vconv_conv1d_* and vconv_pool1d_*.
 *
 * The first byte picks convolution or pooling.  The header defines 1-D as 2-D
 * with height 1; this target builds that 2-D descriptor itself from the
 * header's words and checks to_2d and output_size against it, then creates
 * through the 1-D entry point, runs (guard pages after input, weights and
 * output), and compares small shapes with the float64 reference of the 2-D
 * descriptor (tests/ref.c for convolution within direct's bound or the
 * Winograd tile's, tests/pool_ref.c for pooling), indices included.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pool_ref.h"
#include "ref.h"
#include "wino_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t prod3(int64_t a, int64_t b, int64_t c) {
  int64_t n;
  if (!fz_mul(a, b, &n) || !fz_mul(n, c, &n)) return -1;
  return n;
}

/* Field by field: the structs have padding. */
static int same_conv(const vconv_conv2d_desc *a, const vconv_conv2d_desc *b) {
  return a->batch == b->batch && a->in_channels == b->in_channels && a->in_height == b->in_height &&
         a->in_width == b->in_width && a->out_channels == b->out_channels &&
         a->kernel_h == b->kernel_h && a->kernel_w == b->kernel_w && a->stride_h == b->stride_h &&
         a->stride_w == b->stride_w && a->dilation_h == b->dilation_h &&
         a->dilation_w == b->dilation_w && a->pad_top == b->pad_top &&
         a->pad_bottom == b->pad_bottom && a->pad_left == b->pad_left &&
         a->pad_right == b->pad_right && a->padding_mode == b->padding_mode &&
         a->groups == b->groups && a->layout == b->layout && a->activation == b->activation &&
         memcmp(&a->act_min, &b->act_min, sizeof(float)) == 0 &&
         memcmp(&a->act_max, &b->act_max, sizeof(float)) == 0 && a->connections == b->connections;
}

static int same_pool(const vconv_pool2d_desc *a, const vconv_pool2d_desc *b) {
  return a->batch == b->batch && a->channels == b->channels && a->in_height == b->in_height &&
         a->in_width == b->in_width && a->kind == b->kind && a->window_h == b->window_h &&
         a->window_w == b->window_w && a->stride_h == b->stride_h && a->stride_w == b->stride_w &&
         a->pad_top == b->pad_top && a->pad_bottom == b->pad_bottom &&
         a->pad_left == b->pad_left && a->pad_right == b->pad_right &&
         a->padding_mode == b->padding_mode && a->ceil_mode == b->ceil_mode &&
         a->layout == b->layout && a->dilation_h == b->dilation_h &&
         a->dilation_w == b->dilation_w && a->global == b->global &&
         a->window_weights == b->window_weights && a->training == b->training && a->seed == b->seed;
}

static void conv1d(fz *f) {
  vconv_conv1d_desc a;
  vconv_conv1d_desc_init(&a);
  a.batch = fz_field(f, 1, 3);
  a.in_channels = fz_field(f, 1, 12);
  a.in_width = fz_field(f, 1, 40);
  a.out_channels = fz_field(f, 1, 12);
  a.kernel = fz_field(f, 1, 7);
  a.stride = fz_field(f, 1, 3);
  a.dilation = fz_field(f, 1, 3);
  a.pad_left = fz_field(f, 0, 3);
  a.pad_right = fz_field(f, 0, 3);
  a.padding_mode = (vconv_padding_mode)fz_enum(f, 0, 4);
  a.groups = fz_field(f, 1, 3);
  a.layout = (vconv_layout)fz_enum(f, 0, 1);
  a.activation = (vconv_activation)fz_enum(f, 0, 2);
  if (a.activation == VCONV_ACTIVATION_CLAMP) {
    a.act_min = fz_float(f);
    a.act_max = fz_float(f);
  }
  const uint8_t opts = fz_u8(f);
  const fz_data xspec = fz_data_spec(f, -60, 30, 0), wspec = fz_data_spec(f, -60, 30, 0);
  const vconv_algorithm algo = (vconv_algorithm)fz_enum(f, 0, VCONV_ALGO_COUNT - 1);

  /* The header's 2-D descriptor: height 1, a height-1 kernel, nothing else vertical. */
  vconv_conv2d_desc d;
  vconv_conv2d_desc_init(&d);
  d.batch = a.batch;
  d.in_channels = a.in_channels;
  d.in_height = 1;
  d.in_width = a.in_width;
  d.out_channels = a.out_channels;
  d.kernel_h = 1;
  d.kernel_w = a.kernel;
  d.stride_w = a.stride;
  d.dilation_w = a.dilation;
  d.pad_left = a.pad_left;
  d.pad_right = a.pad_right;
  d.padding_mode = a.padding_mode;
  d.groups = a.groups;
  d.layout = a.layout;
  d.activation = a.activation;
  d.act_min = a.act_min;
  d.act_max = a.act_max;
  vconv_conv2d_desc d2;
  if (vconv_conv1d_to_2d(&a, &d2) != VCONV_OK) fz_fail("conv1d_to_2d refused a descriptor");
  if (!same_conv(&d, &d2)) {
    fz_describe_conv(&d2, 0);
    fz_fail("conv1d_to_2d is not the header's 2-D descriptor");
  }
  int64_t P, Q, Q1 = -1;
  const vconv_status s2 = vconv_conv2d_output_size(&d, &P, &Q), s1 = vconv_conv1d_output_size(&a, &Q1);
  if (s1 != s2 || (s1 == VCONV_OK && (Q1 != Q || P != 1))) fz_fail("conv1d_output_size %d/%lld, 2-D %d/%lld", s1, (long long)Q1, s2, (long long)Q);

  const int64_t G = a.groups, C = a.in_channels, K = a.out_channels;
  int64_t nw = -1;
  if (G >= 1 && C >= 1 && K >= 1 && C % G == 0 && K % G == 0) nw = prod3(K, C / G, a.kernel);
  fbuf wb = {0}, bb = {0}, xb = {0}, yb = {0};
  float *w = NULL, *bias = NULL;
  if (nw >= 0 && nw <= FZ_MAX_FLOATS) {
    w = fbuf_alloc(&wb, (size_t)nw * sizeof(float), opts & 2);
    fz_fill(&wspec, w, (size_t)nw);
  }
  if ((opts & 1) && K >= 1 && K <= FZ_MAX_FLOATS) {
    bias = fbuf_alloc(&bb, (size_t)K * sizeof(float), 0);
    fz_data bspec = wspec;
    bspec.seed ^= 0xb;
    fz_fill(&bspec, bias, (size_t)K);
  }
  vconv_conv2d_op *op = (vconv_conv2d_op *)f;
  const vconv_status st = vconv_conv1d_create(&a, algo, w, bias, &op);
  if (st != VCONV_OK) {
    if (op) fz_fail("failed conv1d_create (%d) left *op set", st);
    goto out;
  }
  if (s2 != VCONV_OK || !w) fz_fail("conv1d_create accepted what output_size (%d) or the weights refuse", s2);
  const int64_t nin = prod3(a.batch, C, a.in_width), nout = prod3(a.batch, K, Q);
  int64_t work;
  if (nin < 0 || nin > FZ_MAX_FLOATS || nout < 0 || nout > FZ_MAX_FLOATS ||
      !fz_mul(nout, nw / K, &work) || work > FZ_MAX_RUN_WORK)
    goto destroy;
  float *x = fbuf_alloc(&xb, (size_t)nin * sizeof(float), opts & 4);
  fz_fill(&xspec, x, (size_t)nin);
  float *y = fbuf_alloc(&yb, (size_t)nout * sizeof(float), opts & 8);
  for (int64_t i = 0; i < nout; i++) y[i] = fz_sentinel();
  fz_pool pool;
  const vconv_parallel *par = fz_parallel(f, &pool);
  if (vconv_conv2d_run(op, x, y, NULL, 0, par) != VCONV_OK) fz_fail("run of a conv1d operator failed");
  for (int64_t i = 0; i < nout; i++)
    if (fz_is_sentinel(y[i])) fz_fail("conv1d output %lld never written", (long long)i);
  const int64_t fields[] = {a.batch, C, a.in_width, K, a.kernel, a.stride, a.dilation,
                            a.pad_left, a.pad_right, G};
  if (fz_ref_range(fields, 10) && work <= FZ_MAX_REF_WORK) {
    double *yr = malloc(sizeof(double) * (size_t)nout * 2), *ar = yr + nout;
    int32_t *nr = malloc(sizeof(int32_t) * (size_t)nout);
    if (ref_conv2d(&d, x, w, bias, yr, ar, nr) != REF_OK) fz_fail("the reference rejects an accepted conv1d");
    const int wi = wino_tile_index(vconv_conv2d_algorithm(op));
    if (wi >= 0) fz_fail("%s ran a height-1 kernel", vconv_conv2d_kernel_name(op));
    for (int64_t i = 0; i < nout; i++)
      /* Equal values pass first: a clamp to [-inf, -inf] gives inf - inf. */
      if (!((double)y[i] == yr[i] || fabs((double)y[i] - yr[i]) <= ref_conv_tol(nr[i], ar[i]))) {
        fz_describe_conv(&d, bias != NULL);
        fz_fail("%s: conv1d output %lld = %.9g, reference %.17g, outside the bound",
                vconv_conv2d_kernel_name(op), (long long)i, (double)y[i], yr[i]);
      }
    free(yr);
    free(nr);
  }
  fbuf_free(&xb);
  fbuf_free(&yb);
destroy:
  vconv_conv2d_destroy(op);
out:
  fbuf_free(&wb);
  fbuf_free(&bb);
}

static void pool1d(fz *f) {
  vconv_pool1d_desc a;
  vconv_pool1d_desc_init(&a);
  a.batch = fz_field(f, 1, 3);
  a.channels = fz_field(f, 1, 9);
  a.in_width = fz_field(f, 1, 40);
  a.kind = (vconv_pool_kind)fz_enum(f, 0, 5);
  a.window = fz_field(f, 1, 6);
  a.stride = fz_field(f, 1, 3);
  a.pad_left = fz_field(f, 0, 3);
  a.pad_right = fz_field(f, 0, 3);
  a.padding_mode = (vconv_padding_mode)fz_enum(f, 0, 4);
  a.ceil_mode = fz_enum(f, 0, 1);
  a.layout = (vconv_layout)fz_enum(f, 0, 1);
  a.dilation = fz_field(f, 1, a.kind == VCONV_POOL_WEIGHTED || a.kind == VCONV_POOL_STOCHASTIC ? 1 : 3);
  const uint8_t opts = fz_u8(f);
  a.global = (opts & 7) == 7;
  a.training = (opts >> 3) & 1;
  a.seed = fz_u64(f);
  const fz_data xspec = fz_data_spec(f, -100, 50, 1);
  fbuf wb = {0}, xb = {0}, yb = {0}, ib = {0};
  float *wcopy = NULL;
  const int64_t nwin = a.global ? a.in_width : a.window;
  if (a.kind == VCONV_POOL_WEIGHTED && nwin >= 1 && nwin <= 4096) {
    float *w = fbuf_alloc(&wb, (size_t)nwin * sizeof(float), opts & 16);
    for (int64_t i = 0; i < nwin; i++) w[i] = (float)(fz_u8(f) % 17) / 4.0f;
    a.window_weights = w;
    wcopy = malloc(sizeof(float) * (size_t)nwin);
    memcpy(wcopy, w, sizeof(float) * (size_t)nwin);
  }
  vconv_pool2d_desc d;
  vconv_pool2d_desc_init(&d);
  d.batch = a.batch;
  d.channels = a.channels;
  d.in_height = 1;
  d.in_width = a.in_width;
  d.kind = a.kind;
  d.window_h = 1;
  d.window_w = a.window;
  d.stride_w = a.stride;
  d.pad_left = a.pad_left;
  d.pad_right = a.pad_right;
  d.padding_mode = a.padding_mode;
  d.ceil_mode = a.ceil_mode;
  d.layout = a.layout;
  d.dilation_w = a.dilation;
  d.global = a.global;
  d.window_weights = a.window_weights;
  d.training = a.training;
  d.seed = a.seed;
  vconv_pool2d_desc d2;
  if (vconv_pool1d_to_2d(&a, &d2) != VCONV_OK) fz_fail("pool1d_to_2d refused a descriptor");
  if (!same_pool(&d, &d2)) {
    fz_describe_pool(&d2);
    fz_fail("pool1d_to_2d is not the header's 2-D descriptor");
  }
  int64_t P, Q, Q1 = -1;
  const vconv_status s2 = vconv_pool2d_output_size(&d, &P, &Q), s1 = vconv_pool1d_output_size(&a, &Q1);
  if (s1 != s2 || (s1 == VCONV_OK && (Q1 != Q || P != 1))) fz_fail("pool1d_output_size %d/%lld, 2-D %d/%lld", s1, (long long)Q1, s2, (long long)Q);
  vconv_pool2d_op *op = (vconv_pool2d_op *)f;
  const vconv_status st = vconv_pool1d_create(&a, &op);
  if (st != VCONV_OK) {
    if (op) fz_fail("failed pool1d_create (%d) left *op set", st);
    goto out;
  }
  if (s2 != VCONV_OK) fz_fail("pool1d_create accepted what output_size refuses (%d)", s2);
  const int64_t nin = prod3(a.batch, a.channels, a.in_width), nout = prod3(a.batch, a.channels, Q);
  const int64_t taps = nwin < a.in_width ? nwin : a.in_width;
  int64_t work;
  if (nin < 0 || nin > FZ_MAX_FLOATS || nout < 0 || nout > FZ_MAX_FLOATS || !fz_mul(nout, taps, &work) ||
      work > FZ_MAX_RUN_WORK)
    goto destroy;
  float *x = fbuf_alloc(&xb, (size_t)nin * sizeof(float), opts & 32);
  fz_fill(&xspec, x, (size_t)nin);
  float *y = fbuf_alloc(&yb, (size_t)nout * sizeof(float), opts & 64);
  int32_t *idx = fbuf_alloc(&ib, (size_t)nout * sizeof(int32_t), 0);
  for (int64_t i = 0; i < nout; i++) y[i] = fz_sentinel();
  fz_pool pool;
  const vconv_parallel *par = fz_parallel(f, &pool);
  const int with_idx = has_indices(&d);
  const vconv_status rs = with_idx ? vconv_pool2d_run_with_indices(op, x, y, idx, NULL, 0, par)
                                   : vconv_pool2d_run(op, x, y, NULL, 0, par);
  if (rs != VCONV_OK) fz_fail("run of a pool1d operator failed (%d)", rs);
  for (int64_t i = 0; i < nout; i++)
    if (fz_is_sentinel(y[i])) fz_fail("pool1d output %lld never written", (long long)i);
  const int64_t fields[] = {a.batch, a.channels, a.in_width, a.window, a.stride, a.pad_left,
                            a.pad_right, a.dilation};
  geom g;
  int64_t ref_work;
  if (fz_ref_range(fields, 8) && make_geom(&d, &g) == 0 && fz_mul(nout, nwin, &ref_work) &&
      ref_work <= FZ_MAX_REF_WORK) {
    if (g.P != 1 || g.Q != Q) fz_fail("pool1d output size differs from the reference's");
    float *xn = malloc(sizeof(float) * (size_t)nin), *yn = malloc(sizeof(float) * (size_t)nout);
    /* Height 1: NCHW and NHWC are NCW and NWC. */
    ref_relayout(x, d.layout, xn, VCONV_LAYOUT_NCHW, a.batch, a.channels, 1, a.in_width);
    ref_relayout(y, d.layout, yn, VCONV_LAYOUT_NCHW, a.batch, a.channels, 1, Q);
    for (int64_t pl = 0; pl < a.batch * a.channels && nout > 0; pl++)
      for (int64_t q = 0; q < Q; q++) {
        const int64_t o = pl * Q + q;
        const refout r = ref_window(&d, &g, xn + pl * a.in_width, wcopy, o, 0, q);
        double ratio;
        if (!check_out(&r, yn[o], &ratio)) {
          fz_describe_pool(&d);
          fz_fail("%s: pool1d output %lld = %.9g, reference %.17g (tol %.3g)", vconv_pool2d_kernel_name(op),
                  (long long)o, (double)yn[o], r.exact ? (double)r.want : r.y, r.tol);
        }
        if (with_idx) {
          const int64_t n = pl / a.channels, c = pl % a.channels;
          const int32_t got = idx[ref_index(d.layout, a.channels, 1, Q, n, c, 0, q)];
          if (got != r.idx) fz_fail("pool1d index %lld = %d, reference %d", (long long)o, got, r.idx);
        }
      }
    free(xn);
    free(yn);
  }
  fbuf_free(&xb);
  fbuf_free(&yb);
  fbuf_free(&ib);
destroy:
  vconv_pool2d_destroy(op);
out:
  free(wcopy);
  fbuf_free(&wb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  fz f;
  fz_init(&f, data + 1, size - 1);
  if (data[0] & 1)
    pool1d(&f);
  else
    conv1d(&f);
  return 0;
}
