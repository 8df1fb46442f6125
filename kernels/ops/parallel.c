/*
 * Parallel execution: the piece runner every operator uses, the optional
 * thread pool the caller may create (vconv_threadpool), the adapter for a
 * caller's pthreadpool_t, and the opt-in flush-to-zero scope.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ops.h"
#include "vconv_config.h"

#if VCONV_HAVE_HWLOC
#  include <hwloc.h>
#endif
#if VCONV_HAVE_PTHREADPOOL
#  include <pthreadpool.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#  include <immintrin.h>
#  define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#  define CPU_RELAX() __asm__ volatile("yield")
#else
#  define CPU_RELAX() ((void)0)
#endif

void *vconv_i_alloc(size_t bytes) {
  const size_t align = 64;
  if (bytes > SIZE_MAX - align) return NULL;
  return aligned_alloc(align, (bytes + align - 1) / align * align + (bytes == 0 ? align : 0));
}

void vconv_i_free(void *p) { free(p); }

vconv_status vconv_i_scratch(size_t need, void *workspace, size_t workspace_size,
                             unsigned char **ws, void **owned) {
  *ws = NULL;
  *owned = NULL;
  if (!need) return VCONV_OK;
  if (need == SIZE_MAX) return VCONV_ERR_OUT_OF_MEMORY; /* saturated: no memory is that large */
  if (!workspace) {
    if (!(workspace = *owned = vconv_i_alloc(need))) return VCONV_ERR_OUT_OF_MEMORY;
    workspace_size = need;
  }
  if (workspace_size < need) return VCONV_ERR_WORKSPACE_TOO_SMALL;
  *ws = (unsigned char *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63);
  return VCONV_OK;
}

size_t vconv_i_slice_bytes(size_t task_bytes) {
  return task_bytes > SIZE_MAX - 63 ? SIZE_MAX : (task_bytes + 63) / 64 * 64;
}

size_t vconv_i_slices_bytes(size_t slice_bytes, size_t workers) {
  if (workers && slice_bytes > (SIZE_MAX - 64) / workers) return SIZE_MAX;
  return slice_bytes * workers + 64;
}

/* ------------------------------------------------------------------------ */
/* Pieces                                                                     */

/* VCONV_SPLIT_MIN_NS overrides the least work per worker (0: split whatever
 * can be split, as the test suite does to reach every split on small shapes). */
static double min_worker_ns(void) {
  const char *e = getenv("VCONV_SPLIT_MIN_NS");
  if (e && *e) {
    char *end;
    const double v = strtod(e, &end);
    if (*end == '\0' && v >= 0 && v < 1e12) return v;
  }
  return VCONV_I_MIN_WORKER_NS;
}

size_t vconv_i_grain(double work_ns, size_t pieces) {
  if (pieces == 0 || !(work_ns > 0)) return 1;
  const double per_piece = work_ns / (double)pieces;
  const double g = min_worker_ns() / per_piece;
  if (g >= (double)pieces) return pieces;
  return g < 1 ? 1 : (size_t)g + 1;
}

size_t vconv_i_chunk(double work_ns, size_t pieces) {
  if (pieces == 0 || !(work_ns > 0)) return 1;
  const double c = VCONV_I_CLAIM_NS / (work_ns / (double)pieces);
  return c < 1 ? 1 : c >= (double)pieces ? pieces : (size_t)c + 1;
}

size_t vconv_i_workers_grain(const vconv_parallel *par, size_t pieces, size_t grain) {
  size_t w = par && par->parallel_for && par->threads > 1 ? par->threads : 1;
  if (w > VCONV_MAX_THREADS) w = VCONV_MAX_THREADS; /* a caller's count is not trusted */
  const size_t most = grain > 1 ? pieces / grain : pieces;
  if (w > most) w = most;
  return w ? w : 1;
}

size_t vconv_i_workers(const vconv_parallel *par, size_t pieces) {
  return vconv_i_workers_grain(par, pieces, 1);
}

