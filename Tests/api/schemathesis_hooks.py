"""Schemathesis hooks for Tests/api/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

tus PATCH and creation-with-upload bodies are `application/offset+octet-stream`: raw bytes,
sent as schemathesis sends `application/octet-stream`.
"""
import schemathesis

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
