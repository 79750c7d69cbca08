"""Fixtures for browser tests: a small demo served by trytond, driven by
Chromium through selenium.

The demo database is built like scripts/demo builds it (trytond-admin, then
the data generator) but small, in a temporary folder, and served on a free
port with the web client of www/ (scripts/install-web). Browser tests do
not use the test database of the run (DB_NAME), so a PostgreSQL run
deselects them unless `-m` selects: they belong to the SQLite pass.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCREENSHOTS = ROOT / 'var' / 'screenshots'
DATABASE = 'demo'
SUBSCRIBERS = 30
SEED = 1
CHROMIUM_FLAGS = [
    '--headless', '--no-sandbox', '--disable-gpu',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic',
    '--window-size=1366,900',
    ]
# Build the database and start the server within these (seconds).
BUILD_TIMEOUT = 15 * 60
START_TIMEOUT = 120


def pytest_configure(config):
    config.addinivalue_line(
        'markers',
        'browser: drives the web client in Chromium against a demo server')


def pytest_collection_modifyitems(config, items):
    uri = os.environ.get('TRYTOND_DATABASE_URI', '')
    if not uri.startswith('postgres') or config.getoption('markexpr'):
        return
    browser = [i for i in items if i.get_closest_marker('browser')]
    if browser:
        config.hook.pytest_deselected(items=browser)
        items[:] = [i for i in items if not i.get_closest_marker('browser')]


def _missing(reason):
    # On CI a missing browser is a failure, never a silent skip.
    if os.environ.get('CI'):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope='session')
def chromium():
    "Paths of the Chromium binary and of its chromedriver"
    binary = shutil.which('chromium') or shutil.which('chromium-browser')
    driver = shutil.which('chromedriver') or '/usr/bin/chromedriver'
    if not binary or not os.access(driver, os.X_OK):
        _missing('chromium and chromedriver are needed '
            '(apt-get install chromium chromium-driver)')
    return binary, driver


def _clean_environ(**extra):
    "The environment of the demo processes, without the test run's database"
    env = {k: v for k, v in os.environ.items()
        if not k.startswith('TRYTOND_')
        and k not in {'DB_NAME', 'DB_CACHE', 'DB_CACHE_JOBS'}}
    env.update(extra)
    return env


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _render_config(path, db_folder, port):
    "A trytond config from config/demo.conf (as scripts/_lib.sh writes it)"
    text = (ROOT / 'config' / 'demo.conf').read_text()
    text = text.replace(
        'path = @RSOFT_ROOT@/var/db', f'path = {db_folder}')
    text = text.replace('@RSOFT_ROOT@', str(ROOT))
    text = text.replace(
        'listen = 127.0.0.1:8000', f'listen = 127.0.0.1:{port}')
    path.write_text(text)


def _run(args, log, env, input='', stdout=False):
    "Run args, logged; return its output if stdout, else log it too"
    with log.open('a') as out:
        out.write(f'$ {" ".join(map(str, args))}\n')
        out.flush()
        result = subprocess.run(
            args, cwd=ROOT, env=env, input=input, text=True,
            stdout=subprocess.PIPE if stdout else out,
            stderr=out if stdout else subprocess.STDOUT,
            timeout=BUILD_TIMEOUT)
    if result.returncode:
        pytest.fail(f'{args[0]} failed:\n{_tail(log)}')
    return result.stdout


def _tail(log, lines=40):
    return '\n'.join(log.read_text(errors='replace').splitlines()[-lines:])


def _modules():
    return sorted(cfg.parent.name
        for cfg in (ROOT / 'addons').glob('rsoft_*/tryton.cfg'))


class DemoServer:
    "A trytond serving one demo database and the web client"

    login = 'admin'

    def __init__(self, url, database, password, lco_passwords=None,
            log=None):
        self.url = url
        self.database = database
        self.password = password
        # The server's output: what a failing test shows of it
        self.log = log
        # {login: password} of the LCOs' logins
        self.lco_passwords = lco_passwords or {}
        self._authorization = None

    def rpc(self, method, *params):
        "Calls method over JSON-RPC as admin; the context is added"
        if self._authorization is None and method != 'common.db.login':
            user_id, key = self.rpc(
                'common.db.login', self.login,
                {'password': self.password}, 'en')[:2]
            token = f'{self.login}:{user_id}:{key}'.encode()
            self._authorization = (
                'Session ' + base64.b64encode(token).decode())
        if method.startswith('model.'):
            params = (*params, {})
        request = urllib.request.Request(
            f'{self.url}{self.database}/rpc/',
            data=json.dumps({
                    'id': 0, 'method': method, 'params': params,
                    }).encode(),
            headers={'Content-Type': 'application/json'})
        if self._authorization and method != 'common.db.login':
            request.add_header('Authorization', self._authorization)
        with urllib.request.urlopen(request, timeout=60) as response:
            reply = json.load(response)
        if reply.get('error'):
            raise RuntimeError(f'{method}: {reply["error"]}')
        return reply['result']


@pytest.fixture(scope='session')
def demo_server(tmp_path_factory):
    "A demo database with a few subscribers, served with the web client"
    if not (ROOT / 'www' / 'index.html').exists():
        pytest.fail('the web client is not installed: run scripts/setup')
    modules = _modules()
    if not modules:
        pytest.fail('no module in addons/rsoft_*/tryton.cfg')
    work = tmp_path_factory.mktemp('demo')
    db_folder = work / 'db'
    db_folder.mkdir()
    (db_folder / f'{DATABASE}.sqlite').touch()
    password = 'browser-test-admin'
    password_file = work / 'password'
    password_file.write_text(password + '\n')
    port = _free_port()
    config = work / 'trytond.conf'
    _render_config(config, db_folder, port)
    log = work / 'build.log'

    # The admin e-mail is answered empty rather than given with --email:
    # with email-validator installed trytond-admin checks the address's
    # domain over DNS, which CI machines may not reach.
    _run([BIN / 'trytond-admin', '-c', config, '-d', DATABASE, '--all'],
        log, _clean_environ(TRYTONPASSFILE=str(password_file)), input='\n')
    _run([BIN / 'trytond-admin', '-c', config, '-d', DATABASE,
            '-u', *modules, '--activate-dependencies'],
        log, _clean_environ())
    # As scripts/demo: each LCO's logins (web client and portal) and
    # their password, printed as `login password` lines
    logins = _run([BIN / 'python', '-m', 'rsoft_tools.generate',
            '-c', config, '-d', DATABASE, '--subscribers', str(SUBSCRIBERS),
            '--seed', str(SEED), '--lco-logins', '--quiet'],
        log, _clean_environ(), stdout=True)
    lco_passwords = dict(line.split() for line in logins.splitlines())

    server_log = work / 'server.log'
    with server_log.open('w') as out:
        # -d preloads the database: trytond 8.0.12 fails the first login
        # otherwise.
        process = subprocess.Popen(
            [BIN / 'trytond', '-c', config, '-d', DATABASE],
            cwd=ROOT, env=_clean_environ(), stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}/'
    try:
        _wait_for(url, process, server_log)
        yield DemoServer(url, DATABASE, password, lco_passwords,
            log=server_log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(url, process, log):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f'trytond stopped:\n{_tail(log)}')
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f'trytond did not answer on {url}:\n{_tail(log)}')


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == 'call':
        item.rsoft_call_failed = report.failed
    return report


@pytest.fixture
def browser(chromium, tmp_path, request):
    "A headless Chromium with a fresh profile; a screenshot when it fails"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f'--user-data-dir={tmp_path / "chromium"}')
    # The console tells why a page that stays "Processing" broke
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    service = Service(
        executable_path=driver_path,
        log_output=str(tmp_path / 'chromedriver.log'))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
        if getattr(request.node, 'rsoft_call_failed', False):
            _save_screenshot(driver, request.node.name, 'failure')
            _save_console(driver, request.node.name)
    finally:
        driver.quit()


def _save_console(driver, test):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f'{test}-console.log'
    path.write_text('\n'.join(
            f"{entry['level']} {entry['message']}"
            for entry in driver.get_log('browser')))
    return path


def _save_screenshot(driver, test, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f'{test}-{name}.png'
    driver.save_screenshot(str(path))
    return path


@pytest.fixture
def screenshot(browser, request):
    "Saves a screenshot of the browser to var/screenshots/<test>-<name>.png"
    def save(name):
        return _save_screenshot(browser, request.node.name, name)
    return save


class SaoClient:
    """What a user does in the web client, with sao 8.0 selectors.

    The login dialog has `#login` (user name) and a submit button; the
    password is then asked in an `.ask-dialog` (`#ask-dialog-entry`, OK
    button). The menu is a tree in `#menu`: each row shows its name in a
    `.column-char` cell, indented by the margin of its `.expander` image;
    a click on the expander opens a submenu, a click on a leaf runs its
    action in a new tab of `#tabcontent`.
    """
    TIMEOUT = 60

    # Returns the menu row named arguments[0] under the row arguments[1]
    # (null: at the top), or null when it is not (yet) shown.
    _FIND_ROW = '''
        const [name, parent] = arguments;
        const rows = [...document.querySelectorAll('#menu tbody > tr')];
        const depth = (row) => parseFloat(
            row.querySelector('.expander img')?.style.marginLeft) || 0;
        const label = (row) =>
            row.querySelector('.column-char')?.textContent.trim();
        let start = 0, level = Math.min(...rows.map(depth));
        if (parent) {
            start = rows.indexOf(parent) + 1;
            level = null;
        }
        for (const row of rows.slice(start)) {
            if (parent && depth(row) <= depth(parent)) {
                break;
            }
            if (level === null) {
                level = depth(row);
            }
            if (depth(row) == level && label(row) == name) {
                return row;
            }
        }
        return null;
        '''

    # Whether the menu row arguments[0] has a submenu not unfolded: its
    # expander is shown and the next row is not deeper
    _FOLDED = '''
        const row = arguments[0];
        const depth = (row) => parseFloat(
            row.querySelector('.expander img')?.style.marginLeft) || 0;
        const expander = row.querySelector('.expander');
        if (!expander || getComputedStyle(expander).visibility === 'hidden') {
            return false;
        }
        const next = row.nextElementSibling;
        return !next || depth(next) <= depth(row);
        '''

    def __init__(self, driver, server):
        from selenium.webdriver.support.ui import WebDriverWait
        self.driver = driver
        self.server = server
        self.wait = WebDriverWait(driver, self.TIMEOUT)

    def _visible(self, css):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        return self.wait.until(
            EC.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def login(self):
        self.driver.get(f'{self.server.url}#{self.server.database}')
        self._visible('.login-dialog #login').send_keys(self.server.login)
        self._visible('.login-dialog button[type="submit"]').click()
        self._visible('.ask-dialog #ask-dialog-entry').send_keys(
            self.server.password)
        self._visible('.ask-dialog .modal-footer .btn-primary').click()
        self.wait.until(self._menu_shown)

    def _menu_shown(self, driver):
        from selenium.webdriver.common.by import By
        if driver.find_elements(By.CSS_SELECTOR, '#menu tbody > tr'):
            return True
        # A first login may run the module configuration wizards before
        # the menu is shown: they are not what the test is about.
        for button in driver.find_elements(By.XPATH,
                '//div[@id="tabcontent"]//div[contains(@class, "tab-wizard")]'
                '//button[normalize-space()="Cancel"]'):
            if button.is_displayed() and button.is_enabled():
                button.click()
        return False

    def open_menu(self, *path):
        "Opens the menu entry at path, e.g. ('Parties', 'Parties')"
        from selenium.webdriver.common.by import By
        row = None
        for i, name in enumerate(path):
            parent = row
            row = self.wait.until(
                lambda d: d.execute_script(self._FIND_ROW, name, parent),
                f'menu entry {" / ".join(path[:i + 1])} not found')
            if i < len(path) - 1:
                row.find_element(By.CSS_SELECTOR, '.expander').click()
            else:
                self._open_leaf(row, parent, path)

    def _open_leaf(self, row, parent, path):
        """Click the menu entry until a tab opens: on a loaded machine a
        click while the tree redraws after expanding is lost"""
        from selenium.common.exceptions import (
            StaleElementReferenceException,
            TimeoutException,
        )
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
        css = '#tabcontent > .tab-pane'
        tabs = len(self.driver.find_elements(By.CSS_SELECTOR, css))
        # A click on an entry with a submenu also unfolds it, and the tree
        # redraws while the action is asked for: unfold it first
        if self.driver.execute_script(self._FOLDED, row):
            row.find_element(By.CSS_SELECTOR, '.expander').click()
            self.wait.until(lambda d: not d.execute_script(
                    self._FOLDED, row), f'{path[-1]} does not unfold')
            row = self.wait.until(
                lambda d: d.execute_script(self._FIND_ROW, path[-1], parent),
                f'menu entry {" / ".join(path)} not found')
        for _ in range(5):
            try:
                row.find_element(By.CSS_SELECTOR, '.column-char').click()
                WebDriverWait(self.driver, self.TIMEOUT / 3).until(
                    lambda d: len(d.find_elements(By.CSS_SELECTOR, css))
                    > tabs)
                return
            except (TimeoutException, StaleElementReferenceException):
                # An error dialog does not go away by clicking again
                if self._blockers(log=False):
                    break
                row = self.wait.until(
                    lambda d: d.execute_script(
                        self._FIND_ROW, path[-1], parent),
                    f'menu entry {" / ".join(path)} not found')
        raise AssertionError(f'menu entry {" / ".join(path)} opens no tab'
            + self._blockers())

    def _blockers(self, log=True):
        "What may have stopped the client: its dialogs, the server's log"
        from selenium.webdriver.common.by import By
        dialogs = [d.text for d in self.driver.find_elements(
                By.CSS_SELECTOR, '.modal-dialog') if d.is_displayed()]
        text = ''.join(f'\ndialog: {d}' for d in dialogs)
        if log and self.server.log:
            text += f'\nserver log:\n{_tail(self.server.log)}'
        return text

    def current_list(self):
        "The rows of the list in the current tab, once loaded, as texts"
        css = '#tabcontent > .tab-pane.active .treeview tbody > tr'

        def rows(driver):
            from selenium.webdriver.common.by import By
            texts = [r.text for r in driver.find_elements(
                    By.CSS_SELECTOR, css) if r.text.strip()]
            return texts or False
        return self.wait.until(rows, 'no list shown in the current tab')

    def window_title(self):
        "The browser's title: '<current tab> - RSoft SMS'"
        return self.driver.title


@pytest.fixture
def sao(browser, demo_server):
    "The web client of the demo server in the browser"
    return SaoClient(browser, demo_server)
