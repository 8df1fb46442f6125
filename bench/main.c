/*
 * vconv-bench: LeNet-5 and AlexNet layers, our kernels (every built variant on
 * every tier this CPU has, plus auto) against oneDNN, XNNPACK and
 * im2col+OpenBLAS, plus the machine's measured peaks.  Standard Google
 * Benchmark flags; names
 *   <net>.<layer>/<impl>/<tier>/n:<batch>/t:<threads>
 *   peak/fma/<tier>   peak/read/<l1|l2|l3|dram>   gemm.sq1024/openblas/peer/n:1/t:1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_config.h"
#include "bench_version.h"

static const char *impl_name(bench_impl i) {
  static const char *const names[] = {"", "auto", "onednn", "onednn_nchw", "onednn_wino",
                                      "xnnpack", "openblas_im2col"};
  return names[i];
}

static void add(const bench_layer *l, int64_t batch, int threads, bench_impl impl,
                vconv_algorithm algo, vconv_isa isa, const char *impl_str, const char *tier) {
  bench_case *c = calloc(1, sizeof *c);
  if (!c) abort();
  *c = (bench_case){l, batch, threads, impl, algo, isa};
  char name[160];
  snprintf(name, sizeof name, "%s.%s/%s/%s/n:%lld/t:%d", l->net, l->name, impl_str, tier,
           (long long)batch, threads);
  bm_fn fn = impl <= IMPL_AUTO ? bench_ours
             : impl == IMPL_XNNPACK ? bench_xnnpack
             : impl == IMPL_OPENBLAS ? bench_openblas
                                     : bench_onednn;
  bm_unit(bm_register(name, fn, c), BM_US);
}

static void register_layer(const bench_layer *l, int64_t batch, int threads) {
  const vconv_isa eff = vconv_isa_effective();
  char seen[64][48];
  size_t nseen = 0;
  if (l->is_pool) {
    for (size_t i = 0; i < vconv_pool2d_variant_count(); i++) {
      vconv_isa isa;
      if (vconv_pool2d_variant(i, &isa) != VCONV_OK || !vconv_isa_available(isa)) continue;
      add(l, batch, threads, IMPL_OURS, VCONV_ALGO_AUTO, isa, "pool", vconv_isa_name(isa));
    }
  } else {
    for (size_t i = 0; i < vconv_conv2d_variant_count(); i++) {
      vconv_algorithm algo;
      vconv_isa isa;
      if (vconv_conv2d_variant(i, &algo, &isa) != VCONV_OK) continue;
      if (!bench_ours_applicable(l, algo, isa)) continue;
      char key[48];
      snprintf(key, sizeof key, "%s/%s", vconv_algorithm_name(algo), vconv_isa_name(isa));
      int dup = 0;
      for (size_t j = 0; j < nseen; j++) dup |= !strcmp(seen[j], key);
      if (dup || nseen == 64) continue;
      strcpy(seen[nseen++], key);
      add(l, batch, threads, IMPL_OURS, algo, isa, vconv_algorithm_name(algo), vconv_isa_name(isa));
    }
  }
  add(l, batch, threads, IMPL_AUTO, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, "auto", vconv_isa_name(eff));
  const bench_impl dnnl[] = {IMPL_ONEDNN, IMPL_ONEDNN_NCHW, IMPL_ONEDNN_WINO};
  for (size_t i = 0; i < 3; i++)
    if (bench_onednn_applicable(l, batch, dnnl[i])) /* winograd: only where oneDNN accepts it */
      add(l, batch, threads, dnnl[i], VCONV_ALGO_AUTO, VCONV_ISA_AUTO, impl_name(dnnl[i]), "peer");
  if (bench_have_xnnpack())
    add(l, batch, threads, IMPL_XNNPACK, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, "xnnpack", "peer");
  if (!l->is_pool && bench_have_openblas())
    add(l, batch, threads, IMPL_OPENBLAS, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, "openblas_im2col", "peer");
}

/* A dependent chain of integer adds, 1 cycle each: the clock the core really runs at. */
static double measure_ghz(void) {
#if defined(__x86_64__) || defined(__aarch64__)
#  if defined(__x86_64__)
#    define ADD1 "add $1, %0\n\t"
#  else
#    define ADD1 "add %0, %0, #1\n\t"
#  endif
#  define ADD10 ADD1 ADD1 ADD1 ADD1 ADD1 ADD1 ADD1 ADD1 ADD1 ADD1
  double best = 0.0;
  for (int rep = 0; rep < 60; rep++) { /* short rounds, the best one: robust to preemption */
    const int64_t n = 200000;
    uint64_t x = 0;
    double t0 = bench_now();
    for (int64_t i = 0; i < n; i++) __asm__ volatile(ADD10 : "+r"(x));
    double ghz = 10.0 * (double)n / (bench_now() - t0) / 1e9;
    if (ghz > best) best = ghz;
  }
  return best;
#else
  return 0.0;
#endif
}

