/*
 * The planning module: given the resolved shape, the machine and the caller's
 * parallel-for, it decides which kernel runs and with which plan, once, at
 * create.  One way through (vconv_i_plan_conv): wisdom, else measurement when
 * asked, else the heuristic; explicit algorithms, tiers and named plans take
 * the same path minus the choices they fix.  The operator (kernels/ops/
 * conv_op.c) stores the result and never plans again.
 *
 * Layers: kernels/ops/conv.c (the public create entry points) -> plan/ ->
 * kernels/ops/conv_op.c (operators) and dispatch/ (tiers, the variant list).
 * Kernels include neither.  Baseline code.
 */
#ifndef VCONV_PLAN_H
#define VCONV_PLAN_H

#include "dispatch.h"
#include "kernel.h"
#include "vconv.h"

/* The machine plans are made for: detected once per process. */
const vconv_machine *vconv_i_machine(void);

/* A kernel and its plan for one shape: what an operator runs. */
typedef struct vconv_i_choice {
  const vconv_conv_kernel *kernel;
  vconv_conv_plan plan;
  double work_ns; /* the cost model's single-thread estimate, ns (also the thread split's grain) */
} vconv_i_choice;

/* The kernel's plan for the shape (path VCONV_PATH_ANY or one of its paths),
 * with the estimate; 0 where it does not apply. */
int vconv_i_plan_kernel(const vconv_conv_kernel *k, int path, const vconv_conv_shape *s,
                        vconv_i_choice *c);

/* The cost model (cost.c): the plan's estimated single-thread time. */
double vconv_i_cost_ns(const vconv_conv_kernel *k, const vconv_conv_plan *pl,
                       const vconv_conv_shape *s);

/* The heuristic (select.c): algo AUTO, WINOGRAD (the tile of the tier it
 * picks) or one algorithm, on tier isa. */
vconv_status vconv_i_select(vconv_algorithm algo, vconv_isa isa, const vconv_conv_shape *s,
                            vconv_i_choice *c);

/* Winograd's accuracy rule (select.c, ACCURACY_M), which the heuristic, the
 * measuring planner and wisdom all follow: a tile's worst-case error bound on
 * the shape over direct's (1 for any other algorithm), and whether it is
 * within the rule. */
int vconv_i_is_winograd_tile(vconv_algorithm algo);
double vconv_i_winograd_bound_ratio(vconv_algorithm algo, const vconv_conv_shape *s);
int vconv_i_winograd_accurate(vconv_algorithm algo, const vconv_conv_shape *s);

/* Wisdom (wisdom.c): the plan (kernel and path) held for (shape, threads);
 * 0 if none.  put() remembers a choice. */
int vconv_i_wisdom_find(const vconv_conv_shape *s, size_t threads, const vconv_conv_kernel **k,
                        int *path);
void vconv_i_wisdom_put(const vconv_conv_shape *s, size_t threads, const vconv_i_choice *c,
                        double ns);

/* The measuring planner (measure.c): the fastest plan of algo (AUTO: every
 * algorithm; every path of each) on the tiers that can run here, timed on the
 * caller's parallel-for; its time in *ns. */
vconv_status vconv_i_measure(const vconv_conv_shape *s, vconv_algorithm algo,
                             const vconv_parallel *par, const float *weights, const float *bias,
                             vconv_i_choice *c, double *ns);

/* The one way through, for every create entry point: algo (AUTO included) on
 * tier isa (AUTO: the effective one), flags of vconv_conv2d_create_planned. */
vconv_status vconv_i_plan_conv(const vconv_conv_shape *s, vconv_algorithm algo, vconv_isa isa,
                               unsigned flags, const vconv_parallel *par, const float *weights,
                               const float *bias, vconv_i_choice *c);

/* A plan by its full name "<kernel name>:<path>" (or the kernel name alone:
 * its own choice of path); INVALID_ARGUMENT for no such name,
 * ISA_UNAVAILABLE for a tier that cannot run here, UNSUPPORTED_ALGORITHM
 * where it does not apply to the shape. */
vconv_status vconv_i_plan_named(const char *name, const vconv_conv_shape *s, vconv_i_choice *c);

#endif
