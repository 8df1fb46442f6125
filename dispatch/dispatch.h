/* Internal interface of dispatch/: CPU features, the cap, the kernel tables.
 * Baseline code: compiled without any tier flags. */
#ifndef VCONV_DISPATCH_H
#define VCONV_DISPATCH_H

#include "kernel.h"
#include "vconv.h"

/* Bit (1 << tier) for every tier the CPU and OS support; detected once. */
unsigned vconv_i_cpu_tiers(void);

/* Kernels built into the library, in the order tests and benchmarks list them. */
size_t vconv_i_conv_kernel_count(void);
const vconv_conv_kernel *vconv_i_conv_kernel(size_t index);
size_t vconv_i_pool_kernel_count(void);
const vconv_pool_kernel *vconv_i_pool_kernel(size_t index);

/* Resolve VCONV_ISA_AUTO to the effective tier and check that `isa` can run here. */
vconv_status vconv_i_resolve_isa(vconv_isa isa, vconv_isa *out);

/* The kernel for (algo, isa) applicable to the shape; algo AUTO follows the heuristic. */
vconv_status vconv_i_select_conv(vconv_algorithm algo, vconv_isa isa, const vconv_conv_shape *s,
                                 const vconv_conv_kernel **kernel);
/* Winograd (winograd_auto.c): the cheapest applicable tile of the tier (NULL
 * if none; *cost its estimate), and the tile AUTO takes (NULL: not Winograd). */
const vconv_conv_kernel *vconv_i_winograd_tile(vconv_isa isa, const vconv_conv_shape *s,
                                               double *cost);
const vconv_conv_kernel *vconv_i_winograd_auto(vconv_isa isa, const vconv_conv_shape *s);
/* Whether algo is one Winograd tile; a tile's worst-case error bound on the
 * shape over direct's (1 for any other algorithm); whether it is within the
 * rule that both of the above and the planner follow (winograd_auto.c,
 * ACCURACY_M). */
int vconv_i_is_winograd_tile(vconv_algorithm algo);
double vconv_i_winograd_bound_ratio(vconv_algorithm algo, const vconv_conv_shape *s);
int vconv_i_winograd_accurate(vconv_algorithm algo, const vconv_conv_shape *s);
vconv_status vconv_i_select_pool(vconv_isa isa, const vconv_pool_kernel **kernel);
vconv_status vconv_i_select_gemm(vconv_isa isa, const vconv_gemm_kernel **kernel);
/* The locally connected / tiled kernel of a tier (registry_local.c). */
vconv_status vconv_i_select_local(vconv_isa isa, const vconv_local_kernel **kernel);

#endif
