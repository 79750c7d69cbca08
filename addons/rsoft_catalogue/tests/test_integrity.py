"""The state of offers and price versions and the reverse links of the
bouquets change only through their actions (issue 15)"""
import datetime
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.modules.rsoft_catalogue.tests.tools import rpc_as
from trytond.modules.rsoft_toolkit.exceptions import SystemFieldError
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

D = datetime.date


# The generic module checks run once, in test_module.py
class IntegrityTestCase(test_tryton._DBTestCase):
    "System fields of the catalogue over RPC"
    module = 'rsoft_catalogue'

    def users(self):
        "Return a Pay-TV administrator (not Tryton's admin) and a clerk"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        return User.create([{
                    'login': login, 'name': login,
                    'groups': [('add', [
                                ModelData.get_id('rsoft_catalogue', group)])],
                    } for login, group in [
                    ('catalogue', 'group_paytv_admin'),
                    ('clerk', 'group_paytv')]])


    def create_catalogue(self):
        "Return a draft NCF offer with a draft price, a channel and a pack"
        pool = Pool()
        Party = pool.get('party.party')
        Channel = pool.get('rsoft.channel')
        Bouquet = pool.get('rsoft.bouquet')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        unit, = Uom.search([('name', '=', "Unit")])
        broadcaster, = Party.create([{'name': "Surya Media"}])
        channel, = Channel.create([{
                    'lcn': 101, 'name': "Surya TV",
                    'broadcaster': broadcaster.id}])
        bouquet, = Bouquet.create([{
                    'name': "Surya Pack", 'code': 'SURYA',
                    'kind': 'broadcaster', 'broadcaster': broadcaster.id,
                    'channels': [('add', [channel.id])]}])
        template, = Template.create([{
                    'name': "NCF", 'rsoft_kind': 'ncf',
                    'default_uom': unit.id,
                    'products': [('create', [{}])],
                    'offer_prices': [('create', [{
                                    'start_date': D(2026, 1, 1),
                                    'price': Decimal('130')}])],
                    }])
        return template, channel, bouquet

    def assert_refused(self, Model, record, name, value):
        before = Model.read([record.id], [name])
        with self.assertRaises(SystemFieldError) as cm:
            Model.write([Model(record.id)], {name: value})
        self.assertEqual(cm.exception.message, gettext(
                'rsoft_toolkit.msg_system_field',
                field=Model._fields[name].string,
                model=Model.__names__()['model']))
        with Transaction().set_user(0):
            self.assertEqual(Model.read([record.id], [name]), before)

    @with_transaction()
    def test_system_fields(self):
        "Offer and price states, bouquet links: refused over RPC"
        pool = Pool()
        Template = pool.get('product.template')
        OfferPrice = pool.get('rsoft.offer.price')
        Channel = pool.get('rsoft.channel')
        Bouquet = pool.get('rsoft.bouquet')
        template, channel, bouquet = self.create_catalogue()
        version, = template.offer_prices
        other, = Bouquet.create([{
                    'name': "Mix", 'code': 'MIX', 'kind': 'dpo'}])
        manager, clerk = self.users()
        with rpc_as(manager):
            for Model, record, name, value in [
                    (Template, template, 'offer_state', 'published'),
                    (OfferPrice, version, 'state', 'published'),
                    (Channel, channel, 'bouquets', [('add', [other.id])]),
                    (Bouquet, bouquet, 'parents', [('add', [other.id])]),
                    ]:
                with self.subTest(model=Model.__name__, field=name):
                    self.assert_refused(Model, record, name, value)
            with self.assertRaises(SystemFieldError):
                OfferPrice.create([{'template': template.id,
                            'start_date': D(2026, 2, 1),
                            'price': Decimal('100'),
                            'state': 'published'}])
        with rpc_as(clerk):
            with self.assertRaises(AccessError):
                Template.write([Template(template.id)],
                    {'offer_state': 'published'})
        with rpc_as(manager):
            OfferPrice.publish([OfferPrice(version.id)])
            Template.publish([Template(template.id)])
            Bouquet.write([Bouquet(other.id)],
                {'bouquets': [('add', [bouquet.id])]})
        self.assertEqual(OfferPrice(version.id).state, 'published')
        self.assertEqual(Template(template.id).offer_state, 'published')
        self.assertEqual(list(Bouquet(bouquet.id).parents), [other])
