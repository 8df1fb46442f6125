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
  static const char *const names[] = {"", "auto", "tuned", "onednn", "onednn_nchw", "onednn_wino",
                                      "xnnpack", "openblas_im2col"};
  return names[i];
}

static void add_plan(const bench_layer *l, int64_t batch, int threads, bench_impl impl,
                     vconv_algorithm algo, vconv_isa isa, const char *impl_str, const char *tier,
                     const char *plan) {
  bench_case *c = calloc(1, sizeof *c);
  if (!c) abort();
  *c = (bench_case){l, batch, threads, impl, algo, isa, ""};
  if (plan) snprintf(c->plan, sizeof c->plan, "%s", plan);
  char name[160];
  snprintf(name, sizeof name, "%s.%s/%s/%s/n:%lld/t:%d", l->net, l->name, impl_str, tier,
           (long long)batch, threads);
  bm_fn fn = impl <= IMPL_TUNED ? bench_ours
             : impl == IMPL_XNNPACK ? bench_xnnpack
             : impl == IMPL_OPENBLAS ? bench_openblas
                                     : bench_onednn;
  bm_unit(bm_register(name, fn, c), BM_US);
}

static void add(const bench_layer *l, int64_t batch, int threads, bench_impl impl,
                vconv_algorithm algo, vconv_isa isa, const char *impl_str, const char *tier) {
  add_plan(l, batch, threads, impl, algo, isa, impl_str, tier, NULL);
}

/* Conv rows of ours: per variant that runs here, the kernel's own choice of
 * path (impl "<algorithm>"), then each other path that applies, forced by
 * name (impl "<algorithm>:<path>"), so the planner's choice of path can be
 * checked against every alternative. */
static void add_conv_plans(const bench_layer *l, int64_t batch, int threads) {
  for (size_t i = 0; i < vconv_conv2d_variant_count(); i++) {
    vconv_algorithm algo;
    vconv_isa isa;
    if (vconv_conv2d_variant(i, &algo, &isa) != VCONV_OK || !vconv_isa_available(isa)) continue;
    const char *an = vconv_algorithm_name(algo), *tn = vconv_isa_name(isa);
    char kernel[64], own[64], got[64], impl[80];
    snprintf(kernel, sizeof kernel, "%s/%s", an, tn);
    if (!bench_ours_plan(l, batch, kernel, own, sizeof own)) continue;
    add_plan(l, batch, threads, IMPL_OURS, algo, isa, an, tn, kernel);
    const size_t klen = strlen(kernel);
    for (size_t j = 0; j < vconv_conv2d_plan_count(); j++) {
      const char *plan = vconv_conv2d_plan_name(j);
      if (strncmp(plan, kernel, klen) != 0 || plan[klen] != ':' || strcmp(plan, own) == 0) continue;
      if (!bench_ours_plan(l, batch, plan, got, sizeof got)) continue;
      snprintf(impl, sizeof impl, "%s:%s", an, plan + klen + 1);
      add_plan(l, batch, threads, IMPL_OURS, algo, isa, impl, tn, plan);
    }
  }
}

/*
 * VCONV_BENCH_PEER_CAP=<tier>: a pass of peer rows only, named <impl>/peer_<tier>,
 * for the per-tier plot.  The caller caps the peers themselves (scripts/bench:
 * ONEDNN_MAX_CPU_ISA, OPENBLAS_CORETYPE), since each reads its cap once per process;
 * XNNPACK has no such switch and is left out.  The labels show what each really ran.
 */
static const char *peer_cap;

