"""Only the documented envelope is data: ``envelope.read``, the list page checks, and the client
meeting answers that are not the API's through ``LyingProxy`` (ours) in front of the emulator."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from orchestrator.api.envelope import read
from orchestrator.api.errors import UnexpectedAnswer
from orchestrator.api.models import ApiModel
from orchestrator.api.pagination import checked_items, cursor_page, describe, page_data
from orchestrator.api.transport import Result
from tests.harness import client_for
from tests.conftest import world
from tests.harness.lying_proxy import Lie, LyingProxy

HTML = b"<!DOCTYPE html><html><title>Maintenance</title></html>"


def body(value: object) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("status", "content", "content_type", "reading", "data"),
    [
        (200, body({"status": "success", "data": {"a": 1}}), "application/json", True, {"a": 1}),
        (201, body({"success": True, "data": [1]}), "application/json", False, [1]),  # Post Actions' own
        (200, body({"result": 1, "data": {"b": 2}}), "application/json", True, {"b": 2}),  # the later revision
        (200, body({"status": "success", "data": None}), "application/json", True, None),  # data null is data
        (200, body({"status": "success"}), "application/json", False, None),  # a write's success is its status
        (204, b"", "", False, None),  # No Content, to a write
    ],
)
def test_the_documented_envelopes_are_read(status, content, content_type, reading, data):
    env = read(status, content, content_type, reading=reading)
    assert (env.ok, env.problem, env.data) == (True, None, data)


@pytest.mark.parametrize(
    ("status", "content", "content_type", "reading", "said", "transient"),
    [
        (200, HTML, "text/html", True, "an HTML page, not the API's JSON: is the installation in maintenance", True),
        (200, HTML, "application/json", True, "an HTML page", True),  # a page whatever the label says
        (200, b"", "application/json", True, "an empty body", True),
        (200, b"", "application/json", False, "an empty body", True),  # only 204 may be empty
        (200, b'{"status": "success", "data": {"items": [', "application/json", True, "cut off after 41 bytes",
         True),
        (200, b'{"status": "success", "da', "application/json", True, "JSON cut off", True),
        (200, b'{"status": "success"} {"x": 1}', "application/json", True, "JSON that does not parse", True),
        (200, b"OK", "text/plain", True, "2 bytes that are not JSON (text/plain)", True),
        (200, b"[1, 2, 3]", "application/json", True, "a JSON array of 3, not the API's envelope", False),
        (200, b'"accounts"', "application/json", True, "a string, not the API's envelope", False),
        (200, body({"data": {"items": []}}), "application/json", True, "JSON without the envelope's \"status\"", False),
        (200, body({"status": "ok", "data": 1}), "application/json", True, "JSON without the envelope's", False),
        (200, body({"status": "success"}), "application/json", True, '{"status": "success"} without "data"', False),
        (200, body({"success": True}), "application/json", True, '{"success": true} without "data"', False),
        (200, body({"result": 1, "message": "ok"}), "application/json", True, '{"result": 1} without "data"', False),
        # 404 and 409 become state ("no schedule", "gone already"): only in the API's own envelope
        (404, HTML, "text/html", True, "an HTML page", False),
        (404, body({"detail": "Not Found"}), "application/json", True, "JSON without the envelope's", False),
        (409, b"", "", False, "an empty body", False),
    ],
)
def test_anything_else_is_not_the_api_speaking(status, content, content_type, reading, said, transient):
    env = read(status, content, content_type, reading=reading)
    assert not env.ok and env.problem is not None and said in env.problem, env.problem
    assert env.transient is transient


@pytest.mark.parametrize(
    ("status", "content", "message"),
    [
        (502, HTML, None),  # a gateway's error page is the 502 it says
        (503, b"", None),
        (401, b"<html>login</html>", None),
        (500, body({"status": "success", "data": 1}), None),  # an error status is never a success
        (404, body({"status": "error", "message": "Schedule not found"}), "Schedule not found"),
        (400, body({"success": False, "message": "nope"}), "nope"),
        (200, body({"status": "error", "message": "nope"}), "nope"),  # an error envelope with 200: an error
        (202, body({"status": "success", "data": {"pending": True}}), None),  # "try again later"
        (202, b"", None),
        (422, body({"status": "error", "message": {"not": "text"}}), None),  # a message that is no text
    ],
)
def test_error_answers_are_errors_judged_by_their_status(status, content, message):
    env = read(status, content, "application/json", reading=True)
    assert (env.ok, env.problem, env.message) == (False, None, message)


# -- list pages ---------------------------------------------------------------------------------
def page(items: list, total: int, page: int = 1, per_page: int = 2) -> Result:
    return Result(200, {"items": items, "total": total, "page": page, "per_page": per_page}, None)


@pytest.mark.parametrize(
    ("answer", "number", "first", "said"),
    [
        (Result(200, [1, 2], None), 1, None, "data that is a JSON array of 2 where a page of the list"),
        (Result(200, "x", None), 1, None, "data that is a string where a page"),
        (Result(200, {"items": {}, "total": 0, "page": 1, "per_page": 2}, None), 1, None,
         '"items" is a JSON object, not a list'),
        (Result(200, {"items": [], "page": 1, "per_page": 2}, None), 1, None, '"total" is null, not a count'),
        (Result(200, {"items": [], "total": "0", "page": 1, "per_page": 2}, None), 1, None, '"total" is a string'),
        (Result(200, {"items": [], "total": True, "page": 1, "per_page": 2}, None), 1, None, '"total" is a boolean'),
        (Result(200, {"items": [], "total": 0, "page": 1, "per_page": 0}, None), 1, None, '"per_page" is 0'),
        (page([1], 2), 1, None, "1 items where the list's total (2, 2 a page) puts 2 on this page"),
        (page([1, 2, 3], 3), 1, None, "3 items where"),
        (page([], 5), 1, None, "0 items where"),  # an empty first page of a list that is not empty
        (page([3], 4, page=2), 2, {"total": 3, "per_page": 2}, "a page whose total (4) disagrees with page 1's (3)"),
        (page([3], 3, page=2, per_page=1), 2, {"total": 3, "per_page": 2}, "1 items a page where page 1 had 2"),
        (page([1, 2], 3, page=1), 2, {"total": 3, "per_page": 2}, "page 1 where page 2 was asked for"),
        (page([3, 4], 3, page=2), 2, {"total": 3, "per_page": 2}, "2 items where the list's total (3, 2 a page)"),
    ],
)
def test_a_page_that_is_not_the_documented_page_is_refused(answer, number, first, said):
    with pytest.raises(UnexpectedAnswer) as caught:
        page_data(answer, "accounts", number, first=first)
    assert said in str(caught.value) and not caught.value.transient
    assert str(caught.value).startswith(f"GET /accounts page {number} answered 200 with ")


def test_pages_that_agree_with_their_total_are_read():
    first = page_data(page([1, 2], 3), "accounts", 1)
    assert page_data(page([3], 3, page=2), "accounts", 2, first=first)["items"] == [3]
    assert page_data(page([], 0), "accounts", 1)["items"] == []


class Thing(ApiModel):
    id: int
    name: str


def test_an_item_that_is_not_its_model_is_named_by_index_without_its_values():
    canary = "socks5://user:CANARY-PASSWORD@10.0.0.1:1080"
    with pytest.raises(UnexpectedAnswer) as caught:
        checked_items([{"id": 1, "name": "a"}, {"id": canary, "name": canary}], Thing, "things", 2)
    text = str(caught.value)
    assert text.startswith("GET /things page 2 answered 200 with items[1] that is not a Thing (id: ")
    assert "CANARY" not in text


def test_describe_names_fields_and_reasons_never_values():
    try:
        Thing.model_validate({"id": "secret-42", "name": ["secret"]})
    except ValidationError as exc:
        text = describe(exc)
    assert "id: " in text and "name: " in text and "secret" not in text


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ([], "data that is an empty JSON array where a cursor page (an object with threads and next_cursor)"),
        ({"threads": None, "next_cursor": None}, '"threads" is null, not a list'),
        ({"threads": []}, 'a cursor page without "next_cursor"'),
        ({"threads": [], "next_cursor": 42}, '"next_cursor" is a number, not a string or null'),
    ],
)
def test_a_cursor_page_must_be_the_documented_one(data, said):
    with pytest.raises(UnexpectedAnswer) as caught:
        cursor_page(Result(200, data, None), "inbox/threads", "threads")
    assert said in str(caught.value)
    assert cursor_page(Result(200, {"threads": [], "next_cursor": None}, None), "inbox/threads", "threads")


# -- the client through the lying proxy (in process) ----------------------------------------------
async def test_post_actions_success_without_data_is_no_list():
    emu = world()
    lie = Lie("GET", "^/post-actions/jobs$", "no_data")
    async with client_for(emu, front=lambda inner: LyingProxy(inner, lie=lie)) as client:
        with pytest.raises(UnexpectedAnswer) as caught:
            [job async for job in client.post_actions.list_jobs()]
    assert str(caught.value) == ('GET /post-actions/jobs page 1 answered 200 with {"success": true} without "data": '
                                 "the answer holds nothing to read")


async def test_settings_of_the_wrong_type_are_not_settings():
    emu = world()
    lie = Lie("GET", "^/reactions/schedules/3/settings$", "wrong_type")
    async with client_for(emu, front=lambda inner: LyingProxy(inner, lie=lie)) as client:
        with pytest.raises(UnexpectedAnswer, match="data that is a JSON array of 2 where the schedule's settings"):
            await client.reactions.get_settings(3)
        assert isinstance(await client.reactions.get_settings(4), dict)


@pytest.mark.parametrize("how", ["no_data", "wrong_type", "truncated"])
async def test_a_cursor_list_that_lies_is_no_list(how: str):
    emu = world()
    lie = Lie("GET", "^/inbox/threads$", how)
    async with client_for(emu, front=lambda inner: LyingProxy(inner, lie=lie)) as client:
        with pytest.raises(UnexpectedAnswer):
            [t async for t in client.inbox.list_threads()]
    assert lie.told >= 1


async def test_a_cut_off_answer_to_an_idempotent_write_is_retried_and_one_to_a_password_is_not():
    emu = world()
    cut = Lie("PATCH", "^/reactions/schedules/3/settings$", "truncated", times=1)
    async with client_for(emu, front=lambda inner: LyingProxy(inner, lie=cut)) as client:
        await client.reactions.update_settings(3, likes_speed=4)  # retried: a repeat is harmless
        assert client.transport.stats.retries == 1
        assert (await client.reactions.get_settings(3))["likes_speed"] == 4
    never = Lie("POST", "^/accounts/3/password$", "truncated", times=1)
    async with client_for(emu, front=lambda inner: LyingProxy(inner, lie=never)) as client:
        with pytest.raises(UnexpectedAnswer, match="JSON cut off"):
            await client.accounts.set_password(3, "a new password")
        assert client.transport.stats.retries == 0  # Policy.NEVER: the answer was lost, not resent


async def test_a_readback_that_meets_a_lie_never_sends_the_create_again():
    """The create's answer is cut off (it may have applied), so the client reads back before
    resending; the readback meets the envelope without data: unknown, so the create fails
    rather than being sent again (the caption exists once)."""
    emu = world()
    cut = Lie("POST", "^/captions$", "truncated", times=1)
    blank = Lie("GET", "^/captions$", "no_data")
    async with client_for(emu, front=lambda inner: LyingProxy(LyingProxy(inner, lie=blank), lie=cut)) as client:
        with pytest.raises(UnexpectedAnswer, match='without "data"'):
            await client.captions.create("Once only", "Made once #x")
    async with client_for(emu) as client:
        made = [c async for c in client.captions.list(search="Once only")]
    assert (cut.told, blank.told, len(made)) == (1, 1, 1)
