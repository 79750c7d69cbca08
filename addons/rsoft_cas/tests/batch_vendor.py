"""A CAS vendor's batch processor, for the tests of the batch_file driver

It follows doc/batch_file.md from the vendor's side and shares nothing
with the driver but the signature functions.
"""
import csv
import datetime
import io
import json
import os

from trytond.modules.rsoft_cas.drivers import base
from trytond.modules.rsoft_cas.drivers.batch_file import sign, verify


class FakeVendor:
    """Applies the signed batches of outbox to its devices

    Answers each batch with a signed result file in inbox and, on demand,
    exports the state of every device. Batches without a good signature
    are refused: moved to <outbox>/refused, nothing applied, no result.
    """

    def __init__(self, outbox, inbox, key, prefix='CAS'):
        self.outbox = str(outbox)
        self.inbox = str(inbox)
        self.key = key
        self.prefix = prefix
        # device: {'products': [...], 'paired_with', 'suspended', ...}
        self.devices = {}
        # The keys applied: a key seen again is a duplicate
        self.keys = set()
        # device: the reason given for rejecting its commands
        self.rejected_devices = {}
        # The product ids the head-end knows, None: any
        self.products = None
        self.refused = []
        # (key, action, device, payload) of every command applied
        self.applied = []
        # The head-end's clock (naive UTC), None: stopped. A timed product
        # is dropped once its end has passed, as the head-end stops it
        self.now = None

    def reject_device(self, device, reason='unknown card'):
        self.rejected_devices[device] = reason

    def process(self):
        "Take every batch waiting in the outbox, in name order"
        names = sorted(n for n in os.listdir(self.outbox)
            if n.endswith('.csv') and not n.startswith('.'))
        for name in names:
            self._process(name)
        return names

    def export(self, stamp=None):
        "Write a signed state export; return its name"
        stamp = stamp or datetime.datetime.now(datetime.UTC)
        name = f'{self.prefix}-state-{stamp:%Y%m%dT%H%M%SZ}.csv'
        if self.now is not None:
            for state in self.devices.values():
                state['products'] = [p for p in state['products']
                    if not self._ended(base.Product.from_dict(p))]
        rows = [[device, json.dumps(state['products']),
                state['paired_with'], int(state['suspended']),
                int(state['blacklisted'])]
            for device, state in sorted(self.devices.items())]
        self.write(name, ['device', 'products', 'paired_with', 'suspended',
                'blacklisted'], rows)
        return name

    def write(self, name, header, rows, key=None):
        "Write a CSV file to the inbox, signed with key (default: ours)"
        data = _csv([header] + rows)
        path = os.path.join(self.inbox, name)
        # As the vendor contract says: the signature first, each file
        # renamed into place once written
        _write(path + '.sig', sign(data, key or self.key).encode('ascii'))
        _write(path, data)

    def _process(self, name):
        path = os.path.join(self.outbox, name)
        with open(path, 'rb') as file:
            data = file.read()
        try:
            with open(path + '.sig') as file:
                signature = file.read()
        except FileNotFoundError:
            signature = ''
        if not verify(data, signature, self.key):
            self._refuse(name)
            return
        results = [self._apply(row) for row in csv.DictReader(
                io.StringIO(data.decode('utf-8'), newline=''))]
        self.write(name[:-len('.csv')] + '.result.csv',
            ['key', 'status', 'error'], results)
        os.remove(path)
        os.remove(path + '.sig')

    def _refuse(self, name):
        folder = os.path.join(self.outbox, 'refused')
        os.makedirs(folder, exist_ok=True)
        for file_name in [name, name + '.sig']:
            if os.path.exists(os.path.join(self.outbox, file_name)):
                os.replace(os.path.join(self.outbox, file_name),
                    os.path.join(folder, file_name))
        self.refused.append(name)

    def _apply(self, row):
        "The result row of a batch row: key, status, error"
        key, action, device = row['key'], row['action'], row['device']
        if key in self.keys:
            return [key, 'duplicate', '']
        payload = json.loads(row['payload'])
        error = self._check(action, device, payload)
        if error:
            return [key, 'rejected', error]
        if row['target'] == 'device':
            self._change(action, self._device(device), device, payload)
        self.keys.add(key)
        self.applied.append((key, action, device, payload))
        return [key, 'ok', '']

    def _check(self, action, device, payload):
        "Why the head-end refuses the command, if it does"
        if action not in base.ACTIONS:
            return f'E01 unknown action {action}'
        if device in self.rejected_devices:
            return f'E02 {self.rejected_devices[device]}'
        if self.devices.get(device, {}).get('blacklisted'):
            return 'E03 device blacklisted'
        if action == base.ENTITLE:
            for product in payload.get('products', []):
                try:
                    base.Product.from_dict(product)
                except (KeyError, TypeError, ValueError):
                    return f'E05 malformed product {product!r}'
                if (self.products is not None
                        and product['id'] not in self.products):
                    return f"E04 unknown product {product['id']}"
        return ''

    def _ended(self, product):
        return (product.timed and product.end is not None
            and product.end <= self.now)

    def _device(self, device):
        return self.devices.setdefault(device, {
                'products': [],
                'paired_with': '',
                'suspended': False,
                'blacklisted': False,
                })

    def _change(self, action, state, device, payload):
        if action == base.ENTITLE:
            state['products'] = list(payload['products'])
        elif action == base.REVOKE:
            state['products'] = []
        elif action == base.PAIR:
            other = {payload['stb'], payload['card']} - {device}
            state['paired_with'] = other.pop() if other else ''
        elif action == base.UNPAIR:
            state['paired_with'] = ''
        elif action in {base.SUSPEND, base.RESUME}:
            state['suspended'] = action == base.SUSPEND
        elif action == base.BLACKLIST:
            state['blacklisted'] = True


def _csv(rows):
    out = io.StringIO(newline='')
    csv.writer(out, lineterminator='\r\n').writerows(rows)
    return out.getvalue().encode('utf-8')


def _write(path, data):
    folder, name = os.path.split(path)
    temp = os.path.join(folder, f'.{name}.part')
    with open(temp, 'wb') as file:
        file.write(data)
    os.replace(temp, path)
