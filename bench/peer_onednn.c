/*
 * oneDNN (C API, 2.x) convolution and pooling.
 *   onednn       layouts "any": oneDNN picks them; weights and input are
 *                reordered once, outside the timed loop; the output stays in
 *                oneDNN's layout (reordered to NCHW only for the check).
 *   onednn_nchw  plain NCHW / OIHW memory descriptors.
 *   onednn_wino  dnnl_convolution_winograd, where oneDNN accepts the shape.
 * Pooling: onednn uses the blocked layout of the best tier (nChw16c / nChw8c),
 * onednn_nchw plain NCHW.  Threads: Debian's oneDNN uses OpenMP; the count is
 * set with omp_set_num_threads when the suite is built with OpenMP.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "bench_config.h"

#if BENCH_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static dnnl_engine_t engine;
static dnnl_stream_t stream;

int bench_have_onednn(void) {
  if (!engine && dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success &&
      dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) {
    dnnl_engine_destroy(engine);
    engine = NULL;
  }
  return engine != NULL;
}

void bench_onednn_context(void) {
  const dnnl_version_t *v = dnnl_version();
  char s[160];
  snprintf(s, sizeof s, "%d.%d.%d (hash %s, cpu runtime %s)", v->major, v->minor, v->patch,
           v->hash ? v->hash : "none",
           v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP"
           : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential" : "other");
  bm_add_context("onednn_version", s);
#ifdef _OPENMP
  bm_add_context("onednn_threads", "OpenMP, omp_set_num_threads(t) before each benchmark");
#else
  bm_add_context("onednn_threads", "OpenMP default (the suite was built without OpenMP)");
#endif
}

static dnnl_status_t conv_pd(const bench_layer *l, int64_t batch, bench_impl impl,
                             dnnl_primitive_desc_t *pd) {
  const int any = impl != IMPL_ONEDNN_NCHW, g = l->groups > 1;
  const dnnl_format_tag_t act = any ? dnnl_format_tag_any : dnnl_nchw;
  const dnnl_format_tag_t wt = any ? dnnl_format_tag_any : g ? dnnl_goihw : dnnl_oihw;
  dnnl_dims_t sd = {batch, l->C, l->H, l->W}, dd = {batch, l->K, bench_out_h(l), bench_out_w(l)};
  dnnl_dims_t wd = {l->K, l->C, l->R, l->S}, bd = {l->K};
  if (g) {
    const dnnl_dims_t gd = {l->groups, l->K / l->groups, l->C / l->groups, l->R, l->S};
    for (int i = 0; i < 5; i++) wd[i] = gd[i];
  }
  dnnl_memory_desc_t src, wei, bia, dst;
  dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, act);
  dnnl_memory_desc_init_by_tag(&wei, g ? 5 : 4, wd, dnnl_f32, wt);
  dnnl_memory_desc_init_by_tag(&bia, 1, bd, dnnl_f32, dnnl_x);
  dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, act);
  const dnnl_dims_t strides = {l->stride, l->stride}, pad = {l->pad, l->pad};
  dnnl_convolution_desc_t cd;
  dnnl_status_t s = dnnl_convolution_forward_desc_init(
      &cd, dnnl_forward_inference,
      impl == IMPL_ONEDNN_WINO ? dnnl_convolution_winograd : dnnl_convolution_direct, &src, &wei,
      &bia, &dst, strides, pad, pad);
  return s != dnnl_success ? s : dnnl_primitive_desc_create(pd, &cd, NULL, engine, NULL);
}

static dnnl_status_t pool_pd(const bench_layer *l, int64_t batch, bench_impl impl,
                             dnnl_primitive_desc_t *pd) {
  dnnl_format_tag_t tag = dnnl_nchw;
  if (impl == IMPL_ONEDNN)
    tag = vconv_isa_effective() == VCONV_ISA_AVX512 ? dnnl_nChw16c : dnnl_nChw8c;
  dnnl_dims_t sd = {batch, l->C, l->H, l->W}, dd = {batch, l->C, bench_out_h(l), bench_out_w(l)};
  dnnl_memory_desc_t src, dst;
  dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, tag);
  dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, tag);
  const dnnl_dims_t strides = {l->stride, l->stride}, kernel = {l->R, l->S}, pad = {l->pad, l->pad};
  const dnnl_alg_kind_t alg = l->pool_kind == VCONV_POOL_MAX ? dnnl_pooling_max
                              : l->pool_kind == VCONV_POOL_AVG_INCLUDE_PAD
                                  ? dnnl_pooling_avg_include_padding
                                  : dnnl_pooling_avg_exclude_padding;
  dnnl_pooling_desc_t d;
  dnnl_status_t s = dnnl_pooling_forward_desc_init(&d, dnnl_forward_inference, alg, &src, &dst,
                                                   strides, kernel, pad, pad);
  return s != dnnl_success ? s : dnnl_primitive_desc_create(pd, &d, NULL, engine, NULL);
}

int bench_onednn_applicable(const bench_layer *l, int64_t batch, bench_impl impl) {
  if (!bench_have_onednn() || (l->is_pool && impl == IMPL_ONEDNN_WINO)) return 0;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_status_t s = l->is_pool ? pool_pd(l, batch, impl, &pd) : conv_pd(l, batch, impl, &pd);
  if (pd) dnnl_primitive_desc_destroy(pd);
  return s == dnnl_success;
}

static dnnl_status_t reorder(dnnl_memory_t from, dnnl_memory_t to) {
  const dnnl_memory_desc_t *fmd, *tmd;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t p = NULL;
  dnnl_memory_get_memory_desc(from, &fmd);
  dnnl_memory_get_memory_desc(to, &tmd);
  dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, fmd, engine, tmd, engine, NULL);
  if (s == dnnl_success) s = dnnl_primitive_create(&p, pd);
  if (s == dnnl_success) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    s = dnnl_primitive_execute(p, stream, 2, args);
    dnnl_stream_wait(stream);
  }
  if (p) dnnl_primitive_destroy(p);
  if (pd) dnnl_primitive_desc_destroy(pd);
  return s;
}

/* A memory in the primitive's layout for `what`, filled from `user` (reordered when different). */
static dnnl_memory_t prim_mem(dnnl_primitive_desc_t pd, dnnl_query_t what, dnnl_memory_t user) {
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, what, 0);
  dnnl_memory_t m = NULL;
  if (dnnl_memory_create(&m, md, engine, DNNL_MEMORY_ALLOCATE) != dnnl_success) return NULL;
  if (user && reorder(user, m) != dnnl_success) {
    dnnl_memory_destroy(m);
    return NULL;
  }
  return m;
}

