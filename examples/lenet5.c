#define _POSIX_C_SOURCE 200809L
#include "lenet5.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GOLDEN 0x9e3779b97f4a7c15ull

const unsigned char lenet5_c3_table[16 * 6] = {
  /* maps 0-5: three adjacent S2 maps */
  1, 1, 1, 0, 0, 0,  0, 1, 1, 1, 0, 0,  0, 0, 1, 1, 1, 0,
  0, 0, 0, 1, 1, 1,  1, 0, 0, 0, 1, 1,  1, 1, 0, 0, 0, 1,
  /* maps 6-11: four adjacent */
  1, 1, 1, 1, 0, 0,  0, 1, 1, 1, 1, 0,  0, 0, 1, 1, 1, 1,
  1, 0, 0, 1, 1, 1,  1, 1, 0, 0, 1, 1,  1, 1, 1, 0, 0, 1,
  /* maps 12-14: four non-adjacent; map 15: all six */
  1, 1, 0, 1, 1, 0,  0, 1, 1, 0, 1, 1,  1, 0, 1, 1, 0, 1,
  1, 1, 1, 1, 1, 1,
};

/* Everything whose size depends on the batch: activations, gradients, the
 * operators that do not hold weights, and the ones that do (rebuilt when
 * the weights have changed since they were packed). */
typedef struct shapes {
  int64_t n;
  uint64_t built_version; /* weights version the weight-holding ops were packed from */
  vconv_pool2d_op *s2, *s4;
  vconv_conv2d_bwd_op *c1_bw, *c3_bw, *c5_bw; /* weight gradients */
  vconv_conv2d_op *c1, *c3, *c5;              /* forward, packed weights */
  vconv_conv2d_bwd_op *c3_bd, *c5_bd;         /* data gradients, packed weights */
  float *a1, *s2o, *a3, *s4o, *a5, *a6, *logits;
  int32_t *i2, *i4;
  float *d_logits, *d_a6, *d_a5, *d_s4, *d_a3, *d_s2, *d_a1;
  void *ws;
  size_t ws_size;
} shapes;

#define SHAPE_SLOTS 3 /* training batch, the epoch's last partial batch, evaluation */

struct lenet5 {
  const vconv_parallel *parallel;
  float p[LENET5_PARAMS], g[LENET5_PARAMS], v[LENET5_PARAMS];
  uint64_t version;
  shapes slot[SHAPE_SLOTS];
  unsigned next_victim;
  char error[256];
  char kernels[512];
};

uint64_t lenet5_splitmix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

float lenet5_uniform(uint64_t seed, uint64_t i) {
  uint64_t r = lenet5_splitmix64(seed + (i + 1) * GOLDEN);
  return (float)(r >> 40) * 0x1p-23f - 1.0f;
}

