/*
 * A small pthread pool implementing vconv_parallel (the library owns no
 * threads).  t-1 workers plus the calling thread claim task indices.
 *
 * The job lives in one atomic word (generation | task count | next index), so
 * a claim is a CAS that also proves the job is still current: the caller never
 * waits for a worker that has not turned up (on a busy 2-core VM a descheduled
 * worker would otherwise cost a scheduler tick per call); it runs the
 * unclaimed tasks itself and waits only for the tasks that were claimed.
 * Workers spin for a short while after a job (timed loops call back to back),
 * then sleep on a condition variable, so an idle pool leaves the cores alone.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

#if defined(__x86_64__) || defined(__i386__)
#  include <immintrin.h>
#  define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#  define CPU_RELAX() __asm__ volatile("yield")
#else
#  define CPU_RELAX() ((void)0)
#endif

#define SPIN_SECONDS 200e-6
/* word: generation (28 bits) | n (18 bits) | next index (18 bits) */
#define IDX_BITS 18
#define MAX_N ((1u << IDX_BITS) - 1)
#define GEN(w) ((w) >> (2 * IDX_BITS))
#define NTASKS(w) (((w) >> IDX_BITS) & MAX_N)
#define IDX(w) ((w) & MAX_N)

typedef struct pool {
  vconv_parallel par;
  int workers;
  pthread_t *threads;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  atomic_uint_least64_t word;
  atomic_size_t done;        /* tasks of the current job finished */
  atomic_int sleeping, quit;
  vconv_task_fn task;        /* the current job: stable while any of its tasks is unfinished */
  void *arg;
  size_t base;               /* index offset, for jobs of more than MAX_N tasks */
} pool;

static void claim(pool *p, uint64_t gen) {
  uint64_t w = atomic_load(&p->word);
  while (GEN(w) == gen && IDX(w) < NTASKS(w)) {
    if (atomic_compare_exchange_weak(&p->word, &w, w + 1)) {
      p->task(p->arg, p->base + IDX(w));
      atomic_fetch_add(&p->done, 1);
      w = atomic_load(&p->word);
    }
  }
}

static void *worker(void *arg) {
  pool *p = arg;
  uint64_t seen = GEN(atomic_load(&p->word));
  for (;;) {
    double t0 = bench_now();
    int k = 0;
    while (GEN(atomic_load(&p->word)) == seen && !atomic_load(&p->quit)) {
      CPU_RELAX();
      if (++k % 256 == 0 && bench_now() - t0 > SPIN_SECONDS) {
        pthread_mutex_lock(&p->mu);
        atomic_fetch_add(&p->sleeping, 1);
        while (GEN(atomic_load(&p->word)) == seen && !atomic_load(&p->quit))
          pthread_cond_wait(&p->cv, &p->mu);
        atomic_fetch_sub(&p->sleeping, 1);
        pthread_mutex_unlock(&p->mu);
      }
    }
    if (atomic_load(&p->quit)) return NULL;
    seen = GEN(atomic_load(&p->word));
    claim(p, seen);
  }
}

static void parallel_for(void *context, size_t n, vconv_task_fn task, void *arg) {
  pool *p = context;
  for (size_t base = 0; base < n; base += MAX_N) {
    const size_t m = n - base < MAX_N ? n - base : MAX_N;
    if (m == 1) {
      task(arg, base);
      continue;
    }
    p->task = task;
    p->arg = arg;
    p->base = base;
    atomic_store(&p->done, 0);
    const uint64_t gen = (GEN(atomic_load(&p->word)) + 1) & ((UINT64_C(1) << 28) - 1);
    atomic_store(&p->word, gen << (2 * IDX_BITS) | (uint64_t)m << IDX_BITS); /* publishes the job */
    if (atomic_load(&p->sleeping) > 0) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_broadcast(&p->cv);
      pthread_mutex_unlock(&p->mu);
    }
    claim(p, gen);
    while (atomic_load(&p->done) < m) CPU_RELAX();
  }
}

#define MAX_POOLS 256
static pool *pools[MAX_POOLS + 1];

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
  if (pools[threads]) return &pools[threads]->par;
  pool *p = calloc(1, sizeof *p);
  if (!p) abort();
  p->par.parallel_for = parallel_for;
  p->par.context = p;
  p->par.threads = (size_t)threads;
  p->workers = threads - 1;
  p->threads = calloc((size_t)p->workers, sizeof *p->threads);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  for (int i = 0; i < p->workers; i++)
    if (!p->threads || pthread_create(&p->threads[i], NULL, worker, p) != 0) abort();
  pools[threads] = p;
  return &p->par;
}

void bench_parallel_shutdown(void) {
  for (int t = 0; t <= MAX_POOLS; t++) {
    pool *p = pools[t];
    if (!p) continue;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->workers; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
    pools[t] = NULL;
  }
}
