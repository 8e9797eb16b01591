// Minimal shim over librdkafka (>= 2.8) for the entry points Swift cannot call directly:
// rd_kafka_producev is variadic and its arguments are macros.
#ifndef CIRRUS_CRDKAFKA_SHIM_H
#define CIRRUS_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>

/// Enqueue one message (payload and key are copied). `headers`, when not NULL, is owned by
/// librdkafka after a successful call and must be destroyed by the caller after a failed one.
static inline rd_kafka_resp_err_t cirrus_rdk_produce(rd_kafka_t *rk, const char *topic,
                                                     const void *key, size_t key_len,
                                                     const void *value, size_t value_len,
                                                     rd_kafka_headers_t *headers,
                                                     void *opaque) {
    if (headers) {
        return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len),
                                 RD_KAFKA_V_VALUE((void *)value, value_len),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque),
                                 RD_KAFKA_V_END);
    }
    return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len),
                             RD_KAFKA_V_VALUE((void *)value, value_len),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(opaque),
                             RD_KAFKA_V_END);
}

/// The message's opaque pointer (`_private`), named so Swift need not touch a reserved field.
static inline void *cirrus_rdk_message_opaque(const rd_kafka_message_t *m) { return m->_private; }

#endif
