/*
 * Parity suite: every convolution and pooling kernel built into the library,
 * every path of each (create_named on each enumerated plan: direct's blocked,
 * spatial and depthwise loop nests, im2col, each Winograd tile) and the
 * pooling kernels (create_for_isa on each variant), and both through the
 * dispatcher, in both layouts, against the float64 reference (tests/ref.c)
 * with tolerances derived from an error bound (see ref.c).
 *
 * Cases: the golden examples of the source documents, every LeNet-5 layer,
 * every AlexNet layer (dense and 2-group), and seeded random shapes.  The
 * reference is computed once per shape (in NCHW, for the largest batch) and
 * every variant, layout and batch size is compared with it: a smaller batch
 * is a prefix of the larger one in both layouts.
 *
 * Usage: test_parity [--quick] [--only SUBSTRING | --case NAME] [--verbose]
 *   --only / --case run a subset (a failure prints the --case line that
 *   reproduces it); --verbose prints one line per random shape too.
 * Environment:
 *   VCONV_PARITY_QUICK=1        same as --quick: AlexNet channels / 8, batches
 *                               1 and 2, smaller random shapes (still >= 300)
 *   VCONV_PARITY_TIER=<tier>    test only that tier's variants directly (the
 *                               dispatcher path is always tested)
 *   VCONV_PARITY_REQUIRE_ALL=1  a built tier that cannot run here is a failure
 *   VCONV_PARITY_SEED=<n>       another seed for the random shapes
 * Exit status 0 only if every comparison passed.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "util.h"
#include "wino_ref.h"
#include "winograd/wino_plan.h"

static int opt_quick, opt_require_all, opt_verbose;
static const char *opt_only; /* run only cases whose name contains this */
static const char *opt_case; /* run only the case of exactly this name */
static int opt_tier = -1;
static uint64_t opt_seed = 0x5eed2024ull;
static const vconv_parallel two_threads = {two_thread_parallel_for, NULL, 2};

/* ------------------------------------------------------------------------ */
/* Variants                                                                   */

typedef struct variant {
  char label[48];
  int dispatch; /* through vconv_conv2d_create / vconv_pool2d_create */
  const char *plan; /* conv: the named plan forced (vconv_conv2d_create_named) */
  int promised;     /* conv: the plan applies to every shape (direct's blocked path) */
  vconv_algorithm algo;
  vconv_isa isa;
  int active;
  /* whole run */
  double seconds; /* create + run, not the comparison */
  double max_ratio;
  long runs, unsupported;
  int failed;
  /* current case (or random section) */
  double c_ratio;
  long c_runs, c_unsup;
  int c_failed;
} variant;

#define MAX_VARIANTS 96
static variant conv_vars[MAX_VARIANTS], pool_vars[MAX_VARIANTS];
static double ref_seconds; /* time spent in the reference */
static int n_conv_vars, n_pool_vars;

static void reset_case(variant *v, int n) {
  for (int i = 0; i < n; i++) {
    v[i].c_ratio = 0;
    v[i].c_runs = v[i].c_unsup = 0;
    v[i].c_failed = 0;
  }
}

static void record(variant *v, double ratio, int failed) {
  if (ratio > v->c_ratio || isnan(ratio)) v->c_ratio = isnan(ratio) ? INFINITY : ratio;
  if (v->c_ratio > v->max_ratio) v->max_ratio = v->c_ratio;
  v->c_runs++;
  v->runs++;
  v->c_failed += failed;
  v->failed += failed;
}

/* One line per (case, variant). */
static void print_case(const char *name, const char *shape, variant *v, int n) {
  for (int i = 0; i < n; i++) {
    if (!v[i].active) continue;
    if (v[i].c_runs == 0 && v[i].c_unsup == 0) continue;
    if (v[i].c_runs == 0)
      printf("  %-24s %-30s not applicable (UNSUPPORTED_ALGORITHM)\n", name, v[i].label);
    else
      printf("  %-24s %-30s %-22s max err/tol %9.3g  %s\n", name, v[i].label, shape, v[i].c_ratio,
             v[i].c_failed ? "FAIL" : "ok");
  }
  fflush(stdout);
}

static int tier_runnable(vconv_isa isa, const char *label) {
  if (vconv_isa_available(isa)) return 1;
  const char *why = vconv_isa_cpu_supported(isa) ? "above the tier cap (VCONV_ISA)"
                                                 : "not supported by this CPU";
  if (opt_require_all) {
    test_fail(__FILE__, __LINE__, "%s is built but cannot run here (%s) and "
              "VCONV_PARITY_REQUIRE_ALL is set", label, why);
  } else {
    printf("SKIP %s: %s\n", label, why);
  }
  return 0;
}

/* The variant (algorithm, tier) whose kernel name "<algorithm>/<tier>" the
 * plan name starts with, before its ':'; 0 if none. */
static int plan_variant(const char *plan, vconv_algorithm *algo, vconv_isa *isa) {
  const char *colon = strchr(plan, ':');
  if (!colon) return 0;
  for (size_t i = 0; i < vconv_conv2d_variant_count(); i++) {
    if (vconv_conv2d_variant(i, algo, isa) != VCONV_OK) return 0;
    char name[64];
    snprintf(name, sizeof name, "%s/%s", vconv_algorithm_name(*algo) ? vconv_algorithm_name(*algo) : "?",
             vconv_isa_name(*isa) ? vconv_isa_name(*isa) : "?");
    if (strlen(name) == (size_t)(colon - plan) && strncmp(name, plan, (size_t)(colon - plan)) == 0)
      return 1;
  }
  return 0;
}

static void setup_variants(void) {
  const size_t nc = vconv_conv2d_plan_count(), np = vconv_pool2d_variant_count();
  CHECK(nc >= vconv_conv2d_variant_count() && nc < MAX_VARIANTS, "conv plan count %zu", nc);
  CHECK(np >= 1 && np < MAX_VARIANTS, "pool variant count %zu", np);
  CHECK(vconv_conv2d_plan_name(nc) == NULL, "a plan name past the end");
  int tier_seen = 0;
  for (size_t i = 0; i < nc && i < MAX_VARIANTS - 1; i++) {
    variant *v = &conv_vars[n_conv_vars++];
    v->plan = vconv_conv2d_plan_name(i);
    CHECK(v->plan && plan_variant(v->plan, &v->algo, &v->isa), "plan %zu (%s) names no variant", i,
          v->plan ? v->plan : "(null)");
    if (!v->plan) continue;
    snprintf(v->label, sizeof v->label, "%s", v->plan);
    v->promised = v->algo == VCONV_ALGO_DIRECT && strstr(v->plan, ":blocked") != NULL;
    CHECK(vconv_isa_built(v->isa), "variant %s of a tier that is not built", v->label);
    if (opt_tier >= 0 && (int)v->isa != opt_tier) continue;
    tier_seen |= opt_tier >= 0;
    v->active = tier_runnable(v->isa, v->label);
    if (!v->active && opt_tier >= 0)
      test_fail(__FILE__, __LINE__, "VCONV_PARITY_TIER asks for %s, which cannot run here", v->label);
  }
  for (size_t i = 0; i < np && i < MAX_VARIANTS - 1; i++) {
    variant *v = &pool_vars[n_pool_vars++];
    CHECK_STATUS(vconv_pool2d_variant(i, &v->isa), VCONV_OK);
    const char *in = vconv_isa_name(v->isa);
    snprintf(v->label, sizeof v->label, "pool/%s", in ? in : "?");
    CHECK(vconv_isa_built(v->isa), "variant %s of a tier that is not built", v->label);
    if (opt_tier >= 0 && (int)v->isa != opt_tier) continue;
    tier_seen |= opt_tier >= 0;
    v->active = tier_runnable(v->isa, v->label);
    if (!v->active && opt_tier >= 0)
      test_fail(__FILE__, __LINE__, "VCONV_PARITY_TIER asks for %s, which cannot run here", v->label);
  }
  if (opt_tier >= 0)
    CHECK(tier_seen, "VCONV_PARITY_TIER=%s: no variant of that tier is built", vconv_isa_name((vconv_isa)opt_tier));
  /* Every built tier has kernels in both lists: a tier without them could
   * be selected by the dispatcher and have nothing to run. */
  for (int t = 0; t < VCONV_ISA_COUNT; t++) {
    if (!vconv_isa_built((vconv_isa)t)) continue;
    int c = 0, p = 0;
    for (int i = 0; i < n_conv_vars; i++) c += conv_vars[i].isa == (vconv_isa)t;
    for (int i = 0; i < n_pool_vars; i++) p += pool_vars[i].isa == (vconv_isa)t;
    CHECK(c > 0 && p > 0, "tier %s is built but has %d conv and %d pool variants",
          vconv_isa_name((vconv_isa)t), c, p);
  }
  variant *d = &conv_vars[n_conv_vars++];
  snprintf(d->label, sizeof d->label, "dispatch(auto)");
  d->dispatch = d->active = 1;
  d = &pool_vars[n_pool_vars++];
  snprintf(d->label, sizeof d->label, "dispatch(auto)");
  d->dispatch = d->active = 1;

  printf("variants:");
  for (int i = 0; i < n_conv_vars; i++) printf(" %s%s", conv_vars[i].label, conv_vars[i].active ? "" : "(off)");
  printf(" |");
  for (int i = 0; i < n_pool_vars; i++) printf(" %s%s", pool_vars[i].label, pool_vars[i].active ? "" : "(off)");
  printf("\neffective tier: %s\n", vconv_isa_name(vconv_isa_effective()));
}

/* ------------------------------------------------------------------------ */
/* Convolution cases                                                          */

typedef struct conv_case {
  char name[48];
  vconv_conv2d_desc d;      /* batch = the largest batch; layout ignored */
  int batches[2], nbatches; /* batch sizes run (prefixes of the data) */
  int layouts;              /* bit 0 NCHW, bit 1 NHWC */
  int bias;
  const float *fixed_x;     /* NCHW input, or NULL for random */
  const float *fixed_w;     /* OIHW weights, or NULL for random */
  int exact;                /* output must equal the correctly rounded reference */
  uint64_t seed;
  int quiet;                /* random cases: print only failures */
} conv_case;

