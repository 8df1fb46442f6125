/*
 * The planner: wisdom lookup, measuring create, and wisdom files.
 *
 * A wisdom key is the text of the resolved shape (named padding modes already
 * turned into numbers, so equal layers written two ways share a key) plus the
 * thread count; the value is a kernel name from the registry.  The text form
 * is the file form, so lookup, export and import agree by construction.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops.h"
#include "vconv_config.h"

#define KEY_MAX 384
#define FILE_MAX (16u << 20)
#define MAGIC "vconv-wisdom 1"

typedef struct entry {
  char key[KEY_MAX];
  const vconv_conv_kernel *kernel;
  int64_t ns; /* measured time, for the reader */
} entry;

typedef struct table {
  entry *e;
  size_t n, cap;
} table;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static table held;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * UINT64_C(0x100000001b3);
  return h;
}
#define FNV0 UINT64_C(0xcbf29ce484222325)

static uint64_t fnv_str(uint64_t h, const char *s) { return fnv(h, s, strlen(s) + 1); }

static void key_text(const vconv_conv_shape *s, uint64_t conn, size_t threads, char *key) {
  snprintf(key, KEY_MAX,
           "%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
           " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
           " %" PRId64 " %" PRId64 " %d %d %a %a %016" PRIx64 " threads %zu",
           s->N, s->C, s->H, s->W, s->K, s->R, s->S, s->sh, s->sw, s->dh, s->dw, s->pt, s->pb,
           s->pl, s->pr, s->G, (int)s->layout, (int)s->act, (double)s->act_min,
           (double)s->act_max, conn, threads);
}

/* A connection table enters the key as a hash (0: dense). */
static void make_key(const vconv_conv_shape *s, size_t threads, char *key) {
  const uint64_t conn = s->conn ? fnv(FNV0, s->conn, (size_t)(s->K * s->Cg)) | 1 : 0;
  key_text(s, conn, threads, key);
}

static const vconv_conv_kernel *kernel_named(const char *name) {
  for (size_t i = 0; i < vconv_i_conv_kernel_count(); i++)
    if (strcmp(vconv_i_conv_kernel(i)->name, name) == 0) return vconv_i_conv_kernel(i);
  return NULL;
}

static entry *find(table *t, const char *key) {
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->e[i].key, key) == 0) return &t->e[i];
  return NULL;
}

/* Inserts or replaces; 0 when out of memory. */
static int put(table *t, const entry *e) {
  entry *old = find(t, e->key);
  if (old) {
    *old = *e;
    return 1;
  }
  if (t->n == t->cap) {
    const size_t cap = t->cap ? 2 * t->cap : 16;
    entry *ne = realloc(t->e, cap * sizeof *ne);
    if (!ne) return 0;
    t->e = ne;
    t->cap = cap;
  }
  t->e[t->n++] = *e;
  return 1;
}

/* ---- the file header: what makes wisdom valid here ---------------------- */

static uint64_t registry_hash(void) {
  uint64_t h = fnv_str(FNV0, VCONV_BUILD_VERSION);
  for (size_t i = 0; i < vconv_i_conv_kernel_count(); i++) h = fnv_str(h, vconv_i_conv_kernel(i)->name);
  for (size_t i = 0; i < vconv_i_pool_kernel_count(); i++) h = fnv_str(h, vconv_i_pool_kernel(i)->name);
  return h;
}

static void header(char *buf, size_t size) {
  vconv_cpu_info ci;
  if (vconv_get_cpu_info(&ci) != VCONV_OK) memset(&ci, 0, sizeof ci);
  /* The brand goes last: it may hold anything but a newline. */
  for (char *c = ci.brand; *c; c++)
    if (*c == '\n' || *c == '\r') *c = ' ';
  snprintf(buf, size,
           MAGIC "\nversion %s\nregistry %016" PRIx64 "\ncpu %s %d %d %d tiers %x %s\n",
           VCONV_BUILD_VERSION, registry_hash(), ci.vendor[0] ? ci.vendor : "-", ci.family,
           ci.model, ci.stepping, vconv_i_cpu_tiers(), ci.brand);
}

/* ---- export -------------------------------------------------------------- */

