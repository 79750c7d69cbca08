"""Driver for CAS that exchange signed CSV batch files

Some head-ends have no online interface: the SMS leaves each batch of
commands in a folder the vendor's batch processor reads, and the vendor
drops result files and state exports in another. The folders are often
shared drives, so every file carries a detached HMAC signature and
neither side acts on a file the other did not write. The formats are
described for vendors in doc/batch_file.md.
"""
import contextlib
import csv
import dataclasses
import datetime
import hashlib
import hmac
import io
import itertools
import json
import logging
import os
import re
import secrets
import shutil
import time

from . import base

logger = logging.getLogger(__name__)

ALGORITHM = 'hmac-sha256'
BATCH_COLUMNS = [
    'key', 'sequence', 'action', 'device', 'target', 'group', 'payload']
RESULT_COLUMNS = ['key', 'status', 'error']
STATE_COLUMNS = [
    'device', 'products', 'paired_with', 'suspended', 'blacklisted']
RESULT_SUFFIX = '.result.csv'
STATE_INFIX = 'state-'
UNTRUSTED = 'untrusted'
STATUSES = {
    'ok': base.ACKED,
    'duplicate': base.ACKED,
    'rejected': base.REJECTED,
    }
TRUE = {'1', 'true', 'yes', 'y', 't'}
# The prefix starts every file name and is matched literally
PREFIX = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]*$')
# Orders the batches of one process written in the same microsecond
_counter = itertools.count(1)


def sign(data: bytes, key: str) -> str:
    "The detached signature of data: 'hmac-sha256:' and the hex digest"
    digest = hmac.new(key.encode('utf-8'), data, hashlib.sha256)
    return f'{ALGORITHM}:{digest.hexdigest()}'


def verify(data: bytes, signature: str, key: str) -> bool:
    "Whether signature is the signature of data with key"
    algorithm, _, digest = signature.strip().partition(':')
    if algorithm.lower() != ALGORITHM:
        return False
    expected = sign(data, key).partition(':')[2]
    # In constant time: how long it takes must not tell what matched
    return hmac.compare_digest(
        expected.encode('ascii'), digest.lower().encode('utf-8'))


class _Untrusted(Exception):
    "A vendor file not to act upon: not signed with the key, or unreadable"


@contextlib.contextmanager
def _io(action):
    "Raise DriverError for the failures of the file system"
    try:
        yield
    except OSError as exception:
        raise base.DriverError(
            f'batch_file: {action}: {exception}') from exception


def _fsync_folder(folder):
    # A rename is durable only once its folder is flushed
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove(path):
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def _write_atomic(path, data):
    "Write data to path under a temporary name then rename it into place"
    folder, name = os.path.split(path)
    # Starts with a dot and does not end with .csv: no reader takes it
    temp = os.path.join(folder, f'.{name}.tmp')
    try:
        with open(temp, 'xb') as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        _remove(temp)
        raise
    _fsync_folder(folder)


def _write_signed(path, data, key):
    """Write data to path and its signature to path.sig

    The signature is in place before the file: whoever sees the file finds
    its signature."""
    _write_atomic(path + '.sig', (sign(data, key) + '\n').encode('ascii'))
    try:
        _write_atomic(path, data)
    except BaseException:
        _remove(path + '.sig')
        raise


def _move_signed(path, folder):
    "Move path and its signature into folder, renamed if the name is taken"
    name = os.path.basename(path)
    target = os.path.join(folder, name)
    for n in itertools.count(1):
        if not (os.path.lexists(target) or os.path.lexists(target + '.sig')):
            break
        target = os.path.join(folder, f'{name}.{n}')
    # The file before its signature: a signature left behind by a crash is
    # harmless, a file left without its own would be set aside
    shutil.move(path, target)
    if os.path.lexists(path + '.sig'):
        try:
            shutil.move(path + '.sig', target + '.sig')
        except OSError as exception:
            # The file is moved: what it said must still be answered
            logger.warning('batch_file: cannot move %s.sig to %s: %s',
                path, folder, exception)


def _rows(data, columns):
    "The rows of CSV data as dicts, with at least columns"
    try:
        text = data.decode('utf-8-sig')
        reader = csv.DictReader(io.StringIO(text, newline=''))
        missing = set(columns) - set(reader.fieldnames or [])
        if missing:
            raise _Untrusted(f"missing columns {', '.join(sorted(missing))}")
        return list(reader)
    except (UnicodeDecodeError, csv.Error) as exception:
        raise _Untrusted(f'unreadable: {exception}') from exception


