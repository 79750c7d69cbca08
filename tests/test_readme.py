"""The root README's module graph is the one the code has"""
import configparser
import re
import unittest
from pathlib import Path

ROOT = Path(__file__).parents[1]
ROW = re.compile(r'^\| \[`(rsoft_\w+)`\]\(([^)]+)\) \| ([^|]*) \| ([^|]*) \|$')


def _ours(value):
    return {d for d in value.split() if d.startswith('rsoft_')}


def _listed(cell):
    return set(re.findall(r'`(rsoft_\w+)`', cell))


class ReadmeTestCase(unittest.TestCase):

    def test_module_graph(self):
        "Every module is in the graph with its depends, and has a README"
        graph = {}
        readme = (ROOT / 'README.md').read_text(encoding='utf-8')
        for line in readme.splitlines():
            if match := ROW.match(line):
                module, path, depends, extras = match.groups()
                graph[module] = (_listed(depends), _listed(extras))
                self.assertTrue((ROOT / path).is_file(), path)
        code = {}
        for cfg in sorted(ROOT.glob('addons/rsoft_*/tryton.cfg')):
            parser = configparser.ConfigParser()
            parser.read(cfg, encoding='utf-8')
            code[cfg.parent.name] = (
                _ours(parser.get('tryton', 'depends', fallback='')),
                _ours(parser.get('tryton', 'extras_depend', fallback='')))
        self.assertEqual(graph, code)
