# The routes register themselves with trytond's WSGI application on import
from . import routes, routes_account, routes_service, routes_stock  # noqa: F401
