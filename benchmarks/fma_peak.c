/* The fp32 peak of one core: 10 independent chains of 8-wide FMAs (enough to cover the FMA latency on two
 * pipes), in registers. Built by run.sh with -O2 -mavx2 -mfma (the Swift targets build for baseline x86-64,
 * which has no FMA, so the loop lives here). Prints GFLOP/s, best of 5. */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    const long iterations = 50000000;
    __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    __m256 x[10];
    for (int i = 0; i < 10; i++) x[i] = _mm256_set1_ps(i * 1e-3f);
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double start = now();
        for (long i = 0; i < iterations; i++) {
            x[0] = _mm256_fmadd_ps(x[0], a, b); x[1] = _mm256_fmadd_ps(x[1], a, b);
            x[2] = _mm256_fmadd_ps(x[2], a, b); x[3] = _mm256_fmadd_ps(x[3], a, b);
            x[4] = _mm256_fmadd_ps(x[4], a, b); x[5] = _mm256_fmadd_ps(x[5], a, b);
            x[6] = _mm256_fmadd_ps(x[6], a, b); x[7] = _mm256_fmadd_ps(x[7], a, b);
            x[8] = _mm256_fmadd_ps(x[8], a, b); x[9] = _mm256_fmadd_ps(x[9], a, b);
        }
        double t = now() - start;
        if (t < best) best = t;
    }
    float sink[8];
    __m256 s = x[0];
    for (int i = 1; i < 10; i++) s = _mm256_add_ps(s, x[i]);
    _mm256_storeu_ps(sink, s);
    /* The sum is printed to stderr so that the compiler keeps the loop. */
    fprintf(stderr, "checksum %g\n", sink[0]);
    printf("%.1f\n", iterations * 10.0 * 8 * 2 / best / 1e9);
    return 0;
}
