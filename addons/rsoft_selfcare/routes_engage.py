"""The subscriber portal's pay-per-view events and VOD titles, and the
operator's polls

Each route reads through portal.scope; buying and voting are the models'
(rsoft_ppv, poll.py), which refuse what their rules refuse."""
from http import HTTPStatus

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.protocols.wrappers import abort

from .routes_subscriber import subscriber_route

PAY_FROM = {'wallet', 'credit'}


def _connections(portal):
    return portal.scope.search('rsoft.connection', [
            ('state', '=', 'active'),
            ], order=[('id', 'ASC')])


def _ppv_values(portal):
    Purchase = Pool().get('rsoft.ppv.purchase')
    return {
        'offers': [(c, Purchase.purchasable(c)) for c in _connections(portal)],
        'purchases': portal.scope.search('rsoft.ppv.purchase', [],
            order=[('id', 'DESC')], limit=50),
        }


@subscriber_route('/ppv')
def ppv(portal):
    return portal.render('subscriber/ppv.html', **_ppv_values(portal))


@subscriber_route('/ppv/buy', methods=('POST',))
def ppv_buy(portal):
    "Buy an event or a title for one of the connections"
    Purchase = Pool().get('rsoft.ppv.purchase')
    form = portal.request.form
    connection = portal.scope.get('rsoft.connection',
        form.get('connection', type=int) or 0, [('state', '=', 'active')])
    # Any published event or title: the model refuses, with its reason,
    # one that cannot be bought (bought already, its sales closed)
    product = portal.scope.get('product.product',
        form.get('product', type=int) or 0,
        [('template.rsoft_kind', 'in', ['ppv', 'vod'])])
    pay_from = form.get('pay_from') or None
    if pay_from is not None and pay_from not in PAY_FROM:
        abort(HTTPStatus.BAD_REQUEST)
    try:
        purchase = Purchase.buy(connection, product, pay_from=pay_from,
            source='portal')
    except UserError as error:
        return portal.refuse('subscriber/ppv.html', error,
            **_ppv_values(portal))
    return portal.render('subscriber/ppv.html', bought=purchase,
        **_ppv_values(portal))


@subscriber_route('/polls')
def polls(portal):
    Poll = Pool().get('rsoft.poll')
    return portal.render('subscriber/polls.html', polls=_polls(portal, Poll))


def _polls(portal, Poll):
    "Return [(account, poll, its vote)] of the polls put to the accounts"
    return [(account, poll, poll.vote_of(account))
        for account in portal.scope.accounts
        for poll in Poll.open_for(account)]


@subscriber_route('/polls/<int:poll>', methods=('POST',))
def vote(portal, poll):
    "Vote for an option, once per account"
    pool = Pool()
    Poll = pool.get('rsoft.poll')
    Vote = pool.get('rsoft.poll.vote')
    form = portal.request.form
    account = portal.scope.get('rsoft.subscriber',
        form.get('account', type=int) or 0)
    polls = [p for p in Poll.open_for(account) if p.id == poll]
    if not polls:
        abort(HTTPStatus.NOT_FOUND)
    poll, = polls
    options = [o for o in poll.options if o.id == form.get('option', type=int)]
    if not options:
        abort(HTTPStatus.NOT_FOUND)
    try:
        Vote.cast(poll, options[0], account, source='portal')
    except UserError as error:
        return portal.refuse('subscriber/polls.html', error,
            polls=_polls(portal, Poll))
    return portal.redirect('/polls')
