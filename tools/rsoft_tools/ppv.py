"""The demo operator's pay-per-view, when rsoft_ppv is activated

Two PPV events in the coming days (the cricket final on the third day,
a boxing night on the fifth, in India's evening) and VOD titles in Hindi,
Marathi and English rented for 48 hours, each published with its price
from today and, when the head-end is set up, its CAS product in every CAS
system."""
import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

# name, code, days from today, local start, hours, sales close before the
# end (hours), price
EVENTS = [
    ("Cricket Final: Mumbai vs Chennai", 'PPV-CRICKET', 3,
        datetime.time(19, 30), 4, 1, '199'),
    ("Boxing Night: Super Middleweight Title", 'PPV-BOXING', 5,
        datetime.time(21, 0), 3, 0, '299'),
    ]
# name, code, rental hours, price
TITLES = [
    ("Dangal (Hindi)", 'VOD-DANGAL', 48, '79'),
    ("Sairat (Marathi)", 'VOD-SAIRAT', 48, '49'),
    ("Natsamrat (Marathi)", 'VOD-NATSAMRAT', 48, '49'),
    ("The Jungle Book (English)", 'VOD-JUNGLE-BOOK', 48, '99'),
    ]


class PpvLoader:

    def __init__(self, generator):
        self.g = generator

    def run(self):
        g = self.g
        if not g.activated('rsoft_ppv') or g.in_transaction(self._loaded):
            return
        g.in_transaction(self._catalogue)

    def _loaded(self):
        from trytond.pool import Pool
        Template = Pool().get('product.template')
        return bool(Template.search(
                [('rsoft_kind', 'in', ['ppv', 'vod'])], limit=1))

    def _catalogue(self):
        "Create, price and publish the events and the titles"
        from trytond.pool import Pool
        pool = Pool()
        Company = pool.get('company.company')
        Date = pool.get('ir.date')
        ModelData = pool.get('ir.model.data')
        OfferPrice = pool.get('rsoft.offer.price')
        System = pool.get('rsoft.cas.system')
        Template = pool.get('product.template')
        company = Company(self.g.company_id)
        zone = ZoneInfo(company.timezone or 'Asia/Kolkata')
        today = Date.today()
        # Their revenue account and taxes: those of the other services
        services = Template.search([
                ('rsoft_kind', '=', 'dvr'),
                ('account_category', '!=', None),
                ], limit=1)
        base = {
            'type': 'service',
            'default_uom': ModelData.get_id('product', 'uom_unit'),
            'account_category': (services[0].account_category.id
                if services else None),
            'products': [('create', [{}])],
            }
        vlist = []
        for name, code, days, start, hours, close, price in EVENTS:
            begin = datetime.datetime.combine(
                today + datetime.timedelta(days=days), start, zone)
            end = begin + datetime.timedelta(hours=hours)
            vlist.append({
                    **base, **self._priced(price, today),
                    'name': name, 'code': code, 'rsoft_kind': 'ppv',
                    'ppv_start': _utc(begin), 'ppv_end': _utc(end),
                    'ppv_sale_end': _utc(
                        end - datetime.timedelta(hours=close)),
                    })
        for name, code, hours, price in TITLES:
            vlist.append({
                    **base, **self._priced(price, today),
                    'name': name, 'code': code, 'rsoft_kind': 'vod',
                    'vod_hours': hours,
                    })
        templates = Template.create(vlist)
        OfferPrice.publish([p for t in templates for p in t.offer_prices])
        Template.publish(templates)
        if System.search([], limit=1):
            for template in templates:
                # The head-end knows each by its code
                template.cas_product = template.code
            Template.save(templates)

    @staticmethod
    def _priced(price, today):
        return {
            'list_price': Decimal(price),
            'offer_prices': [('create', [{
                            'start_date': today,
                            'price': Decimal(price),
                            }])],
            }


def _utc(when):
    "Return when as Tryton stores it: naive, in UTC"
    return when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
