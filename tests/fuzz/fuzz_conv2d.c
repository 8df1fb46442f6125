/*
 * Fuzz target: 2-D convolution, create and run, on every kernel variant of
 * every tier this CPU runs (vconv_conv2d_variant / create_for_isa), through
 * the dispatcher (create, create_planned) and with arbitrary algorithm and
 * tier values.
 *
 * The input gives every descriptor field (small or extreme values, see
 * fuzz.h), the data, the caller's parallel-for and thread count, and the
 * workspace the run gets.  Checked on every input the library accepts: the
 * tier and names of the operator, that run() succeeds and writes every output
 * and nothing else (guard pages after input, weights and output), leaves its
 * input alone, and gives the same bits on the calling thread alone.  Where
 * the shape is small enough, every output is compared with the float64
 * reference (tests/ref.c) within the bound the parity suite uses: direct's
 * for direct and im2col, the tile's own (tests/wino_ref.c) for Winograd.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ref.h"
#include "wino_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TABLE 4096

static const vconv_conv2d_desc *cur_desc;
static int cur_bias;
static const char *cur_what = "";

static void describe(void) {
  if (cur_desc) fz_describe_conv(cur_desc, cur_bias);
}

_Noreturn static void fail(const char *msg, long long a, long long b) {
  describe();
  fz_fail("conv2d %s: %s (%lld, %lld)", cur_what, msg, a, b);
}

static void check_op(const vconv_conv2d_op *op, int explicit_variant, vconv_algorithm va,
                     vconv_isa vi, vconv_isa asked) {
  const vconv_algorithm al = vconv_conv2d_algorithm(op);
  const vconv_isa is = vconv_conv2d_isa(op);
  if (al == VCONV_ALGO_AUTO || !vconv_algorithm_name(al)) fail("operator without an algorithm", al, 0);
  if (!vconv_isa_available(is)) fail("operator on a tier that cannot run here", is, 0);
  if (explicit_variant && (al != va || is != vi)) fail("operator is not the variant asked for", al, is);
  if (asked != VCONV_ISA_AUTO && is != asked) fail("operator on another tier than asked", is, asked);
  char want[64];
  snprintf(want, sizeof want, "%s/%s", vconv_algorithm_name(al), vconv_isa_name(is));
  const char *nm = vconv_conv2d_kernel_name(op);
  if (!nm || strcmp(nm, want) != 0) fail("kernel_name disagrees with algorithm/isa", 0, 0);
}

/* update_weights gives the bits a new operator with the same plan and the
 * new weights gives (vconv.h), copies what it is given, and refuses what it
 * must.  The new weights are the old ones reversed and negated (unconnected
 * pairs stay NaN: they are never read), the new bias the old one negated. */