static void describe_conv(const vconv_conv2d_desc *d, int bias, char *buf, size_t n) {
  static const char *modes[] = {"explicit", "valid", "same", "full", "same_lower"};
  static const char *acts[] = {"none", "relu", "clamp"};
  snprintf(buf, n,
           "N=%lld C=%lld H=%lld W=%lld K=%lld R=%lld S=%lld stride=%lld,%lld dil=%lld,%lld "
           "pad(t,b,l,r)=%lld,%lld,%lld,%lld mode=%s groups=%lld act=%s[%g,%g] table=%s bias=%s",
           (long long)d->batch, (long long)d->in_channels, (long long)d->in_height,
           (long long)d->in_width, (long long)d->out_channels, (long long)d->kernel_h,
           (long long)d->kernel_w, (long long)d->stride_h, (long long)d->stride_w,
           (long long)d->dilation_h, (long long)d->dilation_w, (long long)d->pad_top,
           (long long)d->pad_bottom, (long long)d->pad_left, (long long)d->pad_right,
           (unsigned)d->padding_mode < 5 ? modes[d->padding_mode] : "?", (long long)d->groups,
           (unsigned)d->activation < 3 ? acts[d->activation] : "?", (double)d->act_min,
           (double)d->act_max, d->connections ? "yes" : "no", bias ? "yes" : "no");
}

static void shape_label(char *buf, size_t n, int layouts, const int *batches, int nb) {
  int len = snprintf(buf, n, "%s b%d", layouts == 3 ? "NCHW+NHWC" : layouts == 1 ? "NCHW" : "NHWC",
                     batches[0]);
  if (nb > 1 && len > 0 && (size_t)len < n) snprintf(buf + len, n - (size_t)len, ",%d", batches[1]);
}

static const char *layout_name(vconv_layout l) { return l == VCONV_LAYOUT_NHWC ? "NHWC" : "NCHW"; }

static void check_conv_names(const vconv_conv2d_op *op, const variant *v, const char *cname) {
  const char *nm = vconv_conv2d_kernel_name(op);
  const vconv_algorithm al = vconv_conv2d_algorithm(op);
  const vconv_isa is = vconv_conv2d_isa(op);
  char want[64];
  snprintf(want, sizeof want, "%s/%s", vconv_algorithm_name(al) ? vconv_algorithm_name(al) : "?",
           vconv_isa_name(is) ? vconv_isa_name(is) : "?");
  CHECK(nm && strcmp(nm, want) == 0, "%s %s: kernel_name \"%s\", expected \"%s\"", cname, v->label,
        nm ? nm : "(null)", want);
  if (v->dispatch) {
    CHECK(is == vconv_isa_effective() && al != VCONV_ALGO_AUTO,
          "%s: the dispatcher chose %s, effective tier is %s", cname, want,
          vconv_isa_name(vconv_isa_effective()));
  } else {
    CHECK(al == v->algo && is == v->isa, "%s %s: operator runs %s", cname, v->label, want);
  }
  /* The plan's name: the forced one, or the dispatcher's kernel and a path. */
  const char *pn = vconv_conv2d_plan_of(op);
  CHECK(pn && (v->dispatch ? strncmp(pn, want, strlen(want)) == 0 && pn[strlen(want)] == ':'
                           : strcmp(pn, v->plan) == 0),
        "%s %s: plan_of \"%s\"", cname, v->label, pn ? pn : "(null)");
}

/* 1 if output o of an axis reads no input pixel: every tap o*stride - pad + i*dil
 * (i < k) lies in the padding. */
static int axis_dead(int64_t o, int64_t stride, int64_t dil, int64_t k, int64_t pad, int64_t n) {
  for (int64_t i = 0; i < k; i++) {
    const int64_t x = o * stride - pad + i * dil;
    if (x >= 0 && x < n) return 0;
  }
  return 1;
}

/* Outputs with no tap inside the input seen by compare_conv, by algorithm
 * ([0] direct and im2col, [1] Winograd) and where they lie ([0] dead rows
 * only, [1] dead columns only, [2] both). */
static long dead_seen[2][3];

static uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* Compares one output tensor (layout L, batch bsz) with the NCHW reference. */
/* wt, z: the Winograd tile and its bound terms (ref_wino_bound) when the
 * operator ran Winograd, else NULL (the direct bound; exact cases exactly).
 * An output with no tap inside the input is exactly act(bias) in every
 * algorithm (the reference's y, which is exact there), bit for bit. */
static double compare_conv(const conv_case *cc, const variant *v, vconv_layout L, int64_t bsz,
                           int64_t K, int64_t P, int64_t Q, const float *out, const double *y,
                           const double *a, const int32_t *n, const ref_wino_tile *wt,
                           const double *z, int *failed) {
  const int64_t Cg = cc->d.in_channels / cc->d.groups;
  const vconv_conv2d_desc *d = &cc->d;
  ref_geom g;
  CHECK(ref_conv2d_geometry(d, &g) == REF_OK && g.h.out == P && g.w.out == Q,
        "%s: reference geometry", cc->name);
  unsigned char *dead_p = malloc((size_t)(P + Q)), *dead_q = dead_p + P;
  for (int64_t p = 0; p < P; p++)
    dead_p[p] = (unsigned char)axis_dead(p, d->stride_h, d->dilation_h, d->kernel_h,
                                         g.h.pad_begin, d->in_height);
  for (int64_t q = 0; q < Q; q++)
    dead_q[q] = (unsigned char)axis_dead(q, d->stride_w, d->dilation_w, d->kernel_w,
                                         g.w.pad_begin, d->in_width);
  double worst = 0;
  int shown = 0;
  for (int64_t b = 0; b < bsz; b++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t p = 0; p < P; p++)
        for (int64_t q = 0; q < Q; q++) {
          const int64_t ri = ref_index(VCONV_LAYOUT_NCHW, K, P, Q, b, k, p, q);
          const float got = out[ref_index(L, K, P, Q, b, k, p, q)];
          double ratio, tol = 0;
          if (dead_p[p] || dead_q[q]) {
            dead_seen[wt != NULL][dead_p[p] && dead_q[q] ? 2 : dead_q[q]]++;
            ratio = float_bits(got) == float_bits((float)y[ri]) ? 0.0 : INFINITY;
          } else if (cc->exact && !wt) {
            ratio = got == (float)y[ri] ? 0.0 : INFINITY;
          } else {
            tol = wt ? ref_wino_tol(wt, Cg, z[ri], a[ri], n[ri]) : ref_conv_tol(n[ri], a[ri]);
            ratio = isnan(got) ? INFINITY : fabs((double)got - y[ri]) / tol;
          }
          if (ratio > worst) worst = ratio;
          if (ratio > 1.0) {
            ++*failed;
            if (shown++ < 3)
              printf("FAIL %s %s %s batch %lld: y[n=%lld k=%lld p=%lld q=%lld] = %.9g, reference "
                     "%.17g, |err| %.3g, tol %.3g (n=%d, A=%.6g%s%.6g)%s\n",
                     cc->name, v->label, layout_name(L), (long long)bsz, (long long)b, (long long)k,
                     (long long)p, (long long)q, (double)got, y[ri], fabs((double)got - y[ri]), tol,
                     n[ri], a[ri], wt ? ", Winograd Z=" : "", wt ? z[ri] : 0.0,
                     dead_p[p] || dead_q[q] ? ", no tap in the input: must be act(bias) exactly" : "");
          }
        }
  free(dead_p);
  return worst;
}

static int case_selected(const char *name) {
  if (opt_case) return strcmp(name, opt_case) == 0;
  return !opt_only || strstr(name, opt_only) != NULL;
}

static void print_repro(const char *name) {
  printf("     reproduce: test_parity%s --case %s%s\n", opt_quick ? " --quick" : "", name,
         opt_seed != 0x5eed2024ull ? " (with the same VCONV_PARITY_SEED)" : "");
}

static void fail_case_header(const conv_case *cc) {
  char buf[400];
  describe_conv(&cc->d, cc->bias, buf, sizeof buf);
  printf("     case %s (seed %#llx): %s\n", cc->name, (unsigned long long)cc->seed, buf);
  print_repro(cc->name);
}


/* The case's descriptor for the first bsz images, NCHW (the reference's layout). */
static vconv_conv2d_desc dr2(const vconv_conv2d_desc *d, int64_t bsz, const unsigned char *conn) {
  vconv_conv2d_desc r = *d;
  r.batch = bsz;
  r.layout = VCONV_LAYOUT_NCHW;
  r.connections = conn;
  return r;
}

