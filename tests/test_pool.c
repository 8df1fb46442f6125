/*
 * Pooling: every kind (max, average with and without padding, L2, weighted,
 * stochastic in both modes, global), forward, forward with indices and
 * backward, in both layouts, on every tier that can run here and through the
 * dispatcher, against a float64 reference written here from the header's
 * text alone (geometry, divisors, the NaN and -0 rules, the sampler).
 *
 * Cases: AlexNet pool1-3 and LeNet-5 S2/S4 with every kind; >= 100 seeded
 * random shapes with odd sizes (dilation, padding modes, ceil mode, global);
 * NaN injected at every lane position for every tail length (NHWC channel
 * counts 1..33, NCHW widths 1..65: one image or plane per NaN position, so one
 * run covers all positions of a length); -inf, +-0 and subnormal inputs;
 * windows lying wholly in the padding (dilation); stochastic pooling bitwise
 * identical across tiers and layouts, reproducible, seed-dependent.  Every
 * buffer the library reads or writes ends at a page boundary followed by an
 * inaccessible page, so an over-read or over-write past the end faults.
 *
 * Tolerances come from error bounds derived in pool_ref.c (shared with the
 * fuzz targets); they do not depend on how a kernel orders its operations.
 *
 * Environment (as test_parity): VCONV_PARITY_QUICK=1 (or --quick) keeps the
 * run short for emulators and sanitizers; VCONV_PARITY_TIER=<tier> tests only
 * that tier directly (the dispatcher is always tested); VCONV_PARITY_SEED.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gbuf.h"
#include "pool_ref.h"
#include "ref.h"
#include "util.h"

static int opt_quick, opt_verbose;
static int opt_tier = -1;
static uint64_t opt_seed = 0x9001ull;
static const vconv_parallel two_threads = {two_thread_parallel_for, NULL, 2};

static const char *kind_name(vconv_pool_kind k) {
  static const char *names[] = {"max", "avg-incl", "avg-excl", "l2", "weighted", "stochastic", "lp"};
  return (unsigned)k < 7 ? names[k] : "?";
}

/* ------------------------------------------------------------------------ */
/* Variants                                                                   */

typedef struct variant {
  char label[32];
  vconv_isa isa;
  int dispatch;
} variant;

static variant vars[16];
static int n_vars;

static void setup_variants(void) {
  const size_t n = vconv_pool2d_variant_count();
  CHECK(n >= 1 && n < 15, "pool variant count %zu", n);
  for (size_t i = 0; i < n && i < 15; i++) {
    vconv_isa isa;
    CHECK_STATUS(vconv_pool2d_variant(i, &isa), VCONV_OK);
    if (opt_tier >= 0 && (int)isa != opt_tier) continue;
    if (!vconv_isa_available(isa)) {
      printf("SKIP pool/%s: cannot run here\n", vconv_isa_name(isa));
      continue;
    }
    variant *v = &vars[n_vars++];
    v->isa = isa;
    v->dispatch = 0;
    snprintf(v->label, sizeof v->label, "pool/%s", vconv_isa_name(isa));
  }
  variant *v = &vars[n_vars++];
  v->isa = vconv_isa_effective();
  v->dispatch = 1;
  snprintf(v->label, sizeof v->label, "dispatch(%s)", vconv_isa_name(v->isa));
  printf("variants:");
  for (int i = 0; i < n_vars; i++) printf(" %s", vars[i].label);
  printf("\n");
}

/* ------------------------------------------------------------------------ */
/* One case                                                                   */

typedef struct pcase {
  char name[80];
  vconv_pool2d_desc d;  /* batch and layout: see layouts */
  int layouts;          /* bit 0 NCHW, bit 1 NHWC */
  const float *x;       /* logical NCHW input */
  int backward;
  int quiet;
} pcase;

static void describe(const vconv_pool2d_desc *d, char *buf, size_t n) {
  snprintf(buf, n,
           "N=%lld C=%lld H=%lld W=%lld %s win=%lldx%lld stride=%lld,%lld dil=%lld,%lld "
           "pad=%lld,%lld,%lld,%lld mode=%d ceil=%d global=%d train=%d seed=%llu",
           (long long)d->batch, (long long)d->channels, (long long)d->in_height,
           (long long)d->in_width, kind_name(d->kind), (long long)d->window_h, (long long)d->window_w,
           (long long)d->stride_h, (long long)d->stride_w, (long long)d->dilation_h,
           (long long)d->dilation_w, (long long)d->pad_top, (long long)d->pad_bottom,
           (long long)d->pad_left, (long long)d->pad_right, (int)d->padding_mode, d->ceil_mode,
           d->global, d->training, (unsigned long long)d->seed);
}

static int64_t idx_nchw(vconv_layout L, int64_t C, int64_t H, int64_t W, int64_t n, int64_t c,
                        int64_t h, int64_t w) {
  return ref_index(L, C, H, W, n, c, h, w);
}

static uint32_t bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static int case_failures;
static long case_runs;


