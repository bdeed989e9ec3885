"""Keeps a Python process on loopback: every way asyncio and the socket module
reach the network refuses any address outside 127.0.0.0/8.

``install()`` wraps, outermost first:

* ``asyncio.open_connection`` / ``asyncio.start_server`` (what aioslsk calls),
* ``BaseEventLoop.create_connection`` / ``create_server`` /
  ``create_datagram_endpoint`` (what those call, and what aiohttp and the UPnP
  library call),
* ``socket.socket.connect`` / ``connect_ex`` / ``bind`` / ``sendto`` /
  ``sendmsg`` (the last point before the kernel),
* ``socket.getaddrinfo`` (a host name would mean a DNS query: only numeric
  loopback addresses are allowed, ``localhost`` included in the refusal).

Each layer checks the address before calling what it wraps, so a refusal at an
outer layer happens before any socket exists. A refusal raises
``NonLoopbackRefused`` (an ``OSError``, so callers that handle connection
errors handle it too) and calls ``on_refusal`` so that the driver can report
it even when the caller swallows the exception.

``tripwire()`` is for self-tests: while it is active, a call that passes a
layer's check does not reach the real function either but raises
``TripwireHit``, so a test can try non-loopback addresses without any chance
of a packet leaving, and can tell "refused by the guard" from "would have
gone out".
"""

import asyncio
import asyncio.base_events
import contextlib
import ipaddress
import socket

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


class NonLoopbackRefused(OSError):
    """A connection, bind, datagram or name lookup outside 127.0.0.0/8."""

    def __init__(self, layer, address):
        super().__init__(f"loopback guard ({layer}): refused {address!r}: only 127.0.0.0/8 is allowed")
        self.layer = layer
        self.address = address


class TripwireHit(RuntimeError):
    """A call passed the guard's check while ``tripwire()`` was active."""

    def __init__(self, layer, address):
        super().__init__(f"tripwire ({layer}): {address!r} passed the guard")
        self.layer = layer
        self.address = address


def _no_report(layer, address):
    pass


on_refusal = _no_report
"""Called with (layer, address) on every refusal outside ``tripwire()``."""

_tripwire = False
_report_in_tripwire = False
_installed = False
_real = {}


def is_loopback_host(host):
    """True for a numeric IPv4 address in 127.0.0.0/8 (str or bytes)."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    try:
        return ipaddress.ip_address(host) in LOOPBACK
    except ValueError:
        return False


def _check(layer, host, address=None):
    if is_loopback_host(host):
        return
    address = host if address is None else address
    if not _tripwire or _report_in_tripwire:
        on_refusal(layer, address)
    raise NonLoopbackRefused(layer, address)


def _forward(layer, address):
    if _tripwire:
        raise TripwireHit(layer, address)


def _inet_address(sock, address):
    """The host of an AF_INET/AF_INET6 address, or None for other families
    (AF_UNIX socket pairs, which asyncio uses internally, are not network)."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        return address[0] if isinstance(address, tuple) and address else address
    return None


