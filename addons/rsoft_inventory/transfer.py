"Allocation of devices down the distribution chain, and their take-back"
import re

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.wizard import Button, StateAction, StateView, Wizard

from .exceptions import RecordedError, TransferError


class TransferStart(ModelView):
    "Which devices go where"
    __name__ = 'rsoft.device.transfer.start'
    __string__ = "Transfer Devices"

    from_partner = fields.Many2One(
        'rsoft.partner', "From", required=True,
        help="The partner whose stock the devices leave.")
    to_partner = fields.Many2One(
        'rsoft.partner', "To", required=True,
        domain=[('id', '!=', Eval('from_partner', -1))],
        help="A partner below (allocation) or above (take-back) the "
        "first one in the chain.")
    product = fields.Many2One(
        'product.product', "Model",
        domain=[('template.rsoft_device_kind', '!=', None)],
        help="Limit the range to one box model or card type.")
    first = fields.Char(
        "First Serial", help="The first serial or card number of a range.")
    last = fields.Char(
        "Last Serial", help="The last serial or card number of a range.")
    numbers = fields.Text(
        "Serials", help="Serials or card numbers, one per line or "
        "separated by commas or spaces.")
    date = fields.Date("Date", required=True)

    @classmethod
    def default_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        return Date.today()

    def get_numbers(self):
        return [n for n in re.split(r'[\s,;]+', self.numbers or '') if n]


class Transfer(Wizard):
    "Allocate devices to a partner below, or take them back"
    __name__ = 'rsoft.device.transfer'
    start = StateView(
        'rsoft.device.transfer.start',
        'rsoft_inventory.transfer_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Transfer", 'transfer', 'tryton-ok', default=True),
            ])
    transfer = StateAction('stock.act_shipment_internal_form')

    def do_transfer(self, action):
        pool = Pool()
        Lot = pool.get('stock.lot')
        start = self.start
        numbers = start.get_numbers()
        if not (numbers or start.first or start.last):
            raise TransferError(gettext(
                    'rsoft_inventory.msg_transfer_no_selection'))
        devices, missing = Lot.search_serials(
            start.from_partner, start.product, start.first, start.last,
            numbers)
        if missing:
            raise TransferError(gettext(
                    'rsoft_inventory.msg_transfer_missing',
                    partner=start.from_partner.rec_name,
                    numbers=', '.join(missing[:20])))
        shipment = Lot.transfer(devices, start.to_partner, start.date)
        action['res_id'] = [shipment.id]
        action['views'].reverse()
        return action, {}


class ShipmentInternal(metaclass=PoolMeta):
    __name__ = 'stock.shipment.internal'

    @classmethod
    def check_modification(cls, mode, shipments, values=None, external=False):
        super().check_modification(
            mode, shipments, values=values, external=external)
        # A done allocation or take-back is the record of where the
        # devices went
        if mode == 'write' and external:
            for shipment in shipments:
                if shipment.state == 'done':
                    raise RecordedError(gettext(
                            'rsoft_inventory.msg_transfer_done_write',
                            shipment=shipment.rec_name))
