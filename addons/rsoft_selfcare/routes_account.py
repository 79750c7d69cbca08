"""The LCO portal's actions on its subscribers' accounts: new
subscribers, activation, renewal, suspension, packs

Each route is given a Portal (web.py): it reads only through
portal.scope, and business rules stay in the models it calls."""
