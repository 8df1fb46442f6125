#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int test_failures = 0;
int test_checks = 0;

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void rng_seed(test_rng *r, uint64_t seed) {
  uint64_t x = seed;
  r->s = splitmix64(&x);
  if (r->s == 0) r->s = 1; /* xorshift has a fixed point at 0 */
}

uint64_t rng_next(test_rng *r) {
  uint64_t x = r->s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->s = x;
  return x * 0x2545f4914f6cdd1dull;
}

int64_t rng_range(test_rng *r, int64_t lo, int64_t hi) {
  const uint64_t span = (uint64_t)(hi - lo) + 1;
  return lo + (int64_t)(rng_next(r) % span);
}

float rng_sym(test_rng *r) {
  /* 24 random bits -> integer in [0, 2^24], scaled to [-1, 1]: every value is a float. */
  const int64_t k = (int64_t)(rng_next(r) >> 40) + (int64_t)(rng_next(r) & 1);
  return (float)((double)(k - (1 << 23)) * 0x1p-23);
}

int rng_chance(test_rng *r, int num, int den) { return (int)(rng_next(r) % (uint64_t)den) < num; }

/* A quiet NaN with a payload nobody else produces: recognisable in a debugger. */
static float sentinel(void) {
  const uint32_t bits = 0x7fc0beefu;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static int is_sentinel(float f) {
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  return bits == 0x7fc0beefu;
}

int tbuf_alloc_in(tbuf *b, size_t n) {
  b->n = n;
  b->guard = 0;
  b->block = malloc((n + 1) * sizeof(float));
  if (!b->block) return 0;
  b->block[0] = NAN;
  b->data = b->block + 1;
  return 1;
}

int tbuf_alloc_out(tbuf *b, size_t n) {
  b->n = n;
  b->guard = TBUF_GUARD;
  /* TBUF_GUARD + 1 floats in front keep the data misaligned by one float. */
  b->block = malloc((n + 2 * TBUF_GUARD + 1) * sizeof(float));
  if (!b->block) return 0;
  for (size_t i = 0; i < n + 2 * TBUF_GUARD + 1; i++) b->block[i] = sentinel();
  b->data = b->block + TBUF_GUARD + 1;
  return 1;
}

int tbuf_guards_ok(const tbuf *b) {
  for (size_t i = 0; i < b->guard + 1; i++)
    if (!is_sentinel(b->block[i])) return 0;
  for (size_t i = 0; i < b->guard; i++)
    if (!is_sentinel(b->data[b->n + i])) return 0;
  return 1;
}

void tbuf_poison(tbuf *b) {
  for (size_t i = 0; i < b->n; i++) b->data[i] = sentinel();
}

void tbuf_free(tbuf *b) {
  free(b->block);
  b->block = b->data = NULL;
  b->n = 0;
}

void test_fail(const char *file, int line, const char *fmt, ...) {
  test_failures++;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stdout, "FAIL %s:%d: ", file, line);
  vfprintf(stdout, fmt, ap);
  fputc('\n', stdout);
  fflush(stdout);
  va_end(ap);
}

int test_summary(const char *name) {
  printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
  return test_failures ? 1 : 0;
}

double test_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int env_flag(const char *name) {
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}

typedef struct odd_job {
  size_t n;
  vconv_task_fn task;
  void *arg;
} odd_job;

static void *odd_calls(void *p) {
  const odd_job *j = p;
  for (size_t i = 1; i < j->n; i += 2) j->task(j->arg, i);
  return NULL;
}

void two_thread_parallel_for(void *context, size_t n, vconv_task_fn task, void *task_arg) {
  (void)context;
  odd_job j = {n, task, task_arg};
  pthread_t t;
  const int spawned = n > 1 && pthread_create(&t, NULL, odd_calls, &j) == 0;
  for (size_t i = 0; i < n; i += 2) task(task_arg, i);
  if (spawned)
    pthread_join(t, NULL);
  else
    odd_calls(&j);
}

void test_lenet_c3_table(unsigned char t[16 * 6]) {
  static const int far[3][4] = {{0, 1, 3, 4}, {1, 2, 4, 5}, {0, 2, 3, 5}};
  memset(t, 0, 16 * 6);
  for (int j = 0; j < 6; j++) /* three neighbours */
    for (int i = 0; i < 3; i++) t[j * 6 + (j + i) % 6] = 1;
  for (int j = 6; j < 12; j++) /* four neighbours */
    for (int i = 0; i < 4; i++) t[j * 6 + (j - 6 + i) % 6] = 1;
  for (int j = 12; j < 15; j++) /* four, not all neighbours */
    for (int i = 0; i < 4; i++) t[j * 6 + far[j - 12][i]] = 1;
  for (int i = 0; i < 6; i++) t[15 * 6 + i] = 1;
}
