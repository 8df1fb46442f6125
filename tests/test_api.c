/*
 * The public API's contract outside the numerics: every invalid input gets
 * its own status (never a crash), descriptor defaults, the 1-D convenience
 * layer, workspaces, unaligned buffers, determinism and the parallel hook.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "util.h"
#include "wino_ref.h"

/* A small valid convolution every bad-input test starts from. */
static vconv_conv2d_desc good_conv(void) {
  vconv_conv2d_desc d;
  vconv_conv2d_desc_init(&d);
  d.batch = 2;
  d.in_channels = 4;
  d.in_height = 9;
  d.in_width = 7;
  d.out_channels = 6;
  d.kernel_h = 3;
  d.kernel_w = 2;
  return d;
}

static vconv_pool2d_desc good_pool(void) {
  vconv_pool2d_desc d;
  vconv_pool2d_desc_init(&d);
  d.batch = 2;
  d.channels = 3;
  d.in_height = 9;
  d.in_width = 7;
  d.window_h = 3;
  d.window_w = 2;
  d.stride_h = d.stride_w = 2;
  return d;
}

/* Large enough for any weights of the descriptors below (they are never read
 * when create fails, but a successful create reads K*C/G*R*S floats). */
static float weights[4096];

/* The status of create, output_size and param_count must all agree for a descriptor. */
static void expect_conv(const char *what, const vconv_conv2d_desc *d, vconv_status want) {
  vconv_conv2d_op *op = NULL, *op4 = NULL;
  int64_t h, w, pc;
  vconv_status s1 = vconv_conv2d_create(d, VCONV_ALGO_AUTO, weights, NULL, &op);
  vconv_status s2 = vconv_conv2d_output_size(d, &h, &w);
  vconv_status s3 = vconv_conv2d_param_count(d, 1, &pc);
  vconv_status s4 = vconv_conv2d_create_for_isa(d, VCONV_ALGO_DIRECT, VCONV_ISA_SCALAR, weights, NULL, &op4);
  test_checks++;
  if (s1 != want || s2 != want || s3 != want || s4 != want)
    test_fail(__FILE__, __LINE__, "%s: create %d, output_size %d, param_count %d, create_for_isa %d; "
              "expected %d (%s)", what, (int)s1, (int)s2, (int)s3, (int)s4, (int)want,
              vconv_status_string(want));
  if (s1 == VCONV_OK) vconv_conv2d_destroy(op);
  if (s4 == VCONV_OK) vconv_conv2d_destroy(op4);
}

static void expect_pool(const char *what, const vconv_pool2d_desc *d, vconv_status want) {
  vconv_pool2d_op *op = NULL;
  int64_t h, w;
  vconv_status s1 = vconv_pool2d_create(d, &op);
  if (s1 == VCONV_OK) vconv_pool2d_destroy(op);
  op = NULL;
  vconv_status s2 = vconv_pool2d_output_size(d, &h, &w);
  vconv_status s3 = vconv_pool2d_create_for_isa(d, VCONV_ISA_SCALAR, &op);
  if (s3 == VCONV_OK) vconv_pool2d_destroy(op);
  test_checks++;
  if (s1 != want || s2 != want || s3 != want)
    test_fail(__FILE__, __LINE__, "%s: create %d, output_size %d, create_for_isa %d; expected %d (%s)",
              what, (int)s1, (int)s2, (int)s3, (int)want, vconv_status_string(want));
}

#define CONV_CASE(what, field_assignments, want) \
  do {                                            \
    vconv_conv2d_desc d_ = good_conv();           \
    field_assignments;                            \
    expect_conv(what, &d_, want);                 \
  } while (0)

#define POOL_CASE(what, field_assignments, want) \
  do {                                            \
    vconv_pool2d_desc d_ = good_pool();           \
    field_assignments;                            \
    expect_pool(what, &d_, want);                 \
  } while (0)

static void defaults(void) {
  vconv_conv2d_desc d;
  memset(&d, 0x7b, sizeof d);
  vconv_conv2d_desc_init(&d);
  CHECK(d.batch == 0 && d.in_channels == 0 && d.in_height == 0 && d.in_width == 0 &&
            d.out_channels == 0 && d.kernel_h == 0 && d.kernel_w == 0,
        "conv desc sizes not 0");
  CHECK(d.stride_h == 1 && d.stride_w == 1 && d.dilation_h == 1 && d.dilation_w == 1 && d.groups == 1,
        "conv desc strides/dilations/groups not 1");
  CHECK(d.pad_top == 0 && d.pad_bottom == 0 && d.pad_left == 0 && d.pad_right == 0 &&
            d.padding_mode == VCONV_PADDING_EXPLICIT,
        "conv desc padding not 0/explicit");
  CHECK(d.layout == VCONV_LAYOUT_NCHW && d.activation == VCONV_ACTIVATION_NONE && d.connections == NULL,
        "conv desc layout/activation/table defaults");
  /* Sizes left at 0 must be rejected, not run. */
  expect_conv("uninitialised sizes", &d, VCONV_ERR_INVALID_SIZE);

  vconv_pool2d_desc p;
  memset(&p, 0x7b, sizeof p);
  vconv_pool2d_desc_init(&p);
  CHECK(p.batch == 0 && p.channels == 0 && p.in_height == 0 && p.in_width == 0 && p.window_h == 0 &&
            p.window_w == 0,
        "pool desc sizes not 0");
  CHECK(p.kind == VCONV_POOL_MAX && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 &&
            p.pad_bottom == 0 && p.pad_left == 0 && p.pad_right == 0 &&
            p.padding_mode == VCONV_PADDING_EXPLICIT && p.ceil_mode == 0 && p.layout == VCONV_LAYOUT_NCHW,
        "pool desc defaults");

  vconv_conv1d_desc c1;
  memset(&c1, 0x7b, sizeof c1);
  vconv_conv1d_desc_init(&c1);
  CHECK(c1.batch == 0 && c1.in_channels == 0 && c1.in_width == 0 && c1.out_channels == 0 &&
            c1.kernel == 0 && c1.stride == 1 && c1.dilation == 1 && c1.pad_left == 0 &&
            c1.pad_right == 0 && c1.padding_mode == VCONV_PADDING_EXPLICIT && c1.groups == 1 &&
            c1.layout == VCONV_LAYOUT_NCHW && c1.activation == VCONV_ACTIVATION_NONE &&
            c1.connections == NULL,
        "conv1d desc defaults");
  vconv_pool1d_desc p1;
  memset(&p1, 0x7b, sizeof p1);
  vconv_pool1d_desc_init(&p1);
  CHECK(p1.batch == 0 && p1.channels == 0 && p1.in_width == 0 && p1.kind == VCONV_POOL_MAX &&
            p1.window == 0 && p1.stride == 1 && p1.pad_left == 0 && p1.pad_right == 0 &&
            p1.padding_mode == VCONV_PADDING_EXPLICIT && p1.ceil_mode == 0 &&
            p1.layout == VCONV_LAYOUT_NCHW,
        "pool1d desc defaults");
}