/* Returns 1 if the shape was valid and run, 0 if it was a too-large shape (checked), -1 skipped. */
static int run_conv_case(const conv_case *cc) {
  if (!case_selected(cc->name)) return -1;
  const vconv_conv2d_desc *d = &cc->d;
  ref_geom g;
  const int rg = ref_conv2d_geometry(d, &g);
  int64_t lp = -1, lq = -1;
  const vconv_status ls = vconv_conv2d_output_size(d, &lp, &lq);
  if (rg == REF_TOO_LARGE) {
    CHECK(ls == VCONV_ERR_KERNEL_TOO_LARGE, "%s: output_size returned %d for a kernel larger than "
          "the padded input", cc->name, (int)ls);
    float w = 0;
    for (int i = 0; i < n_conv_vars; i++) {
      const variant *v = &conv_vars[i];
      if (!v->active) continue;
      vconv_conv2d_op *op = NULL;
      vconv_status st = v->dispatch ? vconv_conv2d_create(d, VCONV_ALGO_AUTO, &w, NULL, &op)
                                    : vconv_conv2d_create_named(d, v->plan, &w, NULL, &op);
      CHECK(st == VCONV_ERR_KERNEL_TOO_LARGE, "%s %s: create returned %d (%s), expected "
            "KERNEL_TOO_LARGE", cc->name, v->label, (int)st, vconv_status_string(st));
      vconv_conv2d_destroy(op);
    }
    return 0;
  }
  CHECK(rg == REF_OK, "%s: the reference rejects the shape (%d)", cc->name, rg);
  if (rg != REF_OK) return -1;
  CHECK(ls == VCONV_OK && lp == g.h.out && lq == g.w.out,
        "%s: output_size %d %lldx%lld, reference %lldx%lld", cc->name, (int)ls, (long long)lp,
        (long long)lq, (long long)g.h.out, (long long)g.w.out);
  if (opt_verbose) {
    char buf[400];
    describe_conv(d, cc->bias, buf, sizeof buf);
    printf("  %s: %s\n", cc->name, buf);
  }

  const int64_t Nmax = d->batch, C = d->in_channels, H = d->in_height, W = d->in_width;
  const int64_t K = d->out_channels, P = g.h.out, Q = g.w.out, Cg = C / d->groups;
  const int64_t R = d->kernel_h, S = d->kernel_w;
  const int64_t nin = Nmax * C * H * W, nout = Nmax * K * P * Q, nw = K * Cg * R * S;

  test_rng rng;
  rng_seed(&rng, cc->seed);
  float *x = malloc(sizeof(float) * (size_t)nin);
  tbuf wb, bb;
  tbuf_alloc_in(&wb, (size_t)nw);
  tbuf_alloc_in(&bb, (size_t)K);
  unsigned char *conn = NULL;
  if (d->connections) {
    conn = malloc((size_t)(K * Cg));
    memcpy(conn, d->connections, (size_t)(K * Cg));
  }
  for (int64_t i = 0; i < nin; i++) x[i] = cc->fixed_x ? cc->fixed_x[i] : rng_sym(&rng);
  for (int64_t i = 0; i < nw; i++) {
    wb.data[i] = cc->fixed_w ? cc->fixed_w[i] : rng_sym(&rng);
    /* Unconnected weights are never read as values: NaN would show it. */
    if (conn && !conn[i / (R * S)]) wb.data[i] = NAN;
  }
  for (int64_t i = 0; i < K; i++) bb.data[i] = rng_sym(&rng);
  float *wsave = malloc(sizeof(float) * (size_t)(nw + K));
  memcpy(wsave, wb.data, sizeof(float) * (size_t)nw);
  memcpy(wsave + nw, bb.data, sizeof(float) * (size_t)K);
  const float *bias = cc->bias ? bb.data : NULL;

  double *y = malloc(sizeof(double) * (size_t)nout * 2), *a = y + nout;
  int32_t *n = malloc(sizeof(int32_t) * (size_t)nout);
  vconv_conv2d_desc dr = *d;
  dr.layout = VCONV_LAYOUT_NCHW;
  dr.connections = conn;
  double t0 = test_now();
  ref_conv2d(&dr, x, wb.data, bias, y, a, n);
  ref_seconds += test_now() - t0;

  char shape[32];
  shape_label(shape, sizeof shape, cc->layouts, cc->batches, cc->nbatches);

  /* Winograd bounds, per tile and batch size, computed when first needed. */
  enum { NW = 8 };
  double *wz[NW][2] = {{NULL}};
  ref_wino_tile wtile[NW][2];
  double wmax = 0.0;
  for (int64_t i = 0; i < nw; i++)
    if (!isnan(wb.data[i]) && fabs(wb.data[i]) > wmax) wmax = fabs(wb.data[i]);
  CHECK(wino_tile_count() <= NW, "more Winograd tiles than the parity suite holds");

  tbuf xin;
  tbuf_alloc_in(&xin, (size_t)nin);
  float *xsave = malloc(sizeof(float) * (size_t)nin);
  int header_shown = 0;
  for (int li = 0; li < 2; li++) {
    if (!(cc->layouts & (1 << li))) continue;
    const vconv_layout L = (vconv_layout)li;
    ref_relayout(x, VCONV_LAYOUT_NCHW, xin.data, L, Nmax, C, H, W);
    memcpy(xsave, xin.data, sizeof(float) * (size_t)nin);
    for (int bi = 0; bi < cc->nbatches; bi++) {
      const int64_t bsz = cc->batches[bi];
      vconv_conv2d_desc d2 = *d;
      d2.batch = bsz;
      d2.layout = L;
      d2.connections = conn;
      tbuf out;
      tbuf_alloc_out(&out, (size_t)(bsz * K * P * Q));
      for (int vi = 0; vi < n_conv_vars; vi++) {
        variant *v = &conv_vars[vi];
        if (!v->active) continue;
        vconv_conv2d_op *op = NULL;
        t0 = test_now();
        vconv_status st = v->dispatch ? vconv_conv2d_create(&d2, VCONV_ALGO_AUTO, wb.data, bias, &op)
                                      : vconv_conv2d_create_named(&d2, v->plan, wb.data, bias, &op);
        if (st == VCONV_ERR_UNSUPPORTED_ALGORITHM && !v->dispatch && !v->promised) {
          /* Only direct's blocked path is promised for every shape (AUTO's fallback). */
          v->c_unsup++;
          v->unsupported++;
          continue;
        }
        if (st != VCONV_OK || !op) {
          test_fail(__FILE__, __LINE__, "%s %s %s batch %lld: create returned %d (%s)", cc->name,
                    v->label, layout_name(L), (long long)bsz, (int)st, vconv_status_string(st));
          record(v, INFINITY, 1);
          if (!header_shown++) fail_case_header(cc);
          continue;
        }
        check_conv_names(op, v, cc->name);
        /* Weights, bias and table are copied at create: scribbling over ours must not matter. */
        for (int64_t i = 0; i < nw; i++) wb.data[i] = NAN;
        for (int64_t i = 0; i < K; i++) bb.data[i] = NAN;
        if (conn) memset(conn, 1, (size_t)(K * Cg));

        /* Batches above 1 and the dispatcher path run on two threads (both paths
         * get exercised, and the suite uses both CI cores); the dispatcher path
         * also gets a caller workspace misaligned by a byte. */
        const vconv_parallel *par = v->dispatch || bsz > 1 ? &two_threads : NULL;
        const size_t wsz = vconv_conv2d_workspace_size(op, par);
        unsigned char *wsblock = v->dispatch && wsz ? malloc(wsz + 1) : NULL;
        tbuf_poison(&out);
        st = vconv_conv2d_run(op, xin.data, out.data, wsblock ? wsblock + 1 : NULL, wsz, par);
        v->seconds += test_now() - t0;
        test_checks++;
        int failed = 0;
        double ratio = INFINITY;
        if (st != VCONV_OK) {
          test_fail(__FILE__, __LINE__, "%s %s: run returned %d", cc->name, v->label, (int)st);
          failed = 1;
        } else {
          const int wi = wino_tile_index(vconv_conv2d_algorithm(op));
          const ref_wino_tile *wt = NULL;
          if (wi >= 0 && wi < NW) {
            wt = &wtile[wi][bi];
            if (!wz[wi][bi]) {
              wz[wi][bi] = malloc(sizeof(double) * (size_t)(bsz * K * P * Q));
              const vconv_conv2d_desc dn = dr2(d, bsz, conn);
              const double tz = test_now();
              CHECK(wino_bound(wi, &dn, x, wsave, bias ? wsave + nw : NULL, wmax, &wtile[wi][bi],
                               wz[wi][bi]) == REF_OK,
                    "%s: Winograd bound of %s", cc->name, v->label);
              ref_seconds += test_now() - tz;
            }
          }
          ratio = compare_conv(cc, v, L, bsz, K, P, Q, out.data, y, a, n, wt, wt ? wz[wi][bi] : NULL,
                               &failed);
          if (!tbuf_guards_ok(&out)) {
            printf("FAIL %s %s %s batch %lld: wrote outside the output\n", cc->name, v->label,
                   layout_name(L), (long long)bsz);
            failed++;
          }
          if (memcmp(xin.data, xsave, sizeof(float) * (size_t)nin) != 0) {
            printf("FAIL %s %s %s: modified its input\n", cc->name, v->label, layout_name(L));
            memcpy(xin.data, xsave, sizeof(float) * (size_t)nin);
            failed++;
          }
        }
        if (failed) {
          test_failures++;
          if (!header_shown++) fail_case_header(cc);
        }
        record(v, ratio, failed != 0);
        free(wsblock);
        vconv_conv2d_destroy(op);
        memcpy(wb.data, wsave, sizeof(float) * (size_t)nw);
        memcpy(bb.data, wsave + nw, sizeof(float) * (size_t)K);
        if (conn) memcpy(conn, d->connections, (size_t)(K * Cg));
      }
      tbuf_free(&out);
    }
  }
  if (!cc->quiet || opt_verbose) print_case(cc->name, shape, conv_vars, n_conv_vars);
  tbuf_free(&xin);
  tbuf_free(&wb);
  tbuf_free(&bb);
  free(xsave);
  free(wsave);
  free(x);
  free(y);
  free(n);
  free(conn);
  for (int t = 0; t < NW; t++) free(wz[t][0]), free(wz[t][1]);
  return 1;
}

/* ------------------------------------------------------------------------ */
/* Pooling cases                                                              */

typedef struct pool_case {
  char name[48];
  vconv_pool2d_desc d;
  int batches[2], nbatches;
  int layouts;
  int nan_pct, ninf_pct; /* special values sprinkled into the input */
  uint64_t seed;
  int quiet;
} pool_case;

