/*
 * Locally connected and tiled convolution (vconv_local2d): every built tier
 * that can run here, reached directly (create_for_isa on each enumerated
 * variant) and through the dispatcher, in both layouts, forward, backward
 * data and backward weights and bias, against the float64 reference
 * (tests/local_ref.c) with the bound of ref.c (ref_conv_tol: gamma(n) sum|terms|).
 *
 * Cases: LeNet-5 C1 and C3 geometries locally connected and tiled, seeded
 * random shapes (odd sizes, strides, dilations, every padding mode, groups,
 * tiles 1, divisors and the whole output, every bias kind and activation),
 * the golden identities (a 1 x 1 tile, and a locally connected layer whose
 * kernels are all equal, against vconv_conv2d with the same weights), one
 * thread against two (the same bits), a caller's unaligned workspace, and
 * bad input with its own status.
 *
 * Usage: test_local [--quick]
 * Environment: VCONV_PARITY_QUICK=1 (as --quick), VCONV_PARITY_TIER=<tier>
 * (only that tier directly), VCONV_EXPECT_ISA=<tier> (the dispatcher's pick),
 * VCONV_PARITY_SEED=<n>.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "local_ref.h"
#include "util.h"

static int opt_quick;
static int opt_tier = -1;
static uint64_t opt_seed = 0x10ca1ull;
static const vconv_parallel two_threads = {two_thread_parallel_for, NULL, 2};

/* The tiers to test directly, then the dispatcher (VCONV_ISA_AUTO). */
static vconv_isa tiers[VCONV_ISA_COUNT + 1];
static int ntiers;

static void find_tiers(void) {
  for (size_t i = 0; i < vconv_local2d_variant_count(); i++) {
    vconv_isa isa;
    CHECK_STATUS(vconv_local2d_variant(i, &isa), VCONV_OK);
    if (!vconv_isa_available(isa)) continue;
    if (opt_tier >= 0 && (int)isa != opt_tier) continue;
    tiers[ntiers++] = isa;
  }
  if (opt_tier >= 0) CHECK(ntiers == 1, "VCONV_PARITY_TIER=%s cannot run here", vconv_isa_name((vconv_isa)opt_tier));
  tiers[ntiers++] = VCONV_ISA_AUTO;
}

static float *randoms(test_rng *rng, size_t n) {
  float *p = malloc((n ? n : 1) * sizeof(float));
  for (size_t i = 0; i < n; i++) p[i] = rng_sym(rng);
  return p;
}

static void *xmalloc(size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (!p) {
    printf("FAIL: out of memory (%zu bytes)\n", bytes);
    exit(1);
  }
  return p;
}

/* got within the bound of every reference element; returns the worst |err| / tol. */
static double compare(const char *what, const char *name, const float *got, const double *y,
                      const double *a, const int32_t *n, size_t count) {
  double worst = 0;
  size_t bad = 0;
  for (size_t i = 0; i < count; i++) {
    const double tol = ref_conv_tol(n[i], a[i]), err = fabs((double)got[i] - y[i]);
    if (!(err <= tol)) {
      if (bad++ < 3)
        test_fail(__FILE__, __LINE__, "%s %s: element %zu is %.9g, reference %.9g (tol %.3g)", name,
                  what, i, (double)got[i], y[i], tol);
    } else if (tol > 0 && err / tol > worst) {
      worst = err / tol;
    }
  }
  test_checks++;
  return worst;
}

typedef struct bufs {
  size_t nx, ny, nw, nb;
  float *x, *w, *b, *dy;
  double *y, *ya, *dx, *dxa, *dw, *dwa, *db, *dba;
  int32_t *yn, *dxn, *dwn, *dbn;
} bufs;

static void bufs_free(bufs *B) {
  void *p[] = {B->x, B->w, B->b, B->dy, B->y, B->ya, B->dx, B->dxa, B->dw, B->dwa, B->db, B->dba,
               B->yn, B->dxn, B->dwn, B->dbn};
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) free(p[i]);
}

