"""Spintax: ``{Hello|Hi|Hey} there`` picks one alternative per group; groups nest.

Captions, first comments and repost caption templates support spintax on the server. A
template with an unbalanced brace is sent as-is and posts literal braces to Instagram, so the
playbook checks balance before anything is sent. ``{{original_caption}}`` (double braces around
a name) is a placeholder the server fills in, not a group.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

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
    """One ``{a|b|c}`` group: its alternatives, each a sequence of text and groups."""

    options: tuple[Sequence, ...]


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


def parse(text: str) -> Sequence:
    """The template as a tree; raises `SpintaxSyntaxError` when braces do not balance."""
    # A stack of open groups: (offset of "{", finished options, current option).
    stack: list[tuple[int, list[Sequence], list[str | Choice]]] = []
    current: list[str | Choice] = []
    for offset, token in _tokens(text):
        if token == "{":
            stack.append((offset, [], current))
            current = []
        elif token == "|" and stack:
            stack[-1][1].append(tuple(current))
            current = []
        elif token == "}":
            if not stack:
                raise SpintaxSyntaxError(SpintaxProblem(offset, "`}` closes a group that was never opened"))
            opened, options, outer = stack.pop()
            options.append(tuple(current))
            if len(options) == 1 and not options[0]:
                raise SpintaxSyntaxError(SpintaxProblem(opened, "empty spintax group `{}`"))
            outer.append(Choice(tuple(options)))
            current = outer
        else:
            # A "|" outside any group is literal text, as the server treats it.
            current.append(token)
    if stack:
        raise SpintaxSyntaxError(SpintaxProblem(stack[-1][0], "`{` opens a group that is never closed"))
    return tuple(current)


def check(text: str) -> SpintaxProblem | None:
    """The first problem in ``text``, or None when it is well formed."""
    try:
        parse(text)
    except SpintaxSyntaxError as error:
        return error.problem
    return None


def variant_count(text: str) -> int:
    """How many distinct renderings the template can produce (at most; equal texts count twice)."""

    def count(seq: Sequence) -> int:
        total = 1
        for part in seq:
            if isinstance(part, Choice):
                total *= sum(count(option) for option in part.options)
        return total

    return count(parse(text))


def spin(text: str, rng: random.Random) -> str:
    """One rendering of the template, choosing with ``rng``."""

    def render(seq: Sequence) -> str:
        out = []
        for part in seq:
            if isinstance(part, Choice):
                out.append(render(rng.choice(part.options)))
            else:
                out.append(part)
        return "".join(out)

    return render(parse(text))
