/*
 * im2col + OpenBLAS cblas_sgemm (the classic Caffe lowering), NCHW.  Per image
 * and group: col[C/G*R*S][P*Q] = im2col(input); out = W_g * col + bias.  The
 * im2col and the bias fill are inside the timed loop (they are part of the
 * algorithm) and run on one thread; sgemm uses openblas_set_num_threads(t).
 * Also gemm.sq1024: one 1024^3 sgemm.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_config.h"

#if BENCH_HAVE_OPENBLAS
#include <cblas.h>

int bench_have_openblas(void) { return 1; }

void bench_openblas_context(void) {
  const char *ct = getenv("OPENBLAS_CORETYPE");
  bm_add_context("openblas_config", openblas_get_config());
  bm_add_context("openblas_corename", openblas_get_corename());
  bm_add_context("openblas_coretype_env", ct ? ct : "(unset)");
}

static void im2col(const bench_layer *l, const float *in, float *col) {
  const int64_t Cg = l->C / l->groups, P = bench_out_h(l), Q = bench_out_w(l);
  for (int64_t c = 0; c < Cg; c++)
    for (int64_t r = 0; r < l->R; r++)
      for (int64_t s = 0; s < l->S; s++) {
        float *row = col + ((c * l->R + r) * l->S + s) * P * Q;
        for (int64_t p = 0; p < P; p++) {
          const int64_t y = p * l->stride - l->pad + r;
          for (int64_t q = 0; q < Q; q++) {
            const int64_t x = q * l->stride - l->pad + s;
            row[p * Q + q] = (y >= 0 && y < l->H && x >= 0 && x < l->W) ? in[(c * l->H + y) * l->W + x] : 0.0f;
          }
        }
      }
}

static void conv(const bench_layer *l, int64_t n, const float *in, const float *w,
                 const float *bias, float *col, float *out) {
  const int64_t G = l->groups, Cg = l->C / G, Kg = l->K / G, PQ = bench_out_h(l) * bench_out_w(l);
  const int64_t crs = Cg * l->R * l->S;
  for (int64_t i = 0; i < n; i++)
    for (int64_t g = 0; g < G; g++) {
      im2col(l, in + (i * l->C + g * Cg) * l->H * l->W, col);
      float *o = out + (i * l->K + g * Kg) * PQ;
      for (int64_t k = 0; k < Kg; k++)
        for (int64_t j = 0; j < PQ; j++) o[k * PQ + j] = bias[g * Kg + k];
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Kg, (int)PQ, (int)crs, 1.0f,
                  w + g * Kg * crs, (int)crs, col, (int)PQ, 1.0f, o, (int)PQ);
    }
}

void bench_openblas(bm_state *st, void *arg) {
  const bench_case *c = arg;
  const bench_layer *l = c->layer;
  const int64_t n = c->batch;
  const float *ref = bench_reference(l, n);
  if (!ref) {
    bm_skip_with_error(st, "vconv reference failed");
    return;
  }
  openblas_set_num_threads(c->threads);
  bench_data d;
  bench_data_make(l, n, &d);
  const size_t nout = bench_out_floats(l, n);
  float *out = bench_alloc(nout);
  float *col = bench_alloc((size_t)((l->C / l->groups) * l->R * l->S * bench_out_h(l) * bench_out_w(l)));
  char msg[256];
  conv(l, n, d.in, d.w, d.bias, col, out);
  if (bench_check(out, ref, nout, BENCH_TOL_PEER, msg, sizeof msg)) {
    bm_skip_with_error(st, msg);
  } else {
    double wall = 0.0;
    BENCH_LOOP(st, wall, { conv(l, n, d.in, d.w, d.bias, col, out); bm_escape(out); });
    snprintf(msg, sizeof msg, "nchw im2col+sgemm %s", openblas_get_corename());
    bm_set_label(st, msg);
    bench_layer_counters(st, l, n, wall);
  }
  free(col);
  free(out);
  bench_data_free(&d);
}

void bench_openblas_gemm(bm_state *st, void *arg) {
  const int m = (int)(size_t)arg;
  const size_t mm = (size_t)m * (size_t)m;
  float *a = bench_alloc(mm), *b = bench_alloc(mm), *cc = bench_alloc(mm);
  bench_gemm_fill(a, b, mm);
  openblas_set_num_threads(1);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, m, m, 1.0f, a, m, b, m, 0.0f, cc, m);
  double wall = 0.0;
  BENCH_LOOP(st, wall, {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, m, m, 1.0f, a, m, b, m, 0.0f, cc, m);
    bm_escape(cc);
  });
  bm_set_label(st, openblas_get_corename());
  bench_rate(st, "FLOPS", 2.0 * (double)m * (double)m * (double)m, wall);
  free(a);
  free(b);
  free(cc);
}

#else
int bench_have_openblas(void) { return 0; }
void bench_openblas_context(void) {}
void bench_openblas(bm_state *st, void *arg) {
  (void)arg;
  bm_skip_with_error(st, "built without OpenBLAS");
}
void bench_openblas_gemm(bm_state *st, void *arg) {
  (void)arg;
  bm_skip_with_error(st, "built without OpenBLAS");
}
#endif
