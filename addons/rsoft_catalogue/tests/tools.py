"Helpers shared by the tests of every rsoft module"
from contextlib import contextmanager

from trytond.pool import Pool
from trytond.transaction import Transaction


def create_clerk(login, company, *groups):
    """Return a back-office user who is not the admin, of groups:
    (module, id) pairs, by default the Pay-TV group alone"""
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    groups = groups or [('rsoft_catalogue', 'group_paytv')]
    user, = User.create([{
                'login': login, 'name': login,
                'groups': [('add', [
                            ModelData.get_id(*g) for g in groups])],
                'companies': [('add', [company.id])],
                'company': company.id,
                }])
    return user


@contextmanager
def rpc_as(user):
    "Act as user does over JSON-RPC: with access checks"
    transaction = Transaction()
    with transaction.set_user(user.id), \
            transaction.set_context(_check_access=True):
        yield
