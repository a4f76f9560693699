"""Spintax: ``{Hello|Hi|Hey} there`` picks one alternative per group; groups nest.

The one implementation of the project, dependency-free so that both sides may import it: the
playbook checks templates before anything is sent (:func:`check`, :func:`variant_count`), and
the emulator renders them as the server does when it posts (:func:`spin`, :func:`balanced`).

Captions, first comments, repost caption templates, AI-DM call-to-action lines and Post
Actions comments support spintax on the server. A template with an unbalanced brace is sent
as-is and posts literal braces to Instagram, so the playbook checks balance first.

What is not a group stays as written: ``{{original_caption}}`` (double braces around a name)
is a placeholder the server fills in; a brace pair without a ``|`` (``{username}``) is text; a
``|`` outside any group is text; and, when rendering, an unbalanced brace is text.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

#: ``{{original_caption}}`` and friends: filled in by the server, never spun.
PLACEHOLDER = re.compile(r"\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}")


@dataclass(frozen=True)
class SpintaxProblem:
    """What is wrong with a template, and at which character (0-based)."""

    offset: int
    message: str

    def __str__(self) -> str:
        return f"{self.message} (character {self.offset + 1})"


@dataclass(frozen=True)
class Choice:
    """One ``{a|b|c}`` group: its alternatives, each a sequence of text and groups.

    ``offset`` is where the group opens; ``height`` is 1 for a group without groups inside,
    else one more than its highest inner group (the order :func:`spin` draws in)."""

    options: tuple[Sequence, ...]
    offset: int = field(default=0, compare=False)
    height: int = field(default=1, compare=False)


#: A run of literal text and groups.
Sequence = tuple["str | Choice", ...]


class SpintaxSyntaxError(ValueError):
    """A template whose braces do not balance."""

    def __init__(self, problem: SpintaxProblem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def _tokens(text: str) -> list[tuple[int, str]]:
    """(offset, token) where a token is ``{``, ``|``, ``}`` or literal text."""
    out: list[tuple[int, str]] = []
    i, start = 0, 0
    while i < len(text):
        placeholder = PLACEHOLDER.match(text, i)
        if placeholder:
            i = placeholder.end()
            continue
        if text[i] in "{|}":
            if start < i:
                out.append((start, text[start:i]))
            out.append((i, text[i]))
            start = i + 1
        i += 1
    if start < len(text):
        out.append((start, text[start:]))
    return out


def _height(options: list[Sequence]) -> int:
    inner = [part.height for option in options for part in option if isinstance(part, Choice)]
    return 1 + max(inner, default=0)


def _literal(options: list[Sequence]) -> list[str | Choice]:
    """A brace pair that is not a group, as text around its (possibly spun) content."""
    parts: list[str | Choice] = ["{"]
    for i, option in enumerate(options):
        if i:
            parts.append("|")
        parts.extend(option)
    return parts


def _parse(text: str, *, strict: bool) -> Sequence:
    # A stack of open groups: (offset of "{", finished options, the text around the group).
    stack: list[tuple[int, list[Sequence], list[str | Choice]]] = []
    current: list[str | Choice] = []
    for offset, token in _tokens(text):
        if token == "{":
            stack.append((offset, [], current))
            current = []
        elif token == "|" and stack:
            stack[-1][1].append(tuple(current))
            current = []
        elif token == "}" and stack:
            opened, options, outer = stack.pop()
            options.append(tuple(current))
            if strict and len(options) == 1 and not options[0]:
                raise SpintaxSyntaxError(SpintaxProblem(opened, "empty spintax group `{}`"))
            if len(options) == 1:
                outer.extend([*_literal(options), "}"])
            else:
                outer.append(Choice(tuple(options), opened, _height(options)))
            current = outer
        elif token == "}":
            if strict:
                raise SpintaxSyntaxError(SpintaxProblem(offset, "`}` closes a group that was never opened"))
            current.append(token)
        else:
            # A "|" outside any group is literal text, as the server treats it.
            current.append(token)
    if stack and strict:
        raise SpintaxSyntaxError(SpintaxProblem(stack[-1][0], "`{` opens a group that is never closed"))
    while stack:  # lenient: a group never closed is text
        _, options, outer = stack.pop()
        options.append(tuple(current))
        current = outer + _literal(options)
    return tuple(current)


def parse(text: str) -> Sequence:
    """The template as a tree; raises `SpintaxSyntaxError` when braces do not balance."""
    return _parse(text, strict=True)


def check(text: str) -> SpintaxProblem | None:
    """The first problem in ``text``, or None when it is well formed."""
    try:
        parse(text)
    except SpintaxSyntaxError as error:
        return error.problem
    return None


def balanced(text: str) -> bool:
    """True when every ``{`` has its ``}`` and none closes before it opens (``{}`` included)."""
    depth = 0
    for _, token in _tokens(text):
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def variant_count(text: str) -> int:
    """How many distinct renderings the template can produce (at most; equal texts count twice)."""

    def count(seq: Sequence) -> int:
        total = 1
        for part in seq:
            if isinstance(part, Choice):
                total *= sum(count(option) for option in part.options)
        return total

    return count(parse(text))


def _groups(seq: Sequence) -> list[Choice]:
    found: list[Choice] = []
    for part in seq:
        if isinstance(part, Choice):
            found.append(part)
            for option in part.options:
                found.extend(_groups(option))
    return found


def spin(text: str, rng: random.Random) -> str:
    """One rendering of ``text``, choosing with ``rng``; never fails (unbalanced braces are text).

    Every group draws once, innermost first and left to right (by height, then position),
    also groups inside alternatives not taken. That is the order of the server's renderer,
    which replaces innermost groups in passes; keeping it keeps every seeded emulator world
    (and its logs) the same as it was before the emulator's copies became this one."""
    tree = _parse(text, strict=False)
    picks = {
        id(group): rng.choice(group.options)
        for group in sorted(_groups(tree), key=lambda g: (g.height, g.offset))
    }

    def render(seq: Sequence) -> str:
        return "".join(render(picks[id(part)]) if isinstance(part, Choice) else part for part in seq)

    return render(tree)


def longest(text: str) -> int:
    """The length of the longest rendering of ``text`` (a caption limit holds for every one)."""

    def length(seq: Sequence) -> int:
        return sum(max(length(option) for option in part.options) if isinstance(part, Choice) else len(part)
                   for part in seq)

    return length(_parse(text, strict=False))
