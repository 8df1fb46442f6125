/*
 * Threads and tuning: the same bits on 1, 2, 3 and 7 threads (our pool, a
 * caller's pthreadpool_t, a hand-written parallel-for), one operator run from
 * many threads at once (also built under ThreadSanitizer by scripts/test),
 * the pool itself, the planner and its wisdom files (round trip; corrupt,
 * truncated and foreign files rejected without effect; VCONV_WISDOM), and the
 * flush-to-zero scope.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#if TEST_HAVE_PTHREADPOOL
#  include <pthreadpool.h>
#endif

static const size_t thread_counts[] = {1, 2, 3, 7};
#define NCOUNTS (sizeof thread_counts / sizeof thread_counts[0])

static float *random_floats(size_t n, uint64_t seed) {
  test_rng r;
  rng_seed(&r, seed);
  float *p = malloc((n ? n : 1) * sizeof *p);
  for (size_t i = 0; p && i < n; i++) p[i] = rng_sym(&r);
  return p;
}

/* ---- parallel-fors under test ------------------------------------------- */

typedef struct runner {
  const char *name;
  vconv_parallel par[NCOUNTS];
  int have[NCOUNTS];
} runner;

static vconv_threadpool *pools[NCOUNTS];
#if TEST_HAVE_PTHREADPOOL
static pthreadpool_t ptpools[NCOUNTS];
#endif
static runner runners[2];
static size_t nrunners;

static void make_runners(void) {
  runner *ours = &runners[nrunners++];
  ours->name = "vconv_threadpool";
  for (size_t i = 0; i < NCOUNTS; i++) {
    CHECK_STATUS(vconv_threadpool_create(thread_counts[i], 0, &pools[i]), VCONV_OK);
    if (pools[i]) {
      ours->par[i] = *vconv_threadpool_parallel(pools[i]);
      ours->have[i] = 1;
      CHECK(ours->par[i].threads == thread_counts[i], "pool of %zu has %zu threads",
            thread_counts[i], ours->par[i].threads);
    }
  }
#if TEST_HAVE_PTHREADPOOL
  runner *pt = &runners[nrunners++];
  pt->name = "pthreadpool";
  for (size_t i = 0; i < NCOUNTS; i++) {
    ptpools[i] = pthreadpool_create(thread_counts[i]);
    if (!ptpools[i]) continue;
    CHECK_STATUS(vconv_parallel_from_pthreadpool(ptpools[i], &pt->par[i]), VCONV_OK);
    pt->have[i] = 1;
    CHECK(pt->par[i].threads == pthreadpool_get_threads_count(ptpools[i]), "pthreadpool thread count");
  }
#else
  vconv_parallel p;
  CHECK_STATUS(vconv_parallel_from_pthreadpool(NULL, &p), VCONV_OK);
  CHECK(p.parallel_for == NULL, "a NULL pthreadpool is the calling thread");
#endif
}

static void free_runners(void) {
  for (size_t i = 0; i < NCOUNTS; i++) {
    vconv_threadpool_destroy(pools[i]);
#if TEST_HAVE_PTHREADPOOL
    if (ptpools[i]) pthreadpool_destroy(ptpools[i]);
#endif
  }
}

/* ---- identical outputs for every thread count -------------------------- */

static void conv_counts(const char *what, const vconv_conv2d_desc *d) {
  int64_t oh, ow;
  CHECK_STATUS(vconv_conv2d_output_size(d, &oh, &ow), VCONV_OK);
  const size_t nin = (size_t)(d->batch * d->in_channels * d->in_height * d->in_width);
  const size_t nout = (size_t)(d->batch * d->out_channels * oh * ow);
  const size_t nw = (size_t)(d->out_channels * (d->in_channels / d->groups) * d->kernel_h * d->kernel_w);
  float *x = random_floats(nin, 1), *w = random_floats(nw, 2), *b = random_floats((size_t)d->out_channels, 3);
  float *y1 = malloc(nout * sizeof *y1), *yt = malloc(nout * sizeof *yt);
  for (size_t v = 0; v < vconv_conv2d_variant_count(); v++) {
    vconv_algorithm al;
    vconv_isa is;
    if (vconv_conv2d_variant(v, &al, &is) != VCONV_OK || !vconv_isa_available(is)) continue;
    vconv_conv2d_op *op = NULL;
    if (vconv_conv2d_create_for_isa(d, al, is, w, b, &op) != VCONV_OK) continue; /* not applicable */
    CHECK_STATUS(vconv_conv2d_run(op, x, y1, NULL, 0, NULL), VCONV_OK);
    for (size_t r = 0; r < nrunners; r++)
      for (size_t i = 0; i < NCOUNTS; i++) {
        if (!runners[r].have[i]) continue;
        memset(yt, 0xff, nout * sizeof *yt);
        CHECK_STATUS(vconv_conv2d_run(op, x, yt, NULL, 0, &runners[r].par[i]), VCONV_OK);
        CHECK(memcmp(y1, yt, nout * sizeof *yt) == 0, "%s %s: %s with %zu threads differs from 1",
              what, vconv_conv2d_kernel_name(op), runners[r].name, thread_counts[i]);
      }
    vconv_conv2d_destroy(op);
  }
  free(x), free(w), free(b), free(y1), free(yt);
}

