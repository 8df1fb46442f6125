/*
 * Backward convolution parity: every backward kernel on every tier that runs
 * here (create_for_isa on each enumerated variant), against the float64
 * reference gradients (bwd_ref.c) with the forward error bound of ref.c,
 * ref_conv_tol(n, a): each gradient element is a sum of n - 1 products of two
 * floats (plus a bias for the transposed convolution), the same form as a
 * forward output, so the same derivation holds for any summation order.
 *
 * Beyond the comparison with the reference:
 *   - the reference itself is checked against finite differences of the
 *     forward reference (ref_conv2d) on small shapes: the loss
 *     L = <conv(x, w) + b, g> is linear in each of x, w and b, so a central
 *     difference is its derivative up to the forward reference's own rounding,
 *     whose bound (ref.c) gives the tolerance; the kernels are compared with
 *     the same differences;
 *   - the adjoint identity <conv(x), dy> = <x, bwd_data(dy)> with our own
 *     forward convolution and every data kernel, within the sum of the two
 *     sides' derived bounds;
 *   - results are the same bits on one and two threads, with and without
 *     grad_bias, and with a caller's or the library's workspace; guard zones
 *     around every output; unconnected weights are NaN (never read) and their
 *     gradients exactly 0;
 *   - transposed convolutions (output_padding, SAME modes, groups) against
 *     their own reference, written from ONNX's definition;
 *   - bad input gets its own status.
 * Cases: LeNet-5 and AlexNet conv layers (channels / 8 under --quick), and
 * seeded random shapes (>= 200) with odd sizes, strides 1-4, dilation,
 * groups and depthwise, asymmetric padding and every padding mode, both
 * layouts, connection tables.
 *
 * Usage: test_backward [--quick] [--verbose]; VCONV_PARITY_QUICK=1 is
 * --quick, VCONV_PARITY_TIER=<tier> tests only that tier's variants.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwd_ref.h"
#include "ref.h"
#include "util.h"
#include "wino_ref.h"

static int opt_quick, opt_verbose, opt_tier = -1;
static const vconv_parallel two_threads = {two_thread_parallel_for, NULL, 2};
static test_rng rng;

typedef struct bvar {
  char name[80];
  const char *plan; /* a path forced by name (kernels with several), or NULL: the kernel's choice */
  int base;         /* with plan: the entry of the same kernel without one */
  char chosen[80];  /* without plan: the plan the kernel chose on the current shape */
  vconv_bwd_kind kind;
  vconv_algorithm algo;
  vconv_isa isa;
  int active;
  double worst; /* largest |err| / tol seen */
  long runs;
} bvar;

#define MAX_VARS 64
static bvar vars[MAX_VARS];
static int nvars;

static void setup_variants(void) {
  const size_t n = vconv_conv2d_bwd_variant_count();
  CHECK(n >= 4 && n < MAX_VARS, "backward variant count %zu", n);
  int seen = 0;
  for (size_t i = 0; i < n && i < MAX_VARS; i++) {
    bvar *v = &vars[nvars++];
    CHECK_STATUS(vconv_conv2d_bwd_variant(i, &v->kind, &v->algo, &v->isa), VCONV_OK);
    snprintf(v->name, sizeof v->name, "bwd_%s_%s/%s", v->kind == VCONV_BWD_DATA ? "data" : "weights",
             v->algo == VCONV_ALGO_DIRECT ? "direct" : v->algo == VCONV_ALGO_WINOGRAD ? "winograd" : "gemm",
             vconv_isa_name(v->isa));
    v->active = vconv_isa_available(v->isa) && (opt_tier < 0 || (int)v->isa == opt_tier);
    seen |= v->active && opt_tier >= 0;
    if (!vconv_isa_available(v->isa)) printf("SKIP %s: tier cannot run here\n", v->name);
  }
  if (opt_tier >= 0) CHECK(seen, "VCONV_PARITY_TIER: no variant of that tier runs here");
  CHECK_STATUS(vconv_conv2d_bwd_variant(n, &vars[0].kind, &vars[0].algo, &vars[0].isa),
               VCONV_ERR_INVALID_ARGUMENT);
  /* A kernel with several paths: each path forced by its plan name too, so
   * that every path runs whatever the kernel's own choice on a shape. */
  const int nv = nvars;
  for (int i = 0; i < nv; i++) {
    const size_t len = strlen(vars[i].name);
    size_t paths = 0;
    for (size_t j = 0; j < vconv_conv2d_bwd_plan_count(); j++) {
      const char *pn = vconv_conv2d_bwd_plan_name(j);
      paths += strncmp(pn, vars[i].name, len) == 0 && pn[len] == ':';
    }
    for (size_t j = 0; j < vconv_conv2d_bwd_plan_count() && paths > 1 && nvars < MAX_VARS; j++) {
      const char *pn = vconv_conv2d_bwd_plan_name(j);
      if (strncmp(pn, vars[i].name, len) != 0 || pn[len] != ':') continue;
      bvar *v = &vars[nvars++];
      *v = vars[i];
      v->plan = pn;
      v->base = i;
      snprintf(v->name, sizeof v->name, "%s", pn);
    }
  }
}

/* Shapes a forced path refuses (documented with the path): "rows" takes
 * stride 1 only, "pixels" stride 1 and NCHW, where a stride beyond the
 * padded extent counts as that extent (vconv.h, "Limits"): 1 on an axis of
 * one padded pixel. */
static int path_applies(const bvar *v, const vconv_conv2d_desc *d) {
  const char *colon = v->plan ? strchr(v->plan, ':') : NULL;
  if (!colon || (strcmp(colon + 1, "rows") != 0 && strcmp(colon + 1, "pixels") != 0)) return 1;
  if (strcmp(colon + 1, "pixels") == 0 && d->layout != VCONV_LAYOUT_NCHW) return 0;
  ref_geom g;
  if (ref_conv2d_geometry(d, &g) != REF_OK) return 0;
  const int64_t ph = d->in_height + g.h.pad_begin + g.h.pad_end;
  const int64_t pw = d->in_width + g.w.pad_begin + g.w.pad_end;
  return (d->stride_h == 1 || ph == 1) && (d->stride_w == 1 || pw == 1);
}

/* ---- comparisons -------------------------------------------------------- */

static int nan_or_over(double got, double want, double tol, double *ratio) {
  const double e = fabs(got - want);
  if (!(e <= tol)) {
    *ratio = isnan(e) ? INFINITY : e / tol;
    return 1;
  }
  if (tol > 0 && e / tol > *ratio) *ratio = e / tol;
  return 0;
}

/* got vs ref within ref_conv_tol, or within tol[i] where tol is not NULL
 * (a Winograd plan's bound); returns failures, updates the variant's worst ratio. */
static long compare_tol(bvar *v, const char *what, const char *cname, const float *got,
                        const double *ref, const double *a, const int32_t *n, const double *tol,
                        int64_t count) {
  long bad = 0;
  double worst = 0;
  for (int64_t i = 0; i < count; i++) {
    double r = 0;
    const double t = tol ? tol[i] : ref_conv_tol(n[i], a[i]);
    if (nan_or_over(got[i], ref[i], t, &r)) {
      if (bad++ < 3)
        test_fail(__FILE__, __LINE__, "%s %s %s[%lld] = %.9g, reference %.17g, tol %.3g", cname,
                  v->name, what, (long long)i, (double)got[i], ref[i], t);
      worst = INFINITY;
    } else if (r > worst) {
      worst = r;
    }
  }
  test_checks++;
  if (worst > v->worst) v->worst = worst;
  v->runs++;
  return bad;
}

static long compare(bvar *v, const char *what, const char *cname, const float *got,
                    const double *ref, const double *a, const int32_t *n, int64_t count) {
  return compare_tol(v, what, cname, got, ref, a, n, NULL, count);
}

/* The Winograd bounds of one case, per tile: every tier's plan of a tile
 * runs the same convolution, so its bound is computed once. */
typedef struct tol_cache {
  char tile[16][24];
  double *tol[16];
  int n;
} tol_cache;

static const double *cached_tols(tol_cache *c, const char *plan, const wino_bwd_geom *e,
                                 const float *dy, const float *w, const float *bias, const double *a,
                                 const int32_t *n, int64_t count) {
  const char *colon = plan ? strchr(plan, ':') : NULL;
  if (!colon) return NULL;
  for (int i = 0; i < c->n; i++)
    if (strcmp(c->tile[i], colon + 1) == 0) return c->tol[i];
  double *t = c->n < 16 ? malloc((size_t)count * sizeof(double)) : NULL;
  if (!t || !wino_bwd_data_tols(plan, e, dy, w, bias, a, n, t)) {
    free(t);
    return NULL;
  }
  snprintf(c->tile[c->n], sizeof c->tile[0], "%s", colon + 1);
  c->tol[c->n++] = t;
  return t;
}