static void describe_pool(const vconv_pool2d_desc *d, char *buf, size_t n) {
  static const char *kinds[] = {"max", "avg-include-pad", "avg-exclude-pad"};
  static const char *modes[] = {"explicit", "valid", "same", "full", "same_lower"};
  snprintf(buf, n,
           "N=%lld C=%lld H=%lld W=%lld kind=%s window=%lldx%lld stride=%lld,%lld "
           "pad(t,b,l,r)=%lld,%lld,%lld,%lld mode=%s ceil=%d",
           (long long)d->batch, (long long)d->channels, (long long)d->in_height,
           (long long)d->in_width, (unsigned)d->kind < 3 ? kinds[d->kind] : "?",
           (long long)d->window_h, (long long)d->window_w, (long long)d->stride_h,
           (long long)d->stride_w, (long long)d->pad_top, (long long)d->pad_bottom,
           (long long)d->pad_left, (long long)d->pad_right,
           (unsigned)d->padding_mode < 5 ? modes[d->padding_mode] : "?", d->ceil_mode);
}

static int run_pool_case(const pool_case *pc) {
  if (!case_selected(pc->name)) return -1;
  const vconv_pool2d_desc *d = &pc->d;
  ref_geom g;
  const int rg = ref_pool2d_geometry(d, &g);
  int64_t lp = -1, lq = -1;
  const vconv_status ls = vconv_pool2d_output_size(d, &lp, &lq);
  if (rg == REF_TOO_LARGE) {
    CHECK(ls == VCONV_ERR_KERNEL_TOO_LARGE, "%s: pool output_size returned %d for a window larger "
          "than the padded input", pc->name, (int)ls);
    for (int i = 0; i < n_pool_vars; i++) {
      const variant *v = &pool_vars[i];
      if (!v->active) continue;
      vconv_pool2d_op *op = NULL;
      vconv_status st = v->dispatch ? vconv_pool2d_create(d, &op) : vconv_pool2d_create_for_isa(d, v->isa, &op);
      CHECK(st == VCONV_ERR_KERNEL_TOO_LARGE, "%s %s: create returned %d, expected KERNEL_TOO_LARGE",
            pc->name, v->label, (int)st);
      vconv_pool2d_destroy(op);
    }
    return 0;
  }
  CHECK(rg == REF_OK, "%s: the reference rejects the shape (%d)", pc->name, rg);
  if (rg != REF_OK) return -1;
  CHECK(ls == VCONV_OK && lp == g.h.out && lq == g.w.out,
        "%s: pool output_size %d %lldx%lld, reference %lldx%lld", pc->name, (int)ls, (long long)lp,
        (long long)lq, (long long)g.h.out, (long long)g.w.out);
  if (opt_verbose) {
    char buf[300];
    describe_pool(d, buf, sizeof buf);
    printf("  %s: %s\n", pc->name, buf);
  }

  const int64_t Nmax = d->batch, C = d->channels, H = d->in_height, W = d->in_width;
  const int64_t P = g.h.out, Q = g.w.out, nin = Nmax * C * H * W, nout = Nmax * C * P * Q;
  test_rng rng;
  rng_seed(&rng, pc->seed);
  float *x = malloc(sizeof(float) * (size_t)nin);
  for (int64_t i = 0; i < nin; i++) {
    x[i] = rng_sym(&rng);
    if (pc->nan_pct && rng_chance(&rng, pc->nan_pct, 100)) x[i] = NAN;
    else if (pc->ninf_pct && rng_chance(&rng, pc->ninf_pct, 100)) x[i] = -INFINITY;
  }
  double *y = malloc(sizeof(double) * (size_t)nout * 2), *a = y + nout;
  int32_t *n = malloc(sizeof(int32_t) * (size_t)nout);
  vconv_pool2d_desc dr = *d;
  dr.layout = VCONV_LAYOUT_NCHW;
  double t0 = test_now();
  ref_pool2d(&dr, x, y, a, n);
  ref_seconds += test_now() - t0;

  char shape[32];
  shape_label(shape, sizeof shape, pc->layouts, pc->batches, pc->nbatches);

  tbuf xin;
  tbuf_alloc_in(&xin, (size_t)nin);
  float *xsave = malloc(sizeof(float) * (size_t)nin);
  int header_shown = 0;
  for (int li = 0; li < 2; li++) {
    if (!(pc->layouts & (1 << li))) continue;
    const vconv_layout L = (vconv_layout)li;
    ref_relayout(x, VCONV_LAYOUT_NCHW, xin.data, L, Nmax, C, H, W);
    memcpy(xsave, xin.data, sizeof(float) * (size_t)nin);
    for (int bi = 0; bi < pc->nbatches; bi++) {
      const int64_t bsz = pc->batches[bi];
      vconv_pool2d_desc d2 = *d;
      d2.batch = bsz;
      d2.layout = L;
      tbuf out;
      tbuf_alloc_out(&out, (size_t)(bsz * C * P * Q));
      for (int vi = 0; vi < n_pool_vars; vi++) {
        variant *v = &pool_vars[vi];
        if (!v->active) continue;
        vconv_pool2d_op *op = NULL;
        t0 = test_now();
        vconv_status st = v->dispatch ? vconv_pool2d_create(&d2, &op)
                                      : vconv_pool2d_create_for_isa(&d2, v->isa, &op);
        if (st != VCONV_OK || !op) {
          test_fail(__FILE__, __LINE__, "%s %s: create returned %d (%s)", pc->name, v->label,
                    (int)st, vconv_status_string(st));
          record(v, INFINITY, 1);
          continue;
        }
        const char *nm = vconv_pool2d_kernel_name(op);
        char want[32];
        const vconv_isa is = vconv_pool2d_isa(op);
        snprintf(want, sizeof want, "pool/%s", vconv_isa_name(is) ? vconv_isa_name(is) : "?");
        CHECK(nm && strcmp(nm, want) == 0, "%s %s: kernel_name \"%s\", expected \"%s\"", pc->name,
              v->label, nm ? nm : "(null)", want);
        CHECK(v->dispatch ? is == vconv_isa_effective() : is == v->isa, "%s %s: operator runs %s",
              pc->name, v->label, want);
        const vconv_parallel *par = v->dispatch || bsz > 1 ? &two_threads : NULL;
        const size_t wsz = vconv_pool2d_workspace_size(op, par);
        unsigned char *wsblock = v->dispatch && wsz ? malloc(wsz + 1) : NULL;
        tbuf_poison(&out);
        st = vconv_pool2d_run(op, xin.data, out.data, wsblock ? wsblock + 1 : NULL, wsz, par);
        v->seconds += test_now() - t0;
        test_checks++;
        int failed = 0, shown = 0;
        double worst = 0;
        if (st != VCONV_OK) {
          test_fail(__FILE__, __LINE__, "%s %s: run returned %d", pc->name, v->label, (int)st);
          failed = 1;
          worst = INFINITY;
        } else {
          for (int64_t b = 0; b < bsz; b++)
            for (int64_t c = 0; c < C; c++)
              for (int64_t p = 0; p < P; p++)
                for (int64_t q = 0; q < Q; q++) {
                  const int64_t ri = ref_index(VCONV_LAYOUT_NCHW, C, P, Q, b, c, p, q);
                  const float got = out.data[ref_index(L, C, P, Q, b, c, p, q)];
                  double ratio, tol = 0;
                  if (isnan(y[ri])) {
                    ratio = isnan(got) ? 0.0 : INFINITY;
                  } else if (d->kind == VCONV_POOL_MAX || isinf(y[ri])) {
                    /* Max is exact; -0 cannot arise from these inputs, so compare bits. */
                    ratio = float_bits(got) == float_bits((float)y[ri]) ? 0.0 : INFINITY;
                  } else {
                    tol = ref_avg_tol(n[ri], a[ri]);
                    ratio = isnan(got) ? INFINITY : fabs((double)got - y[ri]) / tol;
                  }
                  if (ratio > worst) worst = ratio;
                  if (ratio > 1.0) {
                    failed++;
                    if (shown++ < 3)
                      printf("FAIL %s %s %s batch %lld: y[n=%lld c=%lld p=%lld q=%lld] = %.9g, "
                             "reference %.17g, tol %.3g (taps %d)\n",
                             pc->name, v->label, layout_name(L), (long long)bsz, (long long)b,
                             (long long)c, (long long)p, (long long)q, (double)got, y[ri], tol, n[ri]);
                  }
                }
          if (!tbuf_guards_ok(&out)) {
            printf("FAIL %s %s %s batch %lld: wrote outside the output\n", pc->name, v->label,
                   layout_name(L), (long long)bsz);
            failed++;
          }
          if (memcmp(xin.data, xsave, sizeof(float) * (size_t)nin) != 0) {
            printf("FAIL %s %s: modified its input\n", pc->name, v->label);
            memcpy(xin.data, xsave, sizeof(float) * (size_t)nin);
            failed++;
          }
        }
        if (failed) {
          test_failures++;
          if (!header_shown++) {
            char buf[300];
            describe_pool(d, buf, sizeof buf);
            printf("     case %s (seed %#llx, NaN %d%%, -inf %d%%): %s\n", pc->name,
                   (unsigned long long)pc->seed, pc->nan_pct, pc->ninf_pct, buf);
            print_repro(pc->name);
          }
        }
        record(v, worst, failed != 0);
        free(wsblock);
        vconv_pool2d_destroy(op);
      }
      tbuf_free(&out);
    }
  }
  if (!pc->quiet || opt_verbose) print_case(pc->name, shape, pool_vars, n_pool_vars);
  tbuf_free(&xin);
  free(xsave);
  free(x);
  free(y);
  free(n);
  return 1;
}

/* ------------------------------------------------------------------------ */
/* Named cases                                                                */

/* A named case gets its own line per variant: statistics start afresh. */
static void named_conv(const conv_case *cc) {
  reset_case(conv_vars, n_conv_vars);
  run_conv_case(cc);
}

static void named_pool(const pool_case *pc) {
  reset_case(pool_vars, n_pool_vars);
  run_pool_case(pc);
}

static int std_batches(int *b) {
  b[0] = 1;
  b[1] = opt_quick ? 2 : 3;
  return 2;
}