static void pool_counts(const char *what, const vconv_pool2d_desc *d) {
  int64_t oh, ow;
  CHECK_STATUS(vconv_pool2d_output_size(d, &oh, &ow), VCONV_OK);
  const size_t nin = (size_t)(d->batch * d->channels * d->in_height * d->in_width);
  const size_t nout = (size_t)(d->batch * d->channels * oh * ow);
  float *x = random_floats(nin, 4), *g = random_floats(nout, 5);
  float *y1 = malloc(nout * sizeof *y1), *yt = malloc(nout * sizeof *yt);
  float *gx1 = malloc(nin * sizeof *gx1), *gxt = malloc(nin * sizeof *gxt);
  for (size_t v = 0; v < vconv_pool2d_variant_count(); v++) {
    vconv_isa is;
    if (vconv_pool2d_variant(v, &is) != VCONV_OK || !vconv_isa_available(is)) continue;
    vconv_pool2d_op *op = NULL;
    CHECK_STATUS(vconv_pool2d_create_for_isa(d, is, &op), VCONV_OK);
    if (!op) continue;
    CHECK_STATUS(vconv_pool2d_run(op, x, y1, NULL, 0, NULL), VCONV_OK);
    CHECK_STATUS(vconv_pool2d_backward(op, x, y1, NULL, g, gx1, NULL, 0, NULL), VCONV_OK);
    for (size_t r = 0; r < nrunners; r++)
      for (size_t i = 0; i < NCOUNTS; i++) {
        if (!runners[r].have[i]) continue;
        const vconv_parallel *p = &runners[r].par[i];
        memset(yt, 0xff, nout * sizeof *yt);
        memset(gxt, 0xff, nin * sizeof *gxt);
        CHECK_STATUS(vconv_pool2d_run(op, x, yt, NULL, 0, p), VCONV_OK);
        CHECK_STATUS(vconv_pool2d_backward(op, x, y1, NULL, g, gxt, NULL, 0, p), VCONV_OK);
        CHECK(memcmp(y1, yt, nout * sizeof *yt) == 0 && memcmp(gx1, gxt, nin * sizeof *gxt) == 0,
              "%s %s: %s with %zu threads differs from 1", what, vconv_pool2d_kernel_name(op),
              runners[r].name, thread_counts[i]);
      }
    vconv_pool2d_destroy(op);
  }
  free(x), free(g), free(y1), free(yt), free(gx1), free(gxt);
}

