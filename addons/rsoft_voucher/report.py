"""The voucher reports, as spreadsheets: batches by state, the stock of
each partner, sales and redemptions per LCO and month, ageing, the
vouchers expiring within 30 days, the blocked ones, serials and states

The grouped ones read the vouchers the user may see (its record rules
through search(query=True)) with one query, so that they run on millions
of vouchers."""
import datetime as dt
from collections import defaultdict

from sql.aggregate import Count

from trytond.i18n import gettext
from trytond.modules.rsoft_toolkit.sheet import RecordSheet
from trytond.pool import Pool
from trytond.transaction import Transaction

# Days from sale (or allocation) to redemption
AGE_BUCKETS = [(0, 30), (31, 60), (61, 90), (91, 180), (181, None)]
EXPIRING_DAYS = 30


def _header(name):
    return gettext(f'rsoft_voucher.msg_sheet_{name}')


class BatchSheet(RecordSheet):
    "The batches with their vouchers counted by state"
    __name__ = 'rsoft.voucher.batch.xlsx'
    columns = [
        ('first_serial', 16), ('last_serial', 16), ('template', 24),
        ('quantity', 10), ('generated_at', 18), ('generated', 10),
        ('allocated', 10), ('sold', 10), ('redeemed', 10),
        ('blocked', 10), ('expired', 10), ('purged', 10),
        ]
    sums = True


class VoucherSheet(RecordSheet):
    "Serials and states of the vouchers selected (never a PIN)"
    __name__ = 'rsoft.voucher.xlsx'
    columns = [
        ('serial', 16), ('template', 24), ('batch', 28), ('state', 12),
        ('partner', 24), ('allocated_date', 12), ('activated_date', 12),
        ('expiry_date', 12), ('redeemed_by', 24), ('redeemed_at', 18),
        ]


class ExpiringSheet(VoucherSheet):
    "The vouchers in stock or sold whose last day is within 30 days"
    __name__ = 'rsoft.voucher.expiring.xlsx'

    @classmethod
    def sheet_domain(cls):
        today = Pool().get('ir.date').today()
        return [
            ('state', 'in', ['allocated', 'active']),
            ('expiry_date', '>=', today),
            ('expiry_date', '<=', today + dt.timedelta(days=EXPIRING_DAYS)),
            ]


class BlockedSheet(VoucherSheet):
    "The blocked vouchers"
    __name__ = 'rsoft.voucher.blocked.xlsx'

    @classmethod
    def sheet_domain(cls):
        return [('state', '=', 'blocked')]


class _GroupedSheet(RecordSheet):
    "A sheet of vouchers counted by group, the selected ones or all"

    @classmethod
    def sheet_records(cls, Model, ids, data):
        domain = ([('id', 'in', ids)] if ids
            else [cls.sheet_domain(), data.get('domain') or []])
        return Model.search(domain, order=[], query=True)

    @classmethod
    def _names(cls, model, ids):
        Model = Pool().get(model)
        return {r.id: r.rec_name for r in Model.browse(
                [i for i in ids if i is not None])}


class StockSheet(_GroupedSheet):
    "What each partner holds, sold and was redeemed, per template"
    __name__ = 'rsoft.voucher.stock.xlsx'
    states = ['allocated', 'active', 'redeemed', 'blocked', 'expired']

    @classmethod
    def sheet_table(cls, Model, query):
        voucher = Model.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*voucher.select(
                voucher.partner, voucher.template, voucher.state,
                Count(voucher.id),
                where=voucher.id.in_(query) & (voucher.partner != None),  # noqa: E711
                group_by=[voucher.partner, voucher.template, voucher.state]))
        counts = defaultdict(dict)
        for partner, template, state, count in cursor:
            counts[partner, template][state] = count
        partners = cls._names('rsoft.partner', {p for p, _ in counts})
        Template = Pool().get('rsoft.voucher.template')
        templates = {t.id: t for t in Template.browse(
                list({t for _, t in counts}))}
        columns = [(_header('partner'), 28, 'char'),
            (_header('template'), 24, 'char')] + [
            (_header(s), 10, 'integer') for s in cls.states] + [
            (_header('stock_value'), 14, 'numeric')]
        rows = []
        for (partner, template), by_state in sorted(counts.items(),
                key=lambda i: (partners[i[0][0]], templates[i[0][1]].name)):
            stock = by_state.get('allocated', 0) + by_state.get('active', 0)
            rows.append([partners[partner], templates[template].rec_name]
                + [by_state.get(s, 0) for s in cls.states]
                + [templates[template].face_value * stock])
        return columns, rows


class SalesSheet(_GroupedSheet):
    "Vouchers sold and redeemed per LCO and month, with their value"
    __name__ = 'rsoft.voucher.sales.xlsx'

    @classmethod
    def sheet_table(cls, Model, query):
        voucher = Model.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*voucher.select(
                voucher.partner, voucher.template, voucher.activated_date,
                voucher.redeemed_at,
                where=voucher.id.in_(query) & (voucher.partner != None)))  # noqa: E711
        Template = Pool().get('rsoft.voucher.template')
        values = {}
        figures = defaultdict(lambda: [0, 0, 0, 0])
        for partner, template, sold, redeemed in cursor:
            if template not in values:
                values[template] = Template(template).face_value
            for index, when in [(0, sold), (2, redeemed)]:
                if when:
                    month = (when.year, when.month)
                    row = figures[partner, month]
                    row[index] += 1
                    row[index + 1] += values[template]
        partners = cls._names('rsoft.partner', {p for p, _ in figures})
        columns = [(_header('partner'), 28, 'char'),
            (_header('month'), 10, 'char'),
            (_header('sold'), 10, 'integer'),
            (_header('sold_value'), 14, 'numeric'),
            (_header('redeemed'), 10, 'integer'),
            (_header('redeemed_value'), 14, 'numeric')]
        rows = [[partners[p], f'{y:04d}-{m:02d}', *row]
            for (p, (y, m)), row in sorted(figures.items(),
                key=lambda i: (partners[i[0][0]], i[0][1]))]
        return columns, rows


class AgeingSheet(_GroupedSheet):
    """Redeemed vouchers by template and by the days from their sale (or
    allocation) to their redemption"""
    __name__ = 'rsoft.voucher.ageing.xlsx'

    @classmethod
    def sheet_domain(cls):
        return [('state', 'in', ['redeemed', 'purged']),
            ('redeemed_at', '!=', None)]

    @classmethod
    def sheet_table(cls, Model, query):
        voucher = Model.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*voucher.select(
                voucher.template, voucher.allocated_date,
                voucher.activated_date, voucher.redeemed_at,
                where=voucher.id.in_(query)
                & (voucher.redeemed_at != None)))  # noqa: E711
        counts = defaultdict(lambda: [0] * len(AGE_BUCKETS))
        for template, allocated, sold, redeemed in cursor:
            start = sold or allocated
            if not start:
                continue
            if isinstance(redeemed, str):
                redeemed = dt.datetime.fromisoformat(redeemed)
            if isinstance(start, str):
                start = dt.date.fromisoformat(start)
            days = (redeemed.date() - start).days
            for index, (low, high) in enumerate(AGE_BUCKETS):
                if days >= low and (high is None or days <= high):
                    counts[template][index] += 1
                    break
        templates = cls._names('rsoft.voucher.template', counts)
        columns = [(_header('template'), 28, 'char')] + [
            (f'{low}-{high}' if high else f'{low}+', 10, 'integer')
            for low, high in AGE_BUCKETS]
        rows = [[templates[t], *c] for t, c in sorted(
                counts.items(), key=lambda i: templates[i[0]])]
        return columns, rows
