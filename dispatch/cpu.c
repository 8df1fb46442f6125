/*
 * CPU feature detection for dispatch: our own CPUID + XGETBV on x86 (a tier
 * counts only when the OS saves its register state), getauxval on AArch64.
 * Never libcpuid: 0.6.2 reports no AVX-512 on AMD.  CPUID traps to the
 * hypervisor (~4 us each here), so detection runs once and is cached.
 */
#if defined(__linux__)
#  define _GNU_SOURCE
#endif
#include <pthread.h>

#include "dispatch.h"

#if defined(__x86_64__) || defined(__i386__)
#  include <cpuid.h>

static unsigned long long read_xcr0(void) {
  unsigned lo, hi;
  /* Raw encoding: no -mxsave needed in baseline code. */
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((unsigned long long)hi << 32) | lo;
}

static unsigned detect(void) {
  unsigned a, b, c, d;
  unsigned tiers = 1u << VCONV_ISA_SCALAR;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return tiers;
  const unsigned max_leaf = a;
  __cpuid(1, a, b, c, d);
  const int sse41 = (c >> 19) & 1, fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  if (sse41) tiers |= 1u << VCONV_ISA_SSE41;
  if (!osxsave || !avx || max_leaf < 7) return tiers;
  const unsigned long long xcr0 = read_xcr0();
  unsigned b7 = 0;
  __cpuid_count(7, 0, a, b7, c, d);
  const int avx2 = (b7 >> 5) & 1;
  if ((xcr0 & 0x6) == 0x6 && avx2 && fma && sse41) tiers |= 1u << VCONV_ISA_AVX2;
  /* opmask, ZMM_Hi256, Hi16_ZMM on top of XMM and YMM */
  const int f = (b7 >> 16) & 1, dq = (b7 >> 17) & 1, bw = (b7 >> 30) & 1, vl = (b7 >> 31) & 1;
  if ((xcr0 & 0xe6) == 0xe6 && f && dq && bw && vl && (tiers & (1u << VCONV_ISA_AVX2)))
    tiers |= 1u << VCONV_ISA_AVX512;
  return tiers;
}

#elif defined(__aarch64__) && defined(__linux__)
#  include <asm/hwcap.h>
#  include <sys/auxv.h>

static unsigned detect(void) {
  unsigned tiers = 1u << VCONV_ISA_SCALAR;
  if (getauxval(AT_HWCAP) & HWCAP_ASIMD) tiers |= 1u << VCONV_ISA_NEON;
  return tiers;
}

#elif defined(__aarch64__)
/* Advanced SIMD is mandatory in AArch64. */
static unsigned detect(void) { return (1u << VCONV_ISA_SCALAR) | (1u << VCONV_ISA_NEON); }

#else
static unsigned detect(void) { return 1u << VCONV_ISA_SCALAR; }
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static unsigned cpu_tiers;

static void init(void) { cpu_tiers = detect(); }

unsigned vconv_i_cpu_tiers(void) {
  pthread_once(&once, init);
  return cpu_tiers;
}