static void thread_count_identity(void) {
  vconv_conv2d_desc d;
  vconv_conv2d_desc_init(&d);
  /* AlexNet conv3's kind of layer, made small; then NHWC with groups, then batch 3. */
  d.batch = 1, d.in_channels = 24, d.in_height = d.in_width = 13, d.out_channels = 40;
  d.kernel_h = d.kernel_w = 3, d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = 1;
  d.activation = VCONV_ACTIVATION_RELU;
  conv_counts("conv 3x3 n:1", &d);
  d.layout = VCONV_LAYOUT_NHWC, d.groups = 2;
  conv_counts("conv 3x3 nhwc g:2", &d);
  vconv_conv2d_desc_init(&d);
  d.batch = 3, d.in_channels = 3, d.in_height = d.in_width = 35, d.out_channels = 20;
  d.kernel_h = d.kernel_w = 5, d.stride_h = d.stride_w = 2;
  conv_counts("conv stem n:3", &d);

  vconv_pool2d_desc p;
  vconv_pool2d_desc_init(&p);
  p.batch = 1, p.channels = 19, p.in_height = p.in_width = 27, p.window_h = p.window_w = 3;
  p.stride_h = p.stride_w = 2;
  pool_counts("max 3x3/2 n:1", &p);
  p.kind = VCONV_POOL_AVG_EXCLUDE_PAD, p.pad_top = p.pad_left = 1, p.batch = 2;
  pool_counts("avg 3x3/2 pad n:2", &p);
  p.layout = VCONV_LAYOUT_NHWC;
  pool_counts("avg nhwc n:2", &p);

  /* SGEMM: the longer side split per thread. */
  const int64_t M = 67, N = 301, K = 45;
  float *A = random_floats((size_t)(M * K), 6), *B = random_floats((size_t)(K * N), 7);
  float *C1 = malloc(sizeof(float) * (size_t)(M * N)), *Ct = malloc(sizeof(float) * (size_t)(M * N));
  CHECK_STATUS(vconv_sgemm(0, 0, M, N, K, 1, A, K, B, N, 0, C1, N, NULL), VCONV_OK);
  for (size_t r = 0; r < nrunners; r++)
    for (size_t i = 0; i < NCOUNTS; i++) {
      if (!runners[r].have[i]) continue;
      CHECK_STATUS(vconv_sgemm(0, 0, M, N, K, 1, A, K, B, N, 0, Ct, N, &runners[r].par[i]), VCONV_OK);
      CHECK(memcmp(C1, Ct, sizeof(float) * (size_t)(M * N)) == 0, "sgemm: %s with %zu threads differs",
            runners[r].name, thread_counts[i]);
    }
  free(A), free(B), free(C1), free(Ct);
}

/* ---- the pool itself ----------------------------------------------------- */

static atomic_int hits[5000];
static void count_hit(void *arg, size_t i) {
  (void)arg;
  atomic_fetch_add(&hits[i], 1);
}

static void pool_contract(void) {
  vconv_threadpool *p = NULL;
  CHECK_STATUS(vconv_threadpool_create(2, 0x80, &p), VCONV_ERR_INVALID_ARGUMENT);
  CHECK(p == NULL, "refused pool returned");
  CHECK_STATUS(vconv_threadpool_create(2, 0, NULL), VCONV_ERR_NULL_POINTER);
  CHECK(vconv_threadpool_parallel(NULL) == NULL, "parallel of a NULL pool");
  vconv_threadpool_destroy(NULL);
  /* threads 0: one per core, at least one. */
  CHECK_STATUS(vconv_threadpool_create(0, 0, &p), VCONV_OK);
  if (p) CHECK(vconv_threadpool_parallel(p)->threads >= 1, "default pool size");
  vconv_threadpool_destroy(p);
  /* Pinning may be refused (containers without sched_setaffinity): then no pool. */
  p = NULL;
  const vconv_status st = vconv_threadpool_create(3, VCONV_THREADPOOL_PIN, &p);
  CHECK(st == VCONV_OK ? p != NULL : st == VCONV_ERR_UNSUPPORTED_OPTION && p == NULL,
        "pinned pool: %s", vconv_status_string(st));
  vconv_threadpool_destroy(p);
  /* Every index exactly once, for counts around the pool's word limits. */
  const size_t ns[] = {0, 1, 2, 3, 7, 64, 4999};
  for (size_t i = 0; i < NCOUNTS; i++) {
    if (!pools[i]) continue;
    const vconv_parallel *par = vconv_threadpool_parallel(pools[i]);
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
      for (size_t j = 0; j < 5000; j++) atomic_store(&hits[j], 0);
      if (par->parallel_for) par->parallel_for(par->context, ns[k], count_hit, NULL);
      else for (size_t j = 0; j < ns[k]; j++) count_hit(NULL, j);
      int bad = 0;
      for (size_t j = 0; j < 5000; j++) bad += atomic_load(&hits[j]) != (j < ns[k]);
      CHECK(bad == 0, "pool of %zu, %zu tasks: %d indices not called exactly once", thread_counts[i],
            ns[k], bad);
    }
  }
}

/* ---- one operator from many threads at once ----------------------------- */

typedef struct shared_run {
  const vconv_conv2d_op *conv;
  const vconv_pool2d_op *pool;
  const float *x;
  float *y, *yp;
  const vconv_parallel *par;
  vconv_status st;
} shared_run;

