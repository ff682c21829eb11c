"""Cursor paging that overlaps parsing one page with fetching the next.

Turning a page of 50 returns into models costs about twice a bare ``json.loads``, and that parse holds the
GIL. So the next page is requested on a helper thread first, and only once that request is on the wire does
this thread parse the current page: the parse then runs during the server's own time instead of after it.

The next request needs the page's cursor before the page is parsed. It is read straight from the raw bytes
(``peek_next_page_token``: a search from the end of the body, no JSON parse) and checked against the full
parse afterwards; when the two disagree the early request is dropped and the right page is asked for, so a
wrong guess costs one wasted read, never a wrong page. Each page is parsed exactly once.

Once the caller asks for page N+1, the helper sends the request for N+2 itself as soon as N+1 arrives, and
hands N+1 over when that request is written (see ``_Fetcher``): one thread hand-off per page."""

from __future__ import annotations

import gc
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import orjson
from pydantic import ValidationError

from .envelope import Envelope, peek_next_page_token, validate_json
from .errors import error_for
from .transport import UnexpectedResponse


class CursorPage(Protocol):
    @property
    def next_page_token(self) -> str | None: ...


PageT = TypeVar("PageT", bound=CursorPage)


class PageRequest(Protocol):
    """One page request, prepared on the caller's thread (tokens are resolved there)."""

    def send(self, on_sent: Callable[[], None]) -> bytes:
        """The network part, giving the raw body of a success answer; may run on the helper thread, so it
        touches no caller state. Calls ``on_sent`` once the request is written."""
        ...

    def recover(self, error: Exception) -> bytes:
        """On the caller's thread after ``send`` failed: repeat the request if the error allows it (e.g. an
        expired token, refreshed here), otherwise re-raise ``error``."""
        ...


def parse_page(model: type[Envelope[PageT]], raw: bytes, empty: Callable[[], PageT]) -> PageT:
    """The full page from the raw body of a success answer (as ``Transport.fetch`` returns it)."""
    try:
        envelope = validate_json(model, raw)
    except ValidationError as invalid:
        raise UnexpectedResponse(
            0, f"page does not match the documented shape: {invalid.errors(include_url=False)[:3]}", _request_id(raw)
        ) from invalid
    if envelope.code != 0:  # only with a duplicated "code" key: the transport saw a 0 first
        raise error_for(envelope.code, envelope.message or "", envelope.request_id, 200, None)
    return envelope.data if envelope.data is not None else empty()


@dataclass(frozen=True)
class RawPage:
    """A search page as plain JSON values: the items are TikTok's objects exactly as sent.

    For ingest, which keeps every record verbatim and must not lose a page because one record is malformed:
    a model parse fails the whole page, here each item is judged (and if need be quarantined) on its own.
    """

    items: list[Any]
    next_page_token: str | None
    total_count: int | None
    request_id: str | None


def parse_raw_page(raw: bytes, items_key: str) -> RawPage:
    """The items and cursor of a success answer's raw body; the envelope itself must have the documented shape."""
    # The cyclic GC is paused for the parse for the same reason as in ``envelope.validate_json``.
    paused = gc.isenabled()
    gc.disable()
    try:
        loose = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UnexpectedResponse(0, f"page is not JSON: {exc}", None) from exc
    finally:
        if paused:
            gc.enable()
    if not isinstance(loose, dict):
        raise UnexpectedResponse(0, "page is not a JSON object", None)
    request_id = loose.get("request_id") if isinstance(loose.get("request_id"), str) else None
    code = loose.get("code")
    if code != 0:
        if isinstance(code, int) and not isinstance(code, bool):
            raise error_for(code, str(loose.get("message") or ""), request_id, 200, None)
        raise UnexpectedResponse(0, f"page has no numeric code: {code!r}", request_id)
    data = loose.get("data")
    if data is None:
        return RawPage([], None, 0, request_id)
    if not isinstance(data, dict):
        raise UnexpectedResponse(0, "page data is not an object", request_id)
    items = data.get(items_key)
    if items is None:
        items = []
    elif not isinstance(items, list):
        raise UnexpectedResponse(0, f"page {items_key} is not a list", request_id)
    token = data.get("next_page_token")
    total = data.get("total_count")
    return RawPage(
        items,
        token if isinstance(token, str) and token else None,
        total if isinstance(total, int) and not isinstance(total, bool) else None,
        request_id,
    )


def _request_id(raw: bytes) -> str | None:
    try:
        loose = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    request_id = loose.get("request_id") if isinstance(loose, dict) else None
    return request_id if isinstance(request_id, str) else None


RequestMaker = Callable[[str | None], PageRequest]
# A finished request: the request, its raw page or its error, and the cursor of a request sent after it.
Answer = tuple[PageRequest, bytes, BaseException | None, str | None]


