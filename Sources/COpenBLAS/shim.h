#ifndef VQVAE2_COPENBLAS_SHIM_H
#define VQVAE2_COPENBLAS_SHIM_H

#if !__has_include(<cblas.h>)
#error "OpenBLAS headers not found: install libopenblas-dev (apt-get install libopenblas-dev), or run launch/setup.sh"
#endif
#include <cblas.h>

#endif
