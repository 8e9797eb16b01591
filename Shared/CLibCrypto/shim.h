// OpenSSL's SHA-256 with its context as a plain struct: the one SHA-256 whose running state
// can be saved and restored (swift-crypto's is opaque). Blob persists it with a resumable
// upload's offset, so the whole file's hash survives a restart without re-reading the bytes
// (which, on S3, cannot be read back before the multipart upload completes).
#ifndef CIRRUS_CLIBCRYPTO_SHIM_H
#define CIRRUS_CLIBCRYPTO_SHIM_H
// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, whose context is
// opaque; they remain part of the API, and only they expose the state.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>

static inline int cirrus_sha256_init(SHA256_CTX *ctx) { return SHA256_Init(ctx); }
static inline int cirrus_sha256_update(SHA256_CTX *ctx, const void *data, size_t len) { return SHA256_Update(ctx, data, len); }
static inline int cirrus_sha256_final(unsigned char *md, SHA256_CTX *ctx) { return SHA256_Final(md, ctx); }

#endif
