/*
 * alexnet-forward: the AlexNet of the sources (dense table, or --grouped for
 * the two-GPU split of conv2, conv4 and conv5) forward through vconv at the
 * given batch sizes, seeded random weights, ReLU, max pooling 3x3 stride 2,
 * the three fully connected layers on vconv_sgemm.  Prints the median
 * images/s per batch size as JSON lines; --out FILE writes batch 1's 1000
 * outputs (float32) for examples/alexnet_torch.py to compare against.
 *
 * Weights, in order conv1-5 then fc1-3, each layer's weights then its biases,
 * are lenet5_uniform(seed, i) x 1/sqrt(fan in) over one flat index i; the
 * input images are lenet5_uniform(seed + 1, i).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lenet5.h" /* the generator */
#include "vconv.h"

typedef struct conv_layer {
  int64_t c, side, k, r, stride, pad, groups;
} conv_layer;

static const conv_layer convs[5] = {
  {3, 227, 96, 11, 4, 0, 1},  {96, 27, 256, 5, 1, 2, 1},  {256, 13, 384, 3, 1, 1, 1},
  {384, 13, 384, 3, 1, 1, 1}, {384, 13, 256, 3, 1, 1, 1},
};
static const int64_t fc_in[3] = {9216, 4096, 4096}, fc_out[3] = {4096, 4096, 1000};
/* conv1's, conv2's and conv5's outputs are max pooled 3x3 stride 2. */
static const int pooled[5] = {1, 1, 0, 0, 1};

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void fill(float *w, int64_t n, uint64_t seed, int64_t first, float bound) {
  for (int64_t i = 0; i < n; i++) w[i] = lenet5_uniform(seed, (uint64_t)(first + i)) * bound;
}

static void die(const char *what, vconv_status st) {
  fprintf(stderr, "alexnet-forward: %s: %s\n", what, vconv_status_string(st));
  exit(1);
}

typedef struct net {
  vconv_conv2d_op *conv[5];
  vconv_pool2d_op *pool[5];
  float *fw[3], *fb[3];
  float *act[2]; /* ping-pong activations */
  void *ws;
  size_t ws_size;
  int64_t batch;
} net;

static void build(net *n, int64_t batch, int grouped, uint64_t seed, const vconv_parallel *par) {
  memset(n, 0, sizeof *n);
  n->batch = batch;
  int64_t first = 0, biggest = 0;
  for (int l = 0; l < 5; l++) {
    const conv_layer *L = &convs[l];
    const int64_t g = grouped && (l == 1 || l == 3 || l == 4) ? 2 : L->groups;
    vconv_conv2d_desc d;
    vconv_conv2d_desc_init(&d);
    d.batch = batch;
    d.in_channels = L->c;
    d.in_height = d.in_width = L->side;
    d.out_channels = L->k;
    d.kernel_h = d.kernel_w = L->r;
    d.stride_h = d.stride_w = L->stride;
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = L->pad;
    d.groups = g;
    d.activation = VCONV_ACTIVATION_RELU;
    const int64_t fan = L->c / g * L->r * L->r, nw = L->k * fan;
    float *w = malloc(sizeof(float) * (size_t)(nw + L->k));
    if (!w) die("weights", VCONV_ERR_OUT_OF_MEMORY);
    fill(w, nw + L->k, seed, first, 1.0f / sqrtf((float)fan));
    first += nw + L->k;
    vconv_status st = vconv_conv2d_create(&d, VCONV_ALGO_AUTO, w, w + nw, &n->conv[l]);
    if (st != VCONV_OK) die("conv create", st);
    free(w);
    size_t ws = vconv_conv2d_workspace_size(n->conv[l], par);
    if (ws > n->ws_size) n->ws_size = ws;
    int64_t oh, ow;
    vconv_conv2d_output_size(&d, &oh, &ow);
    if (batch * L->k * oh * ow > biggest) biggest = batch * L->k * oh * ow;
    if (pooled[l]) {
      vconv_pool2d_desc p;
      vconv_pool2d_desc_init(&p);
      p.batch = batch;
      p.channels = L->k;
      p.in_height = oh;
      p.in_width = ow;
      p.window_h = p.window_w = 3;
      p.stride_h = p.stride_w = 2;
      if ((st = vconv_pool2d_create(&p, &n->pool[l])) != VCONV_OK) die("pool create", st);
      ws = vconv_pool2d_workspace_size(n->pool[l], par);
      if (ws > n->ws_size) n->ws_size = ws;
    }
  }
  for (int l = 0; l < 3; l++) {
    n->fw[l] = malloc(sizeof(float) * (size_t)(fc_in[l] * fc_out[l]));
    n->fb[l] = malloc(sizeof(float) * (size_t)fc_out[l]);
    if (!n->fw[l] || !n->fb[l]) die("weights", VCONV_ERR_OUT_OF_MEMORY);
    const float bound = 1.0f / sqrtf((float)fc_in[l]);
    fill(n->fw[l], fc_in[l] * fc_out[l], seed, first, bound);
    first += fc_in[l] * fc_out[l];
    fill(n->fb[l], fc_out[l], seed, first, bound);
    first += fc_out[l];
  }
  for (int i = 0; i < 2; i++) {
    n->act[i] = malloc(sizeof(float) * (size_t)biggest);
    if (!n->act[i]) die("activations", VCONV_ERR_OUT_OF_MEMORY);
  }
  n->ws = n->ws_size ? malloc(n->ws_size) : NULL;
}

