"""Rule reviews (PCI DSS 1.2.7): how often a policy's allowances must be reviewed, and which are
overdue on the day the run judges them. Pure, apart from the date it is given."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from fleetcheck.clock import LOCAL_AHEAD
from fleetcheck.frozen import frozen, replace
from fleetcheck.numbers import is_number
from fleetcheck.policy import Action, Policy, Rule
from fleetcheck.policy.problems import Problems
from fleetcheck.words import plural
from fleetcheck.yamlsrc import Mark

# Only allowances are reviewed: they are what the register lists (PCI DSS 1.2.5 asks for a
# justification of every allowed service); a forbid or default-deny allows nothing.
REVIEWED = (Action.ALLOW, Action.REQUIRE)
UNITS = ("day", "week", "month", "year")
# ASCII digits only: \d takes any script's (which int() reads), and which ones depends on
# the Python's Unicode version (Kawi digits are digits from 3.12 on).
_PERIOD = re.compile(r"^\s*([0-9]+)\s*(day|week|month|year)s?\s*$", re.I)


@frozen
class Period:
    """A review interval such as '6 months': a count of calendar days, weeks, months or years."""

    count: int
    unit: str  # one of UNITS

    def __str__(self) -> str:
        return plural(self.count, self.unit)

    def after(self, start: dt.date) -> dt.date:
        """The day this period after `start` ends (month ends clamp: Aug 31 + 6 months = Feb 28);
        the calendar's last day (9999-12-31) when it ends beyond it."""
        try:
            if self.unit == "day":
                return start + dt.timedelta(days=self.count)
            if self.unit == "week":
                return start + dt.timedelta(weeks=self.count)
            months = self.count * (12 if self.unit == "year" else 1)
            year, month = divmod(start.month - 1 + months, 12)
            year += start.year
            day = min(start.day, calendar.monthrange(year, month + 1)[1])
            return dt.date(year, month + 1, day)
        except (OverflowError, ValueError):  # past year 9999: due on no day there is
            return dt.date.max


def period(value: Any, mark: Mark) -> Period:
    """'6 months', '180 days', '1 year', '2 weeks' (a positive count and a calendar unit)."""
    match = _PERIOD.match(value) if isinstance(value, str) else None
    if match is None or not is_number(match.group(1)) or int(match.group(1)) == 0:
        raise mark.error(f"review_every must be a period such as '6 months', '90 days' or "
                         f"'1 year', not {value!r}")
    return Period(int(match.group(1)), match.group(2).lower())


def parse_period(text: str) -> Period:
    """A period as the run records it ('6 months'); ValueError otherwise."""
    match = _PERIOD.match(text)
    if match is None or not is_number(match.group(1)):
        raise ValueError(f"not a review period: {text!r}")
    return Period(int(match.group(1)), match.group(2).lower())


@frozen
class ReviewState:
    """Where one rule stands: last reviewed (or approved), when the next review is due."""

    last: dt.date | None  # reviewed_on, else approved_on; None: never
    due: dt.date | None  # None: no review period, or never reviewed
    overdue: bool  # as of the policy's review date

    def sentence(self, rule: Rule, every: Period, today: dt.date) -> str:
        """Why the rule's review is overdue, for findings and `validate`."""
        head = f"the review of {rule.action.value} rule {rule.ref} is overdue"
        if self.last is None or self.due is None:
            return (f"{head}: it records no approved_on or reviewed_on date, and its policy "
                    f"asks for a review every {every}")
        late = (today - self.due).days
        what = "reviewed" if rule.reviewed_on is not None else "approved"
        return (f"{head}: last {what} on {self.last.isoformat()}, due on "
                f"{self.due.isoformat()} (every {every}), {plural(late, 'day')} ago")


def state(policy: Policy, rule: Rule, today: dt.date | None = None) -> ReviewState | None:
    """The review state of `rule` as of `today` (default: the policy's review date); None when
    its policy sets no review period or the rule is not an allowance."""
    when = today or policy.review_date
    if policy.review_every is None or rule.action not in REVIEWED:
        return None
    last = rule.reviewed_on or rule.approved_on
    due = policy.review_every.after(last) if last is not None else None
    overdue = when is not None and (due is None or when > due)
    return ReviewState(last, due, overdue)


def overdue(policy: Policy) -> list[tuple[Rule, str]]:
    """The policy's rules whose review is overdue as of its review date, each with the reason."""
    if policy.review_every is None or policy.review_date is None:
        return []
    out = []
    for rule in policy.rules:
        st = state(policy, rule)
        if st is not None and st.overdue:
            out.append((rule, st.sentence(rule, policy.review_every, policy.review_date)))
    return out


def dated(policy: Policy, today: dt.date) -> Policy:
    """`policy` with its reviews judged on `today` (a policy without a period as it is)."""
    return policy if policy.review_every is None else replace(policy, review_date=today)


def judge(policies: Sequence[Policy], today: dt.date, problems: Problems) -> list[Policy]:
    """Stamp `today` as the review date of every policy with a period (so `evaluate` raises
    overdue_review findings) and warn about each overdue rule and each date in the future
    (more than a day after `today`: a date written where the day has begun already is not)."""
    out = []
    for given in policies:
        p = dated(given, today)
        for rule, sentence in overdue(p):
            problems.warn(rule.where or p.mark("review_every"), sentence)
        for rule in p.rules:
            for key in ("approved_on", "reviewed_on"):
                day = getattr(rule, key)
                if day is not None and day - today > LOCAL_AHEAD:  # written ahead of UTC
                    problems.warn(rule.where or p.mark("name"), f"rule {rule.ref} says "
                                  f"{key} {day.isoformat()}, which is in the future")
        out.append(p)
    return out