def _result(row, name):
    status = (row['status'] or '').strip().lower()
    reply = f'{name}: {status}'
    if status not in STATUSES:
        # Signed by the vendor but not understood: the dispatcher finds out
        # by querying or by sending again
        return base.Result(
            row['key'], base.UNKNOWN, error=f'unknown status {status!r}',
            reply=reply)
    error = ''
    if status == 'rejected':
        error = row.get('error') or 'rejected without a reason'
    return base.Result(row['key'], STATUSES[status], error=error, reply=reply)


def _flag(value):
    return (value or '').strip().lower() in TRUE


def _device_state(row):
    if not row['device']:
        raise ValueError('no device')
    return base.DeviceState(
        device=row['device'],
        products=[base.Product.from_dict(p)
            for p in json.loads(row['products'] or '[]')],
        paired_with=row['paired_with'] or '',
        suspended=_flag(row['suspended']),
        blacklisted=_flag(row['blacklisted']))


def _states(data):
    "The device states of a state export by device"
    states = {}
    # Line 1 is the header
    for line, row in enumerate(_rows(data, STATE_COLUMNS), 2):
        try:
            state = _device_state(row)
        except (ValueError, TypeError, KeyError, AttributeError) as exception:
            raise _Untrusted(f'line {line}: {exception!r}') from exception
        states[state.device] = state
    return states


def _copy(state):
    # The cached export must not change with what callers do to theirs
    return dataclasses.replace(
        state, products=[dataclasses.replace(p) for p in state.products])


def _batch(commands):
    "The CSV bytes of a batch of commands"
    out = io.StringIO(newline='')
    writer = csv.writer(out, lineterminator='\r\n')
    writer.writerow(BATCH_COLUMNS)
    for command in commands:
        writer.writerow([
                command.key, command.sequence, command.action,
                command.device, command.target, command.group,
                json.dumps(
                    command.payload, sort_keys=True, separators=(',', ':')),
                ])
    return out.getvalue().encode('utf-8')


