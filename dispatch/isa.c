/*
 * The tier cap and the effective tier.  The cap is fixed by the first use
 * (pthread_once), so every operator of a process agrees on one tier; the
 * environment (VCONV_ISA) wins over vconv_set_max_isa() so that a user can
 * force a tier on a program without rebuilding it.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <pthread.h>

#include "dispatch.h"
#include "vconv_config.h"

#if defined(__x86_64__) || defined(__i386__)
static const vconv_isa order[] = {VCONV_ISA_SCALAR, VCONV_ISA_SSE41, VCONV_ISA_AVX2, VCONV_ISA_AVX512};
#elif defined(__aarch64__)
static const vconv_isa order[] = {VCONV_ISA_SCALAR, VCONV_ISA_NEON};
#else
static const vconv_isa order[] = {VCONV_ISA_SCALAR};
#endif
#define ORDER_LEN ((int)(sizeof order / sizeof order[0]))

static const char *const names[VCONV_ISA_COUNT] = {"scalar", "sse41", "avx2", "avx512", "neon"};

/* Position of a tier in this architecture's order, or -1 for a tier of another one. */
static int rank_of(vconv_isa isa) {
  for (int i = 0; i < ORDER_LEN; i++)
    if (order[i] == isa) return i;
  return -1;
}

static int valid_tier(vconv_isa isa) { return (int)isa >= 0 && (int)isa < VCONV_ISA_COUNT; }

const char *vconv_isa_name(vconv_isa isa) {
  if (isa == VCONV_ISA_AUTO) return "auto";
  return valid_tier(isa) ? names[isa] : NULL;
}

vconv_status vconv_isa_from_name(const char *name, vconv_isa *isa) {
  if (!name || !isa) return VCONV_ERR_NULL_POINTER;
  for (int i = 0; i < VCONV_ISA_COUNT; i++) {
    const char *a = names[i], *b = name;
    while (*a && *a == *b) a++, b++;
    if (*a == *b) {
      *isa = (vconv_isa)i;
      return VCONV_OK;
    }
  }
  return VCONV_ERR_INVALID_ISA;
}

int vconv_isa_built(vconv_isa isa) {
  switch (isa) {
#ifdef VCONV_BUILT_SCALAR
    case VCONV_ISA_SCALAR: return 1;
#endif
#ifdef VCONV_BUILT_SSE41
    case VCONV_ISA_SSE41: return 1;
#endif
#ifdef VCONV_BUILT_AVX2
    case VCONV_ISA_AVX2: return 1;
#endif
#ifdef VCONV_BUILT_AVX512
    case VCONV_ISA_AVX512: return 1;
#endif
#ifdef VCONV_BUILT_NEON
    case VCONV_ISA_NEON: return 1;
#endif
    default: return 0;
  }
}

int vconv_isa_cpu_supported(vconv_isa isa) {
  return valid_tier(isa) && ((vconv_i_cpu_tiers() >> isa) & 1u);
}

/* Requested cap as a rank; ORDER_LEN - 1 means uncapped. */
static atomic_int requested_rank = ORDER_LEN - 1;
static atomic_int locked;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static vconv_isa effective = VCONV_ISA_SCALAR;

static void init(void) {
  atomic_store(&locked, 1);
  int cap = atomic_load(&requested_rank);
  const char *env = getenv("VCONV_ISA");
  vconv_isa e;
  if (env && vconv_isa_from_name(env, &e) == VCONV_OK && rank_of(e) >= 0) cap = rank_of(e);
  for (int i = cap; i >= 0; i--) {
    if (vconv_isa_built(order[i]) && vconv_isa_cpu_supported(order[i])) {
      effective = order[i];
      break;
    }
  }
}

vconv_isa vconv_isa_effective(void) {
  pthread_once(&once, init);
  return effective;
}

vconv_status vconv_set_max_isa(vconv_isa isa) {
  if (!valid_tier(isa) || rank_of(isa) < 0) return VCONV_ERR_INVALID_ISA;
  if (atomic_load(&locked)) return VCONV_ERR_ISA_LOCKED;
  atomic_store(&requested_rank, rank_of(isa));
  return VCONV_OK;
}

int vconv_isa_available(vconv_isa isa) {
  if (!valid_tier(isa) || rank_of(isa) < 0) return 0;
  return vconv_isa_built(isa) && vconv_isa_cpu_supported(isa) &&
         rank_of(isa) <= rank_of(vconv_isa_effective());
}

vconv_status vconv_i_resolve_isa(vconv_isa isa, vconv_isa *out) {
  if (isa == VCONV_ISA_AUTO) {
    *out = vconv_isa_effective();
    return VCONV_OK;
  }
  if (!valid_tier(isa)) return VCONV_ERR_INVALID_ISA;
  if (!vconv_isa_available(isa)) return VCONV_ERR_ISA_UNAVAILABLE;
  *out = isa;
  return VCONV_OK;
}
