"""Dates in a clause, resolved against the publication day, with their precision and their words.

Rules, not `dateparser`: it would bring four more dependencies, and it reads "on Monday" as the
past one, where reporting means the coming one when the verb is in the future ("will meet Trump
on Monday"); the few forms news prose uses fit here. "The publication day" is the dateline's day
when the text has one (`compose.reference_day`); its own weekday names that very day. A day
counted from the narrative ("two days later", "the following day", "that evening") counts from
the last day the text gave before it (`anchor`), not from publication.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_WEEKDAY = "|".join(WEEKDAYS)
_MONTH = "|".join(
    [*MONTHS, "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sept", "sep", "oct", "nov", "dec"]
)
"""Full names first; wire style shortens them ("Feb. 18")."""
_COUNTS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_COUNT = "|".join([*_COUNTS, r"\d"])
FUTURE = re.compile(
    r"\b(will|is to|are to|set to|expected to|due to|plans? to|planned|going to|next|upcoming"
    r"|later (?:this|today|tonight|in the (?:week|month|year)))\b",
    re.I,
)

_FORMS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")),
    ("day month", re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)? ({_MONTH})\b\.?(?:,? (\d{{4}}))?", re.I)),
    ("month day", re.compile(rf"\b({_MONTH})\b\.? (\d{{1,2}})(?:st|nd|rd|th)?(?:,? (\d{{4}}))?\b", re.I)),
    ("days later", re.compile(rf"\b({_COUNT}) days? (later|after(?:wards)?|on|earlier|before)\b", re.I)),
    ("day after", re.compile(r"\b(?:the )?(following|next|previous) day\b|\bthe day (after|before)\b", re.I)),
    ("same day", re.compile(r"\b(?:that|the same) (day|evening|night|morning|afternoon)\b", re.I)),
    ("next weekday", re.compile(rf"\bnext ({_WEEKDAY})\b", re.I)),
    ("last weekday", re.compile(rf"\blast ({_WEEKDAY})\b", re.I)),
    ("weekday", re.compile(rf"\b(?:on )?({_WEEKDAY})\b", re.I)),
    ("relative day", re.compile(r"\b(yesterday|today|tomorrow|tonight|this morning|last night)\b", re.I)),
    ("days ago", re.compile(r"\b(two|three|four|five|six|\d) days ago\b", re.I)),
    ("last month", re.compile(r"\blast month\b", re.I)),
    ("month", re.compile(rf"\b(?:in |since |by )?({_MONTH}) (\d{{4}})\b", re.I)),
    (
        "vague",
        re.compile(
            r"\b(in recent days|recently|this week|last week|earlier this week|earlier this month"
            r"|this month|in recent weeks)\b",
            re.I,
        ),
    ),
]


@dataclass(frozen=True)
class FoundDate:
    day: date
    precision: str
    """`day` or `month` (the event time's precision)."""
    words: str
    rule: str

    def event_time(self) -> dict[str, str]:
        at = self.day.isoformat() if self.precision == "day" else self.day.isoformat()[:7]
        return {"at": at, "precision": self.precision}


def _weekday_after(published: date, weekday: int) -> date:
    return published + timedelta(days=(weekday - published.weekday() - 1) % 7 + 1)


def _weekday_before(published: date, weekday: int) -> date:
    return published - timedelta(days=(published.weekday() - weekday - 1) % 7 + 1)


def _month_number(word: str) -> int:
    return [month[:3] for month in MONTHS].index(word[:3].lower()) + 1


def _year_of(text: str | None, published: date) -> int:
    return int(text) if text else published.year


def find_date(clause: str, published: date, anchor: date | None = None) -> FoundDate | None:
    """The first date the clause gives, in the order of `_FORMS` (the most precise forms first);
    `anchor`: the narrative's last day, for "two days later" (without it, those give no date)."""
    for rule, pattern in _FORMS:
        match = pattern.search(clause)
        if match is None:
            continue
        if rule in _FROM_ANCHOR:
            found = _from_anchor(rule, match, anchor) if anchor is not None else None
        else:
            found = _resolve(rule, match, clause, published)
        if found is not None:
            return found
    return None


_FROM_ANCHOR = frozenset({"days later", "day after", "same day"})


def _from_anchor(rule: str, match: re.Match[str], anchor: date) -> FoundDate:
    """A day counted from the last one the narrative gave ("two days later, on Sunday")."""
    words, groups = match.group(0), [group.lower() if group else group for group in match.groups()]
    if rule == "days later":
        count = _COUNTS.get(groups[0]) or int(groups[0])
        offset = -count if groups[1] in ("earlier", "before") else count
    elif rule == "day after":
        offset = -1 if "previous" in groups or "before" in groups else 1
    else:
        offset = 0
    day = anchor + timedelta(days=offset)
    return FoundDate(day, "day", words, f"counted from the day the text gave before ({anchor.isoformat()})")


def _resolve(rule: str, match: re.Match[str], clause: str, published: date) -> FoundDate | None:
    words, groups = match.group(0), match.groups()
    try:
        if rule == "iso":
            return FoundDate(date(int(groups[0]), int(groups[1]), int(groups[2])), "day", words, rule)
        if rule == "day month":
            month = _month_number(groups[1])
            day = date(_year_of(groups[2], published), month, int(groups[0]))
            return FoundDate(day, "day", words, "explicit date (the publication year when none is given)")
        if rule == "month day":
            month = _month_number(groups[0])
            day = date(_year_of(groups[2], published), month, int(groups[1]))
            return FoundDate(day, "day", words, "explicit date (the publication year when none is given)")
    except ValueError:
        return None
    if rule == "next weekday":
        weekday = WEEKDAYS.index(groups[0].lower())
        day = _weekday_after(published, weekday)
        if day.isocalendar()[:2] == published.isocalendar()[:2]:
            day += timedelta(days=7)  # "next Thursday" said on a Monday is the week after
        return FoundDate(day, "day", words, "next weekday: the first one after publication, in a later week")
    if rule == "last weekday":
        day = _weekday_before(published, WEEKDAYS.index(groups[0].lower()))
        return FoundDate(day, "day", words, "last weekday: the latest one before publication")
    if rule == "weekday":
        weekday = WEEKDAYS.index(groups[0].lower())
        if weekday == published.weekday():  # wire style names the day itself by its weekday
            return FoundDate(published, "day", words, "weekday: the day of the dateline or publication")
        if FUTURE.search(
            re.sub(r"\"[^\"]*\"|“[^”]*”|[\"“].*$", "", clause)
        ):  # the verb's tense, not a quote's
            return FoundDate(
                _weekday_after(published, weekday), "day", words, "weekday, future verb: the coming one"
            )
        return FoundDate(
            _weekday_before(published, weekday), "day", words, "weekday, past verb: the latest one"
        )
    if rule == "relative day":
        offset = {"yesterday": -1, "tomorrow": 1, "last night": -1}.get(groups[0].lower(), 0)
        return FoundDate(
            published + timedelta(days=offset), "day", words, "relative to the dateline's or publication day"
        )
    if rule == "days ago":
        count = _COUNTS.get(groups[0].lower()) or int(groups[0])
        return FoundDate(published - timedelta(days=count), "day", words, "days before the publication day")
    if rule == "last month":
        before = published.replace(day=1) - timedelta(days=1)
        return FoundDate(before.replace(day=1), "month", words, "the month before publication")
    if rule == "month":
        month = _month_number(groups[0])
        return FoundDate(date(int(groups[1]), month, 1), "month", words, "a month")
    return FoundDate(published.replace(day=1), "month", words, "vague: the month of publication")