static void null_pointers(void) {
  const vconv_conv2d_desc d = good_conv();
  const vconv_pool2d_desc pd = good_pool();
  vconv_conv2d_op *op = NULL;
  vconv_pool2d_op *pop = NULL;
  int64_t h, w;
  const vconv_status NP = VCONV_ERR_NULL_POINTER;
  CHECK_STATUS(vconv_conv2d_create(NULL, VCONV_ALGO_AUTO, weights, NULL, &op), NP);
  CHECK_STATUS(vconv_conv2d_create(&d, VCONV_ALGO_AUTO, NULL, NULL, &op), NP);
  CHECK_STATUS(vconv_conv2d_create(&d, VCONV_ALGO_AUTO, weights, NULL, NULL), NP);
  CHECK_STATUS(vconv_conv2d_create_for_isa(NULL, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, weights, NULL, &op), NP);
  CHECK_STATUS(vconv_conv2d_create_for_isa(&d, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, NULL, NULL, &op), NP);
  CHECK_STATUS(vconv_conv2d_create_for_isa(&d, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, weights, NULL, NULL), NP);
  CHECK_STATUS(vconv_conv2d_output_size(NULL, &h, &w), NP);
  CHECK_STATUS(vconv_conv2d_output_size(&d, NULL, &w), NP);
  CHECK_STATUS(vconv_conv2d_output_size(&d, &h, NULL), NP);
  CHECK_STATUS(vconv_conv2d_param_count(NULL, 1, &h), NP);
  CHECK_STATUS(vconv_conv2d_param_count(&d, 1, NULL), NP);
  CHECK_STATUS(vconv_pool2d_create(NULL, &pop), NP);
  CHECK_STATUS(vconv_pool2d_create(&pd, NULL), NP);
  CHECK_STATUS(vconv_pool2d_create_for_isa(NULL, VCONV_ISA_AUTO, &pop), NP);
  CHECK_STATUS(vconv_pool2d_create_for_isa(&pd, VCONV_ISA_AUTO, NULL), NP);
  CHECK_STATUS(vconv_pool2d_output_size(NULL, &h, &w), NP);
  CHECK_STATUS(vconv_pool2d_output_size(&pd, &h, NULL), NP);

  vconv_conv1d_desc c1;
  vconv_conv1d_desc_init(&c1);
  c1.batch = c1.in_channels = c1.out_channels = 1;
  c1.in_width = 8;
  c1.kernel = 3;
  vconv_conv2d_desc d2;
  CHECK_STATUS(vconv_conv1d_create(NULL, VCONV_ALGO_AUTO, weights, NULL, &op), NP);
  CHECK_STATUS(vconv_conv1d_create(&c1, VCONV_ALGO_AUTO, NULL, NULL, &op), NP);
  CHECK_STATUS(vconv_conv1d_create(&c1, VCONV_ALGO_AUTO, weights, NULL, NULL), NP);
  CHECK_STATUS(vconv_conv1d_output_size(NULL, &w), NP);
  CHECK_STATUS(vconv_conv1d_output_size(&c1, NULL), NP);
  CHECK_STATUS(vconv_conv1d_to_2d(NULL, &d2), NP);
  CHECK_STATUS(vconv_conv1d_to_2d(&c1, NULL), NP);
  vconv_pool1d_desc p1;
  vconv_pool1d_desc_init(&p1);
  p1.batch = p1.channels = 1;
  p1.in_width = 8;
  p1.window = 2;
  vconv_pool2d_desc pd2;
  CHECK_STATUS(vconv_pool1d_create(NULL, &pop), NP);
  CHECK_STATUS(vconv_pool1d_create(&p1, NULL), NP);
  CHECK_STATUS(vconv_pool1d_output_size(NULL, &w), NP);
  CHECK_STATUS(vconv_pool1d_output_size(&p1, NULL), NP);
  CHECK_STATUS(vconv_pool1d_to_2d(NULL, &pd2), NP);
  CHECK_STATUS(vconv_pool1d_to_2d(&p1, NULL), NP);

  vconv_algorithm al;
  vconv_isa is;
  CHECK_STATUS(vconv_conv2d_variant(0, NULL, &is), NP);
  CHECK_STATUS(vconv_conv2d_variant(0, &al, NULL), NP);
  CHECK_STATUS(vconv_pool2d_variant(0, NULL), NP);
  CHECK_STATUS(vconv_conv2d_variant(vconv_conv2d_variant_count(), &al, &is), VCONV_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(vconv_conv2d_variant((size_t)-1, &al, &is), VCONV_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(vconv_pool2d_variant(vconv_pool2d_variant_count(), &is), VCONV_ERR_INVALID_ARGUMENT);

  /* run() re-checks its pointers. */
  float in[2 * 4 * 9 * 7], out[2 * 6 * 7 * 6];
  memset(in, 0, sizeof in);
  CHECK_STATUS(vconv_conv2d_create(&d, VCONV_ALGO_AUTO, weights, NULL, &op), VCONV_OK);
  CHECK_STATUS(vconv_conv2d_run(NULL, in, out, NULL, 0, NULL), NP);
  CHECK_STATUS(vconv_conv2d_run(op, NULL, out, NULL, 0, NULL), NP);
  CHECK_STATUS(vconv_conv2d_run(op, in, NULL, NULL, 0, NULL), NP);
  vconv_conv2d_destroy(op);
  CHECK_STATUS(vconv_pool2d_create(&pd, &pop), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_run(NULL, in, out, NULL, 0, NULL), NP);
  CHECK_STATUS(vconv_pool2d_run(pop, NULL, out, NULL, 0, NULL), NP);
  CHECK_STATUS(vconv_pool2d_run(pop, in, NULL, NULL, 0, NULL), NP);
  vconv_pool2d_destroy(pop);

  /* Destroying nothing is fine. */
  vconv_conv2d_destroy(NULL);
  vconv_pool2d_destroy(NULL);
  test_checks++;
}

static void bad_conv_descriptors(void) {
  const vconv_status SZ = VCONV_ERR_INVALID_SIZE;
  CONV_CASE("baseline", (void)0, VCONV_OK);
  CONV_CASE("batch 0", d_.batch = 0, SZ);
  CONV_CASE("batch -1", d_.batch = -1, SZ);
  CONV_CASE("in_channels 0", d_.in_channels = 0, SZ);
  CONV_CASE("in_channels -3", d_.in_channels = -3, SZ);
  CONV_CASE("out_channels 0", d_.out_channels = 0, SZ);
  CONV_CASE("out_channels -1", d_.out_channels = -1, SZ);
  CONV_CASE("height 0", d_.in_height = 0, SZ);
  CONV_CASE("height -5", d_.in_height = -5, SZ);
  CONV_CASE("width 0", d_.in_width = 0, SZ);
  CONV_CASE("width INT64_MIN", d_.in_width = INT64_MIN, SZ);

  const vconv_status KS = VCONV_ERR_INVALID_KERNEL_SIZE;
  CONV_CASE("kernel_h 0", d_.kernel_h = 0, KS);
  CONV_CASE("kernel_w 0", d_.kernel_w = 0, KS);
  CONV_CASE("kernel_h -1", d_.kernel_h = -1, KS);
  CONV_CASE("kernel_w -3", d_.kernel_w = -3, KS);

  const vconv_status TL = VCONV_ERR_KERNEL_TOO_LARGE;
  CONV_CASE("kernel 10 on 9 rows", d_.kernel_h = 10, TL);
  CONV_CASE("kernel 8 on 7 columns", d_.kernel_w = 8, TL);
  CONV_CASE("dilated kernel 3x2 dil 5 (extent 11) on 9 rows", d_.dilation_h = 5, TL);
  CONV_CASE("kernel 10 with padding 1 fits", (d_.kernel_h = 10, d_.pad_top = 1), VCONV_OK);
  CONV_CASE("kernel 11 with padding 1 does not", (d_.kernel_h = 11, d_.pad_bottom = 1), TL);
  CONV_CASE("VALID ignores the padding fields", (d_.kernel_h = 11, d_.pad_top = 5,
                                                 d_.padding_mode = VCONV_PADDING_VALID), TL);
  CONV_CASE("FULL always fits", (d_.kernel_h = 30, d_.padding_mode = VCONV_PADDING_FULL), VCONV_OK);
  CONV_CASE("SAME always fits", (d_.kernel_h = 30, d_.padding_mode = VCONV_PADDING_SAME), VCONV_OK);

  CONV_CASE("stride_h 0", d_.stride_h = 0, VCONV_ERR_INVALID_STRIDE);
  CONV_CASE("stride_w 0", d_.stride_w = 0, VCONV_ERR_INVALID_STRIDE);
  CONV_CASE("stride_w -2", d_.stride_w = -2, VCONV_ERR_INVALID_STRIDE);
  CONV_CASE("dilation_h 0", d_.dilation_h = 0, VCONV_ERR_INVALID_DILATION);
  CONV_CASE("dilation_w 0", d_.dilation_w = 0, VCONV_ERR_INVALID_DILATION);
  CONV_CASE("dilation_w -1", d_.dilation_w = -1, VCONV_ERR_INVALID_DILATION);

  const vconv_status PD = VCONV_ERR_INVALID_PADDING;
  CONV_CASE("pad_top -1", d_.pad_top = -1, PD);
  CONV_CASE("pad_bottom -1", d_.pad_bottom = -1, PD);
  CONV_CASE("pad_left -1", d_.pad_left = -1, PD);
  CONV_CASE("pad_right INT64_MIN", d_.pad_right = INT64_MIN, PD);
  /* The named modes replace the padding fields, so their values do not matter. */
  CONV_CASE("SAME ignores negative pads", (d_.pad_top = -1, d_.padding_mode = VCONV_PADDING_SAME), VCONV_OK);
  CONV_CASE("padding mode 5", d_.padding_mode = (vconv_padding_mode)5, VCONV_ERR_INVALID_PADDING_MODE);
  CONV_CASE("SAME_LOWER", d_.padding_mode = VCONV_PADDING_SAME_LOWER, VCONV_OK);
  CONV_CASE("padding mode -1", d_.padding_mode = (vconv_padding_mode)-1, VCONV_ERR_INVALID_PADDING_MODE);

  const vconv_status GR = VCONV_ERR_INVALID_GROUPS;
  CONV_CASE("groups 0", d_.groups = 0, GR);
  CONV_CASE("groups -2", d_.groups = -2, GR);
  CONV_CASE("groups 3 does not divide C 4", d_.groups = 3, GR);
  CONV_CASE("groups 4 divides C 4 but not K 6", d_.groups = 4, GR);
  CONV_CASE("groups 2 divides both", d_.groups = 2, VCONV_OK);
  CONV_CASE("depthwise", (d_.groups = 4, d_.out_channels = 8), VCONV_OK);

  const vconv_status OV = VCONV_ERR_SIZE_OVERFLOW;
  CONV_CASE("2^20 everywhere: 2^80 elements",
            (d_.batch = d_.in_channels = d_.in_height = d_.in_width = (int64_t)1 << 20,
             d_.out_channels = 1, d_.kernel_h = d_.kernel_w = 1), OV);
  CONV_CASE("2^62 elements: the byte size overflows",
            (d_.batch = d_.in_channels = (int64_t)1 << 31, d_.in_height = d_.in_width = 1,
             d_.kernel_h = d_.kernel_w = 1, d_.out_channels = 1), OV);
  CONV_CASE("2^64 weights", (d_.in_channels = d_.out_channels = (int64_t)1 << 20,
                             d_.in_height = d_.in_width = d_.kernel_h = d_.kernel_w = (int64_t)1 << 12,
                             d_.batch = 1), OV);
  CONV_CASE("output 2^62 elements", (d_.batch = 1, d_.in_channels = 1, d_.out_channels = (int64_t)1 << 40,
                                     d_.in_height = d_.in_width = (int64_t)1 << 11,
                                     d_.kernel_h = d_.kernel_w = 1), OV);
  CONV_CASE("padding INT64_MAX", d_.pad_bottom = INT64_MAX, OV);
  CONV_CASE("dilated extent overflows", (d_.kernel_h = (int64_t)1 << 40, d_.dilation_h = (int64_t)1 << 40), OV);
  CONV_CASE("FULL padding of a huge extent overflows",
            (d_.kernel_w = (int64_t)1 << 62, d_.dilation_w = 1, d_.padding_mode = VCONV_PADDING_FULL), OV);

  CONV_CASE("layout 2", d_.layout = (vconv_layout)2, VCONV_ERR_INVALID_LAYOUT);
  CONV_CASE("layout -1", d_.layout = (vconv_layout)-1, VCONV_ERR_INVALID_LAYOUT);

  const vconv_status AC = VCONV_ERR_INVALID_ACTIVATION;
  CONV_CASE("activation 3", d_.activation = (vconv_activation)3, AC);
  CONV_CASE("activation -1", d_.activation = (vconv_activation)-1, AC);
  CONV_CASE("clamp min > max", (d_.activation = VCONV_ACTIVATION_CLAMP, d_.act_min = 1, d_.act_max = 0), AC);
  CONV_CASE("clamp min NaN", (d_.activation = VCONV_ACTIVATION_CLAMP, d_.act_min = NAN, d_.act_max = 1), AC);
  CONV_CASE("clamp max NaN", (d_.activation = VCONV_ACTIVATION_CLAMP, d_.act_min = 0, d_.act_max = NAN), AC);
  CONV_CASE("clamp min == max", (d_.activation = VCONV_ACTIVATION_CLAMP, d_.act_min = 0.5f, d_.act_max = 0.5f),
            VCONV_OK);
  CONV_CASE("clamp to +-inf", (d_.activation = VCONV_ACTIVATION_CLAMP, d_.act_min = -INFINITY,
                               d_.act_max = INFINITY), VCONV_OK);
  /* act_min/act_max mean nothing without CLAMP. */
  CONV_CASE("relu ignores the clamp bounds", (d_.activation = VCONV_ACTIVATION_RELU, d_.act_min = NAN,
                                              d_.act_max = -1), VCONV_OK);

  /* Connection tables. */
  unsigned char table[6 * 4];
  memset(table, 1, sizeof table);
  table[2 * 4 + 0] = table[2 * 4 + 1] = table[2 * 4 + 2] = table[2 * 4 + 3] = 0;
  CONV_CASE("table with an all-zero row", d_.connections = table, VCONV_ERR_INVALID_CONNECTION_TABLE);
  table[2 * 4 + 3] = 200; /* any non-zero byte connects */
  CONV_CASE("table, every row connected", d_.connections = table, VCONV_OK);
  unsigned char gtable[6 * 2] = {1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 1};
  CONV_CASE("grouped table with an all-zero row", (d_.groups = 2, d_.connections = gtable),
            VCONV_ERR_INVALID_CONNECTION_TABLE);
  gtable[6] = 1;
  CONV_CASE("grouped table", (d_.groups = 2, d_.connections = gtable), VCONV_OK);
}

static void bad_pool_descriptors(void) {
  const vconv_status SZ = VCONV_ERR_INVALID_SIZE;
  POOL_CASE("baseline", (void)0, VCONV_OK);
  POOL_CASE("batch 0", d_.batch = 0, SZ);
  POOL_CASE("channels -1", d_.channels = -1, SZ);
  POOL_CASE("height 0", d_.in_height = 0, SZ);
  POOL_CASE("width -4", d_.in_width = -4, SZ);
  POOL_CASE("window_h 0", d_.window_h = 0, VCONV_ERR_INVALID_KERNEL_SIZE);
  POOL_CASE("window_w -1", d_.window_w = -1, VCONV_ERR_INVALID_KERNEL_SIZE);
  POOL_CASE("window 10 on 9 rows", d_.window_h = 10, VCONV_ERR_KERNEL_TOO_LARGE);
  POOL_CASE("window 8 on 7 columns", (d_.window_w = 8, d_.padding_mode = VCONV_PADDING_VALID),
            VCONV_ERR_KERNEL_TOO_LARGE);
  POOL_CASE("stride_h 0", d_.stride_h = 0, VCONV_ERR_INVALID_STRIDE);
  POOL_CASE("stride_w -1", d_.stride_w = -1, VCONV_ERR_INVALID_STRIDE);
  const vconv_status PD = VCONV_ERR_INVALID_PADDING;
  POOL_CASE("pad_top -1", d_.pad_top = -1, PD);
  POOL_CASE("pad_right -1", d_.pad_right = -1, PD);
  POOL_CASE("pad_top == window", d_.pad_top = 3, PD);
  POOL_CASE("pad_bottom > window", d_.pad_bottom = 4, PD);
  POOL_CASE("pad_left == window", d_.pad_left = 2, PD);
  POOL_CASE("pad_right == window", d_.pad_right = 2, PD);
  POOL_CASE("pads window - 1", (d_.pad_top = d_.pad_bottom = 2, d_.pad_left = d_.pad_right = 1), VCONV_OK);
  POOL_CASE("FULL padding", d_.padding_mode = VCONV_PADDING_FULL, VCONV_ERR_INVALID_PADDING_MODE);
  POOL_CASE("padding mode 9", d_.padding_mode = (vconv_padding_mode)9, VCONV_ERR_INVALID_PADDING_MODE);
  POOL_CASE("SAME", d_.padding_mode = VCONV_PADDING_SAME, VCONV_OK);
  POOL_CASE("SAME_LOWER", d_.padding_mode = VCONV_PADDING_SAME_LOWER, VCONV_OK);
  POOL_CASE("padding mode 5", d_.padding_mode = (vconv_padding_mode)5, VCONV_ERR_INVALID_PADDING_MODE);
  POOL_CASE("kind 7", d_.kind = (vconv_pool_kind)7, VCONV_ERR_INVALID_POOL_KIND);
  POOL_CASE("LP, p = 2 by default", d_.kind = VCONV_POOL_LP, VCONV_OK);
  POOL_CASE("LP, p below 1", (d_.kind = VCONV_POOL_LP, d_.norm_p = 0.5), VCONV_ERR_INVALID_ARGUMENT);
  POOL_CASE("kind -1", d_.kind = (vconv_pool_kind)-1, VCONV_ERR_INVALID_POOL_KIND);
  POOL_CASE("layout 5", d_.layout = (vconv_layout)5, VCONV_ERR_INVALID_LAYOUT);
  POOL_CASE("2^80 elements", d_.batch = d_.channels = d_.in_height = d_.in_width = (int64_t)1 << 20,
            VCONV_ERR_SIZE_OVERFLOW);
  POOL_CASE("2^62 elements", (d_.batch = d_.channels = (int64_t)1 << 31, d_.in_height = d_.in_width = 1,
                              d_.window_h = d_.window_w = 1), VCONV_ERR_SIZE_OVERFLOW);
  POOL_CASE("window near INT64_MAX with SAME",
            (d_.window_h = INT64_MAX, d_.padding_mode = VCONV_PADDING_SAME), VCONV_ERR_SIZE_OVERFLOW);
}

static void algorithms_and_isas(void) {
  const vconv_conv2d_desc d = good_conv();
  vconv_conv2d_op *op = NULL;
  const int bad_algos[] = {-1, VCONV_ALGO_COUNT, 99};
  for (size_t i = 0; i < sizeof bad_algos / sizeof bad_algos[0]; i++) {
    CHECK_STATUS(vconv_conv2d_create(&d, (vconv_algorithm)bad_algos[i], weights, NULL, &op),
                 VCONV_ERR_INVALID_ALGORITHM);
    CHECK_STATUS(vconv_conv2d_create_for_isa(&d, (vconv_algorithm)bad_algos[i], VCONV_ISA_SCALAR,
                                             weights, NULL, &op),
                 VCONV_ERR_INVALID_ALGORITHM);
  }
  const int bad_isas[] = {-2, VCONV_ISA_COUNT, 99};
  vconv_pool2d_desc pd = good_pool();
  vconv_pool2d_op *pop = NULL;
  for (size_t i = 0; i < sizeof bad_isas / sizeof bad_isas[0]; i++) {
    CHECK_STATUS(vconv_conv2d_create_for_isa(&d, VCONV_ALGO_AUTO, (vconv_isa)bad_isas[i], weights,
                                             NULL, &op),
                 VCONV_ERR_INVALID_ISA);
    CHECK_STATUS(vconv_pool2d_create_for_isa(&pd, (vconv_isa)bad_isas[i], &pop), VCONV_ERR_INVALID_ISA);
  }
}

/* ---- numerics of a single operator against the reference -------------- */

/* Runs op on random data and compares with the reference; returns the max err/tol. */
static double conv_vs_ref(const char *what, const vconv_conv2d_desc *d, vconv_conv2d_op *op,
                          const float *w, const float *b, uint64_t seed) {
  ref_geom g;
  if (ref_conv2d_geometry(d, &g) != REF_OK) {
    test_fail(__FILE__, __LINE__, "%s: reference rejects the shape", what);
    return INFINITY;
  }
  const int64_t nin = d->batch * d->in_channels * d->in_height * d->in_width;
  const int64_t nout = d->batch * d->out_channels * g.h.out * g.w.out;
  test_rng r;
  rng_seed(&r, seed);
  tbuf x, y;
  tbuf_alloc_in(&x, (size_t)nin);
  tbuf_alloc_out(&y, (size_t)nout);
  for (int64_t i = 0; i < nin; i++) x.data[i] = rng_sym(&r);
  double *yr = malloc(sizeof(double) * (size_t)nout * 2), *a = yr + nout;
  int32_t *n = malloc(sizeof(int32_t) * (size_t)nout);
  ref_conv2d(d, x.data, w, b, yr, a, n);
  /* A Winograd operator is held to its own bound (ref.c); NCHW inputs only here. */
  const int wi = wino_tile_index(vconv_conv2d_algorithm(op));
  ref_wino_tile wt;
  double *z = NULL;
  if (wi >= 0) {
    CHECK(d->layout == VCONV_LAYOUT_NCHW, "%s: Winograd checked in NCHW only", what);
    double wmax = 0.0;
    for (int64_t i = 0; i < d->out_channels * (d->in_channels / d->groups) * d->kernel_h * d->kernel_w; i++)
      wmax = fabs(w[i]) > wmax ? fabs(w[i]) : wmax;
    z = malloc(sizeof(double) * (size_t)nout);
    CHECK(wino_bound(wi, d, x.data, w, b, wmax, &wt, z) == REF_OK, "%s: Winograd bound", what);
  }
  vconv_status st = vconv_conv2d_run(op, x.data, y.data, NULL, 0, NULL);
  CHECK(st == VCONV_OK, "%s: run returned %d", what, (int)st);
  double worst = 0;
  for (int64_t i = 0; i < nout && st == VCONV_OK; i++) {
    const double tol = z ? ref_wino_tol(&wt, d->in_channels / d->groups, z[i], a[i], n[i])
                         : ref_conv_tol(n[i], a[i]);
    const double ratio = isnan(y.data[i]) ? INFINITY : fabs((double)y.data[i] - yr[i]) / tol;
    if (ratio > worst) worst = ratio;
  }
  free(z);
  CHECK(worst <= 1.0, "%s: max err/tol %g", what, worst);
  CHECK(tbuf_guards_ok(&y), "%s: wrote outside the output", what);
  tbuf_free(&x);
  tbuf_free(&y);
  free(yr);
  free(n);
  return worst;
}

static void random_fill(float *p, int64_t n, uint64_t seed) {
  test_rng r;
  rng_seed(&r, seed);
  for (int64_t i = 0; i < n; i++) p[i] = rng_sym(&r);
}

/*
 * Explicit algorithms that may not be built (im2col, Winograd) or may not
 * apply (Winograd on 5x5 stride 2): either the library refuses with
 * UNSUPPORTED_ALGORITHM, or the operator it builds runs that algorithm and
 * matches the reference.  Nothing else is acceptable.
 */
static void optional_algorithms(void) {
  struct {
    const char *what;
    vconv_algorithm algo;
    int64_t k, stride;
  } cases[] = {
      {"winograd 5x5 stride 2", VCONV_ALGO_WINOGRAD, 5, 2},
      {"winograd 3x3 stride 1", VCONV_ALGO_WINOGRAD, 3, 1},
      {"winograd 5x5 stride 1", VCONV_ALGO_WINOGRAD, 5, 1},
      {"winograd F(4x4,3x3)", VCONV_ALGO_WINOGRAD_F4X4_3X3, 3, 1},
      {"winograd F(6x6,3x3)", VCONV_ALGO_WINOGRAD_F6X6_3X3, 3, 1},
      {"winograd F(4x5,3x3)", VCONV_ALGO_WINOGRAD_F4X5_3X3, 3, 1},
      {"winograd F(2x2,3x3) on 5x5", VCONV_ALGO_WINOGRAD_F2X2_3X3, 5, 1},
      {"im2col 5x5 stride 2", VCONV_ALGO_IM2COL, 5, 2},
      {"im2col 3x3 stride 1", VCONV_ALGO_IM2COL, 3, 1},
      {"direct 5x5 stride 2", VCONV_ALGO_DIRECT, 5, 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    vconv_conv2d_desc d = good_conv();
    d.in_height = 13;
    d.in_width = 11;
    d.kernel_h = d.kernel_w = cases[i].k;
    d.stride_h = d.stride_w = cases[i].stride;
    d.pad_top = d.pad_left = 1;
    float w[6 * 4 * 25], b[6];
    random_fill(w, 6 * 4 * 25, 11 + i);
    random_fill(b, 6, 17 + i);
    vconv_conv2d_op *op = NULL;
    vconv_status st = vconv_conv2d_create(&d, cases[i].algo, w, b, &op);
    if (st == VCONV_ERR_UNSUPPORTED_ALGORITHM && cases[i].algo != VCONV_ALGO_DIRECT) {
      CHECK(op == NULL, "%s: refused but returned an operator", cases[i].what);
      printf("%s: not supported (UNSUPPORTED_ALGORITHM)\n", cases[i].what);
      test_checks++;
      continue;
    }
    CHECK(st == VCONV_OK && op, "%s: create returned %d (%s)", cases[i].what, (int)st, vconv_status_string(st));
    if (st != VCONV_OK || !op) continue;
    /* VCONV_ALGO_WINOGRAD runs one of the tiles. */
    const vconv_algorithm ran = vconv_conv2d_algorithm(op);
    CHECK(ran == cases[i].algo || (cases[i].algo == VCONV_ALGO_WINOGRAD && wino_tile_index(ran) >= 0),
          "%s: operator runs %s", cases[i].what, vconv_conv2d_kernel_name(op));
    const double ratio = conv_vs_ref(cases[i].what, &d, op, w, b, 23 + i);
    printf("%s: supported, %s, max err/tol %.3g\n", cases[i].what, vconv_conv2d_kernel_name(op), ratio);
    vconv_conv2d_destroy(op);
  }
}

/* ---- workspaces --------------------------------------------------------- */

static void workspaces(void) {
  /* Look for any operator that wants a workspace, across shapes and variants. */
  const vconv_conv2d_desc shapes[] = {
      good_conv(),
      {.batch = 1, .in_channels = 8, .in_height = 16, .in_width = 16, .out_channels = 8, .kernel_h = 3,
       .kernel_w = 3, .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1, .groups = 1,
       .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1},
      {.batch = 2, .in_channels = 16, .in_height = 12, .in_width = 12, .out_channels = 16, .kernel_h = 5,
       .kernel_w = 5, .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1, .groups = 1,
       .layout = VCONV_LAYOUT_NHWC},
  };
  static float w[16 * 16 * 25];
  random_fill(w, 16 * 16 * 25, 5);
  int found = 0;
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
    const vconv_conv2d_desc *d = &shapes[si];
    for (size_t v = 0; v < vconv_conv2d_variant_count(); v++) {
      vconv_algorithm al;
      vconv_isa is;
      if (vconv_conv2d_variant(v, &al, &is) != VCONV_OK || !vconv_isa_available(is)) continue;
      vconv_conv2d_op *op = NULL;
      if (vconv_conv2d_create_for_isa(d, al, is, w, NULL, &op) != VCONV_OK) continue;
      const vconv_parallel par = {two_thread_parallel_for, NULL, 2};
      const size_t ws = vconv_conv2d_workspace_size(op, NULL);
      const size_t wsp = vconv_conv2d_workspace_size(op, &par);
      CHECK(wsp >= ws, "workspace for two workers %zu < for one %zu", wsp, ws);
      int64_t oh, ow;
      vconv_conv2d_output_size(d, &oh, &ow);
      const int64_t nin = d->batch * d->in_channels * d->in_height * d->in_width;
      const int64_t nout = d->batch * d->out_channels * oh * ow;
      float *x = calloc((size_t)nin, sizeof(float)), *y = malloc(sizeof(float) * (size_t)nout);
      unsigned char *buf = malloc(wsp + 2);
      /* A workspace of exactly the reported size, misaligned by a byte. */
      CHECK_STATUS(vconv_conv2d_run(op, x, y, buf + 1, ws, NULL), VCONV_OK);
      CHECK_STATUS(vconv_conv2d_run(op, x, y, buf + 1, wsp, &par), VCONV_OK);
      if (ws > 0) {
        found++;
        CHECK_STATUS(vconv_conv2d_run(op, x, y, buf + 1, ws - 1, NULL), VCONV_ERR_WORKSPACE_TOO_SMALL);
        CHECK_STATUS(vconv_conv2d_run(op, x, y, buf + 1, wsp - 1, &par), VCONV_ERR_WORKSPACE_TOO_SMALL);
        CHECK_STATUS(vconv_conv2d_run(op, x, y, buf, 0, NULL), VCONV_ERR_WORKSPACE_TOO_SMALL);
      } else {
        /* No workspace needed: a zero-sized one is enough. */
        CHECK_STATUS(vconv_conv2d_run(op, x, y, buf, 0, NULL), VCONV_OK);
      }
      free(buf);
      free(x);
      free(y);
      vconv_conv2d_destroy(op);
    }
  }
  if (!found) printf("no operator needs a workspace: WORKSPACE_TOO_SMALL is not testable yet\n");

  vconv_pool2d_desc pd = good_pool();
  vconv_pool2d_op *pop = NULL;
  CHECK_STATUS(vconv_pool2d_create(&pd, &pop), VCONV_OK);
  if (pop) {
    const size_t ws = vconv_pool2d_workspace_size(pop, NULL);
    float x[2 * 3 * 9 * 7] = {0}, y[2 * 3 * 4 * 3];
    unsigned char *buf = malloc(ws + 2);
    CHECK_STATUS(vconv_pool2d_run(pop, x, y, buf + 1, ws, NULL), VCONV_OK);
    if (ws > 0) CHECK_STATUS(vconv_pool2d_run(pop, x, y, buf + 1, ws - 1, NULL), VCONV_ERR_WORKSPACE_TOO_SMALL);
    free(buf);
    vconv_pool2d_destroy(pop);
  }
}

/* ---- Winograd: applicability, the tile choice, the switch ---------------- */

static void winograd_api(void) {
  float w[8 * 8 * 25];
  random_fill(w, 8 * 8 * 25, 41);
  vconv_conv2d_desc base;
  vconv_conv2d_desc_init(&base);
  base.batch = 2;
  base.in_channels = 8;
  base.in_height = 11;
  base.in_width = 9;
  base.out_channels = 8;
  base.pad_top = base.pad_left = 1;
  /* Shapes no tile applies to (beyond its kernel size). */
  unsigned char table[8 * 8] = {0};
  for (int k = 0; k < 8; k++) table[k * 8 + k] = table[k * 8 + (k + 3) % 8] = 1;
  struct {
    const char *what;
    int64_t kh, kw, sh, sw, dh, dw;
    const unsigned char *conn;
  } nope[] = {
      {"stride 2", 3, 3, 2, 2, 1, 1, NULL},  {"stride 1x2", 5, 5, 1, 2, 1, 1, NULL},
      {"dilation 2", 3, 3, 1, 1, 2, 2, NULL}, {"dilation 2x1", 5, 5, 2, 1, 1, 1, NULL},
      {"kernel 3x2", 3, 2, 1, 1, 1, 1, NULL}, {"kernel 1x1", 1, 1, 1, 1, 1, 1, NULL},
      {"kernel 7x7", 7, 7, 1, 1, 1, 1, NULL}, {"connection table", 3, 3, 1, 1, 1, 1, table},
  };
  for (int t = -1; t < wino_tile_count(); t++) {
    int mh = 0, mw = 0, r = 0;
    vconv_algorithm al = VCONV_ALGO_WINOGRAD;
    if (t >= 0) wino_tile_shape(t, &mh, &mw, &r, &al);
    for (int isa = 0; isa < VCONV_ISA_COUNT; isa++) {
      if (!vconv_isa_available((vconv_isa)isa)) continue;
      vconv_conv2d_op *op = NULL;
      for (size_t i = 0; i < sizeof nope / sizeof nope[0]; i++) {
        vconv_conv2d_desc d = base;
        d.kernel_h = nope[i].kh;
        d.kernel_w = nope[i].kw;
        d.stride_h = nope[i].sh;
        d.stride_w = nope[i].sw;
        d.dilation_h = nope[i].dh;
        d.dilation_w = nope[i].dw;
        d.connections = nope[i].conn;
        const vconv_status st = vconv_conv2d_create_for_isa(&d, al, (vconv_isa)isa, w, NULL, &op);
        CHECK(st == VCONV_ERR_UNSUPPORTED_ALGORITHM && !op, "%s on %s, %s: create returned %d",
              vconv_algorithm_name(al), vconv_isa_name((vconv_isa)isa), nope[i].what, (int)st);
        vconv_conv2d_destroy(op);
        op = NULL;
      }
      /* The other kernel size. */
      for (int k = 3; k <= 5 && t >= 0; k += 2) {
        vconv_conv2d_desc d = base;
        d.kernel_h = d.kernel_w = k;
        const vconv_status st = vconv_conv2d_create_for_isa(&d, al, (vconv_isa)isa, w, NULL, &op);
        CHECK(k == r ? st == VCONV_OK : st == VCONV_ERR_UNSUPPORTED_ALGORITHM,
              "%s on %s, %dx%d kernel: create returned %d", vconv_algorithm_name(al),
              vconv_isa_name((vconv_isa)isa), k, k, (int)st);
        if (st == VCONV_OK) {
          char want[64];
          snprintf(want, sizeof want, "%s/%s", vconv_algorithm_name(al), vconv_isa_name((vconv_isa)isa));
          CHECK(strcmp(vconv_conv2d_kernel_name(op), want) == 0, "kernel name %s, expected %s",
                vconv_conv2d_kernel_name(op), want);
        }
        vconv_conv2d_destroy(op);
        op = NULL;
      }
      /* VCONV_ALGO_WINOGRAD picks a tile of the kernel's size. */
      for (int k = 3; k <= 5 && t < 0; k += 2) {
        vconv_conv2d_desc d = base;
        d.kernel_h = d.kernel_w = k;
        CHECK_STATUS(vconv_conv2d_create_for_isa(&d, al, (vconv_isa)isa, w, NULL, &op), VCONV_OK);
        if (!op) continue;
        const int ti = wino_tile_index(vconv_conv2d_algorithm(op));
        int tmh = 0, tmw = 0, tr = 0;
        vconv_algorithm ta;
        if (ti >= 0) wino_tile_shape(ti, &tmh, &tmw, &tr, &ta);
        CHECK(ti >= 0 && tr == k && vconv_conv2d_isa(op) == (vconv_isa)isa,
              "VCONV_ALGO_WINOGRAD on a %dx%d kernel runs %s", k, k, vconv_conv2d_kernel_name(op));
        vconv_conv2d_destroy(op);
        op = NULL;
      }
    }
  }

  /* The switch: AUTO on a layer where Winograd wins by far (64 -> 64 channels,
   * 28x28, 3x3) takes it only while it is enabled; the environment wins. */
  const char *env = getenv("VCONV_WINOGRAD");
  const int forced = env && (strcmp(env, "0") == 0 || strcmp(env, "1") == 0) ? env[0] - '0' : -1;
  CHECK_STATUS(vconv_set_winograd(2), VCONV_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(vconv_set_winograd(-1), VCONV_ERR_INVALID_ARGUMENT);
  vconv_conv2d_desc d = base;
  d.batch = 1;
  d.in_channels = d.out_channels = 64;
  d.in_height = d.in_width = 28;
  d.kernel_h = d.kernel_w = 3;
  d.pad_bottom = d.pad_right = 1;
  float *wb = malloc(sizeof(float) * 64 * 64 * 9);
  random_fill(wb, 64 * 64 * 9, 43);
  for (int on = 1; on >= 0; on--) {
    CHECK_STATUS(vconv_set_winograd(on), VCONV_OK);
    const int want = forced >= 0 ? forced : on;
    CHECK(vconv_winograd_enabled() == want, "vconv_winograd_enabled() %d after set %d (VCONV_WINOGRAD=%s)",
          vconv_winograd_enabled(), on, env ? env : "(unset)");
    vconv_conv2d_op *op = NULL;
    CHECK_STATUS(vconv_conv2d_create(&d, VCONV_ALGO_AUTO, wb, NULL, &op), VCONV_OK);
    if (!op) continue;
    const int wino_op = wino_tile_index(vconv_conv2d_algorithm(op)) >= 0;
    /* The scalar tier may not find Winograd worth it; every SIMD tier does here. */
    if (want == 0 || vconv_conv2d_isa(op) != VCONV_ISA_SCALAR)
      CHECK(wino_op == want, "AUTO with Winograd %s chose %s", want ? "on" : "off",
            vconv_conv2d_kernel_name(op));
    vconv_conv2d_destroy(op);
    /* An explicit request is honoured either way. */
    op = NULL;
    CHECK_STATUS(vconv_conv2d_create(&d, VCONV_ALGO_WINOGRAD_F4X4_3X3, wb, NULL, &op), VCONV_OK);
    vconv_conv2d_destroy(op);
  }
  CHECK_STATUS(vconv_set_winograd(1), VCONV_OK);
  free(wb);
}

/* ---- status strings ----------------------------------------------------- */

static void status_strings(void) {
  const char *s[23];
  for (int i = 0; i <= 22; i++) {
    s[i] = vconv_status_string((vconv_status)i);
    CHECK(s[i] && s[i][0], "status %d has no text", i);
  }
  for (int i = 0; i <= 22; i++)
    for (int j = i + 1; j <= 22; j++)
      CHECK(!s[i] || !s[j] || strcmp(s[i], s[j]) != 0, "statuses %d and %d share the text \"%s\"", i, j, s[i]);
  const char *u = vconv_status_string((vconv_status)999), *m = vconv_status_string((vconv_status)-1);
  CHECK(u && u[0] && m && m[0], "unknown statuses need a text");
  for (int i = 0; i <= 22; i++)
    CHECK(!u || !s[i] || strcmp(u, s[i]) != 0, "status 999 reads like status %d", i);
}

/* ---- 1-D convenience ---------------------------------------------------- */

static void conv1d(void) {
  struct {
    int64_t N, C, W, K, k, stride, dil, pl, pr, groups;
    vconv_padding_mode mode;
    vconv_layout layout;
    vconv_activation act;
  } cases[] = {
      {1, 1, 320, 1, 2, 1, 1, 0, 0, 1, VCONV_PADDING_EXPLICIT, VCONV_LAYOUT_NCHW, VCONV_ACTIVATION_NONE},
      {2, 3, 37, 5, 7, 2, 1, 3, 1, 1, VCONV_PADDING_EXPLICIT, VCONV_LAYOUT_NHWC, VCONV_ACTIVATION_RELU},
      {3, 4, 29, 4, 3, 1, 3, 0, 0, 4, VCONV_PADDING_SAME, VCONV_LAYOUT_NCHW, VCONV_ACTIVATION_CLAMP},
      {1, 6, 17, 9, 5, 3, 2, 0, 0, 3, VCONV_PADDING_FULL, VCONV_LAYOUT_NHWC, VCONV_ACTIVATION_NONE},
      {2, 2, 11, 3, 11, 1, 1, 0, 0, 1, VCONV_PADDING_VALID, VCONV_LAYOUT_NCHW, VCONV_ACTIVATION_NONE},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char what[32];
    snprintf(what, sizeof what, "conv1d case %zu", i);
    vconv_conv1d_desc d1;
    vconv_conv1d_desc_init(&d1);
    d1.batch = cases[i].N;
    d1.in_channels = cases[i].C;
    d1.in_width = cases[i].W;
    d1.out_channels = cases[i].K;
    d1.kernel = cases[i].k;
    d1.stride = cases[i].stride;
    d1.dilation = cases[i].dil;
    d1.pad_left = cases[i].pl;
    d1.pad_right = cases[i].pr;
    d1.groups = cases[i].groups;
    d1.padding_mode = cases[i].mode;
    d1.layout = cases[i].layout;
    d1.activation = cases[i].act;
    d1.act_min = -0.25f;
    d1.act_max = 0.75f;
    /* The equivalent 2-D descriptor, built here rather than by the library:
     * height 1, a 1-row kernel, no vertical padding in any mode. */
    vconv_conv2d_desc d2;
    vconv_conv2d_desc_init(&d2);
    d2.batch = d1.batch;
    d2.in_channels = d1.in_channels;
    d2.in_height = 1;
    d2.in_width = d1.in_width;
    d2.out_channels = d1.out_channels;
    d2.kernel_h = 1;
    d2.kernel_w = d1.kernel;
    d2.stride_w = d1.stride;
    d2.dilation_w = d1.dilation;
    d2.pad_left = d1.pad_left;
    d2.pad_right = d1.pad_right;
    d2.padding_mode = d1.padding_mode;
    d2.groups = d1.groups;
    d2.layout = d1.layout;
    d2.activation = d1.activation;
    d2.act_min = d1.act_min;
    d2.act_max = d1.act_max;
    ref_geom g;
    CHECK(ref_conv2d_geometry(&d2, &g) == REF_OK && g.h.out == 1, "%s: reference geometry", what);
    int64_t ow = -1;
    CHECK_STATUS(vconv_conv1d_output_size(&d1, &ow), VCONV_OK);
    CHECK(ow == g.w.out, "%s: conv1d_output_size %lld, reference %lld", what, (long long)ow, (long long)g.w.out);
    vconv_conv2d_desc lib2;
    CHECK_STATUS(vconv_conv1d_to_2d(&d1, &lib2), VCONV_OK);
    int64_t lh = -1, lw = -1;
    CHECK_STATUS(vconv_conv2d_output_size(&lib2, &lh, &lw), VCONV_OK);
    CHECK(lh == 1 && lw == g.w.out && lib2.in_height == 1 && lib2.kernel_h == 1 &&
              lib2.kernel_w == d1.kernel && lib2.in_width == d1.in_width,
          "%s: conv1d_to_2d gives %lldx%lld output", what, (long long)lh, (long long)lw);

    const int64_t nw = d1.out_channels * (d1.in_channels / d1.groups) * d1.kernel;
    float *w = malloc(sizeof(float) * (size_t)nw), b[16];
    random_fill(w, nw, 100 + i);
    random_fill(b, d1.out_channels, 200 + i);
    vconv_conv2d_op *op = NULL;
    CHECK_STATUS(vconv_conv1d_create(&d1, VCONV_ALGO_AUTO, w, b, &op), VCONV_OK);
    if (op) conv_vs_ref(what, &d2, op, w, b, 300 + i);
    vconv_conv2d_destroy(op);
    free(w);
  }
}

static void pool1d(void) {
  for (int kind = 0; kind < 3; kind++)
    for (int ceil_mode = 0; ceil_mode < 2; ceil_mode++) {
      char what[48];
      snprintf(what, sizeof what, "pool1d kind %d ceil %d", kind, ceil_mode);
      vconv_pool1d_desc d1;
      vconv_pool1d_desc_init(&d1);
      d1.batch = 2;
      d1.channels = 19;
      d1.in_width = 30;
      d1.kind = (vconv_pool_kind)kind;
      d1.window = 4;
      d1.stride = 3;
      d1.pad_left = 3;
      d1.pad_right = 1;
      d1.ceil_mode = ceil_mode;
      d1.layout = kind == 1 ? VCONV_LAYOUT_NHWC : VCONV_LAYOUT_NCHW;
      vconv_pool2d_desc d2;
      vconv_pool2d_desc_init(&d2);
      d2.batch = d1.batch;
      d2.channels = d1.channels;
      d2.in_height = 1;
      d2.in_width = d1.in_width;
      d2.kind = d1.kind;
      d2.window_h = 1;
      d2.window_w = d1.window;
      d2.stride_w = d1.stride;
      d2.pad_left = d1.pad_left;
      d2.pad_right = d1.pad_right;
      d2.ceil_mode = d1.ceil_mode;
      d2.layout = d1.layout;
      ref_geom g;
      CHECK(ref_pool2d_geometry(&d2, &g) == REF_OK, "%s: reference geometry", what);
      int64_t ow = -1;
      CHECK_STATUS(vconv_pool1d_output_size(&d1, &ow), VCONV_OK);
      CHECK(ow == g.w.out, "%s: pool1d_output_size %lld, reference %lld", what, (long long)ow,
            (long long)g.w.out);
      vconv_pool2d_desc lib2;
      CHECK_STATUS(vconv_pool1d_to_2d(&d1, &lib2), VCONV_OK);
      CHECK(lib2.in_height == 1 && lib2.window_h == 1 && lib2.window_w == 4 && lib2.kind == d1.kind,
            "%s: pool1d_to_2d", what);
      vconv_pool2d_op *op = NULL;
      CHECK_STATUS(vconv_pool1d_create(&d1, &op), VCONV_OK);
      if (!op) continue;
      const int64_t nin = 2 * 19 * 30, nout = 2 * 19 * g.w.out;
      tbuf x, y;
      tbuf_alloc_in(&x, (size_t)nin);
      tbuf_alloc_out(&y, (size_t)nout);
      random_fill(x.data, nin, 400 + (uint64_t)kind);
      double *yr = malloc(sizeof(double) * (size_t)nout * 2), *a = yr + nout;
      int32_t *n = malloc(sizeof(int32_t) * (size_t)nout);
      ref_pool2d(&d2, x.data, yr, a, n);
      CHECK_STATUS(vconv_pool2d_run(op, x.data, y.data, NULL, 0, NULL), VCONV_OK);
      int bad = 0;
      for (int64_t i = 0; i < nout; i++) {
        if (kind == VCONV_POOL_MAX)
          bad += y.data[i] != (float)yr[i];
        else
          bad += !(fabs((double)y.data[i] - yr[i]) <= ref_avg_tol(n[i], a[i]));
      }
      CHECK(bad == 0, "%s: %d outputs differ from the reference", what, bad);
      CHECK(tbuf_guards_ok(&y), "%s: wrote outside the output", what);
      tbuf_free(&x);
      tbuf_free(&y);
      free(yr);
      free(n);
      vconv_pool2d_destroy(op);
    }
}

/* ---- unaligned buffers, determinism, the parallel hook ----------------- */

static void reverse_parallel_for(void *context, size_t n, vconv_task_fn task, void *arg) {
  size_t *calls = context;
  for (size_t i = n; i-- > 0;) {
    task(arg, i);
    ++*calls;
  }
}

typedef struct concurrent_run {
  const vconv_conv2d_op *op;
  const float *x;
  float *y;
  vconv_status st;
} concurrent_run;

static void *run_thread(void *p) {
  concurrent_run *c = p;
  c->st = vconv_conv2d_run(c->op, c->x, c->y, NULL, 0, NULL);
  return NULL;
}

static void determinism(void) {
  vconv_conv2d_desc descs[2];
  descs[0] = good_conv();
  descs[0].pad_top = 2;
  descs[0].pad_right = 1;
  descs[0].stride_w = 2;
  descs[0].activation = VCONV_ACTIVATION_RELU;
  descs[1] = descs[0];
  descs[1].layout = VCONV_LAYOUT_NHWC;
  descs[1].groups = 2;
  for (int di = 0; di < 2; di++) {
    const vconv_conv2d_desc *d = &descs[di];
    int64_t oh, ow;
    CHECK_STATUS(vconv_conv2d_output_size(d, &oh, &ow), VCONV_OK);
    const int64_t nin = d->batch * d->in_channels * d->in_height * d->in_width;
    const int64_t nout = d->batch * d->out_channels * oh * ow;
    const int64_t nw = d->out_channels * (d->in_channels / d->groups) * d->kernel_h * d->kernel_w;
    float w[6 * 4 * 3 * 2 + 3], b[6 + 3];
    float *xblock = malloc(sizeof(float) * (size_t)(nin + 3));
    float *yblock = malloc(sizeof(float) * (size_t)(nout * 6 + 3));
    for (size_t v = 0; v <= vconv_conv2d_variant_count(); v++) {
      vconv_algorithm al = VCONV_ALGO_AUTO;
      vconv_isa is = VCONV_ISA_AUTO;
      if (v < vconv_conv2d_variant_count() &&
          (vconv_conv2d_variant(v, &al, &is) != VCONV_OK || !vconv_isa_available(is)))
        continue;
      /* Every misalignment a float pointer can have relative to a vector: 1..3 floats. */
      for (int off = 1; off <= 3; off++) {
        float *wp = w + off, *bp = b + off, *x = xblock + off, *y = yblock + off;
        random_fill(wp, nw, 1000 + (uint64_t)di);
        random_fill(bp, 6, 2000 + (uint64_t)di);
        random_fill(x, nin, 3000 + (uint64_t)di);
        vconv_conv2d_op *op = NULL;
        vconv_status st = vconv_conv2d_create_for_isa(d, al, is, wp, bp, &op);
        if (st == VCONV_ERR_UNSUPPORTED_ALGORITHM && al != VCONV_ALGO_DIRECT && al != VCONV_ALGO_AUTO) continue;
        CHECK(st == VCONV_OK, "determinism: create %d", (int)st);
        if (st != VCONV_OK) continue;
        const char *kn = vconv_conv2d_kernel_name(op);
        char what[64];
        snprintf(what, sizeof what, "%s %s offset %d", kn ? kn : "?",
                 d->layout == VCONV_LAYOUT_NHWC ? "NHWC" : "NCHW", off);
        conv_vs_ref(what, d, op, wp, bp, 3000 + (uint64_t)di);
        float *y0 = y, *y1 = y + nout, *y2 = y + 2 * nout, *y3 = y + 3 * nout, *y4 = y + 4 * nout,
              *y5 = y + 5 * nout;
        size_t calls = 0;
        /* threads > 1, or run() never calls the hook */
        const vconv_parallel reverse = {reverse_parallel_for, &calls, 4};
        const vconv_parallel threaded = {two_thread_parallel_for, NULL, 3};
        const vconv_parallel empty = {NULL, NULL, 8};
        CHECK_STATUS(vconv_conv2d_run(op, x, y0, NULL, 0, NULL), VCONV_OK);
        CHECK_STATUS(vconv_conv2d_run(op, x, y1, NULL, 0, NULL), VCONV_OK);
        CHECK_STATUS(vconv_conv2d_run(op, x, y2, NULL, 0, &reverse), VCONV_OK);
        CHECK_STATUS(vconv_conv2d_run(op, x, y3, NULL, 0, &threaded), VCONV_OK);
        CHECK_STATUS(vconv_conv2d_run(op, x, y4, NULL, 0, &empty), VCONV_OK);
        /* run() makes at most `threads` calls, and some when there is more than one piece. */
        CHECK(calls > 0 && calls <= 4, "%s: the parallel hook was called %zu times for 4 threads",
              what, calls);
        /* Two threads running the same operator at once, each with its own output. */
        concurrent_run c = {op, x, y5, VCONV_ERR_INVALID_ARGUMENT};
        pthread_t t;
        const int spawned = pthread_create(&t, NULL, run_thread, &c) == 0;
        float *yc = malloc(sizeof(float) * (size_t)nout);
        CHECK_STATUS(vconv_conv2d_run(op, x, yc, NULL, 0, NULL), VCONV_OK);
        if (spawned) pthread_join(t, NULL);
        else run_thread(&c);
        CHECK_STATUS(c.st, VCONV_OK);
        const size_t bytes = sizeof(float) * (size_t)nout;
        CHECK(memcmp(y0, y1, bytes) == 0, "%s: two runs differ", what);
        CHECK(memcmp(y0, y2, bytes) == 0, "%s: reverse-order tasks change the result", what);
        CHECK(memcmp(y0, y3, bytes) == 0, "%s: two threads change the result", what);
        CHECK(memcmp(y0, y4, bytes) == 0, "%s: a NULL parallel_for changes the result", what);
        CHECK(memcmp(y0, y5, bytes) == 0 && memcmp(y0, yc, bytes) == 0,
              "%s: concurrent runs differ", what);
        free(yc);
        vconv_conv2d_destroy(op);
      }
    }
    free(xblock);
    free(yblock);
  }

  /* Pooling: the same properties. */
  for (size_t v = 0; v <= vconv_pool2d_variant_count(); v++) {
    vconv_isa is = VCONV_ISA_AUTO;
    if (v < vconv_pool2d_variant_count() && (vconv_pool2d_variant(v, &is) != VCONV_OK || !vconv_isa_available(is)))
      continue;
    for (int kind = 0; kind < 3; kind++)
      for (int layout = 0; layout < 2; layout++) {
        vconv_pool2d_desc pd = good_pool();
        pd.kind = (vconv_pool_kind)kind;
        pd.layout = (vconv_layout)layout;
        pd.pad_top = 1;
        pd.ceil_mode = 1;
        int64_t oh, ow;
        CHECK_STATUS(vconv_pool2d_output_size(&pd, &oh, &ow), VCONV_OK);
        const int64_t nin = 2 * 3 * 9 * 7, nout = 2 * 3 * oh * ow;
        float xb[2 * 3 * 9 * 7 + 1], yb[4 * 2 * 3 * 6 * 4 + 3];
        float *x = xb + 1, *y = yb + 1 + layout;
        random_fill(x, nin, 77);
        vconv_pool2d_op *op = NULL;
        CHECK_STATUS(vconv_pool2d_create_for_isa(&pd, is, &op), VCONV_OK);
        if (!op) continue;
        size_t calls = 0;
        const vconv_parallel reverse = {reverse_parallel_for, &calls, 5};
        const vconv_parallel threaded = {two_thread_parallel_for, NULL, 2};
        CHECK(nout * 4 + 2 <= (int64_t)(sizeof yb / sizeof yb[0]), "pool buffer");
        CHECK_STATUS(vconv_pool2d_run(op, x, y, NULL, 0, NULL), VCONV_OK);
        CHECK_STATUS(vconv_pool2d_run(op, x, y + nout, NULL, 0, NULL), VCONV_OK);
        CHECK_STATUS(vconv_pool2d_run(op, x, y + 2 * nout, NULL, 0, &reverse), VCONV_OK);
        CHECK_STATUS(vconv_pool2d_run(op, x, y + 3 * nout, NULL, 0, &threaded), VCONV_OK);
        const size_t bytes = sizeof(float) * (size_t)nout;
        CHECK(memcmp(y, y + nout, bytes) == 0 && memcmp(y, y + 2 * nout, bytes) == 0 &&
                  memcmp(y, y + 3 * nout, bytes) == 0,
              "pool %s kind %d layout %d: results depend on the run or the task order",
              vconv_pool2d_kernel_name(op), kind, layout);
        vconv_pool2d_destroy(op);
      }
  }
}

/* Named plans: every listed name creates (where it applies) an operator that
 * runs exactly that plan; bad names, tiers and paths get their own status. */
static void named_plans(void) {
  vconv_conv2d_desc d;
  vconv_conv2d_desc_init(&d);
  d.batch = 1;
  d.in_channels = 8;
  d.in_height = d.in_width = 9;
  d.out_channels = 8;
  d.kernel_h = d.kernel_w = 3;
  float w[8 * 8 * 3 * 3];
  for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) w[i] = (float)(i % 7) - 3.0f;
  vconv_conv2d_op *op = (vconv_conv2d_op *)&d;
  CHECK_STATUS(vconv_conv2d_create_named(&d, NULL, w, NULL, &op), VCONV_ERR_NULL_POINTER);
  CHECK(op == NULL, "failed create_named left *op set");
  CHECK_STATUS(vconv_conv2d_create_named(NULL, "direct/scalar", w, NULL, &op), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_conv2d_create_named(&d, "direct/scalar", w, NULL, NULL), VCONV_ERR_NULL_POINTER);
  static const char *bad[] = {"", "direct", "direct/", "direct/scalar:", "direct/scalar:nope",
                              "direct/scalar:blocked:x", "nope/scalar", "direct/scalar:canvas",
                              ":blocked", "direct/scalarx"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    op = (vconv_conv2d_op *)&d;
    CHECK_STATUS(vconv_conv2d_create_named(&d, bad[i], w, NULL, &op), VCONV_ERR_INVALID_ARGUMENT);
    CHECK(op == NULL, "create_named(\"%s\") left *op set", bad[i]);
  }
  /* A descriptor error comes before the name's. */
  d.kernel_h = 0;
  int64_t oh, ow;
  const vconv_status desc_st = vconv_conv2d_output_size(&d, &oh, &ow);
  CHECK(desc_st != VCONV_OK, "kernel_h 0 accepted");
  CHECK_STATUS(vconv_conv2d_create_named(&d, "nope", w, NULL, &op), desc_st);
  d.kernel_h = 3;
  /* Stride 2: spatial does not apply; NCHW: nor does depthwise. */
  d.stride_w = 2;
  const size_t n = vconv_conv2d_plan_count();
  CHECK(n > vconv_conv2d_variant_count() && vconv_conv2d_plan_name(n) == NULL, "plan count %zu", n);
  for (size_t i = 0; i < n; i++) {
    const char *name = vconv_conv2d_plan_name(i);
    CHECK(name && strchr(name, ':'), "plan %zu has no name", i);
    if (!name) continue;
    char kernel[64];
    snprintf(kernel, sizeof kernel, "%.*s", (int)(strchr(name, ':') - name), name);
    vconv_isa isa = VCONV_ISA_SCALAR;
    for (int t = 0; t < VCONV_ISA_COUNT; t++) {
      const char *tn = vconv_isa_name((vconv_isa)t);
      const char *slash = strchr(kernel, '/');
      if (tn && slash && strcmp(slash + 1, tn) == 0) isa = (vconv_isa)t;
    }
    const vconv_status st = vconv_conv2d_create_named(&d, name, w, NULL, &op);
    if (!vconv_isa_available(isa)) {
      CHECK_STATUS(st, VCONV_ERR_ISA_UNAVAILABLE);
      continue;
    }
    const int applies = !strstr(name, ":spatial") && !strstr(name, ":depthwise") &&
                        !strstr(name, "winograd") && !strstr(name, "im2col:x");
    if (!applies) {
      CHECK(st == VCONV_ERR_UNSUPPORTED_ALGORITHM, "%s on stride 2: %s", name, vconv_status_string(st));
      CHECK(op == NULL, "%s: failed create left *op set", name);
      continue;
    }
    CHECK_STATUS(st, VCONV_OK);
    if (st != VCONV_OK) continue;
    CHECK(strcmp(vconv_conv2d_plan_of(op), name) == 0, "%s: runs %s", name, vconv_conv2d_plan_of(op));
    CHECK(strcmp(vconv_conv2d_kernel_name(op), kernel) == 0, "%s: kernel %s", name,
          vconv_conv2d_kernel_name(op));
    vconv_conv2d_destroy(op);
    /* The kernel name alone: that kernel, its own path. */
    CHECK_STATUS(vconv_conv2d_create_named(&d, kernel, w, NULL, &op), VCONV_OK);
    CHECK(op && strcmp(vconv_conv2d_kernel_name(op), kernel) == 0, "%s alone", kernel);
    vconv_conv2d_destroy(op);
  }
  CHECK(vconv_conv2d_plan_of(NULL) == NULL, "plan_of(NULL)");
}

/* update_weights: every plan that applies, on a dense 3x3 layer (Winograd
 * and the spatial paths apply) and on LeNet-5's C3 with its table, against a
 * new operator made from the new weights: the same bits. */
static void update_weights_case(const vconv_conv2d_desc *d, const char *what) {
  int64_t P, Q;
  CHECK_STATUS(vconv_conv2d_output_size(d, &P, &Q), VCONV_OK);
  const int64_t nw = d->out_channels * (d->in_channels / d->groups) * d->kernel_h * d->kernel_w;
  const int64_t nx = d->batch * d->in_channels * d->in_height * d->in_width;
  const int64_t ny = d->batch * d->out_channels * P * Q;
  float *w1 = malloc((size_t)nw * sizeof(float)), *w2 = malloc((size_t)nw * sizeof(float));
  float *b1 = malloc((size_t)d->out_channels * sizeof(float));
  float *b2 = malloc((size_t)d->out_channels * sizeof(float));
  float *x = malloc((size_t)nx * sizeof(float));
  float *y1 = malloc((size_t)ny * sizeof(float)), *y2 = malloc((size_t)ny * sizeof(float));
  random_fill(w1, nw, 1);
  random_fill(w2, nw, 2);
  random_fill(b1, d->out_channels, 3);
  random_fill(b2, d->out_channels, 4);
  random_fill(x, nx, 5);
  int ran = 0;
  for (size_t i = 0; i < vconv_conv2d_plan_count(); i++) {
    const char *name = vconv_conv2d_plan_name(i);
    for (int with_bias = 0; with_bias < 2; with_bias++) {
      vconv_conv2d_op *a = NULL, *b = NULL;
      if (vconv_conv2d_create_named(d, name, w1, with_bias ? b1 : NULL, &a) != VCONV_OK) continue;
      CHECK_STATUS(vconv_conv2d_create_named(d, name, w2, with_bias ? b2 : NULL, &b), VCONV_OK);
      CHECK_STATUS(vconv_conv2d_update_weights(a, w2, with_bias ? b2 : NULL), VCONV_OK);
      CHECK_STATUS(vconv_conv2d_run(a, x, y1, NULL, 0, NULL), VCONV_OK);
      CHECK_STATUS(vconv_conv2d_run(b, x, y2, NULL, 0, NULL), VCONV_OK);
      CHECK(memcmp(y1, y2, (size_t)ny * sizeof(float)) == 0, "%s %s bias %d: updated weights differ from a new operator's",
            what, name, with_bias);
      if (with_bias) {
        /* NULL keeps the bias the last update gave. */
        CHECK_STATUS(vconv_conv2d_update_weights(a, w1, NULL), VCONV_OK);
        CHECK_STATUS(vconv_conv2d_update_weights(a, w2, NULL), VCONV_OK);
        CHECK_STATUS(vconv_conv2d_run(a, x, y1, NULL, 0, NULL), VCONV_OK);
        CHECK(memcmp(y1, y2, (size_t)ny * sizeof(float)) == 0, "%s %s: NULL bias did not keep it", what, name);
      } else {
        CHECK_STATUS(vconv_conv2d_update_weights(a, w2, b2), VCONV_ERR_INVALID_ARGUMENT);
      }
      CHECK_STATUS(vconv_conv2d_update_weights(a, NULL, NULL), VCONV_ERR_NULL_POINTER);
      vconv_conv2d_destroy(a);
      vconv_conv2d_destroy(b);
      ran++;
    }
  }
  CHECK(ran >= 4, "%s: only %d plans ran", what, ran);
  CHECK_STATUS(vconv_conv2d_update_weights(NULL, w1, NULL), VCONV_ERR_NULL_POINTER);
  free(w1), free(w2), free(b1), free(b2), free(x), free(y1), free(y2);
}

static void update_weights(void) {
  vconv_conv2d_desc d;
  vconv_conv2d_desc_init(&d);
  d.batch = 2;
  d.in_channels = 5;
  d.in_height = 11;
  d.in_width = 10;
  d.out_channels = 7;
  d.kernel_h = d.kernel_w = 3;
  d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = 1;
  update_weights_case(&d, "3x3");
  unsigned char table[16 * 6];
  test_lenet_c3_table(table);
  vconv_conv2d_desc_init(&d);
  d.batch = 2;
  d.in_channels = 6;
  d.in_height = d.in_width = 14;
  d.out_channels = 16;
  d.kernel_h = d.kernel_w = 5;
  d.connections = table;
  update_weights_case(&d, "LeNet-5 C3");
}

/* The cost model names the calibration it uses: this CPU's table where its
 * vendor and family have one (plan/calibration/), else the default's. */
static void cost_model_cpu(void) {
  const char *a = vconv_cost_model_cpu(), *b = vconv_cost_model_cpu();
  CHECK(a && a == b, "vconv_cost_model_cpu: not one static string");
  char vendor[32] = "";
  int family = -2, model = -2, end = 0;
  CHECK(a && sscanf(a, "%31s family %d model %d%n", vendor, &family, &model, &end) == 3 &&
            a[end] == 0 && vendor[0],
        "vconv_cost_model_cpu: \"%s\" is not \"<vendor> family <f> model <m>\"", a ? a : "(null)");
  vconv_cpu_info ci;
  if (vconv_get_cpu_info(&ci) == VCONV_OK)
    printf("cost model: %s (this CPU: %s family %d model %d)\n", a, ci.vendor, ci.family, ci.model);
}

int main(void) {
  /* Line-buffered, so a crash still shows how far the test got. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  defaults();
  null_pointers();
  bad_conv_descriptors();
  bad_pool_descriptors();
  algorithms_and_isas();
  optional_algorithms();
  winograd_api();
  workspaces();
  status_strings();
  conv1d();
  pool1d();
  determinism();
  named_plans();
  update_weights();
  cost_model_cpu();
  return test_summary("test_api");
}