void lenet5_shuffle(uint64_t seed, int epoch, int64_t *order, int64_t count) {
  for (int64_t i = 0; i < count; i++) order[i] = i;
  uint64_t z = seed ^ ((uint64_t)(epoch + 1) * GOLDEN);
  for (int64_t i = count - 1; i > 0; i--) {
    z += GOLDEN;
    uint64_t r = lenet5_splitmix64(z);
    int64_t j = (int64_t)(((r >> 32) * (uint64_t)(i + 1)) >> 32);
    int64_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

float lenet5_epoch_lr(float lr, int ep, int epochs) {
  return (float)((double)lr * 0.5 * (1.0 + cos(3.14159265358979323846 * ep / epochs)));
}

void lenet5_prepare(const uint8_t *pixels, int64_t count, float *out) {
  const float mean = 0.2860f, inv_std = 1.0f / 0.3530f;
  const float zero = (0.0f - mean) * inv_std;
  for (int64_t i = 0; i < count; i++) {
    float *o = out + i * LENET5_SIDE * LENET5_SIDE;
    const uint8_t *px = pixels + i * 28 * 28;
    for (int r = 0; r < LENET5_SIDE; r++)
      for (int c = 0; c < LENET5_SIDE; c++) {
        int ir = r - 2, ic = c - 2;
        o[r * LENET5_SIDE + c] = (ir >= 0 && ir < 28 && ic >= 0 && ic < 28)
                                     ? ((float)px[ir * 28 + ic] / 255.0f - mean) * inv_std
                                     : zero;
      }
  }
}

static vconv_status fail(lenet5 *net, const char *where, vconv_status st) {
  snprintf(net->error, sizeof net->error, "%s: %s", where, vconv_status_string(st));
  return st;
}

/* Per-phase wall time of training steps (evaluation passes, at their own
 * batch, are left out), kept when LENET5_PROFILE is set (lenet5_profile). */
#define PHASES 40
static struct {
  const char *name[PHASES];
  double seconds[PHASES];
  long calls[PHASES];
  int on;
  int paused;          /* in lenet5_evaluate */
  double step_seconds; /* whole training steps: the phases, activations, loss, update */
  long steps;
} prof = {.on = -1};

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void prof_add(const char *name, double seconds) {
  for (int i = 0; i < PHASES; i++) {
    if (!prof.name[i]) prof.name[i] = name;
    if (prof.name[i] == name) {
      prof.seconds[i] += seconds;
      prof.calls[i]++;
      return;
    }
  }
}

void lenet5_profile(FILE *f) {
  double total = 0.0;
  for (int i = 0; i < PHASES && prof.name[i]; i++) total += prof.seconds[i];
  for (int i = 0; i < PHASES && prof.name[i]; i++)
    fprintf(f, "  %-22s %8.1f us/call %6.1f%%\n", prof.name[i],
            1e6 * prof.seconds[i] / (double)prof.calls[i], 100.0 * prof.seconds[i] / total);
  if (prof.steps)
    fprintf(f, "  %-22s %8.1f us/call (the phases above: %.1f us per step)\n", "whole training step",
            1e6 * prof.step_seconds / (double)prof.steps, 1e6 * total / (double)prof.steps);
}

#define CHECK(where, call)                                      \
  do {                                                          \
    if (prof.on < 0) prof.on = getenv("LENET5_PROFILE") != NULL; \
    double t0_ = prof.on ? now_s() : 0.0;                       \
    vconv_status st_ = (call);                                  \
    if (prof.on && !prof.paused) prof_add(where, now_s() - t0_); \
    if (st_ != VCONV_OK) return fail(net, where, st_);          \
  } while (0)

/* The three convolutions; batch n, activation as asked (backward wants NONE). */
static void conv_desc(vconv_conv2d_desc *d, int layer, int64_t n, vconv_activation act) {
  vconv_conv2d_desc_init(d);
  d->batch = n;
  d->kernel_h = d->kernel_w = 5;
  d->activation = act;
  switch (layer) {
  case 1: d->in_channels = 1; d->in_height = d->in_width = 32; d->out_channels = 6; break;
  case 3:
    d->in_channels = 6; d->in_height = d->in_width = 14; d->out_channels = 16;
    d->connections = lenet5_c3_table;
    break;
  default: d->in_channels = 16; d->in_height = d->in_width = 5; d->out_channels = 120; break;
  }
}

static void pool_desc(vconv_pool2d_desc *d, int64_t n, int64_t c, int64_t side) {
  vconv_pool2d_desc_init(d);
  d->batch = n;
  d->channels = c;
  d->in_height = d->in_width = side;
  d->kind = VCONV_POOL_MAX;
  d->window_h = d->window_w = 2;
  d->stride_h = d->stride_w = 2;
}

static void shapes_free_weight_ops(shapes *s) {
  vconv_conv2d_destroy(s->c1);
  vconv_conv2d_destroy(s->c3);
  vconv_conv2d_destroy(s->c5);
  vconv_conv2d_bwd_destroy(s->c3_bd);
  vconv_conv2d_bwd_destroy(s->c5_bd);
  s->c1 = s->c3 = s->c5 = NULL;
  s->c3_bd = s->c5_bd = NULL;
}

static void shapes_free(shapes *s) {
  shapes_free_weight_ops(s);
  vconv_pool2d_destroy(s->s2);
  vconv_pool2d_destroy(s->s4);
  vconv_conv2d_bwd_destroy(s->c1_bw);
  vconv_conv2d_bwd_destroy(s->c3_bw);
  vconv_conv2d_bwd_destroy(s->c5_bw);
  float *bufs[] = {s->a1, s->s2o, s->a3, s->s4o, s->a5, s->a6, s->logits, s->d_logits,
                   s->d_a6, s->d_a5, s->d_s4, s->d_a3, s->d_s2, s->d_a1};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
  free(s->i2);
  free(s->i4);
  free(s->ws);
  memset(s, 0, sizeof *s);
}

static void grow_ws(shapes *s, size_t need, int *oom) {
  if (need <= s->ws_size) return;
  void *p = realloc(s->ws, need);
  if (!p) {
    *oom = 1;
    return;
  }
  s->ws = p;
  s->ws_size = need;
}

static vconv_status shapes_init(lenet5 *net, shapes *s, int64_t n) {
  memset(s, 0, sizeof *s);
  s->n = n;
  size_t f = sizeof(float);
  size_t sizes[] = {6 * 28 * 28, 6 * 14 * 14, 16 * 10 * 10, 16 * 5 * 5, 120, 84, 10,
                    10, 84, 120, 16 * 5 * 5, 16 * 10 * 10, 6 * 14 * 14, 6 * 28 * 28};
  float **bufs[] = {&s->a1, &s->s2o, &s->a3, &s->s4o, &s->a5, &s->a6, &s->logits, &s->d_logits,
                    &s->d_a6, &s->d_a5, &s->d_s4, &s->d_a3, &s->d_s2, &s->d_a1};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
    *bufs[i] = malloc((size_t)n * sizes[i] * f);
    if (!*bufs[i]) return fail(net, "activations", VCONV_ERR_OUT_OF_MEMORY);
  }
  s->i2 = malloc((size_t)n * 6 * 14 * 14 * sizeof(int32_t));
  s->i4 = malloc((size_t)n * 16 * 5 * 5 * sizeof(int32_t));
  if (!s->i2 || !s->i4) return fail(net, "pooling indices", VCONV_ERR_OUT_OF_MEMORY);

  vconv_pool2d_desc pd;
  pool_desc(&pd, n, 6, 28);
  CHECK("S2 create", vconv_pool2d_create(&pd, &s->s2));
  pool_desc(&pd, n, 16, 10);
  CHECK("S4 create", vconv_pool2d_create(&pd, &s->s4));
  vconv_conv2d_desc cd;
  conv_desc(&cd, 1, n, VCONV_ACTIVATION_NONE);
  CHECK("C1 backward weights create", vconv_conv2d_bwd_weights_create(&cd, VCONV_ALGO_AUTO, &s->c1_bw));
  conv_desc(&cd, 3, n, VCONV_ACTIVATION_NONE);
  CHECK("C3 backward weights create", vconv_conv2d_bwd_weights_create(&cd, VCONV_ALGO_AUTO, &s->c3_bw));
  conv_desc(&cd, 5, n, VCONV_ACTIVATION_NONE);
  CHECK("C5 backward weights create", vconv_conv2d_bwd_weights_create(&cd, VCONV_ALGO_AUTO, &s->c5_bw));
  int oom = 0;
  grow_ws(s, vconv_pool2d_workspace_size(s->s2, net->parallel), &oom);
  grow_ws(s, vconv_pool2d_workspace_size(s->s4, net->parallel), &oom);
  grow_ws(s, vconv_conv2d_bwd_workspace_size(s->c1_bw, net->parallel), &oom);
  grow_ws(s, vconv_conv2d_bwd_workspace_size(s->c3_bw, net->parallel), &oom);
  grow_ws(s, vconv_conv2d_bwd_workspace_size(s->c5_bw, net->parallel), &oom);
  if (oom) return fail(net, "workspace", VCONV_ERR_OUT_OF_MEMORY);
  return VCONV_OK;
}

/* Packs the weights into the operators that hold them when they changed
 * since: in place once the operators exist (an optimizer step changes the
 * values, never the plan), created the first time. */
static vconv_status shapes_pack(lenet5 *net, shapes *s, int need_backward) {
  const int fresh = s->c1 && s->built_version == net->version;
  if (fresh && (!need_backward || s->c3_bd)) return VCONV_OK;
  const float *p = net->p;
  if (s->c1 && !fresh) {
    CHECK("C1 new weights", vconv_conv2d_update_weights(s->c1, p + LENET5_W1, p + LENET5_B1));
    CHECK("C3 new weights", vconv_conv2d_update_weights(s->c3, p + LENET5_W3, p + LENET5_B3));
    CHECK("C5 new weights", vconv_conv2d_update_weights(s->c5, p + LENET5_W5, p + LENET5_B5));
    if (s->c3_bd) {
      CHECK("C3 backward data new weights", vconv_conv2d_bwd_update_weights(s->c3_bd, p + LENET5_W3, NULL));
      CHECK("C5 backward data new weights", vconv_conv2d_bwd_update_weights(s->c5_bd, p + LENET5_W5, NULL));
    }
  }
  vconv_conv2d_desc cd;
  int oom = 0;
  if (!s->c1) {
    conv_desc(&cd, 1, s->n, VCONV_ACTIVATION_RELU);
    CHECK("C1 create", vconv_conv2d_create(&cd, VCONV_ALGO_AUTO, p + LENET5_W1, p + LENET5_B1, &s->c1));
    conv_desc(&cd, 3, s->n, VCONV_ACTIVATION_RELU);
    CHECK("C3 create", vconv_conv2d_create(&cd, VCONV_ALGO_AUTO, p + LENET5_W3, p + LENET5_B3, &s->c3));
    conv_desc(&cd, 5, s->n, VCONV_ACTIVATION_RELU);
    CHECK("C5 create", vconv_conv2d_create(&cd, VCONV_ALGO_AUTO, p + LENET5_W5, p + LENET5_B5, &s->c5));
    grow_ws(s, vconv_conv2d_workspace_size(s->c1, net->parallel), &oom);
    grow_ws(s, vconv_conv2d_workspace_size(s->c3, net->parallel), &oom);
    grow_ws(s, vconv_conv2d_workspace_size(s->c5, net->parallel), &oom);
  }
  if (need_backward && !s->c3_bd) {
    /* C1's data gradient would be the gradient of the image: not needed. */
    conv_desc(&cd, 3, s->n, VCONV_ACTIVATION_NONE);
    CHECK("C3 backward data create",
          vconv_conv2d_bwd_data_create(&cd, VCONV_ALGO_AUTO, p + LENET5_W3, &s->c3_bd));
    conv_desc(&cd, 5, s->n, VCONV_ACTIVATION_NONE);
    CHECK("C5 backward data create",
          vconv_conv2d_bwd_data_create(&cd, VCONV_ALGO_AUTO, p + LENET5_W5, &s->c5_bd));
    grow_ws(s, vconv_conv2d_bwd_workspace_size(s->c3_bd, net->parallel), &oom);
    grow_ws(s, vconv_conv2d_bwd_workspace_size(s->c5_bd, net->parallel), &oom);
  }
  if (oom) return fail(net, "workspace", VCONV_ERR_OUT_OF_MEMORY);
  s->built_version = net->version;
  return VCONV_OK;
}

static vconv_status get_shapes(lenet5 *net, int64_t n, shapes **out) {
  for (int i = 0; i < SHAPE_SLOTS; i++)
    if (net->slot[i].n == n) {
      *out = &net->slot[i];
      return VCONV_OK;
    }
  shapes *s = NULL;
  for (int i = 0; i < SHAPE_SLOTS && !s; i++)
    if (net->slot[i].n == 0) s = &net->slot[i];
  if (!s) {
    s = &net->slot[net->next_victim];
    net->next_victim = (net->next_victim + 1) % SHAPE_SLOTS;
    shapes_free(s);
  }
  vconv_status st = shapes_init(net, s, n);
  if (st != VCONV_OK) {
    shapes_free(s);
    return st;
  }
  *out = s;
  return VCONV_OK;
}

static void init_layer(float *w, int64_t count, float *b, int64_t outputs, int64_t fan_in,
                       uint64_t seed, int64_t first) {
  const float bound = 1.0f / sqrtf((float)fan_in);
  for (int64_t i = 0; i < count; i++) w[i] = lenet5_uniform(seed, (uint64_t)(first + i)) * bound;
  for (int64_t i = 0; i < outputs; i++)
    b[i] = lenet5_uniform(seed, (uint64_t)(first + count + i)) * bound;
}

vconv_status lenet5_create(uint64_t seed, const vconv_parallel *parallel, lenet5 **out) {
  if (!out) return VCONV_ERR_NULL_POINTER;
  lenet5 *net = calloc(1, sizeof *net);
  *out = NULL;
  if (!net) return VCONV_ERR_OUT_OF_MEMORY;
  net->parallel = parallel;
  float *p = net->p;
  init_layer(p + LENET5_W1, 150, p + LENET5_B1, 6, 25, seed, LENET5_W1);
  init_layer(p + LENET5_W5, 48000, p + LENET5_B5, 120, 400, seed, LENET5_W5);
  init_layer(p + LENET5_W6, 10080, p + LENET5_B6, 84, 120, seed, LENET5_W6);
  init_layer(p + LENET5_W7, 840, p + LENET5_B7, 10, 84, seed, LENET5_W7);
  /* C3: fan in per map is its connected maps x 25; unconnected weights stay 0. */
  for (int k = 0; k < 16; k++) {
    int maps = 0;
    for (int c = 0; c < 6; c++) maps += lenet5_c3_table[k * 6 + c];
    const float bound = 1.0f / sqrtf((float)(maps * 25));
    for (int c = 0; c < 6; c++)
      for (int t = 0; t < 25; t++) {
        int64_t i = LENET5_W3 + (k * 6 + c) * 25 + t;
        p[i] = lenet5_c3_table[k * 6 + c] ? lenet5_uniform(seed, (uint64_t)i) * bound : 0.0f;
      }
    p[LENET5_B3 + k] = lenet5_uniform(seed, (uint64_t)(LENET5_B3 + k)) * bound;
  }
  net->version = 1;
  *out = net;
  return VCONV_OK;
}

void lenet5_destroy(lenet5 *net) {
  if (!net) return;
  for (int i = 0; i < SHAPE_SLOTS; i++) shapes_free(&net->slot[i]);
  free(net);
}

const float *lenet5_params(const lenet5 *net) { return net->p; }
const char *lenet5_last_error(const lenet5 *net) { return net->error; }
const char *lenet5_kernels(const lenet5 *net) { return net->kernels; }

static void relu_inplace(float *x, int64_t count) {
  for (int64_t i = 0; i < count; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* dz = d * (a > 0): the ReLU's derivative, from its output. */
static void relu_backward(float *d, const float *a, int64_t count) {
  for (int64_t i = 0; i < count; i++) d[i] = a[i] > 0.0f ? d[i] : 0.0f;
}

/* out[i][j] = b[j], then out += x W^T: a dense layer on vconv_sgemm. */
static vconv_status dense(lenet5 *net, const float *x, int64_t n, int64_t in, const float *w,
                          const float *b, int64_t outs, float *y) {
  for (int64_t i = 0; i < n; i++) memcpy(y + i * outs, b, (size_t)outs * sizeof(float));
  return vconv_sgemm(0, 1, n, outs, in, 1.0f, x, in, w, in, 1.0f, y, outs, net->parallel);
}

static vconv_status forward(lenet5 *net, shapes *s, const float *x) {
  const vconv_parallel *par = net->parallel;
  const int64_t n = s->n;
  CHECK("C1", vconv_conv2d_run(s->c1, x, s->a1, s->ws, s->ws_size, par));
  CHECK("S2", vconv_pool2d_run_with_indices(s->s2, s->a1, s->s2o, s->i2, s->ws, s->ws_size, par));
  CHECK("C3", vconv_conv2d_run(s->c3, s->s2o, s->a3, s->ws, s->ws_size, par));
  CHECK("S4", vconv_pool2d_run_with_indices(s->s4, s->a3, s->s4o, s->i4, s->ws, s->ws_size, par));
  CHECK("C5", vconv_conv2d_run(s->c5, s->s4o, s->a5, s->ws, s->ws_size, par));
  CHECK("F6", dense(net, s->a5, n, 120, net->p + LENET5_W6, net->p + LENET5_B6, 84, s->a6));
  relu_inplace(s->a6, n * 84);
  CHECK("F7", dense(net, s->a6, n, 84, net->p + LENET5_W7, net->p + LENET5_B7, 10, s->logits));
  return VCONV_OK;
}

/* Softmax cross-entropy of each row: summed loss, correct count, and (when
 * grad) dL/dlogits of the mean loss. */
static void softmax_xent(const float *logits, const uint8_t *labels, int64_t n, float *grad,
                         double *loss_sum, int64_t *correct) {
  double loss = 0.0;
  int64_t right = 0;
  for (int64_t i = 0; i < n; i++) {
    const float *z = logits + i * LENET5_CLASSES;
    int arg = 0;
    for (int j = 1; j < LENET5_CLASSES; j++)
      if (z[j] > z[arg]) arg = j;
    right += arg == labels[i];
    float e[LENET5_CLASSES], sum = 0.0f;
    for (int j = 0; j < LENET5_CLASSES; j++) sum += e[j] = expf(z[j] - z[arg]);
    loss += (double)(logf(sum) - (z[labels[i]] - z[arg]));
    if (grad) {
      const float scale = 1.0f / (sum * (float)n);
      for (int j = 0; j < LENET5_CLASSES; j++)
        grad[i * LENET5_CLASSES + j] = e[j] * scale - (j == labels[i] ? 1.0f / (float)n : 0.0f);
    }
  }
  *loss_sum = loss;
  *correct = right;
}

/* db[j] = sum over rows of d[i][j]. */
static void bias_grad(const float *d, int64_t n, int64_t outs, float *db) {
  for (int64_t j = 0; j < outs; j++) db[j] = 0.0f;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < outs; j++) db[j] += d[i * outs + j];
}

static vconv_status backward(lenet5 *net, shapes *s, const float *x) {
  const vconv_parallel *par = net->parallel;
  const int64_t n = s->n;
  float *g = net->g;
  const float *p = net->p;
  /* out: dW7 = dlogits^T a6, db7, da6 = dlogits W7 */
  CHECK("F7 dW", vconv_sgemm(1, 0, 10, 84, n, 1.0f, s->d_logits, 10, s->a6, 84, 0.0f,
                             g + LENET5_W7, 84, par));
  bias_grad(s->d_logits, n, 10, g + LENET5_B7);
  CHECK("F7 dX", vconv_sgemm(0, 0, n, 84, 10, 1.0f, s->d_logits, 10, p + LENET5_W7, 84, 0.0f,
                             s->d_a6, 84, par));
  relu_backward(s->d_a6, s->a6, n * 84);
  CHECK("F6 dW", vconv_sgemm(1, 0, 84, 120, n, 1.0f, s->d_a6, 84, s->a5, 120, 0.0f,
                             g + LENET5_W6, 120, par));
  bias_grad(s->d_a6, n, 84, g + LENET5_B6);
  CHECK("F6 dX", vconv_sgemm(0, 0, n, 120, 84, 1.0f, s->d_a6, 84, p + LENET5_W6, 120, 0.0f,
                             s->d_a5, 120, par));
  relu_backward(s->d_a5, s->a5, n * 120);
  CHECK("C5 backward weights", vconv_conv2d_bwd_weights_run(s->c5_bw, s->s4o, s->d_a5,
        g + LENET5_W5, g + LENET5_B5, s->ws, s->ws_size, par));
  CHECK("C5 backward data", vconv_conv2d_bwd_data_run(s->c5_bd, s->d_a5, s->d_s4, s->ws,
                                                      s->ws_size, par));
  CHECK("S4 backward", vconv_pool2d_backward(s->s4, s->a3, s->s4o, s->i4, s->d_s4, s->d_a3,
                                             s->ws, s->ws_size, par));
  relu_backward(s->d_a3, s->a3, n * 16 * 10 * 10);
  CHECK("C3 backward weights", vconv_conv2d_bwd_weights_run(s->c3_bw, s->s2o, s->d_a3,
        g + LENET5_W3, g + LENET5_B3, s->ws, s->ws_size, par));
  CHECK("C3 backward data", vconv_conv2d_bwd_data_run(s->c3_bd, s->d_a3, s->d_s2, s->ws,
                                                      s->ws_size, par));
  CHECK("S2 backward", vconv_pool2d_backward(s->s2, s->a1, s->s2o, s->i2, s->d_s2, s->d_a1,
                                             s->ws, s->ws_size, par));
  relu_backward(s->d_a1, s->a1, n * 6 * 28 * 28);
  CHECK("C1 backward weights", vconv_conv2d_bwd_weights_run(s->c1_bw, x, s->d_a1,
        g + LENET5_W1, g + LENET5_B1, s->ws, s->ws_size, par));
  return VCONV_OK;
}

static void note_kernels(lenet5 *net, const shapes *s) {
  snprintf(net->kernels, sizeof net->kernels,
           "C1 %s, C3 %s, C5 %s, S2/S4 %s; backward: C1 %s, C3 %s + %s, C5 %s + %s",
           vconv_conv2d_kernel_name(s->c1), vconv_conv2d_kernel_name(s->c3),
           vconv_conv2d_kernel_name(s->c5), vconv_pool2d_kernel_name(s->s2),
           vconv_conv2d_bwd_kernel_name(s->c1_bw), vconv_conv2d_bwd_kernel_name(s->c3_bd),
           vconv_conv2d_bwd_kernel_name(s->c3_bw), vconv_conv2d_bwd_kernel_name(s->c5_bd),
           vconv_conv2d_bwd_kernel_name(s->c5_bw));
}

vconv_status lenet5_train_step(lenet5 *net, const float *x, const uint8_t *labels, int64_t n,
                               float lr, float momentum, double *loss, int64_t *correct) {
  if (!net || !x || !labels || !loss || !correct) return VCONV_ERR_NULL_POINTER;
  if (n < 1) return VCONV_ERR_INVALID_SIZE;
  if (prof.on < 0) prof.on = getenv("LENET5_PROFILE") != NULL;
  const double t0 = prof.on ? now_s() : 0.0;
  shapes *s;
  vconv_status st = get_shapes(net, n, &s);
  if (st != VCONV_OK) return st;
  if ((st = shapes_pack(net, s, 1)) != VCONV_OK) return st;
  if ((st = forward(net, s, x)) != VCONV_OK) return st;
  double loss_sum;
  softmax_xent(s->logits, labels, n, s->d_logits, &loss_sum, correct);
  *loss = loss_sum / (double)n;
  if ((st = backward(net, s, x)) != VCONV_OK) return st;
  if (!net->kernels[0]) note_kernels(net, s);
  /* C3's unconnected weights get dW = 0 from the library, so they stay 0. */
  for (int i = 0; i < LENET5_PARAMS; i++) {
    net->v[i] = momentum * net->v[i] + net->g[i];
    net->p[i] -= lr * net->v[i];
  }
  net->version++;
  if (prof.on) {
    prof.step_seconds += now_s() - t0;
    prof.steps++;
  }
  return VCONV_OK;
}

vconv_status lenet5_evaluate(lenet5 *net, const float *x, const uint8_t *labels, int64_t n,
                             double *loss_sum, int64_t *correct) {
  if (!net || !x || !labels || !loss_sum || !correct) return VCONV_ERR_NULL_POINTER;
  if (n < 1) return VCONV_ERR_INVALID_SIZE;
  shapes *s;
  vconv_status st = get_shapes(net, n, &s);
  if (st != VCONV_OK) return st;
  if ((st = shapes_pack(net, s, 0)) != VCONV_OK) return st;
  prof.paused = 1;
  st = forward(net, s, x);
  prof.paused = 0;
  if (st != VCONV_OK) return st;
  softmax_xent(s->logits, labels, n, NULL, loss_sum, correct);
  return VCONV_OK;
}

void lenet5_synthesize(uint8_t *pixels, uint8_t *labels, int64_t count, uint64_t seed) {
  uint64_t k = 0;
  for (int64_t i = 0; i < count; i++) {
    const int label = (int)(lenet5_splitmix64(seed * 977 + (uint64_t)i) % 10);
    labels[i] = (uint8_t)label;
    /* A 9x9 patch on a 4x3 grid of places, jittered by up to 2 pixels. */
    const int r0 = 2 + 8 * (label / 4) + (int)(2.5f * lenet5_uniform(seed, k++));
    const int c0 = 1 + 6 * (label % 4) + (int)(2.5f * lenet5_uniform(seed, k++));
    const float level = 0.75f + 0.2f * lenet5_uniform(seed, k++);
    for (int r = 0; r < 28; r++)
      for (int c = 0; c < 28; c++) {
        const int inside = r >= r0 && r < r0 + 9 && c >= c0 && c < c0 + 9;
        float v = (inside ? level : 0.1f) + 0.15f * lenet5_uniform(seed, k++);
        v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        pixels[i * 784 + r * 28 + c] = (uint8_t)(v * 255.0f);
      }
  }
}
