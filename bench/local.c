/*
 * Locally connected and tiled convolution (vconv_local2d), one row per layer,
 * tile, batch and tier, one thread, NCHW:
 *   local2d/<net>.<layer>/<lc | tiled2x2>/<tier>/n:<batch>/t:1
 * (named apart from the <net>.<layer>/... rows: no peer computes these layers,
 * so the report's comparisons leave them out).
 *
 * There is no packaged peer; a row is held to the physical bound instead: its
 * time is at least the larger of
 *   flop / (the tier's FMA peak, peak/fma)            the arithmetic, and
 *   weight bytes / (read bandwidth of the level the   every weight read once
 *   weights live in, peak/read)                       per run (one per output).
 * Counters: FLOPS and pct_fma (of the tier's one-core FMA peak), weight_bytes
 * and weights_Bps (bytes of weights per second of run), pct_bw (of the read
 * bandwidth of their level), pct_bound (of the larger bound: 100 = at it).
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

typedef struct local_layer {
  const char *net, *name;
  int64_t C, H, K, R, stride, pad;
  int64_t tile; /* 0: locally connected */
} local_layer;

/* LeNet-5 C1 and C3 (dense geometry) and AlexNet conv2 (dense: 729 positions x
 * 614,400 weights = 447,897,600 weights, 1.79 GB). */
static const local_layer layers[] = {
    {"lenet5", "c1", 1, 32, 6, 5, 1, 0, 0},     {"lenet5", "c1", 1, 32, 6, 5, 1, 0, 2},
    {"lenet5", "c3", 6, 14, 16, 5, 1, 0, 0},    {"lenet5", "c3", 6, 14, 16, 5, 1, 0, 2},
    {"alexnet", "conv2", 96, 27, 256, 5, 1, 2, 0},
};
#define NLAYERS (sizeof layers / sizeof layers[0])

typedef struct local_case {
  const local_layer *l;
  int64_t batch;
  vconv_isa isa;
} local_case;

static local_case cases[NLAYERS * 2 * VCONV_ISA_COUNT];
static size_t ncases;

static void desc_of(const local_layer *l, int64_t batch, vconv_local2d_desc *d) {
  vconv_local2d_desc_init(d);
  d->batch = batch;
  d->in_channels = l->C;
  d->in_height = d->in_width = l->H;
  d->out_channels = l->K;
  d->kernel_h = d->kernel_w = l->R;
  d->stride_h = d->stride_w = l->stride;
  d->pad_top = d->pad_bottom = d->pad_left = d->pad_right = l->pad;
  d->tile_h = d->tile_w = l->tile;
  d->bias = VCONV_LOCAL_BIAS_POSITION;
}

/* The level whose peak/read buffer would hold the weights (buffers are about
 * half of each cache; DRAM beyond L3's). */
static int level_of(double bytes) {
  for (int lv = 0; lv < 3; lv++)
    if (bytes <= 2.0 * (double)bench_read_bytes(lv)) return lv;
  return 3;
}

static double fma_peak(vconv_isa isa) {
  static double peak[VCONV_ISA_COUNT];
  if (!peak[isa]) peak[isa] = bench_fma_peak_quick(isa);
  return peak[isa];
}

static double read_peak(int level) {
  static double bw[4];
  if (!bw[level]) bw[level] = bench_read_peak_quick(level);
  return bw[level];
}

static void fill(float *p, size_t n, float scale) {
  for (size_t i = 0; i < n; i++) p[i] = scale * (float)((int)(i * 2654435761u >> 27) - 16) / 16.0f;
}