static int hypervisor(void) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[4096];
  int found = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "flags", 5)) {
      found = strstr(line, " hypervisor") != NULL;
      break;
    }
  fclose(f);
  return found;
}

static void add_context(int all_threads) {
  vconv_cpu_info ci;
  char s[512];
  if (vconv_get_cpu_info(&ci) == VCONV_OK) {
    bm_add_context("cpu_vendor", ci.vendor);
    bm_add_context("cpu_brand", ci.brand);
    snprintf(s, sizeof s, "family %d model %d stepping %d", ci.family, ci.model, ci.stepping);
    bm_add_context("cpu_family_model", s);
    snprintf(s, sizeof s, "packages %d, cores %d, threads %d", ci.packages, ci.cores, ci.threads);
    bm_add_context("cpu_cores", s);
    snprintf(s, sizeof s, "L1d %lld KiB, L2 %lld KiB (per core), L3 %lld KiB, line %lld B",
             (long long)(ci.l1d_bytes >> 10), (long long)(ci.l2_bytes >> 10),
             (long long)(ci.l3_bytes >> 10), (long long)ci.cache_line_bytes);
    bm_add_context("cpu_caches", s);
    snprintf(s, sizeof s, "%lld %lld %lld", (long long)ci.l1d_bytes, (long long)ci.l2_bytes,
             (long long)ci.l3_bytes);
    bm_add_context("cpu_cache_bytes", s); /* l1d l2 l3, for scripts */
    bm_add_context("cpu_info_source", ci.source);
  }
  int hv = hypervisor();
  bm_add_context("cpu_hypervisor", hv < 0 ? "unknown" : hv ? "yes" : "no");
  snprintf(s, sizeof s, "%.3f", measure_ghz());
  bm_add_context("clock_ghz_measured", s);
  s[0] = 0;
  char built[128] = "";
  for (int i = 0; i < VCONV_ISA_COUNT; i++) {
    const char *nm = vconv_isa_name((vconv_isa)i);
    if (vconv_isa_built((vconv_isa)i)) snprintf(built + strlen(built), sizeof built - strlen(built), "%s%s", *built ? " " : "", nm);
    if (vconv_isa_available((vconv_isa)i)) snprintf(s + strlen(s), sizeof s - strlen(s), "%s%s", *s ? " " : "", nm);
  }
  bm_add_context("tiers_built", built);
  bm_add_context("tiers_available", s);
  bm_add_context("tier_effective", vconv_isa_name(vconv_isa_effective()));
  snprintf(s, sizeof s, "%d (t:%d rows; our pool: vconv_threadpool, caller participates)", all_threads, all_threads);
  bm_add_context("threads_all", s);
  {
    const char *w = getenv("VCONV_WISDOM");
    bm_add_context("wisdom", w && *w ? w : "none (auto rows use the heuristic)");
  }
  snprintf(s, sizeof s, "%s %s", BENCH_CC_ID, BENCH_CC_VERSION);
  bm_add_context("compiler", s);
  bm_add_context("compiler_flags", BENCH_C_FLAGS);
  bm_add_context("tier_flags", BENCH_TIER_FLAGS);
  bm_add_context("vconv_version", vconv_version());
  bm_add_context("git_revision", BENCH_GIT_REV);
  bm_add_context("timing", "wall clock (FLOPS, bytes_per_second = work per second of real time)");
  bench_onednn_context();
  bench_xnnpack_context();
  bench_openblas_context();
}

int main(int argc, char **argv) {
  vconv_cpu_info ci;
  int all = -1;
  if (vconv_get_cpu_info(&ci) == VCONV_OK) all = ci.cores;
  if (all < 1) all = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (all < 1) all = 1;
  int listing = 0;
  for (int i = 1; i < argc; i++) listing |= !strncmp(argv[i], "--benchmark_list_tests", 22);

  bench_register_peaks();
  bench_register_gemm();
  if (bench_have_openblas())
    bm_unit(bm_register("gemm.sq1024/openblas/peer/n:1/t:1", bench_openblas_gemm, (void *)(size_t)1024), BM_MS);
  const int64_t batches[] = {1, 16};
  const int threads[] = {1, all};
  for (size_t li = 0; li < bench_layer_count; li++)
    for (int b = 0; b < 2; b++)
      for (int t = 0; t < (all > 1 ? 2 : 1); t++)
        register_layer(&bench_layers[li], batches[b], threads[t]);
  if (!listing) add_context(all);
  int rc = bm_main(argc, argv);
  bench_parallel_shutdown();
  return rc;
}
