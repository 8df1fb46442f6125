/*
 * vconv-info: what vconv sees on this machine and which tier it will run.
 *
 *   vconv-info              human-readable report
 *   vconv-info --json       the same as one JSON object (for the benchmark suite);
 *                           unknown numbers are null, absent sections null
 *   vconv-info --effective  only the effective tier name, e.g. "avx512" (for scripts)
 *
 * The libcpuid section (builds with libcpuid only) is informational: dispatch
 * never uses libcpuid, whose 0.6.x releases report no AVX-512 on AMD and
 * misname CPUs newer than themselves (so its codename is never printed).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vconv.h"
#include "vconv_config.h"

#if VCONV_HAVE_LIBCPUID
#  include <libcpuid.h>
#endif

/* ------------------------------------------------------------------------ */
/* What is reported                                                           */

typedef struct tier_row {
  vconv_isa isa;
  const char *name;
  int built, cpu, available;
} tier_row;

typedef struct lcpuid_view {
  int ok;            /* identification succeeded */
  const char *version;
  const char *error; /* when !ok */
  char vendor[32], brand[96];
  int family, model, stepping, ext_family, ext_model;
  int sse4_1, avx2, fma3, avx512f;
} lcpuid_view;

typedef struct report {
  const char *version;
  vconv_cpu_info cpu;
  int cpu_ok;
  int have_libcpuid;
  lcpuid_view lc;
  tier_row tiers[VCONV_ISA_COUNT];
  const char *env;    /* VCONV_ISA or NULL */
  const char *env_use; /* how the library treats it */
  const char *effective;
} report;

