"""Fair to every visitor: what one client may send, hold and leave behind, checked before Gradio sees
a request (an ASGI middleware around the whole app).

- A request body larger than any call of this app needs is refused before it is read (uploads go
  through Gradio's upload route, bounded by its own limit and by the disk budget below).
- An upload is refused while Gradio's folder holds its budget (`ui.files.DISK`).
- A run joins the queue only while its client (its session, and its address) has fewer than its share
  of runs waiting or running; the rest are told why.
- A run whose client never listens for its results is dropped when its turn comes (`abandoned`).
- A raw API call that leaves out inputs gets the widgets' own values for them, as the README says.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from .files import DISK

MAX_BODY = 256 * 1024  # bytes: the longest call of this app (a target string, a list of layers) is a few kB
LISTEN_GRACE = 3.0  # seconds a run waits, when its turn comes, for its client to start listening


@dataclass(frozen=True)
class Shares:
    """How many runs one client may have waiting or running at once, by concurrency group: its
    session's share, and its address's (several sessions behind one address)."""

    session: dict = field(default_factory=lambda: {"optimize": 2, "forward": 4})
    address: dict = field(default_factory=lambda: {"optimize": 4, "forward": 8})


class Listeners:
    """Which sessions are listening for their results (an open stream of Gradio's queue) and which ever
    did: a run whose client never listens is abandoned when its turn comes."""

    def __init__(self):
        self.open, self.ever, self.lock = Counter(), set(), threading.Lock()

    def opened(self, session: str) -> None:
        with self.lock:
            self.open[session] += 1
            self.ever.add(session)

    def closed(self, session: str) -> None:
        with self.lock:
            self.open[session] -= 1
            if self.open[session] <= 0:
                del self.open[session]

    def heard(self, session: str | None, grace: float = LISTEN_GRACE) -> bool:
        """Whether `session` listens (or did), waiting up to `grace` seconds for it to start."""
        end = time.monotonic() + grace
        while session not in self.ever and time.monotonic() < end:
            time.sleep(0.05)
        return session in self.ever or session is None


LISTENERS = Listeners()


class Guard:
    """The middleware (see the module's docstring); `blocks` gives the app's Blocks, once launched."""

    def __init__(self, app, blocks=None, shares: Shares = Shares(), max_body: int = MAX_BODY):
        self.app, self.blocks, self.shares, self.max_body = app, blocks, shares, max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, method = scope["path"], scope["method"]
        if method == "POST" and path.endswith("/upload"):
            return await self.upload(scope, receive, send)
        if method == "POST":
            return await self.call(scope, receive, send)
        session = listening_session(scope, self.queue())
        if session is None:
            return await self.app(scope, receive, send)
        LISTENERS.opened(session)
        try:
            return await self.app(scope, receive, send)
        finally:
            LISTENERS.closed(session)

    def queue(self):
        return getattr(self.blocks, "_queue", None)

    async def upload(self, scope, receive, send):
        """An upload of a known length within the disk budget: its bytes reserved before it is read."""
        length = content_length(scope)
        if length is None:
            return await refuse(send, 411, "An upload must say its length (Content-Length).")
        if not DISK.reserve(length):
            return await refuse(send, 507, "The server's space for uploads is full for a moment; please try again "
                                           "in a minute.")
        try:
            return await self.app(scope, receive, send)
        finally:
            DISK.finished(length)

    async def call(self, scope, receive, send):
        """A call's body, refused if too large (before it is read, or as soon as it passes the bound);
        then, for a run, the client's share of the queue checked and any inputs left out filled in."""
        if (content_length(scope) or 0) > self.max_body:
            return await refuse(send, 413, too_large(self.max_body))
        body = await read_bounded(receive, self.max_body)
        if body is None:
            return await refuse(send, 413, too_large(self.max_body))
        message = None
        if body and self.blocks is not None and ("/queue/join" in scope["path"] or "/call/" in scope["path"]):
            body, message = self.admitted(scope, body)
        if message:
            return await refuse(send, 429, message)
        return await self.app(scope, replay(body, receive), send)

    def admitted(self, scope, body: bytes) -> tuple[bytes, str | None]:
        """The body with left-out inputs filled, and why the run may not join (None: it may)."""
        try:
            payload = json.loads(body)
        except ValueError:
            return body, None  # Gradio answers malformed JSON itself
        fn = endpoint_of(self.blocks, scope["path"], payload)
        if fn is None or not isinstance(payload, dict):
            return body, None
        payload["data"] = with_defaults(fn, payload.get("data"))
        group = fn.concurrency_id if fn.concurrency_id in self.shares.session else None
        if group and self.queue() is not None:
            waiting = runs_of(self.queue(), group)
            session, address = payload.get("session_hash"), client_address(scope)
            if session and waiting["sessions"][session] >= self.shares.session[group]:
                return body, (f"You already have {waiting['sessions'][session]} run(s) of this kind waiting or "
                              "running; please wait for one to finish (or press Stop) before starting another.")
            if waiting["addresses"][address] >= self.shares.address[group]:
                return body, ("Too many runs from your address are waiting or running; please wait for one to "
                              "finish before starting another.")
        return json.dumps(payload).encode(), None


def runs_of(queue, group: str) -> dict[str, Counter]:
    """The runs of a concurrency group waiting or running, counted by session and by address (not those
    asked to stop: they end at once, or as soon as their turn comes)."""
    events = [e for e in in_group(queue, group) if not halted(e)]
    return {"sessions": Counter(e.session_hash for e in events),
            "addresses": Counter(address_of_request(e.request) for e in events)}


def halted(event) -> bool:
    """Whether a queued run has been asked to stop (by Stop, or by a newer run that replaces it)."""
    halts = getattr(getattr(event.fn, "fn", None), "halts", None)
    return halts is not None and halts.asked(event.session_hash)


def in_group(queue, group: str | None = None) -> list:
    """The live events of a concurrency group (None: of every group), running first, then waiting in order."""
    return [e for e in running(queue) + waiting(queue) if group in (None, e.concurrency_id)]


def running(queue) -> list:
    return [e for jobs in queue.active_jobs or [] if jobs for e in jobs if e.alive]


def waiting(queue) -> list:
    return [e for q in queue.event_queue_per_concurrency_id.values() for e in getattr(q, "queue", []) if e.alive]


def endpoint_of(blocks, path: str, payload):
    """The BlockFunction a call runs: by the queue's fn_index, or by the name in /call/<api_name>."""
    if "/call/" in path:
        name = path.rstrip("/").split("/call/")[-1].split("/")[0]
        return next((fn for fn in blocks.fns.values() if fn.api_name == name), None)
    index = payload.get("fn_index") if isinstance(payload, dict) else None
    return blocks.fns.get(index) if isinstance(index, int) else None


def with_defaults(fn, data):
    """`data` with the inputs it leaves out (None, or missing at its end) set to their widgets' own
    values, as a client library would send them."""
    data = list(data) if isinstance(data, list) else []
    defaults = [getattr(component, "value", None) for component in fn.inputs]
    data += [None] * (len(defaults) - len(data))
    return [default if value is None else value for value, default in zip(data, defaults)] + data[len(defaults):]


def listening_session(scope, queue) -> str | None:
    """The session a request listens for, if it is one of Gradio's result streams."""
    path = scope["path"]
    if path.endswith("/queue/data"):
        query = dict(pair.split("=", 1) for pair in scope.get("query_string", b"").decode().split("&") if "=" in pair)
        return query.get("session_hash")
    if "/call/" in path and queue is not None:  # /call/<api_name>/<event_id>
        event = queue.event_ids_to_events.get(path.rstrip("/").split("/")[-1])
        return event.session_hash if event is not None else None
    return None


def header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def content_length(scope) -> int | None:
    value = header(scope, b"content-length")
    return int(value) if value and value.isdigit() else None


def client_address(scope) -> str:
    """The client's address: the first of X-Forwarded-For (a Space's proxy sets it), else the peer's."""
    forwarded = header(scope, b"x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[0].strip()
    client = scope.get("client")
    return client[0] if client else ""


def address_of_request(request) -> str:
    """The address behind a queued event's request (see `client_address`)."""
    if request is None:
        return ""
    return client_address({"headers": [(k.encode(), v.encode()) for k, v in request.headers.items()],
                           "client": (request.client.host,) if request.client else None})


async def read_bounded(receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes `limit` bytes (chunked bodies have no length)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive):
    """A `receive` that hands the app the body already read, then listens to the client as before."""
    sent = False

    async def replaying():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replaying


def too_large(limit: int) -> str:
    return f"The request is larger than any call of this app needs ({limit // 1024} kB at most)."


async def refuse(send, status: int, message: str) -> None:
    """Answer at once with `status` and a JSON `{"detail": message}`, as Gradio words its refusals."""
    body = json.dumps({"detail": message, "error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