def _check_socket(layer, sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        _check(layer, _inet_address(sock, address), address)
    _forward(layer, address)


def install():
    """Installs every layer; idempotent. Call before importing aioslsk."""
    global _installed
    if _installed:
        return
    _installed = True

    _real["open_connection"] = asyncio.open_connection
    _real["start_server"] = asyncio.start_server
    base = asyncio.base_events.BaseEventLoop
    _real["create_connection"] = base.create_connection
    _real["create_server"] = base.create_server
    _real["create_datagram_endpoint"] = base.create_datagram_endpoint
    _real["connect"] = socket.socket.connect
    _real["connect_ex"] = socket.socket.connect_ex
    _real["bind"] = socket.socket.bind
    _real["sendto"] = socket.socket.sendto
    _real["sendmsg"] = socket.socket.sendmsg
    _real["getaddrinfo"] = socket.getaddrinfo

    async def open_connection(host=None, port=None, **kwargs):
        _check("asyncio.open_connection", host, (host, port))
        _forward("asyncio.open_connection", (host, port))
        return await _real["open_connection"](host, port, **kwargs)

    async def start_server(client_connected_cb, host=None, port=None, **kwargs):
        _check("asyncio.start_server", host, (host, port))
        _forward("asyncio.start_server", (host, port))
        return await _real["start_server"](client_connected_cb, host, port, **kwargs)

    async def create_connection(self, protocol_factory, host=None, port=None, **kwargs):
        if kwargs.get("sock") is None:
            _check("loop.create_connection", host, (host, port))
        _forward("loop.create_connection", (host, port))
        return await _real["create_connection"](self, protocol_factory, host, port, **kwargs)

    async def create_server(self, protocol_factory, host=None, port=None, **kwargs):
        if kwargs.get("sock") is None:
            hosts = host if isinstance(host, (list, tuple)) else [host]
            for one in hosts:
                _check("loop.create_server", one, (one, port))
        _forward("loop.create_server", (host, port))
        return await _real["create_server"](self, protocol_factory, host, port, **kwargs)

    async def create_datagram_endpoint(self, protocol_factory, local_addr=None, remote_addr=None, **kwargs):
        for address in (local_addr, remote_addr):
            if address is not None:
                _check("loop.create_datagram_endpoint", address[0], address)
        if kwargs.get("sock") is None and local_addr is None and remote_addr is None:
            # An unbound, unconnected datagram socket can send anywhere.
            _check("loop.create_datagram_endpoint", None, "unbound datagram endpoint")
        _forward("loop.create_datagram_endpoint", (local_addr, remote_addr))
        return await _real["create_datagram_endpoint"](
            self, protocol_factory, local_addr=local_addr, remote_addr=remote_addr, **kwargs
        )

    def connect(self, address):
        _check_socket("socket.connect", self, address)
        return _real["connect"](self, address)

    def connect_ex(self, address):
        _check_socket("socket.connect_ex", self, address)
        return _real["connect_ex"](self, address)

    def bind(self, address):
        _check_socket("socket.bind", self, address)
        return _real["bind"](self, address)

    def sendto(self, data, flags_or_address, *address):
        target = address[0] if address else flags_or_address
        _check_socket("socket.sendto", self, target)
        return _real["sendto"](self, data, flags_or_address, *address)

    def sendmsg(self, buffers, ancdata=(), flags=0, address=None):
        if address is None:
            # A connected socket: its connect went through the guard.
            _forward("socket.sendmsg", address)
            return _real["sendmsg"](self, buffers, ancdata, flags)
        _check_socket("socket.sendmsg", self, address)
        return _real["sendmsg"](self, buffers, ancdata, flags, address)

    def getaddrinfo(host, port, *args, **kwargs):
        # None is the passive wildcard: refused too, nothing may bind 0.0.0.0.
        _check("socket.getaddrinfo", host, (host, port))
        _forward("socket.getaddrinfo", (host, port))
        return _real["getaddrinfo"](host, port, *args, **kwargs)

    asyncio.open_connection = open_connection
    asyncio.start_server = start_server
    base.create_connection = create_connection
    base.create_server = create_server
    base.create_datagram_endpoint = create_datagram_endpoint
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.bind = bind
    socket.socket.sendto = sendto
    socket.socket.sendmsg = sendmsg
    socket.getaddrinfo = getaddrinfo


@contextlib.contextmanager
def tripwire(report=False):
    """While active, nothing the guard lets through reaches the network: it
    raises ``TripwireHit`` instead. Refusals are reported to ``on_refusal``
    only with ``report`` (to test how a real one is reported): by default
    they are deliberate."""
    global _tripwire, _report_in_tripwire
    if not _installed:
        raise RuntimeError("the loopback guard is not installed")
    _tripwire, _report_in_tripwire = True, report
    try:
        yield
    finally:
        _tripwire, _report_in_tripwire = False, False
