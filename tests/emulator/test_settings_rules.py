"""The settings rules' 422 wording, field by field: pydantic validates, the messages stay the
API's own (each case below is what the hand-written checker answered before pydantic)."""

from __future__ import annotations

import pytest

from orchestrator.emulator.errors import ValidationFailed
from orchestrator.emulator.modules.reactions.models import SETTINGS as REACTIONS
from orchestrator.emulator.modules.repost.models import SETTINGS as REPOST

REFUSED = [
    (REACTIONS, {"speed": 6}, "speed", "must be an integer from 1 to 5"),
    (REACTIONS, {"speed": "fast"}, "speed", "must be an integer"),
    (REACTIONS, {"likes_speed": 2.5}, "likes_speed", "must be an integer"),
    (REACTIONS, {"followers_min": True}, "followers_min", "must be an integer"),
    (REACTIONS, {"speed": [1]}, "speed", "must be an integer"),
    (REACTIONS, {"speed": None}, "speed", "must not be null"),
    (REACTIONS, {"is_likes": 1}, "is_likes", "must be a boolean"),
    (REACTIONS, {"daily_pause_from": "25:00"}, "daily_pause_from", "must be a time HH:MM (00:00-23:59, UTC)"),
    (REACTIONS, {"activity_time_min_h": 900}, "activity_time_min_h", "must be a string"),
    (REACTIONS, {"followers_min": -1}, "followers_min", "must be an integer of at least 0"),
    (REACTIONS, {"masslooking_interval": 0.1}, "masslooking_interval", "must be a number from 0.5 to 60"),
    (REACTIONS, {"masslooking_interval": True}, "masslooking_interval", "must be a number"),
    (REACTIONS, {"gender_filter": "other"}, "gender_filter", "must be one of all, male, female"),
    (REACTIONS, {"gender_filter": 3}, "gender_filter", "must be a string"),
    (REACTIONS, {"language_filter": "English"}, "language_filter", "must look like en,es,fr"),
    (REACTIONS, {"custom_proxy": "not a proxy"}, "custom_proxy", "must look like [scheme://][user:pass@]host:port"),
    (REACTIONS, {"expiration_date": "next week"}, "expiration_date", "must be a date-time YYYY-MM-DD HH:MM:SS (UTC)"),
    (REACTIONS, {"comments": "x" * 5001}, "comments", "must be at most 5000 characters"),
    (REACTIONS, {"likes_sped": 3}, "likes_sped", "Unknown setting (did you mean 'likes_speed'?)"),
    (REACTIONS, {"is_active": True}, "is_active", "is read-only; use /activate or /pause"),
    (REPOST, {"speed": "warp"}, "speed", "must be one of very_slow, slow, medium, fast, very_fast"),
    (REPOST, {"speed": 3}, "speed", "must be a string"),
    (REPOST, {"data": 1}, "data", "must be an object of data.* fields"),
    (REPOST, {"data": {"photo": 1}}, "data.photo", "must be a boolean"),
    (REPOST, {"remove_delay": -1}, "remove_delay", "must be an integer from 0 to 8760"),
    (REPOST, {"custom_repost_time": "x"}, "custom_repost_time", "must look like repost[10:00],repost[18:00]"),
]


@pytest.mark.parametrize(("schema", "patch", "field", "message"), REFUSED)
def test_refused_values_answer_the_apis_words(schema, patch, field, message):
    with pytest.raises(ValidationFailed) as refused:
        schema.validate_patch(patch, {})
    assert refused.value.errors == {field: [message]}


@pytest.mark.parametrize(("schema", "patch", "stored"), [
    (REACTIONS, {"masslooking_interval": 3}, {"masslooking_interval": 3.0}),
    (REACTIONS, {"expiration_date": None}, {"expiration_date": None}),
    (REACTIONS, {"expiration_date": "2031-01-02T03:04:05Z"}, {"expiration_date": "2031-01-02 03:04:05"}),
    (REACTIONS, {"language_filter": ""}, {"language_filter": ""}),  # empty text is "not set"
    (REPOST, {"photo_posts": True}, {"data.photo": True}),  # the later revision's name
    (REPOST, {"data": {"video": True}}, {"data.video": True}),
])
def test_accepted_values_are_stored_in_canonical_form(schema, patch, stored):
    changes = schema.validate_patch(patch, {})
    assert changes == stored and [type(v) for v in changes.values()] == [type(v) for v in stored.values()]


def test_every_bad_field_is_named_at_once():
    with pytest.raises(ValidationFailed) as refused:
        REACTIONS.validate_patch({"speed": 9, "is_likes": "yes", "likes_speed": 3, "nope": 1}, {})
    assert set(refused.value.errors) == {"speed", "is_likes", "nope"}