static conv_case conv_layer(const char *name, int64_t C, int64_t HW, int64_t K, int64_t k,
                            int64_t stride, int64_t pad, int64_t groups, vconv_activation act) {
  conv_case cc;
  memset(&cc, 0, sizeof cc);
  snprintf(cc.name, sizeof cc.name, "%s", name);
  vconv_conv2d_desc_init(&cc.d);
  cc.nbatches = std_batches(cc.batches);
  cc.d.batch = cc.batches[cc.nbatches - 1];
  cc.d.in_channels = C;
  cc.d.in_height = cc.d.in_width = HW;
  cc.d.out_channels = K;
  cc.d.kernel_h = cc.d.kernel_w = k;
  cc.d.stride_h = cc.d.stride_w = stride;
  cc.d.pad_top = cc.d.pad_bottom = cc.d.pad_left = cc.d.pad_right = pad;
  cc.d.groups = groups;
  cc.d.activation = act;
  cc.d.act_min = -0.5f;
  cc.d.act_max = 0.5f;
  cc.layouts = 3;
  cc.bias = 1;
  uint64_t h = 1469598103934665603ull;
  for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
  cc.seed = h;
  return cc;
}

static pool_case pool_layer(const char *name, int64_t C, int64_t HW, vconv_pool_kind kind,
                            int64_t win, int64_t stride) {
  pool_case pc;
  memset(&pc, 0, sizeof pc);
  snprintf(pc.name, sizeof pc.name, "%s", name);
  vconv_pool2d_desc_init(&pc.d);
  pc.nbatches = std_batches(pc.batches);
  pc.d.batch = pc.batches[pc.nbatches - 1];
  pc.d.channels = C;
  pc.d.in_height = pc.d.in_width = HW;
  pc.d.kind = kind;
  pc.d.window_h = pc.d.window_w = win;
  pc.d.stride_h = pc.d.stride_w = stride;
  pc.layouts = 3;
  uint64_t h = 1469598103934665603ull;
  for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
  pc.seed = h;
  return pc;
}

static void golden_cases(void) {
  printf("== golden cases\n");
  /* seeds.md: the classic 5x5 binary input, valid 3x3 "X" kernel, exact. */
  static const float x[25] = {1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1,
                              0, 0, 1, 1, 0, 0, 1, 1, 0, 0};
  static const float w[9] = {1, 0, 1, 0, 1, 0, 1, 0, 1};
  conv_case cc = conv_layer("golden-5x5", 1, 5, 1, 3, 1, 0, 1, VCONV_ACTIVATION_NONE);
  cc.d.padding_mode = VCONV_PADDING_VALID;
  cc.nbatches = 1;
  cc.batches[0] = 1;
  cc.d.batch = 1;
  cc.bias = 0;
  cc.fixed_x = x;
  cc.fixed_w = w;
  cc.exact = 1;
  /* The reference must reproduce the documented result before it judges anything. */
  {
    double y[9], a[9];
    int32_t n[9];
    static const double want[9] = {4, 3, 4, 2, 4, 3, 2, 3, 4};
    ref_conv2d(&cc.d, x, w, NULL, y, a, n);
    CHECK(memcmp(y, want, sizeof want) == 0, "reference disagrees with the golden 5x5 result");
  }
  named_conv(&cc);

  /* seeds.md: [-1, 1] on a 320x280 image (320 wide, 280 tall) -> 319 wide, 280 tall.
   * The kernel is 1 row by 2 columns, so only the width shrinks.  Each output is
   * one subtraction, so the result is exact (correctly rounded) in any order. */
  static const float edge[2] = {-1, 1};
  conv_case ec = conv_layer("edge-1x2-320x280", 1, 1, 1, 1, 1, 0, 1, VCONV_ACTIVATION_NONE);
  ec.d.in_height = 280;
  ec.d.in_width = 320;
  ec.d.kernel_h = 1;
  ec.d.kernel_w = 2;
  ec.nbatches = 1;
  ec.batches[0] = 1;
  ec.d.batch = 1;
  ec.bias = 0;
  ec.fixed_w = edge;
  ec.exact = 1;
  int64_t oh = 0, ow = 0;
  CHECK_STATUS(vconv_conv2d_output_size(&ec.d, &oh, &ow), VCONV_OK);
  CHECK(oh == 280 && ow == 319, "edge detection output %lld tall x %lld wide, expected 280 x 319",
        (long long)oh, (long long)ow);
  CHECK(ow * oh * 3 == 267960, "edge detection cost");
  named_conv(&ec);
}

static void lenet_cases(void) {
  printf("== LeNet-5\n");
  static unsigned char table[16 * 6];
  test_lenet_c3_table(table);
  /* The table itself: 60 connections, 1516 parameters (seeds.md). */
  int ones = 0;
  for (int i = 0; i < 96; i++) ones += table[i];
  CHECK(ones == 60, "C3 table has %d connections, expected 60", ones);

  conv_case c1 = conv_layer("lenet-c1", 1, 32, 6, 5, 1, 0, 1, VCONV_ACTIVATION_NONE);
  named_conv(&c1);
  pool_case s2 = pool_layer("lenet-s2-avg", 6, 28, VCONV_POOL_AVG_INCLUDE_PAD, 2, 2);
  named_pool(&s2);
  s2 = pool_layer("lenet-s2-max", 6, 28, VCONV_POOL_MAX, 2, 2);
  named_pool(&s2);
  conv_case c3 = conv_layer("lenet-c3-dense", 6, 14, 16, 5, 1, 0, 1, VCONV_ACTIVATION_RELU);
  named_conv(&c3);
  c3 = conv_layer("lenet-c3-table", 6, 14, 16, 5, 1, 0, 1, VCONV_ACTIVATION_CLAMP);
  c3.d.connections = table;
  named_conv(&c3);
  pool_case s4 = pool_layer("lenet-s4-avg", 16, 10, VCONV_POOL_AVG_EXCLUDE_PAD, 2, 2);
  named_pool(&s4);
  s4 = pool_layer("lenet-s4-max", 16, 10, VCONV_POOL_MAX, 2, 2);
  named_pool(&s4);
  conv_case c5 = conv_layer("lenet-c5", 16, 5, 120, 5, 1, 0, 1, VCONV_ACTIVATION_RELU);
  named_conv(&c5);
}

/* Quick mode: channels / 8, at least one per group and a multiple of groups. */
static int64_t ch(int64_t c, int64_t groups) {
  if (!opt_quick) return c;
  int64_t s = c / 8 / groups * groups;
  return s < groups ? groups : s;
}

static void alexnet_cases(void) {
  printf("== AlexNet%s\n", opt_quick ? " (quick: channels / 8)" : "");
  const vconv_activation relu = VCONV_ACTIVATION_RELU;
  for (int grouped = 0; grouped < 2; grouped++) {
    const int64_t g = grouped ? 2 : 1;
    conv_case cc;
    if (!grouped) {
      cc = conv_layer("alexnet-conv1", ch(3, 1), 227, ch(96, 1), 11, 4, 0, 1, relu);
      named_conv(&cc);
      pool_case pc = pool_layer("alexnet-pool1", ch(96, 1), 55, VCONV_POOL_MAX, 3, 2);
      named_pool(&pc);
    }
    cc = conv_layer(grouped ? "alexnet-conv2-g2" : "alexnet-conv2", ch(96, g), 27, ch(256, g), 5, 1,
                    2, g, relu);
    named_conv(&cc);
    if (!grouped) {
      pool_case pc = pool_layer("alexnet-pool2", ch(256, 1), 27, VCONV_POOL_MAX, 3, 2);
      named_pool(&pc);
      cc = conv_layer("alexnet-conv3", ch(256, 1), 13, ch(384, 1), 3, 1, 1, 1, relu);
      named_conv(&cc);
    }
    cc = conv_layer(grouped ? "alexnet-conv4-g2" : "alexnet-conv4", ch(384, g), 13, ch(384, g), 3,
                    1, 1, g, relu);
    named_conv(&cc);
    cc = conv_layer(grouped ? "alexnet-conv5-g2" : "alexnet-conv5", ch(384, g), 13, ch(256, g), 3,
                    1, 1, g, relu);
    named_conv(&cc);
    if (!grouped) {
      pool_case pc = pool_layer("alexnet-pool3", ch(256, 1), 13, VCONV_POOL_MAX, 3, 2);
      named_pool(&pc);
    }
  }
}

/* Rows wider than the random shapes reach (at most 37 + padding): im2col
 * splits a strided row into phases a vector block at a time (sw * VEC_W
 * floats, 64 at stride 4 on AVX-512) with a scalar tail, from the image row
 * itself or, with horizontal padding, from a padded copy; these take both
 * routes with several blocks and a tail on every tier. */
static void wide_strided_cases(void) {
  printf("== wide strided rows\n");
  conv_case cc = conv_layer("wide-s4-pad3", 2, 131, 5, 7, 4, 3, 1, VCONV_ACTIVATION_NONE);
  named_conv(&cc);
  cc = conv_layer("wide-s4-nopad", 3, 150, 4, 6, 4, 0, 1, VCONV_ACTIVATION_RELU);
  named_conv(&cc);
  cc = conv_layer("wide-s2-pad2", 2, 77, 6, 5, 2, 2, 1, VCONV_ACTIVATION_CLAMP);
  named_conv(&cc);
}

/*
 * Padding at least as wide as the kernel: outputs none of whose taps lies in
 * the input, whose exact value is act(bias) and which every variant must give
 * bit for bit (compare_conv).  Dead rows only, dead columns only, both, at
 * one corner, asymmetric, an image smaller than the kernel, groups, batch 3,
 * odd sizes; 3x3 and 5x5 at stride 1 (every Winograd tile applies, with dead
 * and live outputs in one tile) and a strided, dilated one (direct and
 * im2col); each with and without bias, with each activation.
 */