/* Runs the case on every variant and layout; returns the number of failures. */
static int run_case(const pcase *pc) {
  const vconv_pool2d_desc *d = &pc->d;
  geom g;
  if (make_geom(d, &g) != 0) {
    printf("FAIL %s: the reference rejects the descriptor\n", pc->name);
    test_failures++;
    return 1;
  }
  int64_t lp = -1, lq = -1;
  const vconv_status os = vconv_pool2d_output_size(d, &lp, &lq);
  int fails = 0;
  char buf[400];
  if (os != VCONV_OK || lp != g.P || lq != g.Q) {
    describe(d, buf, sizeof buf);
    printf("FAIL %s: output_size %d %lldx%lld, reference %lldx%lld (%s)\n", pc->name, (int)os,
           (long long)lp, (long long)lq, (long long)g.P, (long long)g.Q, buf);
    test_failures++;
    return 1;
  }
  const int64_t N = d->batch, C = d->channels, H = d->in_height, W = d->in_width, P = g.P, Q = g.Q;
  const int64_t n_in = N * C * H * W, n_out = N * C * P * Q;
  refout *ref = malloc(sizeof(refout) * (size_t)n_out);
  for (int64_t pl = 0; pl < N * C; pl++)
    for (int64_t p = 0; p < P; p++)
      for (int64_t q = 0; q < Q; q++)
        ref[(pl * P + p) * Q + q] =
            ref_window(d, &g, pc->x + pl * H * W, d->window_weights, (pl * P + p) * Q + q, p, q);
  float *first_out = NULL; /* stochastic: the first run's logical output, for bitwise identity */
  if (d->kind == VCONV_POOL_STOCHASTIC) first_out = malloc(sizeof(float) * (size_t)n_out);
  int have_first = 0;
  float *gy = malloc(sizeof(float) * (size_t)n_out), *ylog = malloc(sizeof(float) * (size_t)n_out);
  double *gref = malloc(sizeof(double) * (size_t)n_in * 2), *gtol = gref + n_in;
  {
    test_rng rng;
    rng_seed(&rng, 0xbac4ull ^ (uint64_t)n_out);
    for (int64_t i = 0; i < n_out; i++) gy[i] = rng_sym(&rng);
  }
  double worst = 0;
  for (int li = 0; li < 2; li++) {
    if (!(pc->layouts & (1 << li))) continue;
    const vconv_layout L = (vconv_layout)li;
    vconv_pool2d_desc dl = *d;
    dl.layout = L;
    gbuf bx, by, bi, bgy, bgx;
    float *xin = gbuf_alloc(&bx, (size_t)n_in);
    float *out = gbuf_alloc(&by, (size_t)n_out);
    int32_t *idx = gbuf_alloc_bytes(&bi, (size_t)(n_out ? n_out : 1) * sizeof(int32_t));
    float *gyin = gbuf_alloc(&bgy, (size_t)n_out), *gx = gbuf_alloc(&bgx, (size_t)n_in);
    ref_relayout(pc->x, VCONV_LAYOUT_NCHW, xin, L, N, C, H, W);
    ref_relayout(gy, VCONV_LAYOUT_NCHW, gyin, L, N, C, P, Q);
    for (int vi = 0; vi < n_vars; vi++) {
      const variant *v = &vars[vi];
      vconv_pool2d_op *op = NULL;
      vconv_status st = v->dispatch ? vconv_pool2d_create(&dl, &op) : vconv_pool2d_create_for_isa(&dl, v->isa, &op);
      if (st != VCONV_OK) {
        describe(&dl, buf, sizeof buf);
        printf("FAIL %s %s: create returned %d (%s): %s\n", pc->name, v->label, (int)st,
               vconv_status_string(st), buf);
        fails++;
        continue;
      }
      case_runs++;
      const vconv_parallel *par = v->dispatch || N > 1 ? &two_threads : NULL;
      const size_t wsz = vconv_pool2d_workspace_size(op, par);
      void *ws = v->dispatch && wsz ? malloc(wsz) : NULL;
      for (int64_t i = 0; i < n_out; i++) out[i] = (float)0x1.5p100; /* a skipped output shows */
      st = vconv_pool2d_run(op, xin, out, ws, wsz, par);
      int bad = st != VCONV_OK, shown = 0;
      for (int64_t n = 0; n < N && !bad; n++)
        for (int64_t c = 0; c < C; c++)
          for (int64_t p = 0; p < P; p++)
            for (int64_t q = 0; q < Q; q++) {
              const int64_t o = ((n * C + c) * P + p) * Q + q;
              const float got = out[idx_nchw(L, C, P, Q, n, c, p, q)];
              ylog[o] = got;
              double ratio;
              if (!check_out(&ref[o], got, &ratio)) {
                if (shown++ < 4)
                  printf("FAIL %s %s %s: y[n=%lld c=%lld p=%lld q=%lld] = %.9g (%08x), reference %.17g%s (tol %.3g)\n",
                         pc->name, v->label, L ? "NHWC" : "NCHW", (long long)n, (long long)c,
                         (long long)p, (long long)q, (double)got, (unsigned)bits(got),
                         ref[o].exact ? (double)ref[o].want : ref[o].y,
                         ref[o].exact ? " exactly" : "", ref[o].tol);
                bad++;
              }
              if (ratio > worst && isfinite(ratio)) worst = ratio;
            }
      if (st != VCONV_OK) printf("FAIL %s %s: run returned %d\n", pc->name, v->label, (int)st);
      if (d->kind == VCONV_POOL_STOCHASTIC && !bad) {
        /* Identical bits in every tier and layout (both modes). */
        if (!have_first) {
          memcpy(first_out, ylog, sizeof(float) * (size_t)n_out);
          have_first = 1;
        } else if (memcmp(first_out, ylog, sizeof(float) * (size_t)n_out) != 0) {
          printf("FAIL %s %s %s: stochastic output differs from the first tier/layout run\n",
                 pc->name, v->label, L ? "NHWC" : "NCHW");
          bad++;
        }
      }
      if (has_indices(d) && !bad) {
        float *out2 = malloc(sizeof(float) * (size_t)n_out);
        memcpy(out2, out, sizeof(float) * (size_t)n_out);
        for (int64_t i = 0; i < n_out; i++) idx[i] = -7;
        st = vconv_pool2d_run_with_indices(op, xin, out, idx, ws, wsz, par);
        if (st != VCONV_OK) {
          printf("FAIL %s %s: run_with_indices returned %d\n", pc->name, v->label, (int)st);
          bad++;
        } else {
          for (int64_t i = 0; i < n_out && !bad; i++)
            if (bits(out[i]) != bits(out2[i]) && !(isnan(out[i]) && isnan(out2[i]))) {
              printf("FAIL %s %s: run_with_indices output %lld differs from run's\n", pc->name,
                     v->label, (long long)i);
              bad++;
            }
          for (int64_t n = 0; n < N && !bad; n++)
            for (int64_t c = 0; c < C; c++)
              for (int64_t p = 0; p < P; p++)
                for (int64_t q = 0; q < Q; q++) {
                  const int64_t o = ((n * C + c) * P + p) * Q + q;
                  const int32_t got = idx[idx_nchw(L, C, P, Q, n, c, p, q)];
                  if (got != ref[o].idx && shown++ < 4) {
                    printf("FAIL %s %s %s: index[n=%lld c=%lld p=%lld q=%lld] = %d, reference %d\n",
                           pc->name, v->label, L ? "NHWC" : "NCHW", (long long)n, (long long)c,
                           (long long)p, (long long)q, (int)got, (int)ref[o].idx);
                    bad++;
                  }
                }
        }
        free(out2);
      }
      if (pc->backward && !bad) {
        ref_backward(d, &g, pc->x, d->window_weights, ref, ylog, gy, gref, gtol);
        for (int pass = 0; pass < 2 && !bad; pass++) {
          /* pass 0: the minimum the header asks for (indices where the kind has
           * them); pass 1: everything, indices NULL (recomputed). */
          const int use_idx = pass == 0 && has_indices(d);
          const int norm = d->kind == VCONV_POOL_L2 || d->kind == VCONV_POOL_LP;
          const float *in_arg = pass == 1 || norm ||
                                        (d->kind == VCONV_POOL_STOCHASTIC && !d->training) ||
                                        (!use_idx && (d->kind == VCONV_POOL_MAX || d->kind == VCONV_POOL_STOCHASTIC))
                                    ? xin : NULL;
          const float *out_arg = pass == 1 || norm ? out : NULL;
          for (int64_t i = 0; i < n_in; i++) gx[i] = (float)0x1.5p100;
          st = vconv_pool2d_backward(op, in_arg, out_arg, use_idx ? idx : NULL, gyin, gx, ws, wsz, par);
          if (st != VCONV_OK) {
            printf("FAIL %s %s: backward (pass %d) returned %d (%s)\n", pc->name, v->label, pass,
                   (int)st, vconv_status_string(st));
            bad++;
            break;
          }
          for (int64_t n = 0; n < N; n++)
            for (int64_t c = 0; c < C; c++)
              for (int64_t h = 0; h < H; h++)
                for (int64_t w = 0; w < W; w++) {
                  const int64_t i = ((n * C + c) * H + h) * W + w;
                  const float got = gx[idx_nchw(L, C, H, W, n, c, h, w)];
                  const int ok = isnan(gref[i]) ? isnan(got)
                                                : !isnan(got) && fabs((double)got - gref[i]) <= gtol[i];
                  if (!ok) {
                    if (shown++ < 4)
                      printf("FAIL %s %s %s backward pass %d: gx[n=%lld c=%lld h=%lld w=%lld] = %.9g, "
                             "reference %.17g (tol %.3g)\n",
                             pc->name, v->label, L ? "NHWC" : "NCHW", pass, (long long)n,
                             (long long)c, (long long)h, (long long)w, (double)got, gref[i], gtol[i]);
                    bad++;
                  } else if (gtol[i] > 0 && fabs((double)got - gref[i]) / gtol[i] > worst) {
                    worst = fabs((double)got - gref[i]) / gtol[i];
                  }
                }
        }
      }
      if (bad) {
        fails++;
        describe(&dl, buf, sizeof buf);
        printf("     case %s: %s\n", pc->name, buf);
      }
      free(ws);
      vconv_pool2d_destroy(op);
    }
    gbuf_free(&bx);
    gbuf_free(&by);
    gbuf_free(&bi);
    gbuf_free(&bgy);
    gbuf_free(&bgx);
  }
  test_checks++;
  if (fails) test_failures++;
  case_failures += fails;
  if (!pc->quiet || opt_verbose || fails)
    printf("  %-34s %-10s %s  max err/tol %.3g\n", pc->name, kind_name(d->kind), fails ? "FAIL" : "ok", worst);
  free(ref);
  free(first_out);
  free(gy);
  free(ylog);
  free(gref);
  return fails;
}

