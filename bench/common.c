/* Data, the reference result and the check every peer passes before it is timed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

float *bench_alloc(size_t floats) {
  size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
  float *p = aligned_alloc(64, bytes ? bytes : 64);
  if (!p) {
    fprintf(stderr, "vconv-bench: out of memory (%zu bytes)\n", bytes);
    abort();
  }
  memset(p, 0, bytes ? bytes : 64);
  return p;
}

/* Deterministic uniform values in [-scale, scale). */
static void fill(float *p, size_t n, uint64_t seed, float scale) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    p[i] = scale * ((float)(x >> 40) * (2.0f / 16777216.0f) - 1.0f);
  }
}

void bench_data_make(const bench_layer *l, int64_t batch, bench_data *d) {
  const uint64_t seed = (uint64_t)(l - bench_layers) + 1;
  d->in = bench_alloc(bench_in_floats(l, batch));
  fill(d->in, bench_in_floats(l, batch), seed, 1.0f);
  d->w = d->bias = NULL;
  if (l->is_pool) return;
  const size_t nw = bench_weight_floats(l);
  const int64_t cg = l->C / l->groups, rs = l->R * l->S;
  d->w = bench_alloc(nw);
  fill(d->w, nw, seed + 1000, 1.0f / sqrtf((float)(cg * rs)));
  if (l->conn) /* peers compute the dense layer: unconnected weights are zero */
    for (int64_t k = 0; k < l->K; k++)
      for (int64_t c = 0; c < cg; c++)
        if (!l->conn[k * cg + c]) memset(d->w + (k * cg + c) * rs, 0, (size_t)rs * sizeof(float));
  d->bias = bench_alloc((size_t)l->K);
  fill(d->bias, (size_t)l->K, seed + 2000, 0.1f);
}

void bench_data_free(bench_data *d) {
  free(d->in);
  free(d->w);
  free(d->bias);
  d->in = d->w = d->bias = NULL;
}

static struct {
  const bench_layer *layer;
  int64_t batch;
  float *out;
} ref_cache;

const float *bench_reference(const bench_layer *l, int64_t batch) {
  if (ref_cache.layer == l && ref_cache.batch == batch) return ref_cache.out;
  free(ref_cache.out);
  ref_cache.out = NULL;
  ref_cache.layer = NULL;
  bench_data d;
  bench_data_make(l, batch, &d);
  float *out = bench_alloc(bench_out_floats(l, batch));
  vconv_status s;
  const vconv_parallel *par = NULL; /* one thread: the reference also checks our thread pool */
  if (l->is_pool) {
    vconv_pool2d_desc pd;
    vconv_pool2d_op *op = NULL;
    bench_pool_desc(l, batch, VCONV_LAYOUT_NCHW, &pd);
    s = vconv_pool2d_create(&pd, &op);
    if (s == VCONV_OK) s = vconv_pool2d_run(op, d.in, out, NULL, 0, par);
    vconv_pool2d_destroy(op);
  } else {
    vconv_conv2d_desc cd;
    vconv_conv2d_op *op = NULL;
    bench_conv_desc(l, batch, VCONV_LAYOUT_NCHW, &cd);
    s = vconv_conv2d_create(&cd, VCONV_ALGO_AUTO, d.w, d.bias, &op);
    if (s == VCONV_OK) s = vconv_conv2d_run(op, d.in, out, NULL, 0, par);
    vconv_conv2d_destroy(op);
  }
  bench_data_free(&d);
  if (s != VCONV_OK) {
    free(out);
    return NULL;
  }
  ref_cache.layer = l;
  ref_cache.batch = batch;
  ref_cache.out = out;
  return out;
}

int bench_check(const float *got, const float *ref, size_t n, double rel, char *msg, size_t msg_size) {
  double maxref = 0.0, maxerr = 0.0;
  size_t worst = 0;
  for (size_t i = 0; i < n; i++) {
    double r = fabs((double)ref[i]), e = fabs((double)got[i] - (double)ref[i]);
    if (r > maxref) maxref = r;
    if (!(e <= maxerr)) { /* NaN counts as the worst */
      maxerr = e;
      worst = i;
    }
  }
  if (maxerr <= rel * maxref) return 0;
  snprintf(msg, msg_size,
           "result differs from vconv's: max |err| %.3g at %zu (got %.6g, want %.6g), max |ref| %.3g",
           maxerr, worst, (double)got[worst], (double)ref[worst], maxref);
  return 1;
}

void bench_nchw_to_nhwc(const float *src, float *dst, int64_t n, int64_t c, int64_t h, int64_t w) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t p = 0; p < h * w; p++) dst[(i * h * w + p) * c + ch] = src[(i * c + ch) * h * w + p];
}

void bench_nhwc_to_nchw(const float *src, float *dst, int64_t n, int64_t c, int64_t h, int64_t w) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t p = 0; p < h * w; p++) dst[(i * c + ch) * h * w + p] = src[(i * h * w + p) * c + ch];
}

void bench_rate(bm_state *st, const char *counter, double per_iter, double wall) {
  const double it = (double)bm_iterations(st);
  bm_set_counter(st, counter, wall > 0.0 ? per_iter * it / wall : 0.0, BM_COUNTER_DEFAULT, 1000);
}

void bench_layer_counters(bm_state *st, const bench_layer *l, int64_t batch, double wall) {
  if (l->is_pool) {
    bench_rate(st, "bytes_per_second", bench_bytes(l, batch), wall);
  } else {
    bench_rate(st, "FLOPS", bench_flops(l, batch), wall);
    bm_set_counter(st, "flop", bench_flops(l, batch), BM_COUNTER_DEFAULT, 1000);
  }
  bm_set_counter(st, "bytes", bench_bytes(l, batch), BM_COUNTER_DEFAULT, 1024);
}
