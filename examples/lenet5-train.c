/*
 * lenet5-train: LeNet-5 on Fashion-MNIST through vconv (examples/lenet5.h),
 * one line per epoch and a JSON record; the reference a framework author can
 * copy.  scripts/train-lenet5 runs it beside the same network in PyTorch.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "idx.h"
#include "lenet5.h"
#include "vconv.h"

typedef struct options {
  const char *data_dir, *json;
  int epochs;
  size_t threads;
  int64_t batch, limit, synthetic, eval_batch;
  float lr, momentum;
  uint64_t seed;
  int quiet;
} options;

static void usage(FILE *f) {
  fprintf(f,
          "usage: lenet5-train [--data DIR] [--epochs N] [--threads T] [--batch B]\n"
          "                    [--lr X (decays by a cosine over the epochs)] [--momentum X] [--seed S] [--limit N]\n"
          "                    [--synthetic N] [--json FILE] [--quiet]\n"
          "  --data DIR      Fashion-MNIST's gzipped IDX files (default\n"
          "                  /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist)\n"
          "  --limit N       train on the first N training images only\n"
          "  --synthetic N   no dataset: N generated training images (and N/4 test images)\n"
          "                  of ten classes (a patch at ten places), for tests\n"
          "  --json FILE     per-epoch figures, the CPU, the tier and the kernels as JSON\n");
}

static int parse_i64(const char *s, int64_t lo, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || end == s || v < lo) return -1;
  *out = v;
  return 0;
}

static int parse_args(int argc, char **argv, options *o) {
  *o = (options){.data_dir = "/usr/share/datasets/fashion-mnist", .epochs = 10, .threads = 1,
                 .batch = 64, .eval_batch = 1000, .lr = 0.05f, .momentum = 0.9f, .seed = 1};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int64_t x;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      exit(0);
    } else if (!strcmp(a, "--quiet")) {
      o->quiet = 1;
      continue;
    }
    if (!v) {
      fprintf(stderr, "lenet5-train: %s needs a value\n", a);
      return -1;
    }
    i++;
    if (!strcmp(a, "--data")) o->data_dir = v;
    else if (!strcmp(a, "--json")) o->json = v;
    else if (!strcmp(a, "--epochs") && !parse_i64(v, 1, &x) && x < 1000000) o->epochs = (int)x;
    else if (!strcmp(a, "--threads") && !parse_i64(v, 1, &x) && x <= 4096) o->threads = (size_t)x;
    else if (!strcmp(a, "--batch") && !parse_i64(v, 1, &x) && x <= 65536) o->batch = x;
    else if (!strcmp(a, "--limit") && !parse_i64(v, 1, &x)) o->limit = x;
    else if (!strcmp(a, "--synthetic") && !parse_i64(v, 4, &x) && x <= 10000000) o->synthetic = x;
    else if (!strcmp(a, "--seed") && !parse_i64(v, 0, &x)) o->seed = (uint64_t)x;
    else if (!strcmp(a, "--lr")) o->lr = strtof(v, NULL);
    else if (!strcmp(a, "--momentum")) o->momentum = strtof(v, NULL);
    else {
      fprintf(stderr, "lenet5-train: bad option or value: %s %s\n", a, v);
      usage(stderr);
      return -1;
    }
  }
  if (!(o->lr > 0.0f) || !(o->momentum >= 0.0f && o->momentum < 1.0f)) {
    fprintf(stderr, "lenet5-train: --lr must be > 0 and --momentum in [0, 1)\n");
    return -1;
  }
  return 0;
}

static void synthesize(idx_split *s, int64_t count, uint64_t seed) {
  s->count = count;
  s->rows = s->cols = 28;
  s->pixels = malloc((size_t)count * 28 * 28);
  s->labels = malloc((size_t)count);
  if (!s->pixels || !s->labels) {
    fprintf(stderr, "lenet5-train: out of memory\n");
    exit(1);
  }
  lenet5_synthesize(s->pixels, s->labels, count, seed);
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void progress(int64_t done, int64_t total, double loss, double seconds) {
  const int width = 30;
  int fill = (int)(width * done / total);
  char bar[64];
  for (int i = 0; i < width; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
  bar[width] = 0;
  printf("\r  [%s] %6lld/%lld  loss %.4f  %.0f img/s ", bar, (long long)done, (long long)total,
         loss, seconds > 0 ? (double)done / seconds : 0.0);
  fflush(stdout);
}

/* FNV-1a over the bytes: a digest that PyTorch's side recomputes. */
static uint64_t fnv1a(const void *data, size_t n, uint64_t h) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

