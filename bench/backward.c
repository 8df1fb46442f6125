/*
 * Backward convolution rows: every LeNet-5 and AlexNet conv layer's data and
 * weight gradients,
 *   <net>.<layer>_bwd_data/<impl>/<tier>/n:<N>/t:<T>
 *   <net>.<layer>_bwd_weights/<impl>/<tier>/n:<N>/t:<T>
 * impl: each backward algorithm on each tier that runs here where it takes
 * the layer ("direct", "gemm", "winograd"), "auto" (the heuristic on the effective tier) and "onednn"
 * (oneDNN's backward_data / backward_weights primitives, layouts "any" with
 * a forward_training hint, reorders outside the timed loop, tier "peer"; or
 * "peer_<tier>" under VCONV_BENCH_PEER_CAP).  The weight rows compute db as
 * well, on both sides.  Every row's first result is checked before it is
 * timed: ours against the single-threaded auto result (BENCH_TOL_OURS), the
 * peer against it with BENCH_TOL_PEER (the C3 table's unconnected pairs
 * compared as zeros: the peer computes the dense layer with those weights 0).
 * FLOPS is the nominal direct count, as for forward.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_config.h"

typedef struct bwd_case {
  const bench_layer *layer;
  int64_t batch;
  int threads;
  vconv_bwd_kind kind;
  int peer;             /* oneDNN */
  vconv_algorithm algo; /* AUTO: the heuristic */
  vconv_isa isa;
  const char *plan;     /* one path by its plan name ("<kernel>:<path>"), or NULL */
} bwd_case;

/* Deterministic uniform values in [-scale, scale), their own stream (dY). */
static void fill(float *p, size_t n, uint64_t seed, float scale) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 7;
  for (size_t i = 0; i < n; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    p[i] = scale * ((float)(x >> 40) * (2.0f / 16777216.0f) - 1.0f);
  }
}

typedef struct bwd_data {
  bench_data d; /* in, w (unconnected zero), bias */
  float *dy;
} bwd_data;

static void data_make(const bench_layer *l, int64_t batch, bwd_data *b) {
  bench_data_make(l, batch, &b->d);
  b->dy = bench_alloc(bench_out_floats(l, batch));
  fill(b->dy, bench_out_floats(l, batch), (uint64_t)(l - bench_layers) + 3000, 1.0f);
}

static void data_free(bwd_data *b) {
  bench_data_free(&b->d);
  free(b->dy);
}

static size_t result_floats(const bench_layer *l, int64_t batch, vconv_bwd_kind kind) {
  return kind == VCONV_BWD_DATA ? bench_in_floats(l, batch) : bench_weight_floats(l) + (size_t)l->K;
}

static vconv_status ours_create(const bwd_case *c, vconv_conv2d_bwd_op **op) {
  vconv_conv2d_desc cd;
  bench_conv_desc(c->layer, c->batch, VCONV_LAYOUT_NCHW, &cd);
  bwd_data tmp;
  data_make(c->layer, c->batch, &tmp);
  const vconv_status s =
      c->plan ? vconv_conv2d_bwd_create_named(&cd, c->plan, tmp.d.w, op)
      : c->kind == VCONV_BWD_DATA
          ? vconv_conv2d_bwd_data_create_for_isa(&cd, c->algo, c->isa, tmp.d.w, op)
          : vconv_conv2d_bwd_weights_create_for_isa(&cd, c->algo, c->isa, op);
  data_free(&tmp);
  return s;
}

/* dX, or dW followed by db. */
static vconv_status ours_run(const vconv_conv2d_bwd_op *op, const bwd_data *b, float *out,
                             size_t wfloats, void *ws, size_t wsn, const vconv_parallel *par) {
  if (vconv_conv2d_bwd_kind(op) == VCONV_BWD_DATA)
    return vconv_conv2d_bwd_data_run(op, b->dy, out, ws, wsn, par);
  return vconv_conv2d_bwd_weights_run(op, b->d.in, b->dy, out, out + wfloats, ws, wsn, par);
}

static struct {
  const bench_layer *layer;
  int64_t batch;
  vconv_bwd_kind kind;
  float *out;
} ref_cache;

