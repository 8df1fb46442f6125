/*
 * Accuracy in AUTO: VCONV_ALGO_AUTO, VCONV_ALGO_WINOGRAD and the measuring
 * planner never run a Winograd tile whose error bound on the shape exceeds
 * ACCURACY_M times direct's (the rule of include/vconv.h, VCONV_ALGO_AUTO;
 * README "Winograd accuracy").
 *
 * The bounds are the parity suite's own (tests/ref.c): ref_conv_tol and
 * ref_wino_tol, each at its largest over the shape's outputs for inputs and
 * weights of magnitude at most 1.  Both grow with every |x| and |w|, so that
 * largest value is reached with all of them 1, which is what is evaluated
 * here: the reference sums and the Z of every output with the library's
 * tiling (wino_bound), independently of the per-tile constants the library
 * derives its rule from.  Outputs with no tap inside the input are left out:
 * every algorithm gives them exactly (test_parity checks it).
 *
 * And the other way: VCONV_ALGO_WINOGRAD may be unsupported only where the
 * F(2x2) tile of the kernel fails too (never on an image at least as large
 * as the kernel), and every tile is still chosen somewhere.
 *
 * Shapes: 3x3 and 5x5 at stride 1 with input channels per group either side
 * of where each tile passes the rule, small and large maps, no padding, the
 * kernel's half, padding >= the kernel, asymmetric padding; batch 1 and 16;
 * groups 1 and 2; both layouts (a subset in NHWC); every tier that runs here.
 * Then AlexNet conv2-5 (dense and 2 groups) and LeNet-5 C1, C3, C5 at batch
 * 1 and 16, whose choices and ratios are printed (the README's table), and
 * the planner on one layer where the rule excludes the largest tile.
 *
 * Usage: test_winograd_auto [--quick]
 * Environment: VCONV_PARITY_QUICK=1 (same as --quick: fewer shapes),
 *              VCONV_PARITY_TIER=<tier> (only that tier; the default is every
 *              tier that runs here).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "util.h"
#include "wino_ref.h"

/* The documented multiple (include/vconv.h, VCONV_ALGO_AUTO). */
#define ACCURACY_M 100.0

static int opt_quick;
static int opt_tier = -1; /* VCONV_PARITY_TIER: only that tier */

static int tier_tested(int isa) {
  return vconv_isa_available((vconv_isa)isa) && (opt_tier < 0 || isa == opt_tier);
}

/* ---- the bound ratio ----------------------------------------------------- */

/* Ratios computed so far: they depend on the tile, the batch, the input
 * channels per group, the map, the kernel and the padding only. */
typedef struct cached {
  int tile;
  int64_t N, Cg, H, W, k, pad[4];
  double ratio;
} cached;

static cached *cache;
static double ratio_seconds;
static size_t ncache, capcache;

static void resolved_pads(const vconv_conv2d_desc *d, int64_t pad[4]) {
  ref_geom g;
  CHECK(ref_conv2d_geometry(d, &g) == REF_OK, "reference geometry");
  pad[0] = g.h.pad_begin;
  pad[1] = g.h.pad_end;
  pad[2] = g.w.pad_begin;
  pad[3] = g.w.pad_end;
}

/*
 * Largest Winograd bound (tile `tile`) over largest direct bound, over the
 * outputs of d with a tap inside the input, all inputs and weights 1, no
 * bias.  The output channels do not enter (every one has the same bounds),
 * so one is computed, on one group of Cg channels.
 */