static void free_tols(tol_cache *c) {
  for (int i = 0; i < c->n; i++) free(c->tol[i]);
  c->n = 0;
}

/* The status a Winograd data plan must give on geometry e: OK where the
 * convolution has unit stride and dilation and no table (unit), its kernel
 * is 3x3 or 5x5, dX's padding lies within the kernel and the tile's kernel
 * size matches (a forced tile; the kernel's own choice: one of its tiles),
 * else UNSUPPORTED_ALGORITHM.  *may_refuse: WINOGRAD's own choice keeps
 * forward's accuracy rule, which may refuse every tile where dY is smaller
 * than the kernel (vconv.h). */
static vconv_status winograd_want(const char *plan, int unit, const wino_bwd_geom *e, int *may_refuse) {
  const int64_t r = e->R;
  int ok = unit && e->S == r && (r == 3 || r == 5) && e->pt <= r - 1 && e->pl <= r - 1 &&
           e->H - e->P - (r - 1 - e->pt) + r - 1 >= 0 && e->W - e->Q - (r - 1 - e->pl) + r - 1 >= 0;
  const char *colon = plan ? strchr(plan, ':') : NULL;
  if (colon) ok = ok && strstr(colon, r == 3 ? "_3x3" : "_5x5") != NULL;
  *may_refuse = ok && !colon && (e->P < r || e->Q < e->S);
  return ok ? VCONV_OK : VCONV_ERR_UNSUPPORTED_ALGORITHM;
}

static void check_same_bits(const char *cname, const char *name, const char *what, const float *a,
                            const float *b, int64_t n) {
  int64_t i = 0;
  while (i < n && memcmp(&a[i], &b[i], sizeof(float)) == 0) i++;
  CHECK(i == n, "%s %s %s: element %lld differs between runs (%.9g vs %.9g)", cname, name, what,
        (long long)i, i < n ? (double)a[i] : 0.0, i < n ? (double)b[i] : 0.0);
}

/* ---- one convolution: both gradients on every variant -------------------- */

typedef struct tensors {
  tbuf x, w, dy, b;
  int64_t nx, nw, ny, P, Q;
} tensors;

static int make_tensors(const vconv_conv2d_desc *d, tensors *t) {
  ref_geom g;
  if (ref_conv2d_geometry(d, &g) != REF_OK) return 0;
  t->P = g.h.out;
  t->Q = g.w.out;
  const int64_t Cg = d->in_channels / d->groups;
  t->nx = d->batch * d->in_channels * d->in_height * d->in_width;
  t->ny = d->batch * d->out_channels * t->P * t->Q;
  t->nw = d->out_channels * Cg * d->kernel_h * d->kernel_w;
  if (!tbuf_alloc_in(&t->x, (size_t)t->nx) || !tbuf_alloc_in(&t->w, (size_t)t->nw) ||
      !tbuf_alloc_in(&t->dy, (size_t)t->ny) || !tbuf_alloc_in(&t->b, (size_t)d->out_channels))
    return 0;
  for (int64_t i = 0; i < t->nx; i++) t->x.data[i] = rng_sym(&rng);
  for (int64_t i = 0; i < t->ny; i++) t->dy.data[i] = rng_sym(&rng);
  for (int64_t i = 0; i < d->out_channels; i++) t->b.data[i] = rng_sym(&rng);
  const int64_t RS = d->kernel_h * d->kernel_w;
  for (int64_t i = 0; i < t->nw; i++) {
    const int64_t pair = i / RS;
    t->w.data[i] = d->connections && !d->connections[pair] ? NAN : rng_sym(&rng);
  }
  return 1;
}

static void free_tensors(tensors *t) {
  tbuf_free(&t->x);
  tbuf_free(&t->w);
  tbuf_free(&t->dy);
  tbuf_free(&t->b);
}

/* One data operator: serial with the library's workspace, two threads with
 * the caller's (misaligned); same bits, guards intact. */
static int run_data(const char *cname, const bvar *v, vconv_conv2d_bwd_op *op, const float *dy,
                    tbuf *o1, tbuf *o2) {
  const size_t wsn = vconv_conv2d_bwd_workspace_size(op, &two_threads);
  unsigned char *ws = wsn ? malloc(wsn + 1) : NULL;
  CHECK_STATUS(vconv_conv2d_bwd_data_run(op, dy, o1->data, NULL, 0, NULL), VCONV_OK);
  CHECK_STATUS(vconv_conv2d_bwd_data_run(op, dy, o2->data, ws ? ws + 1 : NULL, wsn, &two_threads),
               VCONV_OK);
  free(ws);
  CHECK(tbuf_guards_ok(o1) && tbuf_guards_ok(o2), "%s %s: write outside grad_input", cname, v->name);
  check_same_bits(cname, v->name, "grad_input (1 vs 2 threads)", o1->data, o2->data, (int64_t)o1->n);
  return 1;
}

/* Sum of x_i y_i and its magnitude, in double. */
static void dot(const float *x, const double *yd, const float *yf, int64_t n, double *s, double *m) {
  *s = *m = 0;
  for (int64_t i = 0; i < n; i++) {
    const double p = (double)x[i] * (yd ? yd[i] : (double)yf[i]);
    *s += p;
    *m += fabs(p);
  }
}

static double gamma_d(double n) { return ref_gamma(n, 0x1p-53); }

/* The finite-difference checks (small shapes): the references, and our
 * data (dx_ours) and weight (dw_ours, db_ours) gradients, against central
 * differences of L = <conv_ref(x, w, b), g>. */
typedef struct fd_ctx {
  const vconv_conv2d_desc *d;
  tensors *t;
  double *y, *a;
  int32_t *n;
} fd_ctx;

/* L and a bound on its rounding error, with x, w, bias as given. */
static double fd_loss(fd_ctx *c, const float *x, const float *w, const float *bias, double *err) {
  ref_conv2d(c->d, x, w, bias, c->y, c->a, c->n);
  double l = 0, m = 0, e = 0;
  for (int64_t o = 0; o < c->t->ny; o++) {
    const double g = c->t->dy.data[o];
    l += c->y[o] * g;
    m += fabs(c->y[o] * g);
    e += fabs(g) * gamma_d(c->n[o]) * c->a[o];
  }
  *err = e + gamma_d((double)c->t->ny + 2) * m;
  return l;
}

#define FD_H 0.0625 /* a power of two: x +- h is exact for |x| <= 1 on the 2^-23 grid */
#define FD_SAMPLES 12

static void fd_check(const char *cname, const vconv_conv2d_desc *d, tensors *t, const double *dxr,
                     const double *axr, const int32_t *nxr, const float *dx_ours,
                     const double *dwr, const double *awr, const int32_t *nwr, const float *dw_ours,
                     const double *dbr, const double *abr, const int32_t *nbr, const float *db_ours) {
  fd_ctx c = {d, t, malloc((size_t)t->ny * sizeof(double)), malloc((size_t)t->ny * sizeof(double)),
              malloc((size_t)t->ny * sizeof(int32_t))};
  float *x = malloc((size_t)t->nx * sizeof(float)), *w = malloc((size_t)t->nw * sizeof(float));
  float *b = malloc((size_t)d->out_channels * sizeof(float));
  memcpy(x, t->x.data, (size_t)t->nx * sizeof(float));
  memcpy(w, t->w.data, (size_t)t->nw * sizeof(float));
  memcpy(b, t->b.data, (size_t)d->out_channels * sizeof(float));
  const int64_t RS = d->kernel_h * d->kernel_w;
  for (int which = 0; which < 3; which++) {
    const int64_t count = which == 0 ? t->nx : which == 1 ? t->nw : d->out_channels;
    for (int s = 0; s < FD_SAMPLES && s < count; s++) {
      const int64_t i = count <= FD_SAMPLES ? s : rng_range(&rng, 0, count - 1);
      if (which == 1 && d->connections && !d->connections[i / RS]) continue;
      float *p = which == 0 ? &x[i] : which == 1 ? &w[i] : &b[i];
      const float keep = *p;
      double ep, em;
      *p = keep + (float)FD_H;
      const double lp = fd_loss(&c, x, w, which == 2 ? b : NULL, &ep);
      *p = keep - (float)FD_H;
      const double lm = fd_loss(&c, x, w, which == 2 ? b : NULL, &em);
      *p = keep;
      const double fd = (lp - lm) / (2 * FD_H);
      const double fd_tol = (ep + em) / (2 * FD_H) + fabs(fd) * 0x1p-52;
      const double ref = which == 0 ? dxr[i] : which == 1 ? dwr[i] : dbr[i];
      const double tol_ours = which == 0 ? ref_conv_tol(nxr[i], axr[i])
                              : which == 1 ? ref_conv_tol(nwr[i], awr[i])
                                           : ref_conv_tol(nbr[i], abr[i]);
      const float ours = which == 0 ? dx_ours[i] : which == 1 ? dw_ours[i] : db_ours[i];
      const char *nm = which == 0 ? "dx" : which == 1 ? "dw" : "db";
      CHECK(fabs(ref - fd) <= fd_tol, "%s: reference %s[%lld] = %.17g, finite difference %.17g (tol %.3g)",
            cname, nm, (long long)i, ref, fd, fd_tol);
      CHECK(fabs((double)ours - fd) <= fd_tol + tol_ours,
            "%s: kernel %s[%lld] = %.9g, finite difference %.17g (tol %.3g)", cname, nm, (long long)i,
            (double)ours, fd, fd_tol + tol_ours);
    }
  }
  free(x);
  free(w);
  free(b);
  free(c.y);
  free(c.a);
  free(c.n);
}

