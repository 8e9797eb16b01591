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

static inline void cirrus_vips_unref(VipsImage *image) { g_object_unref(image); }

#endif