static int setup(const vconv_local2d_desc *d, test_rng *rng, bufs *B) {
  int64_t P, Q, nw, nb;
  if (vconv_local2d_output_size(d, &P, &Q) != VCONV_OK) return 0;
  CHECK_STATUS(vconv_local2d_param_count(d, &nw, &nb), VCONV_OK);
  memset(B, 0, sizeof *B);
  B->nx = (size_t)(d->batch * d->in_channels * d->in_height * d->in_width);
  B->ny = (size_t)(d->batch * d->out_channels * P * Q);
  B->nw = (size_t)nw;
  B->nb = (size_t)nb;
  B->x = randoms(rng, B->nx);
  B->w = randoms(rng, B->nw);
  B->b = randoms(rng, B->nb);
  B->dy = randoms(rng, B->ny);
  B->y = xmalloc(B->ny * sizeof(double));
  B->ya = xmalloc(B->ny * sizeof(double));
  B->yn = xmalloc(B->ny * sizeof(int32_t));
  B->dx = xmalloc(B->nx * sizeof(double));
  B->dxa = xmalloc(B->nx * sizeof(double));
  B->dxn = xmalloc(B->nx * sizeof(int32_t));
  B->dw = xmalloc(B->nw * sizeof(double));
  B->dwa = xmalloc(B->nw * sizeof(double));
  B->dwn = xmalloc(B->nw * sizeof(int32_t));
  B->db = xmalloc(B->nb * sizeof(double));
  B->dba = xmalloc(B->nb * sizeof(double));
  B->dbn = xmalloc(B->nb * sizeof(int32_t));
  return 1;
}

static void reference(const vconv_local2d_desc *d, bufs *B) {
  CHECK(local_ref_forward(d, B->x, B->w, B->b, B->y, B->ya, B->yn) == REF_OK, "reference forward");
  CHECK(local_ref_backward_data(d, B->w, B->dy, B->dx, B->dxa, B->dxn) == REF_OK, "reference data");
  CHECK(local_ref_backward_weights(d, B->x, B->dy, B->dw, B->dwa, B->dwn, B->db, B->dba, B->dbn) ==
            REF_OK,
        "reference weights");
}

/* Forward output of op into a fresh guarded buffer (caller frees). */
static void forward(const vconv_local2d_op *op, const bufs *B, const vconv_parallel *par, tbuf *y,
                    const char *name) {
  CHECK(tbuf_alloc_out(y, B->ny), "alloc");
  CHECK_STATUS(vconv_local2d_run(op, B->x, y->data, NULL, 0, par), VCONV_OK);
  CHECK(tbuf_guards_ok(y), "%s forward: write outside the output", name);
}

