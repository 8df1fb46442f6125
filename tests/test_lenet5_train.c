/*
 * The LeNet-5 example (examples/) as a framework would run it: one short
 * epoch on a slice of Fashion-MNIST (generated images where Debian's
 * dataset-fashion-mnist is not installed) must lower the loss, and give the
 * same parameters, bit for bit, on 1 and 2 threads.  The IDX reader must
 * refuse, naming the file, every damaged input the dataset could arrive as.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "idx.h"
#include "lenet5.h"
#include "vconv.h"

static int failures;

#define EXPECT(cond, ...)          \
  do {                             \
    if (!(cond)) {                 \
      printf("FAIL: " __VA_ARGS__); \
      printf("\n");                \
      failures++;                  \
    }                              \
  } while (0)

static char dir[256];

static void write_gz(const char *name, const unsigned char *bytes, size_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  gzFile f = gzopen(path, "wb");
  gzwrite(f, bytes, (unsigned)n);
  gzclose(f);
}

static void write_raw(const char *name, const unsigned char *bytes, size_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  fwrite(bytes, 1, n, f);
  fclose(f);
}

/* An IDX image file of `count` 2x3 images; header_count may lie. */
static size_t idx3(unsigned char *buf, int magic3, int header_count, int count) {
  unsigned char h[16] = {0, 0, 8, (unsigned char)magic3, 0, 0, 0, (unsigned char)header_count,
                         0, 0, 0, 2, 0, 0, 0, 3};
  memcpy(buf, h, 16);
  for (int i = 0; i < count * 6; i++) buf[16 + i] = (unsigned char)(i * 7);
  return 16 + (size_t)count * 6;
}

static void expect_refused(const char *name, const char *phrase) {
  char path[512], err[1024] = "";
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int64_t dims[3] = {0};
  uint8_t *data = (uint8_t *)1;
  int rc = idx_load_file(path, 3, dims, &data, err, sizeof err);
  EXPECT(rc == -1, "%s: accepted", name);
  EXPECT(data == NULL, "%s: data not NULL after a refusal", name);
  EXPECT(strstr(err, path) != NULL, "%s: message does not name the file: %s", name, err);
  EXPECT(strstr(err, phrase) != NULL, "%s: message '%s' lacks '%s'", name, err, phrase);
}

