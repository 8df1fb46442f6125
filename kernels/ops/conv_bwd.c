/*
 * Backward convolution operators (data and weight gradients) and the
 * transposed convolution: validate, choose a kernel (select_bwd, the
 * documented AUTO rule), plan it once, pack once, run its tasks on the
 * caller's parallel-for.  Baseline code, like conv.c and conv_op.c.
 *
 * The planning lives here rather than in plan/: the backward kernels have
 * one path each, no wisdom and no measuring planner yet, so the whole choice
 * is the short rule in select_bwd; the plan itself is still the kernel's,
 * computed once at create from the machine (plan/machine.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "plan.h"

struct vconv_conv2d_bwd_op {
  vconv_bwd_kind kind;
  vconv_conv_shape shape;
  const vconv_conv_bwd_kernel *kernel;
  vconv_conv_plan plan;
  char plan_name[80];
  float *packed;       /* data: packed weights */
  float *bias;         /* transposed convolution: C floats, or NULL */
  unsigned char *conn; /* the operator's copy of the connection table */
  size_t grain, chunk;
};

/* ---- choice ----------------------------------------------------------- */

/* Multiply-adds of the gradient (the same count for data and weights). */
static double bwd_macs(const vconv_conv_shape *s) {
  double pairs = (double)s->K * (double)s->Cg;
  if (s->conn) {
    pairs = 0;
    for (int64_t i = 0; i < s->K * s->Cg; i++) pairs += s->conn[i] != 0;
  }
  return pairs * (double)(s->N * s->R * s->S) * (double)(s->P * s->Q);
}

static const vconv_conv_bwd_kernel *find_kernel(vconv_bwd_kind kind, vconv_algorithm algo,
                                                vconv_isa isa) {
  for (size_t i = 0; i < vconv_i_conv_bwd_kernel_count(); i++) {
    const vconv_conv_bwd_kernel *k = vconv_i_conv_bwd_kernel(i);
    if (k->kind == kind && k->algo == algo && k->isa == isa) return k;
  }
  return NULL;
}

/* AUTO (include/vconv.h): weights: direct, except for a one-pixel dY at
 * batch 1 (LeNet C5: the GEMM's outer product, 10 against 18 us on Zen 4,
 * avx512; direct from batch 2, 18 against 20); data: direct unless dY has
 * one pixel and the batch is above 4 (LeNet C5: the GEMM over the batch, 22
 * against 64 us at batch 16, 18 against 32 at 8, even at 4, and 15 against
 * 4 at batch 1: a fixed cost the images repay), or its vector dimension
 * (input channels per group) fills less than half a vector of the tier, the
 * stride is not 1 (direct's "rows" path, columns in vectors, takes stride
 * 1) and the GEMM form applies (no connection table).  From single-thread
 * runs of the LeNet-5 and AlexNet layers at batch 16: data direct beat
 * col2im on conv2-5 (Zen 5), and with "rows" on C1 (111 against 194 us on
 * Zen 4, avx512) and C3 (181 against 276); col2im won on conv1 (3 channels,
 * stride 4: 42 against 206 ms); weights direct won on every layer.  Where
 * the GEMM does not take the shape, direct. */
static vconv_algorithm select_bwd(vconv_bwd_kind kind, vconv_isa isa, const vconv_conv_shape *s) {
  if (s->conn) return VCONV_ALGO_DIRECT;
  const int one_pixel = s->P == 1 && s->Q == 1;
  if (kind != VCONV_BWD_DATA) return one_pixel && s->N == 1 ? VCONV_ALGO_IM2COL : VCONV_ALGO_DIRECT;
  if (one_pixel) return s->N > 4 ? VCONV_ALGO_IM2COL : VCONV_ALGO_DIRECT;
  if (2.0 * (double)s->Cg < vconv_i_lanes(isa) && (s->sh != 1 || s->sw != 1)) return VCONV_ALGO_IM2COL;
  return VCONV_ALGO_DIRECT;
}

/*
 * Winograd for the data gradient (kernels/backward/bwd_winograd.c): the
 * forward planner's choice on the equivalent forward shape
 * (vconv_bwd_data_as_forward), so that the cost model and the accuracy rule
 * are forward's own.  algo AUTO: a tile where forward AUTO would take one
 * there; WINOGRAD: the tile of lowest estimate within the rule; a tile: that
 * tile.  Returns the tile's path of bwd_data_winograd, or -1.
 */
