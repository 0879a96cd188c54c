#ifndef VQVAE2_CZLIB_SHIM_H
#define VQVAE2_CZLIB_SHIM_H

#if !__has_include(<zlib.h>)
#error "zlib headers not found: install zlib1g-dev (apt-get install zlib1g-dev), or run launch/setup.sh"
#endif
#include <zlib.h>

#endif