/* ------------------------------------------------------------------------ */
/* Data                                                                       */

/* Window weights: by distance from the window's centre, 1 / (1 + d^2). */
static float *centre_weights(int64_t R, int64_t S) {
  float *w = malloc(sizeof(float) * (size_t)(R * S));
  for (int64_t r = 0; r < R; r++)
    for (int64_t t = 0; t < S; t++) {
      const double dr = r - (R - 1) / 2.0, dt = t - (S - 1) / 2.0;
      w[r * S + t] = (float)(1.0 / (1.0 + dr * dr + dt * dt));
    }
  return w;
}

static float *random_input(int64_t n, uint64_t seed) {
  test_rng rng;
  rng_seed(&rng, seed);
  float *x = malloc(sizeof(float) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++) x[i] = rng_sym(&rng) * 4.0f;
  return x;
}

/* Every kind on one descriptor (weights made for its window). */
static void all_kinds(const char *name, vconv_pool2d_desc d, int layouts, const float *x, int backward,
                      int quiet) {
  /* k: the six kinds, stochastic training, then LP with p = 1, 3.5 and 2 (L2 by another name). */
  static const double lp_p[] = {1.0, 3.5, 2.0};
  for (int k = 0; k < 10; k++) {
    pcase pc;
    memset(&pc, 0, sizeof pc);
    pc.d = d;
    pc.d.kind = (vconv_pool_kind)(k < 6 ? k : k == 6 ? VCONV_POOL_STOCHASTIC : VCONV_POOL_LP);
    pc.d.training = k == 6;
    if (k >= 7) pc.d.norm_p = lp_p[k - 7];
    pc.d.seed = 0x5eedull + (uint64_t)k;
    if ((pc.d.dilation_h != 1 || pc.d.dilation_w != 1) &&
        (pc.d.kind == VCONV_POOL_WEIGHTED || pc.d.kind == VCONV_POOL_STOCHASTIC))
      continue;
    geom g;
    if (make_geom(&pc.d, &g) != 0) continue;
    float *w = centre_weights(g.R, g.S);
    pc.d.window_weights = w;
    if (k >= 7)
      snprintf(pc.name, sizeof pc.name, "%s p=%g", name, pc.d.norm_p);
    else
      snprintf(pc.name, sizeof pc.name, "%s%s", name, k == 6 ? " train" : "");
    pc.layouts = layouts;
    pc.x = x;
    pc.backward = backward;
    pc.quiet = quiet;
    run_case(&pc);
    free(w);
  }
}

static vconv_pool2d_desc desc(int64_t N, int64_t C, int64_t H, int64_t W, int64_t win, int64_t stride) {
  vconv_pool2d_desc d;
  vconv_pool2d_desc_init(&d);
  d.batch = N;
  d.channels = C;
  d.in_height = H;
  d.in_width = W;
  d.window_h = d.window_w = win;
  d.stride_h = d.stride_w = stride;
  return d;
}

/* ------------------------------------------------------------------------ */
/* Case groups                                                                */

