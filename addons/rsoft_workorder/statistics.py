"""QoS statistics: complaints and work orders by month, LCO and kind, and
technicians' productivity

Each is one query over the stored figures (the SLA result, the hours,
the company's dates) that the complaints and orders keep when their
clocks stop: no loop over records, the same on every database."""
import datetime as dt
from decimal import Decimal

from sql import Cast, Literal, Null
from sql.aggregate import Count, Sum
from sql.conditionals import Case, Coalesce

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.rsoft_toolkit.guard import ReportQueryMixin
from trytond.modules.rsoft_toolkit.sheet import RecordSheet
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .configuration import CATEGORIES, ORDER_KINDS
from .exceptions import ServiceError

# A longer period is refused: its query compares each date with as many
# month ends
MAX_MONTHS = 36


def _today():
    return Pool().get('ir.date').today()


def months_between(from_date, to_date):
    "Return (key, first day, last day) of each month from one to the other"
    months = []
    first = from_date.replace(day=1)
    while first <= to_date:
        following = (first + dt.timedelta(days=32)).replace(day=1)
        months.append((first.year * 100 + first.month, first,
                following - dt.timedelta(days=1)))
        first = following
    return months


def _rate(part, whole):
    "Return part of whole in percent, to the hundredth, or None"
    if not whole:
        return None
    return (Decimal(part or 0) * 100 / whole).quantize(Decimal('0.01'))


def _average(total, count):
    if not count:
        return None
    return (Decimal(str(total or 0)) / count).quantize(Decimal('0.01'))


class StatisticsContext(ModelView):
    "The months and the LCO the statistics are of"
    __name__ = 'rsoft.service.statistics.context'
    __string__ = "Service Statistics Context"

    company = fields.Many2One('company.company', "Company", required=True)
    from_date = fields.Date(
        "From Month", required=True,
        domain=[('from_date', '<=', Eval('to_date'))],
        help="Any day of the first month listed.")
    to_date = fields.Date(
        "To Month", required=True,
        domain=[('to_date', '>=', Eval('from_date'))],
        help="Any day of the last month listed.")
    lco = fields.Many2One(
        'rsoft.partner', "LCO",
        domain=[
            ('role', '=', 'lco'),
            ('company', '=', Eval('company', -1)),
            ])

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_from_date(cls):
        return (Transaction().context.get('from_date')
            or _today().replace(month=1, day=1))

    @classmethod
    def default_to_date(cls):
        return Transaction().context.get('to_date') or _today()

    @classmethod
    def default_lco(cls):
        return Transaction().context.get('lco')