/*
 * Worker w starts on its own contiguous share of the pieces (slot w), so a
 * thread meets the same inputs and outputs run after run, and the next
 * layer, split the same way, finds in its core's cache what this one wrote;
 * a worker that runs out takes pieces from the other slots, so a descheduled
 * thread delays the call by at most the piece it is in.
 */
#define MAX_SLOTS 32
typedef struct slot {
  _Alignas(64) atomic_size_t next; /* a line of its own: owners do not share it */
  size_t end;
} slot;

typedef struct pieces_call {
  slot slots[MAX_SLOTS];
  size_t nslots, chunk;
  unsigned char *scratch;
  size_t stride;
  vconv_i_piece_fn piece;
  void *arg;
} pieces_call;

static void worker(void *arg, size_t w) {
  pieces_call *c = arg;
  void *scratch = c->scratch ? c->scratch + w * c->stride : NULL;
  for (size_t k = 0; k < c->nslots; k++) {
    slot *s = &c->slots[(w + k) % c->nslots];
    for (size_t i; (i = atomic_fetch_add_explicit(&s->next, c->chunk, memory_order_relaxed)) < s->end;) {
      const size_t end = s->end - i > c->chunk ? i + c->chunk : s->end;
      for (; i < end; i++) c->piece(c->arg, scratch, i);
    }
  }
}

void vconv_i_run_split(const vconv_parallel *par, size_t pieces, size_t grain, size_t chunk,
                       unsigned char *scratch, size_t scratch_stride, vconv_i_piece_fn piece,
                       void *arg) {
  const size_t workers = vconv_i_workers_grain(par, pieces, grain);
  /* At least eight claims per worker, so that the others absorb a descheduled one. */
  if (chunk > pieces / (workers * 8)) chunk = pieces / (workers * 8);
  if (chunk < 1) chunk = 1;
  pieces_call c;
  c.nslots = workers < MAX_SLOTS ? workers : MAX_SLOTS;
  for (size_t j = 0; j < c.nslots; j++) {
    atomic_init(&c.slots[j].next, j * pieces / c.nslots);
    c.slots[j].end = (j + 1) * pieces / c.nslots;
  }
  c.chunk = chunk;
  c.scratch = scratch;
  c.stride = scratch_stride;
  c.piece = piece;
  c.arg = arg;
  if (workers > 1)
    par->parallel_for(par->context, workers, worker, &c);
  else
    worker(&c, 0);
}

void vconv_i_run_pieces(const vconv_parallel *par, size_t pieces, unsigned char *scratch,
                        size_t scratch_stride, vconv_i_piece_fn piece, void *arg) {
  vconv_i_run_split(par, pieces, 1, 1, scratch, scratch_stride, piece, arg);
}

/* ------------------------------------------------------------------------ */
/* The caller's pthreadpool_t                                                 */

#if VCONV_HAVE_PTHREADPOOL
static void pthreadpool_for(void *context, size_t n, vconv_task_fn task, void *task_arg) {
  pthreadpool_parallelize_1d((pthreadpool_t)context, task, task_arg, n, 0);
}
#endif

vconv_status vconv_parallel_from_pthreadpool(struct pthreadpool *pool, vconv_parallel *out) {
  if (!out) return VCONV_ERR_NULL_POINTER;
  *out = (vconv_parallel){NULL, NULL, 1};
  if (!pool) return VCONV_OK;
#if VCONV_HAVE_PTHREADPOOL
  *out = (vconv_parallel){pthreadpool_for, pool, pthreadpool_get_threads_count(pool)};
  return VCONV_OK;
#else
  return VCONV_ERR_UNSUPPORTED_OPTION;
#endif
}

/* ------------------------------------------------------------------------ */
/* vconv_threadpool                                                           */

/*
 * t-1 threads plus the calling thread claim task indices.  The job lives in
 * one atomic word (generation | task count | next index), so a claim is a CAS
 * that also proves the job is still current: the caller never waits for a
 * worker that has not turned up (on a busy machine a descheduled worker would
 * otherwise cost a scheduler tick per call); it runs the unclaimed tasks itself
 * and waits only for the tasks that were claimed.  Workers spin for a short
 * while after a job (layers run back to back), then sleep on a condition
 * variable, so an idle pool leaves the cores alone.
 */
