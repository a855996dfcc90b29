"""Custom domains: add, verify ownership, remove.

Rules, stated once:
- a hostname is normalised: lowercase, no trailing dot, international names in punycode (IDNA 2008);
- apex domains (example.com) and subdomains (www.example.com) are allowed; wildcards (*.example.com)
  are not: add each name;
- names under the platform's own domain, IP addresses and single-label names are refused;
- a hostname belongs to one site across all organizations;
- a domain is routed only once verified, by a DNS TXT record or by a token the edge serves;
- the token the edge serves proves only that the name points at the platform, which another
  organization's wildcard record may do: when any other organization holds a verified name under
  the same registrable domain (by the Public Suffix List), only the DNS TXT record counts;
- a claim not verified within 7 days expires (its token is withdrawn, the name is free again);
- the plan limits how many custom domains a site has.
"""
from __future__ import annotations

import http.client
import ipaddress
import logging
import secrets
import socket

import dns.exception
import dns.resolver
import idna
from django.conf import settings
from django.db.models import Q
from publicsuffixlist import PublicSuffixList
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from proxy import services as proxy
from proxy.validation import InvalidRouteValue, validate_hostname
from sites.models import TXT_PREFIX, VERIFICATION_PATH, Domain, Site

log = logging.getLogger(__name__)

PENDING_FOR = timezone.timedelta(days=7)
MAX_REASON = 500  # why staff verified a domain by hand, as the audit log keeps it

# The list ships inside the package (no download at run time); it is as fresh as the package.
_SUFFIXES = PublicSuffixList()


def registrable_domain(hostname: str) -> str:
    """example.co.uk for www.shop.example.co.uk; a name that is itself a public suffix is its own."""
    return _SUFFIXES.privatesuffix(hostname) or hostname


def http_verification_allowed(domain: Domain) -> bool:
    """False when another organization holds a verified name under the same registrable domain:
    its DNS (a wildcard, a CNAME to the platform) may send this name to the edge, so the token the
    edge serves would prove nothing about who owns it."""
    return domain.hostname not in txt_only_hostnames(domain.site.organization_id, [domain.hostname])


def txt_only_hostnames(organization_id: int, hostnames: list[str]) -> set[str]:
    """Which of an organization's `hostnames` only the DNS TXT record can verify (see
    http_verification_allowed), in one query for a page of them."""
    bases = {hostname: registrable_domain(hostname) for hostname in hostnames}
    if not bases:
        return set()
    under = Q()
    for base in set(bases.values()):
        under |= Q(hostname=base) | Q(hostname__endswith=f".{base}")
    neighbours = list(Domain.objects.filter(under, verified_at__isnull=False, is_default=False)
                      .exclude(site__organization_id=organization_id).values_list("hostname", flat=True))
    return {hostname for hostname, base in bases.items()
            if any(other == base or other.endswith(f".{base}") for other in neighbours)}


def stored_hostname(raw: str) -> str:
    """The form a name is stored in (lowercase, no trailing dot, punycode), for finding a domain
    by the name as the customer typed it (bücher.example) or as DNS spells it (xn--bcher-kva.example).
    A name IDNA cannot encode is returned as typed: it matches no stored name."""
    name = raw.strip().rstrip(".").lower()
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        return name


