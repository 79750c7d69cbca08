"""Vouchers (scratch cards) redeemed in the portals: by a subscriber for
its own accounts, by an LCO for one of its subscribers (the API's
endpoint is in api.py)

rsoft_voucher's Voucher.redeem does the work, counts the wrong tries
(per account, login and client address) and logs every try; whatever
was wrong with the card, its refusal is the same. On PostgreSQL a
refused try is logged in a transaction of its own; on SQLite, in the
request's: a refused PIN is therefore answered as a page and the request
commits, where the portals otherwise roll a refusal back."""
from http import HTTPStatus

from trytond.exceptions import UserError
from trytond.modules.rsoft_voucher.exceptions import RedeemRefused
from trytond.pool import Pool

from .routes import subscriber_page
from .routes_subscriber import subscriber_route
from .web import route

# The serial typed that a refused form shows back, as the model bounds it
MAX_SERIAL = 32


def redeem(portal, subscriber, pin, serial, connection, source, login):
    """Redeem the card of pin (and serial) for subscriber; return
    (what it credited or added, None) or (None, the refusal error)

    A refused card changed nothing but the log of the try, which must be
    kept: it is not rolled back. Any other refusal (the offer of a right
    PIN, a connection to choose) is undone, as every refusal of the
    models in the portals."""
    Voucher = Pool().get('rsoft.voucher')
    try:
        voucher = Voucher.redeem(subscriber, pin, serial=serial or None,
            connection=connection, source=source, login=login,
            ip_address=portal.request.remote_addr)
    except RedeemRefused as error:
        return None, error
    except UserError as error:
        portal.undo()
        return None, error
    return redeemed(voucher), None


def redeemed(voucher):
    "Return what voucher credited or added, for the page or the answer"
    Subscriber = Pool().get('rsoft.subscriber')
    template = voucher.template
    # Read again: the balance after the top-up and any renewal it made
    account = Subscriber(voucher.redeemed_by.id)
    result = {
        'serial': voucher.serial,
        'kind': template.kind,
        'account': account,
        'currency': account.company.currency,
        }
    if template.kind == 'top_up':
        result.update({
                'amount': voucher.wallet_entry.amount,
                'balance': account.wallet_balance,
                })
    else:
        line = voucher.line
        result.update({
                'connection': voucher.connection,
                'offer': line.product,
                'days': template.days,
                'start_date': line.start_date,
                'end_date': line.end_date,
                })
    return result


def refusal(error):
    "Return the page values and status of the refusal error"
    if isinstance(error, RedeemRefused):
        # The portal's own words, in the subscriber's language
        return dict(error='voucher_refused'), HTTPStatus.UNPROCESSABLE_ENTITY
    return dict(message=error.message), HTTPStatus.UNPROCESSABLE_ENTITY


# The subscriber portal

def _form_values(portal, form):
    scope = portal.scope
    return {
        'accounts': scope.accounts,
        'connections': scope.search('rsoft.connection', [
                ('state', '=', 'active'),
                ], order=[('id', 'ASC')]),
        'form': form,
        }


@subscriber_route('/vouchers', methods=('GET', 'POST'))
def vouchers(portal):
    "Redeem a card for one of the accounts the party holds"
    scope = portal.scope
    request = portal.request
    if request.method == 'GET':
        return portal.render('subscriber/voucher.html',
            **_form_values(portal, {}))
    form = request.form
    connection = None
    if form.get('connection'):
        connection = scope.get('rsoft.connection',
            form.get('connection', type=int) or 0,
            [('state', '=', 'active')])
    # A card for a connection is redeemed by its account
    account = scope.get('rsoft.subscriber', form.get('account', type=int)
        or (connection.subscriber.id if connection else scope.owners[0]))
    result, error = redeem(portal, account, form.get('pin'),
        form.get('serial'), connection, 'portal', portal.login_name)
    if error:
        values, status = refusal(error)
        # The PIN is not shown back
        return portal.render('subscriber/voucher.html', status=status,
            **values, **_form_values(portal, {
                    'account': account.id,
                    'serial': form.get('serial', '')[:MAX_SERIAL],
                    }))
    return portal.render('subscriber/voucher.html', result=result,
        **_form_values(portal, {}))


# The LCO portal

@route('/subscribers/<int:subscriber>/voucher', methods=('POST',))
def subscriber_voucher(portal, subscriber):
    "The LCO redeems a card for one of its subscribers, at the door"
    scope = portal.scope
    form = portal.request.form
    subscriber = scope.get('rsoft.subscriber', subscriber)
    connection = None
    if form.get('connection'):
        connection = scope.get('rsoft.connection',
            form.get('connection', type=int) or 0,
            [('subscriber', '=', subscriber.id)])
    result, error = redeem(portal, subscriber, form.get('pin'),
        form.get('serial'), connection, 'lco_portal', portal.login_name)
    if error:
        values, status = refusal(error)
        return subscriber_page(portal, subscriber.id, status=status,
            voucher_form={
                'connection': connection.id if connection else None,
                'serial': form.get('serial', '')[:MAX_SERIAL],
                }, **values)
    return subscriber_page(portal, subscriber.id, voucher=result)
