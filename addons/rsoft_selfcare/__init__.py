# The routes register themselves with trytond's WSGI application on import
from . import routes  # noqa: F401
