"""Sending the outbox to the CAS systems

One Dispatcher per CAS system takes the queued commands in batches: per
device in sequence order (a device whose earlier command waits for a
retry or an answer is skipped), devices in parallel, express before bulk.
Each batch is one transaction: the commands, their new states and the
log entries of request and reply commit together, so a crash sends the
batch again with the same keys, which the CAS applies once.

`rsoft-cas-dispatch -c trytond.conf -d DB` runs the dispatchers as a
daemon; the cron job "Dispatch CAS commands" does one pass for operators
who run none."""
import datetime
import logging
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

from sql import Literal, Null

from trytond.pool import Pool
from trytond.transaction import Transaction

from .drivers import base

logger = logging.getLogger(__name__)
_LOCK_CLASS = zlib.crc32(b'rsoft.cas.dispatch') & 0x7fffffff


class Dispatcher:
    "Sends the commands of one CAS system"

    def __init__(self, system_id, parallel=None):
        self.system_id = system_id
        self.parallel = parallel
        self.drivers = []
        self._last_send = 0.0

    def close(self):
        for driver in self.drivers:
            try:
                driver.close()
            except Exception:
                logger.exception("closing a CAS driver")
        self.drivers = []

    def _drivers(self, system):
        if not self.drivers:
            parallel = self.parallel or int(
                system.get_settings().get('parallel', 1))
            self.drivers = [system.get_driver()
                for _ in range(max(parallel, 1))]
        return self.drivers

    def run_once(self):
        """Send one batch of the system in the current transaction

        Return the number of commands that got an answer or a state."""
        pool = Pool()
        System = pool.get('rsoft.cas.system')
        system = System(self.system_id)
        now = datetime.datetime.now()
        if not system.active:
            return 0
        if system.circuit == 'open':
            if system.circuit_until and system.circuit_until > now:
                return 0
            System.write([system], {'circuit': 'half_open'})
        log = []
        done = self._collect(system, log)
        done += self._resolve_unknown(system, log)
        batch = self._pick(system, now)
        if batch:
            done += self._send(system, batch, log)
        pool.get('rsoft.cas.log').append(log)
        return done

    # Picking

    def _pick(self, system, now):
        "Return the next commands to send, in order"
        pool = Pool()
        Command = pool.get('rsoft.cas.command')
        table = Command.__table__()
        cursor = Transaction().connection.cursor()
        size = system.batch_size * max(len(self._drivers(system)), 1)
        if system.circuit == 'half_open':
            size = 1
        # Express first; each query walks the index of pending commands
        candidates = []
        for priority in ['express', 'bulk']:
            cursor.execute(*table.select(
                    table.id, table.address,
                    where=(table.system == system.id)
                    & (table.state == 'queued')
                    & (table.priority == priority),
                    order_by=[table.id.asc],
                    limit=size * 4 - len(candidates)))
            candidates.extend(cursor.fetchall())
            if len(candidates) >= size * 4:
                break
        if not candidates:
            return []
        addresses = sorted({a for _, a in candidates if a})
        blocked = set()
        for sub in _slices(addresses):
            cursor.execute(*table.select(
                    table.address,
                    where=(table.system == system.id)
                    & table.address.in_(sub)
                    & (table.state.in_(['sent', 'unknown'])
                        | ((table.state == 'queued')
                            & (table.next_attempt != Null)
                            & (table.next_attempt > now))),
                    group_by=[table.address]))
            blocked.update(a for a, in cursor)
        # Whole devices, in sequence order: an express command never
        # overtakes an older bulk one of its device
        order = list(dict.fromkeys(
                a for _, a in candidates if a and a not in blocked))
        queued = {}
        for sub in _slices(order):
            cursor.execute(*table.select(
                    table.id, table.address,
                    where=(table.system == system.id)
                    & (table.state == 'queued')
                    & table.address.in_(sub),
                    order_by=[table.sequence.asc, table.id.asc]))
            for id_, address in cursor:
                queued.setdefault(address, []).append(id_)
        ids = [i for i, a in candidates if not a]
        for address in order:
            if len(ids) >= size:
                break
            ids.extend(queued.get(address, []))
        return Command.browse(ids)

    # Sending

    def _send(self, system, commands, log):
        drivers = self._drivers(system)
        parts = [[] for _ in drivers]
        for command in commands:
            # A device's commands stay in one part, in order
            parts[zlib.crc32((command.address or command.key).encode())
                % len(parts)].append(command)
        jobs = [(d, p) for d, p in zip(drivers, parts) if p]
        self._throttle(system, len(commands))
        for command in commands:
            log.append({
                    'system': system.id, 'kind': 'request',
                    'command': command.id, 'address': command.address,
                    'message': f'{command.action} {command.key}',
                    })
        if len(jobs) == 1:
            outcomes = [self._submit(*jobs[0])]
        else:
            with ThreadPoolExecutor(len(jobs)) as executor:
                outcomes = list(executor.map(
                        lambda job: self._submit(*job), jobs))
        failed = 0
        for (_, part), (results, error) in zip(jobs, outcomes):
            if error is not None:
                failed += 1
                self._failed(system, part, error, log)
            else:
                self._record(system, part, results, log)
        self._circuit(system, failed, log)
        return len(commands)

    def _throttle(self, system, count):
        "Keep to the system's commands per second"
        if not system.rate:
            return
        wait = self._last_send + count / system.rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_send = time.monotonic()

    @staticmethod
    def _submit(driver, commands):
        try:
            results = driver.submit([c.driver_command for c in commands])
            return results, None
        except base.DriverError as exception:
            return None, exception
        except Exception as exception:
            # A driver bug must not lose commands: they are tried again
            logger.exception("CAS driver %s failed", driver.name)
            return None, base.DriverError(str(exception))

    def _record(self, system, commands, results, log):
        pool = Pool()
        Command = pool.get('rsoft.cas.command')
        now = datetime.datetime.now()
        by_key = {r.key: r for r in results}
        states = {}
        for command in commands:
            result = by_key.get(command.key) or base.Result(
                command.key, base.UNKNOWN, 'no answer for the command')
            states.setdefault(
                (result.status, result.error, command.attempts + 1),
                []).append(command)
            log.append({
                    'system': system.id, 'kind': 'reply',
                    'command': command.id, 'address': command.address,
                    'message': ' '.join(filter(None, [
                                result.status, result.error,
                                result.reply])),
                    })
        for (status, error, attempts), group in states.items():
            ids = [c.id for c in group]
            if status == base.ACKED:
                Command.set_state(ids, 'acked', done_at=now, sent_at=now,
                    attempts=attempts, error=None)
            elif status == base.REJECTED:
                Command.set_state(ids, 'rejected', done_at=now,
                    sent_at=now, attempts=attempts, error=error)
            elif status == base.SENT:
                Command.set_state(ids, 'sent', sent_at=now,
                    attempts=attempts)
            else:
                Command.set_state(ids, 'unknown', sent_at=now,
                    attempts=attempts, error=error or None)

    def _failed(self, system, commands, error, log):
        "The transport failed: try again later, or unknown on a timeout"
        pool = Pool()
        Command = pool.get('rsoft.cas.command')
        now = datetime.datetime.now()
        text = str(error) or error.__class__.__name__
        if isinstance(error, base.DriverTimeout):
            Command.set_state([c.id for c in commands], 'unknown',
                sent_at=now, error=text)
            status = 'unknown'
        else:
            status = 'retry'
            # One statement per number of attempts, not per command
            by_attempts = {}
            for command in commands:
                by_attempts.setdefault(command.attempts + 1, []).append(
                    command.id)
            for attempts, ids in by_attempts.items():
                if attempts >= system.max_attempts:
                    Command.set_state(ids, 'failed',
                        attempts=attempts, error=text, done_at=now)
                    continue
                delay = min(system.backoff * 2 ** (attempts - 1),
                    system.max_backoff)
                Command.set_state(ids, 'queued',
                    attempts=attempts, error=text,
                    next_attempt=now + datetime.timedelta(seconds=delay))
        for command in commands:
            log.append({
                    'system': system.id, 'kind': 'reply',
                    'command': command.id, 'address': command.address,
                    'message': f'{status}: {text}',
                    })

    def _circuit(self, system, failed, log):
        "Open the circuit after too many failures in a row, close it after"
        pool = Pool()
        System = pool.get('rsoft.cas.system')
        if not failed:
            if system.failures or system.circuit != 'closed':
                System.write([system], {
                        'failures': 0, 'circuit': 'closed',
                        'circuit_until': None})
                if system.circuit != 'closed':
                    log.append({'system': system.id, 'kind': 'state',
                            'message': 'circuit closed: the CAS answers'})
            return
        failures = system.failures + 1
        values = {'failures': failures}
        if (failures >= system.failure_threshold
                or system.circuit == 'half_open'):
            until = datetime.datetime.now() + datetime.timedelta(
                seconds=system.cooldown)
            values.update(circuit='open', circuit_until=until)
            log.append({'system': system.id, 'kind': 'alert',
                    'message': f'circuit open until {until:%H:%M:%S} '
                    f'after {failures} failures'})
        System.write([system], values)

    # Answers that come later

    def _collect(self, system, log):
        pool = Pool()
        Command = pool.get('rsoft.cas.command')
        results = []
        for driver in self._drivers(system):
            try:
                results.extend(driver.collect())
            except base.DriverError as exception:
                log.append({'system': system.id, 'kind': 'alert',
                        'message': f'collect failed: {exception}'})
        if not results:
            return 0
        commands = Command.search([
                ('system', '=', system.id),
                ('key', 'in', [r.key for r in results]),
                ('state', 'in', ['sent', 'unknown']),
                ])
        self._record(system, commands, results, log)
        return len(commands)

    def _resolve_unknown(self, system, log):
        """Settle commands whose outcome is unknown: asked to the CAS when
        it can tell, else sent again with the same key"""
        pool = Pool()
        Command = pool.get('rsoft.cas.command')
        commands = Command.search([
                ('system', '=', system.id),
                ('state', '=', 'unknown'),
                ], order=[('id', 'ASC')], limit=system.batch_size)
        if not commands:
            return 0
        driver = self._drivers(system)[0]
        query = driver.capabilities().query
        acked, again = [], []
        for command in commands:
            state = None
            if query and command.target == 'device':
                try:
                    state = driver.query_device(command.address)
                except base.DriverError:
                    return 0
            if state is not None and applied(command, state):
                acked.append(command)
            else:
                again.append(command)
        now = datetime.datetime.now()
        if acked:
            Command.set_state([c.id for c in acked], 'acked', done_at=now)
        if again:
            Command.set_state([c.id for c in again], 'queued',
                next_attempt=Literal(None))
        for command in acked + again:
            log.append({
                    'system': system.id, 'kind': 'state',
                    'command': command.id, 'address': command.address,
                    'message': 'applied, says the CAS' if command in acked
                    else 'outcome unknown: sent again with the same key',
                    })
        return len(acked)