static int winograd_tile(vconv_algorithm algo, vconv_isa isa, const vconv_conv_shape *s) {
  vconv_conv_shape f;
  if (!vconv_bwd_data_as_forward(s, &f)) return -1;
  vconv_i_choice c;
  vconv_algorithm tile = algo;
  if (algo == VCONV_ALGO_AUTO || algo == VCONV_ALGO_WINOGRAD) {
    if (vconv_i_select(algo, isa, &f, &c) != VCONV_OK) return -1;
    tile = c.kernel->algo;
  }
  const vconv_conv_bwd_kernel *k = find_kernel(VCONV_BWD_DATA, VCONV_ALGO_WINOGRAD, isa);
  const char *name = vconv_algorithm_name(tile);
  if (!k || !vconv_i_is_winograd_tile(tile) || !name) return -1;
  name += strlen("winograd_");
  for (int p = 0; p < k->npaths; p++)
    if (strcmp(k->paths[p], name) == 0) return p;
  return -1;
}

static vconv_status make_op(vconv_bwd_kind kind, const vconv_conv_shape *shape,
                            const vconv_conv_bwd_kernel *k, int path, const float *weights,
                            const float *bias, vconv_conv2d_bwd_op **out) {
  vconv_conv_plan pl;
  if (!k->plan(shape, vconv_i_machine(), path, &pl)) return VCONV_ERR_UNSUPPORTED_ALGORITHM;
  vconv_conv_shape s = *shape;
  vconv_conv2d_bwd_op *op = calloc(1, sizeof *op);
  if (!op) return VCONV_ERR_OUT_OF_MEMORY;
  op->kind = kind;
  if (s.conn) {
    if (!(op->conn = malloc((size_t)(s.K * s.Cg)))) goto oom;
    memcpy(op->conn, s.conn, (size_t)(s.K * s.Cg));
    s.conn = op->conn;
  }
  if (bias) {
    if (!(op->bias = vconv_i_alloc((size_t)s.C * sizeof(float)))) goto oom;
    memcpy(op->bias, bias, (size_t)s.C * sizeof(float));
  }
  if (kind == VCONV_BWD_DATA) {
    if (pl.packed_floats > SIZE_MAX / sizeof(float)) goto oom;
    if (!(op->packed = vconv_i_alloc(pl.packed_floats * sizeof(float)))) goto oom;
    k->pack(&s, &pl, weights, op->packed);
  }
  op->shape = s;
  op->kernel = k;
  op->plan = pl;
  snprintf(op->plan_name, sizeof op->plan_name, "%s:%s", k->name, k->paths[pl.path]);
  const double ns = bwd_macs(&s) / (5.0 * vconv_i_lanes(k->isa));
  op->grain = vconv_i_grain(ns, pl.task_count);
  op->chunk = vconv_i_chunk(ns, pl.task_count);
  *out = op;
  return VCONV_OK;
oom:
  vconv_conv2d_bwd_destroy(op);
  return VCONV_ERR_OUT_OF_MEMORY;
}

/* create's checks after the pointers, in their documented order. */
static vconv_status create_shape(vconv_bwd_kind kind, const vconv_conv_shape *s,
                                 vconv_algorithm algo, vconv_isa isa, const float *weights,
                                 const float *bias, vconv_conv2d_bwd_op **out) {
  if ((int)algo < 0 || (int)algo >= VCONV_ALGO_COUNT) return VCONV_ERR_INVALID_ALGORITHM;
  vconv_isa tier;
  vconv_status st = vconv_i_resolve_isa(isa, &tier);
  if (st != VCONV_OK) return st;
  const int automatic = algo == VCONV_ALGO_AUTO;
  int path = VCONV_PATH_ANY;
  if (kind == VCONV_BWD_DATA && (automatic || algo == VCONV_ALGO_WINOGRAD || vconv_i_is_winograd_tile(algo))) {
    const int tile = winograd_tile(algo, tier, s);
    if (tile >= 0) {
      algo = VCONV_ALGO_WINOGRAD;
      path = tile;
    } else if (!automatic) {
      return VCONV_ERR_UNSUPPORTED_ALGORITHM;
    }
  }
  if (algo == VCONV_ALGO_AUTO) algo = select_bwd(kind, tier, s);
  const vconv_conv_bwd_kernel *k = find_kernel(kind, algo, tier);
  st = k ? make_op(kind, s, k, path, weights, bias, out) : VCONV_ERR_UNSUPPORTED_ALGORITHM;
  if (st == VCONV_ERR_UNSUPPORTED_ALGORITHM && automatic && algo != VCONV_ALGO_DIRECT &&
      (k = find_kernel(kind, VCONV_ALGO_DIRECT, tier)))
    st = make_op(kind, s, k, VCONV_PATH_ANY, weights, bias, out);
  return st;
}

