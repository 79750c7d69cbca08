"""Run trytond-admin or the demo generator with the rsoft modules and tools
of an older checkout (an extract of a commit's addons/ and tools/)

    python old_code.py OLD_ROOT admin TRYTOND-ADMIN-ARGS...
    python old_code.py OLD_ROOT fill -c CONF -d DB --subscribers N

trytond.modules is a regular package: a folder put first in its __path__
is searched before the editable install's finder, so the old extract's
addons/rsoft_X is what `trytond.modules.rsoft_X` imports. The modules the
old commit did not have (they are entry points of the installed project)
are hidden from trytond's list of modules, as they did not exist then."""
import sys
from pathlib import Path


def use_old_code(root):
    import trytond.modules
    addons = root / 'addons'
    old = {p.parent.name for p in addons.glob('rsoft_*/tryton.cfg')}
    if not old:
        sys.exit(f"no rsoft module in {addons}")
    trytond.modules.__path__.insert(0, str(addons))
    sys.path.insert(0, str(root / 'tools'))
    get_modules = trytond.modules.get_modules

    def get_old_modules(with_test=False):
        return {m for m in get_modules(with_test=with_test)
            if not m.startswith('rsoft_') or m in old}
    # trytond.ir.module imports the name when it is first imported
    assert 'trytond.ir.module' not in sys.modules
    trytond.modules.get_modules = get_old_modules


def fill(argv):
    """Generate the demo operator, then what the generator leaves out: a
    payment gateway and a cashier in the collection group"""
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--subscribers', type=int, required=True)
    args = parser.parse_args(argv)

    # Before the generator imports trytond's backend, which is the one of
    # the configuration read by then
    from trytond import config
    config.update_etc(args.config)
    from rsoft_tools.generate import Generator

    from proteus import config as pconfig
    pconfig.set_trytond(args.database, config_file=args.config)
    # A few bills are enough: each one is posted as Tryton does, slowly
    generator = Generator(
        args.database, subscribers=args.subscribers, billed_accounts=4)
    generator.run()
    generator.in_transaction(_collection)


def _collection():
    from trytond.pool import Pool
    pool = Pool()
    Company = pool.get('company.company')
    Gateway = pool.get('rsoft.payment.gateway')
    Method = pool.get('rsoft.payment.method')
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    company, = Company.search([])
    method, = Method.search([('kind', '=', 'gateway')])
    Gateway.create([{
                'name': "Razorpay", 'company': company.id,
                'key_id': 'rzp_test_upgrade', 'method': method.id,
                'key_secret': 'key-secret', 'webhook_secret': 'hook-secret',
                }])
    User.create([{
                'login': 'cashier', 'name': "Head Office Cashier",
                'groups': [('add', [
                            ModelData.get_id(
                                'rsoft_billing', 'group_collection'),
                            ])],
                'companies': [('add', [company.id])],
                'company': company.id,
                }])


def main():
    root, command, *argv = sys.argv[1:]
    use_old_code(Path(root).resolve())
    if command == 'admin':
        from trytond.cli.admin import main as admin
        sys.argv = ['trytond-admin', *argv]
        admin()
    elif command == 'fill':
        fill(argv)
    else:
        sys.exit(f"unknown command: {command}")


if __name__ == '__main__':
    main()