typedef struct epoch_stats {
  double loss, train_acc, test_loss, test_acc, seconds;
  uint64_t order_digest;
} epoch_stats;

static void write_json(const options *o, const epoch_stats *e, int epochs, int64_t train_count,
                       int64_t test_count, const char *kernels, uint64_t init_digest,
                       uint64_t final_digest) {
  FILE *f = fopen(o->json, "w");
  if (!f) {
    fprintf(stderr, "lenet5-train: cannot write %s: %s\n", o->json, strerror(errno));
    exit(1);
  }
  vconv_cpu_info cpu;
  vconv_get_cpu_info(&cpu);
  double sum = 0.0;
  for (int i = 0; i < epochs; i++) sum += e[i].seconds;
  fprintf(f, "{\n  \"framework\": \"vconv\",\n  \"version\": \"%s\",\n", vconv_version());
  fprintf(f, "  \"cpu\": \"%s\",\n  \"tier\": \"%s\",\n  \"threads\": %zu,\n", cpu.brand,
          vconv_isa_name(vconv_isa_effective()), o->threads);
  fprintf(f, "  \"data\": \"%s\",\n  \"train_images\": %lld,\n  \"test_images\": %lld,\n",
          o->synthetic ? "synthetic" : o->data_dir, (long long)train_count, (long long)test_count);
  fprintf(f, "  \"batch\": %lld,\n  \"lr\": %.9g,\n  \"momentum\": %.9g,\n  \"seed\": %llu,\n",
          (long long)o->batch, o->lr, o->momentum, (unsigned long long)o->seed);
  fprintf(f, "  \"kernels\": \"%s\",\n", kernels);
  fprintf(f, "  \"init_digest\": \"%016llx\",\n  \"final_digest\": \"%016llx\",\n",
          (unsigned long long)init_digest, (unsigned long long)final_digest);
  fprintf(f, "  \"epochs\": [\n");
  for (int i = 0; i < epochs; i++)
    fprintf(f,
            "    {\"epoch\": %d, \"loss\": %.6f, \"train_accuracy\": %.6f, \"test_loss\": %.6f, "
            "\"test_accuracy\": %.6f, \"seconds\": %.4f, \"images_per_second\": %.1f, "
            "\"order_digest\": \"%016llx\"}%s\n",
            i + 1, e[i].loss, e[i].train_acc, e[i].test_loss, e[i].test_acc, e[i].seconds,
            (double)train_count / e[i].seconds, (unsigned long long)e[i].order_digest,
            i + 1 < epochs ? "," : "");
  fprintf(f, "  ],\n  \"test_accuracy\": %.6f,\n  \"seconds_per_epoch\": %.4f\n}\n",
          e[epochs - 1].test_acc, sum / epochs);
  fclose(f);
}

