"""A small HTTP/1.1 keep-alive server on one epoll loop, for the curl benchmark.

GET /hold       is never answered (keeps a transfer in flight until the client gives up)
GET /fast       is answered at once
GET /delay/MS   is answered after MS milliseconds

It prints its port on stdout once listening. It only parses what the benchmark sends."""
import heapq, os, resource, selectors, socket, sys, time

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
selector = selectors.DefaultSelector()
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(8192)
listener.setblocking(False)
selector.register(listener, selectors.EVENT_READ, None)
print(listener.getsockname()[1], flush=True)

buffers = {}
timers = []  # (due, sequence, socket)
sequence = 0

def answer(connection):
    try:
        connection.send(RESPONSE)
    except OSError:
        close(connection)

def close(connection):
    if connection in buffers:
        del buffers[connection]
        selector.unregister(connection)
        connection.close()

while True:
    timeout = None
    if timers:
        timeout = max(0.0, timers[0][0] - time.monotonic())
    for key, _ in selector.select(timeout):
        if key.fileobj is listener:
            while True:
                try:
                    connection, _ = listener.accept()
                except BlockingIOError:
                    break
                connection.setblocking(False)
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buffers[connection] = b""
                selector.register(connection, selectors.EVENT_READ, None)
            continue
        connection = key.fileobj
        try:
            data = connection.recv(65536)
        except OSError:
            data = b""
        if not data:
            close(connection)
            continue
        buffer = buffers[connection] + data
        while b"\r\n\r\n" in buffer:
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            path = head.split(b" ", 2)[1]
            if path == b"/fast":
                answer(connection)
            elif path.startswith(b"/delay/"):
                sequence += 1
                heapq.heappush(timers, (time.monotonic() + int(path[7:]) / 1000.0, sequence, connection))
            # /hold: never answered
        if connection in buffers:
            buffers[connection] = buffer
    now = time.monotonic()
    while timers and timers[0][0] <= now:
        _, _, connection = heapq.heappop(timers)
        if connection in buffers:
            answer(connection)
