/*
 * LeNet-5 (LeCun et al., 1998) as the sources tabulate it, trained through
 * vconv's public API: every convolution and pooling, forward and backward,
 * is a vconv operator; the two dense layers run on vconv_sgemm; ReLU, the
 * softmax cross-entropy and SGD with momentum are the plain loops below.
 *
 *   input 1x32x32 (28x28 images padded by 2)
 *   C1  conv 6@5x5 + ReLU            6x28x28
 *   S2  max pool 2x2 stride 2        6x14x14
 *   C3  conv 16@5x5, the connection table of the paper (60 of 96 pairs) + ReLU  16x10x10
 *   S4  max pool 2x2 stride 2        16x5x5
 *   C5  conv 120@5x5 + ReLU          120x1x1
 *   F6  dense 84 + ReLU
 *   out dense 10, softmax cross-entropy
 *
 * ReLU and max pooling replace the paper's scaled tanh and trainable
 * average subsampling (the modern choice); the table, the sizes and the
 * 60,806 trainable parameters are the paper's.
 */
#ifndef VCONV_EXAMPLES_LENET5_H
#define VCONV_EXAMPLES_LENET5_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vconv.h"

#define LENET5_SIDE 32    /* input plane (28x28 padded by 2 on every side) */
#define LENET5_CLASSES 10

/* Parameters, one array in this order (weights OIHW, C3's full 16x6x5x5
 * with the unconnected pairs held at 0, dense weights [outputs][inputs]). */
enum {
  LENET5_W1 = 0, LENET5_B1 = LENET5_W1 + 6 * 25,
  LENET5_W3 = LENET5_B1 + 6, LENET5_B3 = LENET5_W3 + 16 * 6 * 25,
  LENET5_W5 = LENET5_B3 + 16, LENET5_B5 = LENET5_W5 + 120 * 16 * 25,
  LENET5_W6 = LENET5_B5 + 120, LENET5_B6 = LENET5_W6 + 84 * 120,
  LENET5_W7 = LENET5_B6 + 84, LENET5_B7 = LENET5_W7 + 10 * 84,
  LENET5_PARAMS = LENET5_B7 + 10
};

/* connections[k * 6 + c] != 0 when C3 map k reads S2 map c. */
extern const unsigned char lenet5_c3_table[16 * 6];

typedef struct lenet5 lenet5;

/* Weights and biases uniform in +-1/sqrt(fan in) (fan in: the taps a unit
 * reads, C3's connected ones only), drawn by lenet5_uniform(seed, i) in
 * parameter order: what PyTorch's default init does, reproducibly.
 * parallel may be NULL (the calling thread) and must outlive the net. */
vconv_status lenet5_create(uint64_t seed, const vconv_parallel *parallel, lenet5 **net);
void lenet5_destroy(lenet5 *net);

/* One SGD step with momentum on n images (n x 1 x 32 x 32, NCHW) and their
 * labels: v = momentum v + g, p -= lr v (PyTorch's SGD), g the gradient of
 * the mean cross-entropy.  *loss gets that mean, *correct the images whose
 * largest logit (first on ties) is the label, both before the update. */
vconv_status lenet5_train_step(lenet5 *net, const float *x, const uint8_t *labels, int64_t n,
                               float lr, float momentum, double *loss, int64_t *correct);

/* Forward only: summed cross-entropy and correct count over n images. */
vconv_status lenet5_evaluate(lenet5 *net, const float *x, const uint8_t *labels, int64_t n,
                             double *loss_sum, int64_t *correct);

const float *lenet5_params(const lenet5 *net);
/* Time per phase (each vconv call, forward and backward) since the start,
 * when the environment has LENET5_PROFILE set. */
void lenet5_profile(FILE *f);
/* Where a failing call failed ("C3 backward data: ..."), for messages. */
const char *lenet5_last_error(const lenet5 *net);
/* The kernels the last step ran, e.g. "C1 direct/avx512, ...". */
const char *lenet5_kernels(const lenet5 *net);

/* The i-th draw in [-1, 1) of the generator behind the init (splitmix64 of
 * seed + (i + 1) * golden ratio, top 24 bits): float-exact, so any language
 * reproduces the same weights. */
float lenet5_uniform(uint64_t seed, uint64_t i);
uint64_t lenet5_splitmix64(uint64_t z);

/* The epoch's image order: order = 0..count-1, then for i = count-1 down to
 * 1, z += golden, r = splitmix64(z), swap order[i] with order[(r >> 32) *
 * (i + 1) >> 32], starting from z = seed ^ (epoch + 1) * golden. */
void lenet5_shuffle(uint64_t seed, int epoch, int64_t *order, int64_t count);

/* The learning rate of epoch ep (0-based) of `epochs`: cosine decay from lr,
 * lr (1 + cos(pi ep / epochs)) / 2, in double, rounded to float once. */
float lenet5_epoch_lr(float lr, int ep, int epochs);

/* 28x28 bytes to the network's normalised 32x32 input: (p / 255 - 0.2860) / 0.3530
 * with the 2-pixel border at the value of a 0 pixel. */
void lenet5_prepare(const uint8_t *pixels, int64_t count, float *out);

/* count generated 28x28 images of ten classes (a bright patch at one of ten
 * places, jittered, with noise) and their labels:
 * data for tests and machines without the dataset. */
void lenet5_synthesize(uint8_t *pixels, uint8_t *labels, int64_t count, uint64_t seed);

#endif
