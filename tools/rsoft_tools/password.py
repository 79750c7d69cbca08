"""Give back-office logins (and their LCO portal logins) a new generated
password and print it

    python -m rsoft_tools.password -c var/demo.conf -d demo lco-mum-01 ...

The demo prints the password of each LCO login once, when it builds the
database: Tryton keeps only their hashes, so a forgotten one is replaced.
The new password is set through res.user's password field (stored hashed),
and through web.user's on the LCO portal login of the same name if there
is one; it is printed as `login password`, one login a line."""
import argparse
import secrets
import sys

# The demo's LCO portal logins are e-mail addresses: login@PORTAL_DOMAIN
PORTAL_DOMAIN = 'portal.example.com'


def portal_email(login):
    "Return the e-mail of the LCO portal login of the back-office login"
    return f'{login}@{PORTAL_DOMAIN}'


def generate_password():
    "A random password of 16 URL-safe characters (96 bits)"
    return secrets.token_urlsafe(12)


def reset_passwords(logins):
    """Set a new generated password on the users of logins; return them
    as {login: password}

    Runs in the current transaction. The admin's password stays the one of
    trytond-admin --password, which the demo reads from its file."""
    from trytond.pool import Pool
    User = Pool().get('res.user')
    users = {u.login: u for u in User.search([('login', 'in', logins)])}
    unknown = [login for login in logins if login not in users]
    if unknown:
        raise ValueError(f"no such login: {', '.join(unknown)}")
    if 'admin' in users:
        raise ValueError("reset the admin password with "
            "trytond-admin -c CONFIG -d DATABASE --password")
    passwords = {login: generate_password() for login in logins}
    args = []
    for login, password in passwords.items():
        args.extend([[users[login]], {'password': password}])
    User.write(*args)
    _reset_portal_passwords(passwords)
    return passwords


def _reset_portal_passwords(passwords):
    from trytond.pool import Pool
    try:
        WebUser = Pool().get('web.user')
    except KeyError:
        return
    emails = {portal_email(login): password
        for login, password in passwords.items()}
    args = []
    for user in WebUser.search([('email', 'in', list(emails))]):
        args.extend([[user], {'password': emails[user.email]}])
    if args:
        WebUser.write(*args)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('login', nargs='+')
    args = parser.parse_args(argv)

    from trytond.config import update_etc
    update_etc(args.config)
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Pool.start()
    Pool(args.database).init()
    with Transaction().start(args.database, 0) as transaction:
        try:
            passwords = reset_passwords(args.login)
        except ValueError as exception:
            print(f'error: {exception}', file=sys.stderr)
            return 1
        transaction.commit()
    for login, password in passwords.items():
        print(login, password)
    return 0


if __name__ == '__main__':
    sys.exit(main())