static void *shared_thread(void *arg) {
  shared_run *r = arg;
  for (int k = 0; k < 3 && r->st == VCONV_OK; k++) {
    r->st = vconv_conv2d_run(r->conv, r->x, r->y, NULL, 0, r->par);
    if (r->st == VCONV_OK) r->st = vconv_pool2d_run(r->pool, r->x, r->yp, NULL, 0, r->par);
  }
  return NULL;
}

static void concurrent_runs(void) {
  vconv_conv2d_desc d;
  vconv_conv2d_desc_init(&d);
  d.batch = 2, d.in_channels = 8, d.in_height = d.in_width = 15, d.out_channels = 16;
  d.kernel_h = d.kernel_w = 3;
  vconv_pool2d_desc pd;
  vconv_pool2d_desc_init(&pd);
  pd.batch = 2, pd.channels = 8, pd.in_height = pd.in_width = 15, pd.window_h = pd.window_w = 3;
  pd.stride_h = pd.stride_w = 2;
  const size_t nin = 2 * 8 * 15 * 15, nout = 2 * 16 * 13 * 13, npout = 2 * 8 * 7 * 7;
  float *x = random_floats(nin, 8), *w = random_floats(16 * 8 * 9, 9);
  vconv_conv2d_op *op = NULL;
  vconv_pool2d_op *pop = NULL;
  CHECK_STATUS(vconv_conv2d_create(&d, VCONV_ALGO_AUTO, w, NULL, &op), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_create(&pd, &pop), VCONV_OK);
  if (!op || !pop) return;
  float *ref = malloc(nout * sizeof *ref), *pref = malloc(npout * sizeof *pref);
  CHECK_STATUS(vconv_conv2d_run(op, x, ref, NULL, 0, NULL), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_run(pop, x, pref, NULL, 0, NULL), VCONV_OK);
  enum { T = 6 };
  shared_run runs[T];
  pthread_t th[T];
  int started[T];
  for (int i = 0; i < T; i++) {
    /* Half run on the calling thread, half share one pool (callers take turns). */
    runs[i] = (shared_run){op, pop, x, malloc(nout * sizeof(float)), malloc(npout * sizeof(float)),
                           i % 2 && pools[1] ? vconv_threadpool_parallel(pools[1]) : NULL, VCONV_OK};
    started[i] = pthread_create(&th[i], NULL, shared_thread, &runs[i]) == 0;
  }
  for (int i = 0; i < T; i++) {
    if (started[i]) pthread_join(th[i], NULL);
    else shared_thread(&runs[i]);
    CHECK_STATUS(runs[i].st, VCONV_OK);
    CHECK(memcmp(runs[i].y, ref, nout * sizeof *ref) == 0 &&
              memcmp(runs[i].yp, pref, npout * sizeof *pref) == 0,
          "concurrent run %d differs", i);
    free(runs[i].y), free(runs[i].yp);
  }
  free(ref), free(pref), free(x), free(w);
  vconv_conv2d_destroy(op);
  vconv_pool2d_destroy(pop);
}

/* ---- wisdom -------------------------------------------------------------- */

static char dir[256];

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *s = malloc(1 << 20);
  *len = s ? fread(s, 1, (1 << 20) - 1, f) : 0;
  fclose(f);
  if (s) s[*len] = '\0';
  return s;
}

static void spit(const char *path, const char *s, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(s, 1, len, f);
  fclose(f);
}

/* The trailer a file's body needs: the file format's checksum, written out
 * here independently of the library (FNV-1a 64 of every byte before it). */
static void reseal(char *text, const char *path) {
  char *end = strstr(text, "end ");
  if (!end) return;
  size_t lines = 0;
  for (char *c = strstr(text, "\nconv "); c && c < end; c = strstr(c + 1, "\nconv ")) lines++;
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (const char *c = text; c < end; c++) h = (h ^ (unsigned char)*c) * UINT64_C(0x100000001b3);
  sprintf(end, "end %zu %016" PRIx64 "\n", lines, h);
  spit(path, text, strlen(text));
}

static void path_of(char *out, const char *name) { snprintf(out, 320, "%s/%s", dir, name); }

/* A held table that must not change: its export, byte for byte. */
static char *held_now(size_t *len) {
  char p[320];
  path_of(p, "held.txt");
  CHECK_STATUS(vconv_wisdom_export(p), VCONV_OK);
  return slurp(p, len);
}