def applied(command, state):
    "Tell whether the DeviceState of the CAS shows command took effect"
    payload = command.driver_command.payload
    action = command.action
    if action == base.ENTITLE:
        have = sorted((p.id, p.start, p.end) for p in state.products)
        want = sorted((p.id, p.start, p.end)
            for p in command.driver_command.products)
        return have == want
    if action == base.REVOKE:
        return not state.products
    if action == base.PAIR:
        return state.paired_with == payload.get('stb')
    if action == base.UNPAIR:
        return state.paired_with != payload.get('stb')
    if action == base.SUSPEND:
        return state.suspended
    if action == base.RESUME:
        return not state.suspended
    if action == base.BLACKLIST:
        return state.blacklisted
    return False


def _slices(values, size=1000):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]


def serve(database, systems=None, poll=0.5, once=False, stop=None):
    """Run the dispatchers of database until stop() is true

    Wakes up on the NOTIFY of new commands on PostgreSQL, else polls."""
    from trytond import backend
    from trytond.pool import Pool as _Pool

    _Pool.start()
    pool = _Pool(database)
    pool.init()
    with Transaction().start(database, 0, readonly=True):
        System = pool.get('rsoft.cas.system')
        domain = [('id', 'in', systems)] if systems else []
        ids = [s.id for s in System.search(domain)]
    dispatchers = [Dispatcher(i) for i in ids]
    listener = _Listener(database) if backend.name == 'postgresql' else None
    try:
        if listener:
            listener.lock(ids)
        while not (stop and stop()):
            busy = False
            for dispatcher in dispatchers:
                with Transaction().start(database, 0) as transaction:
                    try:
                        busy |= bool(dispatcher.run_once())
                        transaction.commit()
                    except Exception:
                        logger.exception("dispatching CAS system %s",
                            dispatcher.system_id)
                        transaction.rollback()
                        dispatcher.close()
                        time.sleep(poll)
            if once:
                break
            if not busy:
                if listener:
                    listener.wait(poll)
                else:
                    time.sleep(min(poll, 0.05))
    finally:
        for dispatcher in dispatchers:
            dispatcher.close()
        if listener:
            listener.close()