static void model_layers(void) {
  printf("== AlexNet and LeNet-5 pooling layers, every kind\n");
  const int div = opt_quick ? 8 : 1;
  struct { const char *name; int64_t C, HW, win, stride; } L[] = {
      {"alexnet.pool1", 96, 55, 3, 2}, {"alexnet.pool2", 256, 27, 3, 2}, {"alexnet.pool3", 256, 13, 3, 2},
      {"lenet5.s2", 6, 28, 2, 2},      {"lenet5.s4", 16, 10, 2, 2}};
  for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
    const int64_t C = L[i].C >= 96 ? L[i].C / div : L[i].C, N = opt_quick ? 2 : 3;
    vconv_pool2d_desc d = desc(N, C, L[i].HW, L[i].HW, L[i].win, L[i].stride);
    float *x = random_input(N * C * L[i].HW * L[i].HW, 0xa1e0 + i);
    all_kinds(L[i].name, d, 3, x, 1, 0);
    free(x);
  }
}

/* Random descriptors with odd sizes: every kind, padding modes, ceil mode,
 * dilation (max), global pooling. */
static void random_shapes(void) {
  const int count = opt_quick ? 110 : 400;
  printf("== %d random shapes (seed %#llx)\n", count, (unsigned long long)opt_seed);
  test_rng r;
  rng_seed(&r, opt_seed);
  int done = 0, per_kind[7] = {0}, dilated = 0, global = 0, ceil_n = 0;
  while (done < count) {
    vconv_pool2d_desc d;
    vconv_pool2d_desc_init(&d);
    const int small = opt_quick;
    d.batch = rng_range(&r, 1, 2);
    d.channels = rng_range(&r, 1, small ? 19 : 37);
    d.in_height = rng_range(&r, 1, small ? 17 : 41);
    d.in_width = rng_range(&r, 1, small ? 37 : 71);
    d.kind = (vconv_pool_kind)rng_range(&r, 0, 6);
    if (d.kind == VCONV_POOL_LP) d.norm_p = 1.0 + (double)rng_range(&r, 0, 12) / 4.0; /* 1 .. 4, 2 included */
    d.training = d.kind == VCONV_POOL_STOCHASTIC && rng_chance(&r, 1, 2);
    d.seed = rng_next(&r);
    d.window_h = rng_range(&r, 1, 5);
    d.window_w = rng_range(&r, 1, 5);
    d.stride_h = rng_range(&r, 1, 3);
    d.stride_w = rng_range(&r, 1, 3);
    if (d.kind != VCONV_POOL_WEIGHTED && d.kind != VCONV_POOL_STOCHASTIC && rng_chance(&r, 1, 3)) {
      d.dilation_h = rng_range(&r, 1, 3);
      d.dilation_w = rng_range(&r, 1, 3);
    }
    /* Explicit, valid, SAME, SAME_LOWER (FULL is not a pooling mode). */
    d.padding_mode = (vconv_padding_mode)(rng_chance(&r, 3, 4) ? 0 : rng_range(&r, 1, 3));
    if (d.padding_mode == VCONV_PADDING_FULL) d.padding_mode = VCONV_PADDING_SAME_LOWER;
    const int64_t keh = (d.window_h - 1) * d.dilation_h, kew = (d.window_w - 1) * d.dilation_w;
    d.pad_top = rng_range(&r, 0, keh);
    d.pad_bottom = rng_range(&r, 0, keh);
    d.pad_left = rng_range(&r, 0, kew);
    d.pad_right = rng_range(&r, 0, kew);
    d.ceil_mode = rng_chance(&r, 1, 3);
    d.global = rng_chance(&r, 1, 12);
    geom g;
    if (make_geom(&d, &g) != 0) continue;
    float *x = random_input(d.batch * d.channels * d.in_height * d.in_width, rng_next(&r));
    if (rng_chance(&r, 1, 8)) /* special values sprinkled in */
      for (int64_t i = 0; i < d.batch * d.channels * d.in_height * d.in_width; i++)
        if (rng_chance(&r, 1, 40)) x[i] = rng_chance(&r, 1, 2) ? NAN : rng_chance(&r, 1, 2) ? -INFINITY : -0.0f;
    float *w = centre_weights(g.R, g.S);
    if (g.R * g.S > 1 && rng_chance(&r, 1, 3)) w[rng_range(&r, 0, g.R * g.S - 1)] = 0.0f; /* zeros allowed */
    d.window_weights = w;
    pcase pc;
    memset(&pc, 0, sizeof pc);
    snprintf(pc.name, sizeof pc.name, "random-%d", done);
    pc.d = d;
    pc.layouts = 3;
    pc.x = x;
    pc.backward = 1;
    pc.quiet = 1;
    run_case(&pc);
    per_kind[d.kind]++;
    dilated += d.dilation_h > 1 || d.dilation_w > 1;
    global += d.global != 0;
    ceil_n += d.ceil_mode != 0;
    done++;
    free(x);
    free(w);
  }
  printf("  random: %d shapes (max %d, avg-incl %d, avg-excl %d, l2 %d, weighted %d, stochastic %d, "
         "lp %d; dilated %d, global %d, ceil %d)\n",
         done, per_kind[0], per_kind[1], per_kind[2], per_kind[3], per_kind[4], per_kind[5], per_kind[6],
         dilated, global, ceil_n);
  CHECK(per_kind[0] >= 10 && per_kind[5] >= 10 && per_kind[6] >= 10 && dilated >= 3 && global >= 3 &&
            ceil_n >= 10,
        "random shapes do not cover the options");
}

/*
 * NaN at every lane position for every tail length.  NHWC: C = 1..33 channels,
 * image n has its NaN in channel n mod C (at a pixel that moves with n), so one
 * run covers every channel position.  NCHW: W = 1..65 columns (rows of up to
 * four 16-lane vectors take their own register path), plane k has its NaN in
 * column k mod W.  Shapes take the register path (3x3 and 2x2 at
 * stride 2) and the buffered one (3x3 stride 1, 2x3 stride 2 with padding).
 */
