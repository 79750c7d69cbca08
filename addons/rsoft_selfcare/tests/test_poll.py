"""The polls the operator opens and the subscribers vote in

The operator asks "Which film on Sunday?" with three answers; the accounts
of LCO-A and LCO-B vote once each, the results are counted from the votes
and the LCOs read only their own subscribers' votes."""
import datetime
from decimal import Decimal

from trytond.model.exceptions import (
    AccessButtonError,
    AccessError,
    SQLConstraintError,
)
from trytond.modules.rsoft_billing.tests.tools import (
    BillingOperator,
    create_subscriber,
    new_account,
)
from trytond.modules.rsoft_partner.tests.tools import create_lco_user
from trytond.modules.rsoft_selfcare.poll import (
    PollError,
    PollFrozenError,
    PollValidationError,
    percentages,
)
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction
from trytond.transaction import Transaction, check_access

START = datetime.date(2025, 3, 1)
QUESTION = "Which film on Sunday?"
FILMS = ["Sholay", "Lagaan", "Dangal"]


def now():
    # As the poll stores it
    return datetime.datetime.now().replace(microsecond=0)


def hours(n):
    return datetime.timedelta(hours=n)


class PollTestCase(BillingOperator, _DBTestCase):
    "Test the polls and the votes"
    module = 'rsoft_selfcare'

    @staticmethod
    def create_poll(op, labels=FILMS, name=QUESTION, **values):
        "Return a draft poll of the operator with an option per label"
        Poll = Pool().get('rsoft.poll')
        poll, = Poll.create([{
                    'name': name, 'kind': 'movies',
                    'company': op.company.id,
                    'options': [('create', [
                                {'label': label} for label in labels])],
                    **values,
                    }])
        return poll

    def open_poll(self, op, labels=FILMS, **values):
        Poll = Pool().get('rsoft.poll')
        poll = self.create_poll(op, labels, **values)
        Poll.open([poll])
        return Poll(poll.id)

    @staticmethod
    def accounts(lco, n):
        return [new_account(lco, START) for _ in range(n)]

    @staticmethod
    def cast(poll, label, subscriber, source='portal'):
        Vote = Pool().get('rsoft.poll.vote')
        option, = [o for o in poll.options if o.label == label]
        return Vote.cast(poll, option, subscriber, source=source)

    @with_transaction()
    def test_open_and_close(self):
        "A poll opens with two options at least and closes by hand"
        pool = Pool()
        Poll = pool.get('rsoft.poll')
        with self.fixture() as op:
            poll = self.create_poll(op, ["Sholay"])
            with self.assertRaises(PollError) as cm:
                Poll.open([poll])
            self.assertEqual(cm.exception.message,
                f'To open the poll "{QUESTION}", give it at least two '
                'options.')
            self.assertEqual(Poll(poll.id).state, 'draft')

            Poll.write([poll], {
                    'options': [('create', [{'label': "Lagaan"}])]})
            before = now()
            Poll.open([poll])
            poll = Poll(poll.id)
            self.assertEqual(poll.state, 'open')
            self.assertTrue(before <= poll.opening <= now())
            self.assertEqual(poll.opened_by.login, 'admin')
            self.assertTrue(poll.voting)
            self.assertEqual(Poll.search([('voting', '=', True)]), [poll])

            Poll.close([poll])
            poll = Poll(poll.id)
            self.assertEqual(poll.state, 'closed')
            self.assertTrue(poll.opening <= poll.closing <= now())
            self.assertEqual(poll.closed_by.login, 'admin')
            self.assertFalse(poll.voting)
            self.assertEqual(Poll.search([('voting', '=', False)]), [poll])
            # A closed poll does not open again
            Poll.open([poll])
            self.assertEqual(Poll(poll.id).state, 'closed')

    @with_transaction()
    def test_open_refused(self):
        "A poll whose closing has passed or comes first does not open"
        Poll = Pool().get('rsoft.poll')
        with self.fixture() as op:
            with self.assertRaises(PollValidationError) as cm:
                self.create_poll(op,
                    opening=now() + hours(2), closing=now() + hours(1))
            self.assertEqual(cm.exception.message,
                f'The poll "{QUESTION}" must not close before it opens.')
            poll = self.create_poll(op,
                opening=now() - hours(2), closing=now() - hours(1))
            with self.assertRaises(PollError) as cm:
                Poll.open([poll])
            self.assertEqual(cm.exception.message,
                f'The poll "{QUESTION}" cannot be opened: its closing has '
                'passed.')

    @with_transaction()
    def test_frozen_once_open(self):
        "The question and options of an open poll are what was voted on"
        pool = Pool()
        Poll = pool.get('rsoft.poll')
        Option = pool.get('rsoft.poll.option')
        with self.fixture() as op:
            poll = self.open_poll(op)
            sholay = poll.options[0]
            with self.assertRaises(PollFrozenError) as cm:
                Option.write([sholay], {'label': "Sholay (1975)"})
            self.assertEqual(cm.exception.message,
                f'The poll "{QUESTION}" is Open: its options can no longer '
                'be changed.')
            with self.assertRaises(PollFrozenError):
                Option.delete([sholay])
            with self.assertRaises(PollFrozenError) as cm:
                Poll.write([poll], {'name': "Which film on Monday?"})
            self.assertEqual(cm.exception.message,
                f'The poll "{QUESTION}" is Open: its field "Question" can '
                'no longer be changed.')
            with self.assertRaises(PollFrozenError) as cm:
                Poll.delete([poll])
            self.assertEqual(cm.exception.message,
                f'The poll "{QUESTION}" is Open: only draft polls can be '
                'deleted.')
            # What the subscribers read below it and when it closes may
            # still change
            closing = now() + hours(48)
            Poll.write([poll], {
                    'description': "Shown at 9 pm", 'closing': closing})
            self.assertEqual(Poll(poll.id).closing, closing)
            self.assertEqual(
                [o.label for o in Poll(poll.id).options], FILMS)
            with self.assertRaises(PollFrozenError):
                Option.create([{'poll': poll.id, 'label': "Swades"}])

            Poll.close([poll])
            with self.assertRaises(PollFrozenError):
                Poll.write([poll], {'closing': now() + hours(72)})
            # A draft is the operator's to change or drop
            draft = self.create_poll(op)
            Option.write([draft.options[0]], {'label': "Sholay (1975)"})
            Poll.delete([draft])

    @with_transaction()
    def test_cast_once(self):
        "An account votes once; the second vote is refused and not counted"
        pool = Pool()
        Vote = pool.get('rsoft.poll.vote')
        with self.fixture() as op:
            poll = self.open_poll(op)
            asha, = self.accounts(op.lco_a, 1)
            self.assertIsNone(poll.vote_of(asha))

            vote = self.cast(poll, "Lagaan", asha)
            self.assertEqual(vote.option.label, "Lagaan")
            self.assertEqual(vote.subscriber, asha)
            self.assertEqual(vote.source, 'portal')
            self.assertEqual(poll.vote_of(asha), vote)

            with self.assertRaises(PollError) as cm:
                self.cast(poll, "Sholay", asha, source='api')
            self.assertEqual(cm.exception.message,
                f'The account "{asha.rec_name}" has already voted in the '
                f'poll "{QUESTION}": an account votes once.')
            self.assertEqual(Vote.search([]), [vote])
            self.assertEqual(
                [(o.label, n) for o, n, _ in poll.results()],
                [("Sholay", 0), ("Lagaan", 1), ("Dangal", 0)])

    @with_transaction()
    def test_cast_refused(self):
        "No vote in a closed poll, for another poll's answer, by a draft"
        pool = Pool()
        Poll = pool.get('rsoft.poll')
        Vote = pool.get('rsoft.poll.vote')
        with self.fixture() as op:
            films = self.open_poll(op)
            packs = self.open_poll(op, ["Gold Pack", "Silver Pack"],
                name="Which pack next year?")
            asha, ravi = self.accounts(op.lco_a, 2)

            with self.assertRaises(PollError) as cm:
                Vote.cast(films, packs.options[0], asha)
            self.assertEqual(cm.exception.message,
                '"Gold Pack" is not an answer of the poll '
                f'"{QUESTION}".')

            draft = create_subscriber(op.lco_a)
            with self.assertRaises(PollError) as cm:
                self.cast(films, "Sholay", draft)
            self.assertEqual(cm.exception.message,
                f'The account "{draft.rec_name}" is Draft: only active and '
                'suspended accounts vote.')

            self.cast(films, "Sholay", asha)
            Poll.close([films])
            with self.assertRaises(PollError) as cm:
                self.cast(Poll(films.id), "Sholay", ravi)
            self.assertEqual(cm.exception.message,
                f'The poll "{QUESTION}" is not taking votes now.')
            with self.assertRaises(PollError):
                self.cast(self.create_poll(op, name="Draft"), "Sholay", ravi)
            self.assertEqual(len(Vote.search([])), 1)

    @with_transaction()
    def test_closing_passed(self):
        """Past its closing a poll takes no vote before it is closed, and
        the scheduled task closes it"""
        pool = Pool()
        Poll = pool.get('rsoft.poll')
        with self.fixture() as op:
            asha, = self.accounts(op.lco_a, 1)
            later = self.open_poll(op, name="Tomorrow's film?",
                opening=now() + hours(24))
            self.assertFalse(later.voting)
            with self.assertRaises(PollError):
                self.cast(later, "Sholay", asha)

            poll = self.open_poll(op, opening=now() - hours(2))
            self.assertEqual(Poll.open_for(asha), [poll])
            self.assertEqual(
                Poll.open_for(asha, now() + hours(25)), [later, poll])
            closing = now() - hours(1)
            Poll.write([poll], {'closing': closing})
            poll = Poll(poll.id)
            self.assertEqual(poll.state, 'open')
            self.assertFalse(poll.voting)
            self.assertEqual(Poll.open_for(asha), [])
            with self.assertRaises(PollError) as cm:
                self.cast(poll, "Sholay", asha)
            self.assertEqual(cm.exception.message,
                f'The poll "{QUESTION}" is not taking votes now.')

            self.assertEqual(Poll.close_expired(), [poll])
            poll = Poll(poll.id)
            self.assertEqual(poll.state, 'closed')
            self.assertEqual(poll.closing, closing)
            self.assertEqual(Poll(later.id).state, 'open')

    @with_transaction()
    def test_results(self):
        "Counts and percentages of two places that add up to 100"
        Poll = Pool().get('rsoft.poll')
        with self.fixture() as op:
            poll = self.open_poll(op)
            self.assertEqual(poll.results(), [
                    (poll.options[0], 0, Decimal('0.00')),
                    (poll.options[1], 0, Decimal('0.00')),
                    (poll.options[2], 0, Decimal('0.00')),
                    ])
            accounts = (self.accounts(op.lco_a, 4)
                + self.accounts(op.lco_b, 3))
            for account, film in zip(accounts, [
                        "Sholay", "Lagaan", "Sholay", "Dangal",
                        "Lagaan", "Sholay", "Dangal"]):
                self.cast(poll, film, account)

            results = [(o.label, n, p) for o, n, p in poll.results()]
            # 3, 2 and 2 of 7: 42.857..., 28.571..., 28.571...; the
            # hundredth left goes to the largest remainder
            self.assertEqual(results, [
                    ("Sholay", 3, Decimal('42.86')),
                    ("Lagaan", 2, Decimal('28.57')),
                    ("Dangal", 2, Decimal('28.57')),
                    ])
            self.assertEqual(sum(p for _, _, p in results), Decimal('100'))
            self.assertEqual(Poll(poll.id).total_votes, 7)
            # What the graph of the back office reads
            self.assertEqual(
                [(o.label, o.vote_count, o.percentage)
                    for o in Poll(poll.id).options], results)

    def test_percentages(self):
        "Equal shares: the first listed takes the hundredth left"
        self.assertEqual(percentages([1, 1, 1]), [
                Decimal('33.34'), Decimal('33.33'), Decimal('33.33')])
        self.assertEqual(percentages([1, 0, 2]), [
                Decimal('33.33'), Decimal('0.00'), Decimal('66.67')])
        self.assertEqual(percentages([5, 3]),
            [Decimal('62.50'), Decimal('37.50')])
        self.assertEqual(percentages([0, 0]),
            [Decimal('0.00'), Decimal('0.00')])
        shares = percentages([1] * 7)
        self.assertEqual(sum(shares), Decimal('100.00'))
        # 14.2857...: four shares of 14.29 and three of 14.28
        self.assertEqual(shares.count(Decimal('14.29')), 4)

    @with_transaction()
    def test_put_to(self):
        "A poll put to a JV, an LCO or a region is offered there only"
        pool = Pool()
        Poll = pool.get('rsoft.poll')
        with self.fixture() as op:
            everyone = self.open_poll(op, name="Everyone?")
            jv = self.open_poll(op, name="JV?", partner=op.jv.id)
            lco_b = self.open_poll(op, name="LCO-B?", partner=op.lco_b.id)
            # The JV of LCO-A and LCO-B serves the West
            west = self.open_poll(op, name="West?", region=op.west.id)
            south = self.open_poll(op, name="South?", region=op.south.id)
            india = self.open_poll(op, name="India?", region=op.india.id)
            self.create_poll(op, name="Draft?")
            asha, = self.accounts(op.lco_a, 1)
            meera, = self.accounts(op.lco_c, 1)

            def names(polls):
                return sorted(p.name for p in polls)
            self.assertEqual(names(Poll.open_for(asha)),
                names([everyone, jv, west, india]))
            self.assertEqual(names(Poll.open_for(meera)), names([everyone]))
            self.assertEqual(
                Poll.open_for(create_subscriber(op.lco_a)), [])

            with self.assertRaises(PollError) as cm:
                self.cast(lco_b, "Sholay", asha)
            self.assertEqual(cm.exception.message,
                f'The poll "LCO-B?" is not put to the account '
                f'"{asha.rec_name}".')
            with self.assertRaises(PollError):
                self.cast(south, "Sholay", asha)
            self.cast(jv, "Sholay", asha)

    @with_transaction()
    def test_votes_append_only(self):
        "Nobody changes, deletes or adds a vote by hand"
        pool = Pool()
        Vote = pool.get('rsoft.poll.vote')
        Poll = pool.get('rsoft.poll')
        message = ("A vote is the subscriber's own: it is cast from the "
            "portal and can be neither added by hand, changed nor deleted.")
        with self.fixture() as op:
            poll = self.open_poll(op)
            asha, ravi = self.accounts(op.lco_a, 2)
            vote = self.cast(poll, "Sholay", asha)
            lagaan = poll.options[1]
            with self.assertRaises(AccessError) as cm:
                Vote.write([vote], {'option': lagaan.id})
            self.assertEqual(cm.exception.message, message)
            with self.assertRaises(AccessError) as cm:
                Vote.delete([vote])
            self.assertEqual(cm.exception.message, message)
            with check_access(), self.assertRaises(AccessError) as cm:
                Vote.create([{'poll': poll.id, 'option': lagaan.id,
                            'subscriber': ravi.id, 'source': 'api'}])
            self.assertEqual(cm.exception.message, message)
            Poll.close([poll])
            with self.assertRaises(PollFrozenError):
                Poll.delete([poll])
            self.assertEqual(Vote(vote.id).option.label, "Sholay")

    @with_transaction()
    def test_vote_unique(self):
        """The database refuses a second vote of an account in a poll: two
        requests at once both pass the check of cast, one insert fails"""
        pool = Pool()
        Vote = pool.get('rsoft.poll.vote')
        with self.fixture() as op:
            poll = self.open_poll(op)
            asha, = self.accounts(op.lco_a, 1)
            self.cast(poll, "Sholay", asha)
            with self.assertRaises(SQLConstraintError) as cm:
                # What the second request inserts after its check
                Vote.create([{'poll': poll.id,
                            'option': poll.options[1].id,
                            'subscriber': asha.id, 'source': 'portal'}])
            self.assertEqual(cm.exception.message,
                "An account votes once in a poll.")

    @with_transaction()
    def test_lco_user(self):
        """An LCO login reads its subscribers' votes only, the polls put to
        them and the results, and changes none of them"""
        pool = Pool()
        Poll = pool.get('rsoft.poll')
        Option = pool.get('rsoft.poll.option')
        Vote = pool.get('rsoft.poll.vote')
        with self.fixture() as op:
            poll = self.open_poll(op)
            other = self.open_poll(op, name="LCO-B?", partner=op.lco_b.id)
            asha, = self.accounts(op.lco_a, 1)
            vikram, = self.accounts(op.lco_b, 1)
            own = self.cast(poll, "Sholay", asha)
            theirs = self.cast(poll, "Dangal", vikram)
            self.cast(other, "Lagaan", vikram)
            user = create_lco_user('lco-a', op.lco_a)

            with Transaction().set_user(user.id), check_access():
                self.assertEqual(Vote.search([]), [own])
                self.assertEqual(
                    Vote.search([('subscriber', '=', vikram.id)]), [])
                with self.assertRaises(AccessError):
                    Vote.read([theirs.id], ['option'])
                with self.assertRaises(AccessError):
                    Vote.write([own], {'source': 'api'})
                with self.assertRaises(AccessError):
                    Vote.delete([own])

                self.assertEqual(Poll.search([]), [poll])
                with self.assertRaises(AccessError):
                    Poll.read([other.id], ['name'])
                with self.assertRaises(AccessError):
                    Poll.write([poll], {'description': "Changed"})
                with self.assertRaises(AccessButtonError):
                    Poll.close([poll])
                with self.assertRaises(AccessError):
                    Option.write(list(poll.options), {'label': "Changed"})
                # The results count every account's vote
                self.assertEqual(Poll(poll.id).total_votes, 2)
                self.assertEqual(
                    [(o.label, o.vote_count) for o in Option.search(
                            [('poll', '=', poll.id)])],
                    [("Sholay", 1), ("Lagaan", 0), ("Dangal", 1)])
            self.assertEqual(Poll(poll.id).state, 'open')
