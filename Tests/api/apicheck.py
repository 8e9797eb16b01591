"""What the black-box API checks share (Tests/api/security.py, Tests/api/bad-input.py,
Tests/api/sharing.py).

Results (one `ok` / `FAIL` line per check, kept in RESULTS), a group of checks that reports its
own crash instead of ending the run, the summary; one request on a fresh connection and made-up
client addresses; the answer to a request and how it prints; the
expectations on a 4xx problem (RFC 9457 application/problem+json); a multipart body; the access
log's lines of 5xx answers. Not a script: the scripts import it from their own directory.
Python 3 standard library only.

The scripts differ in a few details, set once with configure(): how long a snippet of a body is,
whether a problem must carry `type` and `title`, and what a non-4xx is said to miss.
"""
import http.client
import json
import random
import struct
import sys
import threading
import time
import urllib.parse
import zlib

# ---------------------------------------------------------------------------------------------
# Settings (configure)
# ---------------------------------------------------------------------------------------------

SNIPPET_LIMIT = 240  # snippet()'s default length
PROBLEM_NEEDS_TITLE = True  # problem_issues(): a problem without `type` or `title` is an issue
STATUSES_OUTSIDE_4XX = False  # problem_issues(): a non-4xx names the statuses expected, not only "a 4xx"


def configure(snippet_limit=None, problem_needs_title=None, statuses_outside_4xx=None):
    """Sets the script's choices (see above); None keeps a setting as it is."""
    global SNIPPET_LIMIT, PROBLEM_NEEDS_TITLE, STATUSES_OUTSIDE_4XX
    if snippet_limit is not None:
        SNIPPET_LIMIT = snippet_limit
    if problem_needs_title is not None:
        PROBLEM_NEEDS_TITLE = problem_needs_title
    if statuses_outside_4xx is not None:
        STATUSES_OUTSIDE_4XX = statuses_outside_4xx


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

RESULTS = []  # (ok, name)
LOCK = threading.Lock()


def check(name, ok, detail=""):
    with LOCK:
        RESULTS.append((bool(ok), name))
        line = ("ok   " if ok else "FAIL ") + name
        if detail:
            line += (" (" + detail + ")") if ok else ": " + detail
        print(line, flush=True)
    return bool(ok)


def note(text):
    print("     " + text, flush=True)


def snippet(data, limit=None):
    if data is None:
        return ""
    limit = SNIPPET_LIMIT if limit is None else limit
    text = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else str(data)
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


def run_group(name, group):
    """Runs one group of checks under `--- name`; an exception in it fails one check and the
    run goes on. Notes how long the group took."""
    print(f"--- {name}", flush=True)
    started = time.monotonic()
    try:
        group()
    except Exception as error:  # a bug here, or a service gone: report and go on
        check(f"{name}: the group ran to its end", False, f"{type(error).__name__}: {error}")
    note(f"({name}: {time.monotonic() - started:.1f}s)")


def finish(started, headline, last=None):
    """Prints the summary and exits, 1 when any check failed: `headline`, every failed check,
    then `last`; both format strings over {passed}, {failed}, {total} and {seconds} (since
    `started`, a time.monotonic())."""
    failed = [name for ok, name in RESULTS if not ok]
    counts = {"passed": len(RESULTS) - len(failed), "failed": len(failed), "total": len(RESULTS), "seconds": time.monotonic() - started}
    print("\n" + headline.format(**counts))
    for name in failed:
        print(f"  FAIL {name}")
    if last:
        print(last.format(**counts))
    sys.exit(1 if failed else 0)


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------

class Answer:
    """The answer to one request, or `error` when there was none (`seconds`: how long it took)."""

    textual = ("json", "text", "xml")  # content types whose body str() shows; others print as a size

    def __init__(self, status=None, headers=None, body=b"", error=None, seconds=0.0):
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.error = error
        self.seconds = seconds

    @property
    def json(self):
        try:
            return json.loads(self.body)
        except Exception:
            return None

    def __str__(self):
        if self.error:
            return f"no answer ({self.error}) after {self.seconds:.1f}s"
        kind = self.headers.get("content-type", "")
        if self.body and kind and not any(t in kind for t in self.textual):
            return f"{self.status} {kind} ({len(self.body)} bytes)"
        return f"{self.status} {kind} {snippet(self.body)}"


class Exchange:
    """One request's raw answer: status, headers (lower-case names, repeated ones joined by
    ", "), every Set-Cookie value, the body."""

    def __init__(self, status, headers, cookies, body):
        self.status, self.headers, self.cookies, self.body = status, headers, cookies, body


