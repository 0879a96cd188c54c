#ifndef VQVAE2_SGEMM_CLOCK_H
#define VQVAE2_SGEMM_CLOCK_H

/* The benchmark's clock of matrix work. Linked into vqvae2-bench only, it defines cblas_sgemm itself and forwards
 * to OpenBLAS's, so it times every product the library makes without the library knowing; convolution passes are
 * reported through sgemm_clock_pass_began/ended (the library's PassObserver hook). A measuring device for one
 * thread: its totals are process-wide. */

/* Starts (1) or stops (0) counting; while stopped a product costs one branch. */
void sgemm_clock_enable(int enabled);
void sgemm_clock_reset(void);
/* Seconds inside cblas_sgemm since the last reset. */
double sgemm_clock_sgemm_seconds(void);
/* Seconds of matrix work since the last reset: convolution passes (outermost ones, so nested passes count once) and
 * products made outside any pass. */
double sgemm_clock_matrix_seconds(void);
void sgemm_clock_pass_began(void);
void sgemm_clock_pass_ended(void);
/* CLOCK_MONOTONIC in seconds. */
double sgemm_clock_now(void);

#endif
