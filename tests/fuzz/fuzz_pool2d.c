/*
 * Fuzz target: 2-D pooling, every kind, forward (run and run_with_indices)
 * and backward, on every pooling variant this CPU runs, through the
 * dispatcher and with arbitrary tier values.
 *
 * Checked on every input the library accepts: run() writes every output and
 * nothing else (guard pages after every buffer), run_with_indices() gives the
 * same bits and indices inside the plane (or UNSUPPORTED_OPTION for the kinds
 * without them), backward() overwrites all of grad_input, a needed NULL is
 * NULL_POINTER, and the calling thread alone gives the same bits.  Where the
 * shape is small enough and the data within the bounds' assumptions (NaN,
 * +-inf, +-0 and subnormals are; values whose products overflow are not),
 * outputs, indices and gradients are compared with the float64 reference and
 * the bounds of tests/pool_ref.c (the ones tests/test_pool.c checks).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pool_ref.h"
#include "ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WEIGHTS 4096

static const vconv_pool2d_desc *cur_desc;
static const char *cur_what = "";

_Noreturn static void fail(const char *msg, long long a, long long b) {
  if (cur_desc) fz_describe_pool(cur_desc);
  fz_fail("pool2d %s: %s (%lld, %lld)", cur_what, msg, a, b);
}

/* Bit for bit, except that any NaN matches any NaN (which NaN is not
 * specified; tests/test_pool.c compares the same way). */
static int same_bits(const float *a, const float *b, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (memcmp(&a[i], &b[i], sizeof(float)) != 0 && !(isnan(a[i]) && isnan(b[i]))) return 0;
  return 1;
}

