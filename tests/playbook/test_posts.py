"""``posts:``: every mistake is one ``file:line:col: message; hint`` diagnostic at the value at
fault, media files are checked as the server would check them before anything is uploaded,
and each account's copy of a post is worked out the same way in every plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.contract import Account, Kind, PostsDesired
from orchestrator.playbook import PlaybookError, desired_state, load, validate
from orchestrator.playbook.merge import post_slot

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
ACCOUNTS = [Account(i, f"fashion_{i:02d}") for i in range(1, 11)]

POST = """\
version: 1
groups: {fashion: {usernames: fashion_*}}
captions:
  library:
    Winter drop: "{New|Fresh} drop is live"
entries:
  - name: Winter drop
    groups: fashion
    posts:
      - name: winter-teaser
        type: photo
        media: [media/teaser.jpg]
        caption: "{New|Fresh} drop is live ❄️"
        at: 2026-12-10T18:00
        timezone: Europe/Paris
        stagger: 2h
"""


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "teaser.jpg").write_bytes(JPEG)
    (tmp_path / "media" / "clip.mp4").write_bytes(MP4)
    (tmp_path / "media" / "fake.jpg").write_bytes(PNG)
    (tmp_path / "media" / "empty.png").write_bytes(b"")
    return tmp_path


def problems_of(directory: Path, text: str) -> list[str]:
    path = directory / "posts.yaml"
    path.write_text(text, encoding="utf-8")
    return [str(p).removeprefix(str(directory) + "/") for p in validate([path])]


def test_the_example_is_valid_and_gives_each_account_its_copy(directory: Path) -> None:
    assert problems_of(directory, POST) == []
    book = load([directory / "posts.yaml"])
    state = desired_state(book, ACCOUNTS)
    at = datetime(2026, 12, 10, 17, 0, tzinfo=UTC)  # 18:00 in Paris, in winter
    slots = []
    for account in ACCOUNTS:
        desired = state.get(account.id, Kind.POSTS)
        assert isinstance(desired, PostsDesired)
        (post,) = desired.posts
        assert post.type is not None and post.type.value == "photo"
        assert post.caption.value in ("New drop is live ❄️", "Fresh drop is live ❄️")
        assert at <= post.at.value < at + timedelta(hours=2) and post.at.line == 14
        (file,) = post.media.value
        assert file.written == "media/teaser.jpg" and file.size == len(JPEG) and file.kind == "image"
        slots.append(post.at.value)
    assert len(set(slots)) == len(slots)
    # The same in a second plan, and whatever the other accounts: each slot is its account's own.
    alone = desired_state(book, ACCOUNTS[3:4]).get(4, Kind.POSTS)
    assert isinstance(alone, PostsDesired) and alone.posts[0].at.value == slots[3]
    assert alone.posts[0].caption.value == state.get(4, Kind.POSTS).posts[0].caption.value  # type: ignore[union-attr]


def test_a_slot_depends_on_the_post_and_the_account_only() -> None:
    at = datetime(2026, 12, 10, 18, 0)
    one = post_slot(at, "Europe/Paris", 3600, "winter-teaser", 7)
    assert one == post_slot(at, "Europe/Paris", 3600, "winter-teaser", 7)
    assert one != post_slot(at, "Europe/Paris", 3600, "winter-teaser", 8)
    assert post_slot(at, None, 0, "winter-teaser", 7) == at.replace(tzinfo=UTC)
    summer = post_slot(datetime(2026, 7, 10, 18, 0), "Europe/Paris", 0, "x", 1)
    assert summer == datetime(2026, 7, 10, 16, 0, tzinfo=UTC)  # summer time: UTC+2


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("type: photo", "type: phot", "posts.yaml:11:15: `type` must be one of `photo`, `video`, `album`, `reel`, "
                                  "`story`, got text `phot`; did you mean `photo`?"),
    ("at: 2026-12-10T18:00", "at: 2026-13-10T18:00",
     "posts.yaml:14:13: `posts[0].at`: `2026-13-10T18:00` is not a valid date and time; write `YYYY-MM-DDTHH:MM`"),
    ("at: 2026-12-10T18:00", "at: tomorrow", "posts.yaml:14:13: `posts[0].at`: `tomorrow` is not a date and time; "
                                             "write"),
    ("timezone: Europe/Paris", "timezone: Europe/Pariss",
     "posts.yaml:15:19: `posts[0].timezone`: unknown time zone `Europe/Pariss`; did you mean `Europe/Paris`?"),
    ("stagger: 2h", "stagger: 2 hours", "posts.yaml:16:18: `posts[0].stagger`: `2 hours` is not a duration; such as "
                                        "`2h`, `90m`"),
    ("stagger: 2h", "stagger: 8d", "posts.yaml:16:18: `posts[0].stagger`: `8d` is longer than 7 days"),
    ("media/teaser.jpg", "media/missing.jpg",
     "posts.yaml:12:17: `posts[0].media[0]`: media file `media/missing.jpg` does not exist; paths are relative to the "
     "playbook's"),
    ("media/teaser.jpg", "../teaser.jpg",
     "posts.yaml:12:17: `posts[0].media[0]`: media file `../teaser.jpg` is outside the playbook's directory; keep "
     "media files"),
    ("media/teaser.jpg", "media/fake.jpg",
     "posts.yaml:12:17: `posts[0].media[0]`: media file `media/fake.jpg` is not a JPEG image (its content is a PNG "
     "image); give the"),
    ("media/teaser.jpg", "media/empty.png", "posts.yaml:12:17: `posts[0].media[0]`: media file `media/empty.png` is "
                                            "empty"),
    ("media/teaser.jpg", "media/clip.mov",
     "posts.yaml:12:17: `posts[0].media[0]`: `media/clip.mov`: the server takes .mov files only when its video "
     "processing is on; "
     "convert it to mp4"),
    ("media/teaser.jpg", "media/notes.txt",
     "posts.yaml:12:17: `posts[0].media[0]`: `media/notes.txt` is not a file type the server takes; posts take jpg, "
     "jpeg, png, gif"),
    ("media: [media/teaser.jpg]", "media: [media/clip.mp4]",
     "posts.yaml:12:16: `posts[0].media`: a photo takes an image; photo and story take one file, video and reel one "
     "mp4"),
    ("media: [media/teaser.jpg]", "media: []", "posts.yaml:12:16: `posts[0].media`: a post needs at least one media "
                                               "file"),
    ("type: photo", "type: album", "posts.yaml:12:16: `posts[0].media`: an album takes 2 to 10 media files, got 1"),
    ('"{New|Fresh} drop is live ❄️"', '"{New|Fresh drop is live"',
     "posts.yaml:13:18: `posts[0].caption`: unbalanced spintax"),
    ('"{New|Fresh} drop is live ❄️"', "{library: Winter dorp}",
     "posts.yaml:13:28: `posts[0].caption`: the caption library has no caption `Winter dorp`; did you mean `Winter "
     "drop`?"),
    ('"{New|Fresh} drop is live ❄️"', '"' + "x" * 2191 + '"',
     "posts.yaml:13:18: `posts[0].caption`: the caption can render to 2,191 characters; a post's caption is at most "
     "2,190"),
    ("at: 2026-12-10T18:00", "at: 2026-12-10T18:00+01:00",
     "posts.yaml:15:9: `posts[0].timezone`: `at` already carries its offset; give the zone once"),
    ("      - name: winter-teaser\n", "      - name: ' winter'\n",
     "posts.yaml:10:15: `posts[0].name`: a post's name must be text without spaces around it"),
])
def test_each_mistake_is_one_diagnostic_at_its_value(directory: Path, old: str, new: str, expected: str) -> None:
    assert old in POST
    (problem,) = problems_of(directory, POST.replace(old, new))
    assert problem.startswith(expected), problem


def test_a_post_listed_twice_and_a_post_never_given_its_time(directory: Path) -> None:
    twice = POST + """\
      - name: winter-teaser
        media: [media/teaser.jpg]
        at: 2026-12-11T18:00