/* Our single-threaded auto result, cached for the last (layer, batch, kind). */
static const float *reference(const bench_layer *l, int64_t batch, vconv_bwd_kind kind) {
  if (ref_cache.out && ref_cache.layer == l && ref_cache.batch == batch && ref_cache.kind == kind)
    return ref_cache.out;
  free(ref_cache.out);
  ref_cache.out = NULL;
  bwd_case c = {l, batch, 1, kind, 0, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, NULL};
  vconv_conv2d_bwd_op *op = NULL;
  if (ours_create(&c, &op) != VCONV_OK) return NULL;
  bwd_data b;
  data_make(l, batch, &b);
  float *out = bench_alloc(result_floats(l, batch, kind));
  const vconv_status s = ours_run(op, &b, out, bench_weight_floats(l), NULL, 0, NULL);
  vconv_conv2d_bwd_destroy(op);
  data_free(&b);
  if (s != VCONV_OK) {
    free(out);
    return NULL;
  }
  ref_cache.layer = l;
  ref_cache.batch = batch;
  ref_cache.kind = kind;
  ref_cache.out = out;
  return out;
}

static void bench_bwd_ours(bm_state *st, void *arg) {
  const bwd_case *c = arg;
  const bench_layer *l = c->layer;
  const vconv_parallel *par = bench_parallel(c->threads);
  vconv_conv2d_bwd_op *op = NULL;
  vconv_status s = ours_create(c, &op);
  if (s != VCONV_OK) {
    bm_skip_with_error(st, vconv_status_string(s));
    return;
  }
  bwd_data b;
  data_make(l, c->batch, &b);
  const size_t n = result_floats(l, c->batch, c->kind), wf = bench_weight_floats(l);
  float *out = bench_alloc(n);
  const size_t wsn = vconv_conv2d_bwd_workspace_size(op, par);
  void *ws = wsn ? bench_alloc(wsn / sizeof(float) + 1) : NULL;
  const float *ref = reference(l, c->batch, c->kind);
  char msg[256];
  s = ours_run(op, &b, out, wf, ws, wsn, par);
  if (s != VCONV_OK) {
    bm_skip_with_error(st, vconv_status_string(s));
  } else if (!ref) {
    bm_skip_with_error(st, "no reference result");
  } else if (bench_check(out, ref, n, BENCH_TOL_OURS, msg, sizeof msg)) {
    bm_skip_with_error(st, msg);
  } else {
    double wall = 0.0;
    BENCH_LOOP(st, wall, {
      ours_run(op, &b, out, wf, ws, wsn, par);
      bm_escape(out);
    });
    snprintf(msg, sizeof msg, "nchw %s", vconv_conv2d_bwd_plan_of(op));
    bm_set_label(st, msg);
    bench_layer_counters(st, l, c->batch, wall);
  }
  vconv_conv2d_bwd_destroy(op);
  free(ws);
  free(out);
  data_free(&b);
}

#if BENCH_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static dnnl_engine_t engine;
static dnnl_stream_t stream;

static int have_engine(void) {
  if (!engine && dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success &&
      dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) {
    dnnl_engine_destroy(engine);
    engine = NULL;
  }
  return engine != NULL;
}

typedef struct dnn_descs {
  dnnl_memory_desc_t src, wei, bia, dst;
  dnnl_dims_t strides, pad;
} dnn_descs;

static void descs(const bench_layer *l, int64_t batch, dnn_descs *m) {
  const int g = l->groups > 1;
  dnnl_dims_t sd = {batch, l->C, l->H, l->W}, dd = {batch, l->K, bench_out_h(l), bench_out_w(l)};
  dnnl_dims_t wd = {l->K, l->C / l->groups, l->R, l->S}, bd = {l->K};
  if (g) {
    const dnnl_dims_t gd = {l->groups, l->K / l->groups, l->C / l->groups, l->R, l->S};
    for (int i = 0; i < 5; i++) wd[i] = gd[i];
  }
  dnnl_memory_desc_init_by_tag(&m->src, 4, sd, dnnl_f32, dnnl_format_tag_any);
  dnnl_memory_desc_init_by_tag(&m->wei, g ? 5 : 4, wd, dnnl_f32, dnnl_format_tag_any);
  dnnl_memory_desc_init_by_tag(&m->bia, 1, bd, dnnl_f32, dnnl_x);
  dnnl_memory_desc_init_by_tag(&m->dst, 4, dd, dnnl_f32, dnnl_format_tag_any);
  m->strides[0] = m->strides[1] = l->stride;
  m->pad[0] = m->pad[1] = l->pad;
}

