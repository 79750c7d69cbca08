from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.wizard import Button, StateView, Wizard

from .common import (
    RATE_DIGITS,
    at_date,
    format_date,
    format_number,
    format_rate,
    round_amount,
)
from .exceptions import (
    RateValidationError,
    TariffComplianceError,
    TariffRuleValidationError,
)
from .offer import PACK_KINDS

RULE_KINDS = [
    ('bouquet_discount', "Broadcaster bouquet discount"),
    ('dpo_bouquet_discount', "Operator bouquet discount"),
    ('bouquet_channel_mrp', "Bouquet channel MRP"),
    ('alacarte_price', "A-la-carte price"),
    ('installation_price', "Installation price"),
    ('activation_price', "Activation price"),
    ]
DISCOUNT_KINDS = {'bouquet_discount', 'dpo_bouquet_discount'}
PRICE_CAP_KINDS = {
    'installation': 'installation_price',
    'activation': 'activation_price',
    }


class TariffRule(DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'rsoft.tariff.rule'
    __string__ = "Tariff Rule"
    name = fields.Char("Name", required=True, translate=True)
    reference = fields.Char(
        "Reference",
        help="The regulation the rule comes from, "
        "e.g. \"TRAI Tariff Order 2022\".")
    kind = fields.Selection(
        RULE_KINDS, "Kind", required=True, sort=False,
        help="Broadcaster/operator bouquet discount: the largest discount "
        "of a bouquet against the sum of its channels' MRPs (0.45).\n"
        "Bouquet channel MRP: the highest MRP of a channel in a bouquet "
        "(19.00).\n"
        "A-la-carte price: the largest ratio of the operator's price of a "
        "channel or broadcaster bouquet to its MRP (1.0).\n"
        "Installation/activation price: the highest price (350.00, 100.00).")
    value = fields.Numeric(
        "Value", digits=RATE_DIGITS, required=True,
        help="A fraction for discounts and ratios (0.45 = 45%), "
        "an amount for MRP and price caps.")
    start_date = fields.Date(
        "Start Date", required=True,
        domain=[
            If(Eval('end_date'),
                ('start_date', '<=', Eval('end_date')),
                ()),
            ])
    end_date = fields.Date(
        "End Date",
        domain=[
            If(Eval('end_date'),
                ('end_date', '>=', Eval('start_date')),
                ()),
            ],
        help="The last day the rule applies.\nLeave empty for no end.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('start_date', 'DESC'))

    @classmethod
    def validate_fields(cls, rules, field_names):
        super().validate_fields(rules, field_names)
        if field_names and not (field_names & {'kind', 'value'}):
            return
        for rule in rules:
            if rule.value < 0:
                raise TariffRuleValidationError(gettext(
                        'rsoft_catalogue.msg_tariff_rule_negative',
                        rule=rule.rec_name))
            if rule.kind in DISCOUNT_KINDS and rule.value > 1:
                raise RateValidationError(gettext(
                        'rsoft_catalogue.msg_tariff_rule_rate',
                        rule=rule.rec_name))

    @classmethod
    def get_rules(cls, date=None):
        "Return {kind: rule} of the rules in force at date"
        date = at_date(date)
        rules = cls.search([
                ('start_date', '<=', date),
                ['OR',
                    ('end_date', '=', None),
                    ('end_date', '>=', date),
                    ],
                ], order=[('start_date', 'ASC'), ('id', 'ASC')])
        return {r.kind: r for r in rules}

    @classmethod
    def check_offers(cls, templates, date=None, price_versions=None):
        """Return the findings of the offers against the rules at date

        price_versions maps a template id to the rsoft.offer.price to check
        instead of its published version in force at date.
        """
        pool = Pool()
        Template = pool.get('product.template')
        date = at_date(date)
        rules = cls.get_rules(date)
        templates = [t for t in templates if t.rsoft_kind]
        if not rules or not templates:
            return []
        versions = Template.get_price_versions(templates, date=date)
        versions.update(price_versions or {})
        findings = []
        for template in templates:
            findings.extend(cls._check_offer(
                    template, rules, date, versions.get(template.id)))
        return findings

    @classmethod
    def _check_offer(cls, template, rules, date, version):
        kind = template.rsoft_kind
        price = version.get_term_amount(1) if version else None
        findings = []
        if kind == 'alacarte':
            findings += cls._check_alacarte(template, rules, date, price)
        elif kind == 'broadcaster_bouquet':
            findings += cls._check_bouquet_discount(
                template, rules.get('bouquet_discount'), date,
                template.bouquet.get_price(date))
            findings += cls._check_bouquet_mrps(template, rules, date)
            findings += cls._check_bouquet_price(template, rules, date, price)
        elif kind in PACK_KINDS:
            findings += cls._check_bouquet_discount(
                template, rules.get('dpo_bouquet_discount'), date, price)
            findings += cls._check_bouquet_mrps(template, rules, date)
        elif kind in PRICE_CAP_KINDS:
            findings += cls._check_price_cap(
                template, rules.get(PRICE_CAP_KINDS[kind]), price)
        return findings

    @classmethod
    def _check_alacarte(cls, template, rules, date, price):
        channel = template.channel
        return cls._check_within_mrp(template, rules, date, price,
            'channel', channel, channel.get_mrp(date))

    @classmethod
    def _check_bouquet_discount(cls, template, rule, date, price):
        pool = Pool()
        Bouquet = pool.get('rsoft.bouquet')
        if not rule or price is None:
            return []
        bouquet = template.bouquet
        total = Bouquet.get_alacarte_totals([bouquet], date)[bouquet.id]
        discount = Bouquet.compute_discount(price, total)
        if discount is not None and discount > rule.value:
            return [gettext('rsoft_catalogue.msg_tariff_bouquet_discount',
                    offer=template.rec_name, rule=rule.rec_name,
                    bouquet=bouquet.rec_name, price=format_number(price),
                    total=format_number(total),
                    discount=format_rate(discount),
                    cap=format_rate(rule.value))]
        return []

    @classmethod
    def _check_bouquet_mrps(cls, template, rules, date):
        pool = Pool()
        Channel = pool.get('rsoft.channel')
        rule = rules.get('bouquet_channel_mrp')
        if not rule:
            return []
        channels = sorted(template.bouquet.get_channels(), key=lambda c: c.lcn)
        mrps = Channel.get_mrps(channels, date=date)
        return [gettext('rsoft_catalogue.msg_tariff_bouquet_channel_mrp',
                offer=template.rec_name, rule=rule.rec_name,
                channel=c.rec_name, mrp=format_number(mrps[c.id]),
                cap=format_number(rule.value))
            for c in channels
            if mrps[c.id] is not None and mrps[c.id] > rule.value]

    @classmethod
    def _check_bouquet_price(cls, template, rules, date, price):
        bouquet = template.bouquet
        return cls._check_within_mrp(template, rules, date, price,
            'bouquet', bouquet, bouquet.get_price(date))

    @classmethod
    def _check_within_mrp(cls, template, rules, date, price, name, source,
            mrp):
        "Check price against the MRP of source, a channel or a bouquet"
        rule = rules.get('alacarte_price')
        if not rule or price is None:
            return []
        if mrp is None:
            return [gettext(f'rsoft_catalogue.msg_tariff_{name}_no_mrp',
                    offer=template.rec_name, rule=rule.rec_name,
                    date=format_date(date), **{name: source.rec_name})]
        limit = round_amount(mrp * rule.value)
        if price > limit:
            message = ('alacarte_price' if name == 'channel'
                else 'bouquet_price')
            return [gettext(f'rsoft_catalogue.msg_tariff_{message}',
                    offer=template.rec_name, rule=rule.rec_name,
                    price=format_number(price), mrp=format_number(mrp),
                    limit=format_number(limit),
                    **{name: source.rec_name})]
        return []

    @classmethod
    def _check_price_cap(cls, template, rule, price):
        if not rule or price is None or price <= rule.value:
            return []
        return [gettext('rsoft_catalogue.msg_tariff_price_cap',
                offer=template.rec_name, rule=rule.rec_name,
                price=format_number(price), cap=format_number(rule.value))]

    @classmethod
    def check_publish_offers(cls, templates):
        """Refuse to publish offers breaking a rule today or at the start of
        one of their future published price versions"""
        pool = Pool()
        Date = pool.get('ir.date')
        OfferPrice = pool.get('rsoft.offer.price')
        today = Date.today()
        findings = cls.check_offers(templates, date=today)
        for version in OfferPrice.search([
                    ('template', 'in', [t.id for t in templates]),
                    ('state', '=', 'published'),
                    ('start_date', '>', today),
                    ]):
            findings += cls.check_offers(
                [version.template], date=version.start_date,
                price_versions={version.template.id: version})
        cls.raise_findings(findings)

    @classmethod
    def check_publish_prices(cls, versions):
        "Refuse to publish price versions breaking a rule at their start"
        findings = []
        for version in versions:
            findings += cls.check_offers(
                [version.template], date=version.start_date,
                price_versions={version.template.id: version})
        cls.raise_findings(findings)

    @classmethod
    def raise_findings(cls, findings):
        if findings:
            raise TariffComplianceError(gettext(
                    'rsoft_catalogue.msg_tariff_refused',
                    findings='\n'.join(dict.fromkeys(findings))))


class TariffCheck(Wizard):
    __name__ = 'rsoft.tariff.check'
    __string__ = "Check Tariff Compliance"
    start = StateView(
        'rsoft.tariff.check.start',
        'rsoft_catalogue.tariff_check_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Check", 'result', 'tryton-ok', default=True),
            ])
    result = StateView(
        'rsoft.tariff.check.result',
        'rsoft_catalogue.tariff_check_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_result(self, fields):
        pool = Pool()
        Template = pool.get('product.template')
        TariffRule = pool.get('rsoft.tariff.rule')
        date = self.start.date
        findings = TariffRule.check_offers(Template.search([
                    ('rsoft_kind', '!=', None),
                    ('offer_state', '=', 'published'),
                    ]), date=date)
        if not findings:
            findings = [gettext(
                    'rsoft_catalogue.msg_tariff_all_comply',
                    date=format_date(date))]
        return {
            'date': date,
            'findings': '\n'.join(findings),
            }


class TariffCheckStart(ModelView):
    __name__ = 'rsoft.tariff.check.start'
    __string__ = "Check Tariff Compliance"
    date = fields.Date(
        "Date", required=True,
        help="The date of the rules, prices and MRPs to check.")

    @classmethod
    def default_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        return Date.today()


class TariffCheckResult(ModelView):
    __name__ = 'rsoft.tariff.check.result'
    __string__ = "Tariff Compliance"
    date = fields.Date("Date", readonly=True)
    findings = fields.Text("Findings", readonly=True)
