/*
 * The dispatcher: tier detection, the cap and its lock, the version.
 *
 * Environment:
 *   VCONV_EXPECT_ISA=<tier>  the effective tier must be exactly this (set by
 *                            the qemu CPU-model and cap test setups)
 *   VCONV_ISA=<tier>         the library's own cap: effective must not exceed it
 *
 * The order of the first calls matters: vconv_set_max_isa only works before
 * anything fixes the cap, so it is exercised before any other query.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#ifndef VCONV_MESON_VERSION
#error "the build passes -DVCONV_MESON_VERSION=<meson project version>"
#endif

/* The tiers of the architecture this test is compiled for, lowest first. */
#if defined(__x86_64__) || defined(__i386__)
static const vconv_isa own[] = {VCONV_ISA_SCALAR, VCONV_ISA_SSE41, VCONV_ISA_AVX2, VCONV_ISA_AVX512};
static const vconv_isa foreign[] = {VCONV_ISA_NEON};
#elif defined(__aarch64__)
static const vconv_isa own[] = {VCONV_ISA_SCALAR, VCONV_ISA_NEON};
static const vconv_isa foreign[] = {VCONV_ISA_SSE41, VCONV_ISA_AVX2, VCONV_ISA_AVX512};
#else
static const vconv_isa own[] = {VCONV_ISA_SCALAR};
static const vconv_isa foreign[] = {VCONV_ISA_SSE41, VCONV_ISA_AVX2, VCONV_ISA_AVX512, VCONV_ISA_NEON};
#endif
#define N_OWN ((int)(sizeof own / sizeof own[0]))
#define N_FOREIGN ((int)(sizeof foreign / sizeof foreign[0]))

/* Rank of a tier in this architecture's order, -1 for another architecture's. */
static int rank(vconv_isa t) {
  for (int i = 0; i < N_OWN; i++)
    if (own[i] == t) return i;
  return -1;
}

static void set_max_before_use(void) {
  /* Invalid values are rejected without fixing the cap. */
  CHECK_STATUS(vconv_set_max_isa((vconv_isa)99), VCONV_ERR_INVALID_ISA);
  CHECK_STATUS(vconv_set_max_isa((vconv_isa)-7), VCONV_ERR_INVALID_ISA);
  for (int i = 0; i < N_FOREIGN; i++)
    CHECK_STATUS(vconv_set_max_isa(foreign[i]), VCONV_ERR_INVALID_ISA);
  /* The top tier of this architecture caps nothing, so it cannot disturb the
   * other checks; it must be accepted before first use. */
  CHECK_STATUS(vconv_set_max_isa(own[N_OWN - 1]), VCONV_OK);
}

