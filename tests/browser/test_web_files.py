"""The web client finds every file it asks for: the icon each of our views
and buttons names, and a translation catalogue for English (trytond answers
a file missing from www/ with 405, and the browser console shows it)."""
import json
import re
from pathlib import Path

import pytest

import trytond

ROOT = Path(__file__).resolve().parents[2]
WWW = ROOT / 'www'
ICON = re.compile(r'''['"](tryton-[a-z0-9-]+)['"]''')


@pytest.fixture(scope='module')
def www():
    if not (WWW / 'index.html').exists():
        pytest.fail('the web client is not installed: run scripts/setup')
    return WWW


def named_icons():
    "The icons named in the sources of the rsoft modules"
    names = set()
    for path in sorted((ROOT / 'addons').glob('rsoft_*/**/*')):
        if path.suffix in {'.py', '.xml'}:
            names.update(ICON.findall(path.read_text()))
    return names


def test_icons(www):
    "Every icon our modules name is shipped by sao, trytond or web/"
    served = {p.stem for p in (www / 'images').glob('tryton-*.svg')}
    served.update(p.stem for p in Path(trytond.__file__).parent.glob(
            'ir/ui/icons/tryton-*.svg'))
    served.update(p.stem for p in (ROOT / 'addons').glob(
            'rsoft_*/icons/tryton-*.svg'))
    assert 'tryton-pause' in named_icons()
    assert named_icons() <= served, sorted(named_icons() - served)


@pytest.mark.parametrize('language', ['en', 'en_US', 'en_IN'])
def test_english_catalogue(www, language):
    "sao loads locale/<language>.json for the browser's and user's language"
    catalogue = json.loads((www / 'locale' / f'{language}.json').read_text())
    assert catalogue[''] == {
        'language': language,
        'plural-forms': 'nplurals=2; plural=(n!=1);',
        }
