/*
 * vconv-tune: measures the candidates for each convolution layer at each
 * batch and thread count (vconv_conv2d_create_planned with
 * VCONV_PLAN_MEASURE) and writes the winners as a wisdom file.
 *
 *   vconv-tune -o wisdom.txt                  LeNet-5 and AlexNet, batch 1 and 16, 1 thread and all cores
 *   vconv-tune -o w.txt -b 1 -t 1,2 -s shapes.txt
 *
 * shapes.txt: one convolution per line, NCHW,
 *   N C H W K R S stride pad groups     (square kernel, symmetric padding)
 * '#' starts a comment.  -i FILE first imports an existing wisdom file, so
 * its entries are kept (and not measured again).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/*
 * Progress on stderr: tuning all layers takes minutes, and a caller (scripts/bench)
 * sends stdout elsewhere.  On a terminal one line is rewritten in place; into a
 * file or pipe, one line per layer, so a log stays readable.
 */
static struct {
  int tty, k, n;
  double t0;
} progress;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Appends word to the space-separated list s unless it is there already. */
static void add_word(char *s, size_t size, const char *word) {
  const size_t n = strlen(word);
  for (const char *p = strstr(s, word); p; p = strstr(p + 1, word))
    if ((p == s || p[-1] == ' ') && (p[n] == ' ' || !p[n])) return;
  snprintf(s + strlen(s), size - strlen(s), "%s%s", *s ? " " : "", word);
}

/* The candidates the planner will time: each algorithm of the effective tier
 * that accepts the shape (plan/measure.c times no other tier).  Returns their
 * count; *algos and *tiers list them. */
static int candidates(const vconv_conv2d_desc *d, const float *w, char *algos, char *tiers,
                      size_t size) {
  char seen[2048] = "";
  int count = 0;
  algos[0] = tiers[0] = 0;
  for (size_t i = 0; i < vconv_conv2d_variant_count(); i++) {
    vconv_algorithm algo;
    vconv_isa isa;
    if (vconv_conv2d_variant(i, &algo, &isa) != VCONV_OK || isa != vconv_isa_effective()) continue;
    char key[64];
    snprintf(key, sizeof key, "%s/%s", vconv_algorithm_name(algo), vconv_isa_name(isa));
    const size_t before = strlen(seen);
    add_word(seen, sizeof seen, key); /* a kernel set may list one pair more than once */
    if (strlen(seen) == before) continue;
    vconv_conv2d_op *op = NULL;
    if (vconv_conv2d_create_for_isa(d, algo, isa, w, NULL, &op) != VCONV_OK) continue;
    vconv_conv2d_destroy(op);
    add_word(algos, size, vconv_algorithm_name(algo));
    add_word(tiers, size, vconv_isa_name(isa));
    count++;
  }
  return count;
}

/* Ends the terminal's progress line before another message. */
static void progress_break(void) {
  if (progress.tty) fputs("\r\033[K", stderr);
}

static void fmt_secs(char *s, size_t size, double t) {
  if (t < 1.0)
    snprintf(s, size, "%.0f ms", t * 1e3);
  else
    snprintf(s, size, "%.1f s", t);
}

typedef struct list {
  long v[16];
  int n;
} list;

static int parse_list(const char *s, list *l) {
  l->n = 0;
  while (*s && l->n < 16) {
    char *end;
    const long v = strtol(s, &end, 10);
    if (end == s || v < 1) return 0;
    l->v[l->n++] = v;
    s = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') return 0;
  }
  return l->n > 0 && !*s;
}

static float *filled(size_t n) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  if (!p) {
    fprintf(stderr, "vconv-tune: out of memory\n");
    exit(1);
  }
  uint32_t r = 777;
  for (size_t i = 0; i < n; i++) {
    r = r * 1664525u + 1013904223u;
    p[i] = ((float)(r >> 8) * 0x1p-23f - 1.0f) * 0.1f;
  }
  return p;
}

