/*
 * The measuring planner (VCONV_PLAN_MEASURE, vconv-tune): every candidate
 * timed on the caller's parallel-for, the close ones again in interleaved
 * rounds.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops.h"
#include "plan.h"

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Best of a few runs, or of one when that one is already far behind `best`. */
static double time_op(const vconv_conv2d_op *op, const float *x, float *y,
                      const vconv_parallel *par, double best) {
  const size_t wsn = vconv_conv2d_workspace_size(op, par);
  void *ws = wsn ? vconv_i_alloc(wsn) : NULL;
  if (wsn && !ws) return -1;
  double t = now_ns();
  if (vconv_conv2d_run(op, x, y, ws, wsn, par) != VCONV_OK) t = -1;
  double min = now_ns() - t, spent = min;
  if (t >= 0 && min < 2 * best)
    for (int r = 0; r < 10 && (r < 3 || spent < 20e6); r++) {
      t = now_ns();
      vconv_conv2d_run(op, x, y, ws, wsn, par);
      const double d = now_ns() - t;
      spent += d;
      if (d < min) min = d;
    }
  vconv_i_free(ws);
  return t < 0 ? -1 : min;
}

/*
 * Candidates within FINAL_SLACK of the first pass's best (at most FINALISTS),
 * and always the heuristic's choice on the effective tier (the incumbent),
 * are timed again in interleaved rounds: on a shared machine a quiet or busy
 * spell then falls on all of them alike.  Timed once each, in its own spell,
 * and ranked by minimum, close candidates flipped from one tuning run to the
 * next (AlexNet conv5 on 2 threads: F(2x2) kept for a 1.29 ms minimum, 1.98 ms
 * in the benchmark, against 1.31 ms for F(4x5)).
 *
 * The incumbent is held unless a challenger beats it round by round: the
 * median over the rounds of (challenger's time / holder's time in the same
 * round) must be below 1 / (1 + TIE_MARGIN).  Paired rounds cancel the
 * machine's drift, and the margin keeps near-ties with the heuristic from
 * deciding, so two tuning runs agree.
 *
 * Only the effective tier is timed, as the heuristic only estimates it.  A
 * lower tier won here only by a spell: with a 5% margin over 9-21 paired
 * rounds, tuning on a Zen 4 still took F(4x5)/avx2 for AlexNet g2 conv4 and
 * conv5, which then ran no faster than its avx512 build in the benchmark
 * (805 against 804 us); the same tile on a narrower vector has the same work
 * in more instructions.  A caller who wants a lower tier caps it
 * (VCONV_ISA, vconv_set_isa) and the cap becomes the effective tier.
 */
#define FINALISTS 4
#define FINAL_SLACK 1.5
/* At least ROUNDS_MIN rounds, then more while they have taken less than
 * ROUNDS_NS: a layer of a few us gets ROUNDS_MAX of them, as one interrupt
 * spoils a whole round there (LeNet C1 at batch 1 on 2 threads flipped
 * between two plans 10% apart with 21 rounds). */
#define ROUNDS_MIN 9
#define ROUNDS_MAX 201
#define ROUNDS_NS 200e6
#define TIE_MARGIN 0.02

typedef struct finalist {
  vconv_conv2d_op *op;
  double ns;              /* first pass: its best run; after the rounds: their median */
  double t[ROUNDS_MAX];   /* the rounds' times */
} finalist;

/* Keeps the list sorted by time, drops what falls out of the slack or the
 * count; returns 0 when `op` was not kept (the caller destroys it). */