static double bound_ratio(int tile, const vconv_conv2d_desc *d) {
  const int64_t Cg = d->in_channels / d->groups;
  int64_t pad[4];
  resolved_pads(d, pad);
  for (size_t i = 0; i < ncache; i++) {
    const cached *c = &cache[i];
    if (c->tile == tile && c->N == d->batch && c->Cg == Cg && c->H == d->in_height &&
        c->W == d->in_width && c->k == d->kernel_h && memcmp(c->pad, pad, sizeof pad) == 0)
      return c->ratio;
  }
  const double t0 = test_now();
  vconv_conv2d_desc e;
  vconv_conv2d_desc_init(&e);
  e.batch = d->batch;
  e.in_channels = Cg;
  e.in_height = d->in_height;
  e.in_width = d->in_width;
  e.out_channels = 1;
  e.kernel_h = d->kernel_h;
  e.kernel_w = d->kernel_w;
  e.pad_top = pad[0];
  e.pad_bottom = pad[1];
  e.pad_left = pad[2];
  e.pad_right = pad[3];
  ref_geom g;
  CHECK(ref_conv2d_geometry(&e, &g) == REF_OK, "reference geometry");
  const int64_t nx = e.batch * Cg * e.in_height * e.in_width, nw = Cg * e.kernel_h * e.kernel_w;
  const int64_t ny = e.batch * g.h.out * g.w.out;
  float *x = malloc(sizeof(float) * (size_t)(nx + nw)), *w = x + nx;
  double *y = malloc(sizeof(double) * (size_t)ny * 3), *a = y + ny, *z = a + ny;
  int32_t *n = malloc(sizeof(int32_t) * (size_t)ny);
  for (int64_t i = 0; i < nx + nw; i++) x[i] = 1.0f;
  CHECK(ref_conv2d(&e, x, w, NULL, y, a, n) == REF_OK, "reference convolution");
  ref_wino_tile t;
  CHECK(wino_bound(tile, &e, x, w, NULL, 1.0, &t, z) == REF_OK, "Winograd bound");
  double dmax = 0.0, wmax = 0.0;
  for (int64_t i = 0; i < ny; i++) {
    if (n[i] <= 1) continue; /* no tap inside the input */
    const double td = ref_conv_tol(n[i], a[i]), tw = ref_wino_tol(&t, Cg, z[i], a[i], n[i]);
    if (td > dmax) dmax = td;
    if (tw > wmax) wmax = tw;
  }
  free(x);
  free(y);
  free(n);
  const double ratio = dmax > 0.0 ? wmax / dmax : 0.0;
  ratio_seconds += test_now() - t0;
  if (ncache == capcache) {
    capcache = capcache ? 2 * capcache : 64;
    cache = realloc(cache, sizeof *cache * capcache);
  }
  cached *c = &cache[ncache++];
  c->tile = tile;
  c->N = d->batch;
  c->Cg = Cg;
  c->H = d->in_height;
  c->W = d->in_width;
  c->k = d->kernel_h;
  memcpy(c->pad, pad, sizeof pad);
  c->ratio = ratio;
  return ratio;
}

/* ---- choices --------------------------------------------------------------- */

static float *zeros; /* weights: the choice does not depend on their values */
static size_t nzeros;

/* Picks per tile (AUTO, WINOGRAD); shapes where AUTO took a tile while
 * another one of the kernel size lay above the rule. */
static long picks[8][2], binding;
static int shapes_run;

/* Winograd tile index of the operator's kernel, read from its name, or -1. */
static int chosen_tile(const vconv_conv2d_op *op, char *name, size_t n) {
  const char *nm = vconv_conv2d_kernel_name(op);
  snprintf(name, n, "%s", nm ? nm : "?");
  const char *slash = strchr(name, '/');
  const size_t len = slash ? (size_t)(slash - name) : strlen(name);
  for (int a = 0; a < VCONV_ALGO_COUNT; a++) {
    const char *an = vconv_algorithm_name((vconv_algorithm)a);
    if (an && strlen(an) == len && strncmp(an, name, len) == 0) {
      CHECK(vconv_conv2d_algorithm(op) == (vconv_algorithm)a, "%s: algorithm %d", name,
            (int)vconv_conv2d_algorithm(op));
      return wino_tile_index((vconv_algorithm)a);
    }
  }
  test_fail(__FILE__, __LINE__, "kernel name \"%s\" names no algorithm", name);
  return -1;
}

static void describe(const vconv_conv2d_desc *d, char *buf, size_t n) {
  int64_t pad[4];
  resolved_pads(d, pad);
  snprintf(buf, n, "N=%lld C=%lld K=%lld G=%lld %lldx%lld k=%lld pad=%lld,%lld,%lld,%lld %s",
           (long long)d->batch, (long long)d->in_channels, (long long)d->out_channels,
           (long long)d->groups, (long long)d->in_height, (long long)d->in_width,
           (long long)d->kernel_h, (long long)pad[0], (long long)pad[1], (long long)pad[2],
           (long long)pad[3], d->layout == VCONV_LAYOUT_NHWC ? "NHWC" : "NCHW");
}

/* The tile `algo` chose on tier isa (-1: none), checked against the rule;
 * name receives the kernel's name or the status. */