/* Plans one layer; prints what won (stdout) and the progress (stderr).  Returns 0 on failure. */
static int tune(const char *name, const vconv_conv2d_desc *d, const vconv_parallel *par,
                size_t threads) {
  const size_t nw = (size_t)(d->out_channels * (d->in_channels / (d->groups > 0 ? d->groups : 1)) *
                             d->kernel_h * d->kernel_w);
  float *w = filled(nw), *b = filled((size_t)d->out_channels);
  char algos[256], tiers[128], what[96], line[512], took[32];
  const int nc = candidates(d, w, algos, tiers, sizeof algos);
  snprintf(what, sizeof what, "%s n:%lld t:%zu", name, (long long)d->batch, threads);
  progress.k++;
  if (progress.tty) {
    /* One line that fits the terminal: a wrapped line would not be erased by the next. */
    const char *cols = getenv("COLUMNS");
    size_t width = cols && atoi(cols) > 20 ? (size_t)atoi(cols) - 1 : 79;
    snprintf(line, sizeof line, "vconv-tune: layer %d of %d, %s, candidates: %d (%s on %s)", progress.k,
             progress.n, what, nc, algos, tiers);
    if (width > sizeof line - 1) width = sizeof line - 1;
    if (strlen(line) > width) strcpy(line + width - 3, "...");
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
  }
  const size_t known = vconv_wisdom_count();
  const double t0 = now_s();
  vconv_conv2d_op *op = NULL;
  const vconv_status st =
      vconv_conv2d_create_planned(d, VCONV_ALGO_AUTO, VCONV_PLAN_MEASURE, par, w, b, &op);
  fmt_secs(took, sizeof took, now_s() - t0);
  if (st == VCONV_OK) {
    printf("%-16s n:%-3lld t:%-3zu %s\n", name, (long long)d->batch, threads,
           vconv_conv2d_kernel_name(op));
    fflush(stdout);
    /* No new entry: the plan came from the wisdom imported with -i, nothing was timed. */
    if (!progress.tty) {
      if (vconv_wisdom_count() == known)
        fprintf(stderr, "vconv-tune: layer %d of %d, %s: %s (from wisdom, not timed)\n", progress.k,
                progress.n, what, vconv_conv2d_kernel_name(op));
      else
        fprintf(stderr, "vconv-tune: layer %d of %d, %s: %s (%s; %d candidates: %s on %s)\n",
                progress.k, progress.n, what, vconv_conv2d_kernel_name(op), took, nc, algos, tiers);
    }
  } else {
    progress_break();
    fprintf(stderr, "vconv-tune: %s: %s\n", what, vconv_status_string(st));
  }
  vconv_conv2d_destroy(op);
  free(w);
  free(b);
  return st == VCONV_OK;
}

/* A shapes-file line: 1 and v[] filled, 0 blank or comment, -1 malformed. */
static int shape_line(char *line, long long v[10]) {
  char *hash = strchr(line, '#');
  if (hash) *hash = '\0';
  int used = 0;
  const int got = sscanf(line, "%lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %n", &v[0], &v[1],
                         &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &used);
  if (got <= 0 && strspn(line, " \t\r\n") == strlen(line)) return 0;
  return got == 10 && line[used] == '\0' ? 1 : -1;
}

