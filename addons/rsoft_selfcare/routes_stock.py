"""The LCO portal's devices, wallet and reports

Each route is given a Portal (web.py): it reads only through
portal.scope, and business rules stay in the models it calls."""