"""
    (problem,) = problems_of(directory, twice)
    assert problem.startswith("posts.yaml:17:15: `posts[1].name`: post `winter-teaser` is listed twice (also item 1)")
    untimed = POST + """\
      - name: winter-reminder
        media: [media/teaser.jpg]
"""
    (problem,) = problems_of(directory, untimed)
    assert problem == ("posts.yaml:17:9: post `winter-reminder` never gets `at`; give them where the post is first "
                       "listed; later entries may change single fields")


def test_later_entries_change_a_post_field_by_field_for_their_accounts(directory: Path) -> None:
    text = POST.replace("groups: {fashion: {usernames: fashion_*}}", "groups: {fashion: {usernames: fashion_*}, one: "
                                                                     "{accounts: [3]}}")
    text += """\
  - name: A caption of its own for fashion_03
    groups: one
    posts:
      - name: winter-teaser
        caption: {library: Winter drop}
"""
    assert problems_of(directory, text) == []
    state = desired_state(load([directory / "posts.yaml"]), ACCOUNTS)
    own, other = state.get(3, Kind.POSTS), state.get(4, Kind.POSTS)
    assert isinstance(own, PostsDesired) and isinstance(other, PostsDesired)
    assert own.posts[0].caption.value in ("New drop is live", "Fresh drop is live")  # from the library
    assert own.posts[0].caption.line == 21 and other.posts[0].caption.line == 13
    assert own.posts[0].at.line == other.posts[0].at.line == 14  # the rest still from the first entry


def test_a_post_some_accounts_never_get_whole_is_an_error_of_the_merge(directory: Path) -> None:
    text = """\