class _StatisticsMixin(ReportQueryMixin, ModelSQL, ModelView):
    __slots__ = ()

    company = fields.Many2One('company.company', "Company")
    month = fields.Date("Month", help="The first day of the month.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('month', 'DESC'), ('id', 'ASC')]

    @classmethod
    def get_months(cls):
        context = Transaction().context
        today = _today()
        months = months_between(
            context.get('from_date') or today.replace(month=1, day=1),
            context.get('to_date') or today)
        if len(months) > MAX_MONTHS:
            raise ServiceError(gettext(
                    'rsoft_workorder.msg_statistics_too_many_months',
                    months=len(months), maximum=MAX_MONTHS))
        return months

    @classmethod
    def _grouped(cls, table, date, where, keys, sums):
        """Return the sums by month and keys of the rows of table whose
        date is in the months of the context

        The rows are keyed in a subquery: PostgreSQL groups by a column,
        not by an expression whose dates are parameters."""
        context = Transaction().context
        months = cls.get_months()
        first, last = months[0][1], months[-1][2]
        key = Case(*((date <= end, k) for k, _, end in months), else_=Null)
        month = Case(*((date <= end, start) for _, start, end in months),
            else_=Null)
        where &= ((table.company == (context.get('company') or -1))
            & (date >= first) & (date <= last))
        rows = table.select(
            key.as_('key'), month.as_('month'), table.company.as_('company'),
            *(v.as_(n) for n, v in keys.items()),
            *(v.as_(n) for n, v in sums.items()),
            where=where)
        columns = [rows.key, rows.month, rows.company] + [
            getattr(rows, n) for n in keys]
        return rows, columns

    @staticmethod
    def _index(column, selection):
        "Return the rank of the value of column among selection's"
        return Case(*((column == v, i) for i, (v, _) in enumerate(
                    selection, 1)), else_=0)


class ComplaintStatistics(_StatisticsMixin):
    """Complaints lodged per month, LCO and category, and the share
    resolved within the category's target (the QoS figure TRAI asks for)"""
    __name__ = 'rsoft.complaint.statistics'
    __string__ = "Complaint Statistics"

    lco = fields.Many2One('rsoft.partner', "LCO")
    category = fields.Selection(CATEGORIES, "Category")
    lodged = fields.Integer("Lodged")
    resolved = fields.Integer(
        "Resolved", help="Of those lodged, the ones resolved since.")
    met = fields.Integer(
        "Within Target", help="Of those lodged, the ones resolved within "
        "the target.")
    open_breached = fields.Integer(
        "Open Past Due", help="Of those lodged, the ones still open past "
        "their due time.")
    escalated = fields.Integer("Escalated")
    repeats = fields.Integer(
        "Repeat Complaints",
        help="Lodged on a connection that had another complaint within "
        "the repeat window.")
    reopened = fields.Integer("Reopened")
    hours = fields.Numeric(
        "Resolution Hours", digits=(16, 2),
        help="The hours to resolve, summed.")
    met_rate = fields.Function(
        fields.Numeric(
            "% Within Target", digits=(5, 2),
            help="Resolved within the target, of those lodged."),
        'get_figures')
    goal = fields.Function(
        fields.Numeric("% Goal", digits=(5, 2),
            help="The share the target asks for."),
        'get_figures')
    average_hours = fields.Function(
        fields.Numeric("Average Hours", digits=(16, 2)), 'get_figures')

    @classmethod
    def table_query(cls):
        pool = Pool()
        Complaint = pool.get('rsoft.complaint')
        Configuration = pool.get('rsoft.service.configuration')
        complaint = Complaint.__table__()
        context = Transaction().context
        now = Configuration.now()
        where = Literal(True)
        if context.get('lco'):
            where &= complaint.lco == context['lco']

        def one_if(condition):
            return Case((condition, 1), else_=0)
        rows, columns = cls._grouped(
            complaint, complaint.lodged_date, where,
            {'lco': complaint.lco, 'category': complaint.category}, {
                'lodged': Literal(1),
                'resolved': one_if(complaint.resolved_at != Null),
                'met': one_if(complaint.sla_result == 'met'),
                'open_breached': one_if(
                    complaint.state.in_(
                        ['open', 'assigned', 'in_progress', 'reopened'])
                    & (complaint.due_at < now)),
                'escalated': one_if(complaint.escalation != 'none'),
                'repeats': one_if(complaint.repeat == Literal(True)),
                'reopened': one_if(complaint.reopen_count > 0),
                'hours': Coalesce(complaint.resolution_hours, 0),
                })
        names = ['lodged', 'resolved', 'met', 'open_breached', 'escalated',
            'repeats', 'reopened', 'hours']
        return rows.select(
            # A row is an LCO, a month and a category: they make its id
            ((Cast(rows.lco, 'BIGINT') * 1000000 + rows.key) * 10
                + cls._index(rows.category, CATEGORIES)).as_('id'),
            rows.company, rows.month, rows.lco, rows.category,
            *(Sum(getattr(rows, n)).as_(n) for n in names),
            group_by=columns)

    @classmethod
    def get_figures(cls, rows, names):
        pool = Pool()
        Target = pool.get('rsoft.service.target')
        goals = {t.kind: t.goal for t in Target.search([])}
        result = {n: {} for n in names}
        for row in rows:
            goal = goals.get(f'complaint_{row.category}')
            values = {
                'met_rate': _rate(row.met, row.lodged),
                'goal': (goal * 100).quantize(Decimal('0.01'))
                if goal else None,
                'average_hours': _average(row.hours, row.resolved),
                }
            for name in names:
                result[name][row.id] = values[name]
        return result


class WorkOrderStatistics(_StatisticsMixin):
    """Work orders completed per month, LCO and kind: within target (an
    installation's 72 hours from the paid request), hours taken, failed
    visits"""
    __name__ = 'rsoft.work_order.statistics'
    __string__ = "Work Order Statistics"

    lco = fields.Many2One('rsoft.partner', "LCO")
    kind = fields.Selection(ORDER_KINDS, "Kind")
    done = fields.Integer("Done")
    met = fields.Integer("Within Target")
    failures = fields.Integer(
        "Failed Visits", help="The visits that failed before these orders "
        "were done.")
    hours = fields.Numeric(
        "Hours to Complete", digits=(16, 2),
        help="From the paid request (else the request) to completion, "
        "summed.")
    met_rate = fields.Function(
        fields.Numeric("% Within Target", digits=(5, 2)), 'get_figures')
    average_hours = fields.Function(
        fields.Numeric("Average Hours", digits=(16, 2)), 'get_figures')

    @classmethod
    def table_query(cls):
        pool = Pool()
        WorkOrder = pool.get('rsoft.work_order')
        order = WorkOrder.__table__()
        context = Transaction().context
        where = order.state == 'done'
        if context.get('lco'):
            where &= order.lco == context['lco']
        rows, columns = cls._grouped(
            order, order.done_date, where,
            {'lco': order.lco, 'kind': order.kind}, {
                'done': Literal(1),
                'met': Case((order.sla_result == 'met', 1), else_=0),
                'failures': Coalesce(order.failure_count, 0),
                'hours': Coalesce(order.duration_hours, 0),
                })
        names = ['done', 'met', 'failures', 'hours']
        return rows.select(
            ((Cast(rows.lco, 'BIGINT') * 1000000 + rows.key) * 10
                + cls._index(rows.kind, ORDER_KINDS)).as_('id'),
            rows.company, rows.month, rows.lco, rows.kind,
            *(Sum(getattr(rows, n)).as_(n) for n in names),
            group_by=columns)

    @classmethod
    def get_figures(cls, rows, names):
        result = {n: {} for n in names}
        for row in rows:
            values = {
                'met_rate': _rate(row.met, row.done),
                'average_hours': _average(row.hours, row.done),
                }
            for name in names:
                result[name][row.id] = values[name]
        return result


class TechnicianStatistics(_StatisticsMixin):
    "What each technician completed per month, and how fast"
    __name__ = 'rsoft.technician.statistics'
    __string__ = "Technician Productivity"

    technician = fields.Many2One('rsoft.technician', "Technician")
    lco = fields.Many2One(
        'rsoft.partner', "Employer",
        help="The LCO, or the MSO, the technician works for.")
    done = fields.Integer("Done")
    days = fields.Integer("Days Worked")
    met = fields.Integer("Within Target")
    failures = fields.Integer("Failed Visits")
    work_hours = fields.Numeric(
        "Hours on Site", digits=(16, 2), help="Summed.")
    per_day = fields.Function(
        fields.Numeric("Orders per Day", digits=(16, 2)), 'get_figures')
    average_work_hours = fields.Function(
        fields.Numeric("Average Hours on Site", digits=(16, 2)),
        'get_figures')
    met_rate = fields.Function(
        fields.Numeric("% Within Target", digits=(5, 2)), 'get_figures')

    @classmethod
    def table_query(cls):
        pool = Pool()
        Technician = pool.get('rsoft.technician')
        WorkOrder = pool.get('rsoft.work_order')
        order = WorkOrder.__table__()
        technician = Technician.__table__()
        context = Transaction().context
        where = (order.state == 'done') & (order.technician != Null)
        if context.get('lco'):
            where &= order.lco == context['lco']
        rows, columns = cls._grouped(
            order, order.done_date, where,
            {'technician': order.technician}, {
                'done_date': order.done_date,
                'met': Case((order.sla_result == 'met', 1), else_=0),
                'failures': Coalesce(order.failure_count, 0),
                'work_hours': Coalesce(order.work_hours, 0),
                })
        figures = rows.select(
            rows.key, rows.month, rows.company, rows.technician,
            Count(rows.technician).as_('done'),
            Count(rows.done_date, distinct=True).as_('days'),
            Sum(rows.met).as_('met'),
            Sum(rows.failures).as_('failures'),
            Sum(rows.work_hours).as_('work_hours'),
            group_by=columns)
        return figures.join(technician,
            condition=figures.technician == technician.id).select(
            (Cast(figures.technician, 'BIGINT') * 1000000
                + figures.key).as_('id'),
            figures.company, figures.month, figures.technician,
            technician.lco.as_('lco'),
            figures.done, figures.days, figures.met, figures.failures,
            figures.work_hours)

    @classmethod
    def get_figures(cls, rows, names):
        result = {n: {} for n in names}
        for row in rows:
            values = {
                'per_day': _average(row.done, row.days),
                'average_work_hours': _average(row.work_hours, row.done),
                'met_rate': _rate(row.met, row.done),
                }
            for name in names:
                result[name][row.id] = values[name]
        return result


class _StatisticsSheet(RecordSheet):

    @classmethod
    def sheet_title(cls, name):
        months = Pool().get('rsoft.complaint.statistics').get_months()
        to_date = months[-1][2]
        return cls.period_title(name, months[0][1], to_date), to_date

    @classmethod
    def sheet_records(cls, Model, ids, data):
        records = super().sheet_records(Model, ids, data)
        return sorted(records, key=lambda r: (r.month, r.id))


class ComplaintStatisticsSheet(_StatisticsSheet):
    "The complaint statistics as a spreadsheet"
    __name__ = 'rsoft.complaint.statistics.xlsx'
    columns = [
        ('month', 10),
        ('lco', 28),
        ('category', 16),
        ('lodged', 9),
        ('resolved', 9),
        ('met', 9),
        ('met_rate', 10),
        ('goal', 8),
        ('open_breached', 9),
        ('escalated', 9),
        ('repeats', 9),
        ('reopened', 9),
        ('average_hours', 10),
        ]


class WorkOrderStatisticsSheet(_StatisticsSheet):
    "The work order statistics as a spreadsheet"
    __name__ = 'rsoft.work_order.statistics.xlsx'
    columns = [
        ('month', 10),
        ('lco', 28),
        ('kind', 16),
        ('done', 9),
        ('met', 9),
        ('met_rate', 10),
        ('failures', 9),
        ('average_hours', 10),
        ]


class TechnicianStatisticsSheet(_StatisticsSheet):
    "The technicians' productivity as a spreadsheet"
    __name__ = 'rsoft.technician.statistics.xlsx'
    columns = [
        ('month', 10),
        ('technician', 24),
        ('lco', 28),
        ('done', 9),
        ('days', 9),
        ('per_day', 9),
        ('met', 9),
        ('met_rate', 10),
        ('failures', 9),
        ('average_work_hours', 10),
        ]