static void describe(const vconv_conv2d_desc *d, char *buf, size_t n) {
  snprintf(buf, n,
           "N%lld C%lld %lldx%lld K%lld k%lldx%lld s%lld,%lld d%lld,%lld pad %lld,%lld,%lld,%lld mode %d "
           "G%lld %s%s",
           (long long)d->batch, (long long)d->in_channels, (long long)d->in_height,
           (long long)d->in_width, (long long)d->out_channels, (long long)d->kernel_h,
           (long long)d->kernel_w, (long long)d->stride_h, (long long)d->stride_w,
           (long long)d->dilation_h, (long long)d->dilation_w, (long long)d->pad_top,
           (long long)d->pad_bottom, (long long)d->pad_left, (long long)d->pad_right,
           (int)d->padding_mode, (long long)d->groups,
           d->layout == VCONV_LAYOUT_NHWC ? "NHWC" : "NCHW", d->connections ? " table" : "");
}

/* Every variant of both gradients on one descriptor; fd: finite differences too. */
static void conv_case(const char *cname, const vconv_conv2d_desc *d, int fd) {
  tensors t;
  memset(&t, 0, sizeof t);
  if (!make_tensors(d, &t)) {
    test_fail(__FILE__, __LINE__, "%s: no geometry or out of memory", cname);
    free_tensors(&t);
    return;
  }
  const int64_t K = d->out_channels;
  double *dxr = malloc((size_t)t.nx * sizeof(double)), *axr = malloc((size_t)t.nx * sizeof(double));
  int32_t *nxr = malloc((size_t)t.nx * sizeof(int32_t));
  double *dwr = malloc((size_t)t.nw * sizeof(double)), *awr = malloc((size_t)t.nw * sizeof(double));
  int32_t *nwr = malloc((size_t)t.nw * sizeof(int32_t));
  double *dbr = malloc((size_t)K * sizeof(double)), *abr = malloc((size_t)K * sizeof(double));
  int32_t *nbr = malloc((size_t)K * sizeof(int32_t));
  double *yr = malloc((size_t)t.ny * sizeof(double)), *ya = malloc((size_t)t.ny * sizeof(double));
  int32_t *yn = malloc((size_t)t.ny * sizeof(int32_t));
  CHECK(ref_conv2d_bwd_data(d, t.w.data, t.dy.data, dxr, axr, nxr) == REF_OK, "%s: ref", cname);
  CHECK(ref_conv2d_bwd_weights(d, t.x.data, t.dy.data, dwr, awr, nwr, dbr, abr, nbr) == REF_OK,
        "%s: ref", cname);
  CHECK(ref_conv2d(d, t.x.data, t.w.data, NULL, yr, ya, yn) == REF_OK, "%s: forward ref", cname);

  /* Our forward output for the adjoint identity. */
  float *y = malloc((size_t)t.ny * sizeof(float));
  vconv_conv2d_op *fop = NULL;
  CHECK_STATUS(vconv_conv2d_create(d, VCONV_ALGO_AUTO, t.w.data, NULL, &fop), VCONV_OK);
  if (fop) CHECK_STATUS(vconv_conv2d_run(fop, t.x.data, y, NULL, 0, NULL), VCONV_OK);
  vconv_conv2d_destroy(fop);
  double ly, my, ey = 0;
  dot(t.dy.data, NULL, y, t.ny, &ly, &my);
  for (int64_t o = 0; o < t.ny; o++) ey += fabs((double)t.dy.data[o]) * ref_conv_tol(yn[o], ya[o]);

  tbuf o1, o2, w1, w2, b1;
  tbuf_alloc_out(&o1, (size_t)t.nx);
  tbuf_alloc_out(&o2, (size_t)t.nx);
  tbuf_alloc_out(&w1, (size_t)t.nw);
  tbuf_alloc_out(&w2, (size_t)t.nw);
  tbuf_alloc_out(&b1, (size_t)K);
  float *dx_auto = malloc((size_t)t.nx * sizeof(float)), *dw_auto = malloc((size_t)t.nw * sizeof(float));
  float *db_auto = malloc((size_t)K * sizeof(float));
  const int64_t RS = d->kernel_h * d->kernel_w;
  int got_dx = 0, got_dw = 0;
  ref_geom geo;
  CHECK(ref_conv2d_geometry(d, &geo) == REF_OK, "%s: geometry", cname);
  const wino_bwd_geom eq = {d->batch, K, geo.h.out, geo.w.out, d->in_channels, d->in_height, d->in_width,
                        d->kernel_h, d->kernel_w, d->groups, geo.h.pad_begin, geo.w.pad_begin, d->layout};
  tol_cache wtols = {.n = 0};

  for (int vi = 0; vi < nvars; vi++) {
    bvar *v = &vars[vi];
    if (!v->active) continue;
    /* A forced path the kernel chose itself on this shape already ran. */
    if (v->plan && strcmp(vars[v->base].chosen, v->plan) == 0) continue;
    if (!v->plan) v->chosen[0] = '\0';
    vconv_conv2d_bwd_op *op = NULL;
    const int wino = v->algo == VCONV_ALGO_WINOGRAD;
    const int unit = d->stride_h == 1 && d->stride_w == 1 && d->dilation_h == 1 && d->dilation_w == 1 &&
                     !d->connections;
    int either = 0;
    const vconv_status want =
        wino ? winograd_want(v->plan, unit, &eq, &either)
        : (v->algo == VCONV_ALGO_IM2COL && d->connections) || !path_applies(v, d)
            ? VCONV_ERR_UNSUPPORTED_ALGORITHM
            : VCONV_OK;
    const vconv_status st =
        v->plan ? vconv_conv2d_bwd_create_named(d, v->plan, t.w.data, &op)
        : v->kind == VCONV_BWD_DATA
            ? vconv_conv2d_bwd_data_create_for_isa(d, v->algo, v->isa, t.w.data, &op)
            : vconv_conv2d_bwd_weights_create_for_isa(d, v->algo, v->isa, &op);
    CHECK(st == want || (either && st == VCONV_ERR_UNSUPPORTED_ALGORITHM), "%s %s: create returned %s",
          cname, v->name, vconv_status_string(st));
    if (st != VCONV_OK) continue;
    CHECK(vconv_conv2d_bwd_kind(op) == v->kind && vconv_conv2d_bwd_isa(op) == v->isa &&
              vconv_conv2d_bwd_algorithm(op) == v->algo,
          "%s %s: the operator reports another kernel (%s)", cname, v->name, vconv_conv2d_bwd_kernel_name(op));
    const char *pn = vconv_conv2d_bwd_plan_of(op), *kn = vconv_conv2d_bwd_kernel_name(op);
    CHECK(pn && kn && strncmp(pn, kn, strlen(kn)) == 0 && pn[strlen(kn)] == ':', "%s: plan name %s", cname, pn);
    CHECK(!v->plan || (pn && strcmp(pn, v->plan) == 0), "%s: asked for %s, got %s", cname, v->plan, pn);
    if (!v->plan && pn) snprintf(v->chosen, sizeof v->chosen, "%s", pn);
    if (v->kind == VCONV_BWD_DATA) {
      tbuf_poison(&o1);
      tbuf_poison(&o2);
      run_data(cname, v, op, t.dy.data, &o1, &o2);
      const double *wtol = wino ? cached_tols(&wtols, pn, &eq, t.dy.data, t.w.data, NULL, axr, nxr, t.nx) : NULL;
      const int wt = wtol != NULL;
      CHECK(!wino || wt, "%s %s: no Winograd bound for plan %s", cname, v->name, pn);
      compare_tol(v, "dx", cname, o1.data, dxr, axr, nxr, wt ? wtol : NULL, t.nx);
      double lx, mx, ex = 0;
      dot(t.x.data, NULL, o1.data, t.nx, &lx, &mx);
      for (int64_t i = 0; i < t.nx; i++)
        ex += fabs((double)t.x.data[i]) * (wt ? wtol[i] : ref_conv_tol(nxr[i], axr[i]));
      const double tol = ey + ex + gamma_d((double)t.ny) * my + gamma_d((double)t.nx) * mx;
      CHECK(fabs(ly - lx) <= tol, "%s %s: adjoint <conv(x), dy> = %.17g, <x, dx> = %.17g (tol %.3g)",
            cname, v->name, ly, lx, tol);
      /* The finite-difference check uses direct's bound. */
      if (!wino) {
        memcpy(dx_auto, o1.data, (size_t)t.nx * sizeof(float));
        got_dx = 1;
      }
    } else {
      tbuf_poison(&w1);
      tbuf_poison(&w2);
      tbuf_poison(&b1);
      const size_t wsn = vconv_conv2d_bwd_workspace_size(op, &two_threads);
      unsigned char *ws = wsn ? malloc(wsn + 1) : NULL;
      CHECK_STATUS(vconv_conv2d_bwd_weights_run(op, t.x.data, t.dy.data, w1.data, b1.data, NULL, 0, NULL),
                   VCONV_OK);
      CHECK_STATUS(vconv_conv2d_bwd_weights_run(op, t.x.data, t.dy.data, w2.data, NULL, ws ? ws + 1 : NULL,
                                                wsn, &two_threads),
                   VCONV_OK);
      free(ws);
      CHECK(tbuf_guards_ok(&w1) && tbuf_guards_ok(&w2) && tbuf_guards_ok(&b1),
            "%s %s: write outside grad_weights / grad_bias", cname, v->name);
      check_same_bits(cname, v->name, "grad_weights (1 vs 2 threads, db or not)", w1.data, w2.data, t.nw);
      compare(v, "dw", cname, w1.data, dwr, awr, nwr, t.nw);
      compare(v, "db", cname, b1.data, dbr, abr, nbr, K);
      if (d->connections)
        for (int64_t i = 0; i < t.nw; i++)
          if (!d->connections[i / RS] && w1.data[i] != 0.0f) {
            test_fail(__FILE__, __LINE__, "%s %s: dw[%lld] of an unconnected pair is %g", cname, v->name,
                      (long long)i, (double)w1.data[i]);
            break;
          }
      memcpy(dw_auto, w1.data, (size_t)t.nw * sizeof(float));
      memcpy(db_auto, b1.data, (size_t)K * sizeof(float));
      got_dw = 1;
    }
    vconv_conv2d_bwd_destroy(op);
  }
  if (fd && got_dx && got_dw)
    fd_check(cname, d, &t, dxr, axr, nxr, dx_auto, dwr, awr, nwr, dw_auto, dbr, abr, nbr, db_auto);
  tbuf_free(&o1);
  tbuf_free(&o2);
  tbuf_free(&w1);
  tbuf_free(&w2);
  tbuf_free(&b1);
  free(dx_auto);
  free(dw_auto);
  free(db_auto);
  free_tols(&wtols);
  free(y);
  free(dxr), free(axr), free(nxr), free(dwr), free(awr), free(nwr);
  free(dbr), free(abr), free(nbr), free(yr), free(ya), free(yn);
  free_tensors(&t);
}