int main(int argc, char **argv) {
  options o;
  if (parse_args(argc, argv, &o)) return 2;
  idx_split train = {0}, test = {0};
  char err[512];
  if (o.synthetic) {
    synthesize(&train, o.synthetic, o.seed);
    synthesize(&test, o.synthetic / 4, o.seed + 1);
  } else if (idx_load_split(o.data_dir, "train", &train, err, sizeof err) ||
             idx_load_split(o.data_dir, "t10k", &test, err, sizeof err)) {
    fprintf(stderr, "lenet5-train: %s\n", err);
    idx_free_split(&train);
    return 1;
  }
  if (train.rows != 28 || train.cols != 28 || test.rows != 28 || test.cols != 28) {
    fprintf(stderr, "lenet5-train: images are %lldx%lld, LeNet-5 here takes 28x28\n",
            (long long)train.rows, (long long)train.cols);
    return 1;
  }
  if (o.limit && o.limit < train.count) train.count = o.limit;
  const int64_t plane = LENET5_SIDE * LENET5_SIDE;
  float *train_x = malloc((size_t)train.count * plane * sizeof(float));
  float *test_x = malloc((size_t)test.count * plane * sizeof(float));
  float *batch_x = malloc((size_t)o.batch * plane * sizeof(float));
  uint8_t *batch_y = malloc((size_t)o.batch);
  int64_t *order = malloc((size_t)train.count * sizeof(int64_t));
  epoch_stats *stats = calloc((size_t)o.epochs, sizeof *stats);
  if (!train_x || !test_x || !batch_x || !batch_y || !order || !stats) {
    fprintf(stderr, "lenet5-train: out of memory\n");
    return 1;
  }
  lenet5_prepare(train.pixels, train.count, train_x);
  lenet5_prepare(test.pixels, test.count, test_x);

  vconv_threadpool *pool = NULL;
  vconv_status st = vconv_threadpool_create(o.threads, 0, &pool);
  if (st != VCONV_OK) {
    fprintf(stderr, "lenet5-train: thread pool: %s\n", vconv_status_string(st));
    return 1;
  }
  lenet5 *net;
  if ((st = lenet5_create(o.seed, vconv_threadpool_parallel(pool), &net)) != VCONV_OK) {
    fprintf(stderr, "lenet5-train: %s\n", vconv_status_string(st));
    return 1;
  }
  const uint64_t init_digest = fnv1a(lenet5_params(net), LENET5_PARAMS * sizeof(float),
                                     0xcbf29ce484222325ull);
  const int live = !o.quiet && isatty(STDOUT_FILENO);
  if (!o.quiet)
    printf("vconv %s, tier %s, %zu thread(s), %lld training and %lld test images, batch %lld\n",
           vconv_version(), vconv_isa_name(vconv_isa_effective()), o.threads,
           (long long)train.count, (long long)test.count, (long long)o.batch);
  if (!o.quiet) printf("%5s %9s %9s %9s %9s %9s\n", "epoch", "loss", "train", "test", "seconds", "img/s");
  for (int ep = 0; ep < o.epochs; ep++) {
    lenet5_shuffle(o.seed, ep, order, train.count);
    epoch_stats *e = &stats[ep];
    e->order_digest = fnv1a(order, (size_t)train.count * sizeof(int64_t), 0xcbf29ce484222325ull);
    double loss_sum = 0.0;
    int64_t right = 0;
    double t0 = now_s(), last_draw = t0;
    for (int64_t at = 0; at < train.count; at += o.batch) {
      int64_t n = train.count - at < o.batch ? train.count - at : o.batch;
      for (int64_t i = 0; i < n; i++) {
        memcpy(batch_x + i * plane, train_x + order[at + i] * plane, (size_t)plane * sizeof(float));
        batch_y[i] = train.labels[order[at + i]];
      }
      double loss;
      int64_t correct;
      st = lenet5_train_step(net, batch_x, batch_y, n, lenet5_epoch_lr(o.lr, ep, o.epochs),
                             o.momentum, &loss, &correct);
      if (st != VCONV_OK) {
        fprintf(stderr, "\nlenet5-train: %s\n", lenet5_last_error(net));
        return 1;
      }
      loss_sum += loss * (double)n;
      right += correct;
      if (live) {
        double t = now_s();
        if (t - last_draw > 0.1 || at + n == train.count) {
          progress(at + n, train.count, loss_sum / (double)(at + n), t - t0);
          last_draw = t;
        }
      }
    }
    e->seconds = now_s() - t0;
    e->loss = loss_sum / (double)train.count;
    e->train_acc = (double)right / (double)train.count;
    double test_loss = 0.0;
    int64_t test_right = 0;
    for (int64_t at = 0; at < test.count; at += o.eval_batch) {
      int64_t n = test.count - at < o.eval_batch ? test.count - at : o.eval_batch;
      double l;
      int64_t c;
      st = lenet5_evaluate(net, test_x + at * plane, test.labels + at, n, &l, &c);
      if (st != VCONV_OK) {
        fprintf(stderr, "lenet5-train: %s\n", lenet5_last_error(net));
        return 1;
      }
      test_loss += l;
      test_right += c;
    }
    e->test_loss = test_loss / (double)test.count;
    e->test_acc = (double)test_right / (double)test.count;
    if (live) printf("\r%*s\r", 80, "");
    if (!o.quiet)
      printf("%5d %9.4f %9.4f %9.4f %9.2f %9.0f\n", ep + 1, e->loss, e->train_acc, e->test_acc,
             e->seconds, (double)train.count / e->seconds);
    fflush(stdout);
  }
  const uint64_t final_digest = fnv1a(lenet5_params(net), LENET5_PARAMS * sizeof(float),
                                      0xcbf29ce484222325ull);
  if (!o.quiet) printf("kernels: %s\nparameters digest %016llx\n", lenet5_kernels(net),
                       (unsigned long long)final_digest);
  if (o.json)
    write_json(&o, stats, o.epochs, train.count, test.count, lenet5_kernels(net), init_digest,
               final_digest);
  if (getenv("LENET5_PROFILE")) lenet5_profile(stdout);
  lenet5_destroy(net);
  vconv_threadpool_destroy(pool);
  idx_free_split(&train);
  idx_free_split(&test);
  free(train_x);
  free(test_x);
  free(batch_x);
  free(batch_y);
  free(order);
  free(stats);
  return 0;
}
