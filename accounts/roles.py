"""The role matrix: what each role of an organization may do to its sites and team, in one table.

Every API view, portal view and git over HTTP asks `accounts.services.authorize` with one of these actions;
nothing else decides who may do what. The README's role table is this one, written out.
"""
from __future__ import annotations

from enum import Enum

from accounts.models import Role


class Action(str, Enum):
    READ = "read"                    # a site, its deployments, releases, env names, domains, traffic; git fetch
    READ_LOGS = "read_logs"          # the running container's output
    CREATE_SITE = "create_site"
    DELETE_SITE = "delete_site"      # purges its volume, repository and slugs
    DEPLOY = "deploy"                # git push, archive upload
    CONFIGURE = "configure"          # env set/unset, writable_paths
    OPERATE = "operate"              # restart, stop, start, rollback
    MANAGE_DOMAINS = "manage_domains"  # add, remove, verify custom domains
    MANAGE_HTTPS = "manage_https"    # force_https, hsts (HSTS pins browsers for months)
    REVEAL_ENV = "reveal_env"        # read an env var's value (the portal masks them until asked)
    MANAGE_TEAM = "manage_team"      # invite, change roles, remove members (only owners touch owners)
    READ_AUDIT = "read_audit"        # the organization's audit log
    MANAGE_BACKUPS = "manage_backups"  # take, download and restore backups of a site's /data


_ALL = frozenset(Role)
_MANAGERS = frozenset({Role.OWNER, Role.ADMIN})
_DEPLOYERS = frozenset({Role.OWNER, Role.ADMIN, Role.DEVELOPER})

# Owner and admin manage, developer deploys, viewer reads.
MATRIX: dict[Action, frozenset[Role]] = {
    Action.READ: _ALL,
    Action.READ_LOGS: _ALL,
    Action.CREATE_SITE: _MANAGERS,
    Action.DELETE_SITE: _MANAGERS,
    Action.DEPLOY: _DEPLOYERS,
    Action.CONFIGURE: _DEPLOYERS,
    Action.OPERATE: _DEPLOYERS,
    Action.MANAGE_DOMAINS: _MANAGERS,
    Action.MANAGE_HTTPS: _MANAGERS,
    Action.REVEAL_ENV: _DEPLOYERS,
    Action.MANAGE_TEAM: _MANAGERS,
    Action.READ_AUDIT: _MANAGERS,
    Action.MANAGE_BACKUPS: _MANAGERS,
}

# Actions that change what a site is or serves: refused while the organization is suspended.
READ_ONLY = frozenset({Action.READ, Action.READ_LOGS, Action.REVEAL_ENV, Action.READ_AUDIT})


def role_may(role: str, action: Action) -> bool:
    return role in MATRIX[action]


def changes_state(action: Action) -> bool:
    return action not in READ_ONLY
