/*
 * peak/fma/<tier>: multiply-add throughput of one core at each tier.
 * peak/read/<l1|l2|l3|dram>: read bandwidth of one core with the best tier's loads,
 * buffers of half of L1d and of L2, min(half of L3, 4x L2), and 8x L3.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

typedef double (*fma_fn)(int64_t n, float *sink);
typedef double (*read_fn)(const float *buf, size_t floats, float *sink);

#define TIER(t)                                                  \
  double bench_peak_fma__##t(int64_t n, float *sink);            \
  double bench_peak_read__##t(const float *buf, size_t floats, float *sink);
#ifdef BENCH_PEAK_SCALAR
TIER(scalar)
#endif
#ifdef BENCH_PEAK_SSE41
TIER(sse41)
#endif
#ifdef BENCH_PEAK_AVX2
TIER(avx2)
#endif
#ifdef BENCH_PEAK_AVX512
TIER(avx512)
#endif
#ifdef BENCH_PEAK_NEON
TIER(neon)
#endif

static const struct {
  vconv_isa isa;
  fma_fn fma;
  read_fn read;
} tiers[] = {
#ifdef BENCH_PEAK_SCALAR
    {VCONV_ISA_SCALAR, bench_peak_fma__scalar, bench_peak_read__scalar},
#endif
#ifdef BENCH_PEAK_SSE41
    {VCONV_ISA_SSE41, bench_peak_fma__sse41, bench_peak_read__sse41},
#endif
#ifdef BENCH_PEAK_AVX2
    {VCONV_ISA_AVX2, bench_peak_fma__avx2, bench_peak_read__avx2},
#endif
#ifdef BENCH_PEAK_AVX512
    {VCONV_ISA_AVX512, bench_peak_fma__avx512, bench_peak_read__avx512},
#endif
#ifdef BENCH_PEAK_NEON
    {VCONV_ISA_NEON, bench_peak_fma__neon, bench_peak_read__neon},
#endif
};
#define NTIERS (sizeof tiers / sizeof tiers[0])

static const char *const level_names[] = {"l1", "l2", "l3", "dram"};

int64_t bench_read_bytes(int level) {
  vconv_cpu_info info;
  int64_t l1 = 0, l2 = 0, l3 = 0;
  if (vconv_get_cpu_info(&info) == VCONV_OK) {
    l1 = info.l1d_bytes;
    l2 = info.l2_bytes;
    l3 = info.l3_bytes;
  }
  if (l1 <= 0) l1 = 32 << 10;
  if (l2 <= 0) l2 = 1 << 20;
  if (l3 <= 0) l3 = 32 << 20;
  /* DRAM: 8x L3, within [256 MiB, 1 GiB] (some VMs report a huge L3). */
  int64_t dram = 8 * l3 < (256 << 20) ? (256 << 20) : 8 * l3 > (1 << 30) ? (1 << 30) : 8 * l3;
  /* L3: beyond L2 but no more than 4x L2, so the buffer stays in the L3 slice
   * this core really gets (a VM reports 508 MiB of "L3" on a Zen 5 host whose
   * CCD has 32 MiB: half of it measured DRAM, and pooling rows from L3 then
   * showed 170% of peak). */
  const int64_t l3b = l3 / 2 < 4 * l2 ? l3 / 2 : 4 * l2;
  const int64_t b[] = {l1 / 2, l2 / 2, l3b, dram};
  return (b[level] + 4095) / 4096 * 4096;
}

/*
 * A peak is the best the core can do: the counter is the best rate over windows
 * of `chunk` iterations (about 0.1 ms or more), so a preemption on a busy or
 * virtual machine lowers the time column but not the peak.
 */
#define BEST_WINDOW(st, wall, chunk, work, best, body)               \
  do {                                                               \
    double last_ = bench_now();                                      \
    int64_t k_ = 0;                                                  \
    BENCH_LOOP(st, wall, {                                           \
      body;                                                          \
      if (++k_ == (chunk)) {                                         \
        double now_ = bench_now();                                   \
        double r_ = (work) * (double)(chunk) / (now_ - last_);       \
        if (r_ > (best)) (best) = r_;                                \
        last_ = now_;                                                \
        k_ = 0;                                                      \
      }                                                              \
    });                                                              \
  } while (0)

