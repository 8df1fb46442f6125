/*
 * Fuzz target: the convolution gradients (data and weights) and the
 * transposed convolution, create and run, on every backward variant of every
 * tier this CPU runs (vconv_conv2d_bwd_variant / create_for_isa), through
 * AUTO, with arbitrary algorithm and tier values, and by plan name.
 *
 * The input gives every descriptor field (small or extreme values, see
 * fuzz.h), the data, the caller's parallel-for and thread count and the
 * workspace.  Checked on every input the library accepts: the operator's
 * kind, tier and names; that a run of the other kind is refused; that the
 * run succeeds, writes every output and nothing else (guard pages), leaves
 * its inputs alone and gives the same bits on the calling thread alone.
 * Where the shape is small, every output is compared with the float64
 * reference (tests/bwd_ref.c) within ref_conv_tol, the bound the backward
 * parity suite uses (a Winograd data plan: the tile's bound on the forward
 * convolution it runs, tests/wino_ref.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwd_ref.h"
#include "fuzz.h"
#include "ref.h"
#include "wino_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TABLE 4096

static const vconv_conv2d_desc *cur_desc;
static const char *cur_what = "";
static const char *cur_kernel = "";

static void describe(void) {
  if (cur_desc) fz_describe_conv(cur_desc, 0);
}

_Noreturn static void fail(const char *msg, long long a, long long b) {
  describe();
  fz_fail("backward %s: %s (%lld, %lld)", cur_what, msg, a, b);
}

/* A Winograd data plan's output against the reference, within the tile's
 * bound on the forward convolution it runs (tests/wino_ref.c). */
static void check_winograd(const vconv_conv2d_bwd_op *op, const wino_bwd_geom *e, const float *dy,
                           const float *w, const float *bias, const float *out, const double *r,
                           const double *a, const int32_t *n, int64_t count, const char *what) {
  double *tol = malloc(sizeof(double) * (size_t)(count + 1));
  if (!tol || !wino_bwd_data_tols(vconv_conv2d_bwd_plan_of(op), e, dy, w, bias, a, n, tol))
    fail("no Winograd bound for the plan", 0, 0);
  fz_check_tols(what, vconv_conv2d_bwd_plan_of(op), out, r, tol, count);
  free(tol);
}

/* update_weights on a data operator gives the bits of a new operator with
 * the same plan and the new weights (the old ones reversed and negated,
 * unconnected pairs NaN), copies them, and refuses what it must; a weights
 * operator has no weights to update. */
static void check_update(vconv_conv2d_bwd_op *op, const vconv_conv2d_desc *d, vconv_bwd_kind kind,
                         const float *wsave, int64_t nw, const float *dy, int64_t nout, void *ws,
                         size_t wsn, const vconv_parallel *par) {
  cur_what = "update_weights";
  fbuf wb, ob, zb;
  float *w2 = fbuf_alloc(&wb, sizeof(float) * (size_t)(nw > 0 ? nw : 1), 0);
  if (wsave) fz_update_weights(d, wsave, nw, w2);
  else w2[0] = 1.0f; /* only the refusals below read it */
  vconv_status st = vconv_conv2d_bwd_update_weights(op, NULL, NULL);
  if (st != VCONV_ERR_NULL_POINTER) fail("update_weights without weights", st, 0);
  const float one = 1.0f;
  st = vconv_conv2d_bwd_update_weights(op, w2, &one); /* a data operator has no bias */
  if (st != VCONV_ERR_INVALID_ARGUMENT) fail("update_weights gave a bias to an operator without one", st, 0);
  st = vconv_conv2d_bwd_update_weights(op, w2, NULL);
  if (kind == VCONV_BWD_WEIGHTS || nw <= 0 || !wsave) {
    if (kind == VCONV_BWD_WEIGHTS && st != VCONV_ERR_INVALID_ARGUMENT)
      fail("update_weights on a weights operator", st, 0);
    fbuf_free(&wb);
    cur_what = "run";
    return;
  }
  if (st != VCONV_OK) fail("update_weights refused weights create accepted", st, 0);
  vconv_conv2d_bwd_op *fresh = NULL;
  st = vconv_conv2d_bwd_create_named(d, vconv_conv2d_bwd_plan_of(op), w2, &fresh);
  if (st != VCONV_OK) fail("create_named refused the plan an operator runs", st, 0);
  for (int64_t i = 0; i < nw; i++) w2[i] = NAN; /* copied: ours no longer matter */
  float *o = fbuf_alloc(&ob, sizeof(float) * (size_t)(nout ? nout : 1), 0);
  float *z = fbuf_alloc(&zb, sizeof(float) * (size_t)(nout ? nout : 1), 0);
  st = vconv_conv2d_bwd_data_run(op, dy, o, ws, wsn, par);
  if (st != VCONV_OK) fail("run after update_weights failed", st, 0);
  st = vconv_conv2d_bwd_data_run(fresh, dy, z, NULL, 0, NULL);
  if (st != VCONV_OK) fail("run of a new operator with the updated weights failed", st, 0);
  fz_check_same_bits("dx after update_weights against a new operator with the same plan", o, z, nout);
  vconv_conv2d_bwd_destroy(fresh);
  fbuf_free(&wb);
  fbuf_free(&ob);
  fbuf_free(&zb);
  cur_what = "run";
}