static void names(void) {
  static const char *const want[VCONV_ISA_COUNT] = {"scalar", "sse41", "avx2", "avx512", "neon"};
  const char *seen[VCONV_ISA_COUNT];
  for (int t = 0; t < VCONV_ISA_COUNT; t++) {
    const char *n = vconv_isa_name((vconv_isa)t);
    seen[t] = n;
    CHECK(n && strcmp(n, want[t]) == 0, "vconv_isa_name(%d) = %s", t, n ? n : "(null)");
    vconv_isa back = VCONV_ISA_AUTO;
    CHECK_STATUS(vconv_isa_from_name(want[t], &back), VCONV_OK);
    CHECK(back == (vconv_isa)t, "vconv_isa_from_name(%s) = %d", want[t], (int)back);
  }
  for (int a = 0; a < VCONV_ISA_COUNT; a++)
    for (int b = a + 1; b < VCONV_ISA_COUNT; b++)
      CHECK(!seen[a] || !seen[b] || strcmp(seen[a], seen[b]) != 0, "tiers %d and %d share a name", a, b);
  const char *autoname = vconv_isa_name(VCONV_ISA_AUTO);
  CHECK(autoname && strcmp(autoname, "auto") == 0, "vconv_isa_name(AUTO) = %s", autoname ? autoname : "(null)");
  CHECK(vconv_isa_name((vconv_isa)VCONV_ISA_COUNT) == NULL, "name of an unknown tier");
  CHECK(vconv_isa_name((vconv_isa)-2) == NULL, "name of tier -2");
  vconv_isa t;
  CHECK_STATUS(vconv_isa_from_name("AVX2", &t), VCONV_ERR_INVALID_ISA); /* case-sensitive */
  CHECK_STATUS(vconv_isa_from_name("avx", &t), VCONV_ERR_INVALID_ISA);  /* no prefixes */
  CHECK_STATUS(vconv_isa_from_name("avx2x", &t), VCONV_ERR_INVALID_ISA);
  CHECK_STATUS(vconv_isa_from_name("", &t), VCONV_ERR_INVALID_ISA);
  CHECK_STATUS(vconv_isa_from_name(NULL, &t), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_isa_from_name("scalar", NULL), VCONV_ERR_NULL_POINTER);

  static const char *const algos[VCONV_ALGO_COUNT] = {
      "auto", "direct", "im2col", "winograd",
      "winograd_f2x2_3x3", "winograd_f4x4_3x3", "winograd_f6x6_3x3", "winograd_f2x2_5x5",
      "winograd_f4x5_3x3"};
  for (int a = 0; a < VCONV_ALGO_COUNT; a++) {
    const char *n = vconv_algorithm_name((vconv_algorithm)a);
    CHECK(n && strcmp(n, algos[a]) == 0, "vconv_algorithm_name(%d) = %s", a, n ? n : "(null)");
  }
  CHECK(vconv_algorithm_name((vconv_algorithm)VCONV_ALGO_COUNT) == NULL, "name of an unknown algorithm");
  CHECK(vconv_algorithm_name((vconv_algorithm)-1) == NULL, "name of algorithm -1");
}

