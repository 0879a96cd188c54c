/* One core's OpenBLAS sgemm on an im2col convolution cut into blocks of rows, as Conv2D runs it: the forward
 * product [rows, K] x [K, N] (the weight [N, K] transposed) and the weight gradient [N, K] += [rows, N]^T x
 * [rows, K], over 1,024 rows in blocks of 34 to 1,024. Every block's call packs the whole weight again (and the
 * weight gradient reads and writes its whole [N, K] sum), so small blocks lose to that when the weight is large;
 * ConvolutionGeometry.blockRows's lower bound comes from this (docs/PERFORMANCE.md, "The paper's scale").
 *
 *   cc -O2 benchmarks/sgemm_blocks.c -o /tmp/sgemm_blocks -I/usr/include/x86_64-linux-gnu/openblas-pthread \
 *     -lopenblas
 *   OPENBLAS_NUM_THREADS=1 /tmp/sgemm_blocks 7680 1024    # K N: the paper's top-prior vertical stack
 *
 * Prints GFLOP/s per block size, best of 3. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s K N\n", argv[0]);
        return 2;
    }
    const int k = atoi(argv[1]), n = atoi(argv[2]), m = 1024;
    const int blocks[] = {34, 64, 128, 256, 512, 1024};
    float *a = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * n * k);
    float *c = malloc(sizeof(float) * m * n), *dw = calloc((size_t)n * k, sizeof(float));
    if (!a || !w || !c || !dw) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    srand(1);
    for (long i = 0; i < (long)m * k; i++) a[i] = rand() / (float)RAND_MAX;
    for (long i = 0; i < (long)n * k; i++) w[i] = rand() / (float)RAND_MAX;
    const double flop = 2.0 * m * n * k;
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        const int rows = blocks[b];
        double forward = 1e30, gradient = 1e30;
        for (int repeat = 0; repeat < 3; repeat++) {
            double t = now();
            for (int s = 0; s < m; s += rows) {
                int r = rows < m - s ? rows : m - s;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r, n, k, 1, a + (long)s * k, k, w, k, 0,
                            c + (long)s * n, n);
            }
            t = now() - t;
            if (t < forward) forward = t;
            t = now();
            for (int s = 0; s < m; s += rows) {
                int r = rows < m - s ? rows : m - s;
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, r, 1, c + (long)s * n, n,
                            a + (long)s * k, k, 1, dw, k);
            }
            t = now() - t;
            if (t < gradient) gradient = t;
        }
        printf("K=%d N=%d block=%4d rows: forward %.1f GFLOP/s, weight gradient %.1f GFLOP/s\n", k, n, rows,
               flop / forward / 1e9, flop / gradient / 1e9);
    }
    return 0;
}
