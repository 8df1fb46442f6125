/*
 * Wisdom: the choices the measuring planner made, held per process, and
 * their files.
 *
 * A wisdom key is the text of the resolved shape (named padding modes already
 * turned into numbers, so equal layers written two ways share a key) plus the
 * thread count; the value is a plan name "<kernel>:<path>" from the registry.  The text form
 * is the file form, so lookup, export and import agree by construction.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "vconv_config.h"

#define KEY_MAX 384
#define FILE_MAX (16u << 20)
#define MAGIC "vconv-wisdom 1"

typedef struct entry {
  char key[KEY_MAX];
  const vconv_conv_kernel *kernel;
  int path;
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
  for (size_t i = 0; i < vconv_i_conv_kernel_count(); i++) {
    const vconv_conv_kernel *k = vconv_i_conv_kernel(i);
    h = fnv_str(h, k->name);
    for (int p = 0; p < k->npaths; p++) h = fnv_str(h, k->paths[p]);
  }
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
    snprintf(line, sizeof line, "conv %s kernel %s:%s ns %" PRId64 "\n", held.e[i].key,
             held.e[i].kernel->name, held.e[i].kernel->paths[held.e[i].path], held.e[i].ns);
    sum = fnv(sum, line, strlen(line));
    ok = fputs(line, f) >= 0;
  }
  pthread_mutex_unlock(&mu);
  if (ok) ok = fprintf(f, "end %zu %016" PRIx64 "\n", n, sum) > 0;
  if (fclose(f) != 0) ok = 0;
  return ok ? VCONV_OK : VCONV_ERR_IO;
}

/* ---- import -------------------------------------------------------------- */

/* One entry line "conv <key> kernel <kernel>:<path> ns <t>", NUL-terminated at its end. */
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
  const char *colon = strchr(name, ':');
  if (!colon || !(e->kernel = vconv_i_conv_kernel_named(name, (size_t)(colon - name)))) return 0;
  e->path = -1;
  for (int p = 0; p < e->kernel->npaths; p++)
    if (strcmp(e->kernel->paths[p], colon + 1) == 0) e->path = p;
  if (e->path < 0) return 0;
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

/* ---- lookup -------------------------------------------------------------- */

int vconv_i_wisdom_find(const vconv_conv_shape *s, size_t threads, const vconv_conv_kernel **k,
                        int *path) {
  pthread_once(&env_once, import_env);
  char key[KEY_MAX];
  make_key(s, threads, key);
  pthread_mutex_lock(&mu);
  const entry *e = find(&held, key);
  if (e) {
    *k = e->kernel;
    *path = e->path;
  }
  pthread_mutex_unlock(&mu);
  return e != NULL;
}

void vconv_i_wisdom_put(const vconv_conv_shape *s, size_t threads, const vconv_i_choice *c,
                        double ns) {
  entry e;
  make_key(s, threads, e.key);
  e.kernel = c->kernel;
  e.path = c->plan.path;
  e.ns = (int64_t)ns;
  pthread_mutex_lock(&mu);
  put(&held, &e); /* out of memory: the plan is still good, only not remembered */
  pthread_mutex_unlock(&mu);
}
