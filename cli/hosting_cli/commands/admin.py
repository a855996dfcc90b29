"""`hosting admin`: what the hosting company's staff need a terminal for (suspend, set a plan,
drain a host), over the staff API; staff with two-factor and the admin's permission only."""
from __future__ import annotations

from urllib.parse import quote

from hosting_cli import output
from hosting_cli.errors import USAGE, CliError

# action: (how many names it takes, its usage)
NEEDS = {"suspend": (1, "ORG --reason TEXT"), "unsuspend": (1, "ORG"), "plan": (2, "ORG PLAN"),
         "hosts": (0, ""), "drain": (1, "HOST [--reason TEXT]"), "undrain": (1, "HOST")}


def _org_line(org: dict) -> None:
    state = f"suspended ({org['suspended_reason']})" if org["suspended"] else "active"
    print(f"{org['slug']}: {state}, plan {org['plan']}.")


def _drained(report: dict) -> None:
    print(f"Draining {report['host']}: {len(report['moving'])} site(s) moving, {len(report['left'])} left.")
    for site, host in report["moving"].items():
        print(f"  {site} -> {host}")
    for site, why in report["left"].items():
        print(f"  {site} stays: {why}")


def admin(ctx) -> None:
    action, args = ctx.args.action, ctx.args.items
    count, usage = NEEDS[action]
    if len(args) != count:
        raise CliError(f"Usage: `{f'hosting admin {action} {usage}'.strip()}`.", USAGE)
    api, quoted = ctx.api, [quote(a, safe="") for a in args]
    if action == "hosts":
        output.show(ctx.args, api.get("admin/hosts/"), lambda rows: output.table(
            rows, [("name", "host"), ("service_address", "address"), ("cpus", "cpus"), ("memory_mb", "memory mb"),
                   ("last_heartbeat", "heartbeat"), ("down_since", "down since"), ("cordoned_at", "cordoned"),
                   ("draining_since", "draining")]))
    elif action == "suspend":
        if not ctx.args.reason:
            raise CliError("Give a reason (--reason): the organization's members read it when they are refused.", USAGE)
        output.show(ctx.args, api.post(f"admin/orgs/{quoted[0]}/suspend/", {"reason": ctx.args.reason}), _org_line)
    elif action == "unsuspend":
        output.show(ctx.args, api.post(f"admin/orgs/{quoted[0]}/unsuspend/"), _org_line)
    elif action == "plan":
        output.show(ctx.args, api.post(f"admin/orgs/{quoted[0]}/plan/", {"plan": args[1]}), _org_line)
    elif action == "drain":
        output.show(ctx.args, api.post(f"admin/hosts/{quoted[0]}/drain/", {"reason": ctx.args.reason or ""}), _drained)
    else:
        output.show(ctx.args, api.post(f"admin/hosts/{quoted[0]}/undrain/"), lambda r: print(
            f"{r['host']} takes work again." if r["undrained"] else f"{r['host']} was not drained."))


def register(commands, common, on_site) -> None:
    p = commands.add_parser("admin", parents=[common], help="staff: suspend, unsuspend, plan, hosts, drain, undrain",
                            description="For the hosting company's staff (two-factor on, and the staff "
                            "permission of each action): " + "; ".join(f"admin {a} {u}".strip() for a, (_, u) in NEEDS.items()))
    p.add_argument("action", choices=list(NEEDS))
    p.add_argument("items", nargs="*", metavar="ORG|HOST|PLAN")
    p.add_argument("--reason", help="suspend: shown to the organization's members; drain: kept on the host")
    p.set_defaults(func=admin)