static vconv_status create_desc(vconv_bwd_kind kind, const vconv_conv2d_desc *desc,
                                vconv_algorithm algo, vconv_isa isa, const float *weights,
                                vconv_conv2d_bwd_op **out) {
  if (!out) return VCONV_ERR_NULL_POINTER;
  *out = NULL;
  if (!desc || (kind == VCONV_BWD_DATA && !weights)) return VCONV_ERR_NULL_POINTER;
  vconv_conv_shape s;
  vconv_status st = vconv_i_conv_resolve(desc, &s);
  if (st != VCONV_OK) return st;
  if (s.act != VCONV_ACTIVATION_NONE) return VCONV_ERR_UNSUPPORTED_OPTION;
  return create_shape(kind, &s, algo, isa, weights, NULL, out);
}

vconv_status vconv_conv2d_bwd_data_create(const vconv_conv2d_desc *desc, vconv_algorithm algo,
                                          const float *weights, vconv_conv2d_bwd_op **op) {
  return create_desc(VCONV_BWD_DATA, desc, algo, VCONV_ISA_AUTO, weights, op);
}
vconv_status vconv_conv2d_bwd_data_create_for_isa(const vconv_conv2d_desc *desc,
                                                  vconv_algorithm algo, vconv_isa isa,
                                                  const float *weights, vconv_conv2d_bwd_op **op) {
  return create_desc(VCONV_BWD_DATA, desc, algo, isa, weights, op);
}
vconv_status vconv_conv2d_bwd_weights_create(const vconv_conv2d_desc *desc, vconv_algorithm algo,
                                             vconv_conv2d_bwd_op **op) {
  return create_desc(VCONV_BWD_WEIGHTS, desc, algo, VCONV_ISA_AUTO, NULL, op);
}
vconv_status vconv_conv2d_bwd_weights_create_for_isa(const vconv_conv2d_desc *desc,
                                                     vconv_algorithm algo, vconv_isa isa,
                                                     vconv_conv2d_bwd_op **op) {
  return create_desc(VCONV_BWD_WEIGHTS, desc, algo, isa, NULL, op);
}

vconv_status vconv_conv2d_bwd_create_named(const vconv_conv2d_desc *desc, const char *plan,
                                           const float *weights, vconv_conv2d_bwd_op **out) {
  if (!out) return VCONV_ERR_NULL_POINTER;
  *out = NULL;
  if (!desc || !plan) return VCONV_ERR_NULL_POINTER;
  const char *colon = strchr(plan, ':');
  const size_t klen = colon ? (size_t)(colon - plan) : strlen(plan);
  const vconv_conv_bwd_kernel *k = vconv_i_conv_bwd_kernel_named(plan, klen);
  int path = VCONV_PATH_ANY;
  if (k && colon) {
    path = -2;
    for (int i = 0; i < k->npaths; i++)
      if (strcmp(k->paths[i], colon + 1) == 0) path = i;
  }
  if (!k || path == -2) return VCONV_ERR_INVALID_ARGUMENT;
  if (k->kind == VCONV_BWD_DATA && !weights) return VCONV_ERR_NULL_POINTER;
  vconv_conv_shape s;
  vconv_status st = vconv_i_conv_resolve(desc, &s);
  if (st != VCONV_OK) return st;
  if (s.act != VCONV_ACTIVATION_NONE) return VCONV_ERR_UNSUPPORTED_OPTION;
  vconv_isa tier;
  if ((st = vconv_i_resolve_isa(k->isa, &tier)) != VCONV_OK) return st;
  return make_op(k->kind, &s, k, path, weights, NULL, out);
}

vconv_status vconv_conv2d_bwd_update_weights(vconv_conv2d_bwd_op *op, const float *weights,
                                             const float *bias) {
  if (!op || !weights) return VCONV_ERR_NULL_POINTER;
  if (op->kind != VCONV_BWD_DATA || (bias && !op->bias)) return VCONV_ERR_INVALID_ARGUMENT;
  op->kernel->pack(&op->shape, &op->plan, weights, op->packed);
  if (bias) memcpy(op->bias, bias, (size_t)op->shape.C * sizeof(float));
  return VCONV_OK;
}

