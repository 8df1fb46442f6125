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

/* The conv kernel of that name (the first len characters of name), or NULL. */
const vconv_conv_kernel *vconv_i_conv_kernel_named(const char *name, size_t len);

vconv_status vconv_i_select_pool(vconv_isa isa, const vconv_pool_kernel **kernel);
vconv_status vconv_i_select_gemm(vconv_isa isa, const vconv_gemm_kernel **kernel);
/* The locally connected / tiled kernel of a tier (registry_local.c). */
vconv_status vconv_i_select_local(vconv_isa isa, const vconv_local_kernel **kernel);

/* Backward kernels (variants.h: VCONV_CONV_BWD_ALGOS), and the one of that name. */
size_t vconv_i_conv_bwd_kernel_count(void);
const vconv_conv_bwd_kernel *vconv_i_conv_bwd_kernel(size_t index);
const vconv_conv_bwd_kernel *vconv_i_conv_bwd_kernel_named(const char *name, size_t len);

#endif