static void dead_output_cases(void) {
  printf("== outputs with no tap inside the input\n");
  static const struct {
    const char *tag;
    int64_t k, stride, dil, C, K, G, H, W, pt, pb, pl, pr;
  } S[] = {
      {"rows", 3, 1, 1, 5, 7, 1, 13, 10, 4, 3, 1, 0},
      {"cols", 3, 1, 1, 6, 10, 2, 6, 11, 0, 1, 3, 5},
      {"both", 5, 1, 1, 4, 6, 1, 9, 7, 6, 5, 5, 7},
      {"corner", 3, 1, 1, 3, 9, 3, 8, 8, 3, 0, 0, 4},
      {"small", 5, 1, 1, 2, 3, 1, 3, 3, 5, 5, 5, 5},
      {"wide", 3, 1, 1, 4, 20, 1, 21, 19, 3, 4, 5, 3},
      {"strided", 3, 2, 2, 4, 5, 1, 9, 9, 6, 5, 5, 7},
  };
  static const char *acts[] = {"none", "relu", "clamp"};
  reset_case(conv_vars, n_conv_vars);
  memset(dead_seen, 0, sizeof dead_seen);
  for (size_t i = 0; i < sizeof S / sizeof S[0]; i++)
    for (int act = 0; act < 3; act++)
      for (int bias = 1; bias >= 0; bias--) {
        char name[48];
        snprintf(name, sizeof name, "dead-%s-%s%s", S[i].tag, acts[act], bias ? "" : "-nobias");
        conv_case cc = conv_layer(name, S[i].C, 1, S[i].K, S[i].k, S[i].stride, 0, S[i].G,
                                  (vconv_activation)act);
        cc.d.in_height = S[i].H;
        cc.d.in_width = S[i].W;
        cc.d.dilation_h = cc.d.dilation_w = S[i].dil;
        cc.d.pad_top = S[i].pt;
        cc.d.pad_bottom = S[i].pb;
        cc.d.pad_left = S[i].pl;
        cc.d.pad_right = S[i].pr;
        cc.nbatches = 2;
        cc.batches[0] = 1;
        cc.batches[1] = 3;
        cc.d.batch = 3;
        cc.bias = bias;
        cc.quiet = 1;
        run_conv_case(&cc);
      }
  print_case("dead outputs", "NCHW+NHWC b1,3", conv_vars, n_conv_vars);
  printf("  outputs checked exactly: direct/im2col %ld / %ld / %ld, Winograd %ld / %ld / %ld "
         "(dead rows only / columns only / both)\n",
         dead_seen[0][0], dead_seen[0][1], dead_seen[0][2], dead_seen[1][0], dead_seen[1][1],
         dead_seen[1][2]);
  if (!(opt_only || opt_case))
    for (int a = 0; a < 2; a++)
      for (int c = 0; c < 3; c++)
        CHECK(dead_seen[a][c] > 0, "no %s output dead in %s was checked",
              a ? "Winograd" : "direct/im2col", c == 0 ? "rows only" : c == 1 ? "columns only" : "both");
}

/* Output sizes and parameter counts of the source documents. */
static void size_and_param_checks(void) {
  printf("== sizes and parameter counts\n");
  struct {
    const char *name;
    int64_t C, HW, K, k, stride, pad, groups, out, params;
    const unsigned char *table;
  } L[] = {
      {"lenet-c1", 1, 32, 6, 5, 1, 0, 1, 28, 156, NULL},
      {"lenet-c3-table", 6, 14, 16, 5, 1, 0, 1, 10, 1516, NULL /* set below */},
      {"lenet-c5", 16, 5, 120, 5, 1, 0, 1, 1, 48120, NULL},
      {"alexnet-conv1", 3, 227, 96, 11, 4, 0, 1, 55, 34944, NULL},
      {"alexnet-conv2", 96, 27, 256, 5, 1, 2, 1, 27, 614656, NULL},
      {"alexnet-conv3", 256, 13, 384, 3, 1, 1, 1, 13, 885120, NULL},
      {"alexnet-conv4", 384, 13, 384, 3, 1, 1, 1, 13, 1327488, NULL},
      {"alexnet-conv5", 384, 13, 256, 3, 1, 1, 1, 13, 884992, NULL},
      /* fully connected layers as convolutions whose output is 1x1 */
      {"alexnet-fc1", 256, 6, 4096, 6, 1, 0, 1, 1, 37752832, NULL},
      {"alexnet-fc2", 4096, 1, 4096, 1, 1, 0, 1, 1, 16781312, NULL},
      {"alexnet-fc3", 4096, 1, 1000, 1, 1, 0, 1, 1, 4097000, NULL},
      /* the two-GPU (Caffe) form */
      {"alexnet-conv2-g2", 96, 27, 256, 5, 1, 2, 2, 27, 307456, NULL},
      {"alexnet-conv4-g2", 384, 13, 384, 3, 1, 1, 2, 13, 663936, NULL},
      {"alexnet-conv5-g2", 384, 13, 256, 3, 1, 1, 2, 13, 442624, NULL},
  };
  static unsigned char table[96];
  test_lenet_c3_table(table);
  L[1].table = table;
  int64_t alex_dense = 0, alex_grouped = 0;
  for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
    vconv_conv2d_desc d;
    vconv_conv2d_desc_init(&d);
    d.batch = 1;
    d.in_channels = L[i].C;
    d.in_height = d.in_width = L[i].HW;
    d.out_channels = L[i].K;
    d.kernel_h = d.kernel_w = L[i].k;
    d.stride_h = d.stride_w = L[i].stride;
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = L[i].pad;
    d.groups = L[i].groups;
    d.connections = L[i].table;
    int64_t oh = -1, ow = -1, pc = -1, pc0 = -1;
    ref_geom g;
    CHECK_STATUS(vconv_conv2d_output_size(&d, &oh, &ow), VCONV_OK);
    CHECK(ref_conv2d_geometry(&d, &g) == REF_OK && g.h.out == L[i].out && g.w.out == L[i].out,
          "%s: reference output size %lld", L[i].name, (long long)g.h.out);
    CHECK(oh == L[i].out && ow == L[i].out, "%s: output %lldx%lld, expected %lld", L[i].name,
          (long long)oh, (long long)ow, (long long)L[i].out);
    CHECK_STATUS(vconv_conv2d_param_count(&d, 1, &pc), VCONV_OK);
    CHECK(pc == L[i].params, "%s: %lld parameters, expected %lld", L[i].name, (long long)pc,
          (long long)L[i].params);
    CHECK_STATUS(vconv_conv2d_param_count(&d, 0, &pc0), VCONV_OK);
    CHECK(pc0 == L[i].params - L[i].K, "%s: %lld weights without bias, expected %lld", L[i].name,
          (long long)pc0, (long long)(L[i].params - L[i].K));
    if (strncmp(L[i].name, "alexnet", 7) == 0) {
      const int grouped_form = strstr(L[i].name, "-g2") != NULL;
      const int has_g2 = strstr(L[i].name, "conv2") || strstr(L[i].name, "conv4") ||
                         strstr(L[i].name, "conv5");
      if (!grouped_form) alex_dense += pc;
      if (grouped_form || !has_g2) alex_grouped += pc;
    }
  }
  CHECK(alex_dense == 62378344, "AlexNet dense total %lld, expected 62,378,344", (long long)alex_dense);
  /* The classic two-GPU AlexNet count. */
  CHECK(alex_grouped == 60965224, "AlexNet grouped total %lld, expected 60,965,224",
        (long long)alex_grouped);
  printf("  AlexNet parameters: dense %lld, 2-group %lld\n", (long long)alex_dense,
         (long long)alex_grouped);

  /* Pooling sizes along both networks: LeNet 28 -> 14, 10 -> 5; AlexNet 55 -> 27 -> 13 -> 6. */
  const int64_t pools[][4] = {{28, 2, 2, 14}, {10, 2, 2, 5}, {55, 3, 2, 27}, {27, 3, 2, 13}, {13, 3, 2, 6}};
  for (size_t i = 0; i < sizeof pools / sizeof pools[0]; i++) {
    vconv_pool2d_desc d;
    vconv_pool2d_desc_init(&d);
    d.batch = d.channels = 1;
    d.in_height = d.in_width = pools[i][0];
    d.window_h = d.window_w = pools[i][1];
    d.stride_h = d.stride_w = pools[i][2];
    int64_t oh = -1, ow = -1;
    CHECK_STATUS(vconv_pool2d_output_size(&d, &oh, &ow), VCONV_OK);
    CHECK(oh == pools[i][3] && ow == pools[i][3], "pool %lld/%lld s%lld: %lld, expected %lld",
          (long long)pools[i][0], (long long)pools[i][1], (long long)pools[i][2], (long long)oh,
          (long long)pools[i][3]);
  }
}

/* ------------------------------------------------------------------------ */
/* Random shapes                                                              */

typedef struct coverage {
  int shapes, too_large, groups, depthwise, table, dilated, strided, nonsquare, big_kernel, nhwc_wide;
  int mode[5], act[3], batch[4];
} coverage;

static int64_t pick_kernel(test_rng *r) {
  const int64_t u = rng_range(r, 0, 9);
  return u < 5 ? rng_range(r, 1, 3) : u < 8 ? rng_range(r, 1, 5) : rng_range(r, 1, 11);
}