class _Fetcher:
    """The helper thread of one iteration: sends page requests one at a time and hands back their answers.

    Each hand-off between two threads costs a wake-up (tens of microseconds here, at ~1,000 pages/s), so
    they are kept few. When the caller asks for page N+1 it also allows the next request (``result(maker)``):
    the helper then peeks page N+1's cursor as soon as that page arrives and sends the request for page
    N+2 right away, before handing N+1 over, instead of waiting to be told to. Its GIL-holding send thus
    finishes before the caller's parse of N+1 starts, and the parse overlaps the server's work on N+2.
    Nothing is requested more than one page ahead of what the caller asked for.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent = threading.Lock()
        self._sent.acquire()
        self._todo: queue.SimpleQueue[PageRequest | None] = queue.SimpleQueue()
        self._answers: queue.SimpleQueue[Answer] = queue.SimpleQueue()
        self._in_flight = False
        self._ahead: RequestMaker | None = None
        self._thread: threading.Thread | None = None

    def start(self, request: PageRequest) -> None:
        """Send ``request`` on the helper thread; returns once it is on the wire (or has failed)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tiktok-page-fetch", daemon=True)
            self._thread.start()
        with self._lock:
            self._in_flight = True
            self._ahead = None
        self._todo.put(request)
        self._sent.acquire()

    def result(self, maker: RequestMaker) -> tuple[bytes, str | None]:
        """The raw page of the request in flight, and the cursor of the request already sent after it (if
        the helper could send one with ``maker``). On failure the request's ``recover`` decides."""
        with self._lock:
            if self._in_flight:
                self._ahead = maker
        request, raw, error, ahead = self._answers.get()
        if error is None:
            return raw, ahead
        if not isinstance(error, Exception):
            raise error
        return request.recover(error), None

    def discard(self) -> None:
        """Wait for the request in flight and forget whatever it answered."""
        self._answers.get()

    def close(self) -> None:
        """Let the thread end after the request in flight, if any, without waiting for it."""
        if self._thread is not None:
            self._todo.put(None)

    def _on_sent(self, answer: Answer | None) -> Callable[[], None]:
        done = False

        def on_sent() -> None:
            nonlocal done
            if not done:
                done = True
                if answer is None:
                    self._sent.release()
                else:
                    self._answers.put(answer)

        return on_sent

    def _run(self) -> None:
        request = self._todo.get()
        # What to do once a request is written: release ``start`` (which waits for it), or hand over the
        # answer to the previous request. That answer waits for the write because the caller's thread would
        # otherwise take the GIL at the first socket write (the headers) and parse with the body unsent.
        answer: Answer | None = None
        while request is not None:
            on_sent = self._on_sent(answer)
            raw, error = b"", None
            try:
                raw = request.send(on_sent)
            except BaseException as failure:  # handed to the caller's thread by ``result``
                error = failure
            finally:
                on_sent()  # also when the HTTP stack never reported the write, or the send failed
            with self._lock:
                maker, self._ahead = self._ahead, None
                token = peek_next_page_token(raw) if maker is not None and error is None else None
                following = None
                if maker is not None and token:
                    try:
                        following = maker(token)
                    except Exception:  # then the caller's thread starts that request as usual
                        following = None
                self._in_flight = following is not None
            if following is not None:
                answer = (request, raw, error, token)
                request = following
            else:
                self._answers.put((request, raw, error, None))
                answer = None
                request = self._todo.get()


def _nothing() -> None:
    return None


def iter_pages(requests: Callable[[], RequestMaker], parse: Callable[[bytes], PageT]) -> Iterator[PageT]:
    """Every page in order until the cursor is empty or absent.

    ``requests`` runs on the caller's thread (it resolves tokens) and gives a maker of page requests. Page
    N+1 is requested before page N is handed out; if that request fails for good, page N is still yielded
    and the error is raised when the caller asks for the next page.
    """
    fetcher = _Fetcher()
    try:
        request = requests()(None)
        try:
            raw = request.send(_nothing)
        except Exception as error:
            raw = request.recover(error)
        in_flight: str | None = None  # the cursor of the request already sent for the next page
        while True:
            if in_flight is None:
                in_flight = peek_next_page_token(raw)
                if in_flight:
                    fetcher.start(requests()(in_flight))
            page = parse(raw)
            token = page.next_page_token or None
            if token != in_flight:
                # The quick look was wrong (the key sat elsewhere, e.g. in an unknown nested object): drop
                # that request, whatever it answers, and ask for the page the parsed cursor names.
                if in_flight:
                    fetcher.discard()
                in_flight = token
                if token:
                    fetcher.start(requests()(token))
            yield page
            if not token:
                return
            raw, in_flight = fetcher.result(requests())
    finally:
        # An abandoned iteration lets the in-flight read finish on its own instead of waiting for it.
        fetcher.close()
