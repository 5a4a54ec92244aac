"""Calendar months of a period (the sealed dose tallies are kept per medicine and month)."""

from __future__ import annotations

from datetime import date, timedelta


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return month_start(day.replace(day=28) + timedelta(days=4))


def split_whole_months(first: date, last: date) -> tuple[tuple[date, date] | None, list]:
    """[first, last] as (the first days of the first and last whole calendar months inside it,
    or None when there is none) and the (first, last) day ranges left over before and after
    those months (at most two, in order)."""
    if first > last:
        return None, []
    head = first if first.day == 1 else next_month(first)
    after = next_month(last) if last == next_month(last) - timedelta(days=1) else month_start(last)
    if head >= after:
        return None, [(first, last)]
    rest = []
    if first < head:
        rest.append((first, head - timedelta(days=1)))
    if after <= last:
        rest.append((after, last))
    return (head, month_start(after - timedelta(days=1))), rest