static void register_layer(const bench_layer *l, int64_t batch, int threads) {
  const vconv_isa eff = vconv_isa_effective();
  if (peer_cap) {
    static char tier[32];
    snprintf(tier, sizeof tier, "peer_%s", peer_cap);
    const bench_impl capped[] = {IMPL_ONEDNN, IMPL_ONEDNN_NCHW, IMPL_ONEDNN_WINO};
    for (size_t i = 0; i < 3; i++)
      if (bench_onednn_applicable(l, batch, capped[i]))
        add(l, batch, threads, capped[i], VCONV_ALGO_AUTO, VCONV_ISA_AUTO, impl_name(capped[i]), tier);
    if (!l->is_pool && bench_have_openblas())
      add(l, batch, threads, IMPL_OPENBLAS, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, "openblas_im2col", tier);
    return;
  }
  if (l->is_pool) {
    for (size_t i = 0; i < vconv_pool2d_variant_count(); i++) {
      vconv_isa isa;
      if (vconv_pool2d_variant(i, &isa) != VCONV_OK || !vconv_isa_available(isa)) continue;
      add(l, batch, threads, IMPL_OURS, VCONV_ALGO_AUTO, isa, "pool", vconv_isa_name(isa));
    }
  } else {
    add_conv_plans(l, batch, threads);
  }
  add(l, batch, threads, IMPL_AUTO, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, "auto", vconv_isa_name(eff));
  const char *wisdom = getenv("VCONV_WISDOM");
  if (!l->is_pool && wisdom && *wisdom)
    add(l, batch, threads, IMPL_TUNED, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, "tuned", vconv_isa_name(eff));
  const bench_impl dnnl[] = {IMPL_ONEDNN, IMPL_ONEDNN_NCHW, IMPL_ONEDNN_WINO};
  for (size_t i = 0; i < 3; i++)
    if (bench_onednn_applicable(l, batch, dnnl[i])) /* winograd: only where oneDNN accepts it */
      add(l, batch, threads, dnnl[i], VCONV_ALGO_AUTO, VCONV_ISA_AUTO, impl_name(dnnl[i]), "peer");
  if (bench_have_xnnpack())
    add(l, batch, threads, IMPL_XNNPACK, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, "xnnpack", "peer");
  if (!l->is_pool && bench_have_openblas())
    add(l, batch, threads, IMPL_OPENBLAS, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, "openblas_im2col", "peer");
}

/* The clock, checked against what the FMA peak implies at the best FMA tier:
 * peak = units x lanes x 2 flop x clock.  The report repeats this with the
 * longer peak/fma rows; this one stands when a filter leaves them out. */
static void add_clock_context(const vconv_cpu_info *ci) {
  bench_clock clk;
  char s[512], units[512] = "";
  bench_measure_clock(&clk);
  snprintf(s, sizeof s, "%.3f", clk.ghz);
  bm_add_context("clock_ghz_measured", s);
  snprintf(s, sizeof s, "%.3f", clk.ghz_add);
  bm_add_context("clock_ghz_add_chain", s);
  bm_add_context("clock_method", clk.method);
  vconv_isa best = VCONV_ISA_COUNT;
  for (int i = 0; i < VCONV_ISA_COUNT; i++) {
    const char *why;
    const int u = ci ? bench_fma_units((vconv_isa)i, ci, &why) : 0;
    if (!u || !vconv_isa_available((vconv_isa)i)) continue;
    snprintf(units + strlen(units), sizeof units - strlen(units), "%s%s %d (%s)", *units ? "; " : "",
             vconv_isa_name((vconv_isa)i), u, why);
    best = (vconv_isa)i; /* tiers are ordered by width within an architecture */
  }
  bm_add_context("fma_units", *units ? units : "none (no FMA tier)");
  if (best == VCONV_ISA_COUNT || clk.ghz <= 0.0) {
    bm_add_context("clock_check", "not made: no FMA tier or no clock measurement here");
    return;
  }
  const char *why;
  const int u = bench_fma_units(best, ci, &why), lanes = bench_isa_lanes(best);
  const double peak = bench_fma_peak_quick(best);
  const double implied = peak / (2.0 * lanes * u) / 1e9, dev = implied / clk.ghz - 1.0;
  const char *verdict = dev > -0.1 && dev < 0.1 ? "agree within 10%"
                        : implied / clk.ghz > 0.4 && implied / clk.ghz < 0.6
                            ? "DISAGREE: the peak is half of what the assumed units give; "
                              "the tier likely has one full-width FMA unit (see fma_units)"
                            : "DISAGREE: see the report (other load, a preempted vCPU, a "
                              "lower wide-vector clock, or a wrong unit count)";
  snprintf(s, sizeof s,
           "%s: %.1f GFLOP/s (20 ms quick run) / (%d units x %d lanes x 2 flop) = %.3f GHz "
           "vs %.3f GHz measured: %+.1f%%, %s",
           vconv_isa_name(best), peak / 1e9, u, lanes, implied, clk.ghz, 100.0 * dev, verdict);
  bm_add_context("clock_check", s);
}

