/*
 * Small helpers shared by the test executables: a seeded PRNG (the tests never
 * use rand(), whose sequence differs between C libraries, so a failing case
 * reproduces on every platform), guarded unaligned buffers and check macros.
 */
#ifndef VCONV_TEST_UTIL_H
#define VCONV_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "vconv.h"

/* ---- PRNG: splitmix64 seeding an xorshift64* stream -------------------- */

typedef struct test_rng {
  uint64_t s;
} test_rng;

void rng_seed(test_rng *r, uint64_t seed);
uint64_t rng_next(test_rng *r);
/* Uniform integer in [lo, hi] (inclusive). */
int64_t rng_range(test_rng *r, int64_t lo, int64_t hi);
/* Uniform float in [-1, 1] on a 2^-23 grid: exactly representable. */
float rng_sym(test_rng *r);
/* 1 with probability num/den. */
int rng_chance(test_rng *r, int num, int den);

/* ---- guarded, deliberately misaligned float buffers ------------------- */

/*
 * The data starts one float past a malloc'd (hence 16-byte aligned) block, so
 * no kernel can rely on alignment.  A guard zone follows, and for outputs one
 * precedes it too: guards hold a sentinel whose change betrays an out-of-bounds
 * write.  Inputs get no trailing guard so that AddressSanitizer sees an
 * out-of-bounds read right past the end; the float before the data is NaN so
 * that a read one element too early poisons the result.
 */
typedef struct tbuf {
  float *data;      /* what is passed to the library */
  size_t n;         /* floats of data */
  float *block;     /* what malloc returned */
  size_t guard;     /* floats of trailing guard */
} tbuf;

#define TBUF_GUARD 16

/* Input buffer: one NaN float before the data, no guard after it. */
int tbuf_alloc_in(tbuf *b, size_t n);
/* Output buffer: sentinel guards on both sides, data pre-filled with a sentinel. */
int tbuf_alloc_out(tbuf *b, size_t n);
/* 1 if both guard zones still hold the sentinel. */
int tbuf_guards_ok(const tbuf *b);
/* Refill data with the sentinel (so a skipped output element is visible). */
void tbuf_poison(tbuf *b);
void tbuf_free(tbuf *b);

/* ---- a real parallel-for --------------------------------------------- */

/*
 * vconv_parallel.parallel_for that runs the odd-numbered calls on a second
 * thread (created per call) and the even ones on the calling thread, so the
 * library's workers really run concurrently.  context is unused.
 */
void two_thread_parallel_for(void *context, size_t n, vconv_task_fn task, void *task_arg);

/* ---- checks ------------------------------------------------------------ */

extern int test_failures;
extern int test_checks;

void test_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    test_checks++;                                         \
    if (!(cond)) test_fail(__FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

/* Checks a status against the expected one and names both on failure. */
#define CHECK_STATUS(expr, want)                                                        \
  do {                                                                                  \
    vconv_status got_ = (expr);                                                         \
    vconv_status want_ = (want);                                                        \
    test_checks++;                                                                      \
    if (got_ != want_)                                                                  \
      test_fail(__FILE__, __LINE__, "%s returned %d (%s), expected %d (%s)", #expr,     \
                (int)got_, vconv_status_string(got_), (int)want_,                       \
                vconv_status_string(want_));                                            \
  } while (0)

/* Prints "N checks, M failed" and returns the process exit status. */
int test_summary(const char *name);

/* Seconds from a monotonic clock. */
double test_now(void);

/* 1 if the environment variable is set to a non-empty value other than "0". */
int env_flag(const char *name);

/* The LeCun 1998 C3 table (seeds.md): map j of C3 reads S2 maps t[j * 6 + i] != 0. */
void test_lenet_c3_table(unsigned char t[16 * 6]);

#endif