def normalise_hostname(raw: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError("Give a domain name, like www.example.com.")
    name = raw.strip().rstrip(".").lower()
    if name.startswith("*."):
        raise ValidationError("Wildcard domains are not supported: add each name, like www.example.com.")
    try:
        ipaddress.ip_address(name.strip("[]"))
        raise ValidationError("An IP address is not a domain name.")
    except ValueError:
        pass
    try:
        name = idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValidationError(f"{raw!r} is not a valid domain name ({exc}).") from None
    try:
        validate_hostname(name)
    except InvalidRouteValue:
        raise ValidationError(f"{raw!r} is not a valid domain name: use letters, digits, hyphens and dots.") from None
    platform = settings.PLATFORM_DOMAIN
    if name == platform or name.endswith("." + platform) or name == "localhost" or name.endswith(".localhost"):
        raise ValidationError(f"Names under {platform} and localhost belong to the platform.")
    if name == settings.PORTAL_HOSTNAME:  # may lie outside PLATFORM_DOMAIN
        raise ValidationError(f"{name} is the platform's portal.")
    return name


def add_domain(site: Site, raw_hostname: str) -> Domain:
    hostname = normalise_hostname(raw_hostname)
    token = secrets.token_hex(16)
    try:
        with transaction.atomic():
            locked = Site.objects.select_for_update().get(pk=site.pk)  # count and insert as one
            custom = Domain.objects.filter(site=locked, is_default=False).count()
            if custom >= site.plan.max_custom_domains:
                raise ValidationError(f"Your plan allows {site.plan.max_custom_domains} custom domains per site.")
            domain = Domain.objects.create(site=locked, hostname=hostname, verification_token=token)
            proxy.publish_verification_token(hostname, token)
    except IntegrityError:
        # The same answer whoever has it: nothing about another organization leaks.
        raise ValidationError(f"{hostname} is already in use on this platform.") from None
    audit.record(site.organization, "domain.add", hostname, site=site.name)
    return domain


def verify_domain(domain: Domain) -> Domain:
    """Check the DNS TXT record, then the HTTP token; once one matches, the domain is routed."""
    if domain.verified_at:
        return domain
    if not http_verification_allowed(domain):
        if not _txt_matches(domain):
            raise ValidationError(
                f"{domain.hostname} is not verified yet: names under {registrable_domain(domain.hostname)} are verified "
                f"by the DNS TXT record only, and {TXT_PREFIX}.{domain.hostname} does not show the token."
            )
    elif not (_txt_matches(domain) or _http_matches(domain)):
        raise ValidationError(
            f"{domain.hostname} is not verified yet: neither the TXT record {TXT_PREFIX}.{domain.hostname} nor "
            f"http://{domain.hostname}{VERIFICATION_PATH} shows the token."
        )
    _route_verified(domain)
    audit.record(domain.site.organization, "domain.verify", domain.hostname, site=domain.site.name)
    return domain


def verify_domain_by_hand(domain: Domain, reason: str, by) -> Domain:
    """Staff vouch for a custom domain that the checks cannot see (a registrar's odd DNS, a name
    moved by phone): it is routed as a verified one is, and the audit log keeps who and why."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the domain is verified by hand: the customer's audit log shows it.")
    if len(reason) > MAX_REASON:
        raise ValidationError(f"Say it in {MAX_REASON} characters or fewer (this was {len(reason)}).")
    if domain.is_default:
        raise ValidationError("A site's default domain is the platform's and always verified.")
    row = Domain.objects.filter(pk=domain.pk).values("verified_at").first()  # as it is now, not as the form saw it
    if row is None:
        raise ValidationError(f"{domain.hostname} is no longer claimed: its claim expired or was removed.")
    if row["verified_at"]:
        raise ValidationError(f"{domain.hostname} is verified already.")
    _route_verified(domain)
    audit.record(domain.site.organization, "staff.domain.verify_by_hand", domain.hostname, site=domain.site.name,
                 by=by, reason=reason)
    return domain


def _route_verified(domain: Domain) -> None:
    """Mark `domain` verified and route it: its token withdrawn, the site's routes with it, a
    certificate asked for."""
    with transaction.atomic():
        Domain.objects.filter(pk=domain.pk).update(verified_at=timezone.now())
        domain.refresh_from_db()
        proxy.withdraw_verification_token(domain.hostname)
        refresh_routes(domain.site)
    proxy.request_certificate(domain.hostname, domain.site.route_group)


def remove_domain(domain: Domain) -> None:
    if domain.is_default:
        raise ValidationError("The default domain cannot be removed.")
    site = domain.site
    with transaction.atomic():
        domain.delete()
        proxy.withdraw_verification_token(domain.hostname)
        refresh_routes(site)
        proxy.remove_certificate(domain.hostname)
        audit.record(site.organization, "domain.remove", domain.hostname, site=site.name)


def expire_pending_domains(now=None) -> int:
    """Claims not verified within 7 days are removed and their tokens withdrawn from the edge, so
    an abandoned claim neither blocks the name's owner nor keeps a token served for ever."""
    cutoff = (now or timezone.now()) - PENDING_FOR
    expired = 0
    for domain in Domain.objects.filter(verified_at__isnull=True, is_default=False, created_at__lt=cutoff):
        with transaction.atomic():
            if Domain.objects.filter(pk=domain.pk, verified_at__isnull=True).delete()[0]:
                proxy.withdraw_verification_token(domain.hostname)
                expired += 1
                log.info("pending domain %s expired", domain.hostname, extra={"site": domain.site_id})
    return expired


def refresh_routes(site: Site) -> None:
    """Make the site's routes match its verified domains, keeping what they point at."""
    current = proxy.route_of(site.route_group)
    if current is None:
        return  # nothing routed yet: the first deployment routes every verified domain
    proxy.set_routes(site.route_group, site.routed_hostnames(), current.upstreams, current.status)


def _txt_matches(domain: Domain) -> bool:
    expected = f"hosting-verify={domain.verification_token}"
    resolver = dns.resolver.Resolver()
    if settings.DOMAIN_VERIFICATION_NAMESERVER:  # host:port of a DNS server to ask instead (tests)
        host, _, port = settings.DOMAIN_VERIFICATION_NAMESERVER.rpartition(":")
        resolver.nameservers, resolver.port = [host], int(port)
    try:
        answer = resolver.resolve(f"{TXT_PREFIX}.{domain.hostname}", "TXT", lifetime=5)
    except (dns.exception.DNSException, OSError):
        return False
    return any(b"".join(record.strings).decode(errors="replace") == expected for record in answer)


def _http_matches(domain: Domain) -> bool:
    """GET the token from the domain itself (DOMAIN_VERIFICATION_ADDRESS overrides where, for tests)."""
    override = settings.DOMAIN_VERIFICATION_ADDRESS
    if override:
        host, _, port = override.rpartition(":")
        address, port = host, int(port)
    else:
        try:
            address, port = socket.gethostbyname(domain.hostname), 80
        except OSError:
            return False
        if not ipaddress.ip_address(address).is_global:
            return False  # never probe the platform's own network on a customer's say-so
    connection = http.client.HTTPConnection(address, port, timeout=5)
    try:
        connection.request("GET", VERIFICATION_PATH, headers={"Host": domain.hostname})
        response = connection.getresponse()
        return response.status == 200 and response.read(200).decode(errors="replace").strip() == domain.verification_token
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