static void check_names(const vconv_conv2d_bwd_op *op, vconv_bwd_kind kind) {
  const vconv_isa is = vconv_conv2d_bwd_isa(op);
  const vconv_algorithm al = vconv_conv2d_bwd_algorithm(op);
  if (vconv_conv2d_bwd_kind(op) != kind) fail("operator of the other kind", kind, 0);
  if (!vconv_isa_available(is)) fail("operator on a tier that cannot run here", is, 0);
  if (al != VCONV_ALGO_DIRECT && al != VCONV_ALGO_IM2COL && !(al == VCONV_ALGO_WINOGRAD && kind == VCONV_BWD_DATA))
    fail("operator without an algorithm", al, 0);
  const char *nm = vconv_conv2d_bwd_kernel_name(op), *pl = vconv_conv2d_bwd_plan_of(op);
  if (!nm || !pl || strncmp(pl, nm, strlen(nm)) != 0 || pl[strlen(nm)] != ':')
    fail("plan name does not start with the kernel name", 0, 0);
}

/* The gradient operators of a convolution descriptor. */
static void gradients(fz *f) {
  vconv_conv2d_desc d;
  fz_conv_desc(f, &d);
  /* Most inputs without an activation: with one, create must refuse. */
  if (fz_u8(f) % 4) d.activation = VCONV_ACTIVATION_NONE;
  const uint8_t opts = fz_u8(f);
  const fz_data xspec = fz_data_spec(f, -60, 30, 1), wspec = fz_data_spec(f, -60, 30, 1);
  fbuf tb = {0};
  fz_conv_table(f, &d, (opts >> 1) & 1, MAX_TABLE, &tb);
  cur_desc = &d;
  cur_what = "create";

  /* Which entry point, and so which kind. */
  const size_t nv = vconv_conv2d_bwd_variant_count(), np = vconv_conv2d_bwd_plan_count();
  const size_t sel = fz_u8(f) % (nv + np + 2);
  vconv_bwd_kind kind = fz_u8(f) & 1 ? VCONV_BWD_WEIGHTS : VCONV_BWD_DATA;
  vconv_algorithm algo = VCONV_ALGO_AUTO;
  vconv_isa isa = VCONV_ISA_AUTO;
  const char *plan = NULL;
  if (sel < nv) {
    if (vconv_conv2d_bwd_variant(sel, &kind, &algo, &isa) != VCONV_OK)
      fail("variant index refused", (long long)sel, 0);
  } else if (sel < nv + np) {
    plan = vconv_conv2d_bwd_plan_name(sel - nv);
    if (!plan) fail("plan index refused", (long long)(sel - nv), 0);
    kind = strncmp(plan, "bwd_weights", 11) == 0 ? VCONV_BWD_WEIGHTS : VCONV_BWD_DATA;
  } else if (sel == nv + np + 1) {
    algo = (vconv_algorithm)fz_enum(f, 0, VCONV_ALGO_COUNT - 1);
    isa = (vconv_isa)fz_enum(f, -1, VCONV_ISA_COUNT - 1);
  }
  fz_pool pool;
  const vconv_parallel *par = fz_parallel(f, &pool);

  const int64_t nw = fz_conv_weight_count(&d);
  fbuf wb = {0};
  float *w = NULL, *wsave = NULL;
  if (nw >= 0 && nw <= FZ_MAX_FLOATS) {
    w = fz_buf_filled(&wb, nw, opts & 4, &wspec, &wsave);
    for (int64_t i = 0; i < nw; i++) /* unconnected weights are never read as values */
      if (d.connections && !d.connections[i / (d.kernel_h * d.kernel_w)]) w[i] = NAN;
  } else if (nw < 0) {
    w = fbuf_alloc(&wb, sizeof(float), 0); /* no size defined: no read allowed */
  }
  const float *w_arg = nw > FZ_MAX_FLOATS ? NULL : w;

  int64_t P = -1, Q = -1;
  const vconv_status os = vconv_conv2d_output_size(&d, &P, &Q);
  vconv_conv2d_bwd_op *op = (vconv_conv2d_bwd_op *)f; /* not NULL: a failed create clears it */
  vconv_status st;
  if (plan) st = vconv_conv2d_bwd_create_named(&d, plan, w_arg, &op);
  else if (kind == VCONV_BWD_DATA) st = vconv_conv2d_bwd_data_create_for_isa(&d, algo, isa, w_arg, &op);
  else st = vconv_conv2d_bwd_weights_create_for_isa(&d, algo, isa, &op);
  if (st != VCONV_OK) {
    if (op) fail("failed create left *op set", st, 0);
    goto done;
  }
  if (!op) fail("create OK without an operator", 0, 0);
  if (os != VCONV_OK) fail("create accepts what output_size rejects", os, 0);
  if (d.activation != VCONV_ACTIVATION_NONE) fail("create accepts an activation", d.activation, 0);
  if (kind == VCONV_BWD_DATA && !w_arg) fail("create OK without weights", 0, 0);
  if (isa != VCONV_ISA_AUTO && vconv_conv2d_bwd_isa(op) != isa) fail("operator on another tier than asked", isa, 0);
  if (algo != VCONV_ALGO_AUTO && vconv_conv2d_bwd_algorithm(op) != algo) fail("operator of another algorithm", algo, 0);
  check_names(op, kind);
  cur_kernel = vconv_conv2d_bwd_kernel_name(op);
  if (w && nw > 0) /* copied at create: scribbling over ours must not matter */
    for (int64_t i = 0; i < nw; i++) w[i] = NAN;

  cur_what = "run";
  const int64_t K = d.out_channels;
  int64_t nx, ny;
  const int64_t work = fz_conv_sizes(&d, P, Q, &nx, &ny);
  const size_t wsz = vconv_conv2d_bwd_workspace_size(op, par);
  if (nx < 0 || nx > FZ_MAX_FLOATS || ny < 0 || ny > FZ_MAX_FLOATS || work < 0 ||
      work > FZ_MAX_RUN_WORK || nw > FZ_MAX_FLOATS)
    goto destroy;
  if (wsz > ((size_t)1 << 30)) fail("workspace above 1 GiB for small tensors", (long long)(wsz >> 20), ny);

  /* The other kind's run is refused before anything is touched. */
  float probe = 0;
  if (kind == VCONV_BWD_DATA
          ? vconv_conv2d_bwd_weights_run(op, &probe, &probe, &probe, NULL, NULL, 0, NULL) != VCONV_ERR_INVALID_ARGUMENT
          : vconv_conv2d_bwd_data_run(op, &probe, &probe, NULL, 0, NULL) != VCONV_ERR_INVALID_ARGUMENT)
    fail("a run of the other kind was not refused", kind, 0);

  fbuf dyb = {0}, xb = {0}, ob = {0}, bb = {0}, o1b = {0};
  float *dysave = NULL, *xsave = NULL;
  fz_data dyspec = xspec;
  dyspec.seed ^= 0xd7;
  float *dy = fz_buf_filled(&dyb, ny, opts & 8, &dyspec, &dysave);
  float *x = NULL, *out, *db = NULL;
  const int64_t nout = kind == VCONV_BWD_DATA ? nx : nw;
  const int with_db = kind == VCONV_BWD_WEIGHTS && (opts & 1);
  if (kind == VCONV_BWD_WEIGHTS) x = fz_buf_filled(&xb, nx, opts & 16, &xspec, &xsave);
  out = fz_buf_blank(&ob, nout, opts & 32);
  if (with_db) db = fz_buf_blank(&bb, K, opts & 64);

  fz_ws ws;
  fz_ws_make(f, wsz, &ws);
  st = kind == VCONV_BWD_DATA ? vconv_conv2d_bwd_data_run(op, dy, out, ws.ptr, ws.size, par)
                              : vconv_conv2d_bwd_weights_run(op, x, dy, out, db, ws.ptr, ws.size, par);
  if (ws.too_small) {
    if (st != VCONV_ERR_WORKSPACE_TOO_SMALL) fail("run with too small a workspace", st, (long long)ws.size);
    goto free_run;
  }
  if (st != VCONV_OK) fail("run failed on an operator create accepted", st, 0);
  if (memcmp(dy, dysave, sizeof(float) * (size_t)ny) || (x && memcmp(x, xsave, sizeof(float) * (size_t)nx)))
    fail("run modified its input", 0, 0);
  fz_check_written(out, nout, kind == VCONV_BWD_DATA ? "dx" : "dw");
  if (db) fz_check_written(db, K, "db");
  if (pool.calls && pool.par.threads > 1 && work <= FZ_MAX_RUN_WORK / 4) {
    float *o1 = fz_buf_blank(&o1b, nout, 0);
    st = kind == VCONV_BWD_DATA ? vconv_conv2d_bwd_data_run(op, dy, o1, NULL, 0, NULL)
                                : vconv_conv2d_bwd_weights_run(op, x, dy, o1, NULL, NULL, 0, NULL);
    if (st != VCONV_OK) fail("run on the calling thread failed", st, 0);
    if (memcmp(out, o1, sizeof(float) * (size_t)nout))
      fail("results differ between thread counts", (long long)pool.par.threads, 1);
  }

  const int64_t fields[] = {d.batch, d.in_channels, d.in_height, d.in_width, d.out_channels,
                            d.kernel_h, d.kernel_w, d.stride_h, d.stride_w, d.dilation_h,
                            d.dilation_w, d.pad_top, d.pad_bottom, d.pad_left, d.pad_right,
                            d.groups};
  if (fz_ref_range(fields, sizeof fields / sizeof fields[0]) && !xspec.special &&
      !wspec.special && work <= FZ_MAX_REF_WORK &&
      (unsigned)d.padding_mode <= VCONV_PADDING_SAME_LOWER) {
    cur_what = "reference comparison";
    const int64_t nr = nout > K ? nout : K;
    double *r = malloc(sizeof(double) * (size_t)(2 * nr + 2 * K + 2));
    double *a = r + nr, *rb = a + nr, *ab = rb + K + 1;
    int32_t *n = malloc(sizeof(int32_t) * (size_t)(nr + K + 1)), *nb = n + nr;
    const int rs = kind == VCONV_BWD_DATA ? ref_conv2d_bwd_data(&d, wsave, dysave, r, a, n)
                                          : ref_conv2d_bwd_weights(&d, xsave, dysave, r, a, n, rb, ab, nb);
    if (rs != REF_OK) fail("the reference rejects a descriptor the library accepted", rs, 0);
    ref_geom g;
    if (vconv_conv2d_bwd_algorithm(op) == VCONV_ALGO_WINOGRAD && ref_conv2d_geometry(&d, &g) == REF_OK) {
      const wino_bwd_geom e = {d.batch, d.out_channels, g.h.out, g.w.out, d.in_channels, d.in_height,
                               d.in_width, d.kernel_h, d.kernel_w, d.groups, g.h.pad_begin,
                               g.w.pad_begin, d.layout};
      check_winograd(op, &e, dysave, wsave, NULL, out, r, a, n, nout, "dx");
    } else {
      fz_check_conv_tol(kind == VCONV_BWD_DATA ? "dx" : "dw", cur_kernel, out, r, a, n, nout);
    }
    if (db) fz_check_conv_tol("db", cur_kernel, db, rb, ab, nb, K);
    free(r);
    free(n);
  }
  if (work <= FZ_MAX_RUN_WORK / 4) check_update(op, &d, kind, wsave, nw, dysave, nout, ws.ptr, ws.size, par);
free_run:
  fz_ws_free(&ws);
  free(dysave);
  free(xsave);
  fbuf_free(&dyb);
  fbuf_free(&xb);
  fbuf_free(&ob);
  fbuf_free(&bb);
  fbuf_free(&o1b);
destroy:
  vconv_conv2d_bwd_destroy(op);
done:
  free(wsave);
  fbuf_free(&wb);
  fbuf_free(&tb);
  cur_desc = NULL;
}