/* Fills cc with random shape number idx; conn receives a table when one is used. */
static void gen_conv(uint64_t idx, conv_case *cc, unsigned char *conn, size_t conn_cap) {
  test_rng r;
  rng_seed(&r, opt_seed ^ (0xc0ffee00ull + idx * 0x9e3779b97f4a7c15ull));
  memset(cc, 0, sizeof *cc);
  snprintf(cc->name, sizeof cc->name, "rconv-%llu", (unsigned long long)idx);
  cc->seed = rng_next(&r);
  cc->quiet = 1;
  cc->layouts = 3;
  vconv_conv2d_desc *d = &cc->d;
  vconv_conv2d_desc_init(d);
  const int64_t maxhw = opt_quick ? 23 : 37;
  const int64_t u = rng_range(&r, 0, 99);
  if (u < 20) { /* depthwise, sometimes with a channel multiplier */
    d->in_channels = rng_range(&r, 1, 37);
    d->groups = d->in_channels;
    d->out_channels = d->in_channels * rng_range(&r, 1, 2);
  } else {
    d->groups = u < 55 ? 1 : u < 70 ? 2 : u < 80 ? 3 : rng_range(&r, 4, 5);
    const int64_t cg = rng_chance(&r, 1, 5) ? rng_range(&r, 1, 20) : rng_range(&r, 1, 6);
    const int64_t kg = rng_chance(&r, 1, 4) ? rng_range(&r, 1, 40 / d->groups + 1) : rng_range(&r, 1, 8);
    d->in_channels = cg * d->groups;
    d->out_channels = kg * d->groups;
  }
  d->in_height = rng_range(&r, 1, maxhw);
  d->in_width = rng_chance(&r, 1, 3) ? d->in_height : rng_range(&r, 1, maxhw);
  d->kernel_h = pick_kernel(&r);
  d->kernel_w = rng_chance(&r, 1, 2) ? d->kernel_h : pick_kernel(&r);
  d->stride_h = rng_chance(&r, 1, 2) ? 1 : rng_range(&r, 1, 4);
  d->stride_w = rng_chance(&r, 1, 2) ? d->stride_h : rng_range(&r, 1, 4);
  d->dilation_h = rng_chance(&r, 3, 5) ? 1 : rng_range(&r, 1, 3);
  d->dilation_w = rng_chance(&r, 1, 2) ? d->dilation_h : rng_range(&r, 1, 3);
  const int64_t m = rng_range(&r, 0, 99);
  d->padding_mode = m < 55 ? VCONV_PADDING_EXPLICIT : m < 70 ? VCONV_PADDING_VALID
                    : m < 80 ? VCONV_PADDING_SAME : m < 90 ? VCONV_PADDING_SAME_LOWER
                    : VCONV_PADDING_FULL;
  /* Explicit padding up to the dilated kernel extent and a little beyond, so
   * that some windows lie entirely in the padding. */
  const int64_t kh = (d->kernel_h - 1) * d->dilation_h + 1, kw = (d->kernel_w - 1) * d->dilation_w + 1;
  d->pad_top = rng_range(&r, 0, kh < 12 ? kh : 12);
  d->pad_bottom = rng_range(&r, 0, kh < 12 ? kh : 12);
  d->pad_left = rng_range(&r, 0, kw < 12 ? kw : 12);
  d->pad_right = rng_range(&r, 0, kw < 12 ? kw : 12);
  if (rng_chance(&r, 1, 4)) d->pad_top = d->pad_bottom = d->pad_left = d->pad_right = 0;
  d->batch = rng_range(&r, 1, 3);
  const int64_t a = rng_range(&r, 0, 9);
  d->activation = a < 4 ? VCONV_ACTIVATION_NONE : a < 7 ? VCONV_ACTIVATION_RELU : VCONV_ACTIVATION_CLAMP;
  d->act_min = (float)rng_range(&r, -8, 0) / 8;
  d->act_max = rng_chance(&r, 1, 10) ? d->act_min : (float)rng_range(&r, 0, 8) / 8;
  cc->bias = rng_chance(&r, 4, 5);
  const int64_t Cg = d->in_channels / d->groups;
  if (Cg > 1 && rng_chance(&r, 1, 6) && (size_t)(d->out_channels * Cg) <= conn_cap) {
    for (int64_t k = 0; k < d->out_channels; k++) {
      int any = 0;
      for (int64_t c = 0; c < Cg; c++) any |= conn[k * Cg + c] = (unsigned char)rng_chance(&r, 1, 2);
      if (!any) conn[k * Cg + rng_range(&r, 0, Cg - 1)] = (unsigned char)rng_range(&r, 1, 255);
    }
    d->connections = conn;
  }
  cc->nbatches = 1;
  cc->batches[0] = (int)d->batch;
}

static void random_conv_cases(void) {
  const int target = 300;
  const double budget = opt_quick ? 1.5e5 : 1.0e6; /* multiply-adds per shape, all batches */
  printf("== %d random convolution shapes (seed %#llx, at most %.0f MACs each)\n", target,
         (unsigned long long)opt_seed, budget);
  reset_case(conv_vars, n_conv_vars);
  coverage cov;
  memset(&cov, 0, sizeof cov);
  static unsigned char conn[4096];
  for (uint64_t idx = 0; cov.shapes < target && idx < 100000; idx++) {
    conv_case cc;
    gen_conv(idx, &cc, conn, sizeof conn);
    const vconv_conv2d_desc *d = &cc.d;
    ref_geom g;
    const int rg = ref_conv2d_geometry(d, &g);
    if (rg == REF_OK) {
      const double macs = (double)d->batch * (double)d->out_channels * (double)g.h.out *
                          (double)g.w.out * (double)(d->in_channels / d->groups) *
                          (double)d->kernel_h * (double)d->kernel_w;
      if (macs > budget) continue;
    }
    run_conv_case(&cc); /* statistics accumulate over the whole section */
    if (rg != REF_OK) {
      cov.too_large++;
      continue;
    }
    cov.shapes++;
    cov.groups += d->groups > 1 && d->groups < d->in_channels;
    cov.depthwise += d->groups == d->in_channels && d->in_channels > 1;
    cov.table += d->connections != NULL;
    cov.dilated += d->dilation_h > 1 || d->dilation_w > 1;
    cov.strided += d->stride_h > 1 || d->stride_w > 1;
    cov.nonsquare += d->kernel_h != d->kernel_w;
    cov.big_kernel += d->kernel_h >= 9 || d->kernel_w >= 9;
    cov.nhwc_wide += d->out_channels > 16 && d->out_channels % 16 != 0;
    cov.mode[d->padding_mode]++;
    cov.act[d->activation]++;
    cov.batch[d->batch]++;
  }
  print_case("random conv", "NCHW+NHWC", conv_vars, n_conv_vars);
  printf("  coverage: %d shapes (+%d kernel-too-large checked): groups %d, depthwise %d, table %d, "
         "dilated %d, strided %d, non-square kernel %d, kernel >= 9 %d, K > 16 not a multiple %d; "
         "modes %d/%d/%d/%d/%d, activations %d/%d/%d, batches %d/%d/%d\n",
         cov.shapes, cov.too_large, cov.groups, cov.depthwise, cov.table, cov.dilated, cov.strided,
         cov.nonsquare, cov.big_kernel, cov.nhwc_wide, cov.mode[0], cov.mode[1], cov.mode[2],
         cov.mode[3], cov.mode[4], cov.act[0], cov.act[1], cov.act[2], cov.batch[1], cov.batch[2], cov.batch[3]);
  if (!(opt_only || opt_case)) {
    /* The generator must keep exercising every feature: a change that quietly
     * drops one would leave that code untested. */
    CHECK(cov.shapes >= target, "only %d random shapes", cov.shapes);
    CHECK(cov.too_large >= 5 && cov.groups >= 20 && cov.depthwise >= 20 && cov.table >= 10 &&
              cov.dilated >= 30 && cov.strided >= 30 && cov.nonsquare >= 30 && cov.big_kernel >= 3 &&
              cov.nhwc_wide >= 5,
          "random conv coverage too thin");
    for (int i = 0; i < 5; i++) CHECK(cov.mode[i] >= 20, "padding mode %d: %d shapes", i, cov.mode[i]);
    for (int i = 0; i < 3; i++) CHECK(cov.act[i] >= 20, "activation %d: %d shapes", i, cov.act[i]);
  }
}

static void gen_pool(uint64_t idx, pool_case *pc) {
  test_rng r;
  rng_seed(&r, opt_seed ^ (0xb001ull + idx * 0xd1342543de82ef95ull));
  memset(pc, 0, sizeof *pc);
  snprintf(pc->name, sizeof pc->name, "rpool-%llu", (unsigned long long)idx);
  pc->seed = rng_next(&r);
  pc->quiet = 1;
  pc->layouts = 3;
  vconv_pool2d_desc *d = &pc->d;
  vconv_pool2d_desc_init(d);
  const int64_t maxhw = opt_quick ? 23 : 37;
  d->batch = rng_range(&r, 1, 3);
  d->channels = rng_chance(&r, 1, 4) ? rng_range(&r, 17, 70) : rng_range(&r, 1, 16);
  d->in_height = rng_range(&r, 1, maxhw);
  d->in_width = rng_chance(&r, 1, 3) ? d->in_height : rng_range(&r, 1, maxhw);
  d->kind = (vconv_pool_kind)rng_range(&r, 0, 2);
  d->window_h = rng_range(&r, 1, 7);
  d->window_w = rng_chance(&r, 1, 2) ? d->window_h : rng_range(&r, 1, 7);
  d->stride_h = rng_range(&r, 1, 4);
  d->stride_w = rng_chance(&r, 1, 2) ? d->stride_h : rng_range(&r, 1, 4);
  const int64_t m = rng_range(&r, 0, 9);
  d->padding_mode = m < 6 ? VCONV_PADDING_EXPLICIT : m < 8 ? VCONV_PADDING_VALID
                    : m < 9 ? VCONV_PADDING_SAME : VCONV_PADDING_SAME_LOWER;
  d->pad_top = rng_range(&r, 0, d->window_h - 1);
  d->pad_bottom = rng_range(&r, 0, d->window_h - 1);
  d->pad_left = rng_range(&r, 0, d->window_w - 1);
  d->pad_right = rng_range(&r, 0, d->window_w - 1);
  d->ceil_mode = rng_chance(&r, 1, 3);
  pc->nan_pct = rng_chance(&r, 1, 5) ? 3 : 0;
  pc->ninf_pct = d->kind == VCONV_POOL_MAX && rng_chance(&r, 1, 4) ? 10 : 0;
  pc->nbatches = 1;
  pc->batches[0] = (int)d->batch;
}