static void special_sweep(const char *what, float special, int every_kind) {
  printf("== %s at every lane position, NHWC tails 1..33, NCHW 1..65\n", what);
  static const struct { int64_t R, S, sh, sw, pt, pl; } win[] = {
      {3, 3, 2, 2, 0, 0}, {2, 2, 2, 2, 0, 0}, {3, 3, 1, 1, 1, 1}, {2, 3, 2, 2, 1, 2}};
  const int nwin = opt_quick ? 2 : 4;
  for (int layout = 0; layout < 2; layout++)
    for (int64_t len = 1; len <= (layout ? 33 : 65); len++)
      for (int wi = 0; wi < nwin; wi++) {
        const int64_t H = 5, W = layout ? 5 : len, C = layout ? len : 1;
        const int64_t N = layout ? len : len; /* one image (NHWC) / plane (NCHW) per position */
        vconv_pool2d_desc d = desc(N, C, H, W, 1, 1);
        d.window_h = win[wi].R;
        d.window_w = win[wi].S;
        d.stride_h = win[wi].sh;
        d.stride_w = win[wi].sw;
        d.pad_top = d.pad_bottom = win[wi].pt;
        d.pad_left = d.pad_right = win[wi].pl;
        if (d.window_w > W + d.pad_left + d.pad_right) continue;
        float *x = random_input(N * C * H * W, 0x4a4e + (uint64_t)len * 8 + (uint64_t)wi);
        for (int64_t k = 0; k < N; k++) {
          const int64_t c = layout ? k % C : 0, h = k % H, w = layout ? (k / C) % W : k % W;
          x[((k * C + c) * H + h) * W + w] = special;
        }
        char name[64];
        snprintf(name, sizeof name, "%s %s len %lld win %d", what, layout ? "NHWC" : "NCHW",
                 (long long)len, wi);
        if (every_kind && !opt_quick) {
          all_kinds(name, d, 1 << layout, x, 0, 1);
        } else {
          for (int k = 0; k < (every_kind ? 2 : 1); k++) {
            pcase pc;
            memset(&pc, 0, sizeof pc);
            snprintf(pc.name, sizeof pc.name, "%s", name);
            pc.d = d;
            pc.d.kind = k ? VCONV_POOL_AVG_INCLUDE_PAD : VCONV_POOL_MAX;
            pc.layouts = 1 << layout;
            pc.x = x;
            pc.backward = len % 4 == 1;
            pc.quiet = 1;
            run_case(&pc);
          }
        }
        free(x);
      }
}

/* -inf, +-0 and subnormal inputs, and windows wholly in the padding. */
static void special_values(void) {
  printf("== -inf, +-0, subnormal inputs; empty dilated windows\n");
  test_rng r;
  rng_seed(&r, 0x51e7);
  const int64_t N = 2, C = 19, H = 9, W = 23;
  float *x = malloc(sizeof(float) * (size_t)(N * C * H * W));
  /* All -inf, then -inf mixed with finite values. */
  for (int64_t i = 0; i < N * C * H * W; i++) x[i] = -INFINITY;
  all_kinds("all -inf 3x3s2", desc(N, C, H, W, 3, 2), 3, x, 1, 0);
  for (int64_t i = 0; i < N * C * H * W; i++) x[i] = rng_chance(&r, 1, 2) ? -INFINITY : rng_sym(&r);
  all_kinds("half -inf 2x2s1", desc(N, C, H, W, 2, 1), 3, x, 1, 0);
  /* +0 / -0 only: max must give -0 wherever a -0 is in the window. */
  for (int64_t i = 0; i < N * C * H * W; i++) x[i] = rng_chance(&r, 1, 3) ? -0.0f : 0.0f;
  all_kinds("signed zeros 3x3s2", desc(N, C, H, W, 3, 2), 3, x, 1, 0);
  for (int64_t i = 0; i < N * C * H * W; i++) x[i] = rng_chance(&r, 1, 5) ? -0.0f : -rng_sym(&r) * rng_sym(&r);
  all_kinds("zeros and negatives 3x3s1", desc(N, C, H, W, 3, 1), 3, x, 1, 0);
  /* Subnormals (and a few normals around 2^-126). */
  for (int64_t i = 0; i < N * C * H * W; i++) x[i] = rng_sym(&r) * 0x1p-127f * (float)rng_range(&r, 1, 4);
  all_kinds("subnormal 3x3s2", desc(N, C, H, W, 3, 2), 3, x, 1, 0);
  all_kinds("subnormal 2x2s2", desc(N, C, H, W, 2, 2), 3, x, 1, 0);
  /* Large values: L2's float sum of squares overflows to +inf. */
  for (int64_t i = 0; i < N * C * H * W; i++) x[i] = rng_sym(&r) * 0x1p70f;
  {
    pcase pc;
    memset(&pc, 0, sizeof pc);
    snprintf(pc.name, sizeof pc.name, "l2 overflow");
    pc.d = desc(N, C, H, W, 3, 2);
    pc.d.kind = VCONV_POOL_L2;
    pc.layouts = 3;
    pc.x = x;
    run_case(&pc);
  }
  /* Dilation 4 on 3 rows / columns with padding 4: windows whose taps step
   * over the whole input (max -inf, index -1, no gradient; sums 0). */
  for (int64_t i = 0; i < N * C * H * W; i++) x[i] = rng_sym(&r);
  {
    pcase pc;
    memset(&pc, 0, sizeof pc);
    snprintf(pc.name, sizeof pc.name, "dilated empty windows");
    pc.d = desc(N, C, 3, 3, 2, 1);
    pc.d.dilation_h = pc.d.dilation_w = 4;
    pc.d.pad_top = pc.d.pad_left = 4;
    pc.d.pad_bottom = pc.d.pad_right = 2;
    pc.layouts = 3;
    pc.x = x;
    pc.backward = 1;
    geom g;
    CHECK(make_geom(&pc.d, &g) == 0 && g.P >= 4, "dilated empty-window shape");
    int empty = 0;
    refout o = ref_window(&pc.d, &g, x, NULL, 0, 3, 3); /* taps at rows -1 and 3 of 0..2 */
    empty = o.want == -INFINITY && o.idx == -1;
    CHECK(empty, "the dilated case has no empty window");
    run_case(&pc);
    /* The same windows averaged and L2-pooled: empty ones give 0 and no gradient. */
    const vconv_pool_kind sums[] = {VCONV_POOL_AVG_INCLUDE_PAD, VCONV_POOL_AVG_EXCLUDE_PAD, VCONV_POOL_L2};
    for (int k = 0; k < 3; k++) {
      pc.d.kind = sums[k];
      snprintf(pc.name, sizeof pc.name, "dilated empty windows, kind %d", (int)sums[k]);
      o = ref_window(&pc.d, &g, x, NULL, 0, 3, 3);
      CHECK(o.exact == 1 && o.want == 0.0f, "kind %d: an empty window is not 0 in the reference", (int)sums[k]);
      run_case(&pc);
    }
  }
  free(x);
}