vconv_status vconv_wisdom_export(const char *path) {
  if (!path) return VCONV_ERR_NULL_POINTER;
  char head[512], line[KEY_MAX + 128];
  header(head, sizeof head);
  FILE *f = fopen(path, "w");
  if (!f) return VCONV_ERR_IO;
  uint64_t sum = fnv(FNV0, head, strlen(head));
  int ok = fputs(head, f) >= 0;
  pthread_mutex_lock(&mu);
  const size_t n = held.n;
  for (size_t i = 0; ok && i < n; i++) {
    snprintf(line, sizeof line, "conv %s kernel %s ns %" PRId64 "\n", held.e[i].key,
             held.e[i].kernel->name, held.e[i].ns);
    sum = fnv(sum, line, strlen(line));
    ok = fputs(line, f) >= 0;
  }
  pthread_mutex_unlock(&mu);
  if (ok) ok = fprintf(f, "end %zu %016" PRIx64 "\n", n, sum) > 0;
  if (fclose(f) != 0) ok = 0;
  return ok ? VCONV_OK : VCONV_ERR_IO;
}

/* ---- import -------------------------------------------------------------- */

/* One entry line "conv <key> kernel <name> ns <t>", NUL-terminated at its end. */
static int parse_entry(char *line, entry *e) {
  if (strncmp(line, "conv ", 5) != 0) return 0;
  char *k = strstr(line, " kernel ");
  if (!k || (size_t)(k - line - 5) >= KEY_MAX) return 0;
  memcpy(e->key, line + 5, (size_t)(k - line - 5));
  e->key[k - line - 5] = '\0';
  vconv_conv_shape s;
  memset(&s, 0, sizeof s);
  int layout, act, used = -1;
  double lo, hi;
  uint64_t conn;
  size_t threads;
  if (sscanf(e->key,
             "%" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64
             " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64
             " %" SCNd64 " %" SCNd64 " %d %d %la %la %" SCNx64 " threads %zu%n",
             &s.N, &s.C, &s.H, &s.W, &s.K, &s.R, &s.S, &s.sh, &s.sw, &s.dh, &s.dw, &s.pt, &s.pb,
             &s.pl, &s.pr, &s.G, &layout, &act, &lo, &hi, &conn, &threads, &used) != 22 ||
      used != (int)strlen(e->key) || threads < 1)
    return 0;
  char name[64], again[KEY_MAX];
  int64_t ns;
  used = -1;
  if (sscanf(k, " kernel %63s ns %" SCNd64 "%n", name, &ns, &used) != 2 || k[used] != '\0' || ns < 0)
    return 0;
  s.layout = (vconv_layout)layout;
  s.act = (vconv_activation)act;
  s.act_min = (float)lo;
  s.act_max = (float)hi;
  /* Only the exact text key_text writes: no second spelling of one key. */
  key_text(&s, conn, threads, again);
  if (strcmp(again, e->key) != 0) return 0;
  if (!(e->kernel = kernel_named(name))) return 0;
  e->ns = ns;
  return 1;
}

static vconv_status parse(char *text, size_t len, table *out) {
  if (len == 0 || text[len - 1] != '\n') return VCONV_ERR_WISDOM_CORRUPT;
  text[len - 1] = '\0';
  char *last = strrchr(text, '\n');
  if (!last) return VCONV_ERR_WISDOM_CORRUPT;
  size_t count;
  uint64_t sum;
  int used = -1;
  if (sscanf(last + 1, "end %zu %" SCNx64 "%n", &count, &sum, &used) != 2 ||
      last[1 + used] != '\0')
    return VCONV_ERR_WISDOM_CORRUPT;
  if (fnv(FNV0, text, (size_t)(last + 1 - text)) != sum) return VCONV_ERR_WISDOM_CORRUPT;
  char head[512];
  header(head, sizeof head);
  const size_t hl = strlen(head);
  if (strncmp(text, MAGIC "\n", sizeof MAGIC) != 0) return VCONV_ERR_WISDOM_CORRUPT;
  if ((size_t)(last + 1 - text) < hl || strncmp(text, head, hl) != 0) return VCONV_ERR_WISDOM_MISMATCH;
  last[1] = '\0'; /* the entries end with the newline before the trailer */
  size_t n = 0;
  for (char *line = text + hl; *line;) {
    char *nl = strchr(line, '\n');
    if (!nl) return VCONV_ERR_WISDOM_CORRUPT;
    *nl = '\0';
    entry e;
    if (!parse_entry(line, &e)) return VCONV_ERR_WISDOM_CORRUPT;
    if (!put(out, &e)) return VCONV_ERR_OUT_OF_MEMORY;
    n++;
    line = nl + 1;
  }
  return n == count ? VCONV_OK : VCONV_ERR_WISDOM_CORRUPT;
}

