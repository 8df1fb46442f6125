/*
 * The machine part of the JSON context: the clock the core really runs at,
 * the FMA units the peak rows are divided by, the hypervisor and the governor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#  include <cpuid.h>
#endif

#include "bench.h"

/*
 * Clock: a dependent chain of instructions of known latency, best of short
 * rounds (robust to preemption).  The chain must be one the front end cannot
 * shorten: recent Intel cores execute `add reg, imm` at rename with no
 * latency (a chain of them read 22.8 GHz on a Xeon), so the operands here are
 * registers holding values loaded from a volatile, unknown at rename.
 *   imul r64, r64: 3 cycles on every Intel core since Nehalem and every AMD
 *                  core since Zen (the figure reported);
 *   add r64, r64:  1 cycle (a cross-check: a disagreement means one of the
 *                  two latencies is not what it is assumed to be here).
 * AArch64 has no such constant multiply latency across cores: there the
 * add chain is the clock.
 */
#if defined(__x86_64__)
#  define IMUL1 "imul %1, %0\n\t"
#  define ADD1 "add %1, %0\n\t"
#elif defined(__aarch64__)
#  define ADD1 "add %0, %0, %1\n\t"
#endif
#define X10(s) s s s s s s s s s s

/* One round of 10 x n ops of `insn` on x; a macro so each chain is a plain loop. */
#define CHAIN_ROUND(insn, x, m, n) \
  for (int64_t i_ = 0; i_ < (n); i_++) __asm__ volatile(X10(insn) : "+r"(x) : "r"(m))

#ifdef ADD1
static volatile uint64_t chain_operand = 0x9E3779B97F4A7C15ull;

static double chain_ghz(int use_mul, int latency) {
  double best = 0.0;
  const uint64_t m = chain_operand | 1u; /* odd: the imul chain never collapses to 0 */
  uint64_t x = chain_operand;
  for (int rep = 0; rep < 40; rep++) {
    const int64_t n = 100000; /* 1M ops: 0.3 ms (add) to 1 ms (imul) at 3 GHz */
    const double t0 = bench_now();
#  ifdef IMUL1
    if (use_mul) {
      CHAIN_ROUND(IMUL1, x, m, n);
    } else
#  endif
    {
      CHAIN_ROUND(ADD1, x, m, n);
    }
    const double ghz = 10.0 * (double)latency * (double)n / (bench_now() - t0) / 1e9;
    if (ghz > best) best = ghz;
  }
  chain_operand = x; /* keeps the chains' results live */
  (void)use_mul;
  return best;
}
#endif

void bench_measure_clock(bench_clock *c) {
  memset(c, 0, sizeof *c);
#ifdef ADD1
  /* Spin first so a core that ramps its clock up is at speed for both chains. */
  const double t_end = bench_now() + 0.05;
  while (bench_now() < t_end) (void)chain_ghz(0, 1);
#  ifdef IMUL1
  c->ghz = chain_ghz(1, 3);
  c->ghz_add = chain_ghz(0, 1);
  c->method = "dependent imul r64,r64 chain (3 cycles each), best of 40 rounds of 1M";
#  else
  c->ghz = c->ghz_add = chain_ghz(0, 1);
  c->method = "dependent add x,x,x chain (1 cycle each), best of 40 rounds of 1M";
#  endif
#else
  c->method = "not measured on this architecture";
#endif
}

/*
 * FMA units per tier, as full-width operations per cycle: what the peak row
 * is divided by to give a clock.  No CPUID leaf says how many there are, so
 * this is a table of the cores whose count is documented; anything else is
 * assumed to have 2 (every big x86 core since Haswell and Zen 2 at 256 bits)
 * and says so.  Returns the count; *why names the source.
 */
