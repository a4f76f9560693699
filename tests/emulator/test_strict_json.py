"""``NaN``, ``Infinity`` and ``-Infinity`` are not JSON (RFC 8259): a body using them is 400
Malformed JSON, after the key and module gates, as any malformed body."""

from __future__ import annotations

import pytest

from tests.conftest import data, error

MESSAGE = "Malformed JSON: NaN and Infinity are not JSON numbers"
JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_non_finite_numbers_are_malformed_json(alice, constant):
    body = f'{{"likes_speed": {constant}}}'
    r = await alice.patch("/reactions/schedules/1/settings", content=body, headers=JSON)
    assert error(r, 400, MESSAGE) == {"status": "error", "message": MESSAGE}
    settings = data(await alice.get("/reactions/schedules/1/settings"))["settings"]
    assert settings["likes_speed"] != constant  # nothing was written


async def test_nested_and_in_arrays_too(alice):
    r = await alice.post("/post-actions/jobs", content='{"action": "like", "count": [1, NaN]}', headers=JSON)
    assert error(r, 400) == {"success": False, "message": MESSAGE}


async def test_the_gates_answer_first(emu):
    async with emu.http(None) as anonymous:
        r = await anonymous.patch("/reactions/schedules/1/settings", content='{"x": NaN}', headers=JSON)
        error(r, 401)


async def test_a_json_media_type_with_parameters_counts(alice):
    r = await alice.post("/captions", content='{"title": "t", "caption": Infinity}',
                         headers={"content-type": "application/json; charset=utf-8"})
    error(r, 400, MESSAGE)


async def test_the_words_inside_strings_are_fine(alice):
    caption = data(await alice.post("/captions", content='{"title": "NaN", "caption": "Infinity and beyond"}',
                                    headers=JSON), 201)
    assert (caption["title"], caption["caption"]) == ("NaN", "Infinity and beyond")


async def test_the_control_surface_refuses_them_too(control):
    r = await control.post("/clock/advance", content='{"seconds": Infinity}', headers=JSON)
    assert r.status_code == 400 and r.json()["message"] == MESSAGE
