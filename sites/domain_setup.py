"""What the domains page shows of each domain: its certificate, and the DNS records the customer
creates at their DNS provider until it is verified. Read-only; sites.domains changes domains."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from django.conf import settings

from proxy import services as proxy
from sites.domains import registrable_domain, txt_only_hostnames
from sites.models import Domain, Site


@dataclass
class DnsRecord:
    type: str       # CNAME, A, AAAA, ALIAS, TXT
    name: str       # the full name the record is created at
    value: str      # what it points at or holds; empty when the platform cannot say (see `note`)
    purpose: str    # why it is needed, in a few words
    note: str = ""


@dataclass
class DomainState:
    domain: Domain
    certificate: dict | None
    records: list[DnsRecord] = field(default_factory=list)
    txt_only: bool = False  # the HTTP token does not count for this name (see sites.domains)
    tls_issued_here: bool = True  # False: the platform issues no certificates (ACME is not set up)


def is_apex(hostname: str) -> bool:
    """example.com or example.co.uk: a CNAME is not allowed there by DNS, so it needs an A record."""
    return registrable_domain(hostname) == hostname


def edge_addresses() -> list[str]:
    """The edge's public addresses (EDGE_PUBLIC_ADDRESS, comma-separated; checked when settings load)."""
    return [part.strip() for part in settings.EDGE_PUBLIC_ADDRESS.split(",") if part.strip()]


def routing_records(domain: Domain) -> list[DnsRecord]:
    """The records that send the name's visitors to the platform's edge: a CNAME to the site's
    default domain, or for an apex name an A (and AAAA) record per edge address, else an ALIAS."""
    target = domain.site.default_hostname
    if not is_apex(domain.hostname):
        return [DnsRecord("CNAME", domain.hostname, target, "Sends visitors to your site")]
    addresses = edge_addresses()
    if addresses:
        return [DnsRecord("AAAA" if ipaddress.ip_address(address).version == 6 else "A", domain.hostname, address,
                          "Sends visitors to your site (an apex name cannot be a CNAME)") for address in addresses]
    return [DnsRecord("ALIAS", domain.hostname, target, "Sends visitors to your site (an apex name cannot be a CNAME)",
                      note=f"If your DNS provider has no ALIAS or ANAME records, create an A record with the "
                           f"address {target} resolves to.")]


def verification(domain: Domain) -> dict[str, str] | None:
    """How the customer proves they own the domain (Domain.verification), with a note that names
    the exact record pointing the name at the platform; None once it is verified."""
    proof = domain.verification
    if proof is None:
        return None
    records = routing_records(domain)
    named = " and ".join(f"{r.type} record {r.name} -> {r.value}" for r in records)
    extra = f" ({records[0].note})" if records[0].note else ""
    return {**proof, "note": f"Point {domain.hostname} at the platform: create the {named}{extra}. Then verify "
                             f"with either the DNS TXT record or the HTTP address."}


def verification_records(domain: Domain) -> list[DnsRecord]:
    proof = domain.verification
    if proof is None:
        return []
    return [DnsRecord("TXT", proof["dns_txt_name"], proof["dns_txt_value"], "Proves the domain is yours")]


def domain_states(site: Site) -> list[DomainState]:
    """The site's domains, default first, with certificates and pending records, in a fixed number of queries."""
    domains = list(site.domains.order_by("-is_default", "hostname"))
    certificates = proxy.certificate_summaries([d.hostname for d in domains])
    pending = [d.hostname for d in domains if not d.verified]
    txt_only = txt_only_hostnames(site.organization_id, pending)
    tls_issued_here = proxy.tls_enabled()
    return [
        DomainState(domain, certificates.get(domain.hostname),
                    [] if domain.verified else [*routing_records(domain), *verification_records(domain)],
                    domain.hostname in txt_only, tls_issued_here)
        for domain in domains
    ]