#define SPIN_NS 200000
#define IDX_BITS 18
#define MAX_N ((1u << IDX_BITS) - 1)
#define GEN(w) ((w) >> (2 * IDX_BITS))
#define NTASKS(w) (((w) >> IDX_BITS) & MAX_N)
#define IDX(w) ((w) & MAX_N)

struct vconv_threadpool {
  vconv_parallel par;
  size_t workers;
  pthread_t *threads;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  atomic_uint_least64_t word;
  atomic_size_t done;         /* tasks of the current job finished */
  atomic_int sleeping, quit;
  /* The current job: written before the word publishes it, stable while any
   * of its tasks is unfinished; atomics so that a worker reading a stale job
   * (its CAS then fails) is no data race. */
  _Atomic(vconv_task_fn) task;
  _Atomic(void *) arg;
  atomic_size_t base;         /* index offset, for jobs of more than MAX_N tasks */
  pthread_mutex_t call_mu;    /* one parallel_for at a time */
};

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void claim(vconv_threadpool *p, uint64_t gen) {
  uint64_t w = atomic_load(&p->word);
  while (GEN(w) == gen && IDX(w) < NTASKS(w)) {
    const vconv_task_fn task = atomic_load(&p->task);
    void *arg = atomic_load(&p->arg);
    const size_t base = atomic_load(&p->base);
    if (atomic_compare_exchange_weak(&p->word, &w, w + 1)) {
      task(arg, base + IDX(w));
      atomic_fetch_add(&p->done, 1);
      w = atomic_load(&p->word);
    }
  }
}