int bench_fma_units(vconv_isa isa, const vconv_cpu_info *ci, const char **why) {
  const int amd = !strcmp(ci->vendor, "AuthenticAMD"), intel = !strcmp(ci->vendor, "GenuineIntel");
  const int fam = ci->family, mod = ci->model;
  *why = "assumed (not in the table)";
  switch (isa) {
    case VCONV_ISA_AVX2:
      if (amd && fam == 0x17 && mod < 0x30) return *why = "Zen/Zen+: two 128-bit FMA pipes", 1;
      if (amd && fam >= 0x17) return *why = "AMD Zen 2 or later", 2;
      if (intel && fam == 6) return *why = "Intel big core, Haswell or later (assumed: not an E-core)", 2;
      return 2;
    case VCONV_ISA_AVX512:
      if (amd && fam == 0x19) return *why = "Zen 4: 512-bit FMAs in two passes over 256-bit pipes", 1;
      if (amd && fam == 0x1A && mod >= 0x20 && mod <= 0x2F)
        return *why = "Zen 5 mobile (Strix Point): 256-bit datapath", 1;
      if (amd && fam == 0x1A) return *why = "Zen 5 with the full 512-bit datapath (Turin, Granite Ridge)", 2;
      if (intel && fam == 6) {
        switch (mod) {
          case 0x55: /* Skylake-SP, Cascade Lake: one port or two by SKU */
            if (strstr(ci->brand, "Platinum") || strstr(ci->brand, "Gold 6") || strstr(ci->brand, " W-"))
              return *why = "Skylake-SP/Cascade Lake Platinum, Gold 6xxx, W: ports 0+1 and 5", 2;
            if (strstr(ci->brand, "Silver") || strstr(ci->brand, "Bronze") || strstr(ci->brand, "Gold 5"))
              return *why = "Skylake-SP/Cascade Lake Silver, Bronze, Gold 5xxx: one 512-bit port", 1;
            return *why = "Skylake-SP/Cascade Lake, SKU unknown (assumed 2; some have 1)", 2;
          case 0x66: case 0x7D: case 0x7E: case 0x8C: case 0x8D: case 0xA7:
            return *why = "Intel client core (Cannon/Ice/Tiger/Rocket Lake): one 512-bit port", 1;
          case 0x6A: case 0x6C: case 0x8F: case 0xCF: case 0xAD: case 0xAE:
            return *why = "Ice Lake-SP, Sapphire/Emerald/Granite Rapids: two 512-bit ports", 2;
          default: break;
        }
      }
      return 2;
    case VCONV_ISA_NEON:
      *why = "assumed 2 128-bit FMA pipes (Cortex-A72/A76/Neoverse N1 class; wider cores have more)";
      return 2;
    default: return 0; /* scalar and sse41 peaks use mul + add, not one unit count */
  }
}

int bench_isa_lanes(vconv_isa isa) {
  switch (isa) {
    case VCONV_ISA_SCALAR: return 1;
    case VCONV_ISA_AVX2: return 8;
    case VCONV_ISA_AVX512: return 16;
    default: return 4;
  }
}

static int read_line(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  const int ok = fgets(buf, (int)size, f) != NULL;
  fclose(f);
  if (!ok) return 0;
  buf[strcspn(buf, "\n")] = 0;
  return 1;
}

void bench_hypervisor(char *s, size_t size) {
  int bit = -1;
  char sig[13] = "";
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (__get_cpuid(1, &a, &b, &c, &d)) bit = (c >> 31) & 1;
  if (bit == 1) {
    /* The hypervisor's own leaf: "KVMKVMKVM", "Microsoft Hv", "VMwareVMware", ... */
    __cpuid(0x40000000u, a, b, c, d);
    memcpy(sig, &b, 4), memcpy(sig + 4, &c, 4), memcpy(sig + 8, &d, 4);
    sig[12] = 0;
    for (int i = 0; i < 12; i++)
      if (sig[i] && (sig[i] < 0x20 || sig[i] > 0x7e)) sig[i] = '?';
  }
#endif
  char vendor[96] = "", product[96] = "", xen[32] = "";
  read_line("/sys/class/dmi/id/sys_vendor", vendor, sizeof vendor);
  read_line("/sys/class/dmi/id/product_name", product, sizeof product);
  read_line("/sys/hypervisor/type", xen, sizeof xen);
  const char *verdict = bit == 1 ? "yes (CPUID hypervisor bit)"
                        : bit == 0 ? (*xen ? "yes (/sys/hypervisor)" : "no (CPUID hypervisor bit clear)")
                                   : (*xen ? "yes (/sys/hypervisor)" : "unknown");
  snprintf(s, size, "%s; CPUID 0x40000000 signature '%s'; DMI '%s' '%s'%s%s", verdict,
           *sig ? sig : "-", *vendor ? vendor : "?", *product ? product : "?",
           *xen ? "; /sys/hypervisor/type " : "", xen);
}

void bench_governor(char *s, size_t size) {
  const char *base = "/sys/devices/system/cpu/cpu0/cpufreq/";
  char path[128], gov[64] = "", drv[64] = "", maxf[32] = "", boost[16] = "", smt[16] = "";
  snprintf(path, sizeof path, "%sscaling_governor", base);
  read_line(path, gov, sizeof gov);
  snprintf(path, sizeof path, "%sscaling_driver", base);
  read_line(path, drv, sizeof drv);
  snprintf(path, sizeof path, "%scpuinfo_max_freq", base);
  read_line(path, maxf, sizeof maxf);
  if (!read_line("/sys/devices/system/cpu/cpufreq/boost", boost, sizeof boost) &&
      read_line("/sys/devices/system/cpu/intel_pstate/no_turbo", boost, sizeof boost))
    boost[0] = boost[0] == '0' ? '1' : '0'; /* no_turbo 0 = boost on */
  read_line("/sys/devices/system/cpu/smt/active", smt, sizeof smt);
  if (*gov)
    snprintf(s, size, "%s (driver %s, max %s kHz, boost %s); SMT active %s", gov,
             *drv ? drv : "?", *maxf ? maxf : "?", *boost ? boost : "?", *smt ? smt : "?");
  else
    snprintf(s, size,
             "not readable: no cpufreq in sysfs (usual in a VM: the host sets the clock); SMT active %s",
             *smt ? smt : "?");
}
