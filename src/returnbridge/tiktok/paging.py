"""Cursor paging that overlaps parsing one page with fetching the next.

Turning a page of 50 returns into models costs about three times a bare ``json.loads``, and that parse holds
the GIL. So the next page is requested on a helper thread first, and only once that request is on the wire
does this thread parse the current page: the parse then runs during the server's own time instead of after
it. The cursor is read first with a tiny model so the next request can go out before the full parse.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from .envelope import Envelope, PageCursor
from .transport import UnexpectedResponse

PageT = TypeVar("PageT", bound=BaseModel)

RawPage = tuple[Envelope[PageCursor], bytes]


class PageRequest(Protocol):
    """One page request, prepared on the caller's thread (tokens are resolved there)."""

    def send(self, on_sent: Callable[[], None]) -> RawPage:
        """The network part; may run on the helper thread, so it touches no caller state. Calls
        ``on_sent`` once the request is written."""
        ...

    def recover(self, error: Exception) -> RawPage:
        """On the caller's thread after ``send`` failed: repeat the request if the error allows it (e.g. an
        expired token, refreshed here), otherwise re-raise ``error``."""
        ...


def parse_page(model: type[Envelope[PageT]], raw: bytes, request_id: str | None, empty: Callable[[], PageT]) -> PageT:
    """The full page from the raw body of a success answer (already checked by ``decode_envelope``)."""
    try:
        envelope = model.model_validate_json(raw)
    except ValidationError as invalid:
        raise UnexpectedResponse(
            0, f"page does not match the documented shape: {invalid.errors(include_url=False)[:3]}", request_id
        ) from invalid
    return envelope.data if envelope.data is not None else empty()


def _send_signalling(request: PageRequest, sent: threading.Event) -> RawPage:
    try:
        return request.send(sent.set)
    finally:
        sent.set()  # also when the HTTP stack never reported the write, or the send failed


def _nothing() -> None:
    return None


def iter_pages(
    request_for: Callable[[str | None], PageRequest], parse: Callable[[bytes, str | None], PageT]
) -> Iterator[PageT]:
    """Every page in order until the cursor is empty or absent.

    Page N+1 is requested before page N is handed out; if that request fails for good, page N is still
    yielded and the error is raised when the caller asks for the next page.
    """
    fetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tiktok-page-fetch")
    try:
        request = request_for(None)
        try:
            head, raw = request.send(_nothing)
        except Exception as error:
            head, raw = request.recover(error)
        while True:
            token = head.data.next_page_token if head.data is not None else None
            upcoming: Future[RawPage] | None = None
            if token:
                request = request_for(token)
                sent = threading.Event()
                upcoming = fetcher.submit(_send_signalling, request, sent)
                sent.wait()
            yield parse(raw, head.request_id)
            if upcoming is None:
                return
            try:
                head, raw = upcoming.result()
            except Exception as error:
                head, raw = request.recover(error)
    finally:
        # An abandoned iteration lets the in-flight read finish on its own instead of waiting for it.
        fetcher.shutdown(wait=False, cancel_futures=True)