static void random_pool_cases(void) {
  const int target = 100;
  printf("== %d random pooling shapes\n", target);
  reset_case(pool_vars, n_pool_vars);
  int shapes = 0, too_large = 0, ceil_extra = 0, kinds[3] = {0, 0, 0}, nan_cases = 0;
  for (uint64_t idx = 0; shapes < target && idx < 100000; idx++) {
    pool_case pc;
    gen_pool(idx, &pc);
    ref_geom g1, g2;
    const int rg = ref_pool2d_geometry(&pc.d, &g2);
    run_pool_case(&pc);
    if (rg != REF_OK) {
      too_large++;
      continue;
    }
    shapes++;
    kinds[pc.d.kind]++;
    nan_cases += pc.nan_pct > 0;
    /* Did ceil mode add a window here?  (It must sometimes, or the rule is untested.) */
    vconv_pool2d_desc fl = pc.d;
    fl.ceil_mode = 0;
    if (pc.d.ceil_mode && ref_pool2d_geometry(&fl, &g1) == REF_OK)
      ceil_extra += g2.h.out > g1.h.out || g2.w.out > g1.w.out;
  }
  print_case("random pool", "NCHW+NHWC", pool_vars, n_pool_vars);
  printf("  coverage: %d shapes (+%d window-too-large checked): max %d, avg-incl %d, avg-excl %d, "
         "ceil mode adding a window %d, with NaN %d\n",
         shapes, too_large, kinds[0], kinds[1], kinds[2], ceil_extra, nan_cases);
  if (!(opt_only || opt_case))
    CHECK(too_large >= 1 && kinds[0] >= 15 && kinds[1] >= 15 && kinds[2] >= 15 && ceil_extra >= 5 &&
              nan_cases >= 5,
          "random pool coverage too thin");
}

/* ------------------------------------------------------------------------ */
/* Winograd shapes                                                            */

/*
 * Shapes every Winograd tile applies to (3x3 or 5x5, stride 1, dilation 1),
 * with random sizes, so that tile counts, ragged edges, channel counts and
 * canvases (batch 1 and a larger batch, both run) are multiples of nothing in
 * particular; any padding mode, groups, activations, bias or none.  Plus two
 * named shapes whose tiles do not fit one block of a task (V_BYTES in
 * kernels/winograd/winograd.c), so that block borders are crossed too.
 */
static void winograd_cases(void) {
  const int target = 80;
  const double budget = opt_quick ? 1.5e5 : 1.0e6;
  printf("== %d random Winograd shapes (3x3 / 5x5, stride 1)\n", target);
  reset_case(conv_vars, n_conv_vars);
  int shapes = 0, k5 = 0, grouped = 0, padded = 0, k_big = 0;
  for (uint64_t idx = 0; shapes < target && idx < 100000; idx++) {
    test_rng r;
    rng_seed(&r, opt_seed ^ (0x3140ull + idx * 0xbf58476d1ce4e5b9ull));
    conv_case cc;
    memset(&cc, 0, sizeof cc);
    snprintf(cc.name, sizeof cc.name, "rwino-%llu", (unsigned long long)idx);
    cc.seed = rng_next(&r);
    cc.quiet = 1;
    cc.layouts = 3;
    vconv_conv2d_desc *d = &cc.d;
    vconv_conv2d_desc_init(d);
    const int64_t k = rng_chance(&r, 2, 5) ? 5 : 3, maxhw = opt_quick ? 23 : 41;
    d->kernel_h = d->kernel_w = k;
    d->groups = rng_chance(&r, 3, 5) ? 1 : rng_range(&r, 2, 3);
    d->in_channels = d->groups * rng_range(&r, 1, opt_quick ? 12 : 24);
    d->out_channels = d->groups * (rng_chance(&r, 1, 3) ? rng_range(&r, 17, 70) : rng_range(&r, 1, 16));
    d->in_height = rng_range(&r, 1, maxhw);
    d->in_width = rng_chance(&r, 1, 3) ? d->in_height : rng_range(&r, 1, maxhw);
    const int64_t mode = rng_range(&r, 0, 9);
    d->padding_mode = mode < 6 ? VCONV_PADDING_EXPLICIT : mode < 7 ? VCONV_PADDING_VALID
                      : mode < 9 ? VCONV_PADDING_SAME : VCONV_PADDING_FULL;
    d->pad_top = rng_range(&r, 0, k);
    d->pad_bottom = rng_range(&r, 0, k);
    d->pad_left = rng_range(&r, 0, k);
    d->pad_right = rng_range(&r, 0, k);
    const int64_t act = rng_range(&r, 0, 2);
    d->activation = (vconv_activation)act;
    d->act_min = -0.25f;
    d->act_max = 0.5f;
    cc.bias = rng_chance(&r, 3, 4);
    cc.nbatches = 2;
    cc.batches[0] = 1;
    cc.batches[1] = (int)rng_range(&r, 2, 5);
    d->batch = cc.batches[1];
    ref_geom g;
    if (ref_conv2d_geometry(d, &g) != REF_OK) continue;
    const double macs = (double)(1 + d->batch) * (double)d->out_channels * (double)g.h.out *
                        (double)g.w.out * (double)(d->in_channels / d->groups) * (double)(k * k);
    if (macs > budget) continue;
    run_conv_case(&cc);
    shapes++;
    k5 += k == 5;
    grouped += d->groups > 1;
    padded += g.h.pad_begin + g.h.pad_end + g.w.pad_begin + g.w.pad_end > 0;
    k_big += d->out_channels / d->groups > 16;
  }
  print_case("random winograd", "NCHW+NHWC b1,b2-5", conv_vars, n_conv_vars);
  printf("  coverage: %d shapes: 5x5 %d, grouped %d, padded %d, more than 16 output channels per group %d\n",
         shapes, k5, grouped, padded, k_big);
  if (!(opt_only || opt_case))
    CHECK(shapes >= target && k5 >= 10 && grouped >= 10 && padded >= 30 && k_big >= 10,
          "random Winograd coverage too thin");

  /* Many tiles, few output channels: more than one block of tiles per task
   * (VCONV_WINO_BLOCK_BYTES) for every tile (F(2x2, 3x3) alone in quick mode). */
  for (int k = 3; k <= 5; k += 2) {
    conv_case cc = conv_layer(k == 3 ? "wino-blocks-3x3" : "wino-blocks-5x5", 128,
                              opt_quick ? 45 : 67, 3, k, 1, k / 2, 1, VCONV_ACTIVATION_NONE);
    cc.nbatches = 1;
    cc.batches[0] = 2;
    cc.d.batch = 2;
    cc.d.pad_right = 0;
    for (int t = 0; t < wino_tile_count(); t++) {
      int mh, mw, r;
      vconv_algorithm al;
      wino_tile_shape(t, &mh, &mw, &r, &al);
      if (r != k || (opt_quick && mh > 2)) continue;
      vconv_wino_geom gm;
      vconv_wino_geometry(mh, mw, k, 2, cc.d.in_height, cc.d.in_width, k / 2, k / 2, k / 2, 0, &gm);
      const int64_t per_tile = gm.ah * gm.aw * 128 * 4;
      CHECK(gm.tiles * per_tile > VCONV_WINO_BLOCK_BYTES, "%s: F(%dx%d, %dx%d) fits one block",
            cc.name, mh, mw, k, k);
    }
    named_conv(&cc);
  }
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv) {
  /* Line-buffered, so a crash still shows how far the test got. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  opt_quick = env_flag("VCONV_PARITY_QUICK");
  opt_require_all = env_flag("VCONV_PARITY_REQUIRE_ALL");
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) opt_quick = 1;
    else if (strcmp(argv[i], "--verbose") == 0) opt_verbose = 1;
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) opt_only = argv[++i];
    else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc) opt_case = argv[++i];
    else {
      fprintf(stderr, "usage: %s [--quick] [--only SUBSTRING | --case NAME] [--verbose]\n", argv[0]);
      return 2;
    }
  }
  const char *tier = getenv("VCONV_PARITY_TIER");
  if (tier && *tier) {
    vconv_isa t;
    if (vconv_isa_from_name(tier, &t) != VCONV_OK) {
      printf("FAIL: VCONV_PARITY_TIER=%s is not a tier name\n", tier);
      return 1;
    }
    opt_tier = (int)t;
  }
  const char *seed = getenv("VCONV_PARITY_SEED");
  if (seed && *seed) opt_seed = strtoull(seed, NULL, 0);
  printf("vconv %s parity suite%s%s%s%s\n", vconv_version(), opt_quick ? ", quick" : "",
         opt_tier >= 0 ? ", tier " : "", opt_tier >= 0 ? tier : "",
         opt_require_all ? ", every built tier required" : "");

  const double t0 = test_now();
  setup_variants();
  double t = test_now();
  golden_cases();
  size_and_param_checks();
  lenet_cases();
  printf("  (%.2f s)\n", test_now() - t);
  t = test_now();
  alexnet_cases();
  wide_strided_cases();
  dead_output_cases();
  printf("  (%.2f s)\n", test_now() - t);
  t = test_now();
  random_conv_cases();
  printf("  (%.2f s)\n", test_now() - t);
  t = test_now();
  winograd_cases();
  printf("  (%.2f s)\n", test_now() - t);
  t = test_now();
  random_pool_cases();
  printf("  (%.2f s)\n", test_now() - t);

  printf("== summary\n");
  int untested = 0;
  for (int k = 0; k < 2; k++) {
    variant *v = k ? pool_vars : conv_vars;
    const int nv = k ? n_pool_vars : n_conv_vars;
    for (int i = 0; i < nv; i++) {
      if (!v[i].active) continue;
      printf("  %-6s %-30s runs %6ld  unsupported %5ld  %7.2f s  max err/tol %9.3g  %s\n",
             k ? "pool" : "conv", v[i].label, v[i].runs, v[i].unsupported, v[i].seconds, v[i].max_ratio,
             v[i].failed ? "FAIL" : v[i].runs ? "ok" : "NEVER RUN");
      /* A built variant that no shape exercised is an untested kernel. */
      if (!(opt_only || opt_case) && v[i].runs == 0) untested++;
    }
  }
  CHECK(untested == 0, "%d variants were never run", untested);
  printf("  reference %.2f s\n", ref_seconds);
  printf("total %.1f s\n", test_now() - t0);
  return test_summary("test_parity");
}