/* ---- transposed convolution ------------------------------------------- */

static void transpose_case(const char *cname, const vconv_conv_transpose2d_desc *d) {
  int64_t pt, pl, OH, OW;
  if (ref_conv_transpose2d_geometry(d, &pt, &pl, &OH, &OW) != REF_OK) {
    test_fail(__FILE__, __LINE__, "%s: no geometry", cname);
    return;
  }
  int64_t gh = 0, gw = 0;
  CHECK_STATUS(vconv_conv_transpose2d_output_size(d, &gh, &gw), VCONV_OK);
  CHECK(gh == OH && gw == OW, "%s: output size %lldx%lld, ONNX says %lldx%lld", cname, (long long)gh,
        (long long)gw, (long long)OH, (long long)OW);
  const int64_t nx = d->batch * d->in_channels * d->in_height * d->in_width;
  const int64_t ny = d->batch * d->out_channels * OH * OW;
  const int64_t nw = d->in_channels * (d->out_channels / d->groups) * d->kernel_h * d->kernel_w;
  tbuf x, w, b, o1, o2;
  tbuf_alloc_in(&x, (size_t)nx);
  tbuf_alloc_in(&w, (size_t)nw);
  tbuf_alloc_in(&b, (size_t)d->out_channels);
  tbuf_alloc_out(&o1, (size_t)ny);
  tbuf_alloc_out(&o2, (size_t)ny);
  for (int64_t i = 0; i < nx; i++) x.data[i] = rng_sym(&rng);
  for (int64_t i = 0; i < nw; i++) w.data[i] = rng_sym(&rng);
  for (int64_t i = 0; i < d->out_channels; i++) b.data[i] = rng_sym(&rng);
  const int with_bias = rng_chance(&rng, 2, 3);
  double *yr = malloc((size_t)ny * sizeof(double)), *ya = malloc((size_t)ny * sizeof(double));
  int32_t *yn = malloc((size_t)ny * sizeof(int32_t));
  ref_conv_transpose2d(d, x.data, w.data, with_bias ? b.data : NULL, yr, ya, yn);
  /* As a data gradient: dY is the input, dX the output. */
  const wino_bwd_geom eq = {d->batch, d->in_channels, d->in_height, d->in_width, d->out_channels, OH, OW,
                        d->kernel_h, d->kernel_w, d->groups, pt, pl, d->layout};
  tol_cache wtols = {.n = 0};
  for (int vi = 0; vi < nvars; vi++) {
    bvar *v = &vars[vi];
    if (!v->active || v->kind != VCONV_BWD_DATA || v->plan) continue;
    vconv_conv2d_bwd_op *op = NULL;
    const int wino = v->algo == VCONV_ALGO_WINOGRAD;
    const vconv_status st = vconv_conv_transpose2d_create_for_isa(d, v->algo, v->isa, w.data,
                                                                  with_bias ? b.data : NULL, &op);
    int either = 0;
    const vconv_status want =
        wino ? winograd_want(NULL, d->stride_h == 1 && d->stride_w == 1 && d->dilation_h == 1 && d->dilation_w == 1,
                             &eq, &either)
             : VCONV_OK;
    CHECK(st == want || (either && st == VCONV_ERR_UNSUPPORTED_ALGORITHM),
          "%s %s: create returned %s", cname, v->name, vconv_status_string(st));
    if (!op) continue;
    tbuf_poison(&o1);
    tbuf_poison(&o2);
    CHECK_STATUS(vconv_conv_transpose2d_run(op, x.data, o1.data, NULL, 0, NULL), VCONV_OK);
    CHECK_STATUS(vconv_conv_transpose2d_run(op, x.data, o2.data, NULL, 0, &two_threads), VCONV_OK);
    CHECK(tbuf_guards_ok(&o1) && tbuf_guards_ok(&o2), "%s %s: write outside the output", cname, v->name);
    check_same_bits(cname, v->name, "transposed output (1 vs 2 threads)", o1.data, o2.data, ny);
    const double *wtol = wino ? cached_tols(&wtols, vconv_conv2d_bwd_plan_of(op), &eq, x.data, w.data,
                                            with_bias ? b.data : NULL, ya, yn, ny)
                              : NULL;
    const int wt = wtol != NULL;
    CHECK(!wino || wt, "%s %s: no Winograd bound", cname, v->name);
    compare_tol(v, "y", cname, o1.data, yr, ya, yn, wt ? wtol : NULL, ny);
    vconv_conv2d_bwd_destroy(op);
  }
  free_tols(&wtols);
  free(yr), free(ya), free(yn);
  tbuf_free(&x), tbuf_free(&w), tbuf_free(&b), tbuf_free(&o1), tbuf_free(&o2);
}

