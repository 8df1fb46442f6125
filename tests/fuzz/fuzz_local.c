/*
 * Fuzz target: locally connected and tiled layers (vconv_local2d_*): create
 * on every variant of every tier this CPU runs and through the dispatcher,
 * then forward, backward data and backward weights.
 *
 * The input gives every descriptor field (those of a convolution, the tile
 * and the bias kind; small or extreme values, see fuzz.h), the data, the
 * caller's parallel-for and the workspace.  Checked on every input the
 * library accepts: output_size and param_count agree with create, each pass
 * writes every output and nothing else (guard pages after every buffer),
 * leaves its inputs alone and gives the same bits on the calling thread
 * alone; for small shapes every result is within ref_conv_tol of the
 * float64 reference (tests/local_ref.c), as in the local suite.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "local_ref.h"
#include "ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const vconv_local2d_desc *cur_desc;
static const char *cur_what = "";
static const char *cur_kernel = "";

static void describe(void) {
  if (cur_desc) {
    vconv_conv2d_desc c;
    local_ref_conv_desc(cur_desc, &c);
    fz_describe_conv(&c, cur_desc->bias != VCONV_LOCAL_BIAS_NONE);
    fprintf(stderr, "  tile %lld x %lld, bias kind %d\n", (long long)cur_desc->tile_h,
            (long long)cur_desc->tile_w, (int)cur_desc->bias);
  }
}

_Noreturn static void fail(const char *msg, long long a, long long b) {
  describe();
  fz_fail("local2d %s: %s (%lld, %lld)", cur_what, msg, a, b);
}

/* The same bits on the calling thread alone (pass 0 forward, 1 data, 2 weights). */
static void same_alone(const vconv_local2d_op *op, int pass, const float *in, const float *in2,
                       const float *got, int64_t n) {
  fbuf b = {0};
  float *o = fz_buf_blank(&b, n, 0);
  const vconv_status st = pass == 0   ? vconv_local2d_run(op, in, o, NULL, 0, NULL)
                          : pass == 1 ? vconv_local2d_backward_data(op, in, o, NULL, 0, NULL)
                                      : vconv_local2d_backward_weights(op, in, in2, o, NULL, NULL, 0, NULL);
  if (st != VCONV_OK) fail("pass on the calling thread failed", pass, st);
  if (memcmp(o, got, sizeof(float) * (size_t)n)) fail("results differ between thread counts", pass, 0);
  fbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz f;
  fz_init(&f, data, size);
  fz_set_describe(describe);
  vconv_conv2d_desc c;
  fz_conv_desc(&f, &c);
  vconv_local2d_desc d;
  vconv_local2d_desc_init(&d);
  d.batch = c.batch;
  d.in_channels = c.in_channels;
  d.in_height = c.in_height;
  d.in_width = c.in_width;
  d.out_channels = c.out_channels;
  d.kernel_h = c.kernel_h;
  d.kernel_w = c.kernel_w;
  d.stride_h = c.stride_h;
  d.stride_w = c.stride_w;
  d.dilation_h = c.dilation_h;
  d.dilation_w = c.dilation_w;
  d.pad_top = c.pad_top;
  d.pad_bottom = c.pad_bottom;
  d.pad_left = c.pad_left;
  d.pad_right = c.pad_right;
  d.padding_mode = c.padding_mode;
  d.groups = c.groups;
  d.layout = c.layout;
  d.activation = c.activation;
  d.act_min = c.act_min;
  d.act_max = c.act_max;
  d.tile_h = fz_field(&f, 0, 4);
  d.tile_w = fz_field(&f, 0, 4);
  d.bias = (vconv_local_bias)fz_enum(&f, 0, 2);
  const uint8_t opts = fz_u8(&f);
  const fz_data xspec = fz_data_spec(&f, -60, 30, 1), wspec = fz_data_spec(&f, -60, 30, 1);
  const size_t nv = vconv_local2d_variant_count();
  const size_t sel = fz_u8(&f) % (nv + 2);
  vconv_isa isa = VCONV_ISA_AUTO;
  if (sel < nv) {
    if (vconv_local2d_variant(sel, &isa) != VCONV_OK) fail("variant index refused", (long long)sel, 0);
  } else if (sel == nv + 1) {
    isa = (vconv_isa)fz_enum(&f, -1, VCONV_ISA_COUNT - 1);
  }
  fz_pool pool;
  const vconv_parallel *par = fz_parallel(&f, &pool);
  cur_desc = &d;
  cur_what = "create";

  int64_t P = -1, Q = -1, nw = -1, nb = -1;
  const vconv_status os = vconv_local2d_output_size(&d, &P, &Q);
  const vconv_status ps = vconv_local2d_param_count(&d, &nw, &nb);
  if (ps == VCONV_OK && (nw < 1 || nb < 0)) fail("param_count OK with no weights", nw, nb);
  fbuf wb = {0}, bb = {0};
  float *w = NULL, *wsave = NULL, *bias = NULL, *bsave = NULL;
  if (ps == VCONV_OK && nw <= FZ_MAX_FLOATS) w = fz_buf_filled(&wb, nw, opts & 4, &wspec, &wsave);
  else if (ps != VCONV_OK) w = fbuf_alloc(&wb, sizeof(float), 0); /* no size: no read allowed */
  if (ps == VCONV_OK && nb > 0 && nb <= FZ_MAX_FLOATS) {
    fz_data bspec = wspec;
    bspec.seed ^= 0xb1a5;
    bias = fz_buf_filled(&bb, nb, opts & 8, &bspec, &bsave);
  } else if (ps != VCONV_OK && (opts & 1)) {
    bias = fbuf_alloc(&bb, sizeof(float), 0);
  }

  vconv_local2d_op *op = (vconv_local2d_op *)&f; /* not NULL: a failed create clears it */
  vconv_status st = sel == nv ? vconv_local2d_create(&d, w, bias, &op)
                              : vconv_local2d_create_for_isa(&d, isa, w, bias, &op);
  if (st != VCONV_OK) {
    if (op) fail("failed create left *op set", st, 0);
    goto done;
  }
  if (!op) fail("create OK without an operator", 0, 0);
  if (os != VCONV_OK || ps != VCONV_OK) fail("create accepts what output_size or param_count rejects", os, ps);
  if (!w) fail("create OK without weights", 0, 0);
  if (nb > 0 && !bias) fail("create OK without the bias its kind needs", nb, 0);
  const vconv_isa is = vconv_local2d_isa(op);
  if (!vconv_isa_available(is)) fail("operator on a tier that cannot run here", is, 0);
  if (isa != VCONV_ISA_AUTO && is != isa) fail("operator on another tier than asked", is, isa);
  char want[32];
  snprintf(want, sizeof want, "local/%s", vconv_isa_name(is));
  if (!vconv_local2d_kernel_name(op) || strcmp(vconv_local2d_kernel_name(op), want))
    fail("kernel_name disagrees with the tier", is, 0);
  cur_kernel = vconv_local2d_kernel_name(op);
  for (int64_t i = 0; i < nw; i++) w[i] = NAN; /* copied at create */
  for (int64_t i = 0; bias && i < nb; i++) bias[i] = NAN;

  cur_what = "run";
  int64_t nx, ny;
  const int64_t work = fz_conv_sizes(&c, P, Q, &nx, &ny);
  const size_t wsz = vconv_local2d_workspace_size(op, par);
  if (nx < 0 || nx > FZ_MAX_FLOATS || ny < 0 || ny > FZ_MAX_FLOATS || work < 0 ||
      work > FZ_MAX_RUN_WORK || nw > FZ_MAX_FLOATS)
    goto destroy;
  if (wsz > ((size_t)1 << 30)) fail("workspace above 1 GiB for small tensors", (long long)(wsz >> 20), ny);

  fbuf xb = {0}, yb = {0}, dyb = {0}, dxb = {0}, dwb = {0}, dbb = {0};
  float *xsave = NULL, *dysave = NULL;
  fz_data dyspec = xspec;
  dyspec.seed ^= 0xd7;
  float *x = fz_buf_filled(&xb, nx, opts & 16, &xspec, &xsave), *dy = fz_buf_filled(&dyb, ny, opts & 32, &dyspec, &dysave);
  float *y = fz_buf_blank(&yb, ny, 0), *dx = fz_buf_blank(&dxb, nx, opts & 64), *dw = fz_buf_blank(&dwb, nw, 0);
  float *db = nb > 0 && (opts & 2) ? fz_buf_blank(&dbb, nb, opts & 128) : NULL;
  fz_ws ws;
  fz_ws_make(&f, wsz, &ws);
  const vconv_status s0 = vconv_local2d_run(op, x, y, ws.ptr, ws.size, par);
  const vconv_status s1 = vconv_local2d_backward_data(op, dy, dx, ws.ptr, ws.size, par);
  const vconv_status s2 = vconv_local2d_backward_weights(op, x, dy, dw, db, ws.ptr, ws.size, par);
  if (ws.too_small) {
    /* One size serves the three passes, each needing its own part of it (the
     * forward pass none): the pass that needs it all must refuse, the others
     * may run. */
    const vconv_status tight = VCONV_ERR_WORKSPACE_TOO_SMALL;
    if ((s0 != VCONV_OK && s0 != tight) || (s1 != VCONV_OK && s1 != tight) ||
        (s2 != VCONV_OK && s2 != tight) || (s0 != tight && s1 != tight && s2 != tight))
      fail("passes with too small a workspace", s0, s1 * 100 + s2);
    goto free_run;
  }
  if (s0 != VCONV_OK || s1 != VCONV_OK || s2 != VCONV_OK) fail("a pass failed on an operator create accepted", s0, s1 * 100 + s2);
  if (memcmp(x, xsave, sizeof(float) * (size_t)nx) || memcmp(dy, dysave, sizeof(float) * (size_t)ny))
    fail("a pass modified its input", 0, 0);
  fz_check_written(y, ny, "y");
  fz_check_written(dx, nx, "dx");
  fz_check_written(dw, nw, "dw");
  if (db) fz_check_written(db, nb, "db");
  if (pool.calls && pool.par.threads > 1 && work <= FZ_MAX_RUN_WORK / 4) {
    same_alone(op, 0, x, NULL, y, ny);
    same_alone(op, 1, dy, NULL, dx, nx);
    same_alone(op, 2, x, dy, dw, nw);
  }

  const int64_t fields[] = {d.batch, d.in_channels, d.in_height, d.in_width, d.out_channels,
                            d.kernel_h, d.kernel_w, d.stride_h, d.stride_w, d.dilation_h,
                            d.dilation_w, d.pad_top, d.pad_bottom, d.pad_left, d.pad_right,
                            d.groups, d.tile_h, d.tile_w};
  if (fz_ref_range(fields, sizeof fields / sizeof fields[0]) && !xspec.special && !wspec.special &&
      work <= FZ_MAX_REF_WORK && (unsigned)d.padding_mode <= VCONV_PADDING_SAME_LOWER) {
    cur_what = "reference comparison";
    const int64_t m = (nx > ny ? nx : ny) > nw ? (nx > ny ? nx : ny) : nw;
    double *r = malloc(sizeof(double) * (size_t)(2 * m + 2 * nb + 2)), *a = r + m;
    double *rb = a + m, *ab = rb + nb + 1;
    int32_t *n = malloc(sizeof(int32_t) * (size_t)(m + nb + 1)), *nbr = n + m;
    if (local_ref_forward(&d, xsave, wsave, bsave, r, a, n) != REF_OK)
      fail("the reference rejects a descriptor the library accepted", 0, 0);
    fz_check_conv_tol("y", cur_kernel, y, r, a, n, ny);
    if (local_ref_backward_data(&d, wsave, dysave, r, a, n) != REF_OK) fail("reference backward data", 0, 0);
    fz_check_conv_tol("dx", cur_kernel, dx, r, a, n, nx);
    if (local_ref_backward_weights(&d, xsave, dysave, r, a, n, db ? rb : NULL, ab, nbr) != REF_OK)
      fail("reference backward weights", 0, 0);
    fz_check_conv_tol("dw", cur_kernel, dw, r, a, n, nw);
    if (db) fz_check_conv_tol("db", cur_kernel, db, rb, ab, nbr, nb);
    free(r);
    free(n);
  }
free_run:
  fz_ws_free(&ws);
  free(xsave);
  free(dysave);
  fbuf_free(&xb);
  fbuf_free(&yb);
  fbuf_free(&dyb);
  fbuf_free(&dxb);
  fbuf_free(&dwb);
  fbuf_free(&dbb);
destroy:
  vconv_local2d_destroy(op);
done:
  free(wsave);
  free(bsave);
  fbuf_free(&wb);
  fbuf_free(&bb);
  cur_desc = NULL;
  return 0;
}
