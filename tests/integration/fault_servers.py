"""Misbehaving peers for the fault tests, all on 127.0.0.1 and all in this test process:

- `HangServer`: a raw TCP listener that accepts connections and reads what is sent, but never
  writes a byte (a provider that took the request and went silent).
- `MalformedProvider`: an HTTP server answering `POST /v1/chat/completions` with a broken reply
  chosen by the model name (see `MalformedProvider.REPLIES`).
- `TcpProxy`: forwards a loopback port to another (Postgres); `cut()` closes every connection
  and stops listening, `resume()` listens again on the same port.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _listen(port: int = 0) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    return listener


class HangServer:
    """Accepts, reads and discards, never answers. `connections` counts accepted connections."""

    def __init__(self) -> None:
        self._listener = _listen()
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.bytes_received = 0
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._open.append(connection)
            threading.Thread(target=self._drain, args=(connection,), daemon=True).start()

    def _drain(self, connection: socket.socket) -> None:
        try:
            while data := connection.recv(65536):
                with self._lock:
                    self.bytes_received += len(data)
        except OSError:
            pass

    def stop(self) -> None:
        self._stopped = True
        self._listener.close()
        with self._lock:
            for connection in self._open:
                connection.close()
            self._open.clear()


class MalformedProvider:
    """An OpenAI-style endpoint whose replies are broken in the way the model name says (a key of
    `REPLIES`, optionally followed by `-<anything>`).

    Each entry: model → (status, content type, body bytes, declared Content-Length or None for
    the real length). A declared length above the body's makes a truncated transfer (the server
    closes the connection early)."""

    COMPLETION = {
        "id": "chatcmpl-malformed", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }

    MESSAGE = {
        "id": "msg_malformed", "type": "message", "role": "assistant", "model": "m",
        "content": [{"type": "text", "text": "fine"}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }

    REPLIES: dict[str, tuple[int, str, bytes, int | None]] = {
        "bad-invalid-json": (200, "application/json", b"{this is not json", None),
        "bad-missing-choices": (200, "application/json", b'{"id":"chatcmpl-x","object":"chat.completion","created":1}', None),
        "bad-empty-object": (200, "application/json", b"{}", None),
        "bad-json-array": (200, "application/json", b"[1,2,3]", None),
        "bad-choices-wrong-type": (200, "application/json", b'{"id":"x","choices":"none"}', None),
        "bad-message-wrong-type": (200, "application/json", b'{"id":"x","choices":[{"index":0,"message":"hello","finish_reason":"stop"}]}', None),
        "bad-content-wrong-type": (200, "application/json", json.dumps({**COMPLETION, "choices": [{"index": 0, "message": {"role": "assistant", "content": {"text": 42}}, "finish_reason": "stop"}]}).encode(), None),
        "bad-usage-wrong-type": (200, "application/json", json.dumps({**COMPLETION, "usage": {"prompt_tokens": "three", "completion_tokens": [], "total_tokens": None}}).encode(), None),
        "bad-truncated-json": (200, "application/json", json.dumps(COMPLETION).encode()[:60], None),
        "bad-truncated-transfer": (200, "application/json", json.dumps(COMPLETION).encode()[:60], 400),
        "bad-empty-body": (200, "application/json", b"", None),
        "bad-html-page": (200, "text/html", b"<html><body><h1>Welcome to nginx!</h1></body></html>", None),
        "bad-html-502": (502, "text/html", b"<html><head><title>502 Bad Gateway</title></head></html>", None),
        "bad-error-not-json": (500, "application/json", b"Internal Server Error", None),
        "bad-binary": (200, "application/octet-stream", bytes(range(256)), None),
        # Anthropic Messages replies (for a provider with api_style anthropic).
        "anth-text-wrong-type": (200, "application/json", json.dumps({**MESSAGE, "content": [{"type": "text", "text": 42}]}).encode(), None),
        "anth-blocks-not-objects": (200, "application/json", json.dumps({**MESSAGE, "content": [1, 2]}).encode(), None),
        "anth-no-content": (200, "application/json", b'{"id":"msg_x","type":"message","role":"assistant"}', None),
        "anth-ok": (200, "application/json", json.dumps(MESSAGE).encode(), None),
        # A well-formed completion under the wrong content type: read leniently, it succeeds.
        "lenient-text-plain": (200, "text/plain", json.dumps(COMPLETION).encode(), None),
    }

    def __init__(self) -> None:
        replies = self.REPLIES
        self.requests: dict[str, int] = {}
        requests_seen = self.requests
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    model = json.loads(body).get("model", "")
                except (ValueError, AttributeError):
                    model = ""
                key = next((k for k in replies if model == k or model.startswith(k + "-")), "")
                with lock:
                    requests_seen[model] = requests_seen.get(model, 0) + 1
                status, content_type, payload, declared = replies.get(
                    key, (404, "application/json", b'{"error":{"message":"no such model","type":"invalid_request_error","code":"model_not_found"}}', None))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(declared if declared is not None else len(payload)))
                if declared is not None:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class TcpProxy:
    """A loopback TCP forwarder whose link the test can cut and restore."""

    # A simple-protocol `COMMIT` as libpq's PQexec sends it: 'Q', int32 length 11, "COMMIT\0".
    COMMIT_MESSAGE = b"Q\x00\x00\x00\x0bCOMMIT\x00"

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        # Armed by `cut_after_next_commit`; servers whose replies are no longer passed on.
        self._commit_trap = False
        self._silenced: set[socket.socket] = set()
        self.commit_cut = threading.Event()
        self.accepted = 0
        self._listener: socket.socket | None = None
        self.port = 0
        self.resume()

    def resume(self) -> None:
        """Listens (again, on the same port once it had one) and forwards new connections."""
        listener = _listen(self.port)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _finish_commit_cut(self) -> None:
        self.cut()
        self.commit_cut.set()

    def cut(self) -> int:
        """Stops listening and closes every forwarded connection (both sides); returns how many."""
        with self._lock:
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, []
            self._silenced.clear()
        if listener is not None:
            listener.close()
        for client, server in pairs:
            for end in (client, server):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()
        return len(pairs)

    def stop(self) -> None:
        self.cut()

    def cut_after_next_commit(self, settle_seconds: float = 0.5) -> None:
        """The next COMMIT a client sends reaches the server, but its answer never comes back:
        after `settle_seconds` (the server has committed by then) every connection is cut and the
        proxy stops listening until `resume()`. `commit_cut` is set once that happened. This is the
        ambiguous commit: the client cannot know whether its transaction committed."""
        self.commit_cut.clear()
        with self._lock:
            self._commit_trap = True
        self._settle_seconds = settle_seconds

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    client.close()
                    server.close()
                    return
                self._pairs.append((client, server))
                self.accepted += 1
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _pump(self, source: socket.socket, destination: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                trapped = False
                with self._lock:
                    if source in self._silenced:
                        continue  # the server's answer is lost on the way
                    if self._commit_trap and self.COMMIT_MESSAGE in data:
                        self._commit_trap = False
                        self._silenced.add(destination)
                        trapped = True
                destination.sendall(data)
                if trapped:
                    threading.Timer(self._settle_seconds, self._finish_commit_cut).start()
        except OSError:
            pass
        # One side ended: end the other too, as a broken link would.
        for end in (source, destination):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self._lock:
            self._pairs = [pair for pair in self._pairs if source not in pair]
        source.close()
