/*
 * The contract between the tier-agnostic drivers (kernels/ops, dispatch) and
 * the kernels compiled per tier.  Shapes arrive validated and resolved (named
 * padding modes turned into numbers, output size known), so kernels never
 * check arguments and never include dispatch/.
 */
#ifndef VCONV_KERNEL_H
#define VCONV_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "vconv.h"

typedef struct vconv_conv_shape {
  int64_t N, C, H, W;       /* input */
  int64_t K, P, Q;          /* output channels, height, width */
  int64_t R, S;             /* kernel */
  int64_t sh, sw, dh, dw;   /* stride, dilation */
  int64_t pt, pb, pl, pr;   /* resolved padding */
  int64_t G, Cg, Kg;        /* groups, channels per group */
  vconv_layout layout;
  vconv_activation act;
  float act_min, act_max;   /* resolved for every activation (NONE: -inf, +inf) */
  const unsigned char *conn; /* K x Cg, or NULL for dense; owned by the operator */
} vconv_conv_shape;

/* What plans depend on besides the shape: the machine, measured once per
 * process by the planning module (plan/machine.c) and passed in, so that no
 * kernel asks the system anything.  Cache sizes are clamped to plausible
 * values there (a VM here reports a 508 MiB L3). */
typedef struct vconv_machine {
  int64_t l1d, l2, l3; /* bytes per core (L3: the instance a core sees) */
  int64_t cores;
} vconv_machine;

/* Room for the largest kernel's own plan fields (checked in each kernel). */
#define VCONV_PLAN_WORDS 48

/*
 * A kernel's plan for one shape: computed once, by plan(), when an operator
 * is created, stored in it and passed to pack() and every run(); nothing
 * recomputes it.  The sizes are read by the drivers, the rest is the
 * kernel's own (its loop nest, blockings, scratch layout).
 */
typedef struct vconv_conv_plan {
  size_t packed_floats;  /* floats of packed weights pack() writes */
  size_t task_workspace; /* bytes of scratch one worker needs (64-byte aligned) */
  size_t task_count;     /* run(task) for every task in [0, task_count) computes the output */
  int path;              /* index into the kernel's paths[] */
  /* The plan's real work, for the cost model (plan/cost.c): multiply-adds it
   * issues, the lanes its vectors and register tiles pad included, and the
   * values it packs or transforms on the way (im2col's matrix, Winograd's
   * transformed tiles; 0 for direct). */
  double macs, moved;
  /* The kernel's own estimate of the cycles its loop nest takes on one core,
   * where it models its register tiles (direct: FMA issue against FMA latency
   * and loads, per tile call, the store of a tile), else 0.  The cost model
   * fits to it (as the multiply-adds the FMA units could issue in that time)
   * instead of macs where it is given: a tile's efficiency varies
   * with the shape more than a family's one rate can say (LeNet C1 on Zen 3:
   * the blocked path 2.3x slower than spatial at batch 16, where macs alone
   * put it ahead). */
  double cycles;
  union {                /* the kernel's fields (memcpy'd to and from its own struct) */
    int64_t i[VCONV_PLAN_WORDS];
    double d[VCONV_PLAN_WORDS];
  } own;
} vconv_conv_plan;

/* plan()'s path argument: the kernel's own choice among its paths. */
#define VCONV_PATH_ANY (-1)

typedef struct vconv_conv_kernel {
  vconv_algorithm algo;
  vconv_isa isa;
  const char *name;          /* "<algorithm>/<tier>" */
  /* The loop nests plan() chooses from, by name (a plan's full name is
   * "<name>:<path>"); tests and benchmarks can force each one. */
  const char *const *paths;
  int npaths;
  /* Fills *pl for the shape and returns 1, or returns 0 where the kernel (or
   * the forced path, 0 <= path < npaths) does not apply. */
  int (*plan)(const vconv_conv_shape *s, const vconv_machine *m, int path, vconv_conv_plan *pl);
  /* Turns OIHW user weights into the plan's packed form, once at create. */
  void (*pack)(const vconv_conv_shape *s, const vconv_conv_plan *pl, const float *weights,
               float *packed);
  /* Tasks write disjoint outputs, so the split does not change results; a
   * worker runs its tasks one after another with its own scratch. */
  void (*run)(const vconv_conv_shape *s, const vconv_conv_plan *pl, const float *packed,
              const float *bias, const float *input, float *output, void *workspace, size_t task);
} vconv_conv_kernel;

/* SGEMM of one tier (kernels/gemm): vconv_sgemm's driver splits C into pieces
 * and runs each with its own scratch of workspace(piece) bytes (64-byte aligned). */
/* Cache blocking: kc of the reduction per pass, mc rows of A and nc columns
 * of B per packed block (mc a multiple of MR, nc of NR). */
typedef struct vconv_gemm_blocking {
  int64_t mc, kc, nc;
} vconv_gemm_blocking;

