"The database of a benchmark: created afresh, its modules activated"
import os
import platform
import subprocess
import sys


def create_database(config, args, module):
    "Create args.database at args.uri with module and its dependencies"
    env = dict(os.environ, TRYTONPASSFILE=os.path.join(
            os.path.dirname(config), 'password'),
        TRYTOND_DATABASE__URI=args.uri)
    with open(env['TRYTONPASSFILE'], 'w') as fd:
        fd.write('admin\n')
    if args.uri.startswith('postgresql'):
        subprocess.run(['dropdb', '--if-exists', '-h', '127.0.0.1',
                '-U', 'postgres', args.database], check=True)
        subprocess.run(['createdb', '-h', '127.0.0.1', '-U', 'postgres',
                args.database], check=True)
        # As in production (README): trigram indexes for the searches of
        # names, numbers and IDs by a part of them
        subprocess.run(['psql', '-h', '127.0.0.1', '-U', 'postgres',
                '-d', args.database, '-c',
                'CREATE EXTENSION IF NOT EXISTS pg_trgm'], check=True)
    else:
        open(os.path.join(os.path.dirname(config),
                f'{args.database}.sqlite'), 'w').close()
    admin = os.path.join(os.path.dirname(sys.executable), 'trytond-admin')
    subprocess.run([admin, '-c', config, '-d', args.database, '--all'],
        input='\n', text=True, env=env, check=True,
        stdout=subprocess.DEVNULL)
    subprocess.run([admin, '-c', config, '-d', args.database,
            '-u', module, '--activate-dependencies'],
        env=env, check=True, stdout=subprocess.DEVNULL)


def update_database(config, args, module):
    "Activate or update module and its dependencies in args.database"
    env = dict(os.environ, TRYTOND_DATABASE__URI=args.uri)
    admin = os.path.join(os.path.dirname(sys.executable), 'trytond-admin')
    subprocess.run([admin, '-c', config, '-d', args.database,
            '-u', module, '--activate-dependencies'],
        env=env, check=True, stdout=subprocess.DEVNULL)


def cpu_model():
    "Return the name of the machine's processor"
    try:
        with open('/proc/cpuinfo') as fd:
            for line in fd:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_machine():
    "Return the figures of the machine and of PostgreSQL a bench reports"
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute('SHOW server_version')
    version, = cursor.fetchone()
    model = cpu_model()
    memory = ''
    try:
        with open('/proc/meminfo') as fd:
            kib = int(fd.readline().split()[1])
            memory = f'{kib / 2 ** 20:.1f} GiB'
    except OSError:
        pass
    return {
        'CPUs': os.cpu_count(), 'model': model, 'RAM': memory,
        'Python': platform.python_version(), 'PostgreSQL': version,
        }