/* The backward primitive descriptor, with the forward_training hint oneDNN requires. */
static dnnl_status_t bwd_pd(const bench_layer *l, int64_t batch, vconv_bwd_kind kind,
                            dnnl_primitive_desc_t *pd) {
  dnn_descs m;
  descs(l, batch, &m);
  dnnl_convolution_desc_t fd, bd;
  dnnl_primitive_desc_t hint = NULL;
  dnnl_status_t s = dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training,
                                                       dnnl_convolution_direct, &m.src, &m.wei,
                                                       &m.bia, &m.dst, m.strides, m.pad, m.pad);
  if (s == dnnl_success) s = dnnl_primitive_desc_create(&hint, &fd, NULL, engine, NULL);
  if (s == dnnl_success)
    s = kind == VCONV_BWD_DATA
            ? dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &m.src, &m.wei,
                                                       &m.dst, m.strides, m.pad, m.pad)
            : dnnl_convolution_backward_weights_desc_init(&bd, dnnl_convolution_direct, &m.src,
                                                          &m.wei, &m.bia, &m.dst, m.strides,
                                                          m.pad, m.pad);
  if (s == dnnl_success) s = dnnl_primitive_desc_create(pd, &bd, NULL, engine, hint);
  if (hint) dnnl_primitive_desc_destroy(hint);
  return s;
}

static int peer_applicable(const bench_layer *l, int64_t batch, vconv_bwd_kind kind) {
  if (!have_engine()) return 0;
  dnnl_primitive_desc_t pd = NULL;
  const dnnl_status_t s = bwd_pd(l, batch, kind, &pd);
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

static dnnl_memory_t user_mem(int ndims, const int64_t *dims, dnnl_format_tag_t tag, void *data) {
  dnnl_dims_t d = {0};
  for (int i = 0; i < ndims; i++) d[i] = dims[i];
  dnnl_memory_desc_t md;
  dnnl_memory_t m = NULL;
  dnnl_memory_desc_init_by_tag(&md, ndims, d, dnnl_f32, tag);
  dnnl_memory_create(&m, &md, engine, data);
  return m;
}

/* A memory in the primitive's layout for `what`, filled from `user` unless NULL. */
static dnnl_memory_t prim_mem(dnnl_primitive_desc_t pd, dnnl_query_t what, dnnl_memory_t user) {
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, what, 0);
  dnnl_memory_t m = NULL;
  if (!md || dnnl_memory_create(&m, md, engine, DNNL_MEMORY_ALLOCATE) != dnnl_success) return NULL;
  if (user && reorder(user, m) != dnnl_success) {
    dnnl_memory_destroy(m);
    return NULL;
  }
  return m;
}