static void *pool_thread(void *arg) {
  vconv_threadpool *p = arg;
  uint64_t seen = GEN(atomic_load(&p->word));
  for (;;) {
    const int64_t t0 = now_ns();
    int k = 0;
    while (GEN(atomic_load(&p->word)) == seen && !atomic_load(&p->quit)) {
      CPU_RELAX();
      if (++k % 256 == 0 && now_ns() - t0 > SPIN_NS) {
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

static void pool_for(void *context, size_t n, vconv_task_fn task, void *task_arg) {
  vconv_threadpool *p = context;
  pthread_mutex_lock(&p->call_mu);
  for (size_t base = 0; base < n; base += MAX_N) {
    const size_t m = n - base < MAX_N ? n - base : MAX_N;
    if (m == 1) {
      task(task_arg, base);
      continue;
    }
    atomic_store(&p->task, task);
    atomic_store(&p->arg, task_arg);
    atomic_store(&p->base, base);
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
  pthread_mutex_unlock(&p->call_mu);
}

static size_t physical_cores(void) {
  vconv_cpu_info info;
  long c = -1;
  if (vconv_get_cpu_info(&info) == VCONV_OK) c = info.cores;
  if (c < 1) c = sysconf(_SC_NPROCESSORS_ONLN);
  return c < 1 ? 1 : (size_t)c;
}

/* Binds pool thread i (1-based: the caller is 0 and keeps its own binding) to
 * core i modulo the cores, one hardware thread's worth of core each.  Returns
 * 0 if the OS refused. */
static int pin_threads(vconv_threadpool *p) {
  int ok = 1;
#if VCONV_HAVE_HWLOC
  hwloc_topology_t t;
  if ((hwloc_get_api_version() >> 16) == (HWLOC_API_VERSION >> 16) && hwloc_topology_init(&t) == 0) {
    if (hwloc_topology_load(t) == 0) {
      const int cores = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
      for (size_t i = 0; cores > 0 && i < p->workers; i++) {
        hwloc_obj_t core = hwloc_get_obj_by_type(t, HWLOC_OBJ_CORE, (unsigned)((i + 1) % (size_t)cores));
        if (!core || hwloc_set_thread_cpubind(t, p->threads[i], core->cpuset, 0) != 0) ok = 0;
      }
      hwloc_topology_destroy(t);
      return ok && cores > 0;
    }
    hwloc_topology_destroy(t);
  }
#endif
#ifdef __linux__
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  for (size_t i = 0; cpus > 0 && i < p->workers; i++) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((int)((i + 1) % (size_t)cpus), &set);
    if (pthread_setaffinity_np(p->threads[i], sizeof set, &set) != 0) ok = 0;
  }
  return ok && cpus > 0;
#else
  return 0;
#endif
}

static void stop(vconv_threadpool *p, size_t started) {
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->quit, 1);
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  for (size_t i = 0; i < started; i++) pthread_join(p->threads[i], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->call_mu);
  free(p->threads);
  free(p);
}

vconv_status vconv_threadpool_create(size_t threads, unsigned flags, vconv_threadpool **out) {
  if (!out) return VCONV_ERR_NULL_POINTER;
  *out = NULL;
  if (flags & ~(unsigned)VCONV_THREADPOOL_PIN) return VCONV_ERR_INVALID_ARGUMENT;
  if (threads == 0) threads = physical_cores();
  if (threads > MAX_N) return VCONV_ERR_INVALID_ARGUMENT;
  vconv_threadpool *p = calloc(1, sizeof *p);
  if (!p) return VCONV_ERR_OUT_OF_MEMORY;
  p->workers = threads - 1;
  p->par = (vconv_parallel){threads > 1 ? pool_for : NULL, p, threads};
  if (p->workers && !(p->threads = calloc(p->workers, sizeof *p->threads))) {
    free(p);
    return VCONV_ERR_OUT_OF_MEMORY;
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  pthread_mutex_init(&p->call_mu, NULL);
  for (size_t i = 0; i < p->workers; i++)
    if (pthread_create(&p->threads[i], NULL, pool_thread, p) != 0) {
      stop(p, i);
      return VCONV_ERR_OUT_OF_MEMORY;
    }
  if ((flags & VCONV_THREADPOOL_PIN) && p->workers && !pin_threads(p)) {
    stop(p, p->workers);
    return VCONV_ERR_UNSUPPORTED_OPTION;
  }
  *out = p;
  return VCONV_OK;
}

const vconv_parallel *vconv_threadpool_parallel(const vconv_threadpool *pool) {
  return pool ? &pool->par : NULL;
}

void vconv_threadpool_destroy(vconv_threadpool *pool) {
  if (pool) stop(pool, pool->workers);
}

/* ------------------------------------------------------------------------ */
/* Flush-to-zero scope                                                        */

#if defined(__x86_64__) || defined(__i386__)
#  define FTZ_BITS 0x8040u /* MXCSR FTZ (bit 15) | DAZ (bit 6) */
static uint64_t fp_get(void) { return _mm_getcsr(); }
static void fp_set(uint64_t v) { _mm_setcsr((unsigned)v); }
#elif defined(__aarch64__)
#  define FTZ_BITS (UINT64_C(1) << 24) /* FPCR.FZ: inputs and results */
static uint64_t fp_get(void) {
  uint64_t v;
  __asm__ volatile("mrs %0, fpcr" : "=r"(v));
  return v;
}
static void fp_set(uint64_t v) { __asm__ volatile("msr fpcr, %0" : : "r"(v)); }
#endif

vconv_status vconv_flush_denormals_begin(vconv_fp_state *saved) {
  if (!saved) return VCONV_ERR_NULL_POINTER;
#ifdef FTZ_BITS
  saved->bits = fp_get();
  fp_set(saved->bits | FTZ_BITS);
  return VCONV_OK;
#else
  saved->bits = 0;
  return VCONV_ERR_UNSUPPORTED_OPTION;
#endif
}

vconv_status vconv_flush_denormals_end(const vconv_fp_state *saved) {
  if (!saved) return VCONV_ERR_NULL_POINTER;
#ifdef FTZ_BITS
  fp_set((fp_get() & ~(uint64_t)FTZ_BITS) | (saved->bits & FTZ_BITS));
  return VCONV_OK;
#else
  return VCONV_ERR_UNSUPPORTED_OPTION;
#endif
}
