"""A tiny authoritative DNS server on loopback that answers from a dict.

The tests point DNS_NAMESERVERS at it to publish and remove records, and
`manage.py deliverability_demo_domain` uses it to verify the demo domain
through the real check. It needs dnslib, a development dependency
(requirements-dev.txt), so production code never imports this module.

dnslib's server on a free UDP port: `zone.publish("TXT", name, value)`,
`zone.remove(...)`, `zone.clear()`; a name with no records answers
NXDOMAIN, a name with records of another type answers with no records.
`zone.silent = True` makes it drop queries (the lookup times out).
"""

import socket
import threading

from dnslib import CNAME, QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSServer


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _txt_strings(value: str) -> list[str]:
    # One TXT string holds at most 255 bytes; a long DKIM key is split, as
    # DNS providers do, and readers join the strings back.
    return [value[i : i + 255] for i in range(0, len(value), 255)] or [""]


class Zone(BaseResolver):
    def __init__(self):
        self.records: dict[tuple[str, str], list[str]] = {}
        self.silent = False
        self.queries: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    @staticmethod
    def _key(rtype: str, name: str) -> tuple[str, str]:
        return rtype.upper(), name.lower().rstrip(".")

    def publish(self, rtype: str, name: str, value: str) -> None:
        with self._lock:
            self.records.setdefault(self._key(rtype, name), []).append(value)

    def replace(self, rtype: str, name: str, value: str) -> None:
        with self._lock:
            self.records[self._key(rtype, name)] = [value]

    def remove(self, rtype: str, name: str) -> None:
        with self._lock:
            self.records.pop(self._key(rtype, name), None)

    def clear(self) -> None:
        with self._lock:
            self.records.clear()

    def publish_all(self, records) -> None:
        """Publish `SendingDomain.dns_records()` as they are listed."""
        for rtype, name, value in records:
            self.replace(rtype, name, value)

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname)
        qtype = QTYPE[request.q.qtype]
        self.queries.append((qtype, qname.rstrip(".").lower()))
        if self.silent:
            return None  # dnslib sends nothing: the client times out
        with self._lock:
            known = {name for (_, name) in self.records}
            values = list(self.records.get(self._key(qtype, qname), []))
        if not values and qname.rstrip(".").lower() not in known:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for value in values:
            if qtype == "TXT":
                rdata = TXT(_txt_strings(value))
            elif qtype == "CNAME":
                rdata = CNAME(value)
            else:
                continue
            reply.add_answer(RR(qname, QTYPE.reverse[qtype], rdata=rdata, ttl=60))
        return reply


class _QuietLogger:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class LocalDNSServer:
    """Start with `with LocalDNSServer() as server:`; `server.zone` holds the
    records and `server.address` is "127.0.0.1:<port>" for DNS_NAMESERVERS."""

    def __init__(self):
        self.zone = Zone()
        self.port = _free_udp_port()
        self.server = DNSServer(
            self.zone, address="127.0.0.1", port=self.port, logger=_QuietLogger()
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self):
        self.server.start_thread()
        return self

    def __exit__(self, *exc):
        self.server.stop()
        self.server.server.server_close()