static void tiers(void) {
  const vconv_isa eff = vconv_isa_effective();
  CHECK_STATUS(vconv_set_max_isa(own[0]), VCONV_ERR_ISA_LOCKED);
  CHECK_STATUS(vconv_set_max_isa(own[N_OWN - 1]), VCONV_ERR_ISA_LOCKED);
  CHECK(rank(eff) >= 0, "effective tier %d is not a tier of this architecture", (int)eff);
  CHECK(vconv_isa_effective() == eff, "the effective tier changed between calls");

  const char *cap_env = getenv("VCONV_ISA");
  vconv_isa cap = own[N_OWN - 1];
  int capped = 0;
  if (cap_env && vconv_isa_from_name(cap_env, &cap) == VCONV_OK && rank(cap) >= 0) capped = 1;
  else cap = own[N_OWN - 1]; /* unrecognised values are ignored */

  printf("tier     built  cpu  available\n");
  vconv_isa best = VCONV_ISA_SCALAR;
  int best_rank = -1;
  for (int t = 0; t < VCONV_ISA_COUNT; t++) {
    const vconv_isa i = (vconv_isa)t;
    const int b = vconv_isa_built(i), c = vconv_isa_cpu_supported(i), a = vconv_isa_available(i);
    printf("%-8s %5d %4d %10d%s\n", vconv_isa_name(i), b, c, a, i == eff ? "   <- effective" : "");
    CHECK(b == 0 || b == 1, "built(%d) = %d", t, b);
    CHECK(c == 0 || c == 1, "cpu_supported(%d) = %d", t, c);
    /* available <=> built, supported, and not above the effective tier */
    const int expect = b && c && rank(i) >= 0 && rank(i) <= rank(eff);
    CHECK(a == expect, "available(%s) = %d but built %d, cpu %d, effective %s", vconv_isa_name(i), a,
          b, c, vconv_isa_name(eff));
    if (rank(i) < 0) CHECK(!b && !a, "%s is another architecture's tier but built %d available %d",
                           vconv_isa_name(i), b, a);
    if (b && c && rank(i) >= 0 && rank(i) <= rank(cap) && rank(i) > best_rank) {
      best = i;
      best_rank = rank(i);
    }
  }
  CHECK(vconv_isa_built(VCONV_ISA_SCALAR) && vconv_isa_cpu_supported(VCONV_ISA_SCALAR),
        "the scalar tier must always be built and supported");
  CHECK(vconv_isa_available(eff), "the effective tier %s is not available", vconv_isa_name(eff));
  /* The best tier that is built and supported, not above the cap. */
  CHECK(eff == best, "effective tier %s, expected %s (cap %s)", vconv_isa_name(eff),
        vconv_isa_name(best), vconv_isa_name(cap));
  CHECK(vconv_isa_available(VCONV_ISA_AUTO) == 0 && vconv_isa_available((vconv_isa)42) == 0,
        "available() of a non-tier");
  CHECK(vconv_isa_built((vconv_isa)42) == 0 && vconv_isa_cpu_supported((vconv_isa)42) == 0,
        "built()/cpu_supported() of a non-tier");
  if (capped) {
    printf("VCONV_ISA=%s: effective %s\n", cap_env, vconv_isa_name(eff));
    CHECK(rank(eff) <= rank(cap), "VCONV_ISA=%s but effective is %s", cap_env, vconv_isa_name(eff));
  } else if (cap_env) {
    printf("VCONV_ISA=%s is not a tier of this architecture: ignored\n", cap_env);
  }

  const char *expect = getenv("VCONV_EXPECT_ISA");
  if (expect && *expect) {
    printf("VCONV_EXPECT_ISA=%s: effective %s\n", expect, vconv_isa_name(eff));
    CHECK(strcmp(vconv_isa_name(eff), expect) == 0, "effective tier %s, VCONV_EXPECT_ISA=%s",
          vconv_isa_name(eff), expect);
  }

  /* Operators follow the effective tier, and a tier that cannot run is refused. */
  vconv_conv2d_desc d;
  vconv_conv2d_desc_init(&d);
  d.batch = d.in_channels = d.out_channels = 1;
  d.in_height = d.in_width = 4;
  d.kernel_h = d.kernel_w = 3;
  const float w[9] = {0};
  vconv_conv2d_op *op = NULL;
  CHECK_STATUS(vconv_conv2d_create(&d, VCONV_ALGO_AUTO, w, NULL, &op), VCONV_OK);
  if (op) CHECK(vconv_conv2d_isa(op) == eff, "AUTO operator on %s, effective %s",
                vconv_isa_name(vconv_conv2d_isa(op)), vconv_isa_name(eff));
  vconv_conv2d_destroy(op);
  op = NULL;
  CHECK_STATUS(vconv_conv2d_create_for_isa(&d, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, w, NULL, &op), VCONV_OK);
  if (op) CHECK(vconv_conv2d_isa(op) == eff, "ISA_AUTO operator on %s", vconv_isa_name(vconv_conv2d_isa(op)));
  vconv_conv2d_destroy(op);
  vconv_pool2d_desc pd;
  vconv_pool2d_desc_init(&pd);
  pd.batch = pd.channels = 1;
  pd.in_height = pd.in_width = 4;
  pd.window_h = pd.window_w = 2;
  vconv_pool2d_op *pop = NULL;
  CHECK_STATUS(vconv_pool2d_create(&pd, &pop), VCONV_OK);
  if (pop) CHECK(vconv_pool2d_isa(pop) == eff, "pool operator on %s", vconv_isa_name(vconv_pool2d_isa(pop)));
  vconv_pool2d_destroy(pop);

  for (int t = 0; t < VCONV_ISA_COUNT; t++) {
    const vconv_isa i = (vconv_isa)t;
    op = NULL;
    pop = NULL;
    vconv_status s = vconv_conv2d_create_for_isa(&d, VCONV_ALGO_DIRECT, i, w, NULL, &op);
    vconv_status ps = vconv_pool2d_create_for_isa(&pd, i, &pop);
    if (vconv_isa_available(i)) {
      CHECK(s == VCONV_OK && op && vconv_conv2d_isa(op) == i, "direct on available %s: %d",
            vconv_isa_name(i), (int)s);
      CHECK(ps == VCONV_OK && pop && vconv_pool2d_isa(pop) == i, "pool on available %s: %d",
            vconv_isa_name(i), (int)ps);
    } else if (rank(i) >= 0) {
      CHECK(s == VCONV_ERR_ISA_UNAVAILABLE && !op, "conv on unavailable %s: %d (%s)",
            vconv_isa_name(i), (int)s, vconv_status_string(s));
      CHECK(ps == VCONV_ERR_ISA_UNAVAILABLE && !pop, "pool on unavailable %s: %d", vconv_isa_name(i), (int)ps);
    } else {
      /* Another architecture's tier: the header allows either reading (not built / invalid). */
      CHECK((s == VCONV_ERR_ISA_UNAVAILABLE || s == VCONV_ERR_INVALID_ISA) && !op,
            "conv on foreign tier %s: %d", vconv_isa_name(i), (int)s);
      CHECK((ps == VCONV_ERR_ISA_UNAVAILABLE || ps == VCONV_ERR_INVALID_ISA) && !pop,
            "pool on foreign tier %s: %d", vconv_isa_name(i), (int)ps);
    }
    vconv_conv2d_destroy(op);
    vconv_pool2d_destroy(pop);
  }
}