/* ---- run -------------------------------------------------------------- */

static size_t slice_bytes(const vconv_conv2d_bwd_op *op) {
  return vconv_i_slice_bytes(op->plan.task_workspace);
}

size_t vconv_conv2d_bwd_workspace_size(const vconv_conv2d_bwd_op *op,
                                       const vconv_parallel *parallel) {
  if (!op || op->plan.task_workspace == 0) return 0;
  return vconv_i_slices_bytes(slice_bytes(op),
                              vconv_i_workers_grain(parallel, op->plan.task_count, op->grain));
}

typedef struct bwd_call {
  const vconv_conv2d_bwd_op *op;
  const float *x, *dy;
  float *dx, *dw, *db;
} bwd_call;

static void bwd_piece(void *arg, void *scratch, size_t i) {
  const bwd_call *c = arg;
  const vconv_conv2d_bwd_op *op = c->op;
  if (op->kind == VCONV_BWD_DATA)
    op->kernel->run_data(&op->shape, &op->plan, op->packed, op->bias, c->dy, c->dx, scratch, i);
  else
    op->kernel->run_weights(&op->shape, &op->plan, c->x, c->dy, c->dw, c->db, scratch, i);
}

static vconv_status run(const vconv_conv2d_bwd_op *op, bwd_call *call, void *workspace,
                        size_t workspace_size, const vconv_parallel *parallel) {
  const size_t need = vconv_conv2d_bwd_workspace_size(op, parallel);
  void *owned = NULL;
  if (need == SIZE_MAX) return VCONV_ERR_OUT_OF_MEMORY;
  if (need && !workspace) {
    if (!(workspace = owned = vconv_i_alloc(need))) return VCONV_ERR_OUT_OF_MEMORY;
    workspace_size = need;
  }
  if (need && workspace_size < need) return VCONV_ERR_WORKSPACE_TOO_SMALL;
  unsigned char *ws = NULL;
  if (need) ws = (unsigned char *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63);
  vconv_i_run_split(parallel, op->plan.task_count, op->grain, op->chunk, ws, slice_bytes(op),
                    bwd_piece, call);
  vconv_i_free(owned);
  return VCONV_OK;
}

vconv_status vconv_conv2d_bwd_data_run(const vconv_conv2d_bwd_op *op, const float *grad_output,
                                       float *grad_input, void *workspace, size_t workspace_size,
                                       const vconv_parallel *parallel) {
  if (!op || !grad_output || !grad_input) return VCONV_ERR_NULL_POINTER;
  if (op->kind != VCONV_BWD_DATA) return VCONV_ERR_INVALID_ARGUMENT;
  bwd_call c = {op, NULL, grad_output, grad_input, NULL, NULL};
  return run(op, &c, workspace, workspace_size, parallel);
}

vconv_status vconv_conv2d_bwd_weights_run(const vconv_conv2d_bwd_op *op, const float *input,
                                          const float *grad_output, float *grad_weights,
                                          float *grad_bias, void *workspace, size_t workspace_size,
                                          const vconv_parallel *parallel) {
  if (!op || !input || !grad_output || !grad_weights) return VCONV_ERR_NULL_POINTER;
  if (op->kind != VCONV_BWD_WEIGHTS) return VCONV_ERR_INVALID_ARGUMENT;
  bwd_call c = {op, input, grad_output, NULL, grad_weights, grad_bias};
  return run(op, &c, workspace, workspace_size, parallel);
}

vconv_status vconv_conv_transpose2d_run(const vconv_conv2d_bwd_op *op, const float *input,
                                        float *output, void *workspace, size_t workspace_size,
                                        const vconv_parallel *parallel) {
  return vconv_conv2d_bwd_data_run(op, input, output, workspace, workspace_size, parallel);
}

const char *vconv_conv2d_bwd_kernel_name(const vconv_conv2d_bwd_op *op) {
  return op ? op->kernel->name : NULL;
}
const char *vconv_conv2d_bwd_plan_of(const vconv_conv2d_bwd_op *op) {
  return op ? op->plan_name : NULL;
}
vconv_bwd_kind vconv_conv2d_bwd_kind(const vconv_conv2d_bwd_op *op) {
  return op ? op->kind : VCONV_BWD_DATA;
}
vconv_algorithm vconv_conv2d_bwd_algorithm(const vconv_conv2d_bwd_op *op) {
  return op ? op->kernel->algo : VCONV_ALGO_AUTO;
}
vconv_isa vconv_conv2d_bwd_isa(const vconv_conv2d_bwd_op *op) {
  return op ? op->kernel->isa : VCONV_ISA_AUTO;
}

