"""Billing of the demo operator, when rsoft_billing is activated

Every account gets a billing profile: three in four prepaid and billed on
the 1st, the others postpaid, monthly or quarterly. Billing starts with the
previous month (the earlier ones were billed by the system RSoft replaced).
The prepaid accounts of the smallest LCO top up their wallet and a few of
its accounts are billed on the 1st of this month: their bills, charges and
wallet entries are there to see. A draft bill run of that LCO waits to be
started from the web client (Billing > Bill Runs) for the others, and the
other LCOs for `python -m rsoft_tools.billrun`: the stock Tryton posting
behind every invoice takes seconds per account on SQLite."""
import datetime
from decimal import Decimal

# (billing mode, cycle, share of the accounts in 12ths)
PROFILES = [
    ('prepaid', 1, 9),
    ('postpaid', 1, 2),
    ('postpaid', 3, 1),
    ]


class BillingLoader:

    def __init__(self, generator, lcos=1, accounts=None):
        self.g = generator
        self.lco_count = lcos
        self.accounts = accounts

    def run(self):
        g = self.g
        if not g.activated('rsoft_billing') or (
                g.in_transaction(self._loaded)):
            return
        g.in_transaction(self._configure)
        g.in_transaction(self._profiles)
        lcos = g.in_transaction(self._lcos)[:self.lco_count]
        for lco in lcos:
            g.in_transaction(self._top_up, lco)
            if self.accounts is None:
                self.bill(lco)
            else:
                g.in_transaction(self._bill_some, lco)

    def bill(self, lco=None, date=None):
        "Bill the accounts of lco (all without) as a bill run does"
        from trytond.pool import Pool
        from trytond.worker import run_task
        g = self.g
        run_id, tasks = g.in_transaction(self._start_run, lco, date)
        pool = Pool(g.database)
        for task_id in tasks:
            run_task(pool, task_id)
        return run_id

    def _loaded(self):
        from trytond.pool import Pool
        Configuration = Pool().get('rsoft.billing.configuration')
        return bool(Configuration(1).billing_start)

    def _configure(self):
        "Wallet accounts, billing start, bill layouts, fiscal years"
        from trytond.modules.rsoft_wallet.tests.tools import (
            configure_wallets,
        )
        from trytond.pool import Pool
        pool = Pool()
        Company = pool.get('company.company')
        Configuration = pool.get('rsoft.billing.configuration')
        Partner = pool.get('rsoft.partner')
        Date = pool.get('ir.date')
        company = Company(self.g.company_id)
        configure_wallets(company)
        today = Date.today()
        start = (today.replace(day=1) - datetime.timedelta(days=1)).replace(
            day=1)
        self._fiscal_years(company, start)
        Configuration.write([Configuration(1)], {'billing_start': start})
        lcos = Partner.search([('role', '=', 'lco')], order=[('code', 'ASC')])
        for layout, records in [('classic', lcos[0::2]),
                ('compact', lcos[1::2])]:
            Partner.write(records, {'bill_template': layout})

    def _fiscal_years(self, company, start):
        """Open the Indian fiscal years (1 April to 31 March) from start,
        with their GST invoice series: RS/2526/000001, credit notes
        RC/2526/000001"""
        from trytond.pool import Pool
        pool = Pool()
        FiscalYear = pool.get('account.fiscalyear')
        Sequence = pool.get('ir.sequence.strict')
        ModelData = pool.get('ir.model.data')
        Date = pool.get('ir.date')
        invoice_type = ModelData.get_id(
            'account_invoice', 'sequence_type_account_invoice')
        move_type = ModelData.get_id('account', 'sequence_type_account_move')
        today = Date.today()
        first = start.year if start.month >= 4 else start.year - 1
        last = today.year if today.month >= 4 else today.year - 1
        for year in range(first, last + 1):
            name = f'{year}-{(year + 1) % 100:02d}'
            code = f'{year % 100:02d}{(year + 1) % 100:02d}'
            fiscalyears = FiscalYear.search([
                    ('start_date', '<=', datetime.date(year, 4, 1)),
                    ('end_date', '>=', datetime.date(year, 4, 1)),
                    ])
            if fiscalyears:
                fiscalyear, = fiscalyears
            else:
                move, = Sequence.create([{
                            'name': f"Moves {name}",
                            'sequence_type': move_type,
                            'company': company.id,
                            }])
                fiscalyear, = FiscalYear.create([{
                            'name': name, 'company': company.id,
                            'start_date': datetime.date(year, 4, 1),
                            'end_date': datetime.date(year + 1, 3, 31),
                            'move_sequence': move.id,
                            }])
                FiscalYear.create_period([fiscalyear])
            if not fiscalyear.invoice_sequences:
                invoice, credit_note, supplier = Sequence.create([{
                            'name': f"{kind} {name}",
                            'sequence_type': invoice_type,
                            'company': company.id,
                            'prefix': prefix, 'padding': padding,
                            } for kind, prefix, padding in [
                            ("Invoices", f'RS/{code}/', 6),
                            ("Credit Notes", f'RC/{code}/', 6),
                            ("Supplier Invoices", f'SUP/{code}/', 0)]])
                FiscalYear.write([fiscalyear], {
                        'invoice_sequences': [('create', [{
                                        'company': company.id,
                                        # After the series an LCO or a
                                        # state may be given
                                        'sequence': 100,
                                        'out_invoice_sequence': invoice.id,
                                        'out_credit_note_sequence': (
                                            credit_note.id),
                                        'in_invoice_sequence': supplier.id,
                                        'in_credit_note_sequence': (
                                            supplier.id),
                                        }])],
                        })

    def _profiles(self):
        """Give every account its billing profile

        In SQL: the generator wrote the accounts in bulk, without the
        defaults and the anchor an activation sets."""
        from sql import Literal

        from trytond.pool import Pool
        from trytond.transaction import Transaction
        Subscriber = Pool().get('rsoft.subscriber')
        table = Subscriber.__table__()
        cursor = Transaction().connection.cursor()
        twelfth = 0
        for mode, cycle, share in PROFILES:
            cursor.execute(*table.update(
                    [table.billing_mode, table.billing_cycle,
                        table.bill_day_mode, table.bill_day,
                        table.align_lines, table.bill_delivery,
                        table.billing_anchor],
                    [mode, cycle, 'fixed', 1, Literal(True),
                        'email' if mode == 'prepaid' else 'print',
                        table.activation_date],
                    where=((table.id % 12) >= twelfth)
                    & ((table.id % 12) < twelfth + share)))
            twelfth += share

    def _lcos(self):
        "Return the LCOs, the one with the fewest accounts first"
        from trytond.pool import Pool
        pool = Pool()
        Partner = pool.get('rsoft.partner')
        Subscriber = pool.get('rsoft.subscriber')
        lcos = Partner.search([('role', '=', 'lco')], order=[('code', 'ASC')])
        return [lco.id for lco in sorted(lcos, key=lambda lco: (
                    Subscriber.search_count([('lco', '=', lco.id)]),
                    lco.code))]

    def _top_up(self, lco_id):
        "The prepaid accounts of lco pay in two months, some less"
        from trytond.pool import Pool
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        Wallet = pool.get('rsoft.wallet')
        Configuration = pool.get('rsoft.billing.configuration')
        start = Configuration(1).billing_start
        subscribers = Subscriber.search([
                ('lco', '=', lco_id),
                ('billing_mode', '=', 'prepaid'),
                ('state', 'in', ['active', 'suspended']),
                ], order=[('id', 'ASC')])
        wallets = Wallet.get_wallets(subscribers)
        # Most pay the two months billed, some only one and expire
        amounts = [Decimal(self.g.rng.choice([600, 1500, 2000, 2500, 3000]))
            for _ in subscribers]
        Wallet.top_up([(w, a, start, "Cash at the LCO counter")
                for w, a in zip(wallets, amounts)])

    def _bill_some(self, lco_id):
        "Bill the first accounts of lco; leave a draft run for the others"
        from trytond.pool import Pool
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        Run = pool.get('rsoft.billing.run')
        Date = pool.get('ir.date')
        date = Date.today().replace(day=1)
        Subscriber.bill(Subscriber.search([
                    ('lco', '=', lco_id),
                    ('state', 'in', ['active', 'suspended']),
                    ], order=[('id', 'ASC')], limit=self.accounts), date)
        Run.create([{'date': date, 'scope': 'lco', 'lco': lco_id}])

    def _start_run(self, lco_id, date):
        from trytond.pool import Pool
        from trytond.transaction import Transaction
        pool = Pool()
        Run = pool.get('rsoft.billing.run')
        Date = pool.get('ir.date')
        values = {'date': date or Date.today().replace(day=1)}
        if lco_id:
            values.update(scope='lco', lco=lco_id)
        run, = Run.create([values])
        transaction = Transaction()
        transaction.tasks.clear()
        Run.start([run])
        return run.id, list(transaction.tasks)
