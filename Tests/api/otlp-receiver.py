#!/usr/bin/env python3
"""A small OTLP/HTTP trace receiver for the tests: accepts `POST /v1/traces` (protobuf, as
swift-otel exports with CIRRUS_TRACING=otlp; gzip or not), decodes it with the
`opentelemetry-proto` package and appends one JSON line per span to OUT:

  {"service": "cirrus-gateway", "trace_id": hex, "span_id": hex, "parent_id": hex or "",
   "name": "...", "kind": "SERVER"|"CLIENT"|"PRODUCER"|"CONSUMER"|"INTERNAL",
   "attributes": {key: value}, "start_ns": int, "end_ns": int, "status": "OK"|"ERROR"|"UNSET"}

Tests/api/operations.py reads OUT to check that one upload yields one connected trace.
Listens on 127.0.0.1:PORT until killed (SIGTERM).

Usage: otlp-receiver.py PORT OUT
"""
import gzip
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

KINDS = {Span.SPAN_KIND_SERVER: "SERVER", Span.SPAN_KIND_CLIENT: "CLIENT", Span.SPAN_KIND_PRODUCER: "PRODUCER",
         Span.SPAN_KIND_CONSUMER: "CONSUMER", Span.SPAN_KIND_INTERNAL: "INTERNAL"}
STATUS = {Status.STATUS_CODE_OK: "OK", Status.STATUS_CODE_ERROR: "ERROR"}
LOCK = threading.Lock()


def value(any_value):
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if kind in ("kvlist_value", "bytes_value"):
        return str(getattr(any_value, kind))
    return getattr(any_value, kind)


def attributes(pairs):
    return {pair.key: value(pair.value) for pair in pairs}


class Handler(BaseHTTPRequestHandler):
    out = None

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path != "/v1/traces":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
        except Exception as error:  # a malformed export: say so, as a collector would
            message = f"cannot decode: {error}".encode()
            self.send_response(400)
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            self.wfile.write(message)
            return
        lines = []
        for resource_spans in request.resource_spans:
            service = attributes(resource_spans.resource.attributes).get("service.name", "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    lines.append(json.dumps({
                        "service": service, "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(),
                        "parent_id": span.parent_span_id.hex(), "name": span.name, "kind": KINDS.get(span.kind, "UNSPECIFIED"),
                        "attributes": attributes(span.attributes), "start_ns": span.start_time_unix_nano,
                        "end_ns": span.end_time_unix_nano, "status": STATUS.get(span.status.code, "UNSET"),
                    }))
        with LOCK, open(self.out, "a") as out:
            out.write("".join(line + "\n" for line in lines))
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def main():
    port, Handler.out = int(sys.argv[1]), sys.argv[2]
    open(Handler.out, "a").close()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


if __name__ == "__main__":
    main()
