"An HTTP API served on a local port, for the gateway tests"
import threading
from http.server import ThreadingHTTPServer


class LocalServer:
    """Serves an API on a local port in a thread of its own; the request
    handler (a BaseHTTPRequestHandler class) finds this object as
    `self.server.api`"""
    name = 'api'

    def __init__(self, handler, host='127.0.0.1', port=0):
        self.handler = handler
        self.host, self.port = host, port
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None

    @property
    def url(self):
        return f'http://{self.host}:{self.port}'

    def start(self):
        httpd = ThreadingHTTPServer((self.host, self.port), self.handler)
        httpd.daemon_threads = True
        httpd.api = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={'poll_interval': 0.05},
            name=f'{self.name}-{self.port}', daemon=True)
        self._thread.start()
        return self

    def stop(self):
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            self._thread.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
