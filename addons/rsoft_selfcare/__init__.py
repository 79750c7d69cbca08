# The routes register themselves with trytond's WSGI application on import
from . import (  # noqa: F401
    api,
    routes,
    routes_account,
    routes_channels,
    routes_engage,
    routes_recharge,
    routes_service,
    routes_stock,
    routes_subscriber,
    routes_voucher,
)
