"""Custom domains: add (with the exact DNS records to create), verify, remove."""
from __future__ import annotations

from urllib.parse import quote, urlsplit

from hosting_cli import output
from hosting_cli.errors import USAGE, CliError


def _records(domain: dict, site: dict) -> list[dict]:
    """What to create at the DNS provider, as the platform asks for it."""
    check = domain.get("verification")
    if not check:
        return []
    target = urlsplit(site["url"]).hostname
    return [
        {"type": "CNAME", "name": domain["hostname"], "value": target,
         "why": "routes the name to the platform (an apex domain takes an A record to the platform's address instead)"},
        {"type": "TXT", "name": check["dns_txt_name"], "value": check["dns_txt_value"],
         "why": "proves the domain is yours"},
    ]


def _show_added(domain: dict, site: dict) -> None:
    print(f"Added {domain['hostname']} to {site['name']}. Create these DNS records:")
    output.table(_records(domain, site), [("type", "type"), ("name", "name"), ("value", "value"), ("why", "why")])
    check = domain["verification"]
    print(f"(or, instead of the TXT record, serve {check['http_body']} at {check['http_url']})")
    print(f"Then: hosting domains verify {domain['hostname']}")


def domains(ctx) -> None:
    action, hostname = ctx.args.action, ctx.args.hostname
    if action != "list" and not hostname:
        raise CliError(f"`hosting domains {action} HOSTNAME`.", USAGE)
    if action == "list":
        output.show(ctx.args, ctx.api.get(ctx.site_path("domains/")), lambda rows: output.table(
            [{**r, "certificate": (r.get("certificate") or {}).get("state")} for r in rows],
            [("hostname", "domain"), ("is_default", "default"), ("verified", "verified"),
             ("certificate", "certificate"), ("created_at", "added")]))
    elif action == "add":
        domain = ctx.api.post(ctx.site_path("domains/"), {"hostname": hostname})
        site = ctx.api.get(ctx.site_path())
        answer = {**domain, "dns_records": _records(domain, site)}
        output.show(ctx.args, answer, lambda d: _show_added(domain, site))
    elif action == "verify":
        domain = ctx.api.post(ctx.site_path(f"domains/{quote(hostname, safe='')}/verify/"))
        output.show(ctx.args, domain, lambda d: print(f"{d['hostname']} is verified: it is routed to the site, "
                                                      "and its certificate is on its way."))
    else:
        ctx.api.delete(ctx.site_path(f"domains/{quote(hostname, safe='')}/"))
        output.show(ctx.args, {"removed": hostname}, lambda _: print(f"Removed {hostname}."))


def register(commands, common, on_site) -> None:
    p = commands.add_parser("domains", parents=[common, on_site], help="custom domains: list, add, verify, remove")
    p.add_argument("action", nargs="?", choices=["list", "add", "verify", "remove"], default="list")
    p.add_argument("hostname", nargs="?")
    p.set_defaults(func=domains)