static void transpose_cases(void) {
  printf("== transposed convolution\n");
  /* ONNX's ConvTranspose node tests' geometries (backend/test/case/node/convtranspose.py):
   * default, output_padding (with strides 3, 2), pads, dilations, SAME_UPPER /
   * SAME_LOWER, group; then random ones. */
  const struct {
    const char *name;
    int64_t ci, h, w, co, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, oph, opw, g;
    vconv_padding_mode mode;
  } cs[] = {
      {"onnx-default", 1, 3, 3, 2, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, VCONV_PADDING_EXPLICIT},
      {"onnx-output-padding", 1, 3, 3, 2, 3, 3, 3, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1, VCONV_PADDING_EXPLICIT},
      {"onnx-pads", 1, 3, 3, 2, 3, 3, 3, 2, 1, 1, 1, 1, 2, 2, 0, 0, 1, VCONV_PADDING_EXPLICIT},
      {"onnx-dilations", 1, 3, 3, 1, 2, 2, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0, 1, VCONV_PADDING_EXPLICIT},
      {"onnx-autopad-same", 1, 3, 3, 2, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0, 1, VCONV_PADDING_SAME},
      {"onnx-autopad-same-lower", 1, 3, 3, 2, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0, 1, VCONV_PADDING_SAME_LOWER},
      {"onnx-group", 2, 3, 3, 4, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 2, VCONV_PADDING_EXPLICIT},
      {"valid-stride4-op3", 5, 4, 3, 3, 2, 3, 4, 4, 1, 2, 0, 0, 0, 0, 3, 2, 1, VCONV_PADDING_VALID},
      {"dcgan-up", 24, 4, 4, 20, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 1, VCONV_PADDING_EXPLICIT},
      {"depthwise-up", 18, 5, 6, 18, 3, 3, 2, 2, 1, 1, 1, 0, 0, 1, 1, 0, 18, VCONV_PADDING_EXPLICIT},
  };
  for (int layout = 0; layout < 2; layout++)
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
      vconv_conv_transpose2d_desc d;
      vconv_conv_transpose2d_desc_init(&d);
      d.batch = 2;
      d.in_channels = cs[i].ci;
      d.in_height = cs[i].h;
      d.in_width = cs[i].w;
      d.out_channels = cs[i].co;
      d.kernel_h = cs[i].kh;
      d.kernel_w = cs[i].kw;
      d.stride_h = cs[i].sh;
      d.stride_w = cs[i].sw;
      d.dilation_h = cs[i].dh;
      d.dilation_w = cs[i].dw;
      d.pad_top = cs[i].pt;
      d.pad_bottom = cs[i].pb;
      d.pad_left = cs[i].pl;
      d.pad_right = cs[i].pr;
      d.output_padding_h = cs[i].oph;
      d.output_padding_w = cs[i].opw;
      d.groups = cs[i].g;
      d.padding_mode = cs[i].mode;
      d.layout = layout ? VCONV_LAYOUT_NHWC : VCONV_LAYOUT_NCHW;
      transpose_case(cs[i].name, &d);
    }
  /* ONNX's documented output of convtranspose (default): 3x3 ones-ish input and weights
   * give 5x5 outputs; here the one with known values: x = 0..8, w = 1. */
  {
    vconv_conv_transpose2d_desc d;
    vconv_conv_transpose2d_desc_init(&d);
    d.batch = d.in_channels = 1;
    d.in_height = d.in_width = 3;
    d.out_channels = 2;
    d.kernel_h = d.kernel_w = 3;
    float x[9], w[18], y[50];
    for (int i = 0; i < 9; i++) x[i] = (float)i;
    for (int i = 0; i < 18; i++) w[i] = 1.0f;
    const float want[25] = {0, 1, 3, 3, 2, 3, 8, 15, 12, 7, 9, 21, 36, 27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8};
    vconv_conv2d_bwd_op *op = NULL;
    CHECK_STATUS(vconv_conv_transpose2d_create(&d, VCONV_ALGO_AUTO, w, NULL, &op), VCONV_OK);
    if (op) CHECK_STATUS(vconv_conv_transpose2d_run(op, x, y, NULL, 0, NULL), VCONV_OK);
    vconv_conv2d_bwd_destroy(op);
    int ok = 1;
    for (int i = 0; i < 50; i++) ok &= y[i] == want[i % 25];
    CHECK(ok, "ONNX ConvTranspose default example: wrong values");
  }
  const int count = opt_quick ? 40 : 80;
  for (int i = 0; i < count; i++) {
    vconv_conv_transpose2d_desc d;
    vconv_conv_transpose2d_desc_init(&d);
    const int64_t g = rng_chance(&rng, 1, 4) ? rng_range(&rng, 2, 3) : 1;
    d.batch = rng_range(&rng, 1, 2);
    d.in_channels = g * rng_range(&rng, 1, 7);
    d.out_channels = g * rng_range(&rng, 1, 20);
    d.groups = g;
    d.in_height = rng_range(&rng, 1, 9);
    d.in_width = rng_range(&rng, 1, 9);
    d.kernel_h = rng_range(&rng, 1, 5);
    d.kernel_w = rng_range(&rng, 1, 5);
    d.stride_h = rng_range(&rng, 1, 4);
    d.stride_w = rng_range(&rng, 1, 4);
    d.dilation_h = rng_chance(&rng, 1, 3) ? rng_range(&rng, 2, 3) : 1;
    d.dilation_w = rng_chance(&rng, 1, 3) ? rng_range(&rng, 2, 3) : 1;
    d.output_padding_h = rng_range(&rng, 0, d.stride_h - 1);
    d.output_padding_w = rng_range(&rng, 0, d.stride_w - 1);
    const int m = (int)rng_range(&rng, 0, 5);
    d.padding_mode = m == 1 ? VCONV_PADDING_VALID : m == 2 ? VCONV_PADDING_SAME
                     : m == 3 ? VCONV_PADDING_SAME_LOWER : VCONV_PADDING_EXPLICIT;
    d.pad_top = rng_range(&rng, 0, (d.kernel_h - 1) * d.dilation_h);
    d.pad_bottom = rng_range(&rng, 0, (d.kernel_h - 1) * d.dilation_h);
    d.pad_left = rng_range(&rng, 0, (d.kernel_w - 1) * d.dilation_w);
    d.pad_right = rng_range(&rng, 0, (d.kernel_w - 1) * d.dilation_w);
    d.layout = rng_chance(&rng, 1, 2) ? VCONV_LAYOUT_NHWC : VCONV_LAYOUT_NCHW;
    int64_t a, b2, oh, ow;
    if (ref_conv_transpose2d_geometry(&d, &a, &b2, &oh, &ow) != REF_OK) {
      int64_t h, w;
      const vconv_status st = vconv_conv_transpose2d_output_size(&d, &h, &w);
      CHECK(st == VCONV_ERR_UNSUPPORTED_OPTION || st == VCONV_ERR_INVALID_PADDING,
            "random transposed %d: refused by the reference, library says %s", i, vconv_status_string(st));
      continue;
    }
    char name[48];
    snprintf(name, sizeof name, "transpose-random-%d", i);
    transpose_case(name, &d);
  }
}

/* ---- layers and random shapes ------------------------------------------ */

static vconv_conv2d_desc layer(int64_t N, int64_t C, int64_t HW, int64_t K, int64_t k, int64_t st,
                               int64_t pad, int64_t g, vconv_layout L) {
  vconv_conv2d_desc d;
  vconv_conv2d_desc_init(&d);
  d.batch = N;
  d.in_channels = C;
  d.in_height = d.in_width = HW;
  d.out_channels = K;
  d.kernel_h = d.kernel_w = k;
  d.stride_h = d.stride_w = st;
  d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = pad;
  d.groups = g;
  d.layout = L;
  return d;
}

static int64_t ch(int64_t c, int64_t g) {
  if (!opt_quick) return c;
  const int64_t s = c / 8 / g * g;
  return s < g ? g : s;
}