static void bench_local(bm_state *st, void *arg) {
  const local_case *c = arg;
  vconv_local2d_desc d;
  desc_of(c->l, c->batch, &d);
  int64_t P, Q, nw, nb;
  vconv_status s = vconv_local2d_output_size(&d, &P, &Q);
  if (s == VCONV_OK) s = vconv_local2d_param_count(&d, &nw, &nb);
  if (s != VCONV_OK) {
    bm_skip_with_error(st, vconv_status_string(s));
    return;
  }
  const size_t nin = (size_t)(d.batch * d.in_channels * d.in_height * d.in_width);
  const size_t nout = (size_t)(d.batch * d.out_channels * P * Q);
  float *in = bench_alloc(nin), *out = bench_alloc(nout), *w = bench_alloc((size_t)nw),
        *b = bench_alloc((size_t)nb);
  fill(in, nin, 1.0f);
  fill(w, (size_t)nw, 0.05f);
  fill(b, (size_t)nb, 0.1f);
  vconv_local2d_op *op = NULL;
  s = vconv_local2d_create_for_isa(&d, c->isa, w, b, &op);
  free(w); /* the operator holds its packed copy */
  if (s == VCONV_OK) s = vconv_local2d_run(op, in, out, NULL, 0, NULL); /* warm-up */
  if (s == VCONV_OK) {
    double wall = 0.0;
    BENCH_LOOP(st, wall, { vconv_local2d_run(op, in, out, NULL, 0, NULL); bm_escape(out); });
    const double flop = 2.0 * (double)(d.batch * d.out_channels * P * Q) *
                        (double)(d.in_channels * d.kernel_h * d.kernel_w);
    const double wbytes = 4.0 * (double)nw, t = wall / (double)bm_iterations(st);
    const int lv = level_of(wbytes);
    const double t_fma = flop / fma_peak(c->isa), t_bw = wbytes / read_peak(lv);
    bench_rate(st, "FLOPS", flop, wall);
    bm_set_counter(st, "flop", flop, BM_COUNTER_DEFAULT, 1000);
    bm_set_counter(st, "weight_bytes", wbytes, BM_COUNTER_DEFAULT, 1024);
    bench_rate(st, "weights_Bps", wbytes, wall);
    bm_set_counter(st, "pct_fma", 100.0 * t_fma / t, BM_COUNTER_DEFAULT, 1000);
    bm_set_counter(st, "pct_bw", 100.0 * t_bw / t, BM_COUNTER_DEFAULT, 1000);
    bm_set_counter(st, "pct_bound", 100.0 * (t_fma > t_bw ? t_fma : t_bw) / t, BM_COUNTER_DEFAULT, 1000);
    static const char *const level_names[] = {"l1", "l2", "l3", "dram"};
    char label[160];
    snprintf(label, sizeof label, "nchw %s, weights %.0f KiB in %s, bound: %s",
             vconv_local2d_kernel_name(op), wbytes / 1024.0, level_names[lv],
             t_fma > t_bw ? "fma" : "bandwidth");
    bm_set_label(st, label);
  } else {
    bm_skip_with_error(st, vconv_status_string(s));
  }
  vconv_local2d_destroy(op);
  free(in);
  free(out);
  free(b);
}

void bench_register_local(void) {
  for (size_t li = 0; li < NLAYERS; li++)
    for (int bi = 0; bi < 2; bi++)
      for (size_t v = 0; v < vconv_local2d_variant_count(); v++) {
        vconv_isa isa;
        if (vconv_local2d_variant(v, &isa) != VCONV_OK || !vconv_isa_available(isa)) continue;
        local_case *c = &cases[ncases++];
        c->l = &layers[li];
        c->batch = bi ? 16 : 1;
        c->isa = isa;
        char name[128], tile[16] = "lc";
        if (c->l->tile) snprintf(tile, sizeof tile, "tiled%lldx%lld", (long long)c->l->tile, (long long)c->l->tile);
        snprintf(name, sizeof name, "local2d/%s.%s/%s/%s/n:%lld/t:1", c->l->net, c->l->name, tile,
                 vconv_isa_name(isa), (long long)c->batch);
        bm_unit(bm_register(name, bench_local, c), BM_US);
      }
}
