"""TikTok's return records merged into the case timeline: fetched over real HTTP from the emulator, written to real
SQLite and PostgreSQL. Returns are opened and moved along by the buyer (control API) and the seller (open API)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, TimelineEvent
from returnbridge.emulators.tiktok import world as emulator_world
from returnbridge.errors import UserFacingError
from returnbridge.sync.records import fetch_due_records, merge_return_records
from returnbridge.sync.runtime import Runtime
from returnbridge.tiktok import ShopClient

from .conftest import Control

RECORDS_PATH = "/return_refund/202309/returns/{}/records"


def utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def add_case(
    runtime: Runtime,
    account_id: int,
    request: dict[str, Any],
    *,
    kind: str = "return",
    needs_action: bool = False,
    deadline: datetime | None = None,
) -> int:
    """The case ingest would have written for this TikTok request, marked records-due."""
    with transaction(runtime.sessions) as session:
        case = Case(
            account_id=account_id,
            kind=kind,
            tiktok_id=request.get("return_id") or request["cancel_id"],
            order_id=request["order_id"],
            tiktok_status=request.get("return_status") or request.get("cancel_status", ""),
            tiktok_create_time=utc(request["create_time"]),
            tiktok_update_time=utc(request["update_time"]),
            needs_action=needs_action,
            seller_deadline=deadline,
            records_due=True,
            raw=request,
        )
        session.add(case)
        session.flush()
        return case.id


def events(runtime: Runtime, case_id: int) -> list[TimelineEvent]:
    with transaction(runtime.sessions) as session:
        stmt = select(TimelineEvent).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.at,
                                                                                      TimelineEvent.id)
        return list(session.scalars(stmt))


def case_row(runtime: Runtime, case_id: int) -> Case:
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case


@pytest.fixture
def shop(runtime: Runtime, account_id: int) -> ShopClient:
    return runtime.shop_client(account_id)


@pytest.fixture
def completed_return(control: Control, us_shop: dict[str, Any], shop: ShopClient) -> dict[str, Any]:
    """A return that went the whole way: buyer asks, seller approves, buyer ships, seller receives, TikTok refunds."""
    opened = control.new_return(us_shop["id"])
    return_id = opened["return_id"]
    shop.approve_return(return_id, decision="APPROVE_RETURN")
    control("POST", f"/returns/{return_id}/ship", {"tracking_number": "1Z999AA10123456784"})
    shop.approve_return(return_id, decision="APPROVE_RECEIVED_PACKAGE")
    control("POST", f"/requests/{return_id}/complete_refund", {})
    return opened


def test_records_are_merged_oldest_first_with_their_actors(
    runtime: Runtime, account_id: int, shop: ShopClient, completed_return: dict[str, Any]
) -> None:
    case_id = add_case(runtime, account_id, completed_return)

    added = merge_return_records(runtime, case_id)

    timeline = events(runtime, case_id)
    assert added == 5
    assert [e.actor for e in timeline] == ["buyer", "seller", "buyer", "seller", "tiktok"]
    assert [e.kind for e in timeline] == ["tiktok_record"] * 5
    assert [e.detail["role"] for e in timeline] == ["BUYER", "SELLER", "BUYER", "SELLER", "SYSTEM"]
    records = shop.get_return_records(completed_return["return_id"])
    assert [e.at for e in timeline] == [r.created_at for r in records]
    assert timeline[0].detail["description"] == "Buyer submitted a return and refund request"
    assert timeline[2].detail["note"].endswith("tracking number 1Z999AA10123456784")
    assert all(len(e.dedupe_key) <= 128 for e in timeline)


def test_a_merged_case_is_no_longer_due_and_remembers_when_it_was_synced(
    runtime: Runtime, account_id: int, completed_return: dict[str, Any]
) -> None:
    case_id = add_case(runtime, account_id, completed_return)
    before = datetime.now(UTC)

    merge_return_records(runtime, case_id)

    case = case_row(runtime, case_id)
    assert case.records_due is False
    assert case.records_synced_at is not None and case.records_synced_at >= before - timedelta(seconds=1)


def test_the_buyers_photos_and_video_are_kept_as_sent(runtime: Runtime, account_id: int, shop: ShopClient) -> None:
    # The emulator's seeded returns include buyers who sent photos and a video with their request.
    with_video = next(
        (r for r in shop.iter_returns() if any(rec.videos for rec in shop.get_return_records(r.return_id))), None
    )
    assert with_video is not None, "the seeded emulator data has no return with a buyer video"
    sent = next(rec for rec in shop.get_return_records(with_video.return_id) if rec.videos)
    case_id = add_case(runtime, account_id, with_video.model_dump(mode="json"))

    merge_return_records(runtime, case_id)

    (buyer,) = [e for e in events(runtime, case_id) if e.detail["videos"]]
    assert buyer.actor == "buyer"
    assert buyer.detail["note"] == sent.note
    assert buyer.detail["images"] == [
        {"url": image.url, "width": image.width, "height": image.height} for image in sent.images
    ]
    assert buyer.detail["videos"] == [
        {"url": v.url, "cover": v.cover, "width": v.width, "height": v.height, "duration_millis": v.duration_millis}
        for v in sent.videos
    ]


def test_the_sellers_evidence_and_tiktoks_arbitration_are_on_the_timeline(
    runtime: Runtime, account_id: int, control: Control, us_shop: dict[str, Any], shop: ShopClient
) -> None:
    opened = control.new_return(us_shop["id"])
    return_id = opened["return_id"]
    photo = shop.upload_image(control.http.get("/media/evidence.jpg").content, filename="evidence.jpg")
    reason = shop.get_reject_reasons(return_id)[0].name
    shop.reject_return(return_id, decision="REJECT_RETURN", reject_reason=reason, comment="Worn twice, tag removed",
                       images=[photo])
    control("POST", f"/returns/{return_id}/escalate", {})
    control("POST", f"/returns/{return_id}/arbitration", {"winner": "SELLER"})
    case_id = add_case(runtime, account_id, opened)

    merge_return_records(runtime, case_id)

    timeline = events(runtime, case_id)
    assert [(e.actor, e.detail["role"]) for e in timeline] == [
        ("buyer", "BUYER"), ("seller", "SELLER"), ("buyer", "BUYER"), ("tiktok", "OPERATOR")
    ]
    seller = timeline[1]
    assert seller.detail["note"] == "Worn twice, tag removed"
    sent = shop.get_return_records(return_id)[1]
    assert len(sent.images) == 1
    assert seller.detail["images"] == [{"url": i.url, "width": i.width, "height": i.height} for i in sent.images]


def test_merging_twice_adds_nothing(runtime: Runtime, account_id: int, completed_return: dict[str, Any]) -> None:
    case_id = add_case(runtime, account_id, completed_return)
    merge_return_records(runtime, case_id)

    again = merge_return_records(runtime, case_id)

    assert again == 0
    assert len(events(runtime, case_id)) == 5


def test_records_added_since_the_last_merge_are_appended(
    runtime: Runtime, account_id: int, control: Control, us_shop: dict[str, Any], shop: ShopClient
) -> None:
    opened = control.new_return(us_shop["id"])
    case_id = add_case(runtime, account_id, opened)
    assert merge_return_records(runtime, case_id) == 1
    shop.approve_return(opened["return_id"], decision="APPROVE_RETURN")
    control("POST", f"/returns/{opened['return_id']}/ship", {})

    added = merge_return_records(runtime, case_id)

    assert added == 2
    assert [e.detail["description"] for e in events(runtime, case_id)] == [
        "Buyer submitted a return and refund request",
        "Seller approved the return request; waiting for the buyer to ship",
        "Buyer shipped the item",
    ]


def _wait_until_consumed(control: Control, path_prefix: str) -> None:
    deadline = time.monotonic() + 10
    while any(f["path_prefix"] == path_prefix for f in control("GET", "/faults")["scripted"]):
        assert time.monotonic() < deadline, "the record call never reached the emulator"
        time.sleep(0.02)


def test_a_case_changed_during_the_fetch_stays_due(
    runtime: Runtime, account_id: int, control: Control, us_shop: dict[str, Any]
) -> None:
    opened = control.new_return(us_shop["id"])
    case_id = add_case(runtime, account_id, opened)
    path = RECORDS_PATH.format(opened["return_id"])
    control("POST", "/faults", {"path_prefix": path, "count": 1, "code": None, "delay_ms": 1500})
    merged: list[int] = []
    fetch = threading.Thread(target=lambda: merged.append(merge_return_records(runtime, case_id)))
    fetch.start()
    try:
        _wait_until_consumed(control, path)  # the record call is now in flight, held by the emulator
        with transaction(runtime.sessions) as session:  # what ingest does when TikTok reports a newer state
            case = session.get(Case, case_id)
            assert case is not None
            case.tiktok_update_time = utc(opened["update_time"] + 60)
            case.records_due = True
    finally:
        fetch.join(timeout=30)

    assert merged == [1]  # what was fetched is kept
    case = case_row(runtime, case_id)
    assert case.records_due is True
    assert case.records_synced_at is None


def test_due_cases_waiting_for_the_merchant_come_first(
    runtime: Runtime, account_id: int, control: Control, us_shop: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    idle = add_case(runtime, account_id, control.new_return(us_shop["id"]))
    no_deadline = add_case(runtime, account_id, control.new_return(us_shop["id"]), needs_action=True)
    later = add_case(runtime, account_id, control.new_return(us_shop["id"]), needs_action=True,
                     deadline=now + timedelta(hours=40))
    sooner = add_case(runtime, account_id, control.new_return(us_shop["id"]), needs_action=True,
                      deadline=now + timedelta(hours=3))

    first = fetch_due_records(runtime, account_id, limit=2)

    assert first == 2
    due = {case_id: case_row(runtime, case_id).records_due for case_id in (idle, no_deadline, later, sooner)}
    assert due == {sooner: False, later: False, no_deadline: True, idle: True}
    assert fetch_due_records(runtime, account_id, limit=1) == 1
    assert case_row(runtime, no_deadline).records_due is False
    assert case_row(runtime, idle).records_due is True


def test_a_return_tiktok_does_not_know_is_no_longer_due_and_says_why(
    runtime: Runtime, account_id: int, control: Control, us_shop: dict[str, Any]
) -> None:
    opened = control.new_return(us_shop["id"])
    case_id = add_case(runtime, account_id, {**opened, "return_id": "4035009999999999999"})

    merged = fetch_due_records(runtime, account_id)

    assert merged == 0
    assert case_row(runtime, case_id).records_due is False
    (note,) = events(runtime, case_id)
    assert (note.kind, note.actor) == ("note", "system")
    assert "does not exist" in note.detail["message"]
    assert note.detail["code"] == 25007006


def test_a_failing_case_does_not_stop_the_batch(
    runtime: Runtime, account_id: int, control: Control, us_shop: dict[str, Any]
) -> None:
    # A return of another shop: TikTok refuses it to this shop (25020005), and it is fetched first.
    foreign = control.new_return(control.shop("GB")["id"])
    refused = add_case(runtime, account_id, foreign, needs_action=True, deadline=datetime.now(UTC))
    fine = add_case(runtime, account_id, control.new_return(us_shop["id"]))

    merged = fetch_due_records(runtime, account_id)

    assert merged == 1
    assert case_row(runtime, fine).records_due is False
    assert len(events(runtime, fine)) == 1
    assert case_row(runtime, refused).records_due is True
    assert events(runtime, refused) == []


def test_only_the_accounts_own_returns_are_fetched(
    runtime: Runtime, account_id: int, control: Control, us_shop: dict[str, Any]
) -> None:
    cancellation = control.new_cancellation(us_shop["id"])
    not_a_return = add_case(runtime, account_id, cancellation, kind="cancellation")

    assert fetch_due_records(runtime, account_id) == 0
    assert case_row(runtime, not_a_return).records_due is True


def test_a_cancellation_has_no_records_to_merge(
    runtime: Runtime, account_id: int, control: Control, us_shop: dict[str, Any]
) -> None:
    case_id = add_case(runtime, account_id, control.new_cancellation(us_shop["id"]), kind="cancellation")

    with pytest.raises(UserFacingError, match="only returns have TikTok records"):
        merge_return_records(runtime, case_id)


def test_an_unknown_case_is_a_clear_error(runtime: Runtime, account_id: int) -> None:
    with pytest.raises(UserFacingError, match="case 987654 does not exist"):
        merge_return_records(runtime, 987654)


@pytest.fixture
def odd_records(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The emulator answers records the documentation does not describe: a role in odd case with a note that is an
    object and one bare image, hostile text, and a record that is not an object at all."""
    original = emulator_world.record_object

    def odd(record: Any, media_base: str) -> Any:
        rendered = original(record, media_base)
        if rendered["role"] == "SELLER":
            return "seller approved (plain text)"
        rendered.update(
            role="Buyer",
            description="<script>alert(1)</script>",
            note={"text": "see photo"},
            images={"url": f"{media_base}/odd.jpg", "width": 10, "height": 10},
            create_time=None,
            mood="angry",
        )
        return rendered

    monkeypatch.setattr(emulator_world, "record_object", odd)
    yield


def test_records_of_an_unexpected_shape_are_kept_as_sent(
    runtime: Runtime, account_id: int, control: Control, us_shop: dict[str, Any], shop: ShopClient,
    odd_records: None,
) -> None:
    opened = control.new_return(us_shop["id"])
    shop.approve_return(opened["return_id"], decision="APPROVE_RETURN")
    case_id = add_case(runtime, account_id, opened)

    added = merge_return_records(runtime, case_id)

    assert added == 2
    by_actor = {e.actor: e for e in events(runtime, case_id)}
    buyer, unreadable = by_actor["buyer"], by_actor["tiktok"]
    assert buyer.detail["description"] == "<script>alert(1)</script>"
    assert buyer.detail["note"] == {"text": "see photo"}
    assert [image["width"] for image in buyer.detail["images"]] == [10]
    assert buyer.detail["extra"] == {"mood": "angry"}
    assert buyer.at == utc(opened["update_time"])  # no create_time: the case's update time
    assert unreadable.detail["record"] == "seller approved (plain text)"
    assert case_row(runtime, case_id).records_due is False
    assert merge_return_records(runtime, case_id) == 0