@base.register
class BatchFileDriver(base.Driver):
    """CAS that take batch files in a folder and answer in another

    settings: outbox (folder the vendor picks batches from), inbox (folder
    the vendor drops result files and state exports into), archive (where
    read result files go), prefix (starts the name of every file, e.g. the
    system code), stale_after (seconds a batch may wait in the outbox
    before the vendor counts as stopped, default 3600), signature_wait
    (seconds a vendor file may wait for its signature, default 60).
    credentials: signing_key.

    Vendor files that are not signed with the key, or that cannot be read,
    are moved to <inbox>/untrusted and their names added to untrusted, for
    the caller to log and empty.
    """
    name = 'batch_file'

    def __init__(self, settings, credentials, limits=None):
        super().__init__(settings, credentials, limits)
        self.prefix = self.settings.get('prefix', '')
        self.stale_after = float(self.settings.get('stale_after') or 3600)
        self.signature_wait = float(
            self.settings.get('signature_wait') or 60)
        self.untrusted = []
        # The newest state export read: ((name, mtime, size), states)
        self._export_cache = None

    def __repr__(self):
        return (f'<{self.__class__.__name__} '
            f'{self.settings.get("outbox", "")}>')

    def capabilities(self):
        try:
            exported = self._export() is not None
        except base.DriverError:
            exported = False
        return dataclasses.replace(
            self.limits, query=exported, export=exported)

    def submit(self, commands):
        if not commands:
            return []
        outbox = self._folder('outbox')
        key = self._key()
        name = self._batch_name()
        with _io(f'cannot write {name} in outbox folder {outbox!r}'):
            _write_signed(os.path.join(outbox, name), _batch(commands), key)
        return [base.Result(c.key, base.SENT, reply=name) for c in commands]

    def collect(self):
        inbox = self._folder('inbox')
        archive = self._folder('archive')
        key = self._key()
        results = []
        with _io(f'cannot list inbox folder {inbox!r}'):
            names = self._names(inbox, suffix=RESULT_SUFFIX)
        for name in names:
            try:
                results.extend(self._collect(inbox, name, archive, key))
            except OSError as exception:
                # Left for the next call; the results of the files already
                # archived must be returned
                logger.warning(
                    'batch_file: cannot collect %s: %s', name, exception)
        return results

    def query_device(self, device):
        state = (self._export() or {}).get(device)
        return _copy(state) if state else None

    def export_state(self):
        return [_copy(s) for s in (self._export() or {}).values()]

    def health(self):
        try:
            self._key()
            outbox = self._folder('outbox')
            self._folder('inbox')
            self._folder('archive')
            with _io(f'cannot list outbox folder {outbox!r}'):
                ages = self._waiting(outbox)
        except base.DriverError as exception:
            return False, str(exception)
        if not ages:
            return True, 'no batch waiting in the outbox'
        oldest = max(ages)
        message = (f'batches waiting in the outbox: {len(ages)}, '
            f'the oldest for {oldest:.0f} s')
        if oldest > self.stale_after:
            return False, (f'{message} (more than {self.stale_after:.0f} s): '
                'the vendor is not picking them up')
        return True, message

    def _key(self):
        key = self.credentials.get('signing_key')
        if not key:
            raise base.DriverError(
                'batch_file: no signing key in the credentials')
        return key

    def _folder(self, setting):
        "The folder of setting, which must exist and be writable"
        path = self.settings.get(setting)
        if not path:
            raise base.DriverError(f'batch_file: no {setting} folder set')
        if not os.path.isdir(path):
            raise base.DriverError(
                f'batch_file: {setting} folder {path!r} does not exist')
        if not os.access(path, os.W_OK | os.X_OK):
            raise base.DriverError(
                f'batch_file: {setting} folder {path!r} is not writable')
        return path

    def _start(self, infix=''):
        "The start of the names of our files"
        if not PREFIX.match(self.prefix):
            raise base.DriverError(
                f'batch_file: invalid file name prefix {self.prefix!r}')
        return f'{self.prefix}-{infix}'

    def _names(self, folder, infix='', suffix='.csv'):
        "The names in folder of our files, sorted"
        start = self._start(infix)
        return sorted(n for n in os.listdir(folder)
            if n.startswith(start) and n.endswith(suffix))

    def _batch_name(self):
        # Names sort in the order of writing within a process; the random
        # part keeps them apart across processes and hosts sharing the
        # folder (containers may all have the same pid)
        now = datetime.datetime.now(datetime.UTC)
        return (f'{self._start()}{now:%Y%m%dT%H%M%S.%fZ}-'
            f'{next(_counter):06d}-{secrets.token_hex(4)}.csv')

    def _waiting(self, outbox):
        "The ages in seconds of the batches waiting in the outbox"
        now = time.time()
        ages = []
        for name in self._names(outbox):
            # The vendor may take it between listing and looking at it
            with contextlib.suppress(FileNotFoundError):
                mtime = os.stat(os.path.join(outbox, name)).st_mtime
                ages.append(max(now - mtime, 0))
        return ages

    def _signed(self, path, key):
        """The bytes of path, if its signature is good

        None while a young file waits for its signature: a vendor may
        write it second."""
        with open(path, 'rb') as file:
            data = file.read()
        try:
            with open(path + '.sig', 'rb') as file:
                signature = file.read().decode('ascii')
        except FileNotFoundError:
            if time.time() - os.stat(path).st_mtime < self.signature_wait:
                return None
            raise _Untrusted('no signature')
        except UnicodeDecodeError:
            raise _Untrusted('bad signature')
        if not verify(data, signature, key):
            raise _Untrusted('bad signature')
        return data

    def _set_aside(self, inbox, name, reason):
        folder = os.path.join(inbox, UNTRUSTED)
        os.makedirs(folder, exist_ok=True)
        _move_signed(os.path.join(inbox, name), folder)
        self.untrusted.append(name)
        logger.warning(
            'batch_file: %s moved to %s: %s', name, folder, reason)

    def _collect(self, inbox, name, archive, key):
        "The results of the result file name, which is then archived"
        path = os.path.join(inbox, name)
        try:
            data = self._signed(path, key)
            if data is None:
                return []
            rows = _rows(data, ['key', 'status'])
        except _Untrusted as exception:
            self._set_aside(inbox, name, exception)
            return []
        # Archived before it is answered: a result file is read once; a
        # command whose result is lost stays 'sent' and is sent again with
        # its key, which the vendor answers 'duplicate'
        _move_signed(path, archive)
        return [_result(r, name) for r in rows if r['key']]

    def _export(self):
        "The device states of the newest good state export, or None"
        inbox = self._folder('inbox')
        key = self._key()
        with _io(f'cannot read state export in inbox folder {inbox!r}'):
            for name in reversed(self._names(inbox, STATE_INFIX)):
                if name.endswith(RESULT_SUFFIX):
                    continue
                states = self._read_export(inbox, name, key)
                if states is not None:
                    return states
        return None

    def _read_export(self, inbox, name, key):
        path = os.path.join(inbox, name)
        stat = os.stat(path)
        stamp = (name, stat.st_mtime_ns, stat.st_size)
        if self._export_cache and self._export_cache[0] == stamp:
            return self._export_cache[1]
        try:
            data = self._signed(path, key)
            if data is None:
                return None
            states = _states(data)
        except _Untrusted as exception:
            self._set_aside(inbox, name, exception)
            return None
        self._export_cache = (stamp, states)
        return states

