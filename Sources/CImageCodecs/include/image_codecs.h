#ifndef VQVAE2_IMAGE_CODECS_H
#define VQVAE2_IMAGE_CODECS_H

#include <stddef.h>
#include <stdint.h>

/* libjpeg and libpng report errors by longjmp, which Swift cannot survive, so every call into them lives here,
   behind setjmp, and errors come back as a message in `error` (at least 256 bytes). */

/* Decodes a JPEG (greyscale, RGB, YCbCr, CMYK or YCCK) to interleaved 8-bit RGB. Returns a malloc'ed buffer of
   width*height*3 bytes, or NULL with a message. */
uint8_t *cic_jpeg_decode_rgb(const uint8_t *bytes, size_t length, int *width, int *height, char *error);

/* Encodes interleaved 8-bit pixels of 1 (grey), 3 (RGB) or 4 (CMYK) components as a baseline JPEG of `quality`
   (1-100). Returns a malloc'ed buffer and its length in *length, or NULL with a message. */
uint8_t *cic_jpeg_encode(const uint8_t *pixels, int width, int height, int components, int quality, size_t *length,
                         char *error);

/* Decodes a PNG (any bit depth, palette, grey, alpha) to 8-bit RGB; alpha is dropped. Same contract as above. */
uint8_t *cic_png_decode_rgb(const uint8_t *bytes, size_t length, int *width, int *height, char *error);

/* Writes 8-bit RGB rows as a PNG file. Returns 0 on success, -1 with a message. */
int cic_png_write_rgb(const char *path, const uint8_t *rgb, int width, int height, char *error);

const char *cic_libpng_version(void);
int cic_libjpeg_version(void);

#endif