version: 1
groups: {fashion: {usernames: fashion_*}, one: {accounts: [fashion_03]}}
entries:
  - groups: one
    posts:
      - name: teaser
        media: [media/teaser.jpg]
        at: 2026-12-10T18:00
  - groups: fashion
    posts:
      - name: teaser
        caption: Hello
"""
    assert problems_of(directory, text) == []  # the post gets its time somewhere: a static check cannot say more
    with pytest.raises(PlaybookError) as raised:
        desired_state(load([directory / "posts.yaml"]), ACCOUNTS)
    (problem,) = raised.value.diagnostics
    assert str(problem).endswith("posts.yaml:11:9: post `teaser` has no `media` or `at` for fashion_01, fashion_02, "
                                 "fashion_04, fashion_05, fashion_06 and 4 more; the entries that give the rest of "
                                 "the post do not select these accounts")


def test_the_publishing_quota_is_a_positive_count(directory: Path) -> None:
    (problem,) = problems_of(directory, POST + "policy: {max_posts_per_day: 0}\n")
    assert problem == "posts.yaml:17:29: `policy.max_posts_per_day` must be at least 1, got the number 0"
    assert problems_of(directory, POST + "policy: {max_posts_per_day: 3}\n") == []
    assert load([directory / "posts.yaml"]).policy.posts_per_day == 3


def test_the_reference_documents_every_post_field_and_its_example_is_valid(tmp_path: Path) -> None:
    from orchestrator.playbook.schema import PostSpec

    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("#### posts"):text.index("#### captions")]
    assert all(f"`{name}`" in section for name in PostSpec.model_fields), list(PostSpec.model_fields)
    assert "`max_posts_per_day`" in section and "max_posts_per_day:" in text
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "media").mkdir()
    for name in ("teaser.jpg", "look-2.jpg"):
        (tmp_path / "media" / name).write_bytes(JPEG)
    header = ("version: 1\ngroups: {fashion: {usernames: fashion_*}}\n"
              "captions: {library: {New drop: \"{New drop|Just landed}\"}}\n")
    assert problems_of(tmp_path, header + example) == []
