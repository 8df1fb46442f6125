/*
 * XNNPACK (operator API of the Debian 2022 snapshot): NHWC convolution with
 * weights [G][K/G][R][S][C/G], max and average pooling.  The input is our NCHW
 * data transposed once to NHWC; the output is checked against our result
 * (transposed back).  Threads: pthreadpool_create(t) (NULL for one thread).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "bench_config.h"

#if BENCH_HAVE_XNNPACK
#include <pthreadpool.h>
#include <xnnpack.h>

int bench_have_xnnpack(void) {
  static int state; /* 0 unknown, 1 ok, -1 failed */
  if (!state) state = xnn_initialize(NULL) == xnn_status_success ? 1 : -1;
  return state > 0;
}

void bench_xnnpack_context(void) {
  bm_add_context("xnnpack_version", BENCH_XNNPACK_VERSION);
}

static pthreadpool_t thread_pool(int threads) {
  static pthreadpool_t pools[257];
  if (threads <= 1) return NULL;
  if (threads > 256) threads = 256;
  if (!pools[threads]) pools[threads] = pthreadpool_create((size_t)threads);
  return pools[threads];
}

void bench_xnnpack(bm_state *st, void *arg) {
  const bench_case *c = arg;
  const bench_layer *l = c->layer;
  const int64_t n = c->batch, P = bench_out_h(l), Q = bench_out_w(l);
  const int64_t G = l->groups, Cg = l->C / G, Kg = l->K / G, RS = l->R * l->S;
  const float *ref = bench_reference(l, n);
  if (!bench_have_xnnpack() || !ref) {
    bm_skip_with_error(st, !ref ? "vconv reference failed" : "xnn_initialize failed");
    return;
  }
  pthreadpool_t tp = thread_pool(c->threads);
  bench_data d;
  bench_data_make(l, n, &d);
  const size_t nin = bench_in_floats(l, n), nout = bench_out_floats(l, n);
  float *in = bench_alloc(nin), *out = bench_alloc(nout), *check = bench_alloc(nout), *w = NULL;
  bench_nchw_to_nhwc(d.in, in, n, l->C, l->H, l->W);
  xnn_operator_t op = NULL;
  enum xnn_status s;
  const uint32_t pad = (uint32_t)l->pad, R = (uint32_t)l->R, S = (uint32_t)l->S,
                 stride = (uint32_t)l->stride;
  if (l->is_pool && l->pool_kind == VCONV_POOL_MAX) {
    s = xnn_create_max_pooling2d_nhwc_f32(pad, pad, pad, pad, R, S, stride, stride, 1, 1,
                                          (size_t)l->C, (size_t)l->C, (size_t)l->C, -INFINITY,
                                          INFINITY, 0, &op);
  } else if (l->is_pool) { /* S2/S4 have no padding: include/exclude pad agree */
    s = xnn_create_average_pooling2d_nhwc_f32(pad, pad, pad, pad, R, S, stride, stride,
                                              (size_t)l->C, (size_t)l->C, (size_t)l->C,
                                              -INFINITY, INFINITY, 0, &op);
  } else {
    w = bench_alloc(bench_weight_floats(l));
    for (int64_t k = 0; k < l->K; k++) /* OIHW -> per group O H W I */
      for (int64_t ci = 0; ci < Cg; ci++)
        for (int64_t rs = 0; rs < RS; rs++) w[(k * RS + rs) * Cg + ci] = d.w[(k * Cg + ci) * RS + rs];
    s = xnn_create_convolution2d_nhwc_f32(pad, pad, pad, pad, R, S, stride, stride, 1, 1,
                                          (uint32_t)G, (size_t)Cg, (size_t)Kg, (size_t)l->C,
                                          (size_t)l->K, w, d.bias, -INFINITY, INFINITY, 0, &op);
  }
  const char *err = NULL;
  char msg[256];
  if (s != xnn_status_success) {
    snprintf(msg, sizeof msg, "XNNPACK: create failed (status %d)", (int)s);
    err = msg;
    goto done;
  }
  if (l->is_pool && l->pool_kind == VCONV_POOL_MAX)
    s = xnn_setup_max_pooling2d_nhwc_f32(op, (size_t)n, (size_t)l->H, (size_t)l->W, in, out, tp);
  else if (l->is_pool)
    s = xnn_setup_average_pooling2d_nhwc_f32(op, (size_t)n, (size_t)l->H, (size_t)l->W, in, out, tp);
  else
    s = xnn_setup_convolution2d_nhwc_f32(op, (size_t)n, (size_t)l->H, (size_t)l->W, in, out, tp);
  if (s == xnn_status_success) s = xnn_run_operator(op, tp);
  if (s != xnn_status_success) {
    snprintf(msg, sizeof msg, "XNNPACK: setup/run failed (status %d)", (int)s);
    err = msg;
    goto done;
  }
  bench_nhwc_to_nchw(out, check, n, l->K, P, Q);
  if (bench_check(check, ref, nout, BENCH_TOL_PEER, msg, sizeof msg)) {
    err = msg;
    goto done;
  }
  double wall = 0.0;
  BENCH_LOOP(st, wall, { xnn_run_operator(op, tp); bm_escape(out); });
  bm_set_label(st, "nhwc");
  bench_layer_counters(st, l, n, wall);
done:
  if (err) bm_skip_with_error(st, err);
  if (op) xnn_delete_operator(op);
  free(in);
  free(out);
  free(check);
  free(w);
  bench_data_free(&d);
}

#else
int bench_have_xnnpack(void) { return 0; }
void bench_xnnpack_context(void) {}
void bench_xnnpack(bm_state *st, void *arg) {
  (void)arg;
  bm_skip_with_error(st, "built without XNNPACK");
}
#endif
