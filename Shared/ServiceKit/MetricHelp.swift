/// The `# HELP` line of every metric family Cirrus exports. swift-metrics has no place for a
/// description, so `/metrics` adds these to swift-prometheus's output (`annotate`); a family
/// missing here gets a line that says so, which Tests/api/operations.py refuses.
public enum MetricHelp {
    public static let texts: [String: String] = [
        "cirrus_http_requests_total": "HTTP requests answered, by method, route pattern and status.",
        "cirrus_http_request_duration_seconds":
            "Time from a request's arrival until its response is ready to send (a streamed body's transfer excluded), by method and route pattern.",
        "cirrus_http_requests_in_flight": "HTTP requests being handled now.",
        "cirrus_kafka_consumer_lag": "Messages of an assigned partition this consumer has still to handle (high watermark minus position).",
        "cirrus_kafka_messages_handled_total": "Messages a consumer group handled successfully.",
        "cirrus_kafka_handler_failures_total": "Handler attempts that failed (each retry counts).",
        "cirrus_kafka_dead_lettered_total": "Messages given up on and dead-lettered.",
        "cirrus_dead_letters": "Dead letters waiting in this service's table for an admin (replay or discard), by original topic.",
        "cirrus_outbox_backlog": "Events written to the outbox and not yet published.",
        "cirrus_outbox_oldest_unpublished_age_seconds": "Age of the oldest unpublished outbox event (0 when none waits).",
        "cirrus_outbox_published_total": "Outbox events published to the broker.",
        "cirrus_outbox_publish_failures_total": "Outbox relay batches that failed to publish.",
        "cirrus_inbox_duplicates_skipped_total": "Events delivered again and skipped because the inbox had them.",
        "cirrus_worker_last_beat_timestamp_seconds": "Unix time of a background loop's last heartbeat.",
        "cirrus_worker_silent_total": "Times a background loop was found silent for longer than its bound.",
        "cirrus_reconcile_cleaned_total": "Entries a reconciler repaired or released.",
        "cirrus_reconcile_missing":
            "What the last complete audit pass found missing on the other side (metadata-contents: contents metadata has that blob lacks).",
        "cirrus_reconcile_last_success_timestamp_seconds": "Unix time of a reconciler's last complete pass.",
        "cirrus_db_pool_wait_seconds": "Time a transaction waited for a pooled PostgreSQL connection (and its BEGIN).",
        "cirrus_db_pool_in_use": "Connections to this service's database that are running a statement or inside a transaction.",
        "cirrus_db_pool_open": "Connections open to this service's database.",
        "cirrus_thumbnail_renders_total": "Thumbnail renders done.",
        "cirrus_thumbnail_render_seconds": "Time one thumbnail render took.",
        "cirrus_blob_gc_objects_deleted_total": "Unreferenced objects the blob collector deleted.",
        "cirrus_blob_stored_bytes": "Bytes of content blob's index holds (each stored object once).",
        "cirrus_blob_stored_objects": "Objects blob's index holds.",
        "cirrus_blob_resumable_expired_total": "Resumable (tus) uploads collected after their expiry (staging discarded).",
    ]

    static let missing = "(no description: add one to MetricHelp)"

    /// `exposition` with a `# HELP` line before every `# TYPE` line that has none.
    public static func annotate(_ exposition: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(exposition.count + 4096)
        var previousWasHelp = false
        for line in exposition.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if line.starts(with: "# TYPE ".utf8), !previousWasHelp {
                let name = line.dropFirst(7).prefix { $0 != UInt8(ascii: " ") }
                let family = String(decoding: name, as: UTF8.self)
                out += Array("# HELP \(family) \(texts[family] ?? missing)\n".utf8)
            }
            previousWasHelp = line.starts(with: "# HELP ".utf8)
            out += line
            out.append(UInt8(ascii: "\n"))
        }
        if exposition.last != UInt8(ascii: "\n"), !out.isEmpty { out.removeLast() }
        return out
    }
}