static void bench_bwd_onednn(bm_state *st, void *arg) {
  const bwd_case *c = arg;
  const bench_layer *l = c->layer;
  const int64_t n = c->batch, g = l->groups;
  char msg[256];
  if (!have_engine()) {
    bm_skip_with_error(st, "oneDNN: no CPU engine");
    return;
  }
#ifdef _OPENMP
  omp_set_num_threads(c->threads);
#endif
  const float *ref = reference(l, n, c->kind);
  bwd_data b;
  data_make(l, n, &b);
  const size_t nres = result_floats(l, n, c->kind), wf = bench_weight_floats(l);
  float *out = bench_alloc(nres);
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t prim = NULL;
  dnnl_memory_t mems[8] = {NULL};
  const char *err = NULL;
  if (!ref) {
    err = "vconv reference failed";
    goto done;
  }
  if (bwd_pd(l, n, c->kind, &pd) != dnnl_success) {
    err = "oneDNN: primitive descriptor creation failed";
    goto done;
  }
  const int64_t sdims[4] = {n, l->C, l->H, l->W}, ddims[4] = {n, l->K, bench_out_h(l), bench_out_w(l)};
  const int64_t wdims[5] = {g, l->K / g, l->C / g, l->R, l->S}, plain[4] = {l->K, l->C / g, l->R, l->S};
  dnnl_exec_arg_t args[4];
  int nargs = 0;
  dnnl_memory_t result = NULL, uresult = NULL, dbias = NULL;
  mems[0] = user_mem(4, ddims, dnnl_nchw, b.dy);
  mems[1] = prim_mem(pd, dnnl_query_diff_dst_md, mems[0]);
  args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, mems[1]};
  if (c->kind == VCONV_BWD_DATA) {
    mems[2] = g > 1 ? user_mem(5, wdims, dnnl_goihw, b.d.w) : user_mem(4, plain, dnnl_oihw, b.d.w);
    mems[3] = prim_mem(pd, dnnl_query_weights_md, mems[2]);
    mems[4] = result = prim_mem(pd, dnnl_query_diff_src_md, NULL);
    mems[5] = uresult = user_mem(4, sdims, dnnl_nchw, out);
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, mems[3]};
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, result};
  } else {
    mems[2] = user_mem(4, sdims, dnnl_nchw, b.d.in);
    mems[3] = prim_mem(pd, dnnl_query_src_md, mems[2]);
    mems[4] = result = prim_mem(pd, dnnl_query_diff_weights_md, NULL);
    mems[5] = uresult = g > 1 ? user_mem(5, wdims, dnnl_goihw, out) : user_mem(4, plain, dnnl_oihw, out);
    mems[6] = dbias = user_mem(1, &l->K, dnnl_x, out + wf);
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, mems[3]};
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_WEIGHTS, result};
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_BIAS, dbias};
  }
  for (int i = 0; i < 7; i++)
    if (!mems[i] && (i < 6 || c->kind == VCONV_BWD_WEIGHTS)) err = "oneDNN: memory creation failed";
  if (!err && dnnl_primitive_create(&prim, pd) != dnnl_success) err = "oneDNN: primitive creation failed";
  if (err) goto done;
  if (dnnl_primitive_execute(prim, stream, nargs, args) != dnnl_success ||
      dnnl_stream_wait(stream) != dnnl_success || reorder(result, uresult) != dnnl_success) {
    err = "oneDNN: execution failed";
    goto done;
  }
  if (c->kind == VCONV_BWD_WEIGHTS && l->conn) { /* the peer's dense gradient of the zero pairs */
    const int64_t cg = l->C / g, rs = l->R * l->S;
    for (int64_t k = 0; k < l->K; k++)
      for (int64_t ci = 0; ci < cg; ci++)
        if (!l->conn[k * cg + ci]) memset(out + (k * cg + ci) * rs, 0, (size_t)rs * sizeof(float));
  }
  if (bench_check(out, ref, nres, BENCH_TOL_PEER, msg, sizeof msg)) {
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
  snprintf(msg, sizeof msg, "any %s", impl_str ? impl_str : "?");
  bm_set_label(st, msg);
  bench_layer_counters(st, l, n, wall);
done:
  if (err) bm_skip_with_error(st, err);
  if (prim) dnnl_primitive_destroy(prim);
  if (pd) dnnl_primitive_desc_destroy(pd);
  for (int i = 0; i < 8; i++)
    if (mems[i]) dnnl_memory_destroy(mems[i]);
  free(out);
  data_free(&b);
}
#else
static int peer_applicable(const bench_layer *l, int64_t batch, vconv_bwd_kind kind) {
  (void)l, (void)batch, (void)kind;
  return 0;
}
static void bench_bwd_onednn(bm_state *st, void *arg) {
  (void)arg;
  bm_skip_with_error(st, "built without oneDNN");
}
#endif

static void add(const bench_layer *l, int64_t batch, int threads, vconv_bwd_kind kind, int peer,
                vconv_algorithm algo, vconv_isa isa, const char *impl, const char *tier,
                const char *plan) {
  bwd_case *c = calloc(1, sizeof *c);
  if (!c) abort();
  *c = (bwd_case){l, batch, threads, kind, peer, algo, isa, plan};
  char name[160];
  snprintf(name, sizeof name, "%s.%s_bwd_%s/%s/%s/n:%lld/t:%d", l->net, l->name,
           kind == VCONV_BWD_DATA ? "data" : "weights", impl, tier, (long long)batch, threads);
  bm_unit(bm_register(name, peer ? bench_bwd_onednn : bench_bwd_ours, c), BM_US);
}

static const char *impl_name(vconv_algorithm algo) {
  return algo == VCONV_ALGO_DIRECT ? "direct" : algo == VCONV_ALGO_WINOGRAD ? "winograd" : "gemm";
}

/* Whether the algorithm takes the layer at all (Winograd: the data gradient
 * at stride 1, 3x3 or 5x5), so that no row only reports "unsupported". */
