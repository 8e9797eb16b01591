// Minimal shim over libvips for the variadic entry points Swift cannot call directly.
#ifndef CIRRUS_CVIPS_SHIM_H
#define CIRRUS_CVIPS_SHIM_H
#include <vips/vips.h>

/// Thumbnail an encoded image held in memory to at most `width` x `height` (shrink-on-load,
/// EXIF auto-rotation, never upscaled). On success `*out` holds a new image to unref.
static inline int cirrus_vips_thumbnail_buffer(void *buf, size_t len, int width, int height,
                                               VipsImage **out) {
    return vips_thumbnail_buffer(buf, len, out, width, "height", height, "size", VIPS_SIZE_DOWN,
                                 NULL);
}

/// Encode as JPEG with the given quality, metadata stripped. `*buf` must be freed with g_free.
static inline int cirrus_vips_jpegsave_buffer(VipsImage *in, void **buf, size_t *len, int quality) {
    return vips_jpegsave_buffer(in, buf, len, "Q", quality, "strip", TRUE, NULL);
}

/// Encode as WebP with the given quality, metadata stripped. `*buf` must be freed with g_free.
static inline int cirrus_vips_webpsave_buffer(VipsImage *in, void **buf, size_t *len, int quality) {
    return vips_webpsave_buffer(in, buf, len, "Q", quality, "strip", TRUE, NULL);
}

/// Thumbnail an image file: shrink-on-load (a large JPEG is never fully decoded), EXIF
/// auto-rotation, first page/frame only, fitting `width` x `height`, never upscaled. A
/// truncated or damaged file is an error (libvips would otherwise only warn and render what
/// it could read, grey where the data ended).
static inline int cirrus_vips_thumbnail_file(const char *path, int width, int height, VipsImage **out) {
    return vips_thumbnail(path, out, width, "height", height, "size", VIPS_SIZE_DOWN, "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
}

/// Read only an image file's header: its size in pixels. 0 on success.
static inline int cirrus_vips_header(const char *path, int *width, int *height) {
    VipsImage *image = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!image) return -1;
    *width = vips_image_get_width(image);
    *height = vips_image_get_height(image);
    g_object_unref(image);
    return 0;
}

/// Convert to sRGB (CMYK, Lab, 16-bit… all end up as 8-bit sRGB for the web). Greyscale stays.
static inline int cirrus_vips_to_srgb(VipsImage *in, VipsImage **out) {
    VipsInterpretation interpretation = vips_image_guess_interpretation(in);
    if (interpretation == VIPS_INTERPRETATION_B_W) {
        return vips_cast(in, out, VIPS_FORMAT_UCHAR, NULL);
    }
    return vips_colourspace(in, out, VIPS_INTERPRETATION_sRGB, NULL);
}

static inline void cirrus_vips_unref(VipsImage *image) { g_object_unref(image); }

#endif
