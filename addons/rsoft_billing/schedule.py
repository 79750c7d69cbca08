"""Billing periods: when they start and end, and how days are counted

Pure date arithmetic, without the database, so that the calendar edge
cases (short months, leap years, bill days 29 to 31) are tested alone."""
import calendar
import datetime

CYCLES = (1, 2, 3, 6, 12)
_DAY = datetime.timedelta(days=1)


def add_months(date, months, day=None):
    """Return the date months after date, on day (default date's day)

    A day past the end of the target month falls back to its last day,
    counted from the original day each time: 31 Jan + 1 = 28/29 Feb, but
    31 Jan + 2 = 31 Mar."""
    month = date.month - 1 + months
    year, month = date.year + month // 12, month % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return datetime.date(year, month, min(day or date.day, last))


class Schedule:
    """The periods of an account or a line

    Periods of months months start on the anchor's day of month, or on
    day when given, in the months counted from the anchor's month."""

    def __init__(self, anchor, months=1, day=None):
        self.anchor = anchor
        self.months = months
        self.day = day or anchor.day

    def __repr__(self):
        return f'Schedule({self.anchor!r}, {self.months}, {self.day})'

    def boundary(self, index):
        "Return the first day of the index-th period (0 holds the anchor)"
        first = add_months(self.anchor.replace(day=1), 0, self.day)
        if first > self.anchor:
            index -= 1
        return add_months(first, index * self.months, self.day)

    def index(self, date):
        "Return the index of the period holding date"
        months = (date.year - self.anchor.year) * 12 + (
            date.month - self.anchor.month)
        index = months // self.months
        # The estimate is off by at most one either way
        while self.boundary(index) > date:
            index -= 1
        while self.boundary(index + 1) <= date:
            index += 1
        return index

    def period(self, date):
        "Return (start, end) of the period holding date"
        index = self.index(date)
        return self.boundary(index), self.boundary(index + 1) - _DAY

    def next_start(self, date):
        "Return the first period start strictly after date"
        return self.boundary(self.index(date) + 1)

    def windows(self, start, end):
        """Yield (window start, window end, period start, period end) that
        cut start–end at the period boundaries"""
        while start <= end:
            period_start, period_end = self.period(start)
            yield start, min(end, period_end), period_start, period_end
            start = period_end + _DAY


def days(start, end):
    "Return the number of days from start to end, both included"
    return (end - start).days + 1
