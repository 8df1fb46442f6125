/* Shared declarations of the vconv benchmark suite (C11). */
#ifndef VCONV_BENCH_H
#define VCONV_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bm_shim.h"
#include "vconv.h"

/* ---- layers (layers.c) ---- */
typedef struct bench_layer {
  const char *net, *name;   /* "alexnet", "conv3" */
  int is_pool;
  int64_t C, H, W;          /* input channels and size */
  int64_t K, R, S;          /* conv: output channels, kernel; pool: K = C, window R x S */
  int64_t stride, pad, groups;
  vconv_pool_kind pool_kind;
  const unsigned char *conn; /* LeNet-5 C3 table (K x C), or NULL */
} bench_layer;

extern const bench_layer bench_layers[];
extern const size_t bench_layer_count;

void bench_conv_desc(const bench_layer *l, int64_t batch, vconv_layout layout, vconv_conv2d_desc *d);
void bench_pool_desc(const bench_layer *l, int64_t batch, vconv_layout layout, vconv_pool2d_desc *d);
int64_t bench_out_h(const bench_layer *l);
int64_t bench_out_w(const bench_layer *l);
size_t bench_in_floats(const bench_layer *l, int64_t batch);
size_t bench_out_floats(const bench_layer *l, int64_t batch);
size_t bench_weight_floats(const bench_layer *l); /* dense OIHW, K x C/G x R x S */
/* Nominal direct FLOPs (2 N K C R S P Q / G; connected pairs only with a table). */
double bench_flops(const bench_layer *l, int64_t batch);
/* Bytes a layer must move at least: input + output (+ weights for conv). */
double bench_bytes(const bench_layer *l, int64_t batch);

/* ---- the data every implementation of a layer sees (common.c) ---- */
typedef struct bench_data {
  float *in;      /* NCHW */
  float *w;       /* OIHW, unconnected C3 pairs zeroed */
  float *bias;
} bench_data;
void bench_data_make(const bench_layer *l, int64_t batch, bench_data *d);
void bench_data_free(bench_data *d);
/* Our NCHW result (auto algorithm, effective tier), cached for the last (layer, batch). */
const float *bench_reference(const bench_layer *l, int64_t batch);
/* 0 when max|got - ref| <= rel * max|ref|; otherwise writes a message.  Peers are
 * checked with BENCH_TOL_PEER; our variants (other algorithms round differently:
 * the test suite owns their accuracy) with the looser BENCH_TOL_OURS, which still
 * catches a wrong or missing part of the output (e.g. a thread pool bug). */
#define BENCH_TOL_PEER 1e-3
#define BENCH_TOL_OURS 1e-2
int bench_check(const float *got, const float *ref, size_t n, double rel, char *msg, size_t msg_size);
void bench_nchw_to_nhwc(const float *src, float *dst, int64_t n, int64_t c, int64_t h, int64_t w);
void bench_nhwc_to_nchw(const float *src, float *dst, int64_t n, int64_t c, int64_t h, int64_t w);
float *bench_alloc(size_t floats); /* 64-byte aligned, zeroed; aborts on failure */

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/*
 * The timed loop.  Wall time is measured here, so rates are per second of
 * real time for every thread count without UseRealTime() (which would rename
 * the benchmark).  bench_rate() then sets a counter to per_iter * iterations / wall.
 */
#define BENCH_LOOP(st, wall, body)                  \
  do {                                              \
    double bench_t0_ = bench_now();                 \
    BM_LOOP(st, bench_i_) { body; }                 \
    (wall) = bench_now() - bench_t0_;               \
  } while (0)
void bench_rate(bm_state *st, const char *counter, double per_iter, double wall);
/* A layer's counters: FLOPS (conv) or bytes_per_second (pool), and per iteration
 * `flop` (nominal direct count) and `bytes` (input + output + weights) for the roofline. */
void bench_layer_counters(bm_state *st, const bench_layer *l, int64_t batch, double wall);