typedef struct vconv_gemm_kernel {
  vconv_isa isa;
  const char *name;         /* "gemm/<tier>" */
  int mr, nr;               /* register tile: pieces split on these multiples */
  void (*blocking)(const vconv_machine *m, vconv_gemm_blocking *b);
  size_t (*workspace)(int64_t m, int64_t n, int64_t k, const vconv_gemm_blocking *b);
  /* C = alpha * op(A) op(B) + beta * C, row-major, m, n, k > 0, validated. */
  void (*run)(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
              int64_t ldc, const vconv_gemm_blocking *b, void *scratch);
  /* The same product for trans_a 0, trans_b 1 and at most VCONV_GEMM_DOT_ROWS
   * rows, no scratch: dot products straight from A and B.  Chosen on the whole
   * product, never per piece, so a split over threads keeps the bits. */
  void (*dot_rows)(int64_t m, int64_t n, int64_t k, float alpha, const float *A, int64_t lda,
                   const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
} vconv_gemm_kernel;
#define VCONV_GEMM_DOT_ROWS 2

typedef struct vconv_pool_shape {
  int64_t N, C, H, W, P, Q;
  int64_t R, S, sh, sw;     /* global pooling arrives as R = H, S = W, stride 1 */
  int64_t pt, pb, pl, pr;
  vconv_pool_kind kind;
  vconv_layout layout;
  int64_t dh, dw;           /* dilation: 1 except for max */
  const float *weights;     /* WEIGHTED: R x S, owned by the operator; else NULL */
  float wsum;               /* WEIGHTED: float sum of all weights in scan order */
  int training;             /* STOCHASTIC: draw (1) or average (0) */
  uint64_t seed;            /* STOCHASTIC */
  double p;                 /* LP (never 2: that resolves to L2) */
} vconv_pool_shape;

/* One backward call; what the kind does not use is NULL. */
typedef struct vconv_pool_grads {
  const float *input, *output;
  const int32_t *indices;   /* NULL: recompute from input */
  const float *grad_output;
  float *grad_input;
} vconv_pool_grads;

typedef struct vconv_pool_kernel {
  vconv_isa isa;
  const char *name;         /* "pool/<tier>" */
  /* Forward: run(task) for every task in [0, task_count) computes the whole
   * output, and the indices unless NULL; tasks write disjoint outputs.  A
   * worker's scratch is task_workspace(s) bytes (64-byte aligned), or NULL when 0. */
  size_t (*task_count)(const vconv_pool_shape *s);
  size_t (*task_workspace)(const vconv_pool_shape *s);
  void (*run)(const vconv_pool_shape *s, const float *input, float *output, int32_t *indices,
              void *scratch, size_t task);
  /* Backward, the same way; tasks write disjoint parts of grad_input. */
  size_t (*bwd_task_count)(const vconv_pool_shape *s);
  size_t (*bwd_task_workspace)(const vconv_pool_shape *s);
  void (*backward)(const vconv_pool_shape *s, const vconv_pool_grads *g, void *scratch, size_t task);
} vconv_pool_kernel;

/* Count of the taps start .. start+taps-1 that fall inside [lo, hi). */
static inline int64_t vconv_taps_inside(int64_t start, int64_t taps, int64_t lo, int64_t hi) {
  const int64_t a = start > lo ? start : lo, b = start + taps < hi ? start + taps : hi;
  return b > a ? b - a : 0;
}

/* First and one-past-last output index o with 0 <= o*stride + off < extent,
 * clamped to [0, out): the outputs for which one kernel tap reads real input. */
static inline void vconv_valid_range(int64_t off, int64_t stride, int64_t extent, int64_t out,
                                     int64_t *first, int64_t *last) {
  /* ceil(-off / stride) without forming -off + stride - 1, which need not fit. */
  int64_t lo = off >= 0 ? 0 : -off / stride + (-off % stride != 0);
  int64_t hi = extent - 1 - off < 0 ? 0 : (extent - 1 - off) / stride + 1;
  if (hi > out) hi = out;
  if (lo > hi) lo = hi;
  *first = lo;
  *last = hi;
}

/*
 * The data gradient at stride 1 as a forward convolution: input dY (K
 * channels, P x Q), output dX (C channels, H x W), each group's kernel
 * rotated by 180 degrees with its input and output channels exchanged
 * (W'[g][c][k][r][t] = W[g][k][c][R-1-r][S-1-t]), padding dh - pt on
 * top and what H leaves at the bottom (a transposed convolution's
 * output_padding rows reach no tap and get the bias alone).  0 where there
 * is none: another stride, a connection table, padding beyond the kernel.
 */
static inline int vconv_bwd_data_as_forward(const vconv_conv_shape *s, vconv_conv_shape *f) {
  if (s->sh != 1 || s->sw != 1 || s->conn) return 0;
  const int64_t kh = (s->R - 1) * s->dh, kw = (s->S - 1) * s->dw;
  const int64_t pt = kh - s->pt, pl = kw - s->pl;
  const int64_t pb = s->H - s->P - pt + kh, pr = s->W - s->Q - pl + kw;
  if (pt < 0 || pl < 0 || pb < 0 || pr < 0) return 0;
  *f = *s;
  f->C = s->K, f->H = s->P, f->W = s->Q;
  f->K = s->C, f->P = s->H, f->Q = s->W;
  f->pt = pt, f->pb = pb, f->pl = pl, f->pr = pr;
  f->Cg = s->Kg, f->Kg = s->Cg;
  f->act = VCONV_ACTIVATION_NONE;
  return 1;
}

/* Locally connected and tiled convolution (kernels/local): the convolution's
 * geometry (conn NULL) and the tile, resolved (th | P, tw | Q). */
typedef struct vconv_local_shape {
  vconv_conv_shape c;
  int64_t th, tw;           /* output (p, q) uses kernel (p % th, q % tw) */
  vconv_local_bias bias;
} vconv_local_shape;

/*
 * Each pass runs pass(task) for every task in [0, tasks) with a worker's
 * scratch of *_scratch(s) bytes (64-byte aligned, NULL when 0); tasks write
 * disjoint outputs in an order that does not depend on the split.  The
 * backward passes read the output gradient as a panel [N][P][Q][G][Kv] (Kv:
 * Kg rounded up to whole vectors, zeros past Kg), which panel() builds over
 * panel_tasks tasks; panel_floats 0: the gradient already is that panel.
 */
typedef struct vconv_local_kernel {
  vconv_isa isa;
  const char *name;         /* "local/<tier>" */
  /* Floats of packed weights and bias (SIZE_MAX when beyond size_t); pack()
   * turns the caller's weights and bias (NULL for none) into them once. */
  size_t (*packed_floats)(const vconv_local_shape *s);
  void (*pack)(const vconv_local_shape *s, const float *weights, const float *bias, float *packed);
  size_t (*fwd_tasks)(const vconv_local_shape *s);
  void (*forward)(const vconv_local_shape *s, const float *packed, const float *input,
                  float *output, size_t task);
  size_t (*panel_floats)(const vconv_local_shape *s);
  size_t (*panel_tasks)(const vconv_local_shape *s);
  void (*panel)(const vconv_local_shape *s, const float *grad_output, float *panel, size_t task);
  size_t (*bwd_data_tasks)(const vconv_local_shape *s);
  size_t (*bwd_data_scratch)(const vconv_local_shape *s);
  void (*backward_data)(const vconv_local_shape *s, const float *packed, const float *panel,
                        float *grad_input, void *scratch, size_t task);
  /* Weight tasks first, then the bias tasks (which do nothing when grad_bias is NULL). */
  size_t (*bwd_weights_tasks)(const vconv_local_shape *s);
  void (*backward_weights)(const vconv_local_shape *s, const float *panel, const float *input,
                           float *grad_weights, float *grad_bias, size_t task);
} vconv_local_kernel;

/*
 * Backward convolution (kernels/backward), on the forward shape: P x Q is the
 * size of the output gradient dY.  For a transposed convolution P and Q are
 * its input size and need not be the forward size of H x W (output_padding
 * adds rows that no tap reaches; they get the bias alone): backward kernels
 * read pt, pl for the geometry and never pb, pr.
 *   DATA     dX[n][c][h][w] = bias[c] + sum over (k, r, t, p, q) with
 *            p sh - pt + r dh = h, q sw - pl + t dw = w of W[k][c][r][t] dY[n][k][p][q]
 *            (bias NULL: 0); weights packed once at create.
 *   WEIGHTS  dW[k][c][r][t] = sum over (n, p, q) of dY[n][k][p][q] X[n][c][h][w]
 *            at the tap, 0 for unconnected pairs; db[k] = sum over (n, p, q) of dY.
 * Same plan values and task contract as forward: tasks write disjoint parts of
 * dX, or of dW and db, each reducing in a fixed order, so results do not
 * depend on the split.
 */
typedef struct vconv_conv_bwd_kernel {
  vconv_bwd_kind kind;
  vconv_algorithm algo;      /* VCONV_ALGO_DIRECT, or VCONV_ALGO_IM2COL: the GEMM formulation */
  vconv_isa isa;
  const char *name;          /* "bwd_data_<direct|gemm>/<tier>", "bwd_weights_..." */
  const char *const *paths;
  int npaths;
  int (*plan)(const vconv_conv_shape *s, const vconv_machine *m, int path, vconv_conv_plan *pl);
  /* DATA: the OIHW weights into the plan's packed form; WEIGHTS: NULL. */
  void (*pack)(const vconv_conv_shape *s, const vconv_conv_plan *pl, const float *weights,
               float *packed);
  void (*run_data)(const vconv_conv_shape *s, const vconv_conv_plan *pl, const float *packed,
                   const float *bias, const float *grad_output, float *grad_input,
                   void *workspace, size_t task);
  /* grad_bias NULL: not computed. */
  void (*run_weights)(const vconv_conv_shape *s, const vconv_conv_plan *pl, const float *input,
                      const float *grad_output, float *grad_weights, float *grad_bias,
                      void *workspace, size_t task);
} vconv_conv_bwd_kernel;

#endif