static void expect_rejected(const char *what, const char *text, size_t len, vconv_status want) {
  char p[320];
  path_of(p, "bad.txt");
  spit(p, text, len);
  size_t l0, l1;
  char *before = held_now(&l0);
  const size_t n0 = vconv_wisdom_count();
  CHECK_STATUS(vconv_wisdom_import(p), want);
  char *after = held_now(&l1);
  CHECK(n0 == vconv_wisdom_count() && before && after && l0 == l1 && memcmp(before, after, l0) == 0,
        "%s: a rejected import changed the wisdom", what);
  free(before), free(after);
}

static void wisdom(void) {
  vconv_conv2d_desc d[2];
  vconv_conv2d_desc_init(&d[0]);
  d[0].batch = 1, d[0].in_channels = 3, d[0].in_height = d[0].in_width = 40, d[0].out_channels = 16;
  d[0].kernel_h = d[0].kernel_w = 5, d[0].stride_h = d[0].stride_w = 2;
  d[1] = d[0];
  d[1].in_channels = 16, d[1].kernel_h = d[1].kernel_w = 1, d[1].stride_h = d[1].stride_w = 1;
  d[1].padding_mode = VCONV_PADDING_SAME;
  float *w = random_floats(16 * 16 * 25, 10);
  vconv_wisdom_forget();
  CHECK(vconv_wisdom_count() == 0, "forget");
  /* Measure at 1 and 2 threads: four keys. */
  for (int i = 0; i < 2; i++)
    for (size_t t = 0; t < 2; t++) {
      vconv_conv2d_op *op = NULL;
      const vconv_parallel *par = t && pools[1] ? vconv_threadpool_parallel(pools[1]) : NULL;
      CHECK_STATUS(vconv_conv2d_create_planned(&d[i], VCONV_ALGO_AUTO, VCONV_PLAN_MEASURE, par, w, NULL, &op),
                   VCONV_OK);
      vconv_conv2d_destroy(op);
    }
  const size_t n = vconv_wisdom_count();
  CHECK(n == (pools[1] ? 4u : 2u), "measuring recorded %zu entries", n);
  CHECK_STATUS(vconv_conv2d_create_planned(&d[0], VCONV_ALGO_AUTO, 0x40, NULL, w, NULL, &(vconv_conv2d_op *){0}),
               VCONV_ERR_INVALID_ARGUMENT);

  /* Round trip: export, forget, import, export again: the same file. */
  char p1[320], p2[320];
  path_of(p1, "w1.txt");
  path_of(p2, "w2.txt");
  CHECK_STATUS(vconv_wisdom_export(p1), VCONV_OK);
  vconv_wisdom_forget();
  CHECK_STATUS(vconv_wisdom_import(p1), VCONV_OK);
  CHECK(vconv_wisdom_count() == n, "import brought back %zu of %zu entries", vconv_wisdom_count(), n);
  CHECK_STATUS(vconv_wisdom_export(p2), VCONV_OK);
  size_t l1, l2;
  char *t1 = slurp(p1, &l1), *t2 = slurp(p2, &l2);
  CHECK(t1 && t2 && l1 == l2 && memcmp(t1, t2, l1) == 0, "export -> import -> export changed the file");
  free(t2);
  if (!t1) return;

  /* Wisdom decides: an entry naming the other algorithm is what create picks. */
  vconv_isa eff = vconv_isa_effective();
  char want[64];
  snprintf(want, sizeof want, "im2col/%s", vconv_isa_name(eff));
  char *forced = malloc(l1 + 64);
  strcpy(forced, t1);
  char *line = strstr(forced, "\nconv 1 3 40 40 16 5 5 2 2 1 1 0 0 0 0 1 0 0 -inf inf 0000000000000000 threads 1 kernel ");
  CHECK(line != NULL, "the entry of d[0] at 1 thread is missing:\n%s", forced);
  if (line) {
    char plan[80];
    snprintf(plan, sizeof plan, "%s:gemm", want);
    char *k = strstr(line, " kernel ") + 8, *sp = strchr(k, ' ');
    memmove(k + strlen(plan), sp, strlen(sp) + 1);
    memcpy(k, plan, strlen(plan));
    char pf[320];
    path_of(pf, "forced.txt");
    reseal(forced, pf);
    CHECK_STATUS(vconv_wisdom_import(pf), VCONV_OK);
    vconv_conv2d_op *op = NULL;
    CHECK_STATUS(vconv_conv2d_create(&d[0], VCONV_ALGO_AUTO, w, NULL, &op), VCONV_OK);
    CHECK(op && strcmp(vconv_conv2d_kernel_name(op), want) == 0, "create ignored wisdom: %s",
          op ? vconv_conv2d_kernel_name(op) : "-");
    vconv_conv2d_destroy(op);
  }

  /* Rejected whole, with no effect. */
  char *bad = malloc(l1 + 512);
  expect_rejected("truncated", t1, l1 / 2, VCONV_ERR_WISDOM_CORRUPT);
  expect_rejected("empty", t1, 0, VCONV_ERR_WISDOM_CORRUPT);
  expect_rejected("not wisdom", "hello\n", 6, VCONV_ERR_WISDOM_CORRUPT);
  memcpy(bad, t1, l1);
  bad[l1 - 30] ^= 1; /* one bit of a timing in the last entry */
  expect_rejected("one bit flipped", bad, l1, VCONV_ERR_WISDOM_CORRUPT);
  memcpy(bad, t1, l1);
  bad[l1] = '\0';
  memcpy(strstr(bad, "version ") + 8, "9", 1);
  char pb[320];
  path_of(pb, "foreign.txt");
  reseal(bad, pb);
  {
    size_t lb;
    char *fb = slurp(pb, &lb);
    if (fb) expect_rejected("another version", fb, lb, VCONV_ERR_WISDOM_MISMATCH);
    free(fb);
  }
  memcpy(bad, t1, l1 + 1);
  char *cpu = strstr(bad, "\ncpu ");
  if (cpu) cpu[5] ^= 0x20; /* another vendor */
  reseal(bad, pb);
  {
    size_t lb;
    char *fb = slurp(pb, &lb);
    if (fb) expect_rejected("another CPU", fb, lb, VCONV_ERR_WISDOM_MISMATCH);
    free(fb);
  }
  /* Well sealed, but one entry unparseable after a good one: all or nothing. */
  static const char *bad_entries[] = {
      " kernel direct/none:blocked ns 5\n", /* unknown kernel */
      " kernel direct/avx2:blocked ns -5\n",
      " kernel direct/avx2:blocked\n",
      " kernel direct/avx2 ns 5\n",       /* no path */
      " kernel direct/avx2:nope ns 5\n",  /* unknown path */
      " kernel direct/avx2:canvas ns 5\n",
  };
  for (size_t i = 0; i < sizeof bad_entries / sizeof bad_entries[0]; i++) {
    memcpy(bad, t1, l1 + 1);
    char *end = strstr(bad, "end ");
    const char *good = "conv 1 2 9 9 4 3 3 1 1 1 1 0 0 0 0 1 0 0 -inf inf 0000000000000000 threads 1 kernel direct/scalar:blocked ns 5\n";
    sprintf(end, "%sconv 1 2 9 9 4 3 3 1 1 1 1 0 0 0 0 1 0 0 -inf inf 0000000000000000 threads 2%send 0\n", good,
            bad_entries[i]);
    reseal(bad, pb);
    size_t lb;
    char *fb = slurp(pb, &lb);
    if (fb) expect_rejected(bad_entries[i], fb, lb, VCONV_ERR_WISDOM_CORRUPT);
    free(fb);
  }
  /* A key spelled differently from the library's own text ("+1"). */
  memcpy(bad, t1, l1 + 1);
  sprintf(strstr(bad, "end "), "conv +1 2 9 9 4 3 3 1 1 1 1 0 0 0 0 1 0 0 -inf inf 0000000000000000 "
                               "threads 1 kernel direct/scalar ns 5\nend 0\n");
  reseal(bad, pb);
  {
    size_t lb;
    char *fb = slurp(pb, &lb);
    if (fb) expect_rejected("non-canonical key", fb, lb, VCONV_ERR_WISDOM_CORRUPT);
    free(fb);
  }
  char missing[320];
  path_of(missing, "no/such/file");
  CHECK_STATUS(vconv_wisdom_import(missing), VCONV_ERR_IO);
  CHECK_STATUS(vconv_wisdom_export(missing), VCONV_ERR_IO);
  CHECK_STATUS(vconv_wisdom_import(NULL), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_wisdom_export(NULL), VCONV_ERR_NULL_POINTER);
  /* Every failed create leaves NULL, the NULL-pointer refusals included. */
  vconv_conv2d_op *none = (vconv_conv2d_op *)&none;
  CHECK_STATUS(vconv_conv2d_create_planned(NULL, VCONV_ALGO_AUTO, 0, NULL, w, NULL, &none),
               VCONV_ERR_NULL_POINTER);
  CHECK(none == NULL, "a NULL descriptor left *op as it was");
  none = (vconv_conv2d_op *)&none;
  CHECK_STATUS(vconv_conv2d_create_planned(&d[0], VCONV_ALGO_AUTO, 0, NULL, NULL, NULL, &none),
               VCONV_ERR_NULL_POINTER);
  CHECK(none == NULL, "NULL weights left *op as it was");
  none = (vconv_conv2d_op *)&none;
  CHECK_STATUS(vconv_conv2d_create_planned(&d[0], (vconv_algorithm)9, VCONV_PLAN_MEASURE, NULL, w,
                                           NULL, &none),
               VCONV_ERR_INVALID_ALGORITHM);
  CHECK(none == NULL, "a refused create left an operator");
  d[0].kernel_h = 0;
  CHECK_STATUS(vconv_conv2d_create_planned(&d[0], VCONV_ALGO_AUTO, VCONV_PLAN_MEASURE, NULL, w, NULL,
                                           &none),
               VCONV_ERR_INVALID_KERNEL_SIZE);
  CHECK_STATUS(vconv_parallel_from_pthreadpool(NULL, NULL), VCONV_ERR_NULL_POINTER);
  free(bad), free(forced), free(t1), free(w);
}

