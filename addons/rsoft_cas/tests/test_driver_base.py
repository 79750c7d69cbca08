"The products of the driver interface, day and timed, no database"
import datetime

import pytest

from trytond.modules.rsoft_cas.drivers import base

D = datetime.date
DT = datetime.datetime
IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))


def test_day_product():
    "A pack's days: ISO dates both ways, as before timed products"
    gold = base.Product('P101', D(2026, 3, 1), D(2026, 3, 31))
    assert not gold.timed
    assert gold.as_dict() == {
        'id': 'P101', 'start': '2026-03-01', 'end': '2026-03-31'}
    assert base.Product.from_dict(gold.as_dict()) == gold
    sports = base.Product('P202', D(2026, 3, 1))
    assert sports.as_dict()['end'] is None
    assert base.Product.from_dict(sports.as_dict()) == sports


def test_timed_product():
    "A PPV window: UTC times to the second, marked Z, read back naive"
    match = base.Product('PPV-1', DT(2026, 3, 8, 14, 0),
        DT(2026, 3, 8, 17, 30, 0, 999999))
    assert match.timed
    assert match.as_dict() == {'id': 'PPV-1',
        'start': '2026-03-08T14:00:00Z', 'end': '2026-03-08T17:30:00Z'}
    assert base.Product.from_dict(match.as_dict()) == match
    assert match.end == DT(2026, 3, 8, 17, 30)

    # Times in another zone are converted: 19:30 in India is 14:00 UTC
    aware = base.Product('PPV-1', DT(2026, 3, 8, 19, 30, tzinfo=IST),
        DT(2026, 3, 8, 23, 0, tzinfo=IST))
    assert aware == match
    assert base.Product.from_dict({'id': 'PPV-1',
            'start': '2026-03-08T19:30:00+05:30',
            'end': '2026-03-08T17:30:00'}) == match

    open_ = base.Product('PPV-2', DT(2026, 3, 8, 14, 0))
    assert open_.as_dict()['end'] is None
    assert base.Product.from_dict(open_.as_dict()) == open_


def test_mixed_forms_refused():
    with pytest.raises(ValueError, match='both be dates or both be times'):
        base.Product('P1', D(2026, 3, 8), DT(2026, 3, 8, 17, 30))
    with pytest.raises(ValueError, match='both be dates or both be times'):
        base.Product.from_dict({'id': 'P1',
                'start': '2026-03-08T14:00:00Z', 'end': '2026-03-08'})