static int check_choice(const vconv_conv2d_desc *d, vconv_algorithm algo, vconv_isa isa,
                        char *name, size_t n) {
  vconv_conv2d_op *op = NULL;
  const vconv_status st = vconv_conv2d_create_for_isa(d, algo, isa, zeros, NULL, &op);
  if (algo == VCONV_ALGO_WINOGRAD && st == VCONV_ERR_UNSUPPORTED_ALGORITHM) {
    /* The F(2x2) tiles pass on any image at least as large as the kernel
     * (include/vconv.h); on smaller ones the library's estimate of the
     * ratio is above the bounds' (it assumes a whole patch of pixels). */
    for (int t = 0; t < wino_tile_count() && d->in_height >= d->kernel_h &&
                    d->in_width >= d->kernel_w;
         t++) {
      int mh, mw, r;
      vconv_algorithm al;
      wino_tile_shape(t, &mh, &mw, &r, &al);
      if (r != d->kernel_h || mh != 2 || mw != 2) continue;
      const double ratio = bound_ratio(t, d);
      char buf[160];
      describe(d, buf, sizeof buf);
      CHECK(ratio > ACCURACY_M, "WINOGRAD on %s: unsupported, but F(2x2, %dx%d) is %.1f times "
            "direct's bound", buf, r, r, ratio);
    }
    snprintf(name, n, "unsupported");
    return -1;
  }
  CHECK_STATUS(st, VCONV_OK);
  if (st != VCONV_OK) {
    snprintf(name, n, "error");
    return -1;
  }
  const int tile = chosen_tile(op, name, n);
  vconv_conv2d_destroy(op);
  if (tile >= 0) {
    const double ratio = bound_ratio(tile, d);
    char buf[160];
    describe(d, buf, sizeof buf);
    CHECK(ratio <= ACCURACY_M, "%s on %s: %s, whose bound is %.1f times direct's (rule: %g)",
          algo == VCONV_ALGO_AUTO ? "AUTO" : "WINOGRAD", buf, name, ratio, ACCURACY_M);
    picks[tile][algo == VCONV_ALGO_WINOGRAD]++;
  }
  return tile;
}

/* AUTO and WINOGRAD on every tier that runs here. */
static void run_shape(const vconv_conv2d_desc *d) {
  const size_t nw = (size_t)(d->out_channels * (d->in_channels / d->groups) * d->kernel_h *
                             d->kernel_w);
  if (nw > nzeros) {
    free(zeros);
    zeros = calloc(nw, sizeof(float));
    nzeros = nw;
  }
  shapes_run++;
  for (int isa = 0; isa < VCONV_ISA_COUNT; isa++) {
    if (!tier_tested(isa)) continue;
    char name[64];
    const int t = check_choice(d, VCONV_ALGO_AUTO, (vconv_isa)isa, name, sizeof name);
    check_choice(d, VCONV_ALGO_WINOGRAD, (vconv_isa)isa, name, sizeof name);
    if (t < 0) continue;
    for (int u = 0; u < wino_tile_count(); u++) {
      int mh, mw, r;
      vconv_algorithm al;
      wino_tile_shape(u, &mh, &mw, &r, &al);
      if (r == d->kernel_h && u != t && bound_ratio(u, d) > ACCURACY_M) {
        binding++;
        break;
      }
    }
  }
}

static vconv_conv2d_desc shape(int64_t N, int64_t Cg, int64_t Kg, int64_t G, int64_t HW,
                               int64_t k, const int64_t pad[4], vconv_layout layout) {
  vconv_conv2d_desc d;
  vconv_conv2d_desc_init(&d);
  d.batch = N;
  d.in_channels = Cg * G;
  d.out_channels = Kg * G;
  d.groups = G;
  d.in_height = HW;
  d.in_width = HW + (HW & 1); /* not square */
  d.kernel_h = d.kernel_w = k;
  d.pad_top = pad[0];
  d.pad_bottom = pad[1];
  d.pad_left = pad[2];
  d.pad_right = pad[3];
  d.layout = layout;
  d.activation = VCONV_ACTIVATION_RELU;
  return d;
}