/* VCONV_WISDOM is read at the first planned create: this runs first. */
static void wisdom_env(void) {
  vconv_conv2d_desc d;
  vconv_conv2d_desc_init(&d);
  d.batch = 1, d.in_channels = 5, d.in_height = d.in_width = 12, d.out_channels = 7;
  d.kernel_h = d.kernel_w = 3;
  char p[320];
  path_of(p, "env.txt");
  CHECK_STATUS(vconv_wisdom_export(p), VCONV_OK); /* empty: just the header */
  size_t len;
  char *text = slurp(p, &len);
  if (!text) return;
  char *t = realloc(text, len + 512);
  char want[64];
  snprintf(want, sizeof want, "im2col/%s", vconv_isa_name(vconv_isa_effective()));
  sprintf(strstr(t, "end "),
          "conv 1 5 12 12 7 3 3 1 1 1 1 0 0 0 0 1 0 0 -inf inf 0000000000000000 threads 1 kernel %s:gemm ns 1\nend 0\n",
          want);
  reseal(t, p);
  setenv("VCONV_WISDOM", p, 1);
  float *w = random_floats(7 * 5 * 9, 11);
  vconv_conv2d_op *op = NULL;
  CHECK_STATUS(vconv_conv2d_create(&d, VCONV_ALGO_AUTO, w, NULL, &op), VCONV_OK);
  CHECK(op && strcmp(vconv_conv2d_kernel_name(op), want) == 0, "VCONV_WISDOM not used: %s",
        op ? vconv_conv2d_kernel_name(op) : "-");
  vconv_conv2d_destroy(op);
  free(w), free(t);
}