/* Valid weights are finite and >= 0; the bounds also assume no product overflows. */
static float weight(fz *f) {
  if (!f->tame) return fz_float(f);
  const uint8_t b = fz_u8(f);
  static const float tiny[] = {0.0f, 1e-40f, 0x1p-149f, 0x1p-126f, 1e-30f};
  return b < 0xe0 ? (float)b / 16.0f : tiny[b % 5];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz f;
  fz_init(&f, data, size);
  vconv_pool2d_desc d;
  vconv_pool2d_desc_init(&d);
  d.batch = fz_field(&f, 1, 3);
  d.channels = fz_field(&f, 1, 9);
  d.in_height = fz_field(&f, 1, 16);
  d.in_width = fz_field(&f, 1, 16);
  d.kind = (vconv_pool_kind)fz_enum(&f, 0, 6);
  d.window_h = fz_field(&f, 1, 5);
  d.window_w = fz_field(&f, 1, 5);
  d.stride_h = fz_field(&f, 1, 3);
  d.stride_w = fz_field(&f, 1, 3);
  d.pad_top = fz_field(&f, 0, 2);
  d.pad_bottom = fz_field(&f, 0, 2);
  d.pad_left = fz_field(&f, 0, 2);
  d.pad_right = fz_field(&f, 0, 2);
  d.padding_mode = (vconv_padding_mode)fz_enum(&f, 0, 4); /* FULL (3) is refused */
  d.ceil_mode = fz_enum(&f, 0, 1);
  d.layout = (vconv_layout)fz_enum(&f, 0, 1);
  const int max_dil = d.kind == VCONV_POOL_WEIGHTED || d.kind == VCONV_POOL_STOCHASTIC ? 1 : 3;
  d.dilation_h = fz_field(&f, 1, max_dil);
  d.dilation_w = fz_field(&f, 1, max_dil);
  const uint8_t opts = fz_u8(&f);
  d.global = (opts & 7) == 7;
  d.training = (opts >> 3) & 1;
  d.seed = fz_u64(&f);
  if (d.kind == VCONV_POOL_LP) {
    /* Tame: the norms a binding passes (p = 2 is the L2 kernel), and two
     * that create must refuse; wild: any double. */
    static const double ps[] = {1.0, 1.5, 2.0, 3.0, 4.5, 7.0, 0.5, INFINITY};
    d.norm_p = f.tame ? ps[fz_u8(&f) % 8] : (double)fz_float(&f);
  }
  const fz_data xspec = fz_data_spec(&f, -100, 50, 1), gspec = fz_data_spec(&f, -60, 30, 0);
  cur_desc = &d;
  cur_what = "create";

  /* Window weights, exactly as many as the kind reads, behind a guard page. */
  fbuf wb = {0};
  int plain_weights = 1;
  if (d.kind == VCONV_POOL_WEIGHTED && !(opts & 0x40)) {
    int64_t nw = -1;
    if (d.global) {
      if (!fz_mul(d.in_height, d.in_width, &nw) || d.in_height < 1 || d.in_width < 1) nw = -1;
    } else if (d.window_h >= 1 && d.window_w >= 1 && !fz_mul(d.window_h, d.window_w, &nw)) {
      nw = -1;
    }
    if (nw >= 1 && nw <= MAX_WEIGHTS) {
      float *w = fbuf_alloc(&wb, (size_t)nw * sizeof(float), opts & 0x80);
      for (int64_t i = 0; i < nw; i++) {
        w[i] = weight(&f);
        if (!(w[i] >= 0.0f && w[i] <= 0x1p20f)) plain_weights = 0;
      }
      d.window_weights = w;
    } else if (nw > MAX_WEIGHTS) {
      /* A window this large may be valid (SAME pads up to it) and then reads
       * all its weights: more than this target allocates. */
      return 0;
    } else {
      /* No count defined: the descriptor must be rejected before one weight
       * is read. */
      d.window_weights = fbuf_alloc(&wb, sizeof(float), 0);
    }
  }

  const size_t nv = vconv_pool2d_variant_count();
  const size_t sel = fz_u8(&f) % (nv + 2);
  vconv_isa vi = VCONV_ISA_AUTO;
  if (sel < nv) {
    if (vconv_pool2d_variant(sel, &vi) != VCONV_OK) fail("variant index refused", (long long)sel, 0);
  } else if (sel == nv + 1) {
    vi = (vconv_isa)fz_enum(&f, -1, VCONV_ISA_COUNT - 1);
  }
  fz_pool pool;
  const vconv_parallel *par = fz_parallel(&f, &pool);
  const uint8_t bmode = fz_u8(&f);

  int64_t P = -1, Q = -1;
  const vconv_status os = vconv_pool2d_output_size(&d, &P, &Q);
  if (os == VCONV_OK && (P < 1 || Q < 1)) fail("output_size OK with an empty output", P, Q);
  const int64_t fields[] = {d.batch, d.channels, d.in_height, d.in_width, d.window_h, d.window_w,
                            d.stride_h, d.stride_w, d.pad_top, d.pad_bottom, d.pad_left,
                            d.pad_right, d.dilation_h, d.dilation_w};
  const int in_ref_range = fz_ref_range(fields, sizeof fields / sizeof fields[0]);
  geom g;
  const int have_geom = in_ref_range && make_geom(&d, &g) == 0;
  if (os == VCONV_OK && in_ref_range && (!have_geom || g.P != P || g.Q != Q))
    fail("output_size disagrees with the reference geometry", P, Q);

  vconv_pool2d_op *op = (vconv_pool2d_op *)&f; /* not NULL: a failed create must clear it */
  const vconv_status st0 = sel == nv ? vconv_pool2d_create(&d, &op) : vconv_pool2d_create_for_isa(&d, vi, &op);
  if (st0 != VCONV_OK) {
    if (op) fail("failed create left *op set", st0, 0);
    goto done;
  }
  if (!op) fail("create OK without an operator", 0, 0);
  if (os != VCONV_OK) fail("create accepts what output_size rejects", os, 0);
  const vconv_isa is = vconv_pool2d_isa(op);
  if (!vconv_isa_available(is)) fail("operator on a tier that cannot run here", is, 0);
  if (vi != VCONV_ISA_AUTO && is != vi) fail("operator on another tier than asked", is, vi);
  {
    char want[32];
    snprintf(want, sizeof want, "pool/%s", vconv_isa_name(is));
    const char *nm = vconv_pool2d_kernel_name(op);
    if (!nm || strcmp(nm, want) != 0) fail("kernel_name is not pool/<tier>", is, 0);
  }
  /* Weights are copied at create. */
  float *wcopy = NULL;
  if (d.window_weights && wb.bytes) {
    wcopy = malloc(wb.bytes);
    memcpy(wcopy, d.window_weights, wb.bytes);
    for (size_t i = 0; i < wb.bytes / sizeof(float); i++) ((float *)wb.data)[i] = NAN;
  }

  cur_what = "run";
  const int64_t N = d.batch, C = d.channels, H = d.in_height, W = d.in_width;
  const int64_t nin = fz_prod4(N, C, H, W), nout = fz_prod4(N, C, P, Q);
  const int64_t R = d.global ? H : d.window_h, S = d.global ? W : d.window_w;
  int64_t taps = -1, work = -1, plane = -1;
  if (!fz_mul(R, S, &taps)) taps = -1;
  if (!fz_mul(H, W, &plane)) plane = -1;
  /* A kernel visits the taps inside the input, however large the window. */
  const int64_t visited = taps >= 0 && taps < plane ? taps : plane;
  if (nout < 0 || visited < 0 || !fz_mul(nout, visited, &work)) work = -1;
  const size_t wsz = vconv_pool2d_workspace_size(op, par);
  if (nin < 0 || nin > FZ_MAX_FLOATS || nout < 0 || nout > FZ_MAX_FLOATS || work < 0 ||
      work > FZ_MAX_RUN_WORK)
    goto destroy;
  /* The header: no scratch for rows up to a few thousand floats; these rows
   * are far shorter than a GiB whatever the thread count. */
  if (wsz > ((size_t)1 << 30)) fail("workspace above 1 GiB for small tensors", (long long)(wsz >> 20), nout);

  fbuf xb, yb, ib, gyb, gxb;
  float *x = fbuf_alloc(&xb, (size_t)nin * sizeof(float), bmode & 1);
  fz_fill(&xspec, x, (size_t)nin);
  float *xsave = malloc(sizeof(float) * (size_t)(nin ? nin : 1));
  memcpy(xsave, x, sizeof(float) * (size_t)nin);
  float *y = fbuf_alloc(&yb, (size_t)nout * sizeof(float), bmode & 2);
  for (int64_t i = 0; i < nout; i++) y[i] = fz_sentinel();
  int32_t *idx = fbuf_alloc(&ib, (size_t)nout * sizeof(int32_t), bmode & 4);
  unsigned char *wsblock = NULL;
  void *ws = NULL;
  if ((bmode & 8) && wsz) {
    const size_t mis = fz_u8(&f) % 64;
    wsblock = malloc(wsz + mis);
    ws = wsblock + mis;
  }
  vconv_status st = vconv_pool2d_run(op, x, y, ws, wsz, par);
  if (st != VCONV_OK) fail("run failed on an operator create accepted", st, 0);
  if (memcmp(x, xsave, sizeof(float) * (size_t)nin) != 0) fail("run modified its input", 0, 0);
  for (int64_t i = 0; i < nout; i++)
    if (fz_is_sentinel(y[i])) fail("output element never written", i, nout);
  float *y0 = malloc(sizeof(float) * (size_t)(nout ? nout : 1));
  memcpy(y0, y, sizeof(float) * (size_t)nout);
  if (pool.calls && pool.par.threads > 1) {
    st = vconv_pool2d_run(op, x, y, NULL, 0, NULL);
    if (st != VCONV_OK || !same_bits(y, y0, nout)) fail("results differ between thread counts", st, 0);
  }

  cur_what = "run_with_indices";
  const int with_idx = has_indices(&d);
  st = vconv_pool2d_run_with_indices(op, x, y, idx, ws, wsz, par);
  if (!with_idx) {
    if (st != VCONV_ERR_UNSUPPORTED_OPTION) fail("indices of a kind without a source tap", st, d.kind);
    int64_t none; /* refused before anything is written */
    if (vconv_pool2d_flat_indices(op, idx, &none) != VCONV_ERR_UNSUPPORTED_OPTION)
      fail("flat_indices of a kind without indices", d.kind, 0);
  } else {
    if (st != VCONV_OK) fail("run_with_indices failed", st, 0);
    if (!same_bits(y, y0, nout)) fail("run_with_indices output differs from run's", 0, 0);
    for (int64_t i = 0; i < nout; i++)
      if (idx[i] < -1 || idx[i] >= plane) fail("index outside the input plane", i, idx[i]);
    /* The flat N, C, H, W form, element by element in the descriptor's layout. */
    cur_what = "flat_indices";
    fbuf fb;
    int64_t *flat = fbuf_alloc(&fb, (size_t)nout * sizeof(int64_t), 0);
    if ((st = vconv_pool2d_flat_indices(op, idx, flat)) != VCONV_OK) fail("flat_indices failed", st, 0);
    for (int64_t n = 0; n < N && nout > 0; n++) /* nout: N may be huge when C is 0 */
      for (int64_t c = 0; c < C; c++)
        for (int64_t p = 0; p < P; p++)
          for (int64_t q = 0; q < Q; q++) {
            const int64_t li = ref_index(d.layout, C, P, Q, n, c, p, q);
            const int64_t want = idx[li] < 0 ? -1 : (n * C + c) * plane + idx[li];
            if (flat[li] != want) fail("flat index differs from ((n C + c) H + h) W + w", flat[li], want);
          }
    fbuf_free(&fb);
  }

  /* The reference: logical NCHW, one plane at a time. */
  int64_t ref_work = -1; /* the reference visits every tap of every window */
  /* The Lp bound counts ceil(p) roundings of pow: only moderate p. */
  const int ref_ok = have_geom && plain_weights && taps >= 0 &&
                     (d.kind != VCONV_POOL_LP || d.norm_p <= 64.0) && fz_mul(nout, taps, &ref_work) &&
                     ref_work <= FZ_MAX_REF_WORK;
  float *xn = NULL, *yn = NULL;
  refout *ref = NULL;
  if (ref_ok) {
    cur_what = "reference comparison";
    xn = malloc(sizeof(float) * (size_t)(nin ? nin : 1));
    yn = malloc(sizeof(float) * (size_t)(nout ? nout : 1));
    ref = malloc(sizeof(refout) * (size_t)(nout ? nout : 1));
    ref_relayout(xsave, d.layout, xn, VCONV_LAYOUT_NCHW, N, C, H, W);
    ref_relayout(y0, d.layout, yn, VCONV_LAYOUT_NCHW, N, C, P, Q);
    for (int64_t pl = 0; pl < N * C && nout > 0; pl++)
      for (int64_t p = 0; p < P; p++)
        for (int64_t q = 0; q < Q; q++) {
          const int64_t o = (pl * P + p) * Q + q;
          ref[o] = ref_window(&d, &g, xn + pl * H * W, wcopy, o, p, q);
          double ratio;
          if (!check_out(&ref[o], yn[o], &ratio)) {
            fprintf(stderr, "  %s: y[plane %lld, p=%lld q=%lld] = %.9g, reference %.17g%s (tol %.3g)\n",
                    vconv_pool2d_kernel_name(op), (long long)pl, (long long)p, (long long)q,
                    (double)yn[o], ref[o].exact ? (double)ref[o].want : ref[o].y,
                    ref[o].exact ? " exactly" : "", ref[o].tol);
            fail("output outside the error bound", o, nout);
          }
        }
    if (with_idx) {
      for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
          for (int64_t p = 0; p < P; p++)
            for (int64_t q = 0; q < Q; q++) {
              const int64_t o = ((n * C + c) * P + p) * Q + q;
              const int32_t got = idx[ref_index(d.layout, C, P, Q, n, c, p, q)];
              if (got != ref[o].idx) fail("index differs from the reference's", got, ref[o].idx);
            }
    }
  }

  cur_what = "backward";
  float *gy = fbuf_alloc(&gyb, (size_t)nout * sizeof(float), bmode & 16);
  fz_fill(&gspec, gy, (size_t)nout);
  float *gx = fbuf_alloc(&gxb, (size_t)nin * sizeof(float), bmode & 32);
  for (int64_t i = 0; i < nin; i++) gx[i] = fz_sentinel();
  /* Minimal arguments (what the header says the kind needs), or all of them. */
  const int full = (bmode >> 6) & 1, use_idx = with_idx && !full && ((bmode >> 7) & 1);
  const int lp = d.kind == VCONV_POOL_L2 || d.kind == VCONV_POOL_LP;
  const int needs_x = lp || (d.kind == VCONV_POOL_STOCHASTIC && !d.training) ||
                      (with_idx && !use_idx);
  const int needs_y = lp;
  const float *x_arg = full || needs_x ? x : NULL, *y_arg = full || needs_y ? y0 : NULL;
  /* One needed argument left out: VCONV_ERR_NULL_POINTER, nothing else. */
  const uint8_t drop = fz_u8(&f);
  if (drop >= 0xe0 && (needs_x || needs_y)) {
    st = vconv_pool2d_backward(op, needs_x ? NULL : x_arg, needs_x ? y_arg : NULL,
                               use_idx ? idx : NULL, gy, gx, ws, wsz, par);
    if (st != VCONV_ERR_NULL_POINTER) fail("backward without a needed argument", st, needs_x);
  }
  /* Caller indices outside [-1, H * W): refused, and nothing written. */
  const uint8_t corrupt = fz_u8(&f);
  if (with_idx && nout > 0 && corrupt >= 0xc0) {
    cur_what = "backward with a bad index";
    static const int32_t bad[] = {-2, INT32_MIN, INT32_MAX, 0};
    int32_t *idx2 = malloc(sizeof(int32_t) * (size_t)nout);
    memcpy(idx2, idx, sizeof(int32_t) * (size_t)nout);
    const int64_t at = fz_u8(&f) % nout;
    idx2[at] = (corrupt & 3) == 3 ? (int32_t)plane : bad[corrupt & 3];
    int64_t *flat = malloc(sizeof(int64_t) * (size_t)nout);
    for (int64_t i = 0; i < nout; i++) flat[i] = -7;
    if ((st = vconv_pool2d_flat_indices(op, idx2, flat)) != VCONV_ERR_INVALID_ARGUMENT)
      fail("flat_indices took an index outside the plane", st, idx2[at]);
    for (int64_t i = 0; i < nout; i++)
      if (flat[i] != -7) fail("flat_indices wrote before refusing", i, flat[i]);
    if ((st = vconv_pool2d_backward(op, x_arg, y_arg, idx2, gy, gx, ws, wsz, par)) != VCONV_ERR_INVALID_ARGUMENT)
      fail("backward took an index outside the plane", st, idx2[at]);
    for (int64_t i = 0; i < nin; i++)
      if (!fz_is_sentinel(gx[i])) fail("backward wrote before refusing an index", i, nin);
    free(idx2);
    free(flat);
    cur_what = "backward";
  }
  st = vconv_pool2d_backward(op, x_arg, y_arg, use_idx ? idx : NULL, gy, gx, ws, wsz, par);
  if (st != VCONV_OK) fail("backward failed", st, full);
  for (int64_t i = 0; i < nin; i++)
    if (fz_is_sentinel(gx[i])) fail("grad_input element never written", i, nin);
  if (pool.calls && pool.par.threads > 1) {
    float *gx0 = malloc(sizeof(float) * (size_t)(nin ? nin : 1));
    memcpy(gx0, gx, sizeof(float) * (size_t)nin);
    st = vconv_pool2d_backward(op, x_arg, y_arg, use_idx ? idx : NULL, gy, gx, NULL, 0, NULL);
    if (st != VCONV_OK || !same_bits(gx, gx0, nin)) fail("gradients differ between thread counts", st, 0);
    free(gx0);
  }
  if (ref_ok) {
    float *gyn = malloc(sizeof(float) * (size_t)(nout ? nout : 1));
    double *gref = malloc(sizeof(double) * (size_t)(nin ? nin : 1) * 2), *gtol = gref + nin;
    ref_relayout(gy, d.layout, gyn, VCONV_LAYOUT_NCHW, N, C, P, Q);
    ref_backward(&d, &g, xn, wcopy, ref, yn, gyn, gref, gtol);
    for (int64_t n = 0; n < N; n++)
      for (int64_t c = 0; c < C; c++)
        for (int64_t h = 0; h < H; h++)
          for (int64_t w = 0; w < W; w++) {
            const int64_t i = ((n * C + c) * H + h) * W + w;
            const float got = gx[ref_index(d.layout, C, H, W, n, c, h, w)];
            const int ok = isnan(gref[i]) ? isnan(got) : !isnan(got) && fabs((double)got - gref[i]) <= gtol[i];
            if (!ok) {
              fprintf(stderr, "  %s: gx[n=%lld c=%lld h=%lld w=%lld] = %.9g, reference %.17g (tol %.3g)\n",
                      vconv_pool2d_kernel_name(op), (long long)n, (long long)c, (long long)h,
                      (long long)w, (double)got, gref[i], gtol[i]);
              fail("gradient outside the error bound", i, nin);
            }
          }
    free(gyn);
    free(gref);
  }
  free(xn);
  free(yn);
  free(ref);
  free(y0);
  free(xsave);
  free(wsblock);
  fbuf_free(&xb);
  fbuf_free(&yb);
  fbuf_free(&ib);
  fbuf_free(&gyb);
  fbuf_free(&gxb);
destroy:
  free(wcopy);
  vconv_pool2d_destroy(op);
done:
  fbuf_free(&wb);
  cur_desc = NULL;
  return 0;
}