void vconv_conv2d_bwd_destroy(vconv_conv2d_bwd_op *op) {
  if (!op) return;
  vconv_i_free(op->packed);
  vconv_i_free(op->bias);
  free(op->conn);
  free(op);
}

/* ---- transposed convolution ------------------------------------------- */

void vconv_conv_transpose2d_desc_init(vconv_conv_transpose2d_desc *d) {
  if (!d) return;
  memset(d, 0, sizeof *d);
  d->stride_h = d->stride_w = 1;
  d->dilation_h = d->dilation_w = 1;
  d->groups = 1;
  d->padding_mode = VCONV_PADDING_EXPLICIT;
  d->layout = VCONV_LAYOUT_NCHW;
}

static int64_t max_elems(void) {
  const int64_t p = (int64_t)(PTRDIFF_MAX / (ptrdiff_t)sizeof(float));
  return p < VCONV_MAX_ELEMENTS ? p : VCONV_MAX_ELEMENTS;
}

static int product_ok(const int64_t *v, int n) {
  int64_t r = 1;
  for (int i = 0; i < n; i++)
    if (__builtin_mul_overflow(r, v[i], &r) || r > max_elems()) return 0;
  return 1;
}

/* One axis: the padding the mode resolves to and the output extent. */
static vconv_status transpose_axis(int64_t in, int64_t k, int64_t st, int64_t dil, int64_t pb,
                                   int64_t pe, int64_t op, vconv_padding_mode mode, int64_t *begin,
                                   int64_t *out) {
  const int64_t X = VCONV_MAX_EXTENT;
  if (in > X || k > X || st > X || dil > X || op > X) return VCONV_ERR_SIZE_OVERFLOW;
  if (mode == VCONV_PADDING_EXPLICIT && (pb > X || pe > X)) return VCONV_ERR_SIZE_OVERFLOW;
  const int64_t keff = (k - 1) * dil + 1;
  if (keff > X) return VCONV_ERR_SIZE_OVERFLOW;
  const int64_t span = st * (in - 1) + op + keff; /* below 2^64 / 2: three extents */
  if (span > X) return VCONV_ERR_SIZE_OVERFLOW;
  switch (mode) {
    case VCONV_PADDING_EXPLICIT: break;
    case VCONV_PADDING_VALID: pb = pe = 0; break;
    case VCONV_PADDING_SAME:
    case VCONV_PADDING_SAME_LOWER: {
      if (in * st > X) return VCONV_ERR_SIZE_OVERFLOW;
      const int64_t total = span - in * st;
      if (total < 0) return VCONV_ERR_UNSUPPORTED_OPTION;
      pb = mode == VCONV_PADDING_SAME ? total / 2 : total - total / 2;
      pe = total - pb;
      break;
    }
    default: return VCONV_ERR_INVALID_PADDING_MODE;
  }
  if (pb + pe >= span) return VCONV_ERR_INVALID_PADDING;
  *begin = pb;
  *out = span - pb - pe;
  return VCONV_OK;
}