vconv_status vconv_wisdom_import(const char *path) {
  if (!path) return VCONV_ERR_NULL_POINTER;
  FILE *f = fopen(path, "rb");
  if (!f) return VCONV_ERR_IO;
  char *text = malloc(FILE_MAX + 1);
  if (!text) {
    fclose(f);
    return VCONV_ERR_OUT_OF_MEMORY;
  }
  const size_t len = fread(text, 1, FILE_MAX + 1, f);
  const int err = ferror(f);
  fclose(f);
  vconv_status st = err ? VCONV_ERR_IO : len > FILE_MAX ? VCONV_ERR_WISDOM_CORRUPT : VCONV_OK;
  if (st == VCONV_OK && memchr(text, '\0', len)) st = VCONV_ERR_WISDOM_CORRUPT;
  table t = {0};
  if (st == VCONV_OK) st = parse(text, len, &t);
  free(text);
  /* All or nothing: the held table changes only once the whole file parsed. */
  if (st == VCONV_OK) {
    pthread_mutex_lock(&mu);
    table merged = {0};
    int ok = 1;
    for (size_t i = 0; ok && i < held.n; i++) ok = put(&merged, &held.e[i]);
    for (size_t i = 0; ok && i < t.n; i++) ok = put(&merged, &t.e[i]);
    if (ok) {
      free(held.e);
      held = merged;
    } else {
      free(merged.e);
      st = VCONV_ERR_OUT_OF_MEMORY;
    }
    pthread_mutex_unlock(&mu);
  }
  free(t.e);
  return st;
}

size_t vconv_wisdom_count(void) {
  pthread_mutex_lock(&mu);
  const size_t n = held.n;
  pthread_mutex_unlock(&mu);
  return n;
}

void vconv_wisdom_forget(void) {
  pthread_mutex_lock(&mu);
  free(held.e);
  held = (table){0};
  pthread_mutex_unlock(&mu);
}

static void import_env(void) {
  const char *path = getenv("VCONV_WISDOM");
  if (path && *path) (void)vconv_wisdom_import(path);
}

/* ---- planning ----------------------------------------------------------- */

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Best of a few runs, or of one when that one is already far behind `best`. */
static double time_op(const vconv_conv2d_op *op, const float *x, float *y,
                      const vconv_parallel *par, double best) {
  const size_t wsn = vconv_conv2d_workspace_size(op, par);
  void *ws = wsn ? vconv_i_alloc(wsn) : NULL;
  if (wsn && !ws) return -1;
  double t = now_ns();
  if (vconv_conv2d_run(op, x, y, ws, wsn, par) != VCONV_OK) t = -1;
  double min = now_ns() - t, spent = min;
  if (t >= 0 && min < 2 * best)
    for (int r = 0; r < 10 && (r < 3 || spent < 20e6); r++) {
      t = now_ns();
      vconv_conv2d_run(op, x, y, ws, wsn, par);
      const double d = now_ns() - t;
      spent += d;
      if (d < min) min = d;
    }
  vconv_i_free(ws);
  return t < 0 ? -1 : min;
}

/* Candidates within FINAL_SLACK of the first pass's best (at most FINALISTS)
 * are timed again in interleaved rounds and ranked by their median round: on a
 * shared machine a quiet or busy spell then falls on all of them alike, and a
 * kernel whose times scatter does not win by one lucky minimum.  Timed once
 * each, in its own spell, and ranked by minimum, close candidates flipped from
 * one tuning run to the next (AlexNet conv5 on 2 threads: F(2x2) kept for a
 * 1.29 ms minimum, 1.98 ms in the benchmark, against 1.31 ms for F(4x5)). */
