"""Lists of problems a user reads: the first few in full, the rest counted by kind.

One line of a 26-leader declaration once gave 303 problems in 27,240
characters; nobody reads past the first few, and a script's log should not
hold them all.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from typing import Any

from pydantic import TypeAdapter, ValidationError

SHOWN = 5
"""How many problems are shown in full before the rest are counted."""

_QUOTED = re.compile(r"'[^']*'")
_ELIDED = " '…'"
_CLAUSE = re.compile(r" \(|: |; ")


def kind_of(problem: str) -> str:
    """What a problem says, without where or which value: `unknown actor '…'`, `Field required`."""
    what = problem.partition(": ")[2] or problem
    return _CLAUSE.split(_QUOTED.sub("'…'", what), maxsplit=1)[0]


def summarise(problems: list[str], shown: int = SHOWN) -> str:
    """The problems joined with "; ", past `shown` of them counted by kind."""
    if len(problems) <= shown + 1:
        return "; ".join(problems)
    head, rest = problems[:shown], problems[shown:]
    kinds = Counter(kind_of(problem) for problem in rest)
    if len(kinds) == 1 and next(iter(kinds)) in {kind_of(problem) for problem in head}:
        return "; ".join([*head, f"and {len(rest)} more of the same kind"])
    counted = ", ".join(f"{count} {kind.replace(_ELIDED, '')}" for kind, count in kinds.most_common(4))
    if len(kinds) > 4:
        counted += f", {sum(count for _, count in kinds.most_common()[4:])} others"
    return "; ".join([*head, f"and {len(rest)} more: {counted}"])


def problems_of(error: ValidationError, tags: tuple[str, ...] = ()) -> list[str]:
    """One problem per error, each naming the field path, in words a user can act on."""
    problems = []
    for problem in error.errors(include_url=False):
        path = list(problem["loc"])
        if path and path[0] in tags:  # the union's tag, not a field the user wrote
            path = path[1:]
        location = ".".join(str(part) for part in path) or "(event)"
        problems.append(f"{location}: {_in_words(problem)}")
    return problems


_PATTERNS = {
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$": "should be an id of lower-case letters, digits and hyphens,"
    " such as {slug!r}",
    r"^[A-Z]{3}$": "should be an ISO 3166-1 alpha-3 country code in capitals, such as 'DEU'",
}


def _in_words(problem: Any) -> str:
    """pydantic's message, with the patterns of ids and country codes said in words."""
    pattern = (problem.get("ctx") or {}).get("pattern")
    if problem["type"] == "string_pattern_mismatch" and pattern in _PATTERNS:
        slug = "-".join(re.findall(r"[a-z0-9]+", str(problem.get("input", "")).casefold())) or "keir-starmer"
        return f"{problem['input']!r} {_PATTERNS[pattern].format(slug=slug)}"
    return str(problem["msg"]).removeprefix("Value error, ")


_TAG_ERRORS = frozenset({"union_tag_invalid", "union_tag_not_found"})


def closest_type(document: dict[str, Any], tags: tuple[str, ...]) -> str:
    """The event type a document with an unknown or missing `type` most likely meant."""
    tag = document.get("type")
    if isinstance(tag, str):
        close = difflib.get_close_matches(tag.strip().lower().replace(" ", "_"), tags, n=1)
        if close:
            return close[0]
    if "retracts" in document:
        return "retraction"
    return "meeting" if "status" in document else "statement"


def _type_problem(document: dict[str, Any], closest: str, tags: tuple[str, ...]) -> str:
    allowed = ", ".join(repr(tag) for tag in tags)
    tag = document.get("type")
    said = "missing" if "type" not in document else f"unknown event type {tag!r}"
    return f"type: {said}: use one of {allowed} (the rest is checked as a {closest!r})"


def unknown_type_problems(
    document: dict[str, Any], error: ValidationError, adapter: TypeAdapter[Any], tags: tuple[str, ...]
) -> list[str] | None:
    """Every problem of a document whose `type` is unknown: the type first, then the rest
    as if it were the closest type; None when the type is not the problem."""
    if not any(problem["type"] in _TAG_ERRORS for problem in error.errors(include_url=False)):
        return None
    closest = closest_type(document, tags)
    problems = [_type_problem(document, closest, tags)]
    try:
        adapter.validate_python({**document, "type": closest})
    except ValidationError as rest:
        problems += problems_of(rest, tags)
    return problems
