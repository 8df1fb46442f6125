/* The one way through the planning module (plan.h). */
#include <string.h>

#include "ops.h"
#include "plan.h"

int vconv_i_plan_kernel(const vconv_conv_kernel *k, int path, const vconv_conv_shape *s,
                        vconv_i_choice *c) {
  if (!k->plan(s, vconv_i_machine(), path, &c->plan)) return 0;
  c->kernel = k;
  c->work_ns = vconv_i_cost_ns(k, &c->plan, s);
  return 1;
}

vconv_status vconv_i_plan_conv(const vconv_conv_shape *s, vconv_algorithm algo, vconv_isa isa,
                               unsigned flags, const vconv_parallel *par, const float *weights,
                               const float *bias, vconv_i_choice *c) {
  if ((int)algo < 0 || (int)algo >= VCONV_ALGO_COUNT) return VCONV_ERR_INVALID_ALGORITHM;
  vconv_isa tier;
  vconv_status st = vconv_i_resolve_isa(isa, &tier);
  if (st != VCONV_OK) return st;
  /* An explicit tier is the caller's choice: the heuristic on it, nothing else. */
  if (isa == VCONV_ISA_AUTO && algo == VCONV_ALGO_AUTO) {
    const size_t threads = vconv_i_workers(par, SIZE_MAX);
    const vconv_conv_kernel *k;
    int path;
    /* Wisdom for another tier than the effective one (made under another
     * cap, or by a version that timed lower tiers), for a plan that no
     * longer applies, or for a Winograd tile outside the accuracy rule
     * (recorded by a version without it) falls back to planning as if there
     * were none. */
    if (vconv_i_wisdom_find(s, threads, &k, &path) && k->isa == vconv_isa_effective() &&
        vconv_i_winograd_accurate(k->algo, s) && vconv_i_plan_kernel(k, path, s, c))
      return VCONV_OK;
    if (flags & VCONV_PLAN_MEASURE) {
      double ns;
      if ((st = vconv_i_measure(s, algo, par, weights, bias, c, &ns)) == VCONV_OK)
        vconv_i_wisdom_put(s, threads, c, ns);
      return st;
    }
  } else if (isa == VCONV_ISA_AUTO && (flags & VCONV_PLAN_MEASURE)) {
    double ns;
    return vconv_i_measure(s, algo, par, weights, bias, c, &ns);
  }
  return vconv_i_select(algo, tier, s, c);
}

vconv_status vconv_i_plan_named(const char *name, const vconv_conv_shape *s, vconv_i_choice *c) {
  const char *colon = strchr(name, ':');
  const size_t len = colon ? (size_t)(colon - name) : strlen(name);
  const vconv_conv_kernel *k = vconv_i_conv_kernel_named(name, len);
  if (!k) return VCONV_ERR_INVALID_ARGUMENT;
  int path = VCONV_PATH_ANY;
  if (colon) {
    for (int p = 0; p < k->npaths && path == VCONV_PATH_ANY; p++)
      if (strcmp(k->paths[p], colon + 1) == 0) path = p;
    if (path == VCONV_PATH_ANY) return VCONV_ERR_INVALID_ARGUMENT;
  }
  if (!vconv_isa_available(k->isa)) return VCONV_ERR_ISA_UNAVAILABLE;
  return vconv_i_plan_kernel(k, path, s, c) ? VCONV_OK : VCONV_ERR_UNSUPPORTED_ALGORITHM;
}