static void check_update(vconv_conv2d_op *op, const vconv_conv2d_desc *d, const float *wsave,
                         int64_t nw, const float *bsave, int bias, const float *x, int64_t nout,
                         void *ws, size_t wsn, const vconv_parallel *par) {
  cur_what = "update_weights";
  fbuf wb, bb = {0}, yb, zb;
  float *w2 = fbuf_alloc(&wb, sizeof(float) * (size_t)(nw ? nw : 1), 0);
  fz_update_weights(d, wsave, nw, w2);
  float *b2 = NULL;
  if (bias && bsave) {
    b2 = fbuf_alloc(&bb, sizeof(float) * (size_t)d->out_channels, 0);
    for (int64_t k = 0; k < d->out_channels; k++) b2[k] = -bsave[k];
  }
  vconv_status st = vconv_conv2d_update_weights(op, NULL, b2);
  if (st != VCONV_ERR_NULL_POINTER) fail("update_weights without weights", st, 0);
  if (!bias) {
    const float one = 1.0f;
    st = vconv_conv2d_update_weights(op, w2, &one);
    if (st != VCONV_ERR_INVALID_ARGUMENT) fail("update_weights gave a bias to an operator without one", st, 0);
  }
  st = vconv_conv2d_update_weights(op, w2, b2);
  if (st != VCONV_OK) fail("update_weights refused weights create accepted", st, 0);
  vconv_conv2d_op *fresh = NULL;
  st = vconv_conv2d_create_named(d, vconv_conv2d_plan_of(op), w2, bias ? b2 : NULL, &fresh);
  if (st != VCONV_OK) fail("create_named refused the plan an operator runs", st, 0);
  for (int64_t i = 0; i < nw; i++) w2[i] = NAN; /* copied: ours no longer matter */
  if (b2)
    for (int64_t k = 0; k < d->out_channels; k++) b2[k] = NAN;
  float *y = fbuf_alloc(&yb, sizeof(float) * (size_t)(nout ? nout : 1), 0);
  float *z = fbuf_alloc(&zb, sizeof(float) * (size_t)(nout ? nout : 1), 0);
  st = vconv_conv2d_run(op, x, y, ws, wsn, par);
  if (st != VCONV_OK) fail("run after update_weights failed", st, 0);
  st = vconv_conv2d_run(fresh, x, z, NULL, 0, NULL);
  if (st != VCONV_OK) fail("run of a new operator with the updated weights failed", st, 0);
  fz_check_same_bits("output after update_weights against a new operator with the same plan", y, z, nout);
  vconv_conv2d_destroy(fresh);
  fbuf_free(&wb);
  fbuf_free(&bb);
  fbuf_free(&yb);
  fbuf_free(&zb);
  cur_what = "run";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz f;
  fz_init(&f, data, size);
  fz_set_describe(describe);
  /* Wisdom a measuring create recorded would change what a later input runs. */
  vconv_wisdom_forget();
  vconv_conv2d_desc d;
  fz_conv_desc(&f, &d);
  const uint8_t opts = fz_u8(&f);
  const int bias = opts & 1, want_table = (opts >> 1) & 1;
  const fz_data xspec = fz_data_spec(&f, -70, 30, 1), wspec = fz_data_spec(&f, -70, 30, 1);
  cur_desc = &d;
  cur_bias = bias;
  cur_what = "create";
  /* Winograd in AUTO, set on every input so that an input means the same alone and in a run. */
  const uint8_t wsel = fz_u8(&f);
  const vconv_status wst = vconv_set_winograd(wsel < 0xf0 ? wsel & 1 : 2 + (wsel & 3));
  if ((wst == VCONV_OK) != (wsel < 0xf0)) fail("vconv_set_winograd accepted a bad value or refused a good one", wsel, wst);

  /* The connection table, exactly K * C/G bytes behind a guard page. */
  fbuf tb = {0};
  fz_conv_table(&f, &d, want_table, MAX_TABLE, &tb);
  const int64_t Cg = d.groups >= 1 && d.in_channels >= 1 ? d.in_channels / d.groups : 0;

  /* Which entry point. */
  const size_t nv = vconv_conv2d_variant_count();
  const size_t sel = fz_u8(&f) % (nv + 3);
  vconv_algorithm va = VCONV_ALGO_AUTO;
  vconv_isa vi = VCONV_ISA_AUTO;
  int explicit_variant = 0;
  if (sel < nv) {
    if (vconv_conv2d_variant(sel, &va, &vi) != VCONV_OK) fail("variant index refused", (long long)sel, 0);
    explicit_variant = 1;
  } else {
    va = (vconv_algorithm)fz_enum(&f, 0, VCONV_ALGO_COUNT - 1);
    if (sel == nv + 1) vi = (vconv_isa)fz_enum(&f, -1, VCONV_ISA_COUNT - 1);
  }
  const uint8_t plan_flags = fz_u8(&f);
  fz_pool pool;
  const vconv_parallel *par = fz_parallel(&f, &pool);

  /* The weights, exactly as many as the descriptor says, behind a guard page. */
  const int64_t nw = fz_conv_weight_count(&d);
  fbuf wb = {0}, bb = {0};
  float *w = NULL, *wsave = NULL, *bsave = NULL, *bv = NULL;
  double wmax = 0;
  if (nw >= 0 && nw <= FZ_MAX_FLOATS) {
    w = fbuf_alloc(&wb, (size_t)nw * sizeof(float), opts & 4);
    fz_fill(&wspec, w, (size_t)nw);
    for (int64_t i = 0; i < nw; i++) {
      /* Unconnected weights are never read as values: NaN would show it. */
      if (d.connections && !d.connections[i / (d.kernel_h * d.kernel_w)]) w[i] = NAN;
      else if (fabsf(w[i]) > wmax) wmax = fabsf(w[i]);
    }
    wsave = malloc(sizeof(float) * (size_t)(nw ? nw : 1));
    memcpy(wsave, w, sizeof(float) * (size_t)nw);
  } else if (nw < 0) {
    /* No size is defined, so no read is allowed: one float, then the guard. */
    w = fbuf_alloc(&wb, sizeof(float), 0);
  }
  if (bias && d.out_channels >= 1 && d.out_channels <= FZ_MAX_FLOATS) {
    bv = fbuf_alloc(&bb, (size_t)d.out_channels * sizeof(float), opts & 8);
    fz_data bspec = wspec;
    bspec.seed ^= 0xb1a5;
    fz_fill(&bspec, bv, (size_t)d.out_channels);
    bsave = malloc(sizeof(float) * (size_t)d.out_channels);
    memcpy(bsave, bv, sizeof(float) * (size_t)d.out_channels);
  }
  const float *bias_arg = bias ? (bv ? bv : w) : NULL;

  /* Pure queries first: they validate the same descriptor. */
  int64_t P = -1, Q = -1, params = -1;
  const vconv_status os = vconv_conv2d_output_size(&d, &P, &Q);
  (void)vconv_conv2d_param_count(&d, bias, &params);
  if (os == VCONV_OK && (P < 1 || Q < 1)) fail("output_size OK with an empty output", P, Q);
  const int64_t fields[] = {d.batch, d.in_channels, d.in_height, d.in_width, d.out_channels,
                            d.kernel_h, d.kernel_w, d.stride_h, d.stride_w, d.dilation_h,
                            d.dilation_w, d.pad_top, d.pad_bottom, d.pad_left, d.pad_right,
                            d.groups};
  const int in_ref_range = fz_ref_range(fields, sizeof fields / sizeof fields[0]);
  if (in_ref_range && os == VCONV_OK && (unsigned)d.padding_mode <= VCONV_PADDING_SAME_LOWER) {
    ref_geom g;
    if (ref_conv2d_geometry(&d, &g) != REF_OK || g.h.out != P || g.w.out != Q)
      fail("output_size disagrees with the reference geometry", P, Q);
  }

  vconv_conv2d_op *op = (vconv_conv2d_op *)&f; /* not NULL: a failed create must clear it */
  vconv_status st;
  const float *w_arg = nw > FZ_MAX_FLOATS ? NULL : w;
  const int tiny = nw >= 0 && nw <= 64 && os == VCONV_OK && fz_prod4(d.batch, d.out_channels, P, Q) >= 0 &&
                   fz_prod4(d.batch, d.out_channels, P, Q) <= 256;
  if (explicit_variant) {
    st = vconv_conv2d_create_for_isa(&d, va, vi, w_arg, bias_arg, &op);
  } else if (sel == nv) {
    st = vconv_conv2d_create(&d, va, w_arg, bias_arg, &op);
  } else if (sel == nv + 1) {
    st = vconv_conv2d_create_for_isa(&d, va, vi, w_arg, bias_arg, &op);
  } else {
    /* Measuring times every candidate: only for the tiniest layers. */
    const unsigned flags = plan_flags >= 0xf8 ? plan_flags : (plan_flags & 1) && tiny ? VCONV_PLAN_MEASURE : 0;
    st = vconv_conv2d_create_planned(&d, va, flags, par, w_arg, bias_arg, &op);
  }
  if (st != VCONV_OK) {
    if (op) fail("failed create left *op set", st, 0);
    goto done;
  }
  if (!op) fail("create OK without an operator", 0, 0);
  if (os != VCONV_OK) fail("create accepts what output_size rejects", os, 0);
  if (!w_arg) fail("create OK without weights", 0, 0);
  if (explicit_variant && !vconv_isa_available(vi)) fail("create OK on a tier that cannot run here", vi, 0);
  check_op(op, explicit_variant, va, vi, sel == nv + 1 ? vi : VCONV_ISA_AUTO);
  /* Weights and bias are copied at create: scribbling over ours must not matter. */
  for (int64_t i = 0; i < nw; i++) w[i] = NAN;
  if (bv)
    for (int64_t i = 0; i < d.out_channels; i++) bv[i] = NAN;

  cur_what = "run";
  const int64_t N = d.batch, C = d.in_channels, H = d.in_height, W = d.in_width, K = d.out_channels;
  int64_t nin, nout;
  const int64_t work = fz_conv_sizes(&d, P, Q, &nin, &nout);
  const size_t wsz = vconv_conv2d_workspace_size(op, par);
  if (nin < 0 || nin > FZ_MAX_FLOATS || nout < 0 || nout > FZ_MAX_FLOATS || work < 0 ||
      work > FZ_MAX_RUN_WORK)
    goto destroy;
  /* The header: a few hundred KB (im2col) to a few MB (Winograd) per worker,
   * and no more workers than pieces: a GiB is far beyond that for tensors
   * this small, whatever the thread count. */
  if (wsz > ((size_t)1 << 30))
    fail("workspace above 1 GiB for a layer of small tensors", (long long)(wsz >> 20), nout);

  fbuf xb, yb;
  float *x = fbuf_alloc(&xb, (size_t)nin * sizeof(float), opts & 16);
  fz_fill(&xspec, x, (size_t)nin);
  float *xsave = malloc(sizeof(float) * (size_t)nin);
  memcpy(xsave, x, sizeof(float) * (size_t)nin);
  float *y = fbuf_alloc(&yb, (size_t)nout * sizeof(float), opts & 32);
  for (int64_t i = 0; i < nout; i++) y[i] = fz_sentinel();

  /* The workspace: the library's own, exactly enough at any alignment, or too little. */
  fz_ws ws;
  fz_ws_make(&f, wsz, &ws);
  st = vconv_conv2d_run(op, x, y, ws.ptr, ws.size, par);
  if (ws.too_small) {
    if (st != VCONV_ERR_WORKSPACE_TOO_SMALL) fail("run with too small a workspace", st, (long long)ws.size);
    goto free_run;
  }
  if (st != VCONV_OK) fail("run failed on an operator create accepted", st, 0);
  if (memcmp(x, xsave, sizeof(float) * (size_t)nin) != 0) fail("run modified its input", 0, 0);
  for (int64_t i = 0; i < nout; i++)
    if (fz_is_sentinel(y[i])) fail("output element never written", i, nout);
  if (pool.calls && pool.par.threads > 1 && work <= FZ_MAX_RUN_WORK / 4) {
    /* The result does not depend on the thread count. */
    fbuf y1b;
    float *y1 = fbuf_alloc(&y1b, (size_t)nout * sizeof(float), 0);
    st = vconv_conv2d_run(op, x, y1, NULL, 0, NULL);
    if (st != VCONV_OK) fail("run on the calling thread failed", st, 0);
    if (memcmp(y, y1, sizeof(float) * (size_t)nout) != 0)
      fail("results differ between thread counts", (long long)pool.par.threads, 1);
    fbuf_free(&y1b);
  }

  /* The reference, for small shapes with plain data. */
  if (in_ref_range && !xspec.special && !wspec.special && work <= FZ_MAX_REF_WORK) {
    cur_what = "reference comparison";
    double *yr = malloc(sizeof(double) * (size_t)nout * 2), *ar = yr + nout;
    int32_t *nr = malloc(sizeof(int32_t) * (size_t)nout);
    if (ref_conv2d(&d, xsave, wsave, bias ? bsave : NULL, yr, ar, nr) != REF_OK)
      fail("the reference rejects a descriptor the library accepted", 0, 0);
    const int wi = wino_tile_index(vconv_conv2d_algorithm(op));
    ref_wino_tile tile;
    double *z = NULL;
    if (wi >= 0) {
      /* The bound is computed on NCHW data; its outputs are in NCHW order. */
      vconv_conv2d_desc dn = d;
      dn.layout = VCONV_LAYOUT_NCHW;
      float *xn = malloc(sizeof(float) * (size_t)nin);
      ref_relayout(xsave, d.layout, xn, VCONV_LAYOUT_NCHW, N, C, H, W);
      z = malloc(sizeof(double) * (size_t)nout);
      if (wino_bound(wi, &dn, xn, wsave, bias ? bsave : NULL, wmax, &tile, z) != REF_OK)
        fail("no Winograd bound for a shape the tile accepted", wi, 0);
      free(xn);
    }
    for (int64_t b = 0; b < N && nout > 0; b++) /* nout: N may be huge over an empty plane */
      for (int64_t k = 0; k < K; k++)
        for (int64_t p = 0; p < P; p++)
          for (int64_t q = 0; q < Q; q++) {
            const int64_t i = ref_index(d.layout, K, P, Q, b, k, p, q);
            const double tol = z ? ref_wino_tol(&tile, Cg, z[ref_index(VCONV_LAYOUT_NCHW, K, P, Q, b, k, p, q)],
                                                ar[i], nr[i])
                                 : ref_conv_tol(nr[i], ar[i]);
            /* Equal values first: a clamp to [-inf, -inf] gives inf - inf. */
            const double err = (double)y[i] == yr[i] ? 0.0 : fabs((double)y[i] - yr[i]);
            if (!(err <= tol)) {
              fprintf(stderr, "  %s: y[n=%lld k=%lld p=%lld q=%lld] = %.9g, reference %.17g, |err| %.3g > tol %.3g\n",
                      vconv_conv2d_kernel_name(op), (long long)b, (long long)k, (long long)p,
                      (long long)q, (double)y[i], yr[i], err, tol);
              fail("output outside the error bound", i, nout);
            }
          }
    free(z);
    free(yr);
    free(nr);
  }
  if ((opts & 64) && nw >= 0 && nout <= FZ_MAX_FLOATS / 4 && work <= FZ_MAX_RUN_WORK / 4)
    check_update(op, &d, wsave, nw, bsave, bias, xsave, nout, ws.ptr, ws.size, par);
free_run:
  fz_ws_free(&ws);
  free(xsave);
  fbuf_free(&xb);
  fbuf_free(&yb);
destroy:
  vconv_conv2d_destroy(op);
done:
  free(wsave);
  free(bsave);
  fbuf_free(&wb);
  fbuf_free(&bb);
  fbuf_free(&tb);
  cur_desc = NULL;
  return 0;
}
