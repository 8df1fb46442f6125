/*
 * bm_shim: a small C interface over Google Benchmark (C++).  Benchmarks are
 * written in C; bm_shim.cc is the only C++ in the suite.
 *
 * Pitfalls of Google Benchmark 1.7.1 kept in mind here:
 * - rate counters divide by CPU time (of the main thread), not wall time;
 * - UseRealTime(), MinTime(), Iterations() append "/real_time", "/min_time:..."
 *   and so on to the benchmark's name, so the suite avoids them and measures
 *   wall time itself (bench.h: BENCH_LOOP);
 * - --benchmark_min_time takes a bare number of seconds ("0.05", not "0.05s").
 */
#ifndef BM_SHIM_H
#define BM_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bm_state bm_state;  /* benchmark::State */
typedef struct bm_bench bm_bench;  /* the registered benchmark */
typedef void (*bm_fn)(bm_state *st, void *arg);

/* Counter flags (the values of benchmark::Counter::Flags). */
enum { BM_COUNTER_DEFAULT = 0, BM_COUNTER_RATE = 1, BM_COUNTER_ITER_INVARIANT_RATE = 1 | 4 };
/* Time units for bm_unit. */
enum { BM_NS = 0, BM_US = 1, BM_MS = 2, BM_S = 3 };

/* The name is copied. */
bm_bench *bm_register(const char *name, bm_fn fn, void *arg);
void bm_unit(bm_bench *b, int unit);
void bm_use_real_time(bm_bench *b);  /* renames the benchmark ".../real_time" */

int bm_keep_running_batch(bm_state *st, int64_t n);
int64_t bm_max_iterations(const bm_state *st);
int64_t bm_iterations(const bm_state *st);
void bm_skip_with_error(bm_state *st, const char *msg);  /* then return without looping */
void bm_set_label(bm_state *st, const char *label);
/* one_k: 1000 or 1024 (console prefixes only). */
void bm_set_counter(bm_state *st, const char *name, double value, int flags, int one_k);

/* Process: context keys for the JSON/console header (before bm_main), then run
 * with the standard --benchmark_* flags.  Returns the process exit status. */
void bm_add_context(const char *key, const char *value);
int bm_main(int argc, char **argv);

/* DoNotOptimize / ClobberMemory equivalents (no call). */
static inline void bm_escape(const void *p) { __asm__ volatile("" : : "g"(p) : "memory"); }
static inline void bm_clobber_memory(void) { __asm__ volatile("" : : : "memory"); }

/* Zero-overhead loop: one batch of max_iterations (never overshoots). */
#define BM_LOOP(st, i)                                                                \
  for (int64_t bm_n_ = bm_max_iterations(st); bm_keep_running_batch((st), bm_n_);) \
    for (int64_t i = 0; i < bm_n_; ++i)

#ifdef __cplusplus
}
#endif

#endif