class _Listener:
    "A connection of its own that LISTENs and holds the dispatch locks"

    def __init__(self, database):
        from trytond import backend
        self.database = backend.Database(database).connect()
        self.connection = self.database.get_connection(autocommit=True)
        cursor = self.connection.cursor()
        cursor.execute('LISTEN rsoft_cas')

    def lock(self, systems):
        "Refuse to run a second dispatcher of the same systems"
        cursor = self.connection.cursor()
        for system in systems:
            cursor.execute('SELECT pg_try_advisory_lock(%s, %s)',
                (_LOCK_CLASS, system))
            locked, = cursor.fetchone()
            if not locked:
                raise SystemExit(
                    f"CAS system {system} already has a dispatcher")

    def wait(self, timeout):
        generator = self.connection.notifies(timeout=timeout, stop_after=1)
        for _ in generator:
            pass

    def close(self):
        self.connection.close()
        self.database.put_connection(self.connection)


def main(argv=None):
    "rsoft-cas-dispatch: send the CAS outbox, until interrupted"
    import argparse

    from trytond.config import config

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument('-c', '--config', dest='config')
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--system', type=int, action='append',
        help="a CAS system id (default: all)")
    parser.add_argument('--poll', type=float, default=0.5,
        help="seconds between looks at the outbox when idle")
    parser.add_argument('--once', action='store_true',
        help="one pass, then exit")
    args = parser.parse_args(argv)
    config.update_etc(args.config)
    logging.basicConfig(level=logging.INFO)
    try:
        serve(args.database, args.system, args.poll, args.once)
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