static void idx_errors(void) {
  snprintf(dir, sizeof dir, "/tmp/vconv-idx-XXXXXX");
  if (!mkdtemp(dir)) {
    printf("FAIL: mkdtemp\n");
    failures++;
    return;
  }
  unsigned char buf[256];
  size_t n = idx3(buf, 3, 4, 4);
  write_gz("good.gz", buf, n);
  char path[512], err[1024];
  snprintf(path, sizeof path, "%s/good.gz", dir);
  int64_t dims[3];
  uint8_t *data = NULL;
  EXPECT(idx_load_file(path, 3, dims, &data, err, sizeof err) == 0, "good file refused: %s", err);
  EXPECT(data && dims[0] == 4 && dims[1] == 2 && dims[2] == 3 && data[5] == 35,
         "good file read wrong");
  free(data);

  expect_refused("absent.gz", "cannot open");
  n = idx3(buf, 1, 4, 4);
  write_gz("magic.gz", buf, n);
  expect_refused("magic.gz", "wrong magic number");
  n = idx3(buf, 3, 4, 3);
  write_gz("short.gz", buf, n);
  expect_refused("short.gz", "ends before the size its header gives");
  n = idx3(buf, 3, 4, 5);
  write_gz("long.gz", buf, n);
  expect_refused("long.gz", "more data than its header gives");
  n = idx3(buf, 3, 4, 4);
  write_raw("plain.gz", buf, n);
  expect_refused("plain.gz", "not a gzip file");
  /* The gzip stream cut short: half of the compressed bytes. */
  snprintf(path, sizeof path, "%s/good.gz", dir);
  FILE *f = fopen(path, "rb");
  unsigned char z[512];
  size_t zn = fread(z, 1, sizeof z, f);
  fclose(f);
  write_raw("cut.gz", z, zn - 12); /* drops the trailer and the stream's end */
  expect_refused("cut.gz", "gzip stream");
  write_raw("empty.gz", z, 0);
  expect_refused("empty.gz", "not a gzip file");
  /* A split whose label file disagrees with its images. */
  n = idx3(buf, 3, 4, 4);
  write_gz("x-images-idx3-ubyte.gz", buf, n);
  unsigned char lab[12] = {0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3};
  write_gz("x-labels-idx1-ubyte.gz", lab, 11);
  idx_split s;
  EXPECT(idx_load_split(dir, "x", &s, err, sizeof err) == -1 && strstr(err, "3 labels for 4 images"),
         "label/image count mismatch not reported: %s", err);
  unsigned char lab2[12] = {0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 10, 3};
  write_gz("x-labels-idx1-ubyte.gz", lab2, 12);
  EXPECT(idx_load_split(dir, "x", &s, err, sizeof err) == -1 && strstr(err, "not a class"),
         "label 10 not reported: %s", err);
  const char *names[] = {"good.gz", "magic.gz", "short.gz", "long.gz", "plain.gz", "cut.gz",
                         "empty.gz", "x-images-idx3-ubyte.gz", "x-labels-idx1-ubyte.gz"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
}

#define IMAGES 2048
#define BATCH 64

static double eval_loss(lenet5 *net, const float *x, const uint8_t *y) {
  double loss;
  int64_t right;
  vconv_status st = lenet5_evaluate(net, x, y, IMAGES, &loss, &right);
  EXPECT(st == VCONV_OK, "evaluate: %s", lenet5_last_error(net));
  return loss / IMAGES;
}

/* One epoch over the slice; returns the parameters' copy and the losses. */
static int train_epoch(size_t threads, const float *x, const uint8_t *y, float *params,
                       double *before, double *after) {
  vconv_threadpool *pool = NULL;
  if (vconv_threadpool_create(threads, 0, &pool) != VCONV_OK) return -1;
  lenet5 *net = NULL;
  if (lenet5_create(7, vconv_threadpool_parallel(pool), &net) != VCONV_OK) return -1;
  *before = eval_loss(net, x, y);
  int64_t order[IMAGES];
  lenet5_shuffle(7, 0, order, IMAGES);
  static float bx[BATCH * LENET5_SIDE * LENET5_SIDE];
  uint8_t by[BATCH];
  const int64_t plane = LENET5_SIDE * LENET5_SIDE;
  for (int64_t at = 0; at < IMAGES; at += BATCH) {
    for (int64_t i = 0; i < BATCH; i++) {
      memcpy(bx + i * plane, x + order[at + i] * plane, sizeof(float) * (size_t)plane);
      by[i] = y[order[at + i]];
    }
    double loss;
    int64_t right;
    vconv_status st = lenet5_train_step(net, bx, by, BATCH, 0.05f, 0.9f, &loss, &right);
    if (st != VCONV_OK) {
      printf("FAIL: train step: %s\n", lenet5_last_error(net));
      failures++;
      break;
    }
  }
  *after = eval_loss(net, x, y);
  memcpy(params, lenet5_params(net), sizeof(float) * LENET5_PARAMS);
  lenet5_destroy(net);
  vconv_threadpool_destroy(pool);
  return 0;
}

static void training(void) {
  static uint8_t pixels[IMAGES * 784], labels[IMAGES];
  static float x[IMAGES * LENET5_SIDE * LENET5_SIDE];
  const char *data_dir = "/usr/share/datasets/fashion-mnist";
  idx_split split;
  char err[1024];
  const char *source = "generated images";
  /* VCONV_TEST_SYNTHETIC: the generated images even where the dataset is installed. */
  if (!getenv("VCONV_TEST_SYNTHETIC") && access(data_dir, R_OK) == 0 && idx_load_split(data_dir, "train", &split, err, sizeof err) == 0) {
    memcpy(pixels, split.pixels, sizeof pixels);
    memcpy(labels, split.labels, sizeof labels);
    idx_free_split(&split);
    source = "Fashion-MNIST's first training images";
  } else {
    lenet5_synthesize(pixels, labels, IMAGES, 3);
  }
  lenet5_prepare(pixels, IMAGES, x);
  static float p1[LENET5_PARAMS], p2[LENET5_PARAMS];
  double b1, a1, b2, a2;
  if (train_epoch(1, x, labels, p1, &b1, &a1) || train_epoch(2, x, labels, p2, &b2, &a2)) {
    printf("FAIL: could not set the network up\n");
    failures++;
    return;
  }
  printf("one epoch on %d of %s: loss %.4f -> %.4f (1 thread), %.4f -> %.4f (2 threads)\n", IMAGES, source, b1,
         a1, b2, a2);
  EXPECT(a1 < 0.8 * b1, "loss did not fall by a fifth: %.4f -> %.4f", b1, a1);
  EXPECT(isfinite(a1), "loss not finite");
  EXPECT(memcmp(p1, p2, sizeof p1) == 0, "parameters differ between 1 and 2 threads");
  int unconnected_zero = 1;
  for (int k = 0; k < 16; k++)
    for (int c = 0; c < 6; c++)
      if (!lenet5_c3_table[k * 6 + c])
        for (int t = 0; t < 25; t++) unconnected_zero &= p1[LENET5_W3 + (k * 6 + c) * 25 + t] == 0.0f;
  EXPECT(unconnected_zero, "C3 weights of unconnected maps moved");
}

int main(void) {
  idx_errors();
  training();
  printf("lenet5_train: %d failed\n", failures);
  return failures ? 1 : 0;
}
