/* The public create entry points: validate, plan (plan/), make the operator. */
#include "ops.h"
#include "plan.h"

/* create's common checks, in their documented order: pointers (then *op =
 * NULL), the descriptor, the algorithm, the tier; fills *s. */
static vconv_status prepare(const vconv_conv2d_desc *desc, vconv_algorithm algo, vconv_isa isa,
                            const float *weights, vconv_conv2d_op **out, vconv_conv_shape *s) {
  if (!out) return VCONV_ERR_NULL_POINTER;
  *out = NULL;
  if (!desc || !weights) return VCONV_ERR_NULL_POINTER;
  vconv_status st = vconv_i_conv_resolve(desc, s);
  if (st != VCONV_OK) return st;
  if ((int)algo < 0 || (int)algo >= VCONV_ALGO_COUNT) return VCONV_ERR_INVALID_ALGORITHM;
  vconv_isa tier;
  return vconv_i_resolve_isa(isa, &tier);
}

vconv_status vconv_conv2d_create_for_isa(const vconv_conv2d_desc *desc, vconv_algorithm algo,
                                         vconv_isa isa, const float *weights, const float *bias,
                                         vconv_conv2d_op **out) {
  vconv_conv_shape s;
  vconv_status st = prepare(desc, algo, isa, weights, out, &s);
  if (st != VCONV_OK) return st;
  /* The heuristic on that tier (AUTO: the effective one), never wisdom: what
   * a test or benchmark asks for is what runs. */
  vconv_isa tier;
  vconv_i_choice c;
  if ((st = vconv_i_resolve_isa(isa, &tier)) != VCONV_OK ||
      (st = vconv_i_select(algo, tier, &s, &c)) != VCONV_OK)
    return st;
  return vconv_i_conv_make(&s, &c, weights, bias, out);
}

vconv_status vconv_conv2d_create_planned(const vconv_conv2d_desc *desc, vconv_algorithm algo,
                                         unsigned flags, const vconv_parallel *parallel,
                                         const float *weights, const float *bias,
                                         vconv_conv2d_op **out) {
  vconv_conv_shape s;
  vconv_status st = prepare(desc, algo, VCONV_ISA_AUTO, weights, out, &s);
  if (st != VCONV_OK) return st;
  if (flags & ~(unsigned)VCONV_PLAN_MEASURE) return VCONV_ERR_INVALID_ARGUMENT;
  vconv_i_choice c;
  if ((st = vconv_i_plan_conv(&s, algo, VCONV_ISA_AUTO, flags, parallel, weights, bias, &c)) !=
      VCONV_OK)
    return st;
  return vconv_i_conv_make(&s, &c, weights, bias, out);
}

vconv_status vconv_conv2d_create(const vconv_conv2d_desc *desc, vconv_algorithm algo,
                                 const float *weights, const float *bias, vconv_conv2d_op **op) {
  return vconv_conv2d_create_planned(desc, algo, 0, NULL, weights, bias, op);
}

vconv_status vconv_conv2d_create_named(const vconv_conv2d_desc *desc, const char *plan,
                                       const float *weights, const float *bias,
                                       vconv_conv2d_op **out) {
  vconv_conv_shape s;
  vconv_status st = prepare(desc, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, weights, out, &s);
  if (st != VCONV_OK) return st;
  if (!plan) return VCONV_ERR_NULL_POINTER;
  vconv_i_choice c;
  if ((st = vconv_i_plan_named(plan, &s, &c)) != VCONV_OK) return st;
  return vconv_i_conv_make(&s, &c, weights, bias, out);
}

vconv_status vconv_conv1d_create(const vconv_conv1d_desc *desc, vconv_algorithm algo,
                                 const float *weights, const float *bias, vconv_conv2d_op **op) {
  if (op) *op = NULL;
  if (!desc) return VCONV_ERR_NULL_POINTER;
  vconv_conv2d_desc d;
  vconv_conv1d_to_2d(desc, &d);
  return vconv_conv2d_create(&d, algo, weights, bias, op);
}
