// The C shim over Google Benchmark: see bm_shim.h.  Builds against 1.7 .. 1.9
// (the registered class moved from internal::Benchmark to benchmark::Benchmark).
#include "bm_shim.h"

#include <benchmark/benchmark.h>

#include <string>
#include <type_traits>
#include <utility>

namespace {
using Bench = std::remove_pointer<decltype(benchmark::RegisterBenchmark(
    std::declval<const char *>(), std::declval<void (*)(benchmark::State &)>()))>::type;
benchmark::State *S(bm_state *st) { return reinterpret_cast<benchmark::State *>(st); }
const benchmark::State *S(const bm_state *st) {
  return reinterpret_cast<const benchmark::State *>(st);
}
Bench *B(bm_bench *b) { return reinterpret_cast<Bench *>(b); }
}  // namespace

extern "C" bm_bench *bm_register(const char *name, bm_fn fn, void *arg) {
  return reinterpret_cast<bm_bench *>(benchmark::RegisterBenchmark(
      std::string(name).c_str(),
      [fn, arg](benchmark::State &st) { fn(reinterpret_cast<bm_state *>(&st), arg); }));
}

extern "C" void bm_unit(bm_bench *b, int unit) {
  static const benchmark::TimeUnit units[] = {benchmark::kNanosecond, benchmark::kMicrosecond,
                                              benchmark::kMillisecond, benchmark::kSecond};
  if (unit >= 0 && unit < 4) B(b)->Unit(units[unit]);
}

extern "C" void bm_use_real_time(bm_bench *b) { B(b)->UseRealTime(); }

extern "C" int bm_keep_running_batch(bm_state *st, int64_t n) {
  return S(st)->KeepRunningBatch(static_cast<benchmark::IterationCount>(n));
}
extern "C" int64_t bm_max_iterations(const bm_state *st) {
  return static_cast<int64_t>(S(st)->max_iterations);
}
extern "C" int64_t bm_iterations(const bm_state *st) {
  return static_cast<int64_t>(S(st)->iterations());
}
extern "C" void bm_skip_with_error(bm_state *st, const char *msg) { S(st)->SkipWithError(msg); }
extern "C" void bm_set_label(bm_state *st, const char *label) { S(st)->SetLabel(label); }

extern "C" void bm_set_counter(bm_state *st, const char *name, double value, int flags,
                               int one_k) {
  S(st)->counters[name] = benchmark::Counter(
      value, static_cast<benchmark::Counter::Flags>(flags),
      one_k == 1024 ? benchmark::Counter::kIs1024 : benchmark::Counter::kIs1000);
}

extern "C" void bm_add_context(const char *key, const char *value) {
  benchmark::AddCustomContext(key, value);
}

extern "C" int bm_main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