#define FINALISTS 4
#define FINAL_SLACK 1.5
#define ROUNDS_MIN 5
#define ROUNDS_MAX 15
#define ROUNDS_NS 200e6 /* stop adding rounds after this much time */

typedef struct finalist {
  vconv_conv2d_op *op;
  double ns; /* first pass: its best run; after the rounds: their median */
} finalist;

/* Keeps the list sorted by time, drops what falls out of the slack or the
 * count; returns 0 when `op` was not kept (the caller destroys it). */
static int keep_finalist(finalist *f, int *n, vconv_conv2d_op *op, double ns) {
  if (*n > 0 && ns > FINAL_SLACK * f[0].ns) return 0;
  if (*n == FINALISTS && ns >= f[FINALISTS - 1].ns) return 0;
  if (*n == FINALISTS) vconv_conv2d_destroy(f[--*n].op);
  int i = *n;
  for (; i > 0 && f[i - 1].ns > ns; i--) f[i] = f[i - 1];
  f[i] = (finalist){op, ns};
  ++*n;
  while (*n > 1 && f[*n - 1].ns > FINAL_SLACK * f[0].ns) vconv_conv2d_destroy(f[--*n].op);
  return 1;
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void final_rounds(finalist *f, int n, const float *x, float *y, const vconv_parallel *par) {
  size_t wsn = 0;
  for (int i = 0; i < n; i++) {
    const size_t w = vconv_conv2d_workspace_size(f[i].op, par);
    if (w > wsn) wsn = w;
  }
  void *ws = wsn ? vconv_i_alloc(wsn) : NULL;
  if (wsn && !ws) return; /* the first pass's times stand */
  if (ws) memset(ws, 0, wsn); /* page faults outside the timing */
  double t[FINALISTS][ROUNDS_MAX], spent = 0;
  int rounds = 0;
  for (; rounds < ROUNDS_MAX && (rounds < ROUNDS_MIN || spent < ROUNDS_NS); rounds++)
    for (int i = 0; i < n; i++) {
      const double t0 = now_ns();
      const vconv_status st = vconv_conv2d_run(f[i].op, x, y, ws, wsn, par);
      t[i][rounds] = st == VCONV_OK ? now_ns() - t0 : 1e300;
      spent += st == VCONV_OK ? t[i][rounds] : 0;
    }
  for (int i = 0; i < n; i++) {
    qsort(t[i], (size_t)rounds, sizeof t[i][0], cmp_double);
    f[i].ns = t[i][rounds / 2];
  }
  vconv_i_free(ws);
}

/* The fastest candidate of `algo` (AUTO: every algorithm), tiers that can run here. */
static vconv_status measure(const vconv_conv_shape *s, vconv_algorithm algo,
                            const vconv_parallel *par, const float *weights, const float *bias,
                            vconv_conv2d_op **out, double *out_ns) {
  const size_t nx = (size_t)(s->N * s->C * s->H * s->W), ny = (size_t)(s->N * s->K * s->P * s->Q);
  float *x = vconv_i_alloc(nx * sizeof(float)), *y = vconv_i_alloc(ny * sizeof(float));
  vconv_status st = x && y ? VCONV_OK : VCONV_ERR_OUT_OF_MEMORY;
  /* Fixed, non-trivial data: zeros could take faster paths than real activations. */
  uint32_t r = 12345;
  for (size_t i = 0; x && i < nx; i++) {
    r = r * 1664525u + 1013904223u;
    x[i] = (float)(r >> 8) * 0x1p-23f - 1.0f;
  }
  const double macs = (double)s->N * (double)s->K * (double)(s->P * s->Q) * (double)(s->Cg * s->R * s->S);
  finalist fin[FINALISTS];
  int nfin = 0;
  /* Highest tier first: the likely winner sets the bar early, and a tier whose
   * rough estimate is far behind it is not run at all (scalar AlexNet). */
  for (int isa = VCONV_ISA_COUNT - 1; st == VCONV_OK && isa >= 0; isa--) {
    if (!vconv_isa_available((vconv_isa)isa)) continue;
    for (size_t i = 0; st == VCONV_OK && i < vconv_i_conv_kernel_count(); i++) {
      const vconv_conv_kernel *k = vconv_i_conv_kernel(i);
      const int tile = vconv_i_is_winograd_tile(k->algo);
      if ((int)k->isa != isa || !k->applicable(s)) continue;
      if (algo == VCONV_ALGO_WINOGRAD ? !tile : algo != VCONV_ALGO_AUTO && k->algo != algo) continue;
      /* AUTO and WINOGRAD choose only tiles within the accuracy rule; an
       * explicit tile is the caller's choice. */
      if (tile && k->algo != algo && !vconv_i_winograd_accurate(k->algo, s)) continue;
      const double best_ns = nfin ? fin[0].ns : 1e300;
      if (nfin && macs / (5 * vconv_i_lanes(k->isa)) > 4 * best_ns) continue;
      vconv_conv2d_op *op;
      if ((st = vconv_i_conv_make(s, k, weights, bias, &op)) != VCONV_OK) break;
      const double t = time_op(op, x, y, par, best_ns);
      if (t < 0 || !keep_finalist(fin, &nfin, op, t)) vconv_conv2d_destroy(op);
    }
  }
  if (st == VCONV_OK && nfin > 1) {
    final_rounds(fin, nfin, x, y, par);
    for (int i = 1; i < nfin; i++)
      if (fin[i].ns < fin[0].ns) {
        const finalist t = fin[0];
        fin[0] = fin[i];
        fin[i] = t;
      }
  }
  vconv_i_free(x);
  vconv_i_free(y);
  if (st == VCONV_OK && !nfin) st = VCONV_ERR_UNSUPPORTED_ALGORITHM;
  for (int i = st == VCONV_OK ? 1 : 0; i < nfin; i++) vconv_conv2d_destroy(fin[i].op);
  if (st != VCONV_OK) return st;
  *out = fin[0].op;
  *out_ns = fin[0].ns;
  return VCONV_OK;
}

vconv_status vconv_conv2d_create_planned(const vconv_conv2d_desc *desc, vconv_algorithm algo,
                                         unsigned flags, const vconv_parallel *parallel,
                                         const float *weights, const float *bias,
                                         vconv_conv2d_op **out) {
  /* create_for_isa's checks, then the flags. */
  vconv_conv_shape s;
  vconv_isa tier;
  vconv_status st = vconv_i_conv_prepare(desc, algo, VCONV_ISA_AUTO, weights, out, &s, &tier);
  if (st != VCONV_OK) return st;
  if (flags & ~(unsigned)VCONV_PLAN_MEASURE) return VCONV_ERR_INVALID_ARGUMENT;
  const size_t threads = vconv_i_workers(parallel, SIZE_MAX);
  if (algo == VCONV_ALGO_AUTO) {
    pthread_once(&env_once, import_env);
    char key[KEY_MAX];
    make_key(&s, threads, key);
    pthread_mutex_lock(&mu);
    const entry *e = find(&held, key);
    const vconv_conv_kernel *k = e ? e->kernel : NULL;
    pthread_mutex_unlock(&mu);
    /* Wisdom from a machine with a higher cap, for a kernel that no longer
     * applies, or for a Winograd tile outside the accuracy rule (recorded by
     * a version without it) falls back to planning as if there were none. */
    if (k && vconv_isa_available(k->isa) && k->applicable(&s) &&
        vconv_i_winograd_accurate(k->algo, &s))
      return vconv_i_conv_make(&s, k, weights, bias, out);
    if (flags & VCONV_PLAN_MEASURE) {
      entry ne;
      double ns;
      if ((st = measure(&s, algo, parallel, weights, bias, out, &ns)) != VCONV_OK) return st;
      memcpy(ne.key, key, sizeof key);
      ne.kernel = vconv_i_conv_kernel_of(*out);
      ne.ns = (int64_t)ns;
      pthread_mutex_lock(&mu);
      put(&held, &ne); /* out of memory: the plan is still good, only not remembered */
      pthread_mutex_unlock(&mu);
      return VCONV_OK;
    }
  } else if (flags & VCONV_PLAN_MEASURE) {
    double ns;
    return measure(&s, algo, parallel, weights, bias, out, &ns);
  }
  return vconv_conv2d_create_for_isa(desc, algo, VCONV_ISA_AUTO, weights, bias, out);
}
