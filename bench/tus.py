#!/usr/bin/env python3
"""The measurements of bench/tus.sh (see there) against a stack it started. Needs the venv
(requests, boto3 from moto)."""
import argparse
import base64
import hashlib
import os
import statistics
import subprocess
import time
import uuid

import requests

from benchuser import bench_user

CHUNK = 8 << 20


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Bench:
    def __init__(self, args):
        self.args, self.api, self.http = args, args.api.rstrip("/"), requests.Session()
        self.run = uuid.uuid4().hex[:8]

    def setup(self):
        self.token = bench_user(self.http, self.api, self.args.stack, "benchtus", "bench-tus")
        self.auth = {"Authorization": "Bearer " + self.token}
        root = self.http.get(self.api + "/v1/folders/root", headers=self.auth).json()["id"]
        self.folder = self.http.post(self.api + "/v1/folders", headers=self.auth, json={"name": "bench", "parent_id": root}).json()["id"]


    def make_file(self, mib):
        path = os.path.join(self.args.stack, f"bench-{mib}.bin")
        with open(path, "wb") as handle:
            block = os.urandom(1 << 20)
            for i in range(mib):
                handle.write(hashlib.sha256(block + i.to_bytes(4, "big")).digest() + block[32:])
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(8 << 20):
                digest.update(chunk)
        return path, digest.hexdigest()

    def check(self, response, size, sha):
        item = response.json() if response.headers.get("content-type", "").startswith("application/json") else None
        if item is None:
            file_id = response.headers["Cirrus-File-Id"]
            item = self.http.get(self.api + f"/v1/files/{file_id}", headers=self.auth).json()
        if item.get("size") != size or item.get("sha256") != sha:
            raise SystemExit(f"stored file differs: {item}")

    def single(self, path, size, sha, name):
        with open(path, "rb") as handle:
            started = time.monotonic()
            response = self.http.post(self.api + "/v1/files", params={"folder_id": self.folder, "name": name}, data=handle,
                                      headers={**self.auth, "Content-Type": "application/octet-stream", "Content-Length": str(size)})
            seconds = time.monotonic() - started
        if response.status_code != 201:
            raise SystemExit(f"single upload: {response.status_code} {response.text[:300]}")
        self.check(response, size, sha)
        return seconds

    def tus(self, path, size, sha, name, last_byte_alone=False):
        """A tus upload in 8 MiB PATCHes; (seconds in all, seconds of the last PATCH)."""
        headers = {**self.auth, "Tus-Resumable": "1.0.0"}
        started = time.monotonic()
        created = self.http.post(self.api + "/v1/uploads", headers={**headers, "Upload-Length": str(size),
                                 "Upload-Metadata": f"folder_id {b64(self.folder)},name {b64(name)}"})
        if created.status_code != 201:
            raise SystemExit(f"tus creation: {created.status_code} {created.text[:300]}")
        location = self.api + created.headers["Location"]
        offset, last, response = 0, 0.0, None
        stops = list(range(CHUNK, size, CHUNK))
        if last_byte_alone:
            stops = [s for s in stops if s < size - 1] + [size - 1]
        stops.append(size)
        with open(path, "rb") as handle:
            for stop in stops:
                data = handle.read(stop - offset)
                begun = time.monotonic()
                response = self.http.patch(location, data=data, headers={**headers, "Upload-Offset": str(offset),
                                           "Content-Type": "application/offset+octet-stream"})
                last = time.monotonic() - begun
                if response.status_code != 204:
                    raise SystemExit(f"tus PATCH at {offset}: {response.status_code} {response.text[:300]}")
                offset = int(response.headers["Upload-Offset"])
        seconds = time.monotonic() - started
        self.check(response, size, sha)
        return seconds, last

    def last_completion(self):
        """blob's log line for the upload just completed (its timings)."""
        import json
        with open(os.path.join(self.args.stack, "logs", "blob.log")) as handle:
            lines = [json.loads(l) for l in handle if "resumable upload completed" in l]
        return lines[-1]

    def infra(self, *words, env=None):
        subprocess.run([self.args.infra_run, *words], check=True, capture_output=True, env=dict(os.environ, **(env or {})))

    def main(self):
        self.setup()
        mib = self.args.mib
        size = mib << 20
        path, sha = self.make_file(mib)
        print(f"## 1. Local disk: {mib} MiB through the gateway, one request vs tus in 8 MiB PATCHes ({self.args.runs} runs each, alternating)")
        global CHUNK
        singles, tuses, larger = [], [], []
        for run in range(self.args.runs):
            singles.append(size / self.single(path, size, sha, f"single-{run}.bin") / 1e6)
            tuses.append(size / self.tus(path, size, sha, f"tus-{run}.bin")[0] / 1e6)
            CHUNK = 32 << 20
            larger.append(size / self.tus(path, size, sha, f"tus32-{run}.bin")[0] / 1e6)
            CHUNK = 8 << 20
            print(f"run {run + 1}: single request {singles[-1]:.0f} MB/s, tus {tuses[-1]:.0f} MB/s (32 MiB PATCHes: {larger[-1]:.0f} MB/s)")
        single, tus, tus32 = statistics.median(singles), statistics.median(tuses), statistics.median(larger)
        print(f"median: single request {single:.0f} MB/s, tus {tus:.0f} MB/s, tus / single = {tus / single:.2f}"
              f" (32 MiB PATCHes, the CLI's: {tus32:.0f} MB/s, {tus32 / single:.2f})")

        print("\n## 2. S3 (the S3 test server): the final step (the 1-byte PATCH that completes the upload)")
        import boto3
        bucket = "bench-" + self.run
        boto3.client("s3", endpoint_url=self.args.s3, aws_access_key_id="test", aws_secret_access_key="test",
                     region_name="us-east-1").create_bucket(Bucket=bucket)
        self.infra("restart", "blob", env={"CIRRUS_LOCAL_BLOB_S3_ENDPOINT": self.args.s3, "CIRRUS_LOCAL_BLOB_S3_BUCKET": bucket})
        small_path, small_sha = self.make_file(100)
        s3 = boto3.client("s3", endpoint_url=self.args.s3, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        for label, (p, s, n) in {"100 MiB": (small_path, small_sha, 100 << 20), f"{mib} MiB": (path, sha, size)}.items():
            finals, blob_side, store_side = [], [], []
            for i in range(3):
                finals.append(self.tus(p, n, s, f"s3-{label.replace(' ', '')}-{i}.bin", last_byte_alone=True)[1] * 1000)
                line = self.last_completion()
                store_side.append(int(line["store_complete_ms"]))
                blob_side.append(int(line["complete_ms"]) - int(line["store_complete_ms"]))
            # The S3 server's own CompleteMultipartUpload for an upload of this size, asked directly.
            upload = s3.create_multipart_upload(Bucket=bucket, Key=f"direct-{n}")
            part = os.urandom(CHUNK)
            parts = [{"PartNumber": k + 1, "ETag": s3.upload_part(Bucket=bucket, Key=f"direct-{n}", UploadId=upload["UploadId"],
                                                                   PartNumber=k + 1, Body=part)["ETag"]} for k in range(n // CHUNK)]
            begun = time.monotonic()
            s3.complete_multipart_upload(Bucket=bucket, Key=f"direct-{n}", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts})
            direct = (time.monotonic() - begun) * 1000
            print(f"{label}: final step {statistics.median(finals):.0f} ms through the gateway (runs: {', '.join(f'{f:.0f}' for f in finals)});"
                  f" in blob: CompleteMultipartUpload and the last part {statistics.median(store_side):.0f} ms, the rest (hash, registration,"
                  f" outbox) {statistics.median(blob_side):.0f} ms; the S3 test server's CompleteMultipartUpload alone, asked directly: {direct:.0f} ms")
        self.infra("restart", "blob")

        print("\n## 3. The running SHA-256 on resume: recompute from the staged bytes, or persist the state")
        digest, started = hashlib.sha256(), time.monotonic()
        with open(path, "rb") as handle:
            while chunk := handle.read(8 << 20):
                digest.update(chunk)
        seconds = time.monotonic() - started
        print(f"recompute: hashing {mib} MiB from the page cache takes {seconds:.2f} s ({size / seconds / 1e6:.0f} MB/s; more from a cold disk,"
              f" impossible on S3 where unfinished parts cannot be read); persisted: 113 bytes written with each PATCH's offset")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("api")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--infra-run", required=True)
    parser.add_argument("--s3", required=True)
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=2)
    Bench(parser.parse_args()).main()


if __name__ == "__main__":
    main()
