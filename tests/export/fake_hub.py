"""A small stand-in for the Hugging Face Hub's HTTP API on 127.0.0.1, enough for ``push_to_hub``.

It keeps dataset repositories in memory: repo creation and info, pre-upload (parquet files go the
LFS way, the rest inline), the LFS batch API with basic PUT uploads, commits (NDJSON), file
listing and downloads. Requests it does not know are recorded in ``unknown`` and answered 404.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

COMMIT = "c" * 40


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, dict[str, bytes]] = {}
        self.private: dict[str, bool] = {}
        self.blobs: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.unknown: list[tuple[str, str]] = []
        self.tokens: set[str] = set()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                hub._route(self, "GET")

            def do_HEAD(self) -> None:
                hub._route(self, "HEAD")

            def do_POST(self) -> None:
                hub._route(self, "POST")

            def do_PUT(self) -> None:
                hub._route(self, "PUT")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _tree(self, repo: str, prefix: str, recursive: bool) -> list[dict[str, Any]]:
        """Files and folders under ``prefix``, as the Hub's tree API lists them."""
        base = f"{prefix}/" if prefix else ""
        entries: dict[str, dict[str, Any]] = {}
        for name, data in sorted(self.repos.get(repo, {}).items()):
            if not name.startswith(base):
                continue
            parts = name[len(base):].split("/")
            for depth in range(1, len(parts)):
                folder = base + "/".join(parts[:depth])
                entries.setdefault(folder, {"type": "directory", "path": folder, "oid": "0" * 40})
                if not recursive:
                    break
            if recursive or len(parts) == 1:
                entries[name] = {"type": "file", "path": name, "size": len(data),
                                 "oid": hashlib.sha1(data).hexdigest()}
        return list(entries.values())

    # ------------------------------------------------------------------------------------ routing

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: Any = None, headers: dict[str, str] | None = None,
              raw: bytes | None = None, method: str = "GET") -> None:
        data = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
        h.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        if method != "HEAD":
            h.wfile.write(data)

    def _body(self, h: BaseHTTPRequestHandler) -> bytes:
        length = int(h.headers.get("Content-Length") or 0)
        return h.rfile.read(length) if length else b""

    def _route(self, h: BaseHTTPRequestHandler, method: str) -> None:
        path = unquote(urlparse(h.path).path)
        self.requests.append((method, path))
        auth = h.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            self.tokens.add(auth[7:])
        body = self._body(h) if method in ("POST", "PUT") else b""
        if path == "/api/validate-yaml" and method == "POST":
            # The real Hub checks the card's metadata; here: it must be YAML mapping.
            content = json.loads(body).get("content", "")
            meta = yaml.safe_load(content.split("---\n")[1]) if content.startswith("---\n") else None
            return self._send(h, 200 if isinstance(meta, dict) else 400, {"errors": [], "warnings": []})
        if path == "/api/agent-harnesses" and method == "GET":  # huggingface_hub's user-agent registry
            return self._send(h, 200, {"standardEnvVars": [], "harnesses": {}})
        m = re.fullmatch(r"/api/datasets/([^/]+/[^/]+)(?:/revision/[^/]+)?", path)
        if m and method == "GET":
            repo = m.group(1)
            if repo not in self.repos:
                return self._send(h, 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            return self._send(h, 200, {"id": repo, "sha": COMMIT, "private": self.private[repo],
                                       "siblings": [{"rfilename": f} for f in sorted(self.repos[repo])]})
        if path == "/api/repos/create" and method == "POST":
            payload = json.loads(body)
            repo = f"{payload.get('organization') or 'user'}/{payload['name']}" if "/" not in payload["name"] \
                else payload["name"]
            self.repos.setdefault(repo, {})
            self.private[repo] = bool(payload.get("private")) or payload.get("visibility") == "private"
            return self._send(h, 200, {"url": f"{self.url}/datasets/{repo}", "name": repo})
        m = re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/preupload/[^/]+", path)
        if m and method == "POST":
            files = json.loads(body)["files"]
            return self._send(h, 200, {"files": [
                {"path": f["path"], "uploadMode": "lfs" if f["path"].endswith(".parquet") else "regular",
                 "shouldIgnore": False} for f in files]})
        m = re.fullmatch(r"/datasets/([^/]+/[^/]+)\.git/info/lfs/objects/batch", path)
        if m and method == "POST":
            objects = json.loads(body)["objects"]
            return self._send(h, 200, {"transfer": "basic", "objects": [
                {"oid": o["oid"], "size": o["size"],
                 "actions": {"upload": {"href": f"{self.url}/lfs-upload/{o['oid']}"}}} for o in objects]},
                {"Content-Type": "application/vnd.git-lfs+json"})
        m = re.fullmatch(r"/lfs-upload/([0-9a-f]{64})", path)
        if m and method == "PUT":
            if hashlib.sha256(body).hexdigest() != m.group(1):
                return self._send(h, 400, {"error": "sha256 mismatch"})
            self.blobs[m.group(1)] = body
            return self._send(h, 200, {})
        m = re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/commit/[^/]+", path)
        if m and method == "POST":
            repo = m.group(1)
            for line in body.decode().splitlines():
                item = json.loads(line)
                value = item.get("value", {})
                if item["key"] == "file":
                    self.repos[repo][value["path"]] = base64.b64decode(value["content"])
                elif item["key"] == "lfsFile":
                    self.repos[repo][value["path"]] = self.blobs[value["oid"]]
                elif item["key"] == "deletedFile":
                    self.repos[repo].pop(value["path"], None)
            return self._send(h, 200, {"commitUrl": f"{self.url}/datasets/{repo}/commit/{COMMIT}",
                                       "commitOid": COMMIT})
        m = re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/tree/[^/]+(?:/(.*))?", path)
        if m and method == "GET":
            repo, prefix = m.group(1), (m.group(2) or "").strip("/")
            entries = self._tree(repo, prefix, "recursive=true" in (urlparse(h.path).query or ""))
            if prefix and not entries:
                return self._send(h, 404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
            return self._send(h, 200, entries)
        m = re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/paths-info/[^/]+", path)
        if m and method == "POST":
            repo = m.group(1)
            wanted = json.loads(body or b"{}").get("paths") or []
            everything = {e["path"]: e for e in self._tree(m.group(1), "", True)}
            return self._send(h, 200, [everything[p] for p in wanted if p in everything])
        m = re.fullmatch(r"/datasets/([^/]+/[^/]+)/resolve/[^/]+/(.+)", path)
        if m and method in ("GET", "HEAD"):
            repo, name = m.group(1), m.group(2)
            data = self.repos.get(repo, {}).get(name)
            if data is None:
                return self._send(h, 404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"},
                                  method=method)
            etag = hashlib.sha1(data).hexdigest()
            return self._send(h, 200, raw=data, method=method,
                              headers={"ETag": f'"{etag}"', "X-Repo-Commit": COMMIT})
        self.unknown.append((method, path))
        return self._send(h, 404, {"error": f"fake hub: no route for {method} {path}"}, method=method)
