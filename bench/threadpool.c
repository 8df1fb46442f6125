/*
 * The suite's parallel-for: the library's own pool (vconv_threadpool), one
 * per thread count, unpinned (the benchmark machine may be shared, and a
 * pinned thread waits when its core is busy), created on first use.
 */
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

#define MAX_POOLS 256
static vconv_threadpool *pools[MAX_POOLS + 1];

static int core_count(void) {
  vconv_cpu_info info;
  int c = -1;
  if (vconv_get_cpu_info(&info) == VCONV_OK) c = info.cores;
  if (c < 1) c = (int)sysconf(_SC_NPROCESSORS_ONLN);
  return c < 1 ? 1 : c > MAX_POOLS ? MAX_POOLS : c;
}

const vconv_parallel *bench_parallel(int threads) {
  const int cores = core_count();
  if (threads > cores) threads = cores;
  if (threads <= 1) return NULL;
  if (!pools[threads] && vconv_threadpool_create((size_t)threads, 0, &pools[threads]) != VCONV_OK)
    abort();
  return vconv_threadpool_parallel(pools[threads]);
}

void bench_parallel_shutdown(void) {
  for (int t = 0; t <= MAX_POOLS; t++) {
    vconv_threadpool_destroy(pools[t]);
    pools[t] = NULL;
  }
}
