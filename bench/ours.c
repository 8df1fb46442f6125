/* vconv's own convolution and pooling kernels, NCHW, one plan per row.  The
 * warm-up result is checked against the single-threaded auto result first (this
 * also checks the suite's thread pool). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int bench_ours_plan(const bench_layer *l, int64_t batch, const char *plan, char *out, size_t n) {
  vconv_conv2d_desc d;
  bench_conv_desc(l, batch, VCONV_LAYOUT_NCHW, &d);
  float *w = bench_alloc(bench_weight_floats(l));
  vconv_conv2d_op *op = NULL;
  const vconv_status s = vconv_conv2d_create_named(&d, plan, w, NULL, &op);
  if (s == VCONV_OK) snprintf(out, n, "%s", vconv_conv2d_plan_of(op));
  vconv_conv2d_destroy(op);
  free(w);
  return s == VCONV_OK;
}

void bench_ours(bm_state *st, void *arg) {
  const bench_case *c = arg;
  const bench_layer *l = c->layer;
  const vconv_parallel *par = bench_parallel(c->threads);
  const vconv_isa isa = c->impl == IMPL_OURS ? c->isa : VCONV_ISA_AUTO;
  bench_data d;
  bench_data_make(l, c->batch, &d);
  float *out = bench_alloc(bench_out_floats(l, c->batch));
  const float *ref = bench_reference(l, c->batch);
  char label[96], msg[256];
  double wall = 0.0;
  vconv_status s;
  if (l->is_pool) {
    vconv_pool2d_desc pd;
    vconv_pool2d_op *op = NULL;
    bench_pool_desc(l, c->batch, VCONV_LAYOUT_NCHW, &pd);
    s = vconv_pool2d_create_for_isa(&pd, isa, &op);
    size_t wsn = op ? vconv_pool2d_workspace_size(op, par) : 0;
    void *ws = wsn ? bench_alloc(wsn / sizeof(float) + 1) : NULL;
    if (s == VCONV_OK) s = vconv_pool2d_run(op, d.in, out, ws, wsn, par); /* warm-up */
    if (s == VCONV_OK && ref && bench_check(out, ref, bench_out_floats(l, c->batch), BENCH_TOL_OURS, msg, sizeof msg)) {
      bm_skip_with_error(st, msg);
    } else if (s == VCONV_OK) {
      BENCH_LOOP(st, wall, { vconv_pool2d_run(op, d.in, out, ws, wsn, par); bm_escape(out); });
      snprintf(label, sizeof label, "nchw %s", vconv_pool2d_kernel_name(op));
      bm_set_label(st, label);
      bench_layer_counters(st, l, c->batch, wall);
    }
    vconv_pool2d_destroy(op);
    free(ws);
  } else {
    vconv_conv2d_desc cd;
    vconv_conv2d_op *op = NULL;
    bench_conv_desc(l, c->batch, VCONV_LAYOUT_NCHW, &cd);
    /* auto: the heuristic, never wisdom; tuned: planned for this thread count
     * from wisdom (VCONV_WISDOM, written by vconv-tune) where it has the
     * layer, else the heuristic. */
    s = c->impl == IMPL_TUNED ? vconv_conv2d_create_planned(&cd, VCONV_ALGO_AUTO, 0, par, d.w, d.bias, &op)
        : c->impl == IMPL_AUTO ? vconv_conv2d_create_for_isa(&cd, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, d.w, d.bias, &op)
                               : vconv_conv2d_create_named(&cd, c->plan, d.w, d.bias, &op);
    size_t wsn = op ? vconv_conv2d_workspace_size(op, par) : 0;
    void *ws = wsn ? bench_alloc(wsn / sizeof(float) + 1) : NULL;
    if (s == VCONV_OK) s = vconv_conv2d_run(op, d.in, out, ws, wsn, par); /* warm-up */
    if (s == VCONV_OK && ref && bench_check(out, ref, bench_out_floats(l, c->batch), BENCH_TOL_OURS, msg, sizeof msg)) {
      bm_skip_with_error(st, msg);
    } else if (s == VCONV_OK) {
      BENCH_LOOP(st, wall, { vconv_conv2d_run(op, d.in, out, ws, wsn, par); bm_escape(out); });
      snprintf(label, sizeof label, "nchw %s", vconv_conv2d_plan_of(op));
      bm_set_label(st, label);
      bench_layer_counters(st, l, c->batch, wall);
    }
    vconv_conv2d_destroy(op);
    free(ws);
  }
  if (s != VCONV_OK) bm_skip_with_error(st, vconv_status_string(s));
  free(out);
  bench_data_free(&d);
}
