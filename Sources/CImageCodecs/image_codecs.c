#include "image_codecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#define CIC_ERROR_SIZE 256

/* ---- JPEG ---- */

struct cic_jpeg_error {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char *message;
};

static void cic_jpeg_error_exit(j_common_ptr cinfo) {
    struct cic_jpeg_error *err = (struct cic_jpeg_error *)cinfo->err;
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    snprintf(err->message, CIC_ERROR_SIZE, "jpeg: %s", buffer);
    longjmp(err->jump, 1);
}

/* Corrupt-data warnings would otherwise go to stderr for every damaged ImageNet file; they are not fatal. */
static void cic_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

uint8_t *cic_jpeg_decode_rgb(const uint8_t *bytes, size_t length, int *width, int *height, char *error) {
    struct jpeg_decompress_struct cinfo;
    struct cic_jpeg_error jerr;
    /* volatile: these change between setjmp and a possible longjmp */
    uint8_t *volatile out = NULL;
    uint8_t *volatile row = NULL;

    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&jerr.base);
    jerr.base.error_exit = cic_jpeg_error_exit;
    jerr.base.output_message = cic_jpeg_output_message;
    jerr.message = error;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(out);
        free(row);
        return NULL;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes, (unsigned long)length);
    jpeg_read_header(&cinfo, TRUE);
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);

    int w = (int)cinfo.output_width, h = (int)cinfo.output_height, c = cinfo.output_components;
    if (w <= 0 || h <= 0 || (c != 3 && c != 4)) {
        snprintf(error, CIC_ERROR_SIZE, "jpeg: unsupported output (%dx%d, %d components)", w, h, c);
        jpeg_destroy_decompress(&cinfo);
        return NULL;
    }
    out = malloc((size_t)w * h * 3);
    row = malloc((size_t)w * c);
    if (!out || !row) {
        snprintf(error, CIC_ERROR_SIZE, "jpeg: out of memory for %dx%d", w, h);
        jpeg_destroy_decompress(&cinfo);
        free(out);
        free(row);
        return NULL;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        int y = (int)cinfo.output_scanline;
        JSAMPROW rows[1] = {row};
        jpeg_read_scanlines(&cinfo, rows, 1);
        uint8_t *dst = out + (size_t)y * w * 3;
        if (c == 3) {
            memcpy(dst, row, (size_t)w * 3);
        } else {
            /* Adobe writes inverted CMYK; libjpeg hands it back as stored, so ink = 255 - value. */
            int inverted = cinfo.saw_Adobe_marker;
            for (int x = 0; x < w; x++) {
                int cc = row[4 * x], m = row[4 * x + 1], yy = row[4 * x + 2], k = row[4 * x + 3];
                if (!inverted) { cc = 255 - cc; m = 255 - m; yy = 255 - yy; k = 255 - k; }
                dst[3 * x] = (uint8_t)(cc * k / 255);
                dst[3 * x + 1] = (uint8_t)(m * k / 255);
                dst[3 * x + 2] = (uint8_t)(yy * k / 255);
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    *width = w;
    *height = h;
    return out;
}

uint8_t *cic_jpeg_encode(const uint8_t *pixels, int width, int height, int components, int quality, size_t *length,
                         char *error) {
    if (components != 1 && components != 3 && components != 4) {
        snprintf(error, CIC_ERROR_SIZE, "jpeg: cannot encode %d components", components);
        return NULL;
    }
    struct jpeg_compress_struct cinfo;
    struct cic_jpeg_error jerr;
    unsigned char *volatile out = NULL;
    unsigned long size = 0;

    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&jerr.base);
    jerr.base.error_exit = cic_jpeg_error_exit;
    jerr.base.output_message = cic_jpeg_output_message;
    jerr.message = error;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(out);
        return NULL;
    }
    jpeg_create_compress(&cinfo);
    unsigned char *buffer = NULL;
    jpeg_mem_dest(&cinfo, &buffer, &size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = components;
    cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * width * components);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    out = buffer;
    jpeg_destroy_compress(&cinfo);
    *length = size;
    return out;
}

int cic_libjpeg_version(void) {
#ifdef LIBJPEG_TURBO_VERSION_NUMBER
    return LIBJPEG_TURBO_VERSION_NUMBER;
#else
    return JPEG_LIB_VERSION;
#endif
}

/* ---- PNG ---- */

struct cic_png_reader {
    const uint8_t *bytes;
    size_t length;
    size_t offset;
};

static void cic_png_error(png_structp png, png_const_charp message) {
    char *error = (char *)png_get_error_ptr(png);
    snprintf(error, CIC_ERROR_SIZE, "png: %s", message);
    png_longjmp(png, 1);
}

static void cic_png_warning(png_structp png, png_const_charp message) { (void)png; (void)message; }

static void cic_png_read(png_structp png, png_bytep data, png_size_t length) {
    struct cic_png_reader *reader = (struct cic_png_reader *)png_get_io_ptr(png);
    if (reader->offset + length > reader->length) png_error(png, "truncated file");
    memcpy(data, reader->bytes + reader->offset, length);
    reader->offset += length;
}

uint8_t *cic_png_decode_rgb(const uint8_t *bytes, size_t length, int *width, int *height, char *error) {
    if (length < 8 || png_sig_cmp(bytes, 0, 8) != 0) {
        snprintf(error, CIC_ERROR_SIZE, "png: not a PNG signature");
        return NULL;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, error, cic_png_error, cic_png_warning);
    if (!png) { snprintf(error, CIC_ERROR_SIZE, "png: cannot create reader"); return NULL; }
    png_infop info = png_create_info_struct(png);
    uint8_t *volatile out = NULL;
    png_bytep *volatile rows = NULL;
    struct cic_png_reader reader = {bytes, length, 0};
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        free(out);
        free(rows);
        if (!info) snprintf(error, CIC_ERROR_SIZE, "png: cannot create info");
        return NULL;
    }
    png_set_read_fn(png, &reader, cic_png_read);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int colour = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (depth == 16) png_set_strip_16(png);
    if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (colour == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (colour == PNG_COLOR_TYPE_GRAY || colour == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_strip_alpha(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3) png_error(png, "unexpected row size after conversion");
    out = malloc((size_t)w * h * 3);
    rows = malloc(sizeof(png_bytep) * h);
    if (!out || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = out + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    *width = (int)w;
    *height = (int)h;
    return out;
}

int cic_png_write_rgb(const char *path, const uint8_t *rgb, int width, int height, char *error) {
    FILE *volatile file = fopen(path, "wb");
    if (!file) { snprintf(error, CIC_ERROR_SIZE, "png: cannot open %s for writing", path); return -1; }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, error, cic_png_error, cic_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        snprintf(error, CIC_ERROR_SIZE, "png: cannot create writer");
        png_destroy_write_struct(&png, NULL);
        fclose(file);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(file);
        return -1;
    }
    png_init_io(png, file);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(rgb + (size_t)y * width * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(file) != 0) { snprintf(error, CIC_ERROR_SIZE, "png: cannot close %s", path); return -1; }
    return 0;
}

const char *cic_libpng_version(void) { return png_get_libpng_ver(NULL); }