static vconv_status transpose_resolve(const vconv_conv_transpose2d_desc *d, vconv_conv_shape *s) {
  if (d->layout != VCONV_LAYOUT_NCHW && d->layout != VCONV_LAYOUT_NHWC)
    return VCONV_ERR_INVALID_LAYOUT;
  if ((unsigned)d->padding_mode > VCONV_PADDING_SAME_LOWER || d->padding_mode == VCONV_PADDING_FULL)
    return VCONV_ERR_INVALID_PADDING_MODE;
  if (d->batch <= 0 || d->in_channels <= 0 || d->in_height <= 0 || d->in_width <= 0 ||
      d->out_channels <= 0)
    return VCONV_ERR_INVALID_SIZE;
  if (d->kernel_h <= 0 || d->kernel_w <= 0) return VCONV_ERR_INVALID_KERNEL_SIZE;
  if (d->stride_h <= 0 || d->stride_w <= 0) return VCONV_ERR_INVALID_STRIDE;
  if (d->dilation_h <= 0 || d->dilation_w <= 0) return VCONV_ERR_INVALID_DILATION;
  if (d->output_padding_h < 0 || d->output_padding_w < 0) return VCONV_ERR_INVALID_PADDING;
  if (d->padding_mode == VCONV_PADDING_EXPLICIT &&
      (d->pad_top < 0 || d->pad_bottom < 0 || d->pad_left < 0 || d->pad_right < 0))
    return VCONV_ERR_INVALID_PADDING;
  if (d->groups <= 0 || d->in_channels % d->groups || d->out_channels % d->groups)
    return VCONV_ERR_INVALID_GROUPS;
  int64_t pt, pl, H, W;
  vconv_status st = transpose_axis(d->in_height, d->kernel_h, d->stride_h, d->dilation_h,
                                   d->pad_top, d->pad_bottom, d->output_padding_h,
                                   d->padding_mode, &pt, &H);
  if (st == VCONV_OK)
    st = transpose_axis(d->in_width, d->kernel_w, d->stride_w, d->dilation_w, d->pad_left,
                        d->pad_right, d->output_padding_w, d->padding_mode, &pl, &W);
  if (st != VCONV_OK) return st;
  int64_t plane;
  if (d->batch > VCONV_MAX_EXTENT || d->in_channels > VCONV_MAX_EXTENT ||
      d->out_channels > VCONV_MAX_EXTENT || __builtin_mul_overflow(H, W, &plane) ||
      plane > VCONV_MAX_PLANE || d->in_height * d->in_width > VCONV_MAX_PLANE)
    return VCONV_ERR_SIZE_OVERFLOW;
  const int64_t out_dims[] = {d->batch, d->out_channels, H, W};
  const int64_t in_dims[] = {d->batch, d->in_channels, d->in_height, d->in_width};
  const int64_t w_dims[] = {d->in_channels, d->out_channels / d->groups, d->kernel_h, d->kernel_w};
  if (!product_ok(out_dims, 4) || !product_ok(in_dims, 4) || !product_ok(w_dims, 4))
    return VCONV_ERR_SIZE_OVERFLOW;
  /* The forward convolution from the output (C = out_channels) to the input
   * (K = in_channels), whose data gradient this is. */
  memset(s, 0, sizeof *s);
  s->N = d->batch;
  s->C = d->out_channels;
  s->H = H;
  s->W = W;
  s->K = d->in_channels;
  s->P = d->in_height;
  s->Q = d->in_width;
  s->R = d->kernel_h;
  s->S = d->kernel_w;
  s->sh = d->stride_h;
  s->sw = d->stride_w;
  s->dh = d->dilation_h;
  s->dw = d->dilation_w;
  s->pt = pt;
  s->pl = pl;
  s->pb = (s->P - 1) * s->sh + (s->R - 1) * s->dh + 1 - H - pt; /* negative with output_padding */
  s->pr = (s->Q - 1) * s->sw + (s->S - 1) * s->dw + 1 - W - pl;
  s->G = d->groups;
  s->Cg = s->C / s->G;
  s->Kg = s->K / s->G;
  s->layout = d->layout;
  s->act = VCONV_ACTIVATION_NONE;
  s->act_min = -INFINITY;
  s->act_max = INFINITY;
  s->conn = NULL;
  return VCONV_OK;
}

vconv_status vconv_conv_transpose2d_output_size(const vconv_conv_transpose2d_desc *d,
                                                int64_t *out_h, int64_t *out_w) {
  if (!d || !out_h || !out_w) return VCONV_ERR_NULL_POINTER;
  vconv_conv_shape s;
  vconv_status st = transpose_resolve(d, &s);
  if (st != VCONV_OK) return st;
  *out_h = s.H;
  *out_w = s.W;
  return VCONV_OK;
}

vconv_status vconv_conv_transpose2d_create_for_isa(const vconv_conv_transpose2d_desc *desc,
                                                   vconv_algorithm algo, vconv_isa isa,
                                                   const float *weights, const float *bias,
                                                   vconv_conv2d_bwd_op **out) {
  if (!out) return VCONV_ERR_NULL_POINTER;
  *out = NULL;
  if (!desc || !weights) return VCONV_ERR_NULL_POINTER;
  vconv_conv_shape s;
  vconv_status st = transpose_resolve(desc, &s);
  if (st != VCONV_OK) return st;
  return create_shape(VCONV_BWD_DATA, &s, algo, isa, weights, bias, out);
}

vconv_status vconv_conv_transpose2d_create(const vconv_conv_transpose2d_desc *desc,
                                           vconv_algorithm algo, const float *weights,
                                           const float *bias, vconv_conv2d_bwd_op **op) {
  return vconv_conv_transpose2d_create_for_isa(desc, algo, VCONV_ISA_AUTO, weights, bias, op);
}