/* The transposed convolution: its own descriptor, output padding, a bias. */
static void transposed(fz *f) {
  vconv_conv_transpose2d_desc d;
  vconv_conv_transpose2d_desc_init(&d);
  d.batch = fz_field(f, 1, 3);
  d.in_channels = fz_field(f, 1, 17);
  d.in_height = fz_field(f, 1, 12);
  d.in_width = fz_field(f, 1, 12);
  d.out_channels = fz_field(f, 1, 17);
  d.kernel_h = fz_field(f, 1, 5);
  d.kernel_w = fz_field(f, 1, 5);
  d.stride_h = fz_field(f, 1, 3);
  d.stride_w = fz_field(f, 1, 3);
  d.dilation_h = fz_field(f, 1, 2);
  d.dilation_w = fz_field(f, 1, 2);
  d.pad_top = fz_field(f, 0, 3);
  d.pad_bottom = fz_field(f, 0, 3);
  d.pad_left = fz_field(f, 0, 3);
  d.pad_right = fz_field(f, 0, 3);
  d.output_padding_h = fz_field(f, 0, 2);
  d.output_padding_w = fz_field(f, 0, 2);
  d.padding_mode = (vconv_padding_mode)fz_enum(f, 0, 4);
  d.groups = fz_field(f, 1, 4);
  d.layout = (vconv_layout)fz_enum(f, 0, 1);
  const uint8_t opts = fz_u8(f);
  const fz_data xspec = fz_data_spec(f, -60, 30, 1), wspec = fz_data_spec(f, -60, 30, 1);
  const vconv_algorithm algo = (vconv_algorithm)fz_enum(f, 0, VCONV_ALGO_COUNT - 1);
  const vconv_isa isa = (vconv_isa)fz_enum(f, -1, VCONV_ISA_COUNT - 1);
  fz_pool pool;
  const vconv_parallel *par = fz_parallel(f, &pool);
  cur_what = "transpose create";

  int64_t nw = -1;
  if (d.groups >= 1 && d.in_channels >= 1 && d.out_channels >= 1 && d.kernel_h >= 1 &&
      d.kernel_w >= 1 && d.in_channels % d.groups == 0 && d.out_channels % d.groups == 0)
    nw = fz_prod4(d.in_channels, d.out_channels / d.groups, d.kernel_h, d.kernel_w);
  fbuf wb = {0}, bb = {0};
  float *w = NULL, *wsave = NULL, *bias = NULL, *bsave = NULL;
  if (nw >= 0 && nw <= FZ_MAX_FLOATS) w = fz_buf_filled(&wb, nw, opts & 4, &wspec, &wsave);
  else if (nw < 0) w = fbuf_alloc(&wb, sizeof(float), 0);
  if ((opts & 1) && d.out_channels >= 1 && d.out_channels <= FZ_MAX_FLOATS) {
    fz_data bspec = wspec;
    bspec.seed ^= 0xb1a5;
    bias = fz_buf_filled(&bb, d.out_channels, opts & 8, &bspec, &bsave);
  }
  int64_t OH = -1, OW = -1;
  const vconv_status os = vconv_conv_transpose2d_output_size(&d, &OH, &OW);
  vconv_conv2d_bwd_op *op = (vconv_conv2d_bwd_op *)f;
  vconv_status st = vconv_conv_transpose2d_create_for_isa(&d, algo, isa, nw > FZ_MAX_FLOATS ? NULL : w,
                                                          bias, &op);
  if (st != VCONV_OK) {
    if (op) fail("failed create left *op set", st, 0);
    goto done;
  }
  if (!op) fail("create OK without an operator", 0, 0);
  if (os != VCONV_OK || OH < 1 || OW < 1) fail("create accepts what output_size rejects", os, OH);
  check_names(op, VCONV_BWD_DATA);
  cur_kernel = vconv_conv2d_bwd_kernel_name(op);
  const int64_t fields[] = {d.batch, d.in_channels, d.in_height, d.in_width, d.out_channels,
                            d.kernel_h, d.kernel_w, d.stride_h, d.stride_w, d.dilation_h,
                            d.dilation_w, d.pad_top, d.pad_bottom, d.pad_left, d.pad_right,
                            d.output_padding_h, d.output_padding_w, d.groups};
  const int in_ref = fz_ref_range(fields, sizeof fields / sizeof fields[0]);
  int64_t pt = 0, pl = 0, rh, rw;
  if (in_ref && ref_conv_transpose2d_geometry(&d, &pt, &pl, &rh, &rw) == REF_OK && (rh != OH || rw != OW))
    fail("output_size disagrees with the reference geometry", OH, rh);
  if (nw > 0)
    for (int64_t i = 0; i < nw; i++) w[i] = NAN;
  if (bias)
    for (int64_t i = 0; i < d.out_channels; i++) bias[i] = NAN;

  cur_what = "transpose run";
  const int64_t nx = fz_prod4(d.batch, d.in_channels, d.in_height, d.in_width);
  const int64_t ny = fz_prod4(d.batch, d.out_channels, OH, OW);
  int64_t work = -1;
  if (nx >= 0 && nw >= 0 && !fz_mul(nx, nw / d.in_channels, &work)) work = -1;
  const size_t wsz = vconv_conv2d_bwd_workspace_size(op, par);
  if (nx < 0 || nx > FZ_MAX_FLOATS || ny < 0 || ny > FZ_MAX_FLOATS || work < 0 || work > FZ_MAX_RUN_WORK)
    goto destroy;
  if (wsz > ((size_t)1 << 30)) fail("workspace above 1 GiB for small tensors", (long long)(wsz >> 20), ny);
  fbuf xb = {0}, yb = {0};
  float *xsave = NULL;
  float *x = fz_buf_filled(&xb, nx, opts & 16, &xspec, &xsave);
  float *y = fz_buf_blank(&yb, ny, opts & 32);
  fz_ws ws;
  fz_ws_make(f, wsz, &ws);
  st = vconv_conv_transpose2d_run(op, x, y, ws.ptr, ws.size, par);
  if (ws.too_small) {
    if (st != VCONV_ERR_WORKSPACE_TOO_SMALL) fail("run with too small a workspace", st, (long long)ws.size);
    goto free_run;
  }
  if (st != VCONV_OK) fail("run failed on an operator create accepted", st, 0);
  if (memcmp(x, xsave, sizeof(float) * (size_t)nx)) fail("run modified its input", 0, 0);
  fz_check_written(y, ny, "y");
  if (in_ref && !xspec.special && !wspec.special && work <= FZ_MAX_REF_WORK) {
    cur_what = "transpose reference comparison";
    double *r = malloc(sizeof(double) * (size_t)(2 * ny + 2)), *a = r + ny + 1;
    int32_t *n = malloc(sizeof(int32_t) * (size_t)(ny + 1));
    if (ref_conv_transpose2d(&d, xsave, wsave, bsave, r, a, n) != REF_OK)
      fail("the reference rejects a descriptor the library accepted", 0, 0);
    if (vconv_conv2d_bwd_algorithm(op) == VCONV_ALGO_WINOGRAD) {
      const wino_bwd_geom e = {d.batch, d.in_channels, d.in_height, d.in_width, d.out_channels, OH, OW,
                               d.kernel_h, d.kernel_w, d.groups, pt, pl, d.layout};
      check_winograd(op, &e, xsave, wsave, bsave, y, r, a, n, ny, "y");
    } else {
      fz_check_conv_tol("y", cur_kernel, y, r, a, n, ny);
    }
    free(r);
    free(n);
  }
free_run:
  fz_ws_free(&ws);
  free(xsave);
  fbuf_free(&xb);
  fbuf_free(&yb);
destroy:
  vconv_conv2d_bwd_destroy(op);
done:
  free(wsave);
  free(bsave);
  fbuf_free(&wb);
  fbuf_free(&bb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz f;
  fz_init(&f, data, size);
  fz_set_describe(describe);
  if (fz_u8(&f) % 4 == 3) transposed(&f);
  else gradients(&f);
  return 0;
}