static void add_context(int all_threads, int argc, char **argv) {
  vconv_cpu_info ci;
  char s[1024];
  const int have_ci = vconv_get_cpu_info(&ci) == VCONV_OK;
  if (have_ci) {
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
  bench_hypervisor(s, sizeof s);
  bm_add_context("cpu_hypervisor", s);
  bench_governor(s, sizeof s);
  bm_add_context("cpu_governor", s);
  add_clock_context(have_ci ? &ci : NULL);
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
  bm_add_context("cost_model_cpu", vconv_cost_model_cpu()); /* the calibration auto's rows use */
  snprintf(s, sizeof s, "%d (t:%d rows; our pool: vconv_threadpool, caller participates)", all_threads, all_threads);
  bm_add_context("threads_all", s);
  {
    const char *w = getenv("VCONV_WISDOM");
    bm_add_context("wisdom", w && *w ? w : "none (no tuned rows; auto rows are always the heuristic)");
  }
  snprintf(s, sizeof s, "%s %s", BENCH_CC_ID, BENCH_CC_VERSION);
  bm_add_context("compiler", s);
  bm_add_context("compiler_flags", BENCH_C_FLAGS);
  bm_add_context("tier_flags", BENCH_TIER_FLAGS);
  bm_add_context("vconv_version", vconv_version());
  bm_add_context("git_revision", BENCH_GIT_REV);
  bm_add_context("timing", "wall clock (FLOPS, bytes_per_second = work per second of real time)");
  /* The console prints "***WARNING*** Library was built as DEBUG" right after
   * these lines; it is about Debian's libbenchmark, and a reader should know. */
  bm_add_context("library_build_type_note",
                 "'debug' and the console's '***WARNING*** Library was built as DEBUG' refer to "
                 "Debian's build of Google Benchmark (" BENCH_GBENCH_PACKAGE "), compiled without "
                 "NDEBUG: only its own bookkeeping is affected; vconv and the peers are release "
                 "builds (compiler_flags)");
  s[0] = 0;
  for (int i = 0; i < argc; i++) { /* shell-quoted where needed, so it can be pasted back */
    const int plain = *argv[i] && strspn(argv[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                  "0123456789_./=:,+-") == strlen(argv[i]);
    snprintf(s + strlen(s), sizeof s - strlen(s), i ? " " : "");
    if (plain) {
      snprintf(s + strlen(s), sizeof s - strlen(s), "%s", argv[i]);
      continue;
    }
    snprintf(s + strlen(s), sizeof s - strlen(s), "'");
    for (const char *c = argv[i]; *c; c++)
      snprintf(s + strlen(s), sizeof s - strlen(s), *c == '\'' ? "'\\''" : "%c", *c);
    snprintf(s + strlen(s), sizeof s - strlen(s), "'");
  }
  bm_add_context("command", s);
  if (peer_cap) {
    const char *d = getenv("ONEDNN_MAX_CPU_ISA"), *o = getenv("OPENBLAS_CORETYPE");
    snprintf(s, sizeof s, "peer rows only, tier peer_%s; ONEDNN_MAX_CPU_ISA=%s OPENBLAS_CORETYPE=%s",
             peer_cap, d ? d : "(unset)", o ? o : "(unset)");
    bm_add_context("peer_cap", s);
  }
  {
    /* scripts/bench names itself, its arguments and the tuning step here. */
    const char *by = getenv("VCONV_BENCH_INVOKED_AS"), *tune = getenv("VCONV_BENCH_TUNE_COMMAND");
    if (by && *by) bm_add_context("invoked_as", by);
    if (tune && *tune) bm_add_context("tune_command", tune);
  }
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

  peer_cap = getenv("VCONV_BENCH_PEER_CAP");
  if (peer_cap && !*peer_cap) peer_cap = NULL;
  if (!peer_cap) {
    bench_register_peaks();
    bench_register_gemm();
    bench_register_local();
    if (bench_have_openblas())
      bm_unit(bm_register("gemm.sq1024/openblas/peer/n:1/t:1", bench_openblas_gemm, (void *)(size_t)1024), BM_MS);
  }
  const int64_t batches[] = {1, 16};
  const int threads[] = {1, all};
  for (size_t li = 0; li < bench_layer_count; li++)
    for (int b = 0; b < 2; b++)
      for (int t = 0; t < (all > 1 && !peer_cap ? 2 : 1); t++) /* capped: one thread only */
        register_layer(&bench_layers[li], batches[b], threads[t]);
  bench_register_backward(all, peer_cap);
  if (!listing) add_context(all, argc, argv);
  int rc = bm_main(argc, argv);
  bench_parallel_shutdown();
  return rc;
}