static dnnl_memory_t user_mem(int ndims, const int64_t *dims, dnnl_format_tag_t tag, void *data) {
  dnnl_dims_t d = {0};
  for (int i = 0; i < ndims; i++) d[i] = dims[i];
  dnnl_memory_desc_t md;
  dnnl_memory_t m = NULL;
  dnnl_memory_desc_init_by_tag(&md, ndims, d, dnnl_f32, tag);
  dnnl_memory_create(&m, &md, engine, data);
  return m;
}

void bench_onednn(bm_state *st, void *arg) {
  const bench_case *c = arg;
  const bench_layer *l = c->layer;
  const int64_t n = c->batch, g = l->groups, P = bench_out_h(l), Q = bench_out_w(l);
  char msg[256];
  if (!bench_have_onednn()) {
    bm_skip_with_error(st, "oneDNN: no CPU engine");
    return;
  }
#ifdef _OPENMP
  omp_set_num_threads(c->threads);
#endif
  const float *ref = bench_reference(l, n);
  if (!ref) {
    bm_skip_with_error(st, "vconv reference failed");
    return;
  }
  bench_data d;
  bench_data_make(l, n, &d);
  float *out = bench_alloc(bench_out_floats(l, n));
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t prim = NULL;
  dnnl_memory_t usrc = NULL, uwei = NULL, ubia = NULL, udst = NULL, src = NULL, wei = NULL, dst = NULL;
  dnnl_status_t s = l->is_pool ? pool_pd(l, n, c->impl, &pd) : conv_pd(l, n, c->impl, &pd);
  const char *err = NULL;
  if (s != dnnl_success) {
    err = "oneDNN: primitive descriptor creation failed";
    goto done;
  }
  const int64_t sdims[4] = {n, l->C, l->H, l->W}, ddims[4] = {n, l->K, P, Q};
  usrc = user_mem(4, sdims, dnnl_nchw, d.in);
  udst = user_mem(4, ddims, dnnl_nchw, out);
  src = prim_mem(pd, dnnl_query_src_md, usrc);
  dst = prim_mem(pd, dnnl_query_dst_md, NULL);
  int nargs = 2;
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  if (!l->is_pool) {
    const int64_t wdims[5] = {g, l->K / g, l->C / g, l->R, l->S}, plain[4] = {l->K, l->C / g, l->R, l->S};
    uwei = g > 1 ? user_mem(5, wdims, dnnl_goihw, d.w) : user_mem(4, plain, dnnl_oihw, d.w);
    ubia = user_mem(1, &l->K, dnnl_x, d.bias);
    wei = prim_mem(pd, dnnl_query_weights_md, uwei);
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, wei};
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, ubia};
  }
  if (!src || !dst || (!l->is_pool && !wei) || dnnl_primitive_create(&prim, pd) != dnnl_success) {
    err = "oneDNN: memory or primitive creation failed";
    goto done;
  }
  if (dnnl_primitive_execute(prim, stream, nargs, args) != dnnl_success ||
      dnnl_stream_wait(stream) != dnnl_success || reorder(dst, udst) != dnnl_success) {
    err = "oneDNN: execution failed";
    goto done;
  }
  if (bench_check(out, ref, bench_out_floats(l, n), BENCH_TOL_PEER, msg, sizeof msg)) {
    err = msg;
    goto done;
  }
  double wall = 0.0;
  BENCH_LOOP(st, wall, {
    dnnl_primitive_execute(prim, stream, nargs, args);
    dnnl_stream_wait(stream);
  });
  const char *impl_str = NULL;
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl_str);
  snprintf(msg, sizeof msg, "%s %s", c->impl == IMPL_ONEDNN_NCHW ? "nchw" : l->is_pool ? "blocked" : "any",
           impl_str ? impl_str : "?");
  bm_set_label(st, msg);
  bench_layer_counters(st, l, n, wall);
done:
  if (err) bm_skip_with_error(st, err);
  if (prim) dnnl_primitive_destroy(prim);
  if (pd) dnnl_primitive_desc_destroy(pd);
  dnnl_memory_t mems[] = {usrc, uwei, ubia, udst, src, wei, dst};
  for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
    if (mems[i]) dnnl_memory_destroy(mems[i]);
  free(out);
  bench_data_free(&d);
}

#else
int bench_have_onednn(void) { return 0; }
void bench_onednn_context(void) {}
int bench_onednn_applicable(const bench_layer *l, int64_t batch, bench_impl impl) {
  (void)l, (void)batch, (void)impl;
  return 0;
}
void bench_onednn(bm_state *st, void *arg) {
  (void)arg;
  bm_skip_with_error(st, "built without oneDNN");
}
#endif