/* Rows too wide for a task's stack scratch: the workspace path (given by the
 * dispatcher variant, allocated by the library for the others). */
static void wide_rows(void) {
  printf("== rows wider than the stack scratch (workspace)\n");
  const int64_t W = opt_quick ? 4200 : 4501;
  float *x = random_input(2 * 3 * W, 0x3de);
  vconv_pool2d_desc d = desc(1, 2, 3, W, 3, 1);
  d.pad_left = 1;
  d.kind = VCONV_POOL_AVG_EXCLUDE_PAD;
  vconv_pool2d_op *op = NULL;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_OK);
  const size_t need = vconv_pool2d_workspace_size(op, NULL);
  CHECK(need > 4096 * sizeof(float), "a %lld-wide row needs no workspace (%zu bytes)", (long long)W, need);
  float *y = malloc(sizeof(float) * (size_t)(2 * W)), *ws = malloc(need);
  CHECK_STATUS(vconv_pool2d_run(op, x, y, ws, need - 1, NULL), VCONV_ERR_WORKSPACE_TOO_SMALL);
  CHECK_STATUS(vconv_pool2d_run(op, x, y, ws, need, NULL), VCONV_OK);
  free(ws);
  free(y);
  vconv_pool2d_destroy(op);
  all_kinds("wide 3x3 s1", d, 1, x, 1, 0);
  d.stride_w = 2;
  all_kinds("wide 3x3 s2", d, 1, x, 1, 0);
  free(x);
}

/* Global pooling of every kind on odd shapes; the ignored fields stay ignored. */
static void global_pooling(void) {
  printf("== global pooling\n");
  const int64_t shapes[][4] = {{1, 1, 1, 1}, {2, 3, 1, 17}, {1, 5, 7, 1}, {2, 33, 13, 13}, {1, 4, 55, 55},
                               {3, 17, 6, 5}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    vconv_pool2d_desc d = desc(shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], 1, 1);
    d.global = 1;
    d.window_h = 99; /* ignored */
    d.stride_w = -3;
    d.padding_mode = VCONV_PADDING_FULL;
    d.dilation_h = 0;
    float *x = random_input(d.batch * d.channels * d.in_height * d.in_width, 0x610b + i);
    char name[48];
    snprintf(name, sizeof name, "global %lldx%lld", (long long)shapes[i][2], (long long)shapes[i][3]);
    all_kinds(name, d, 3, x, 1, 0);
    free(x);
  }
}

/* Stochastic: reproducible, seed-dependent, layout- and tier-independent
 * (run_case checks the last two on every run). */
static void stochastic_seeds(void) {
  printf("== stochastic pooling: seeds\n");
  const int64_t N = 2, C = 7, H = 15, W = 15, n = N * C * H * W;
  float *x = random_input(n, 0x57);
  for (int64_t i = 0; i < n; i++) x[i] = fabsf(x[i]); /* mostly positive, every window samples */
  vconv_pool2d_desc d = desc(N, C, H, W, 3, 2);
  d.kind = VCONV_POOL_STOCHASTIC;
  d.training = 1;
  int64_t P, Q;
  CHECK_STATUS(vconv_pool2d_output_size(&d, &P, &Q), VCONV_OK);
  const int64_t m = N * C * P * Q;
  float *a = malloc(sizeof(float) * (size_t)m * 3), *b = a + m, *c = b + m;
  int32_t *ia = malloc(sizeof(int32_t) * (size_t)m * 2), *ib = ia + m;
  vconv_pool2d_op *op = NULL;
  d.seed = 42;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_run_with_indices(op, x, a, ia, NULL, 0, NULL), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_run_with_indices(op, x, b, ib, NULL, 0, &two_threads), VCONV_OK);
  vconv_pool2d_destroy(op);
  CHECK(memcmp(a, b, sizeof(float) * (size_t)m) == 0 && memcmp(ia, ib, sizeof(int32_t) * (size_t)m) == 0,
        "stochastic pooling is not reproducible for one seed");
  d.seed = 43;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_run(op, x, c, NULL, 0, NULL), VCONV_OK);
  vconv_pool2d_destroy(op);
  int64_t differ = 0;
  for (int64_t i = 0; i < m; i++) differ += bits(a[i]) != bits(c[i]);
  CHECK(differ > m / 4, "seeds 42 and 43 draw the same samples in %lld of %lld windows",
        (long long)(m - differ), (long long)m);
  /* The draws follow the probabilities: over many windows of the same
   * values 1, 2, 3, 4 the taps come up about 10/20/30/40 %. */
  {
    vconv_pool2d_desc e = desc(1, 1, 2, 2000, 2, 1);
    e.kind = VCONV_POOL_STOCHASTIC;
    e.training = 1;
    e.stride_w = 2;
    e.seed = 7;
    float *xs = malloc(sizeof(float) * 4000), *ys = malloc(sizeof(float) * 1000);
    for (int64_t i = 0; i < 1000; i++) {
      xs[2 * i] = 1;
      xs[2 * i + 1] = 2;
      xs[2000 + 2 * i] = 3;
      xs[2000 + 2 * i + 1] = 4;
    }
    CHECK_STATUS(vconv_pool2d_create(&e, &op), VCONV_OK);
    CHECK_STATUS(vconv_pool2d_run(op, xs, ys, NULL, 0, NULL), VCONV_OK);
    vconv_pool2d_destroy(op);
    int count[5] = {0};
    for (int64_t i = 0; i < 1000; i++) count[(int)ys[i] < 5 && ys[i] >= 1 ? (int)ys[i] : 0]++;
    /* Binomial(1000, p): 5 standard deviations is at most 5 * sqrt(1000 * 0.24) = 78. */
    CHECK(count[0] == 0 && abs(count[1] - 100) < 78 && abs(count[2] - 200) < 78 &&
              abs(count[3] - 300) < 78 && abs(count[4] - 400) < 78,
          "stochastic draws 1..4: %d %d %d %d (expected about 100 200 300 400)", count[1], count[2],
          count[3], count[4]);
    free(xs);
    free(ys);
  }
  free(a);
  free(ia);
  free(x);
}