/* ---- flush to zero -------------------------------------------------------- */

static void denormals(void) {
  volatile float tiny = 0x1p-140f, one = 1.0f;
  vconv_fp_state s;
  const vconv_status st = vconv_flush_denormals_begin(&s);
#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__)
  CHECK_STATUS(st, VCONV_OK);
  CHECK(tiny * one == 0.0f, "FTZ/DAZ scope: a subnormal survived");
  CHECK_STATUS(vconv_flush_denormals_end(&s), VCONV_OK);
  CHECK(tiny * one == 0x1p-140f, "FTZ/DAZ scope: not restored");
#else
  CHECK_STATUS(st, VCONV_ERR_UNSUPPORTED_OPTION);
#endif
  CHECK_STATUS(vconv_flush_denormals_begin(NULL), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_flush_denormals_end(NULL), VCONV_ERR_NULL_POINTER);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  snprintf(dir, sizeof dir, "%s/vconv-test-threads-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  wisdom_env();
  make_runners();
  thread_count_identity();
  pool_contract();
  concurrent_runs();
  wisdom();
  denormals();
  free_runners();
  const char *names[] = {"held.txt", "bad.txt", "w1.txt", "w2.txt", "forced.txt", "foreign.txt", "env.txt"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char p[320];
    path_of(p, names[i]);
    remove(p);
  }
  remove(dir);
  return test_summary("test_threads");
}