static int keep_finalist(finalist *f, int *n, vconv_conv2d_op *op, double ns) {
  if (*n > 0 && ns > FINAL_SLACK * f[0].ns) return 0;
  if (*n == FINALISTS && ns >= f[FINALISTS - 1].ns) return 0;
  if (*n == FINALISTS) vconv_conv2d_destroy(f[--*n].op);
  int i = *n;
  for (; i > 0 && f[i - 1].ns > ns; i--) f[i] = f[i - 1];
  f[i] = (finalist){op, ns, {0}};
  ++*n;
  while (*n > 1 && f[*n - 1].ns > FINAL_SLACK * f[0].ns) vconv_conv2d_destroy(f[--*n].op);
  return 1;
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof v[0], cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The rounds; returns their count (0: no memory, the first pass's times stand). */
static int final_rounds(finalist *f, int n, const float *x, float *y, const vconv_parallel *par) {
  size_t wsn = 0;
  for (int i = 0; i < n; i++) {
    const size_t w = vconv_conv2d_workspace_size(f[i].op, par);
    if (w > wsn) wsn = w;
  }
  void *ws = wsn ? vconv_i_alloc(wsn) : NULL;
  if (wsn && !ws) return 0;
  if (ws) memset(ws, 0, wsn); /* page faults outside the timing */
  double spent = 0;
  int rounds = 0;
  for (; rounds < ROUNDS_MAX && (rounds < ROUNDS_MIN || spent < ROUNDS_NS); rounds++)
    for (int i = 0; i < n; i++) {
      const double t0 = now_ns();
      const vconv_status st = vconv_conv2d_run(f[i].op, x, y, ws, wsn, par);
      f[i].t[rounds] = st == VCONV_OK ? now_ns() - t0 : 1e300;
      spent += st == VCONV_OK ? f[i].t[rounds] : 0;
    }
  for (int i = 0; i < n; i++) {
    double v[ROUNDS_MAX];
    memcpy(v, f[i].t, sizeof v);
    f[i].ns = median(v, rounds);
  }
  vconv_i_free(ws);
  return rounds;
}

/* Median over the rounds of a's time over b's in the same round. */
static double paired_ratio(const finalist *a, const finalist *b, int rounds) {
  double r[ROUNDS_MAX];
  for (int i = 0; i < rounds; i++) r[i] = a->t[i] / b->t[i];
  return median(r, rounds);
}

vconv_status vconv_i_measure(const vconv_conv_shape *s, vconv_algorithm algo,
                             const vconv_parallel *par, const float *weights, const float *bias,
                             vconv_i_choice *out, double *out_ns) {
  const size_t nx = (size_t)(s->N * s->C * s->H * s->W), ny = (size_t)(s->N * s->K * s->P * s->Q);
  float *x = vconv_i_alloc(nx * sizeof(float)), *y = vconv_i_alloc(ny * sizeof(float));
  vconv_status st = x && y ? VCONV_OK : VCONV_ERR_OUT_OF_MEMORY;
  /* Fixed, non-trivial data: zeros could take faster paths than real activations. */
  uint32_t r = 12345;
  for (size_t i = 0; x && i < nx; i++) {
    r = r * 1664525u + 1013904223u;
    x[i] = (float)(r >> 8) * 0x1p-23f - 1.0f;
  }
  const vconv_isa eff = vconv_isa_effective();
  vconv_i_choice held;
  const vconv_conv_kernel *incumbent =
      vconv_i_select(algo, eff, s, &held) == VCONV_OK ? held.kernel : NULL;
  finalist fin[FINALISTS + 1];
  int nfin = 0;
  vconv_conv2d_op *inc_op = NULL; /* the incumbent's operator while it is not a finalist */
  double inc_ns = 0;
  for (size_t i = 0; st == VCONV_OK && i < vconv_i_conv_kernel_count(); i++) {
    const vconv_conv_kernel *k = vconv_i_conv_kernel(i);
    const int tile = vconv_i_is_winograd_tile(k->algo);
    if (k->isa != eff) continue;
    if (algo == VCONV_ALGO_WINOGRAD ? !tile : algo != VCONV_ALGO_AUTO && k->algo != algo) continue;
    /* AUTO and WINOGRAD choose only tiles within the accuracy rule; an
     * explicit tile is the caller's choice. */
    if (tile && k->algo != algo && !vconv_i_winograd_accurate(k->algo, s)) continue;
    /* Every path of the kernel that applies; a plan whose estimate is far
     * behind the best time so far is not run at all. */
    for (int path = 0; st == VCONV_OK && path < k->npaths; path++) {
      vconv_i_choice c;
      if (!vconv_i_plan_kernel(k, path, s, &c)) continue;
      const int is_inc = k == incumbent && path == held.plan.path;
      const double best_ns = nfin ? fin[0].ns : 1e300;
      if (nfin && !is_inc && c.work_ns > 4 * best_ns) continue;
      vconv_conv2d_op *op;
      if ((st = vconv_i_conv_make(s, &c, weights, bias, &op)) != VCONV_OK) break;
      const double t = time_op(op, x, y, par, is_inc ? 1e300 : best_ns);
      if (is_inc) {
        inc_op = op;
        inc_ns = t;
      } else if (t < 0 || !keep_finalist(fin, &nfin, op, t)) {
        vconv_conv2d_destroy(op);
      }
    }
  }
  if (inc_op) fin[nfin++] = (finalist){inc_op, inc_ns, {0}};
  int win = 0;
  if (st == VCONV_OK && nfin > 1) {
    const int rounds = final_rounds(fin, nfin, x, y, par);
    /* The holder: the incumbent. */
    int hold = -1;
    for (int i = 0; i < nfin; i++)
      if (fin[i].op == inc_op) hold = i;
    if (hold < 0 || rounds == 0) { /* nothing to hold: the fastest */
      for (int i = 1; i < nfin; i++)
        if (fin[i].ns < fin[win].ns) win = i;
    } else {
      win = hold;
      /* Challengers from the fastest median down, each against the current holder. */
      int order[FINALISTS + 1];
      for (int i = 0; i < nfin; i++) order[i] = i;
      for (int i = 1; i < nfin; i++)
        for (int j = i; j > 0 && fin[order[j]].ns < fin[order[j - 1]].ns; j--) {
          const int t = order[j];
          order[j] = order[j - 1];
          order[j - 1] = t;
        }
      for (int oi = 0; oi < nfin; oi++) {
        const int c = order[oi];
        if (c == win) continue;
        if (paired_ratio(&fin[c], &fin[win], rounds) * (1.0 + TIE_MARGIN) < 1.0) win = c;
      }
    }
  }
  vconv_i_free(x);
  vconv_i_free(y);
  if (st == VCONV_OK && !nfin) st = VCONV_ERR_UNSUPPORTED_ALGORITHM;
  if (st == VCONV_OK) {
    *out = *vconv_i_conv_choice_of(fin[win].op);
    *out_ns = fin[win].ns;
  }
  for (int i = 0; i < nfin; i++) vconv_conv2d_destroy(fin[i].op);
  return st;
}