#if VCONV_HAVE_LIBCPUID
/* Copy without leading/trailing blanks (brand strings are padded), truncating. */
static void copy_str(char *dst, size_t size, const char *src) {
  if (!src) src = "";
  while (*src == ' ') src++;
  size_t n = strlen(src);
  while (n > 0 && src[n - 1] == ' ') n--;
  if (n > size - 1) n = size - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static void read_libcpuid(lcpuid_view *lc) {
  lc->version = cpuid_lib_version();
  struct cpu_raw_data_t raw;
  struct cpu_id_t id;
  if (!cpuid_present() || cpuid_get_raw_data(&raw) < 0 || cpu_identify(&raw, &id) < 0) {
    lc->error = cpuid_error();
    return;
  }
  lc->ok = 1;
  copy_str(lc->vendor, sizeof lc->vendor, id.vendor_str);
  copy_str(lc->brand, sizeof lc->brand, id.brand_str);
  lc->family = id.family;
  lc->model = id.model;
  lc->stepping = id.stepping;
  lc->ext_family = id.ext_family;
  lc->ext_model = id.ext_model;
  lc->sse4_1 = id.flags[CPU_FEATURE_SSE4_1] != 0;
  lc->avx2 = id.flags[CPU_FEATURE_AVX2] != 0;
  lc->fma3 = id.flags[CPU_FEATURE_FMA3] != 0;
  lc->avx512f = id.flags[CPU_FEATURE_AVX512F] != 0;
}
#endif

/* Does the library take VCONV_ISA=<env> as a cap?  (A known name of this
 * architecture's tiers; anything else is ignored, see vconv_set_max_isa.) */
static const char *env_use(const char *env) {
  if (!env) return "unset";
  vconv_isa isa;
  if (vconv_isa_from_name(env, &isa) != VCONV_OK) return "ignored: not a tier name";
#if defined(__x86_64__) || defined(__i386__)
  const int this_arch = isa != VCONV_ISA_NEON;
#elif defined(__aarch64__)
  const int this_arch = isa == VCONV_ISA_SCALAR || isa == VCONV_ISA_NEON;
#else
  const int this_arch = isa == VCONV_ISA_SCALAR;
#endif
  return this_arch ? "cap" : "ignored: a tier of another architecture";
}

static void gather(report *r) {
  memset(r, 0, sizeof *r);
  r->version = vconv_version();
  r->cpu_ok = vconv_get_cpu_info(&r->cpu) == VCONV_OK;
#if VCONV_HAVE_LIBCPUID
  r->have_libcpuid = 1;
  read_libcpuid(&r->lc);
#endif
  for (int i = 0; i < VCONV_ISA_COUNT; i++) {
    tier_row *t = &r->tiers[i];
    t->isa = (vconv_isa)(VCONV_ISA_SCALAR + i);
    t->name = vconv_isa_name(t->isa);
    t->built = vconv_isa_built(t->isa);
    t->cpu = vconv_isa_cpu_supported(t->isa);
    t->available = vconv_isa_available(t->isa);
  }
  r->env = getenv("VCONV_ISA");
  r->env_use = env_use(r->env);
  r->effective = vconv_isa_name(vconv_isa_effective());
}

/* ------------------------------------------------------------------------ */
/* Text                                                                       */

static const char *or_unknown(const char *s) { return s && s[0] ? s : "unknown"; }
static const char *yes_no(int v) { return v ? "yes" : "no"; }

static void print_id(const char *label, int v, int hex_width) {
  if (v < 0) printf("  %-10s unknown\n", label);
  else printf("  %-10s 0x%0*x (%d)\n", label, hex_width, (unsigned)v, v);
}

static void print_count(const char *label, int v) {
  if (v < 0) printf("  %-10s unknown\n", label);
  else printf("  %-10s %d\n", label, v);
}

static void print_bytes(const char *label, int64_t v, const char *note) {
  if (v <= 0) {
    printf("  %-10s unknown\n", label);
  } else if (v % (1024 * 1024) == 0) {
    printf("  %-10s %" PRId64 " MiB%s\n", label, v / (1024 * 1024), note);
  } else if (v % 1024 == 0) {
    printf("  %-10s %" PRId64 " KiB%s\n", label, v / 1024, note);
  } else {
    printf("  %-10s %" PRId64 " B%s\n", label, v, note);
  }
}

static void print_text(const report *r) {
  const vconv_cpu_info *c = &r->cpu;
  printf("vconv %s (header %s)\n\n", r->version, VCONV_VERSION_STRING);
  printf("CPU\n");
  printf("  %-10s %s\n", "vendor", or_unknown(c->vendor));
  printf("  %-10s %s\n", "brand", or_unknown(c->brand));
  print_id("family", c->family, 2);
  print_id("model", c->model, 2);
  print_id("stepping", c->stepping, 1);
  print_count("packages", c->packages);
  print_count("cores", c->cores);
  print_count("threads", c->threads);
  print_bytes("L1d", c->l1d_bytes, " (core 0)");
  print_bytes("L2", c->l2_bytes, " (core 0)");
  print_bytes("L3", c->l3_bytes, " (instance of core 0)");
  print_bytes("line size", c->cache_line_bytes, "");
  printf("  %-10s %s\n", "source", or_unknown(c->source));

  if (r->have_libcpuid) {
    const lcpuid_view *lc = &r->lc;
    printf("\nlibcpuid %s view (not used for dispatch)\n", lc->version ? lc->version : "?");
    if (!lc->ok) {
      printf("  error      %s\n", or_unknown(lc->error));
    } else {
      printf("  %-10s %s\n", "vendor", or_unknown(lc->vendor));
      printf("  %-10s %s\n", "brand", or_unknown(lc->brand));
      printf("  %-10s %d/%d (base %d/%d), stepping %d\n", "fam/model", lc->ext_family,
             lc->ext_model, lc->family, lc->model, lc->stepping);
      printf("  %-10s sse4_1=%d avx2=%d fma3=%d avx512f=%d\n", "flags", lc->sse4_1, lc->avx2,
             lc->fma3, lc->avx512f);
      if (!lc->avx512f && vconv_isa_cpu_supported(VCONV_ISA_AVX512))
        printf("  note       avx512f=0 disagrees with CPUID/XGETBV (libcpuid before 0.7.0 "
               "decodes AVX-512 on Intel only)\n");
    }
  }

  printf("\nISA tiers\n  %-8s %-6s %-4s %s\n", "tier", "built", "cpu", "available");
  for (int i = 0; i < VCONV_ISA_COUNT; i++) {
    const tier_row *t = &r->tiers[i];
    printf("  %-8s %-6s %-4s %s\n", t->name ? t->name : "?", yes_no(t->built), yes_no(t->cpu),
           yes_no(t->available));
  }
  printf("\n");
  if (r->env) printf("VCONV_ISA  %s (%s)\n", r->env, r->env_use);
  else printf("VCONV_ISA  unset\n");
  printf("effective  %s\n", r->effective ? r->effective : "?");
  printf("cost model calibrated on %s\n", vconv_cost_model_cpu());
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                       */

static void json_str(const char *s) {
  if (!s) {
    fputs("null", stdout);
    return;
  }
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
      case '"': fputs("\\\"", stdout); break;
      case '\\': fputs("\\\\", stdout); break;
      case '\n': fputs("\\n", stdout); break;
      case '\r': fputs("\\r", stdout); break;
      case '\t': fputs("\\t", stdout); break;
      default:
        if (*p < 0x20 || *p == 0x7f) printf("\\u%04x", *p);
        else putchar(*p);
    }
  }
  putchar('"');
}

/* "" is unknown: null. */
static void json_opt_str(const char *s) { json_str(s && s[0] ? s : NULL); }

static void json_int(long long v, long long unknown_below) {
  if (v < unknown_below) fputs("null", stdout);
  else printf("%lld", v);
}

static const char *json_bool(int v) { return v ? "true" : "false"; }