static void cpu_info(void) {
  vconv_cpu_info ci;
  memset(&ci, 0x5a, sizeof ci); /* every field must be written */
  CHECK_STATUS(vconv_get_cpu_info(&ci), VCONV_OK);
  CHECK(memchr(ci.vendor, 0, sizeof ci.vendor) && memchr(ci.brand, 0, sizeof ci.brand) &&
            memchr(ci.source, 0, sizeof ci.source),
        "cpu info strings not terminated");
  CHECK(ci.threads == -1 || ci.threads >= 1, "threads %d", ci.threads);
  CHECK(ci.cores == -1 || (ci.cores >= 1 && (ci.threads == -1 || ci.cores <= ci.threads)),
        "cores %d threads %d", ci.cores, ci.threads);
  CHECK(ci.l1d_bytes >= 0 && ci.l2_bytes >= 0 && ci.l3_bytes >= 0 && ci.cache_line_bytes >= 0,
        "negative cache sizes");
  CHECK(ci.cache_line_bytes == 0 || (ci.cache_line_bytes & (ci.cache_line_bytes - 1)) == 0,
        "cache line %lld is not a power of two", (long long)ci.cache_line_bytes);
  CHECK_STATUS(vconv_get_cpu_info(NULL), VCONV_ERR_NULL_POINTER);
  if (memchr(ci.vendor, 0, sizeof ci.vendor) && memchr(ci.brand, 0, sizeof ci.brand) &&
      memchr(ci.source, 0, sizeof ci.source))
    printf("cpu: %s \"%s\", family %d model %d, %d cores / %d threads, L1d %lld L2 %lld L3 %lld, "
           "line %lld (from %s)\n",
           ci.vendor, ci.brand, ci.family, ci.model, ci.cores, ci.threads, (long long)ci.l1d_bytes,
           (long long)ci.l2_bytes, (long long)ci.l3_bytes, (long long)ci.cache_line_bytes, ci.source);
}

static void version(void) {
  const char *v = vconv_version();
  CHECK(v && strcmp(v, VCONV_VERSION_STRING) == 0, "vconv_version() = %s, header %s", v ? v : "(null)",
        VCONV_VERSION_STRING);
  CHECK(strcmp(VCONV_VERSION_STRING, VCONV_MESON_VERSION) == 0, "header version %s, meson project %s",
        VCONV_VERSION_STRING, VCONV_MESON_VERSION);
  char buf[32];
  snprintf(buf, sizeof buf, "%d.%d.%d", VCONV_VERSION_MAJOR, VCONV_VERSION_MINOR, VCONV_VERSION_PATCH);
  CHECK(strcmp(buf, VCONV_VERSION_STRING) == 0, "version macros %s vs string %s", buf, VCONV_VERSION_STRING);
  CHECK(VCONV_VERSION == ((VCONV_VERSION_MAJOR << 16) | (VCONV_VERSION_MINOR << 8) | VCONV_VERSION_PATCH),
        "VCONV_VERSION");
}

int main(void) {
  /* Line-buffered, so a crash still shows how far the test got. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  set_max_before_use();
  names();
  tiers();
  cpu_info();
  version();
  return test_summary("test_dispatch");
}
