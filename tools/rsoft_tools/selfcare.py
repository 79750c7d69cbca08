"""The demo operator's subscriber portal (rsoft_selfcare): a subscriber
who logs in with a password as well as by OTP, and a poll to vote in

The demo sends no SMS: an OTP asked for in the portal is read under
Pay-TV > Notifications > Notifications in the web client."""
import datetime

from .password import generate_password

# The LCO whose first prepaid account is the demo's subscriber login
DEMO_LCO = 'LCO-MUM-01'
POLL = ("Which film should open our Saturday night premiere?", 'movies', [
        "Sholay (1975)", "Lagaan (2001)", "3 Idiots (2009)",
        "Sairat (2016)"])


class SelfcareLoader:

    def __init__(self, generator):
        self.g = generator

    def run(self):
        g = self.g
        if not g.activated('rsoft_selfcare'):
            return
        g.in_transaction(self._poll)

    def _poll(self):
        from trytond.pool import Pool
        pool = Pool()
        Poll = pool.get('rsoft.poll')
        if Poll.search([], limit=1):
            return
        question, kind, options = POLL
        now = datetime.datetime.now().replace(microsecond=0)
        poll, = Poll.create([{
                    'name': question,
                    'kind': kind,
                    'company': self.g.company_id,
                    'opening': now,
                    'closing': now + datetime.timedelta(days=14),
                    'options': [('create', [
                                {'label': o} for o in options])],
                    }])
        Poll.open([poll])

    def subscriber_login(self):
        """Give the first active prepaid account of DEMO_LCO a portal
        password and return (customer ID, password), or None"""
        g = self.g
        if not g.activated('rsoft_selfcare'):
            return None
        return g.in_transaction(self._subscriber_login)

    def _subscriber_login(self):
        from trytond.pool import Pool
        pool = Pool()
        Subscriber = pool.get('rsoft.subscriber')
        WebUser = pool.get('web.user')
        accounts = Subscriber.search([
                ('lco.code', '=', DEMO_LCO),
                ('state', '=', 'active'),
                ('billing_mode', '=', 'prepaid'),
                ('connections.state', '=', 'active'),
                ], order=[('customer_id', 'ASC')], limit=1)
        if not accounts:
            return None
        account, = accounts
        password = generate_password()
        user = WebUser.subscriber_login(account.party)
        user.set_portal_password(password)
        return account.customer_id, password
