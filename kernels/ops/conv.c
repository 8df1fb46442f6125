/* Convolution operators: create (validate, select, pack once), run, destroy. */
#include <stdlib.h>
#include <string.h>

#include "ops.h"

struct vconv_conv2d_op {
  vconv_conv_shape shape;
  const vconv_conv_kernel *kernel;
  float *packed;
  float *bias;          /* NULL when the descriptor has none */
  unsigned char *conn;  /* the operator's copy of the connection table */
  size_t task_workspace;
  size_t task_count;
  size_t grain, chunk;  /* least tasks per worker, most per claim (vconv_i_grain, _chunk) */
};

vconv_status vconv_i_conv_prepare(const vconv_conv2d_desc *desc, vconv_algorithm algo,
                                  vconv_isa isa, const float *weights, vconv_conv2d_op **out,
                                  vconv_conv_shape *s, vconv_isa *tier) {
  if (!out) return VCONV_ERR_NULL_POINTER;
  *out = NULL;
  if (!desc || !weights) return VCONV_ERR_NULL_POINTER;
  vconv_status st = vconv_i_conv_resolve(desc, s);
  if (st != VCONV_OK) return st;
  if ((int)algo < 0 || (int)algo >= VCONV_ALGO_COUNT) return VCONV_ERR_INVALID_ALGORITHM;
  return vconv_i_resolve_isa(isa, tier);
}

vconv_status vconv_conv2d_create_for_isa(const vconv_conv2d_desc *desc, vconv_algorithm algo,
                                         vconv_isa isa, const float *weights, const float *bias,
                                         vconv_conv2d_op **out) {
  vconv_conv_shape s;
  vconv_isa tier;
  vconv_status st = vconv_i_conv_prepare(desc, algo, isa, weights, out, &s, &tier);
  if (st != VCONV_OK) return st;
  const vconv_conv_kernel *kernel;
  if ((st = vconv_i_select_conv(algo, tier, &s, &kernel)) != VCONV_OK) return st;
  return vconv_i_conv_make(&s, kernel, weights, bias, out);
}

vconv_status vconv_i_conv_make(const vconv_conv_shape *shape, const vconv_conv_kernel *kernel,
                               const float *weights, const float *bias, vconv_conv2d_op **out) {
  vconv_conv_shape s = *shape;
  vconv_conv2d_op *op = calloc(1, sizeof *op);
  if (!op) return VCONV_ERR_OUT_OF_MEMORY;
  const size_t conn_bytes = (size_t)(s.K * s.Cg);
  if (s.conn) {
    if (!(op->conn = malloc(conn_bytes))) goto oom;
    memcpy(op->conn, s.conn, conn_bytes);
    s.conn = op->conn;
  }
  if (bias) {
    if (!(op->bias = vconv_i_alloc((size_t)s.K * sizeof(float)))) goto oom;
    memcpy(op->bias, bias, (size_t)s.K * sizeof(float));
  }
  const size_t packed_floats = kernel->packed_floats(&s);
  if (packed_floats > SIZE_MAX / sizeof(float)) goto oom;
  if (!(op->packed = vconv_i_alloc(packed_floats * sizeof(float)))) goto oom;
  kernel->pack(&s, weights, op->packed);
  op->shape = s;
  op->kernel = kernel;
  op->task_count = kernel->task_count(&s);
  op->task_workspace = kernel->task_workspace(&s);
  const double macs = (double)s.N * (double)s.K * (double)(s.P * s.Q) * (double)(s.Cg * s.R * s.S);
  const double work_ns = macs / (5 * vconv_i_lanes(kernel->isa));
  op->grain = vconv_i_grain(work_ns, op->task_count);
  op->chunk = vconv_i_chunk(work_ns, op->task_count);
  *out = op;
  return VCONV_OK;
oom:
  vconv_conv2d_destroy(op);
  return VCONV_ERR_OUT_OF_MEMORY;
}

vconv_status vconv_conv2d_create(const vconv_conv2d_desc *desc, vconv_algorithm algo,
                                 const float *weights, const float *bias, vconv_conv2d_op **op) {
  return vconv_conv2d_create_planned(desc, algo, 0, NULL, weights, bias, op);
}

vconv_status vconv_conv1d_create(const vconv_conv1d_desc *desc, vconv_algorithm algo,
                                 const float *weights, const float *bias, vconv_conv2d_op **op) {
  if (op) *op = NULL;
  if (!desc) return VCONV_ERR_NULL_POINTER;
  vconv_conv2d_desc d;
  vconv_conv1d_to_2d(desc, &d);
  return vconv_conv2d_create(&d, algo, weights, bias, op);
}

/* Each worker's scratch is a cache-line multiple. */
static size_t slice_bytes(const vconv_conv2d_op *op) { return vconv_i_slice_bytes(op->task_workspace); }

size_t vconv_conv2d_workspace_size(const vconv_conv2d_op *op, const vconv_parallel *parallel) {
  if (!op || op->task_workspace == 0) return 0;
  return vconv_i_slices_bytes(slice_bytes(op),
                              vconv_i_workers_grain(parallel, op->task_count, op->grain));
}

typedef struct conv_call {
  const vconv_conv2d_op *op;
  const float *in;
  float *out;
} conv_call;

static void conv_piece(void *arg, void *scratch, size_t i) {
  const conv_call *c = arg;
  c->op->kernel->run(&c->op->shape, c->op->packed, c->op->bias, c->in, c->out, scratch, i);
}

vconv_status vconv_conv2d_run(const vconv_conv2d_op *op, const float *input, float *output,
                              void *workspace, size_t workspace_size,
                              const vconv_parallel *parallel) {
  if (!op || !input || !output) return VCONV_ERR_NULL_POINTER;
  const size_t need = vconv_conv2d_workspace_size(op, parallel);
  void *owned = NULL;
  if (need == SIZE_MAX) return VCONV_ERR_OUT_OF_MEMORY; /* saturated: no memory is that large */
  if (need && !workspace) {
    if (!(workspace = owned = vconv_i_alloc(need))) return VCONV_ERR_OUT_OF_MEMORY;
    workspace_size = need;
  }
  if (need && workspace_size < need) return VCONV_ERR_WORKSPACE_TOO_SMALL;
  unsigned char *ws = NULL;
  if (need) ws = (unsigned char *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63);
  conv_call call = {op, input, output};
  vconv_i_run_split(parallel, op->task_count, op->grain, op->chunk, ws, slice_bytes(op), conv_piece,
                    &call);
  vconv_i_free(owned);
  return VCONV_OK;
}

const vconv_conv_kernel *vconv_i_conv_kernel_of(const vconv_conv2d_op *op) { return op->kernel; }

const char *vconv_conv2d_kernel_name(const vconv_conv2d_op *op) { return op ? op->kernel->name : NULL; }
vconv_algorithm vconv_conv2d_algorithm(const vconv_conv2d_op *op) {
  return op ? op->kernel->algo : VCONV_ALGO_AUTO;
}
vconv_isa vconv_conv2d_isa(const vconv_conv2d_op *op) { return op ? op->kernel->isa : VCONV_ISA_AUTO; }

void vconv_conv2d_destroy(vconv_conv2d_op *op) {
  if (!op) return;
  vconv_i_free(op->packed);
  vconv_i_free(op->bias);
  free(op->conn);
  free(op);
}
