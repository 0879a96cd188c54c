#define _GNU_SOURCE
#include "sgemm_clock.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* OpenBLAS's cblas_sgemm as Debian builds it (LP64: blasint is int; the CBLAS enums are int-sized). Declared here
 * rather than taken from cblas.h, whose declaration this file replaces. */
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);

static int enabled;
static int depth;
static double pass_start;
static double sgemm_seconds;
static double matrix_seconds;

double sgemm_clock_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static sgemm_fn openblas_sgemm(void) {
    static sgemm_fn real;
    if (!real) {
        real = (sgemm_fn)dlsym(RTLD_NEXT, "cblas_sgemm");
        if (!real) {
            fprintf(stderr, "sgemm_clock: OpenBLAS's cblas_sgemm not found: %s\n", dlerror());
            abort();
        }
    }
    return real;
}

void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc) {
    sgemm_fn real = openblas_sgemm();
    if (!enabled) {
        real(order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    double start = sgemm_clock_now();
    real(order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    double elapsed = sgemm_clock_now() - start;
    sgemm_seconds += elapsed;
    if (depth == 0) matrix_seconds += elapsed;
}

void sgemm_clock_enable(int on) { enabled = on; depth = 0; }
void sgemm_clock_reset(void) { sgemm_seconds = 0; matrix_seconds = 0; }
double sgemm_clock_sgemm_seconds(void) { return sgemm_seconds; }
double sgemm_clock_matrix_seconds(void) { return matrix_seconds; }

void sgemm_clock_pass_began(void) {
    if (enabled && depth++ == 0) pass_start = sgemm_clock_now();
}

void sgemm_clock_pass_ended(void) {
    if (!enabled || depth == 0) return;
    if (--depth == 0) matrix_seconds += sgemm_clock_now() - pass_start;
}