static void print_json(const report *r) {
  const vconv_cpu_info *c = &r->cpu;
  printf("{\"version\": ");
  json_str(r->version);
  printf(", \"header_version\": ");
  json_str(VCONV_VERSION_STRING);

  printf(", \"cpu\": {\"vendor\": ");
  json_opt_str(c->vendor);
  printf(", \"brand\": ");
  json_opt_str(c->brand);
  printf(", \"family\": ");
  json_int(c->family, 0);
  printf(", \"model\": ");
  json_int(c->model, 0);
  printf(", \"stepping\": ");
  json_int(c->stepping, 0);
  printf(", \"packages\": ");
  json_int(c->packages, 1);
  printf(", \"cores\": ");
  json_int(c->cores, 1);
  printf(", \"threads\": ");
  json_int(c->threads, 1);
  printf(", \"l1d_bytes\": ");
  json_int(c->l1d_bytes, 1);
  printf(", \"l2_bytes\": ");
  json_int(c->l2_bytes, 1);
  printf(", \"l3_bytes\": ");
  json_int(c->l3_bytes, 1);
  printf(", \"cache_line_bytes\": ");
  json_int(c->cache_line_bytes, 1);
  printf(", \"source\": ");
  json_opt_str(c->source);
  printf("}");

  printf(", \"libcpuid\": ");
  if (!r->have_libcpuid) {
    printf("null");
  } else {
    const lcpuid_view *lc = &r->lc;
    printf("{\"version\": ");
    json_str(lc->version);
    printf(", \"used_for_dispatch\": false");
    if (!lc->ok) {
      printf(", \"error\": ");
      json_str(or_unknown(lc->error));
    } else {
      printf(", \"vendor\": ");
      json_opt_str(lc->vendor);
      printf(", \"brand\": ");
      json_opt_str(lc->brand);
      printf(", \"family\": %d, \"model\": %d, \"stepping\": %d, \"base_family\": %d, "
             "\"base_model\": %d",
             lc->ext_family, lc->ext_model, lc->stepping, lc->family, lc->model);
      printf(", \"flags\": {\"sse4_1\": %s, \"avx2\": %s, \"fma3\": %s, \"avx512f\": %s}",
             json_bool(lc->sse4_1), json_bool(lc->avx2), json_bool(lc->fma3),
             json_bool(lc->avx512f));
    }
    printf("}");
  }

  printf(", \"tiers\": [");
  for (int i = 0; i < VCONV_ISA_COUNT; i++) {
    const tier_row *t = &r->tiers[i];
    printf("%s{\"name\": ", i ? ", " : "");
    json_str(t->name);
    printf(", \"built\": %s, \"cpu_supported\": %s, \"available\": %s}", json_bool(t->built),
           json_bool(t->cpu), json_bool(t->available));
  }
  printf("], \"env\": {\"VCONV_ISA\": ");
  json_str(r->env);
  printf(", \"use\": ");
  json_str(r->env_use);
  printf("}, \"effective\": ");
  json_str(r->effective);
  printf(", \"cost_model_cpu\": ");
  json_str(vconv_cost_model_cpu());
  printf("}\n");
}

/* ------------------------------------------------------------------------ */

static void usage(FILE *f, const char *argv0) {
  fprintf(f,
          "usage: %s [--json | --effective | --tiers-runnable]\n"
          "  (none)       CPU, caches, ISA tiers and the effective tier, as text\n"
          "  --json       the same as one JSON object\n"
          "  --effective  only the effective tier name\n"
          "  --tiers-runnable  the tiers built and supported by this CPU, one per line, cap ignored\n",
          argv0);
}

int main(int argc, char **argv) {
  enum { TEXT, JSON, EFFECTIVE, RUNNABLE } mode = TEXT;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) {
      mode = JSON;
    } else if (!strcmp(argv[i], "--effective")) {
      mode = EFFECTIVE;
    } else if (!strcmp(argv[i], "--tiers-runnable")) {
      mode = RUNNABLE;
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout, argv[0]);
      return 0;
    } else {
      fprintf(stderr, "%s: unknown argument '%s'\n", argv[0], argv[i]);
      usage(stderr, argv[0]);
      return 2;
    }
  }

  if (mode == EFFECTIVE) {
    const char *name = vconv_isa_name(vconv_isa_effective());
    printf("%s\n", name ? name : "?");
    return 0;
  }

  if (mode == RUNNABLE) {
    for (int t = 0; t < VCONV_ISA_COUNT; t++)
      if (vconv_isa_built((vconv_isa)t) && vconv_isa_cpu_supported((vconv_isa)t))
        printf("%s\n", vconv_isa_name((vconv_isa)t));
    return 0;
  }

  report r;
  gather(&r);
  if (mode == JSON) print_json(&r);
  else print_text(&r);
  return fflush(stdout) == 0 ? 0 : 1;
}
