/* Convolution operators: made from a planned choice (pack once), run, destroy.
 * Nothing here plans: the choice arrives from plan/ and is stored as it is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "plan.h"

struct vconv_conv2d_op {
  vconv_conv_shape shape;
  vconv_i_choice choice;  /* the kernel and its plan */
  char plan_name[80];     /* "<kernel>:<path>" */
  float *packed;
  float *bias;          /* NULL when the descriptor has none */
  unsigned char *conn;  /* the operator's copy of the connection table */
  size_t task_workspace;
  size_t task_count;
  size_t grain, chunk;  /* least tasks per worker, most per claim (vconv_i_grain, _chunk) */
};

vconv_status vconv_i_conv_make(const vconv_conv_shape *shape, const vconv_i_choice *choice,
                               const float *weights, const float *bias, vconv_conv2d_op **out) {
  const vconv_conv_kernel *kernel = choice->kernel;
  const vconv_conv_plan *pl = &choice->plan;
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
  if (pl->packed_floats > SIZE_MAX / sizeof(float)) goto oom;
  if (!(op->packed = vconv_i_alloc(pl->packed_floats * sizeof(float)))) goto oom;
  kernel->pack(&s, pl, weights, op->packed);
  op->shape = s;
  op->choice = *choice;
  snprintf(op->plan_name, sizeof op->plan_name, "%s:%s", kernel->name, kernel->paths[pl->path]);
  op->task_count = pl->task_count;
  op->task_workspace = pl->task_workspace;
  op->grain = vconv_i_grain(choice->work_ns, op->task_count);
  op->chunk = vconv_i_chunk(choice->work_ns, op->task_count);
  *out = op;
  return VCONV_OK;
oom:
  vconv_conv2d_destroy(op);
  return VCONV_ERR_OUT_OF_MEMORY;
}

vconv_status vconv_conv2d_update_weights(vconv_conv2d_op *op, const float *weights,
                                         const float *bias) {
  if (!op || !weights) return VCONV_ERR_NULL_POINTER;
  if (bias && !op->bias) return VCONV_ERR_INVALID_ARGUMENT;
  op->choice.kernel->pack(&op->shape, &op->choice.plan, weights, op->packed);
  if (bias) memcpy(op->bias, bias, (size_t)op->shape.K * sizeof(float));
  return VCONV_OK;
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
  const vconv_conv2d_op *op = c->op;
  op->choice.kernel->run(&op->shape, &op->choice.plan, op->packed, op->bias, c->in, c->out, scratch, i);
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

const vconv_i_choice *vconv_i_conv_choice_of(const vconv_conv2d_op *op) { return &op->choice; }

const char *vconv_conv2d_kernel_name(const vconv_conv2d_op *op) {
  return op ? op->choice.kernel->name : NULL;
}
const char *vconv_conv2d_plan_of(const vconv_conv2d_op *op) { return op ? op->plan_name : NULL; }
vconv_algorithm vconv_conv2d_algorithm(const vconv_conv2d_op *op) {
  return op ? op->choice.kernel->algo : VCONV_ALGO_AUTO;
}
vconv_isa vconv_conv2d_isa(const vconv_conv2d_op *op) {
  return op ? op->choice.kernel->isa : VCONV_ISA_AUTO;
}

void vconv_conv2d_destroy(vconv_conv2d_op *op) {
  if (!op) return;
  vconv_i_free(op->packed);
  vconv_i_free(op->bias);
  free(op->conn);
  free(op);
}