/* The API around the new options: statuses, defaults, pool1d. */
static void api(void) {
  printf("== API\n");
  vconv_pool2d_desc d;
  memset(&d, 0x5a, sizeof d);
  vconv_pool2d_desc_init(&d);
  CHECK(d.dilation_h == 1 && d.dilation_w == 1 && d.global == 0 && d.window_weights == NULL &&
            d.training == 0 && d.seed == 0 && d.norm_p == 2.0,
        "pool desc defaults of the appended fields");
  vconv_pool1d_desc d1;
  memset(&d1, 0x5a, sizeof d1);
  vconv_pool1d_desc_init(&d1);
  CHECK(d1.dilation == 1 && d1.global == 0 && d1.window_weights == NULL && d1.training == 0 && d1.seed == 0 &&
            d1.norm_p == 2.0,
        "pool1d desc defaults of the appended fields");
  CHECK(strcmp(vconv_status_string(VCONV_ERR_UNSUPPORTED_OPTION), "unknown vconv status") != 0,
        "status 23 has no text");

  d = desc(1, 2, 9, 9, 3, 2);
  vconv_pool2d_op *op = NULL;
  int64_t h, w;
  d.dilation_w = 2;
  CHECK_STATUS(vconv_pool2d_output_size(&d, &h, &w), VCONV_OK);
  d.kind = VCONV_POOL_WEIGHTED;
  const float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  d.window_weights = ones;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_ERR_UNSUPPORTED_OPTION);
  d.kind = VCONV_POOL_STOCHASTIC;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_ERR_UNSUPPORTED_OPTION);
  const vconv_pool_kind dilated_kinds[] = {VCONV_POOL_AVG_INCLUDE_PAD, VCONV_POOL_AVG_EXCLUDE_PAD,
                                           VCONV_POOL_L2};
  for (int i = 0; i < 3; i++) {
    d.kind = dilated_kinds[i];
    CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_OK);
    vconv_pool2d_destroy(op);
  }
  d.window_weights = NULL;
  d.kind = VCONV_POOL_MAX;
  d.dilation_h = 0;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_ERR_INVALID_DILATION);
  d.dilation_h = 2;
  d.pad_top = 4; /* == (3 - 1) * 2: allowed */
  CHECK_STATUS(vconv_pool2d_output_size(&d, &h, &w), VCONV_OK);
  d.pad_top = 5;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_ERR_INVALID_PADDING);
  d = desc(1, 2, 9, 9, 3, 2);
  d.kind = (vconv_pool_kind)7;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_ERR_INVALID_POOL_KIND);
  /* LP's p: finite and >= 1. */
  d.kind = VCONV_POOL_LP;
  const double bad_p[] = {0.999, 0.0, -1.0, INFINITY, NAN};
  for (int i = 0; i < 5; i++) {
    d.norm_p = bad_p[i];
    CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_ERR_INVALID_ARGUMENT);
  }
  d.norm_p = 1.0;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_run_with_indices(op, NULL, NULL, NULL, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  vconv_pool2d_destroy(op);
  d.kind = VCONV_POOL_WEIGHTED;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_ERR_NULL_POINTER);
  float wts[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  d.window_weights = wts;
  wts[4] = -1;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_ERR_INVALID_ARGUMENT);
  wts[4] = NAN;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_ERR_INVALID_ARGUMENT);
  wts[4] = INFINITY;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_ERR_INVALID_ARGUMENT);
  for (int i = 0; i < 9; i++) wts[i] = 0;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_ERR_INVALID_ARGUMENT);
  for (int i = 0; i < 9; i++) wts[i] = 3e38f;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_ERR_INVALID_ARGUMENT);
  /* The weights are copied at create. */
  for (int i = 0; i < 9; i++) wts[i] = (float)(i + 1);
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_OK);
  for (int i = 0; i < 9; i++) wts[i] = -5;
  float x[2 * 81], y[2 * 16], gx[2 * 81], gy[2 * 16];
  for (int i = 0; i < 2 * 81; i++) x[i] = 1.0f;
  for (int i = 0; i < 2 * 16; i++) gy[i] = 1.0f;
  CHECK_STATUS(vconv_pool2d_run(op, x, y, NULL, 0, NULL), VCONV_OK);
  CHECK(y[0] == 1.0f && y[31] == 1.0f, "weighted with copied weights gives %g", (double)y[0]);
  int32_t idx[32];
  CHECK_STATUS(vconv_pool2d_run_with_indices(op, x, y, idx, NULL, 0, NULL), VCONV_ERR_UNSUPPORTED_OPTION);
  CHECK_STATUS(vconv_pool2d_backward(op, NULL, NULL, NULL, gy, gx, NULL, 0, NULL), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_backward(op, x, y, NULL, NULL, gx, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_pool2d_backward(op, x, y, NULL, gy, NULL, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_pool2d_backward(NULL, x, y, NULL, gy, gx, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  vconv_pool2d_destroy(op);
  d.window_weights = NULL;
  d.kind = VCONV_POOL_MAX;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_run_with_indices(op, x, y, NULL, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_pool2d_backward(op, NULL, NULL, NULL, gy, gx, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_pool2d_backward(op, x, NULL, NULL, gy, gx, NULL, 0, NULL), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_run_with_indices(op, x, y, idx, NULL, 0, NULL), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_backward(op, NULL, NULL, idx, gy, gx, NULL, 0, NULL), VCONV_OK);
  vconv_pool2d_destroy(op);
  d.kind = VCONV_POOL_L2;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_backward(op, x, NULL, NULL, gy, gx, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_pool2d_backward(op, NULL, y, NULL, gy, gx, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  vconv_pool2d_destroy(op);
  d.kind = VCONV_POOL_STOCHASTIC;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_run_with_indices(op, x, y, idx, NULL, 0, NULL), VCONV_ERR_UNSUPPORTED_OPTION);
  CHECK_STATUS(vconv_pool2d_backward(op, NULL, NULL, NULL, gy, gx, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  vconv_pool2d_destroy(op);
  d.training = 1;
  CHECK_STATUS(vconv_pool2d_create(&d, &op), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_run_with_indices(op, x, y, idx, NULL, 0, NULL), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_backward(op, NULL, NULL, idx, gy, gx, NULL, 0, NULL), VCONV_OK);
  CHECK_STATUS(vconv_pool2d_backward(op, NULL, NULL, NULL, gy, gx, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
  vconv_pool2d_destroy(op);

  /* pool1d carries the new fields over. */
  vconv_pool1d_desc_init(&d1);
  d1.batch = 1;
  d1.channels = 3;
  d1.in_width = 20;
  d1.window = 3;
  d1.stride = 2;
  d1.dilation = 3;
  d1.pad_left = 6;
  vconv_pool2d_desc d2;
  CHECK_STATUS(vconv_pool1d_to_2d(&d1, &d2), VCONV_OK);
  CHECK(d2.dilation_w == 3 && d2.dilation_h == 1 && d2.pad_left == 6, "pool1d_to_2d dilation");
  int64_t ow;
  CHECK_STATUS(vconv_pool1d_output_size(&d1, &ow), VCONV_OK);
  CHECK(ow == (20 + 6 - 7) / 2 + 1, "pool1d dilated output width %lld", (long long)ow);
  d1.global = 1;
  CHECK_STATUS(vconv_pool1d_output_size(&d1, &ow), VCONV_OK);
  CHECK(ow == 1, "pool1d global output width %lld", (long long)ow);
}

/*
 * Max backward with a caller's indices on windows that tile the plane (2x2
 * stride 2, the kernels' dense path): each gradient goes where its index
 * says, even a tap of another window of the plane, -1 drops it, and the
 * result has the bits of zeroing and adding in output order.  Sizes around
 * vector widths; -0 and NaN gradients; every tier and dispatch.
 */
static void caller_indices(void) {
  static const int64_t sides[][2] = {{2, 2}, {4, 10}, {6, 28}, {10, 34}, {8, 66}};
  test_rng r;
  rng_seed(&r, opt_seed ^ 0x1dcull);
  for (size_t si = 0; si < sizeof sides / sizeof sides[0]; si++)
    for (int mode = 0; mode < 3; mode++) { /* own indices; some elsewhere in the plane; some -1 */
      vconv_pool2d_desc d;
      vconv_pool2d_desc_init(&d);
      d.batch = 2;
      d.channels = 3;
      d.in_height = sides[si][0];
      d.in_width = sides[si][1];
      d.kind = VCONV_POOL_MAX;
      d.window_h = d.window_w = d.stride_h = d.stride_w = 2;
      const int64_t H = d.in_height, W = d.in_width, P = H / 2, Q = W / 2, planes = 6;
      const int64_t nx = planes * H * W, ny = planes * P * Q;
      float *x = malloc((size_t)nx * sizeof(float)), *y = malloc((size_t)ny * sizeof(float));
      float *gy = malloc((size_t)ny * sizeof(float)), *want = malloc((size_t)nx * sizeof(float));
      int32_t *idx = malloc((size_t)ny * sizeof(int32_t));
      tbuf gx;
      tbuf_alloc_out(&gx, (size_t)nx);
      for (int64_t i = 0; i < nx; i++) x[i] = rng_sym(&r);
      for (int64_t i = 0; i < ny; i++) gy[i] = i % 11 == 3 ? -0.0f : i % 13 == 5 ? NAN : rng_sym(&r);
      for (int vi = 0; vi < n_vars; vi++) {
        const variant *v = &vars[vi];
        vconv_pool2d_op *op = NULL;
        CHECK_STATUS(v->dispatch ? vconv_pool2d_create(&d, &op) : vconv_pool2d_create_for_isa(&d, v->isa, &op),
                     VCONV_OK);
        if (!op) continue;
        CHECK_STATUS(vconv_pool2d_run_with_indices(op, x, y, idx, NULL, 0, NULL), VCONV_OK);
        if (mode > 0) {
          test_rng m;
          rng_seed(&m, 7 + (uint64_t)mode);
          for (int64_t i = 0; i < ny; i += 1 + rng_range(&m, 0, 4))
            idx[i] = mode == 1 ? (int32_t)rng_range(&m, 0, H * W - 1) : -1;
        }
        for (int64_t i = 0; i < nx; i++) want[i] = 0.0f;
        for (int64_t o = 0; o < ny; o++)
          if (idx[o] >= 0) want[o / (P * Q) * H * W + idx[o]] += gy[o];
        tbuf_poison(&gx);
        CHECK_STATUS(vconv_pool2d_backward(op, NULL, NULL, idx, gy, gx.data, NULL, 0, NULL), VCONV_OK);
        CHECK(tbuf_guards_ok(&gx), "%s %lldx%lld: write outside grad_input", v->label, (long long)H,
              (long long)W);
        int64_t bad = 0;
        while (bad < nx && memcmp(&want[bad], &gx.data[bad], sizeof(float)) == 0) bad++;
        CHECK(bad == nx, "%s %lldx%lld mode %d: grad_input[%lld] = %g, want %g", v->label, (long long)H,
              (long long)W, mode, (long long)bad, bad < nx ? (double)gx.data[bad] : 0.0,
              bad < nx ? (double)want[bad] : 0.0);
        vconv_pool2d_destroy(op);
      }
      tbuf_free(&gx);
      free(x), free(y), free(gy), free(want), free(idx);
    }
}

int main(int argc, char **argv) {
  opt_quick = env_flag("VCONV_PARITY_QUICK");
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) opt_quick = 1;
    else if (strcmp(argv[i], "--verbose") == 0) opt_verbose = 1;
    else {
      fprintf(stderr, "usage: %s [--quick] [--verbose]\n", argv[0]);
      return 2;
    }
  }
  const char *tier = getenv("VCONV_PARITY_TIER");
  if (tier && *tier) {
    vconv_isa isa;
    if (vconv_isa_from_name(tier, &isa) != VCONV_OK) {
      printf("FAIL: VCONV_PARITY_TIER=%s is not a tier name\n", tier);
      return 1;
    }
    opt_tier = (int)isa;
  }
  const char *seed = getenv("VCONV_PARITY_SEED");
  if (seed && *seed) opt_seed = strtoull(seed, NULL, 0);
  const double t0 = test_now();
  setup_variants();
  api();
  model_layers();
  special_sweep("NaN", NAN, 1);
  special_sweep("-inf", -INFINITY, 0);
  special_sweep("-0", -0.0f, 0);
  special_values();
  global_pooling();
  wide_rows();
  stochastic_seeds();
  caller_indices();
  random_shapes();
  printf("%ld runs, %d failing runs, %.1f s\n", case_runs, case_failures, test_now() - t0);
  return test_summary("pool");
}