static void net_cases(void) {
  static unsigned char table[16 * 6];
  test_lenet_c3_table(table);
  printf("== LeNet-5 and AlexNet%s\n", opt_quick ? " (AlexNet channels / 8)" : "");
  for (int li = 0; li < 2; li++) {
    const vconv_layout L = li ? VCONV_LAYOUT_NHWC : VCONV_LAYOUT_NCHW;
    vconv_conv2d_desc d = layer(3, 1, 32, 6, 5, 1, 0, 1, L);
    conv_case("lenet-c1", &d, 0);
    d = layer(3, 6, 14, 16, 5, 1, 0, 1, L);
    conv_case("lenet-c3-dense", &d, 0);
    d.connections = table;
    conv_case("lenet-c3-table", &d, 0);
    d = layer(3, 16, 5, 120, 5, 1, 0, 1, L);
    conv_case("lenet-c5", &d, 0);
    const int64_t N = opt_quick ? 2 : 1;
    d = layer(N, ch(3, 1), 227, ch(96, 1), 11, 4, 0, 1, L);
    conv_case("alexnet-conv1", &d, 0);
    for (int64_t g = 1; g <= 2; g++) {
      d = layer(N, ch(96, g), 27, ch(256, g), 5, 1, 2, g, L);
      conv_case(g == 1 ? "alexnet-conv2" : "alexnet-conv2-g2", &d, 0);
      if (g == 1) {
        d = layer(N, ch(256, 1), 13, ch(384, 1), 3, 1, 1, 1, L);
        conv_case("alexnet-conv3", &d, 0);
      }
      d = layer(N, ch(384, g), 13, ch(384, g), 3, 1, 1, g, L);
      conv_case(g == 1 ? "alexnet-conv4" : "alexnet-conv4-g2", &d, 0);
      d = layer(N, ch(384, g), 13, ch(256, g), 3, 1, 1, g, L);
      conv_case(g == 1 ? "alexnet-conv5" : "alexnet-conv5-g2", &d, 0);
    }
  }
}

static void random_cases(void) {
  const int count = opt_quick ? 220 : 400;
  printf("== %d random shapes\n", count);
  static unsigned char table[64 * 64];
  for (int i = 0; i < count; i++) {
    vconv_conv2d_desc d;
    vconv_conv2d_desc_init(&d);
    const int kind = (int)rng_range(&rng, 0, 9);
    int64_t g = 1, cg, kg;
    if (kind == 0) { /* depthwise */
      g = rng_range(&rng, 2, 40);
      cg = kg = 1;
    } else if (kind <= 2) { /* groups */
      g = rng_range(&rng, 2, 4);
      cg = rng_range(&rng, 1, 9);
      kg = rng_range(&rng, 1, 9);
    } else if (kind == 3) { /* wide: several channel vectors and blocks */
      cg = rng_range(&rng, 17, 45);
      kg = rng_range(&rng, 17, 45);
    } else {
      cg = rng_range(&rng, 1, 12);
      kg = rng_range(&rng, 1, 24);
    }
    d.batch = rng_range(&rng, 1, 3);
    d.in_channels = g * cg;
    d.out_channels = g * kg;
    d.groups = g;
    d.in_height = rng_range(&rng, 1, kind == 3 ? 9 : 21);
    d.in_width = rng_range(&rng, 1, kind == 3 ? 9 : 21);
    d.kernel_h = rng_range(&rng, 1, 5);
    d.kernel_w = rng_range(&rng, 1, 5);
    /* Stride 1 on both axes in about 2 of 5 shapes: the data gradient's
     * "rows" path takes only those. */
    d.stride_h = rng_chance(&rng, 1, 2) ? 1 : rng_range(&rng, 1, 4);
    d.stride_w = rng_chance(&rng, 1, 2) ? 1 : rng_range(&rng, 1, 4);
    d.dilation_h = rng_chance(&rng, 1, 4) ? rng_range(&rng, 2, 3) : 1;
    d.dilation_w = rng_chance(&rng, 1, 4) ? rng_range(&rng, 2, 3) : 1;
    const int m = (int)rng_range(&rng, 0, 7);
    d.padding_mode = m == 1 ? VCONV_PADDING_VALID : m == 2 ? VCONV_PADDING_SAME
                     : m == 3 ? VCONV_PADDING_SAME_LOWER : m == 4 ? VCONV_PADDING_FULL
                              : VCONV_PADDING_EXPLICIT;
    const int64_t kh = (d.kernel_h - 1) * d.dilation_h, kw = (d.kernel_w - 1) * d.dilation_w;
    d.pad_top = rng_range(&rng, 0, kh);
    d.pad_bottom = rng_range(&rng, 0, kh);
    d.pad_left = rng_range(&rng, 0, kw);
    d.pad_right = rng_range(&rng, 0, kw);
    d.layout = rng_chance(&rng, 1, 2) ? VCONV_LAYOUT_NHWC : VCONV_LAYOUT_NCHW;
    if (rng_chance(&rng, 1, 8) && d.out_channels * cg <= (int64_t)sizeof table) {
      for (int64_t k = 0; k < d.out_channels; k++) {
        int any = 0;
        for (int64_t c = 0; c < cg; c++) any |= table[k * cg + c] = (unsigned char)rng_chance(&rng, 1, 2);
        if (!any) table[k * cg + rng_range(&rng, 0, cg - 1)] = 1;
      }
      d.connections = table;
    }
    ref_geom geo;
    if (ref_conv2d_geometry(&d, &geo) != REF_OK) { /* kernel larger than the padded input */
      vconv_conv2d_bwd_op *op = (vconv_conv2d_bwd_op *)&d;
      CHECK_STATUS(vconv_conv2d_bwd_weights_create(&d, VCONV_ALGO_AUTO, &op), VCONV_ERR_KERNEL_TOO_LARGE);
      CHECK(op == NULL, "failed create leaves *op");
      continue;
    }
    char name[32], shape[256];
    snprintf(name, sizeof name, "random-%d", i);
    describe(&d, shape, sizeof shape);
    if (opt_verbose) printf("  %s: %s\n", name, shape);
    const int failures = test_failures;
    /* Finite differences on the small ones. */
    const int fd = d.batch * d.in_channels * d.in_height * d.in_width <= 400 && i % 3 == 0;
    conv_case(name, &d, fd);
    if (test_failures != failures) printf("     shape of %s: %s\n", name, shape);
  }
}

/* ---- new weights in place ---------------------------------------------- */

/* Every data plan that applies, and a transposed convolution with a bias:
 * update_weights gives the bits of a new operator made from the new weights. */