def exchange(base, method, path, body=None, headers=None, timeout=30.0, agent="cirrus-tests", zero_length_writes=False,
             early_answer=False):
    """One request on a fresh connection (http.client sends `path` exactly as given: no
    normalisation of `//`, `.`, `%2e`). `base` is http://host[:port]. zero_length_writes: a
    body-less POST/PUT/PATCH says Content-Length: 0; early_answer: a server that answers (a
    refusal) before reading the whole body is read, not taken for a failure. Raises OSError or
    http.client.HTTPException when there is no answer."""
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.putheader("Connection", "close")
        conn.putheader("User-Agent", agent)
        for name, value in (headers or {}).items():
            if value is not None:
                conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        elif zero_length_writes and method in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", "0")
        try:
            conn.endheaders(message_body=body)
        except (BrokenPipeError, ConnectionResetError):
            if not early_answer:
                raise
        response = conn.getresponse()
        data = response.read()
        merged, cookies = {}, []
        for name, value in response.getheaders():
            key = name.lower()
            if key == "set-cookie":
                cookies.append(value)
            merged[key] = merged[key] + ", " + value if key in merged else value
        return Exchange(response.status, merged, cookies, data)
    finally:
        conn.close()


class Addresses:
    """Made-up client addresses (from `pool`), one per use, from a random start so that a second
    run against the same stack does not meet the first run's budgets."""

    def __init__(self, pool):
        self.pool = list(pool)
        self.index = random.randrange(len(self.pool))
        self.lock = threading.Lock()

    def fresh(self):
        with self.lock:
            address = self.pool[self.index % len(self.pool)]
            self.index += 1
            return address


# ---------------------------------------------------------------------------------------------
# Expectations
# ---------------------------------------------------------------------------------------------

def problem_issues(answer, statuses=None, field=None):
    """What is wrong with `answer` as a clear 4xx problem (empty list: nothing)."""
    if answer.error:
        return [str(answer)]
    issues = []
    if not 400 <= answer.status < 500:
        expected = "/".join(map(str, statuses)) if statuses and STATUSES_OUTSIDE_4XX else "a 4xx"
        issues.append(f"status {answer.status}, expected {expected}")
    elif statuses and answer.status not in statuses:
        issues.append(f"status {answer.status}, expected {'/'.join(map(str, statuses))}")
    if not answer.headers.get("content-type", "").lower().startswith("application/problem+json"):
        issues.append(f"Content-Type {answer.headers.get('content-type')!r}, not application/problem+json")
    problem = answer.json
    if not isinstance(problem, dict):
        issues.append("the body is not a JSON object")
    else:
        if problem.get("status") != answer.status:
            issues.append(f"problem status {problem.get('status')!r} differs from {answer.status}")
        if PROBLEM_NEEDS_TITLE and (not problem.get("title") or not problem.get("type")):
            issues.append("problem without type/title")
        if field:
            named = [e.get("field") for e in problem.get("errors") or [] if isinstance(e, dict)]
            if field not in named:
                issues.append(f"errors do not name {field!r} (they name {named})")
    if issues:
        issues.append(f"answer: {answer}")
    return issues


def expect_problem(name, answer, statuses=None, field=None, extra=None):
    """A 4xx problem; `extra` lists further issues found by the caller."""
    if isinstance(statuses, int):
        statuses = (statuses,)
    issues = problem_issues(answer, statuses, field) + list(extra or [])
    return check(name, not issues, "; ".join(issues) if issues else f"{answer.status}" + (f" {field}" if field else ""))


def expect_status(name, answer, statuses, extra=None):
    """One of `statuses`; `extra` lists further issues found by the caller."""
    if isinstance(statuses, int):
        statuses = (statuses,)
    issues = list(extra or [])
    if answer.error or answer.status not in statuses:
        issues.insert(0, f"expected {'/'.join(map(str, statuses))}, got {answer}")
    return check(name, not issues, "; ".join(issues) if issues else f"{answer.status}")


# ---------------------------------------------------------------------------------------------
# Bodies, paths and logs
# ---------------------------------------------------------------------------------------------

def multipart(boundary, parts, close=True):
    """parts: (disposition bytes, content bytes[, extra header bytes])."""
    out = b""
    for part in parts:
        disposition, content = part[0], part[1]
        extra = part[2] if len(part) > 2 else b""
        out += b"--" + boundary + b"\r\nContent-Disposition: form-data; " + disposition + b"\r\n" + extra + b"\r\n" + content + b"\r\n"
    if close:
        out += b"--" + boundary + b"--\r\n"
    return out


def q(value):
    return urllib.parse.quote(value if isinstance(value, bytes) else value.encode(), safe="")


def access_5xx(line):
    """`METHOD route → status` when `line` (str or bytes) is an access-log record of a 5xx
    answer, else None."""
    if ('"log":"access"' if isinstance(line, str) else b'"log":"access"') not in line:
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if int(record.get("status", 0)) >= 500:
        return f"{record.get('method')} {record.get('route')} → {record.get('status')}"
    return None


# ---------------------------------------------------------------------------------------------
# Payloads
# ---------------------------------------------------------------------------------------------

def png(width, height, row):
    """A valid 8-bit RGB PNG, width × height, whose line y holds row(y) (width * 3 bytes)."""
    raw = b"".join(b"\x00" + row(y) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