/* ---- benchmark cases ---- */
/* OURS: a named plan (conv) or a tier (pool); AUTO: the heuristic, no wisdom
 * (what a framework gets); TUNED: create_planned with the wisdom of
 * VCONV_WISDOM. */
typedef enum bench_impl {
  IMPL_OURS, IMPL_AUTO, IMPL_TUNED,
  IMPL_ONEDNN, IMPL_ONEDNN_NCHW, IMPL_ONEDNN_WINO, IMPL_XNNPACK, IMPL_OPENBLAS
} bench_impl;

typedef struct bench_case {
  const bench_layer *layer;
  int64_t batch;
  int threads;
  bench_impl impl;
  vconv_algorithm algo;
  vconv_isa isa;
  char plan[64]; /* OURS conv: the plan created by name (a kernel name: its own path) */
} bench_case;

/* Our parallel-for over a pthread pool (threadpool.c); NULL for 1 thread. */
const vconv_parallel *bench_parallel(int threads);
void bench_parallel_shutdown(void);

/* Ours (ours.c). */
void bench_ours(bm_state *st, void *arg);
/* The plan vconv_conv2d_create_named(plan) runs on the layer at this batch
 * ("<kernel>:<path>", into out), or 0 where it does not apply here. */
int bench_ours_plan(const bench_layer *l, int64_t batch, const char *plan, char *out, size_t n);

/* Peak benchmarks (peak_main.c) and the per-tier kernels (peak.c). */
void bench_register_peaks(void);
/* Buffer sizes of peak/read/<level>, from vconv_get_cpu_info. */
int64_t bench_read_bytes(int level);

/* One core's FMA peak at `isa` in FLOP/s from a short run (about 20 ms, best
 * window): the context's clock check when the peak rows are not in the run. */
double bench_fma_peak_quick(vconv_isa isa);
/* One core's read bandwidth in B/s of level 0..3 (l1, l2, l3, dram; buffers of
 * bench_read_bytes) with the effective tier's loads, best pass of a 50 ms run. */
double bench_read_peak_quick(int level);

/* Locally connected and tiled rows (local.c). */
void bench_register_local(void);

/* ---- the machine (machine.c) ---- */
typedef struct bench_clock {
  double ghz;          /* the clock: imul chain on x86-64, add chain on AArch64; 0 unmeasured */
  double ghz_add;      /* add chain (x86-64: the cross-check) */
  const char *method;
} bench_clock;
void bench_measure_clock(bench_clock *c);
/* Full-width FMA operations per cycle at `isa` (0: the tier's peak is not FMA);
 * *why: where the number comes from. */
int bench_fma_units(vconv_isa isa, const vconv_cpu_info *ci, const char **why);
int bench_isa_lanes(vconv_isa isa);
void bench_hypervisor(char *s, size_t size);
void bench_governor(char *s, size_t size);

/* gemm.sq1024 rows of our own SGEMM (gemm.c; nothing when the library has none). */
void bench_register_gemm(void);
void bench_gemm_fill(float *a, float *b, size_t mm);

/* Peers: each file compiles to stubs returning 0 when the peer was not found. */
int bench_have_onednn(void), bench_have_xnnpack(void), bench_have_openblas(void);
void bench_onednn(bm_state *st, void *arg);
int bench_onednn_applicable(const bench_layer *l, int64_t batch, bench_impl impl);
void bench_xnnpack(bm_state *st, void *arg);
void bench_openblas(bm_state *st, void *arg);
void bench_openblas_gemm(bm_state *st, void *arg);
/* Context lines: version strings etc.  key/value pairs via bm_add_context. */
void bench_onednn_context(void), bench_xnnpack_context(void), bench_openblas_context(void);

/* Backward rows (backward.c): <net>.<layer>_bwd_data / _bwd_weights, ours and
 * oneDNN's; peer_cap: only the peer rows, as peer_<cap>. */
void bench_register_backward(int all_threads, const char *peer_cap);

#endif
