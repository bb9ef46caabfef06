"""Where "test connection" may connect.

A connection's settings are written by workspace editors, and a test makes the server connect
where they point: without a limit, a test reaches what only the server can reach, such as the
cloud's instance-metadata service (the machine role's credentials), other link-local services and
Sadeem's own API on loopback. So every address a check connects to is judged against
`connection_test_denied_networks` / `connection_test_allowed_networks` and Sadeem's own port.

Addresses are judged after DNS resolution, every address a name resolves to, and inside the very
`getaddrinfo` call whose answer the client library then connects to: a name that resolves to a
harmless address when vetted and to a refused one when connected to (DNS rebinding) gains nothing,
and neither does a redirect or a token endpoint on another host.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any

from sadeem.config import Settings
from sadeem.core.errors import PermissionDenied

Network = IPv4Network | IPv6Network


class DestinationRefused(PermissionDenied):
    """A check would connect to an address the egress policy refuses."""

    code = "destination-refused"


class _Refused(OSError):
    # An OSError, so a client library handles it as the failed connection it stands for.
    pass


def _is_this_host(address: IPv4Address | IPv6Address) -> bool:
    """Whether connecting to `address` reaches this machine. Only an address of one of its own
    interfaces can be bound, which needs no list of the interfaces."""
    if address.is_loopback or address.is_unspecified:
        return True
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(address), 0))
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class EgressPolicy:
    denied_networks: tuple[Network, ...]
    allowed_networks: tuple[Network, ...]
    own_ports: frozenset[int]

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        return cls(
            denied_networks=tuple(settings.connection_test_denied_networks),
            allowed_networks=tuple(settings.connection_test_allowed_networks),
            own_ports=frozenset({settings.port}),
        )

    def refusal(self, address: str, port: int) -> str | None:
        """Why a check may not connect to `address`:`port`, or None when it may."""
        ip = ip_address(address.partition("%")[0])  # without an IPv6 zone ("fe80::1%eth0")
        if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
        if any(ip in network for network in self.allowed_networks):
            return None
        if denied := next((network for network in self.denied_networks if ip in network), None):
            return f"{ip} is in the denied network {denied} (SADEEM_CONNECTION_TEST_DENIED_NETWORKS)"
        if port in self.own_ports and _is_this_host(ip):
            # A test is not a way to probe the control plane from its own host.
            return f"port {port} of {ip} is Sadeem's own (SADEEM_PORT)"
        return None


class Guard:
    """Vets every name resolution of the thread it is active in (see `active`); remembers the
    first refusal, whatever a client library makes of the exception."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy
        self.refusal: str | None = None

    def vet(self, host: Any, answers: Iterable[tuple[Any, ...]]) -> None:
        for *_, sockaddr in answers:
            if not isinstance(sockaddr[0], str):  # not an IP socket address
                continue
            reason = self.policy.refusal(sockaddr[0], int(sockaddr[1]))
            if reason is not None:
                self.refusal = self.refusal or f"A connection test may not connect to {host}: {reason}."
                raise _Refused(self.refusal)

    def vet_destinations(self, destinations: Iterable[tuple[str, int]]) -> None:
        """Resolve and vet where a check connects first, before any client library runs: psycopg,
        for one, hands a host that is an IP address to libpq without a `getaddrinfo` call."""
        for host, port in destinations:
            try:
                socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except socket.gaierror:
                continue  # unresolvable: the client library reports that in its own words

    @contextmanager
    def active(self) -> Iterator[None]:
        _install()
        _local.guard = self
        try:
            yield
        finally:
            _local.guard = None


_local = threading.local()
_system_getaddrinfo = socket.getaddrinfo
_install_lock = threading.Lock()


def _guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    answers = _system_getaddrinfo(host, port, *args, **kwargs)
    guard: Guard | None = getattr(_local, "guard", None)
    if guard is not None:
        guard.vet(host, answers)
    return answers


def _install() -> None:
    """Route `socket.getaddrinfo` through the guard. Every client library a check uses (httpx,
    urllib3 under boto3 and requests, psycopg) resolves through it, so the answer vetted is the one
    connected to; threads without an active guard get the system's answer unchanged."""
    with _install_lock:
        if socket.getaddrinfo is not _guarded_getaddrinfo:
            socket.getaddrinfo = _guarded_getaddrinfo