static int takes(const bench_layer *l, int64_t batch, vconv_bwd_kind kind, vconv_algorithm algo,
                 vconv_isa isa) {
  if (algo != VCONV_ALGO_WINOGRAD) return 1;
  vconv_conv2d_desc cd;
  bench_conv_desc(l, batch, VCONV_LAYOUT_NCHW, &cd);
  const size_t nw = bench_weight_floats(l);
  float *w = calloc(nw ? nw : 1, sizeof(float));
  if (!w) abort();
  vconv_conv2d_bwd_op *op = NULL;
  const vconv_status st = kind == VCONV_BWD_DATA ? vconv_conv2d_bwd_data_create_for_isa(&cd, algo, isa, w, &op)
                                                 : vconv_conv2d_bwd_weights_create_for_isa(&cd, algo, isa, &op);
  vconv_conv2d_bwd_destroy(op);
  free(w);
  return st == VCONV_OK;
}

/* A kernel with several paths: a row per path that applies to the layer,
 * impl "<algo>:<path>" (as forward's "direct:blocked"). */
static void plan_rows(const bench_layer *l, int64_t batch, int threads, vconv_bwd_kind kind,
                      vconv_algorithm algo, vconv_isa isa, const char *impl) {
  char kernel[64];
  snprintf(kernel, sizeof kernel, "bwd_%s_%s/%s", kind == VCONV_BWD_DATA ? "data" : "weights",
           impl_name(algo), vconv_isa_name(isa));
  const size_t len = strlen(kernel);
  size_t paths = 0;
  for (size_t j = 0; j < vconv_conv2d_bwd_plan_count(); j++) {
    const char *pn = vconv_conv2d_bwd_plan_name(j);
    paths += strncmp(pn, kernel, len) == 0 && pn[len] == ':';
  }
  if (paths < 2) return;
  vconv_conv2d_desc cd;
  bench_conv_desc(l, batch, VCONV_LAYOUT_NCHW, &cd);
  const size_t nw = bench_weight_floats(l);
  float *w = calloc(nw ? nw : 1, sizeof(float));
  if (!w) abort();
  for (size_t j = 0; j < vconv_conv2d_bwd_plan_count(); j++) {
    const char *pn = vconv_conv2d_bwd_plan_name(j);
    if (strncmp(pn, kernel, len) != 0 || pn[len] != ':') continue;
    vconv_conv2d_bwd_op *op = NULL;
    if (vconv_conv2d_bwd_create_named(&cd, pn, w, &op) != VCONV_OK) continue; /* does not apply */
    vconv_conv2d_bwd_destroy(op);
    char name[96];
    snprintf(name, sizeof name, "%s:%s", impl, pn + len + 1);
    add(l, batch, threads, kind, 0, algo, isa, name, vconv_isa_name(isa), pn);
  }
  free(w);
}

void bench_register_backward(int all_threads, const char *peer_cap) {
  const int64_t batches[] = {1, 16};
  const int threads[] = {1, all_threads};
  const int nt = all_threads > 1 && !peer_cap ? 2 : 1;
  char cap_tier[32];
  if (peer_cap) snprintf(cap_tier, sizeof cap_tier, "peer_%s", peer_cap);
  for (size_t li = 0; li < bench_layer_count; li++) {
    const bench_layer *l = &bench_layers[li];
    if (l->is_pool) continue;
    for (int bi = 0; bi < 2; bi++)
      for (int ti = 0; ti < nt; ti++)
        for (int kind = 0; kind < 2; kind++) {
          const vconv_bwd_kind k = (vconv_bwd_kind)kind;
          if (!peer_cap) {
            for (size_t i = 0; i < vconv_conv2d_bwd_variant_count(); i++) {
              vconv_bwd_kind vk;
              vconv_algorithm algo;
              vconv_isa isa;
              if (vconv_conv2d_bwd_variant(i, &vk, &algo, &isa) != VCONV_OK || vk != k ||
                  !vconv_isa_available(isa))
                continue;
              if (algo == VCONV_ALGO_IM2COL && l->conn) continue; /* declined: tables */
              if (!takes(l, batches[bi], k, algo, isa)) continue;
              const char *impl = impl_name(algo);
              add(l, batches[bi], threads[ti], k, 0, algo, isa, impl, vconv_isa_name(isa), NULL);
              plan_rows(l, batches[bi], threads[ti], k, algo, isa, impl);
            }
            add(l, batches[bi], threads[ti], k, 0, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, "auto",
                vconv_isa_name(vconv_isa_effective()), NULL);
          }
          if (peer_applicable(l, batches[bi], k))
            add(l, batches[bi], threads[ti], k, 1, VCONV_ALGO_AUTO, VCONV_ISA_AUTO, "onednn",
                peer_cap ? cap_tier : "peer", NULL);
        }
  }
}