static void update_case(const char *cname, const vconv_conv2d_desc *d) {
  tensors t;
  memset(&t, 0, sizeof t);
  if (!make_tensors(d, &t)) {
    test_fail(__FILE__, __LINE__, "%s: no geometry", cname);
    free_tensors(&t);
    return;
  }
  float *w2 = malloc((size_t)t.nw * sizeof(float));
  for (int64_t i = 0; i < t.nw; i++) w2[i] = t.w.data[i] * -0.5f + 0.25f;
  float *o1 = malloc((size_t)t.nx * sizeof(float)), *o2 = malloc((size_t)t.nx * sizeof(float));
  int ran = 0;
  for (size_t i = 0; i < vconv_conv2d_bwd_plan_count(); i++) {
    const char *name = vconv_conv2d_bwd_plan_name(i);
    vconv_conv2d_bwd_op *a = NULL, *b = NULL;
    if (strncmp(name, "bwd_data", 8) != 0 ||
        vconv_conv2d_bwd_create_named(d, name, t.w.data, &a) != VCONV_OK)
      continue;
    CHECK_STATUS(vconv_conv2d_bwd_create_named(d, name, w2, &b), VCONV_OK);
    CHECK_STATUS(vconv_conv2d_bwd_update_weights(a, w2, NULL), VCONV_OK);
    CHECK_STATUS(vconv_conv2d_bwd_update_weights(a, w2, t.b.data), VCONV_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(vconv_conv2d_bwd_update_weights(a, NULL, NULL), VCONV_ERR_NULL_POINTER);
    CHECK_STATUS(vconv_conv2d_bwd_data_run(a, t.dy.data, o1, NULL, 0, NULL), VCONV_OK);
    CHECK_STATUS(vconv_conv2d_bwd_data_run(b, t.dy.data, o2, NULL, 0, NULL), VCONV_OK);
    check_same_bits(cname, name, "dx after update_weights", o1, o2, t.nx);
    vconv_conv2d_bwd_destroy(a);
    vconv_conv2d_bwd_destroy(b);
    ran++;
  }
  CHECK(ran >= 2, "%s: %d data plans ran", cname, ran);
  vconv_conv2d_bwd_op *wop = NULL;
  CHECK_STATUS(vconv_conv2d_bwd_weights_create(d, VCONV_ALGO_AUTO, &wop), VCONV_OK);
  CHECK_STATUS(vconv_conv2d_bwd_update_weights(wop, w2, NULL), VCONV_ERR_INVALID_ARGUMENT);
  vconv_conv2d_bwd_destroy(wop);
  CHECK_STATUS(vconv_conv2d_bwd_update_weights(NULL, w2, NULL), VCONV_ERR_NULL_POINTER);
  free(w2), free(o1), free(o2);
  free_tensors(&t);
}

static void update_weights(void) {
  printf("== update_weights\n");
  vconv_conv2d_desc d;
  vconv_conv2d_desc_init(&d);
  d.batch = 2;
  d.in_channels = 6;
  d.in_height = d.in_width = 14;
  d.out_channels = 16;
  d.kernel_h = d.kernel_w = 5;
  unsigned char table[16 * 6];
  test_lenet_c3_table(table);
  d.connections = table;
  update_case("C3 table", &d);
  d.connections = NULL;
  d.stride_h = 2;
  d.pad_left = 1;
  update_case("C3 dense, stride 2", &d);

  /* A transposed convolution's bias: replaced, or kept by NULL. */
  vconv_conv_transpose2d_desc td;
  vconv_conv_transpose2d_desc_init(&td);
  td.batch = 1;
  td.in_channels = 4;
  td.out_channels = 3;
  td.in_height = td.in_width = 5;
  td.kernel_h = td.kernel_w = 3;
  float w1[4 * 3 * 9], w2[4 * 3 * 9], b1[3] = {1, 2, 3}, b2[3] = {-1, 0.5f, 4}, x[4 * 25];
  for (int i = 0; i < 4 * 3 * 9; i++) w1[i] = (float)(i % 5) - 2, w2[i] = (float)(i % 7) * 0.5f - 1;
  for (int i = 0; i < 4 * 25; i++) x[i] = (float)(i % 9) - 4;
  float y1[3 * 49], y2[3 * 49];
  vconv_conv2d_bwd_op *a = NULL, *b = NULL;
  CHECK_STATUS(vconv_conv_transpose2d_create(&td, VCONV_ALGO_AUTO, w1, b1, &a), VCONV_OK);
  CHECK_STATUS(vconv_conv_transpose2d_create(&td, VCONV_ALGO_AUTO, w2, b2, &b), VCONV_OK);
  CHECK_STATUS(vconv_conv2d_bwd_update_weights(a, w2, b2), VCONV_OK);
  CHECK_STATUS(vconv_conv2d_bwd_update_weights(a, w2, NULL), VCONV_OK);
  if (a && b) {
    CHECK_STATUS(vconv_conv_transpose2d_run(a, x, y1, NULL, 0, NULL), VCONV_OK);
    CHECK_STATUS(vconv_conv_transpose2d_run(b, x, y2, NULL, 0, NULL), VCONV_OK);
    check_same_bits("transposed", vconv_conv2d_bwd_plan_of(a), "y after update_weights", y1, y2, 3 * 49);
  }
  vconv_conv2d_bwd_destroy(a);
  vconv_conv2d_bwd_destroy(b);
}

/* ---- bad input ---------------------------------------------------------- */

static void bad_input(void) {
  printf("== bad input\n");
  vconv_conv2d_desc d = layer(1, 4, 6, 4, 3, 1, 1, 1, VCONV_LAYOUT_NCHW);
  float w[4 * 4 * 9] = {0}, x[4 * 36] = {0}, y[4 * 36] = {0}, dw[4 * 4 * 9];
  vconv_conv2d_bwd_op *op = NULL, *wop = NULL;
  CHECK_STATUS(vconv_conv2d_bwd_data_create(&d, VCONV_ALGO_AUTO, w, NULL), VCONV_ERR_NULL_POINTER);
  op = (vconv_conv2d_bwd_op *)&d;
  CHECK_STATUS(vconv_conv2d_bwd_data_create(NULL, VCONV_ALGO_AUTO, w, &op), VCONV_ERR_NULL_POINTER);
  CHECK(op == NULL, "*op after a failed create");
  CHECK_STATUS(vconv_conv2d_bwd_data_create(&d, VCONV_ALGO_AUTO, NULL, &op), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_conv2d_bwd_weights_create(NULL, VCONV_ALGO_AUTO, &op), VCONV_ERR_NULL_POINTER);
  vconv_conv2d_desc e = d;
  e.batch = 0;
  CHECK_STATUS(vconv_conv2d_bwd_weights_create(&e, VCONV_ALGO_AUTO, &op), VCONV_ERR_INVALID_SIZE);
  e = d;
  e.stride_h = 0;
  CHECK_STATUS(vconv_conv2d_bwd_data_create(&e, VCONV_ALGO_AUTO, w, &op), VCONV_ERR_INVALID_STRIDE);
  e = d;
  e.groups = 3;
  CHECK_STATUS(vconv_conv2d_bwd_data_create(&e, VCONV_ALGO_AUTO, w, &op), VCONV_ERR_INVALID_GROUPS);
  e = d;
  e.kernel_h = 9;
  e.pad_top = e.pad_bottom = 0;
  CHECK_STATUS(vconv_conv2d_bwd_weights_create(&e, VCONV_ALGO_AUTO, &op), VCONV_ERR_KERNEL_TOO_LARGE);
  e = d;
  e.in_width = (int64_t)1 << 32;
  CHECK_STATUS(vconv_conv2d_bwd_weights_create(&e, VCONV_ALGO_AUTO, &op), VCONV_ERR_SIZE_OVERFLOW);
  e = d;
  e.activation = VCONV_ACTIVATION_RELU;
  CHECK_STATUS(vconv_conv2d_bwd_data_create(&e, VCONV_ALGO_AUTO, w, &op), VCONV_ERR_UNSUPPORTED_OPTION);
  CHECK_STATUS(vconv_conv2d_bwd_weights_create(&e, VCONV_ALGO_AUTO, &op), VCONV_ERR_UNSUPPORTED_OPTION);
  CHECK_STATUS(vconv_conv2d_bwd_data_create(&d, (vconv_algorithm)99, w, &op), VCONV_ERR_INVALID_ALGORITHM);
  /* Winograd: the data gradient at stride 1 only, never the weights'. */
  CHECK_STATUS(vconv_conv2d_bwd_data_create(&d, VCONV_ALGO_WINOGRAD, w, &op), VCONV_OK);
  CHECK(op && strncmp(vconv_conv2d_bwd_plan_of(op), "bwd_data_winograd/", 18) == 0, "WINOGRAD ran %s",
        op ? vconv_conv2d_bwd_plan_of(op) : "nothing");
  vconv_conv2d_bwd_destroy(op);
  CHECK_STATUS(vconv_conv2d_bwd_weights_create(&d, VCONV_ALGO_WINOGRAD, &op), VCONV_ERR_UNSUPPORTED_ALGORITHM);
  e = d;
  e.stride_h = 2;
  CHECK_STATUS(vconv_conv2d_bwd_data_create(&e, VCONV_ALGO_WINOGRAD, w, &op), VCONV_ERR_UNSUPPORTED_ALGORITHM);
  CHECK_STATUS(vconv_conv2d_bwd_data_create(&d, VCONV_ALGO_WINOGRAD_F2X2_5X5, w, &op),
               VCONV_ERR_UNSUPPORTED_ALGORITHM);
  CHECK_STATUS(vconv_conv2d_bwd_data_create_for_isa(&d, VCONV_ALGO_AUTO, (vconv_isa)77, w, &op),
               VCONV_ERR_INVALID_ISA);
  unsigned char conn[16];
  memset(conn, 1, sizeof conn);
  e = d;
  e.connections = conn;
  CHECK_STATUS(vconv_conv2d_bwd_weights_create(&e, VCONV_ALGO_IM2COL, &op), VCONV_ERR_UNSUPPORTED_ALGORITHM);
  conn[5] = conn[6] = conn[7] = conn[4] = 0;
  CHECK_STATUS(vconv_conv2d_bwd_weights_create(&e, VCONV_ALGO_DIRECT, &op), VCONV_ERR_INVALID_CONNECTION_TABLE);
  CHECK(op == NULL, "*op after a failed create");

  CHECK_STATUS(vconv_conv2d_bwd_data_create(&d, VCONV_ALGO_AUTO, w, &op), VCONV_OK);
  CHECK_STATUS(vconv_conv2d_bwd_weights_create(&d, VCONV_ALGO_AUTO, &wop), VCONV_OK);
  if (op && wop) {
    CHECK_STATUS(vconv_conv2d_bwd_data_run(op, NULL, x, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
    CHECK_STATUS(vconv_conv2d_bwd_data_run(op, y, NULL, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
    CHECK_STATUS(vconv_conv2d_bwd_data_run(NULL, y, x, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
    CHECK_STATUS(vconv_conv2d_bwd_data_run(wop, y, x, NULL, 0, NULL), VCONV_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(vconv_conv2d_bwd_weights_run(op, x, y, dw, NULL, NULL, 0, NULL), VCONV_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(vconv_conv2d_bwd_weights_run(wop, x, y, NULL, NULL, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
    CHECK_STATUS(vconv_conv2d_bwd_weights_run(wop, NULL, y, dw, NULL, NULL, 0, NULL), VCONV_ERR_NULL_POINTER);
    const size_t need = vconv_conv2d_bwd_workspace_size(op, NULL);
    unsigned char small[8];
    if (need)
      CHECK_STATUS(vconv_conv2d_bwd_data_run(op, y, x, small, need - 1, NULL), VCONV_ERR_WORKSPACE_TOO_SMALL);
    CHECK_STATUS(vconv_conv_transpose2d_run(wop, y, x, NULL, 0, NULL), VCONV_ERR_INVALID_ARGUMENT);
    CHECK(vconv_conv2d_bwd_kind(wop) == VCONV_BWD_WEIGHTS, "kind of a weights operator");
  }
  vconv_conv2d_bwd_destroy(op);
  vconv_conv2d_bwd_destroy(wop);
  vconv_conv2d_bwd_destroy(NULL);
  CHECK(vconv_conv2d_bwd_kernel_name(NULL) == NULL && vconv_conv2d_bwd_plan_of(NULL) == NULL,
        "names of NULL");
  CHECK(vconv_conv2d_bwd_workspace_size(NULL, NULL) == 0, "workspace of NULL");

  /* Named plans: every name creates on a simple shape (3x3, stride 1: every
   * Winograd tile but the 5x5 one); bad names are refused. */
  const size_t np = vconv_conv2d_bwd_plan_count();
  CHECK(np >= vconv_conv2d_bwd_variant_count(), "plan count %zu", np);
  CHECK(vconv_conv2d_bwd_plan_name(np) == NULL, "plan name past the end");
  for (size_t i = 0; i < np; i++) {
    const char *name = vconv_conv2d_bwd_plan_name(i);
    char kernel[64];
    snprintf(kernel, sizeof kernel, "%s", name);
    *strchr(kernel, '/') = 0;
    const char *tier = strchr(name, '/') + 1;
    vconv_isa isa;
    char tn[16];
    snprintf(tn, sizeof tn, "%.*s", (int)(strchr(tier, ':') - tier), tier);
    CHECK_STATUS(vconv_isa_from_name(tn, &isa), VCONV_OK);
    const vconv_status want = !vconv_isa_available(isa) ? VCONV_ERR_ISA_UNAVAILABLE
                              : strstr(name, "_5x5")    ? VCONV_ERR_UNSUPPORTED_ALGORITHM
                                                        : VCONV_OK;
    CHECK_STATUS(vconv_conv2d_bwd_create_named(&d, name, w, &op), want);
    if (op) CHECK(strcmp(vconv_conv2d_bwd_plan_of(op), name) == 0, "named %s runs %s", name, vconv_conv2d_bwd_plan_of(op));
    vconv_conv2d_bwd_destroy(op);
  }
  CHECK_STATUS(vconv_conv2d_bwd_create_named(&d, "bwd_data_direct/nosuch", w, &op), VCONV_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(vconv_conv2d_bwd_create_named(&d, "bwd_data_direct/scalar:nosuch", w, &op), VCONV_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(vconv_conv2d_bwd_create_named(&d, NULL, w, &op), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_conv2d_bwd_create_named(&d, "bwd_data_direct/scalar", NULL, &op), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_conv2d_bwd_create_named(&d, "bwd_weights_direct/scalar", NULL, &op), VCONV_OK);
  vconv_conv2d_bwd_destroy(op);

  /* Transposed convolution. */
  vconv_conv_transpose2d_desc t;
  vconv_conv_transpose2d_desc_init(&t);
  t.batch = t.in_channels = t.out_channels = 2;
  t.in_height = t.in_width = 4;
  t.kernel_h = t.kernel_w = 3;
  t.stride_h = t.stride_w = 2;
  int64_t oh, ow;
  CHECK_STATUS(vconv_conv_transpose2d_output_size(&t, &oh, &ow), VCONV_OK);
  CHECK(oh == 9 && ow == 9, "transposed 4 -> %lld x %lld, want 9", (long long)oh, (long long)ow);
  CHECK_STATUS(vconv_conv_transpose2d_create(&t, VCONV_ALGO_AUTO, NULL, NULL, &op), VCONV_ERR_NULL_POINTER);
  CHECK_STATUS(vconv_conv_transpose2d_create(NULL, VCONV_ALGO_AUTO, w, NULL, &op), VCONV_ERR_NULL_POINTER);
  vconv_conv_transpose2d_desc u = t;
  u.output_padding_h = -1;
  CHECK_STATUS(vconv_conv_transpose2d_output_size(&u, &oh, &ow), VCONV_ERR_INVALID_PADDING);
  u = t;
  u.padding_mode = VCONV_PADDING_FULL;
  CHECK_STATUS(vconv_conv_transpose2d_output_size(&u, &oh, &ow), VCONV_ERR_INVALID_PADDING_MODE);
  u = t;
  u.pad_top = 5;
  u.pad_bottom = 4;
  CHECK_STATUS(vconv_conv_transpose2d_output_size(&u, &oh, &ow), VCONV_ERR_INVALID_PADDING);
  u = t;
  u.kernel_h = u.kernel_w = 1;
  u.stride_h = 3;
  u.padding_mode = VCONV_PADDING_SAME;
  CHECK_STATUS(vconv_conv_transpose2d_output_size(&u, &oh, &ow), VCONV_ERR_UNSUPPORTED_OPTION);
  u = t;
  u.groups = 3;
  CHECK_STATUS(vconv_conv_transpose2d_output_size(&u, &oh, &ow), VCONV_ERR_INVALID_GROUPS);
  u = t;
  u.dilation_w = 0;
  CHECK_STATUS(vconv_conv_transpose2d_output_size(&u, &oh, &ow), VCONV_ERR_INVALID_DILATION);
  u = t;
  u.layout = (vconv_layout)5;
  CHECK_STATUS(vconv_conv_transpose2d_output_size(&u, &oh, &ow), VCONV_ERR_INVALID_LAYOUT);
  u = t;
  u.stride_h = (int64_t)1 << 31;
  CHECK_STATUS(vconv_conv_transpose2d_output_size(&u, &oh, &ow), VCONV_ERR_SIZE_OVERFLOW);
  CHECK_STATUS(vconv_conv_transpose2d_create(&t, (vconv_algorithm)-3, w, NULL, &op), VCONV_ERR_INVALID_ALGORITHM);
}

int main(int argc, char **argv) {
  opt_quick = env_flag("VCONV_PARITY_QUICK");
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) opt_quick = 1;
    else if (!strcmp(argv[i], "--verbose")) opt_verbose = 1;
    else {
      fprintf(stderr, "usage: test_backward [--quick] [--verbose]\n");
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
  rng_seed(&rng, 0xbac4a4dull);
  printf("test_backward%s: effective tier %s\n", opt_quick ? " --quick" : "",
         vconv_isa_name(vconv_isa_effective()));
  setup_variants();
  const double t0 = test_now();
  bad_input();
  update_weights();
  net_cases();
  transpose_cases();
  random_cases();
  printf("== worst |error| / bound per variant\n");
  for (int i = 0; i < nvars; i++)
    if (vars[i].active)
    {
      printf("  %-34s %6ld comparisons, worst %.3g\n", vars[i].name, vars[i].runs, vars[i].worst);
      CHECK(vars[i].runs > 0, "%s never ran", vars[i].name);
    }
  printf("(%.1f s)\n", test_now() - t0);
  return test_summary("test_backward");
}