static void enumerated_shapes(void) {
  printf("== enumerated shapes\n");
  /* Either side of where F(4x5) (5), F(6x6) (43) and F(4x4) (2) pass. */
  static const int64_t cgs[] = {1, 2, 4, 5, 8, 16, 32, 42, 43, 64, 128, 192, 384};
  static const int64_t cgs_quick[] = {1, 5, 8, 16, 42, 43, 64};
  static const int64_t kgs[] = {8, 64, 256}, kgs_quick[] = {8, 64};
  static const int64_t maps[] = {3, 7, 13, 28, 56}, maps_quick[] = {3, 13, 28};
  const int64_t *cg = opt_quick ? cgs_quick : cgs, *kg = opt_quick ? kgs_quick : kgs;
  const int64_t *mp = opt_quick ? maps_quick : maps;
  const size_t ncg = opt_quick ? sizeof cgs_quick / sizeof cgs_quick[0] : sizeof cgs / sizeof cgs[0];
  const size_t nkg = opt_quick ? sizeof kgs_quick / sizeof kgs_quick[0] : sizeof kgs / sizeof kgs[0];
  const size_t nmp = opt_quick ? sizeof maps_quick / sizeof maps_quick[0] : sizeof maps / sizeof maps[0];
  const double budget = opt_quick ? 3e7 : 2e8; /* direct's multiply-adds per shape */
  const double t0 = test_now();
  for (int k = 3; k <= 5; k += 2)
    for (size_t ci = 0; ci < ncg; ci++)
      for (size_t ki = 0; ki < nkg; ki++)
        for (size_t mi = 0; mi < nmp; mi++)
          for (int pi = 0; pi < 4; pi++)
            for (int N = 1; N <= 16; N += 15) {
              const int64_t Cg = cg[ci], Kg = kg[ki], HW = mp[mi];
              const int64_t pads[4][4] = {
                  {0, 0, 0, 0}, {k / 2, k / 2, k / 2, k / 2}, {k, k + 1, k, k}, {0, k + 2, 1, k}};
              /* groups and NHWC on a rotating subset, to bound the run time */
              const int64_t G = (ci + mi + (size_t)pi) % 3 == 0 ? 2 : 1;
              const vconv_layout L = (ki + mi + (size_t)pi) % 2 ? VCONV_LAYOUT_NHWC : VCONV_LAYOUT_NCHW;
              vconv_conv2d_desc d = shape(N, Cg, Kg, G, HW, k, pads[pi], L);
              int64_t P = 0, Q = 0;
              if ((N > 1 && HW > (opt_quick ? 7 : 13)) ||
                  vconv_conv2d_output_size(&d, &P, &Q) != VCONV_OK)
                continue;
              const double macs = (double)N * (double)(Kg * G) * (double)(P * Q) * (double)(Cg * k * k);
              /* create packs the weights: AlexNet's sizes come in named_layers */
              if (macs > budget || Cg * Kg * G > 32768) continue;
              run_shape(&d);
            }
  printf("  %d shapes, %zu bound ratios (%.1f s), %.1f s\n", shapes_run, ncache, ratio_seconds,
         test_now() - t0);
}

/* ---- the named layers ------------------------------------------------------ */

static void named_layers(void) {
  printf("== AlexNet and LeNet-5: the ratio of every tile, and the choices (AUTO | WINOGRAD)\n");
  static const struct {
    const char *name;
    int64_t C, HW, K, k, pad, G;
  } L[] = {
      {"lenet-c1", 1, 32, 6, 5, 0, 1},          {"lenet-c3", 6, 14, 16, 5, 0, 1},
      {"lenet-c5", 16, 5, 120, 5, 0, 1},        {"alexnet-conv2", 96, 27, 256, 5, 2, 1},
      {"alexnet-conv2-g2", 96, 27, 256, 5, 2, 2}, {"alexnet-conv3", 256, 13, 384, 3, 1, 1},
      {"alexnet-conv4", 384, 13, 384, 3, 1, 1}, {"alexnet-conv4-g2", 384, 13, 384, 3, 1, 2},
      {"alexnet-conv5", 384, 13, 256, 3, 1, 1}, {"alexnet-conv5-g2", 384, 13, 256, 3, 1, 2},
  };
  for (size_t i = 0; i < sizeof L / sizeof L[0]; i++)
    for (int N = 1; N <= 16; N += 15) {
      /* quick: AlexNet's channels / 8, batch 1 (as test_parity --quick) */
      const int64_t div = opt_quick && L[i].C > 16 ? 8 : 1;
      if (div > 1 && N > 1) continue;
      const int64_t C = L[i].C / div, K = L[i].K / div, pad[4] = {L[i].pad, L[i].pad, L[i].pad, L[i].pad};
      vconv_conv2d_desc d = shape(N, C / L[i].G, K / L[i].G, L[i].G, L[i].HW, L[i].k, pad,
                                  VCONV_LAYOUT_NCHW);
      d.in_width = L[i].HW;
      printf("  %-16s b%-2d Cg %3lld  ratio", L[i].name, N, (long long)(C / L[i].G));
      for (int t = 0; t < wino_tile_count(); t++) {
        int mh, mw, r;
        vconv_algorithm al;
        wino_tile_shape(t, &mh, &mw, &r, &al);
        if (r == L[i].k) printf(" F(%dx%d) %.2f", mh, mw, bound_ratio(t, &d));
      }
      printf("\n   ");
      const size_t nw = (size_t)(K * (C / L[i].G) * L[i].k * L[i].k);
      if (nw > nzeros) {
        free(zeros);
        zeros = calloc(nw, sizeof(float));
        nzeros = nw;
      }
      for (int isa = 0; isa < VCONV_ISA_COUNT; isa++) {
        if (!tier_tested(isa)) continue;
        char a[64], w[64];
        check_choice(&d, VCONV_ALGO_AUTO, (vconv_isa)isa, a, sizeof a);
        check_choice(&d, VCONV_ALGO_WINOGRAD, (vconv_isa)isa, w, sizeof w);
        printf(" %s | %s;", a, w);
      }
      printf("\n");
    }
}