/* input: batch x 3 x 227 x 227; returns the batch x 1000 outputs (in act). */
static const float *forward(net *n, const float *input, const vconv_parallel *par) {
  const float *x = input;
  int cur = 0;
  vconv_status st;
  for (int l = 0; l < 5; l++) {
    if ((st = vconv_conv2d_run(n->conv[l], x, n->act[cur], n->ws, n->ws_size, par)) != VCONV_OK)
      die("conv run", st);
    x = n->act[cur];
    cur ^= 1;
    if (pooled[l]) {
      if ((st = vconv_pool2d_run(n->pool[l], x, n->act[cur], n->ws, n->ws_size, par)) != VCONV_OK)
        die("pool run", st);
      x = n->act[cur];
      cur ^= 1;
    }
  }
  for (int l = 0; l < 3; l++) {
    float *y = n->act[cur];
    for (int64_t i = 0; i < n->batch; i++)
      memcpy(y + i * fc_out[l], n->fb[l], sizeof(float) * (size_t)fc_out[l]);
    st = vconv_sgemm(0, 1, n->batch, fc_out[l], fc_in[l], 1.0f, x, fc_in[l], n->fw[l], fc_in[l],
                     1.0f, y, fc_out[l], par);
    if (st != VCONV_OK) die("sgemm", st);
    if (l < 2)
      for (int64_t i = 0; i < n->batch * fc_out[l]; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
    x = y;
    cur ^= 1;
  }
  return x;
}

static void destroy(net *n) {
  for (int l = 0; l < 5; l++) {
    vconv_conv2d_destroy(n->conv[l]);
    vconv_pool2d_destroy(n->pool[l]);
  }
  for (int l = 0; l < 3; l++) {
    free(n->fw[l]);
    free(n->fb[l]);
  }
  free(n->act[0]);
  free(n->act[1]);
  free(n->ws);
}

int main(int argc, char **argv) {
  int64_t batches[8] = {1, 16}, nb = 2;
  size_t threads = 1;
  int reps = 10, grouped = 0;
  uint64_t seed = 1;
  const char *out = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(a, "--grouped")) {
      grouped = 1;
    } else if (!strcmp(a, "--batch") && *v) {
      nb = 0;
      for (char *s = (char *)v; *s && nb < 8;) {
        batches[nb] = strtoll(s, &s, 10);
        if (batches[nb] < 1 || batches[nb] > 1024) {
          fprintf(stderr, "alexnet-forward: --batch takes sizes 1-1024, comma separated\n");
          return 2;
        }
        nb++;
        if (*s == ',') s++;
      }
      i++;
    } else if (!strcmp(a, "--threads") && *v) {
      threads = (size_t)strtoul(v, NULL, 10);
      i++;
    } else if (!strcmp(a, "--reps") && *v) {
      reps = atoi(v);
      i++;
    } else if (!strcmp(a, "--seed") && *v) {
      seed = strtoull(v, NULL, 10);
      i++;
    } else if (!strcmp(a, "--out") && *v) {
      out = v;
      i++;
    } else {
      fprintf(stderr, "usage: alexnet-forward [--batch 1,16] [--threads T] [--reps R] [--grouped]"
                      " [--seed S] [--out FILE]\n");
      return 2;
    }
  }
  if (threads < 1 || reps < 1) {
    fprintf(stderr, "alexnet-forward: --threads and --reps must be >= 1\n");
    return 2;
  }
  vconv_threadpool *pool;
  vconv_status st = vconv_threadpool_create(threads, 0, &pool);
  if (st != VCONV_OK) die("thread pool", st);
  const vconv_parallel *par = vconv_threadpool_parallel(pool);
  for (int64_t b = 0; b < nb; b++) {
    const int64_t batch = batches[b], in_floats = batch * 3 * 227 * 227;
    net n;
    build(&n, batch, grouped, seed, par);
    float *x = malloc(sizeof(float) * (size_t)in_floats);
    if (!x) die("input", VCONV_ERR_OUT_OF_MEMORY);
    fill(x, in_floats, seed + 1, 0, 1.0f);
    const float *y = forward(&n, x, par); /* warm-up */
    double *t = malloc(sizeof(double) * (size_t)reps);
    for (int r = 0; r < reps; r++) {
      double t0 = now_s();
      y = forward(&n, x, par);
      t[r] = now_s() - t0;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp_double);
    const double med = t[reps / 2];
    char kernels[256] = "";
    for (int l = 0; l < 5; l++)
      snprintf(kernels + strlen(kernels), sizeof kernels - strlen(kernels), "%s%s", l ? " " : "",
               vconv_conv2d_kernel_name(n.conv[l]));
    printf("{\"framework\": \"vconv\", \"batch\": %lld, \"threads\": %zu, \"grouped\": %d, "
           "\"median_ms\": %.3f, \"images_per_second\": %.2f, \"tier\": \"%s\", \"kernels\": \"%s\"}\n",
           (long long)batch, threads, grouped, 1e3 * med, (double)batch / med,
           vconv_isa_name(vconv_isa_effective()), kernels);
    fflush(stdout);
    if (out && batch == batches[0]) {
      FILE *f = fopen(out, "wb");
      if (!f || fwrite(y, sizeof(float), 1000, f) != 1000) {
        fprintf(stderr, "alexnet-forward: cannot write %s\n", out);
        return 1;
      }
      fclose(f);
    }
    free(t);
    free(x);
    destroy(&n);
  }
  vconv_threadpool_destroy(pool);
  return 0;
}
