"""Where a STAC Item may point: its provenance decides which asset hrefs are allowed (standard library only).

An Item the user gave (a local file, or inline in their own scene list) may name local files. An Item
fetched from a URL or returned by a STAC API search may name only https:// and s3:// assets, on hosts that
are not this machine, its network or a cloud metadata endpoint, unless the allow list names them.
Relative hrefs resolve against the Item's own location and must stay below it. docs/OPERATIONS.md's
threat model lists what this guarantees and what it does not (DNS rebinding, redirects GDAL follows).
"""

from __future__ import annotations

import functools
import ipaddress
import posixpath
import re
import socket
import urllib.parse
from collections.abc import Callable, Iterable, Sequence

from scoresby.core.checks import show
from scoresby.core.config import OPTIONAL_VARS, allow_hosts_from_env

ALLOW_HOSTS_ENV = OPTIONAL_VARS["allow_hosts"]
REMOTE_SCHEMES = ("https", "s3")
LOCAL_SCHEMES = ("https", "s3", "file")
REMOTE_ALLOWED = "https:// or s3:// assets on a public host"
# A plain host name, an IPv4 literal in any form the C library accepts, or a bracketed IPv6 literal, with an
# optional port. Anything else (user info, backslashes, percent escapes) is refused: URL parsers disagree
# about such authorities, and the one GDAL uses must reach the host checked here.
_AUTHORITY = re.compile(
    r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_S3_ENDPOINT = re.compile(r"(?:[a-z0-9][a-z0-9.-]*\.)?s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

Resolver = Callable[[str], Sequence[str]]


class HrefRefused(ValueError):
    """An href an Item of its provenance may not name; the message is the one-line reason."""


def allow_list(extra: Iterable[str] = (), environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """The allowed private hosts: `extra` (a search's allow_hosts) plus SCORESBY_ALLOW_HOSTS."""
    return tuple(dict.fromkeys([*extra, *allow_hosts_from_env(environ)]))


def allow_entry_problem(entry: object) -> str | None:
    """Why `entry` cannot be in an allow list (a host name, an IP or a CIDR network), or None."""
    if isinstance(entry, str) and entry:
        try:
            ipaddress.ip_network(entry.strip("[]"), strict=False)
            return None
        except ValueError:
            if _AUTHORITY.fullmatch(entry) and ":" not in entry:
                return None
    return "allowed: a host name, an IP address or a CIDR network such as 10.0.0.0/8"


def resolve_host(host: str) -> tuple[str, ...]:
    """The addresses `host` resolves to now; () when it does not resolve (then nothing can be read there)."""
    return _resolve_cached(host)


@functools.lru_cache(maxsize=256)
def _resolve_cached(host: str) -> tuple[str, ...]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ()
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


def check_href(
    href: object,
    location: str | None,
    *,
    remote: bool,
    allow_hosts: Sequence[str] = (),
    resolve: Resolver = resolve_host,
) -> str:
    """The absolute href (a URL, or a user's Item's local path); HrefRefused says why it is not allowed."""
    if not isinstance(href, str) or not href.strip():
        raise HrefRefused(f"href {show(href)} is not a URL or path")
    if href.startswith("/vsi"):
        raise HrefRefused(f"href {show(href)} is a GDAL path; allowed: s3://, https:// or a file")
    url_like = remote or _SCHEME.match(href) is not None  # a user's own file path may hold spaces
    if url_like and any(ord(c) < 0x21 or c in '\\"<>^`{|}' for c in href):
        raise HrefRefused(f"href {show(href)} has characters no asset URL has (spaces, controls, quotes)")
    if remote and href.startswith("/") and not href.startswith("//"):
        raise HrefRefused(
            f"href {show(href)} is a local file; an Item from a catalogue may name only {REMOTE_ALLOWED}"
        )
    absolute = href if _SCHEME.match(href) or (not remote and href.startswith("/")) else None
    if absolute is None:
        absolute = _resolve_relative(href, location)
    scheme_match = _SCHEME.match(absolute)
    scheme = scheme_match.group(1).lower() if scheme_match else ""
    if remote and scheme not in REMOTE_SCHEMES:
        what = "a local file" if scheme in ("", "file") else f"scheme {scheme!r}"
        raise HrefRefused(
            f"href {show(href)} is {what}; an Item from a catalogue may name only {REMOTE_ALLOWED}"
        )
    if scheme and scheme not in LOCAL_SCHEMES:
        raise HrefRefused(f"href {show(href)} has scheme {scheme!r}; allowed: s3://, https:// or a file")
    if scheme in ("https", "s3"):
        _check_authority(href, absolute, scheme, remote, allow_hosts, resolve)
    return absolute


def _resolve_relative(href: str, location: str | None) -> str:
    """`href` against the Item's location, refused when it climbs out of the location's folder."""
    if location is None:
        raise HrefRefused(f"href {show(href)} is relative but the Item has no location (no self link)")
    if href.startswith("//"):
        raise HrefRefused(f"href {show(href)} names another host; a relative href stays below its Item")
    if _SCHEME.match(location):
        parts = urllib.parse.urlsplit(location)
        folder = posixpath.dirname(urllib.parse.unquote(parts.path)) + "/"
        # urljoin resolves only schemes it knows (not s3://): join as https, then give the scheme back.
        base = "https" + location[len(parts.scheme) :]
        joined = parts.scheme + urllib.parse.urljoin(base, href)[len("https") :]
        target = urllib.parse.urlsplit(joined)
        # Percent-escaped dots are dots to the server that answers: judge the decoded path.
        path = posixpath.normpath(urllib.parse.unquote(target.path))
        if (target.scheme, target.netloc) != (parts.scheme, parts.netloc) or not path.startswith(folder):
            raise HrefRefused(f"href {show(href)} climbs out of its Item's folder {show(folder)}")
        return joined
    folder = posixpath.dirname(posixpath.normpath(location))
    path = posixpath.normpath(posixpath.join(folder, href))
    if not path.startswith(folder.rstrip("/") + "/"):
        raise HrefRefused(f"href {show(href)} climbs out of its Item's folder {show(folder)}")
    return path


def _check_authority(
    href: str, url: str, scheme: str, remote: bool, allow_hosts: Sequence[str], resolve: Resolver
) -> None:
    """The host (https) or bucket (s3) of `url`: well-formed, and for a remote Item not a private host."""
    netloc = urllib.parse.urlsplit(url).netloc
    if scheme == "s3":
        key = urllib.parse.urlsplit(url).path
        if not _BUCKET.fullmatch(netloc) or ".." in key.split("/"):
            raise HrefRefused(f"href {show(href)} is not s3://bucket/key; allowed: a bucket and a key")
        return
    if not _AUTHORITY.fullmatch(netloc):
        raise HrefRefused(
            f"href {show(href)} has no plain host (user info or escapes); allowed: https://host/"
        )
    if remote:
        host = (urllib.parse.urlsplit(url).hostname or "").rstrip(".").lower()
        reason = host_problem(host, allow_hosts, resolve)
        if reason is not None:
            raise HrefRefused(
                f"href {show(href)}: host {host} is {reason}; an Item from a catalogue may not name it "
                f"unless the allow list names it (allow_hosts, --allow-host or {ALLOW_HOSTS_ENV})"
            )


def host_problem(host: str, allow_hosts: Sequence[str] = (), resolve: Resolver = resolve_host) -> str | None:
    """Why a catalogue's Item may not name `host` (loopback, private, link-local, ...), or None."""
    if _allowed(host, None, allow_hosts):
        return None
    literal = _ip_literal(host)
    if literal is not None:
        kind = _private_kind(literal)
        return None if kind is None or _allowed(host, literal, allow_hosts) else f"a {kind} address"
    if host == "localhost" or host.endswith(".localhost"):
        return "this machine (loopback)"
    if _S3_ENDPOINT.fullmatch(host):
        return None  # S3 by name: in a VPC with an S3 interface endpoint it resolves to private addresses
    for address in resolve(host):
        ip = _ip_literal(address)
        kind = None if ip is None else _private_kind(ip)
        if ip is not None and kind is not None and not _allowed(host, ip, allow_hosts):
            return f"a name for {ip}, a {kind} address"
    return None


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`host` as an IP when it is one in any spelling a client accepts (2852039166, 0xa9.0376.0xa9fe, ::1)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fA-FxX.]+", host) and re.match(r"^(0[xX])?[0-9]", host):
        try:  # inet_aton reads the legacy forms (octal, hex, fewer than four parts) as curl and GDAL do
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _private_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What kind of non-public address `ip` is, or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local or ip in ipaddress.ip_network("fd00:ec2::/32"):
        return "link-local (cloud metadata)"
    if ip.is_unspecified:
        return "null (0.0.0.0, this machine)"
    if ip.is_multicast:
        return "multicast"
    if not ip.is_global:
        return "private"
    return None


def _allowed(
    host: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None, allow_hosts: Sequence[str]
) -> bool:
    for entry in allow_hosts:
        entry = entry.strip().rstrip(".").lower()
        if entry == host:
            return True
        if ip is not None:
            try:
                if ip in ipaddress.ip_network(entry.strip("[]"), strict=False):
                    return True
            except ValueError:
                continue
    return False
