"""Measure the demo generator: N subscribers into a fresh database

    python bench/generate_subscribers.py --subscribers 100000 \\
        --uri postgresql://postgres@127.0.0.1:5432/

Creates (or recreates) the database, activates the rsoft modules, loads the
operator's reference data, then times the subscriber load alone and prints
subscribers/s and rows/s."""
import argparse
import os
import platform
import tempfile
import time

from benchdb import create_database


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--subscribers', type=int, default=100_000)
    parser.add_argument('--uri',
        default='postgresql://postgres@127.0.0.1:5432/')
    parser.add_argument('--database', default='rsoft_bench_generate')
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix='rsoft-bench-')
    config = os.path.join(workdir, 'trytond.conf')
    with open(config, 'w') as fd:
        fd.write(f'[database]\nuri = {args.uri}\npath = {workdir}\n')
    create_database(config, args, 'rsoft_subscriber')

    from rsoft_tools.generate import Generator

    from proteus import config as pconfig
    pconfig.set_trytond(args.database, config_file=config)
    generator = Generator(args.database, subscribers=0, seed=args.seed)
    generator.run()
    generator.subscriber_count = args.subscribers
    started = time.monotonic()
    company_id = generator.company_id
    generator.load_subscribers(company_id)
    elapsed = time.monotonic() - started
    rows = count_rows(args.database, company_id)
    print(f'machine: {platform.machine()}, {os.cpu_count()} cores, '
        f'Python {platform.python_version()}, {args.uri.split(":")[0]}')
    print(f'{args.subscribers} subscribers in {elapsed:.1f} s: '
        f'{args.subscribers / elapsed:.0f} subscribers/s, '
        f'{rows} rows, {rows / elapsed:.0f} rows/s')


def count_rows(database, company_id):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    models = ['party.party', 'party.address', 'rsoft.subscriber',
        'rsoft.connection', 'rsoft.subscription.line',
        'rsoft.subscriber.event']
    with Transaction().start(database, 0, context={'company': company_id}):
        pool = Pool()
        return sum(pool.get(m).search_count([]) for m in models)


if __name__ == '__main__':
    main()