int main(int argc, char **argv) {
  const char *out = NULL, *shapes = NULL, *in = NULL;
  list batches = {{1, 16}, 2}, threads = {{1}, 1};
  int opt, threads_given = 0;
  while ((opt = getopt(argc, argv, "o:s:b:t:i:h")) != -1) {
    switch (opt) {
      case 'o': out = optarg; break;
      case 's': shapes = optarg; break;
      case 'i': in = optarg; break;
      case 'b':
        if (!parse_list(optarg, &batches)) goto usage;
        break;
      case 't':
        if (!parse_list(optarg, &threads)) goto usage;
        threads_given = 1;
        break;
      default: goto usage;
    }
  }
  if (!out || optind != argc) goto usage;
  if (!threads_given) { /* 1 and one per physical core */
    vconv_cpu_info ci;
    const long cores = vconv_get_cpu_info(&ci) == VCONV_OK && ci.cores > 0 ? ci.cores
                                                                           : sysconf(_SC_NPROCESSORS_ONLN);
    if (cores > 1) threads.v[threads.n++] = cores;
  }
  if (in) {
    const vconv_status st = vconv_wisdom_import(in);
    if (st != VCONV_OK) fprintf(stderr, "vconv-tune: %s not imported: %s\n", in, vconv_status_string(st));
  }
  /* The layer count for "layer k of n": every thread count times the shapes. */
  int per_t = 0;
  if (shapes) {
    FILE *f = fopen(shapes, "r");
    if (!f) {
      perror(shapes);
      return 1;
    }
    char line[512];
    long long v[10];
    while (fgets(line, sizeof line, f)) per_t += shape_line(line, v) == 1;
    fclose(f);
  } else {
    for (size_t li = 0; li < bench_layer_count; li++) per_t += !bench_layers[li].is_pool * batches.n;
  }
  progress.n = per_t * threads.n;
  progress.tty = isatty(STDERR_FILENO);
  progress.t0 = now_s();
  int ok = 1;
  for (int ti = 0; ti < threads.n; ti++) {
    vconv_threadpool *pool = NULL;
    if (threads.v[ti] > 1 && vconv_threadpool_create((size_t)threads.v[ti], 0, &pool) != VCONV_OK) {
      fprintf(stderr, "vconv-tune: no pool of %ld threads\n", threads.v[ti]);
      return 1;
    }
    const vconv_parallel *par = vconv_threadpool_parallel(pool);
    if (shapes) {
      FILE *f = fopen(shapes, "r");
      if (!f) {
        perror(shapes);
        return 1;
      }
      char line[512];
      for (int ln = 1; fgets(line, sizeof line, f); ln++) {
        long long v[10];
        const int got = shape_line(line, v);
        if (got == 0) continue;
        if (got < 0) {
          progress_break();
          fprintf(stderr, "vconv-tune: %s:%d: want N C H W K R S stride pad groups\n", shapes, ln);
          ok = 0;
          continue;
        }
        vconv_conv2d_desc d;
        vconv_conv2d_desc_init(&d);
        d.batch = v[0], d.in_channels = v[1], d.in_height = v[2], d.in_width = v[3];
        d.out_channels = v[4], d.kernel_h = v[5], d.kernel_w = v[6];
        d.stride_h = d.stride_w = v[7];
        d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = v[8];
        d.groups = v[9];
        char name[32];
        snprintf(name, sizeof name, "%s:%d", shapes, ln);
        ok &= tune(name, &d, par, (size_t)threads.v[ti]);
      }
      fclose(f);
    } else {
      for (size_t li = 0; li < bench_layer_count; li++) {
        const bench_layer *l = &bench_layers[li];
        if (l->is_pool) continue; /* pooling has one kernel per tier: nothing to plan */
        for (int bi = 0; bi < batches.n; bi++) {
          vconv_conv2d_desc d;
          bench_conv_desc(l, batches.v[bi], VCONV_LAYOUT_NCHW, &d);
          char name[48];
          snprintf(name, sizeof name, "%s.%s", l->net, l->name);
          ok &= tune(name, &d, par, (size_t)threads.v[ti]);
        }
      }
    }
    vconv_threadpool_destroy(pool);
  }
  char took[32];
  fmt_secs(took, sizeof took, now_s() - progress.t0);
  progress_break();
  fprintf(stderr, "vconv-tune: %d layers in %s\n", progress.k, took);
  const vconv_status st = vconv_wisdom_export(out);
  if (st != VCONV_OK) {
    fprintf(stderr, "vconv-tune: %s: %s\n", out, vconv_status_string(st));
    return 1;
  }
  printf("%zu entries written to %s\n", vconv_wisdom_count(), out);
  return ok ? 0 : 1;
usage:
  fprintf(stderr,
          "usage: vconv-tune -o WISDOM [-i WISDOM_IN] [-b BATCHES] [-t THREADS] [-s SHAPES]\n"
          "  BATCHES, THREADS: comma lists (default 1,16 and 1,<cores>)\n"
          "  SHAPES: lines of 'N C H W K R S stride pad groups' (default: LeNet-5 and AlexNet)\n");
  return 2;
}