static void set_best(bm_state *st, const char *counter, double best, double work, double wall) {
  if (best > 0.0)
    bm_set_counter(st, counter, best, BM_COUNTER_DEFAULT, 1000);
  else /* fewer iterations than one window */
    bench_rate(st, counter, work, wall);
}

static void bm_fma(bm_state *st, void *arg) {
  fma_fn f = tiers[(size_t)arg].fma;
  float sink[16];
  double flops = f(1000, sink), wall = 0.0, best = 0.0;
  BEST_WINDOW(st, wall, 64, flops, best, { flops = f(1000, sink); bm_escape(sink); });
  set_best(st, "FLOPS", best, flops, wall);
  bm_set_label(st, "best 64-call window");
}

static void bm_read(bm_state *st, void *arg) {
  const int level = (int)(size_t)arg;
  const size_t floats = (size_t)bench_read_bytes(level) / sizeof(float);
  read_fn f = NULL;
  for (size_t i = 0; i < NTIERS; i++)
    if (tiers[i].isa == vconv_isa_effective()) f = tiers[i].read;
  if (!f) {
    bm_skip_with_error(st, "no peak kernel for the effective tier");
    return;
  }
  float *buf = bench_alloc(floats), sink[16];
  for (size_t i = 0; i < floats; i++) buf[i] = (float)(i & 7) * 0.125f;
  double bytes = f(buf, floats, sink), wall = 0.0, best = 0.0;
  const int64_t chunk = (int64_t)(4e6 / bytes) + 1; /* windows of >= 4 MB read */
  BEST_WINDOW(st, wall, chunk, bytes, best, { bytes = f(buf, floats, sink); bm_escape(sink); });
  set_best(st, "bytes_per_second", best, bytes, wall);
  char label[80];
  snprintf(label, sizeof label, "%s loads, %lld KiB, best %lld-pass window",
           vconv_isa_name(vconv_isa_effective()), (long long)(floats * sizeof(float) >> 10),
           (long long)chunk);
  bm_set_label(st, label);
  free(buf);
}

double bench_fma_peak_quick(vconv_isa isa) {
  for (size_t i = 0; i < NTIERS; i++) {
    if (tiers[i].isa != isa || !vconv_isa_available(isa)) continue;
    float sink[16];
    double best = 0.0;
    (void)tiers[i].fma(1000, sink); /* warm: a core may power its wide units up on first use */
    for (int w = 0; w < 40; w++) {
      const double t0 = bench_now();
      double flop = 0.0;
      for (int k = 0; k < 16; k++) flop += tiers[i].fma(1000, sink);
      const double r = flop / (bench_now() - t0);
      if (r > best) best = r;
    }
    bm_escape(sink);
    return best;
  }
  return 0.0;
}

double bench_read_peak_quick(int level) {
  read_fn f = NULL;
  for (size_t i = 0; i < NTIERS; i++)
    if (tiers[i].isa == vconv_isa_effective()) f = tiers[i].read;
  if (!f) return 0.0;
  const size_t floats = (size_t)bench_read_bytes(level) / sizeof(float);
  float *buf = bench_alloc(floats), sink[16];
  for (size_t i = 0; i < floats; i++) buf[i] = (float)(i & 7) * 0.125f;
  double best = 0.0, t_end = bench_now() + 0.05;
  (void)f(buf, floats, sink); /* warm: the buffer into its level */
  for (int k = 0; k < 4 || bench_now() < t_end; k++) {
    const double t0 = bench_now(), bytes = f(buf, floats, sink), r = bytes / (bench_now() - t0);
    if (r > best) best = r;
  }
  bm_escape(sink);
  free(buf);
  return best;
}

void bench_register_peaks(void) {
  char name[64];
  for (size_t i = 0; i < NTIERS; i++) {
    if (!vconv_isa_available(tiers[i].isa)) continue;
    snprintf(name, sizeof name, "peak/fma/%s", vconv_isa_name(tiers[i].isa));
    bm_register(name, bm_fma, (void *)i);
  }
  for (int level = 0; level < 4; level++) {
    snprintf(name, sizeof name, "peak/read/%s", level_names[level]);
    bm_unit(bm_register(name, bm_read, (void *)(size_t)level), BM_US);
  }
}
