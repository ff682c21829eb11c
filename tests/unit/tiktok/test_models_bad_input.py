"""The TikTok payload models under any JSON TikTok could plausibly send: every model either parses or refuses with a
``ValidationError`` (never another exception), and its time properties give an aware UTC datetime, None, or a
``ValueError`` the caller already handles; never an OSError or OverflowError that crashes a worker."""

from __future__ import annotations

import inspect
import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from returnbridge.tiktok import models
from returnbridge.tiktok.models import ReturnStatusChange, WebhookEvent, utc

PAYLOAD_MODELS = sorted(
    (cls for _, cls in inspect.getmembers(models, inspect.isclass)
     if issubclass(cls, models.TikTokModel) and cls is not models.TikTokModel and cls.__module__ == models.__name__),
    key=lambda cls: cls.__name__,
)
TIME_PROPERTIES = ("created_at", "updated_at", "deadline_at", "expires_at", "sent_at")

odd_times = st.sampled_from([0, -1, 1_750_000_000, 1_750_000_000_000, 10**17, 2**63 - 1, 2**63, -(2**63), 10**30,
                             253_402_300_800, "", "1750000000", "soon", 1.5, None])
odd_money = st.sampled_from(["12.30", "", " ", "1e3", "NaN", "Infinity", "-0", "12,30", "１２", "1" * 300, 12.3, 0,
                             True, None, [], {}])
scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)


def documents(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    """Objects with the model's own field names, each present or not, of a plausible or an odd value."""
    values = json_values | odd_times | odd_money
    fields = st.fixed_dictionaries({}, optional={name: values for name in model.model_fields})
    return fields | json_values


def _check_times(parsed: BaseModel) -> None:
    for name in TIME_PROPERTIES:
        if not hasattr(type(parsed), name):
            continue
        try:
            moment = getattr(parsed, name)
        except ValueError:
            continue  # refused as "not a time": the callers turn it into a failed or quarantined record
        assert moment is None or (isinstance(moment, datetime) and moment.utcoffset() is not None), (name, moment)


@pytest.mark.parametrize("model", PAYLOAD_MODELS, ids=lambda cls: cls.__name__)
def test_any_json_either_parses_into_the_model_or_is_refused_with_a_validation_error(
    model: type[BaseModel],
) -> None:
    @settings(max_examples=40, deadline=None, derandomize=True, database=None)
    @given(document=documents(model))
    def check(document: Any) -> None:
        try:
            parsed = model.model_validate_json(json.dumps(document))
        except ValidationError:
            return
        _check_times(parsed)

    check()


@pytest.mark.parametrize("seconds", [10**17, 2**63 - 1, 2**63, -(2**63), 10**30, 253_402_300_800])
def test_a_unix_time_no_datetime_holds_is_a_value_error(seconds: int) -> None:
    # Found by the property test: fromtimestamp raises OSError (errno 75) for 10**17, which the webhook processing
    # did not catch, so a return webhook with such an update_time crashed its job on every retry.
    with pytest.raises(ValueError, match="not a Unix time"):
        utc(seconds)


def test_a_return_webhook_with_an_impossible_update_time_refuses_with_a_value_error() -> None:
    change = ReturnStatusChange.model_validate({"return_id": "1", "update_time": 10**17})
    with pytest.raises(ValueError):
        _ = change.updated_at


def test_a_webhook_sent_at_an_impossible_time_refuses_with_a_value_error() -> None:
    event = WebhookEvent.model_validate({"type": 12, "tts_notification_id": "1", "shop_id": "1",
                                         "timestamp": 10**17, "data": {}})
    with pytest.raises(ValueError):
        _ = event.sent_at