static int same_bits(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

/* Every pass of one operator, with one thread and with two (the same bits). */
static void check_op(const vconv_local2d_op *op, const bufs *B, const char *name) {
  tbuf y1, y2, dx1, dx2, dw1, dw2, db1, db2;
  forward(op, B, NULL, &y1, name);
  compare("forward", name, y1.data, B->y, B->ya, B->yn, B->ny);
  forward(op, B, &two_threads, &y2, name);
  CHECK(same_bits(y1.data, y2.data, B->ny), "%s forward: two threads change the bits", name);

  CHECK(tbuf_alloc_out(&dx1, B->nx) && tbuf_alloc_out(&dx2, B->nx), "alloc");
  CHECK_STATUS(vconv_local2d_backward_data(op, B->dy, dx1.data, NULL, 0, NULL), VCONV_OK);
  CHECK(tbuf_guards_ok(&dx1), "%s backward data: write outside grad_input", name);
  compare("backward data", name, dx1.data, B->dx, B->dxa, B->dxn, B->nx);
  /* A caller's workspace, misaligned, of exactly the size asked for. */
  const size_t need = vconv_local2d_workspace_size(op, &two_threads);
  unsigned char *ws = xmalloc(need + 1);
  if (need) {
    CHECK_STATUS(vconv_local2d_backward_data(op, B->dy, dx2.data, ws + 1, need - 1, &two_threads),
                 VCONV_ERR_WORKSPACE_TOO_SMALL);
  }
  CHECK_STATUS(vconv_local2d_backward_data(op, B->dy, dx2.data, ws + 1, need, &two_threads), VCONV_OK);
  CHECK(tbuf_guards_ok(&dx2), "%s backward data: write outside grad_input", name);
  CHECK(same_bits(dx1.data, dx2.data, B->nx), "%s backward data: two threads change the bits", name);

  CHECK(tbuf_alloc_out(&dw1, B->nw) && tbuf_alloc_out(&dw2, B->nw), "alloc");
  CHECK(tbuf_alloc_out(&db1, B->nb) && tbuf_alloc_out(&db2, B->nb), "alloc");
  CHECK_STATUS(vconv_local2d_backward_weights(op, B->x, B->dy, dw1.data, db1.data, NULL, 0, NULL),
               VCONV_OK);
  CHECK(tbuf_guards_ok(&dw1) && tbuf_guards_ok(&db1), "%s backward weights: write outside", name);
  compare("backward weights", name, dw1.data, B->dw, B->dwa, B->dwn, B->nw);
  compare("backward bias", name, db1.data, B->db, B->dba, B->dbn, B->nb);
  CHECK_STATUS(vconv_local2d_backward_weights(op, B->x, B->dy, dw2.data, db2.data, ws + 1, need,
                                              &two_threads),
               VCONV_OK);
  CHECK(same_bits(dw1.data, dw2.data, B->nw) && same_bits(db1.data, db2.data, B->nb),
        "%s backward weights: two threads change the bits", name);
  /* No bias gradient asked for: the weights' are the same and nothing else is written. */
  tbuf_poison(&dw2);
  tbuf_poison(&db2);
  CHECK_STATUS(vconv_local2d_backward_weights(op, B->x, B->dy, dw2.data, NULL, NULL, 0, &two_threads),
               VCONV_OK);
  CHECK(same_bits(dw1.data, dw2.data, B->nw), "%s backward weights without bias differ", name);
  CHECK(tbuf_guards_ok(&db2), "guards");
  free(ws);
  tbuf *all[] = {&y1, &y2, &dx1, &dx2, &dw1, &dw2, &db1, &db2};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tbuf_free(all[i]);
}

static void describe(const vconv_local2d_desc *d, char *buf, size_t n) {
  snprintf(buf, n,
           "N%lld C%lld %lldx%lld K%lld k%lldx%lld s%lld,%lld d%lld,%lld pad%lld,%lld,%lld,%lld mode%d "
           "g%lld %s act%d tile%lldx%lld bias%d",
           (long long)d->batch, (long long)d->in_channels, (long long)d->in_height,
           (long long)d->in_width, (long long)d->out_channels, (long long)d->kernel_h,
           (long long)d->kernel_w, (long long)d->stride_h, (long long)d->stride_w,
           (long long)d->dilation_h, (long long)d->dilation_w, (long long)d->pad_top,
           (long long)d->pad_bottom, (long long)d->pad_left, (long long)d->pad_right,
           (int)d->padding_mode, (long long)d->groups,
           d->layout == VCONV_LAYOUT_NHWC ? "NHWC" : "NCHW", (int)d->activation,
           (long long)d->tile_h, (long long)d->tile_w, (int)d->bias);
}

/* The shape in both layouts on every tier. */
static void run_case(const vconv_local2d_desc *d0, test_rng *rng) {
  for (int l = 0; l < 2; l++) {
    vconv_local2d_desc d = *d0;
    d.layout = l ? VCONV_LAYOUT_NHWC : VCONV_LAYOUT_NCHW;
    bufs B;
    char shape[256];
    describe(&d, shape, sizeof shape);
    if (!setup(&d, rng, &B)) {
      test_fail(__FILE__, __LINE__, "%s: not a valid shape", shape);
      return;
    }
    reference(&d, &B);
    for (int t = 0; t < ntiers; t++) {
      vconv_local2d_op *op;
      CHECK_STATUS(vconv_local2d_create_for_isa(&d, tiers[t], B.w, B.b, &op), VCONV_OK);
      if (!op) continue;
      char name[320];
      snprintf(name, sizeof name, "%s [%s]", shape, tiers[t] == VCONV_ISA_AUTO ? "dispatch" : vconv_local2d_kernel_name(op));
      check_op(op, &B, name);
      vconv_local2d_destroy(op);
    }
    bufs_free(&B);
  }
}

static vconv_local2d_desc base_desc(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R,
                                    int64_t S) {
  vconv_local2d_desc d;
  vconv_local2d_desc_init(&d);
  d.batch = N;
  d.in_channels = C;
  d.in_height = H;
  d.in_width = W;
  d.out_channels = K;
  d.kernel_h = R;
  d.kernel_w = S;
  return d;
}

/* ---- LeNet-5 --------------------------------------------------------------- */

static void lenet(test_rng *rng) {
  /* C1: 1 -> 6 maps 5x5 on 32x32 (28x28); C3's geometry dense: 6 -> 16 5x5 on 14x14. */
  const int64_t c1_tiles[][2] = {{0, 0}, {1, 1}, {2, 2}, {7, 4}, {14, 28}};
  const int64_t c3_tiles[][2] = {{0, 0}, {2, 2}, {5, 1}};
  for (size_t i = 0; i < sizeof c1_tiles / sizeof c1_tiles[0]; i++) {
    vconv_local2d_desc d = base_desc(opt_quick ? 1 : 3, 1, 32, 32, 6, 5, 5);
    d.tile_h = c1_tiles[i][0];
    d.tile_w = c1_tiles[i][1];
    d.bias = i % 2 ? VCONV_LOCAL_BIAS_CHANNEL : VCONV_LOCAL_BIAS_POSITION;
    d.activation = VCONV_ACTIVATION_RELU;
    run_case(&d, rng);
  }
  for (size_t i = 0; i < sizeof c3_tiles / sizeof c3_tiles[0]; i++) {
    vconv_local2d_desc d = base_desc(opt_quick ? 2 : 5, 6, 14, 14, 16, 5, 5);
    d.tile_h = c3_tiles[i][0];
    d.tile_w = c3_tiles[i][1];
    d.bias = VCONV_LOCAL_BIAS_POSITION;
    run_case(&d, rng);
  }
  /* Parameter counts of C1 locally connected: 28 * 28 kernels of 6 x 25, a bias per output. */
  vconv_local2d_desc d = base_desc(1, 1, 32, 32, 6, 5, 5);
  d.bias = VCONV_LOCAL_BIAS_POSITION;
  int64_t nw = 0, nb = 0;
  CHECK_STATUS(vconv_local2d_param_count(&d, &nw, &nb), VCONV_OK);
  CHECK(nw == 117600 && nb == 4704, "LeNet C1 locally connected: %lld weights, %lld biases", (long long)nw,
        (long long)nb);
}

/* ---- random shapes --------------------------------------------------------- */

static int64_t random_divisor(test_rng *rng, int64_t n) {
  for (;;) {
    const int64_t t = rng_range(rng, 1, n);
    if (n % t == 0) return t;
  }
}

static void random_shapes(test_rng *rng) {
  const int count = opt_quick ? 40 : 150;
  for (int i = 0; i < count;) {
    vconv_local2d_desc d;
    vconv_local2d_desc_init(&d);
    d.groups = rng_chance(rng, 1, 4) ? rng_range(rng, 2, 3) : 1;
    d.batch = rng_chance(rng, 1, 8) ? rng_range(rng, 5, 18) : rng_range(rng, 1, 4);
    d.in_channels = d.groups * rng_range(rng, 1, 5);
    d.out_channels = d.groups * (rng_chance(rng, 1, 3) ? rng_range(rng, 9, 70) : rng_range(rng, 1, 8));
    d.in_height = rng_range(rng, 1, 11);
    d.in_width = rng_range(rng, 1, 11);
    d.kernel_h = rng_range(rng, 1, 4);
    d.kernel_w = rng_range(rng, 1, 4);
    d.stride_h = rng_range(rng, 1, 3);
    d.stride_w = rng_range(rng, 1, 3);
    d.dilation_h = rng_chance(rng, 1, 4) ? 2 : 1;
    d.dilation_w = rng_chance(rng, 1, 4) ? 2 : 1;
    d.padding_mode = (vconv_padding_mode)rng_range(rng, 0, 4);
    d.pad_top = rng_range(rng, 0, 2);
    d.pad_bottom = rng_range(rng, 0, 2);
    d.pad_left = rng_range(rng, 0, 2);
    d.pad_right = rng_range(rng, 0, 2);
    d.activation = (vconv_activation)rng_range(rng, 0, 2);
    d.act_min = -0.5f;
    d.act_max = 0.25f;
    d.bias = (vconv_local_bias)rng_range(rng, 0, 2);
    int64_t P, Q;
    if (vconv_local2d_output_size(&d, &P, &Q) != VCONV_OK) continue;
    /* Work of the reference: keep the suite short. */
    if (d.batch * d.out_channels * P * Q * (d.in_channels / d.groups) * d.kernel_h * d.kernel_w >
        (opt_quick ? 200000 : 600000))
      continue;
    const int kind_h = (int)rng_range(rng, 0, 2), kind_w = (int)rng_range(rng, 0, 2);
    d.tile_h = kind_h == 0 ? 0 : kind_h == 1 ? 1 : random_divisor(rng, P);
    d.tile_w = kind_w == 0 ? 0 : kind_w == 1 ? 1 : random_divisor(rng, Q);
    run_case(&d, rng);
    i++;
  }
}

/* ---- golden identities ----------------------------------------------------- */

/* y of vconv_conv2d (direct, the tier) with OIHW weights w and bias b. */
static void conv_forward(const vconv_local2d_desc *d, vconv_isa isa, const float *x, const float *w,
                         const float *b, float *y) {
  vconv_conv2d_desc c;
  local_ref_conv_desc(d, &c);
  vconv_conv2d_op *op;
  CHECK_STATUS(vconv_conv2d_create_for_isa(&c, VCONV_ALGO_DIRECT, isa, w, b, &op), VCONV_OK);
  if (op) CHECK_STATUS(vconv_conv2d_run(op, x, y, NULL, 0, NULL), VCONV_OK);
  vconv_conv2d_destroy(op);
}

static void golden(test_rng *rng) {
  const int64_t shapes[][8] = {
      /* N C H W K R S stride */
      {2, 1, 32, 32, 6, 5, 5, 1},  {2, 6, 14, 14, 16, 5, 5, 1}, {3, 4, 9, 7, 19, 3, 3, 2},
      {1, 3, 11, 13, 33, 3, 2, 1}, {5, 2, 6, 6, 7, 1, 1, 1},
  };
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
    for (int l = 0; l < 2; l++) {
      const int64_t *v = shapes[i];
      vconv_local2d_desc d = base_desc(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
      d.stride_h = d.stride_w = v[7];
      d.padding_mode = i % 2 ? VCONV_PADDING_SAME : VCONV_PADDING_VALID;
      d.layout = l ? VCONV_LAYOUT_NHWC : VCONV_LAYOUT_NCHW;
      d.bias = VCONV_LOCAL_BIAS_CHANNEL;
      int64_t P, Q;
      CHECK_STATUS(vconv_local2d_output_size(&d, &P, &Q), VCONV_OK);
      const size_t nx = (size_t)(d.batch * d.in_channels * d.in_height * d.in_width);
      const size_t ny = (size_t)(d.batch * d.out_channels * P * Q);
      const size_t kw = (size_t)(d.out_channels * d.in_channels * d.kernel_h * d.kernel_w);
      float *x = randoms(rng, nx), *w = randoms(rng, kw), *b = randoms(rng, (size_t)d.out_channels);
      /* The locally connected layer with every kernel equal to w, and its bias per position. */
      float *wl = xmalloc(kw * (size_t)(P * Q) * sizeof(float));
      float *bl = xmalloc((size_t)(d.out_channels * P * Q) * sizeof(float));
      for (int64_t pq = 0; pq < P * Q; pq++) {
        memcpy(wl + (size_t)pq * kw, w, kw * sizeof(float));
        memcpy(bl + pq * d.out_channels, b, (size_t)d.out_channels * sizeof(float));
      }
      double *yr = xmalloc(ny * sizeof(double)), *ya = xmalloc(ny * sizeof(double));
      int32_t *yn = xmalloc(ny * sizeof(int32_t));
      float *yc = xmalloc(ny * sizeof(float)), *yt = xmalloc(ny * sizeof(float)),
            *yl = xmalloc(ny * sizeof(float));
      d.tile_h = d.tile_w = 1;
      CHECK(local_ref_forward(&d, x, w, b, yr, ya, yn) == REF_OK, "reference");
      for (int t = 0; t < ntiers; t++) {
        vconv_local2d_desc dl = d;
        vconv_local2d_op *tiled, *lc;
        CHECK_STATUS(vconv_local2d_create_for_isa(&d, tiers[t], w, b, &tiled), VCONV_OK);
        dl.tile_h = dl.tile_w = 0;
        dl.bias = VCONV_LOCAL_BIAS_POSITION;
        CHECK_STATUS(vconv_local2d_create_for_isa(&dl, tiers[t], wl, bl, &lc), VCONV_OK);
        if (!tiled || !lc) continue;
        conv_forward(&d, vconv_local2d_isa(tiled), x, w, b, yc);
        CHECK_STATUS(vconv_local2d_run(tiled, x, yt, NULL, 0, NULL), VCONV_OK);
        CHECK_STATUS(vconv_local2d_run(lc, x, yl, NULL, 0, NULL), VCONV_OK);
        size_t bad = 0;
        for (size_t j = 0; j < ny; j++) {
          /* Each within tol of the exact result, so within 2 tol of each other. */
          const double tol = 2 * ref_conv_tol(yn[j], ya[j]);
          if (!(fabs((double)yt[j] - yc[j]) <= tol) || !(fabs((double)yl[j] - yc[j]) <= tol)) bad++;
        }
        CHECK(bad == 0, "golden shape %zu %s [%s]: %zu outputs of tile 1x1 / equal kernels differ from conv2d",
              i, l ? "NHWC" : "NCHW", vconv_local2d_kernel_name(tiled), bad);
        /* And the tile 1x1 and the equal-kernel layer give the same bits: the same sums. */
        CHECK(same_bits(yt, yl, ny), "golden shape %zu [%s]: tile 1x1 and equal kernels differ in bits",
              i, vconv_local2d_kernel_name(tiled));
        vconv_local2d_destroy(tiled);
        vconv_local2d_destroy(lc);
      }
      void *f[] = {x, w, b, wl, bl, yr, ya, yn, yc, yt, yl};
      for (size_t j = 0; j < sizeof f / sizeof f[0]; j++) free(f[j]);
    }
}

/* ---- bad input ------------------------------------------------------------- */

static float w_zero[6 * 25 * 28 * 28], b_zero[6 * 28 * 28];

static void bad_input(void) {
  float *w = w_zero, *b = b_zero, x[32 * 32] = {0}, y[6 * 28 * 28];
  vconv_local2d_desc d = base_desc(1, 1, 32, 32, 6, 5, 5);
  vconv_local2d_op *op = (vconv_local2d_op *)&d;
  CHECK_STATUS(vconv_local2d_create(&d, w, NULL, NULL), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_local2d_create(NULL, w, NULL, &op), VCONV_ERR_NULL_POINTER);
  CHECK(op == NULL, "*op not NULL after a failed create");
  CHECK_STATUS(vconv_local2d_create(&d, NULL, NULL, &op), VCONV_ERR_NULL_POINTER);
  d.bias = VCONV_LOCAL_BIAS_CHANNEL;
  CHECK_STATUS(vconv_local2d_create(&d, w, NULL, &op), VCONV_ERR_NULL_POINTER);
  d.bias = (vconv_local_bias)3;
  CHECK_STATUS(vconv_local2d_create(&d, w, b, &op), VCONV_ERR_INVALID_ARGUMENT);
  d.bias = VCONV_LOCAL_BIAS_NONE;
  /* The tile: negative, beyond the output (28), not dividing it. */
  const int64_t bad_tiles[] = {-1, 29, 3, 5, INT64_MIN, INT64_MAX};
  for (size_t i = 0; i < sizeof bad_tiles / sizeof bad_tiles[0]; i++) {
    vconv_local2d_desc e = d;
    e.tile_h = bad_tiles[i];
    CHECK_STATUS(vconv_local2d_create(&e, w, b, &op), VCONV_ERR_INVALID_TILE);
    e = d;
    e.tile_w = bad_tiles[i];
    int64_t P, Q;
    CHECK_STATUS(vconv_local2d_output_size(&e, &P, &Q), VCONV_ERR_INVALID_TILE);
  }
  /* The convolution's own checks come first, with their statuses. */
  vconv_local2d_desc e = d;
  e.stride_h = 0;
  CHECK_STATUS(vconv_local2d_create(&e, w, b, &op), VCONV_ERR_INVALID_STRIDE);
  e = d;
  e.groups = 4;
  CHECK_STATUS(vconv_local2d_create(&e, w, b, &op), VCONV_ERR_INVALID_GROUPS);
  e = d;
  e.layout = (vconv_layout)7;
  CHECK_STATUS(vconv_local2d_create(&e, w, b, &op), VCONV_ERR_INVALID_LAYOUT);
  e = d;
  e.kernel_h = 33;
  CHECK_STATUS(vconv_local2d_create(&e, w, b, &op), VCONV_ERR_KERNEL_TOO_LARGE);
  e = d;
  e.in_height = VCONV_MAX_EXTENT + 1;
  CHECK_STATUS(vconv_local2d_create(&e, w, b, &op), VCONV_ERR_SIZE_OVERFLOW);
  /* One kernel's weights fit (2^20), a kernel per position does not: 2^22 positions x 2^20. */
  e = base_desc(1, 1024, 2048 + 31, 2048 + 31, 1, 32, 32);
  int64_t nw = 0;
  CHECK_STATUS(vconv_local2d_param_count(&e, &nw, NULL), VCONV_ERR_SIZE_OVERFLOW);
  CHECK_STATUS(vconv_local2d_create(&e, w, b, &op), VCONV_ERR_SIZE_OVERFLOW);
  e.tile_h = e.tile_w = 1;
  CHECK_STATUS(vconv_local2d_param_count(&e, &nw, NULL), VCONV_OK);
  CHECK(nw == 1 << 20, "one kernel of 2^20 weights: %lld", (long long)nw);
  e.tile_h = e.tile_w = 2048; /* the whole output again, named */
  CHECK_STATUS(vconv_local2d_param_count(&e, &nw, NULL), VCONV_ERR_SIZE_OVERFLOW);
  /* Product past int64 before any limit: 2^31-ish everywhere. */
  e = base_desc(1, 1, VCONV_MAX_EXTENT, 1, VCONV_MAX_EXTENT, 1, 1);
  CHECK(vconv_local2d_param_count(&e, &nw, NULL) == VCONV_ERR_SIZE_OVERFLOW, "int64 product");
  /* Tiers. */
  CHECK_STATUS(vconv_local2d_create_for_isa(&d, (vconv_isa)99, w, b, &op), VCONV_ERR_INVALID_ISA);
#if defined(__x86_64__) || defined(__i386__)
  CHECK_STATUS(vconv_local2d_create_for_isa(&d, VCONV_ISA_NEON, w, b, &op), VCONV_ERR_ISA_UNAVAILABLE);
#else
  CHECK_STATUS(vconv_local2d_create_for_isa(&d, VCONV_ISA_AVX2, w, b, &op), VCONV_ERR_ISA_UNAVAILABLE);
#endif
  CHECK(op == NULL, "*op not NULL after a failed create");
  /* Run-time pointers. */
  CHECK_STATUS(vconv_local2d_create(&d, w, b, &op), VCONV_OK);
  CHECK_STATUS(vconv_local2d_run(op, NULL, y, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_local2d_run(op, x, NULL, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_local2d_run(NULL, x, y, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_local2d_backward_data(op, NULL, x, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_local2d_backward_weights(op, x, y, NULL, NULL, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_local2d_backward_weights(op, NULL, y, w, NULL, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  const size_t need = vconv_local2d_workspace_size(op, NULL);
  CHECK(need > 0, "the backward passes of an NCHW layer need a panel");
  unsigned char small[64];
  CHECK_STATUS(vconv_local2d_backward_data(op, y, x, small, sizeof small < need ? sizeof small : 0, NULL),
               VCONV_ERR_WORKSPACE_TOO_SMALL);
  CHECK(vconv_local2d_workspace_size(NULL, NULL) == 0, "workspace of NULL");
  CHECK(vconv_local2d_kernel_name(NULL) == NULL, "name of NULL");
  vconv_local2d_destroy(op);
  vconv_local2d_destroy(NULL);
  vconv_isa isa;
  CHECK_STATUS(vconv_local2d_variant(vconv_local2d_variant_count(), &isa), VCONV_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(vconv_local2d_variant(0, NULL), VCONV_ERR_NULL_POINTER);
  const char *t = vconv_status_string(VCONV_ERR_INVALID_TILE);
  CHECK(t && strcmp(t, vconv_status_string(VCONV_ERR_INVALID_ARGUMENT)) != 0 &&
            strcmp(t, vconv_status_string((vconv_status)999)) != 0,
        "VCONV_ERR_INVALID_TILE needs its own text");
}

/* The dispatcher picks the effective (capped) tier. */
static void dispatch_pick(void) {
  const float *w = w_zero;
  vconv_local2d_desc d = base_desc(1, 1, 32, 32, 6, 5, 5);
  vconv_local2d_op *op;
  CHECK_STATUS(vconv_local2d_create(&d, w, NULL, &op), VCONV_OK);
  if (!op) return;
  CHECK(vconv_local2d_isa(op) == vconv_isa_effective(), "dispatch: %s", vconv_local2d_kernel_name(op));
  char want[32];
  snprintf(want, sizeof want, "local/%s", vconv_isa_name(vconv_isa_effective()));
  CHECK(strcmp(vconv_local2d_kernel_name(op), want) == 0, "kernel name %s", vconv_local2d_kernel_name(op));
  const char *e = getenv("VCONV_EXPECT_ISA");
  vconv_isa expect;
  if (e && *e && vconv_isa_from_name(e, &expect) == VCONV_OK)
    CHECK(vconv_local2d_isa(op) == expect, "VCONV_EXPECT_ISA=%s, dispatch picked %s", e,
          vconv_local2d_kernel_name(op));
  vconv_local2d_destroy(op);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--quick") == 0) opt_quick = 1;
  if (env_flag("VCONV_PARITY_QUICK")) opt_quick = 1;
  const char *tier = getenv("VCONV_PARITY_TIER");
  if (tier && *tier) {
    vconv_isa t;
    if (vconv_isa_from_name(tier, &t) != VCONV_OK) {
      printf("FAIL: VCONV_PARITY_TIER=%s is not a tier name\n", tier);
      return 1;
    }
    opt_tier = (int)t;
  }
  const char *seed = getenv("VCONV_PARITY_SEED");
  if (seed && *seed) opt_seed = strtoull(seed, NULL, 0);
  find_tiers();
  test_rng rng;
  rng_seed(&rng, opt_seed);
  const double t0 = test_now();
  bad_input();
  dispatch_pick();
  lenet(&rng);
  golden(&rng);
  random_shapes(&rng);
  printf("tiers:");
  for (int t = 0; t < ntiers; t++) printf(" %s", vconv_isa_name(tiers[t]));
  printf("; %.1f s\n", test_now() - t0);
  return test_summary("local");
}