/* ---- the planner ------------------------------------------------------------ */

/* The measured AUTO choice and the measured WINOGRAD tile, both within the
 * rule: 16 channels on a 56x56 map, where F(6x6)'s bound is 172 times
 * direct's, and one channel, where only F(2x2, 3x3) is within it (12.8;
 * F(4x4) 155). */
static void planner(void) {
  printf("== the planner\n");
  const int64_t pad[4] = {1, 1, 1, 1};
  for (int c = 0; c < 2; c++) {
    vconv_conv2d_desc d = shape(1, c ? 1 : 16, 32, 1, 56, 3, pad, VCONV_LAYOUT_NCHW);
    d.in_width = 56;
    const size_t nw = (size_t)(32 * d.in_channels * 9);
    if (nw > nzeros) {
      free(zeros);
      zeros = calloc(nw, sizeof(float));
      nzeros = nw;
    }
    for (int a = 0; a < 2; a++) {
      const vconv_algorithm algo = a ? VCONV_ALGO_WINOGRAD : VCONV_ALGO_AUTO;
      vconv_conv2d_op *op = NULL;
      CHECK_STATUS(vconv_conv2d_create_planned(&d, algo, VCONV_PLAN_MEASURE, NULL, zeros, NULL, &op),
                   VCONV_OK);
      if (!op) continue;
      char name[64];
      const int t = chosen_tile(op, name, sizeof name);
      vconv_conv2d_destroy(op);
      const double ratio = t >= 0 ? bound_ratio(t, &d) : 1.0;
      printf("  %lld channels, measured %s: %s (ratio %.2f)\n", (long long)d.in_channels,
             a ? "WINOGRAD" : "AUTO", name, ratio);
      CHECK(ratio <= ACCURACY_M, "the planner's %s took %s, %.1f times direct's bound",
            a ? "WINOGRAD" : "AUTO", name, ratio);
      CHECK(!a || t >= 0, "measured WINOGRAD ran %s", name);
    }
  }
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  opt_quick = env_flag("VCONV_PARITY_QUICK");
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      opt_quick = 1;
    } else {
      fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
      return 2;
    }
  }
  const char *tier = getenv("VCONV_PARITY_TIER");
  if (tier && *tier) {
    vconv_isa t;
    if (vconv_isa_from_name(tier, &t) != VCONV_OK || !vconv_isa_available(t)) {
      printf("FAIL: VCONV_PARITY_TIER=%s is not a tier that runs here\n", tier);
      return 1;
    }
    opt_tier = (int)t;
  }
  printf("vconv %s: Winograd tiles within %g times direct's error bound%s%s%s\n", vconv_version(),
         ACCURACY_M, opt_quick ? ", quick" : "", opt_tier >= 0 ? ", tier " : "",
         opt_tier >= 0 ? tier : "");
  named_layers();
  enumerated_shapes();
  planner();
  printf("== picks (AUTO / WINOGRAD)\n");
  long total = 0;
  for (int t = 0; t < wino_tile_count(); t++) {
    int mh, mw, r;
    vconv_algorithm al;
    wino_tile_shape(t, &mh, &mw, &r, &al);
    printf("  F(%dx%d, %dx%d): %ld / %ld\n", mh, mw, r, r, picks[t][0], picks[t][1]);
    /* The rule must not forbid a tile everywhere: each is still chosen. */
    CHECK(picks[t][0] + picks[t][1] > 0, "F(%dx%d, %dx%d) was never chosen", mh, mw, r, r);
    total += picks[t][0];
  }
  printf("  AUTO took a tile while a larger one lay above the rule: %ld times\n", binding);
  CHECK(total > 0 && binding > 0, "the shapes do not exercise the rule (%ld, %ld)", total, binding);
  free(zeros);
  free(cache);
  return test_summary("test_winograd_auto");
}
