"""Site services: what customers and staff do to sites, behind every view, command and API call."""
from __future__ import annotations

import logging
import shutil

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import Organization
from accounts.roles import Action
from accounts.services import ensure_active, mark_suspended
from core.errors import HostingError
from core.queue import ensure_queue_reachable
from hosting.runtimes import CATALOG
from proxy import services as proxy
from sites import archive_format, formation, git, processes, slugs
from sites.config_crypto import decrypt, decrypt_config, encrypt
from sites.models import Deployment, Domain, EnvVar, Release, Site
from sites.pipeline import deletion, machine
from sites.pipeline.tasks import SENDER
from sites.validation import validate_env_key, validate_env_value, validate_site_name, validate_writable_paths

log = logging.getLogger(__name__)

# Names are the platform's hostnames, unique across organizations: say it is taken, never by whom.
NAME_TAKEN = "This name is taken; choose another."


# --- sites ---------------------------------------------------------------------------------------


def create_site(organization: Organization, name: str, runtime: str = "auto", writable_paths: list | None = None) -> Site:
    """Create a site with its default domain and its git repository."""
    validate_site_name(name)
    if runtime != "auto" and runtime not in CATALOG:
        raise ValidationError(f"{runtime!r} is not a runtime; choose auto or one of {', '.join(sorted(CATALOG))}.")
    paths = validate_writable_paths(writable_paths or [])
    with transaction.atomic():
        # Lock the organization so two creations cannot both pass the plan's limit.
        org = Organization.objects.select_for_update().get(pk=organization.pk)
        ensure_active(org)
        if Site.objects.filter(organization=org).count() >= org.plan.max_sites:
            raise ValidationError(f"Your plan allows {org.plan.max_sites} sites; delete one or change plans.")
        if Site.objects.filter(name=name).exists():
            raise ValidationError(NAME_TAKEN)
        site = Site.objects.create(name=name, organization=org, runtime=runtime, plan=org.plan, writable_paths=paths)
        Domain.objects.create(site=site, hostname=site.default_hostname, is_default=True, verified_at=timezone.now())
    git.Repository.of(site).create()
    audit.record(org, "site.create", site.name, site=site.name, runtime=runtime)
    log.info("site created", extra={"site": site.name})
    return site


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a new site's name (invalid, reserved, or taken by any organization:
    names are the platform's hostnames), or None if it can. Says nothing of whose it is."""
    try:
        validate_site_name(name)
    except ValidationError as exc:
        return exc.messages[0]
    return NAME_TAKEN if Site.objects.filter(name=name).exists() else None


def sites_used(organization: Organization) -> tuple[int, int]:
    """(sites the organization has, sites its plan allows)."""
    return Site.objects.filter(organization=organization).count(), organization.plan.max_sites


def _audit(site: Site, action: str, target: str = "", by=None, **detail) -> None:
    audit.record(site.organization, action, target or site.name, site=site.name, by=by, **detail)


def actions_to_update(fields: dict) -> list[Action]:
    """What a site update asks of the role matrix, field by field: writable paths are the app's
    config; HTTPS and HSTS are the domain's promise to browsers (HSTS is hard to take back)."""
    actions = [Action.MANAGE_HTTPS] if {"force_https", "hsts"} & fields.keys() else []
    if "writable_paths" in fields or not actions:
        actions.append(Action.CONFIGURE)
    return actions


def update_site(site: Site, writable_paths: list | None = None, force_https: bool | None = None,
                hsts: bool | None = None) -> Site:
    """Change a site's settings; HTTPS options reach the edge at once, writable paths at the next release."""
    with transaction.atomic():
        if writable_paths is not None:
            site.writable_paths = validate_writable_paths(writable_paths)
        if force_https is not None:
            site.force_https = force_https
        if hsts is not None:
            site.hsts = hsts
        site.save(update_fields=["writable_paths", "force_https", "hsts"])
        proxy.set_tls_options(site.route_group, site.force_https, site.hsts)
        changed = {name: value for name, value in
                   (("writable_paths", writable_paths), ("force_https", force_https), ("hsts", hsts)) if value is not None}
        if changed:
            _audit(site, "site.update", **changed)
    return site


def set_health_check_path(site: Site, path: str) -> Site:
    site.set_health_check_path(path)
    _audit(site, "site.update", health_check_path=site.health_check_path)
    return site


def configure_site(site: Site, fields: dict) -> Site:
    """Apply a settings form all or nothing: `fields` holds any of update_site's arguments and
    `health_check_path`. The caller authorises `actions_to_update(fields)` first."""
    fields = dict(fields)
    try:
        with transaction.atomic():
            if "health_check_path" in fields:
                set_health_check_path(site, fields.pop("health_check_path"))
            return update_site(site, **fields)
    except ValidationError:
        site.refresh_from_db()  # the caller's object shows what stayed, not what was refused
        raise


def delete_site(site: Site) -> None:
    """Delete the site now: its names stop routing before this returns; its containers, volume,
    repository and slugs are removed by tasks."""
    _audit(site, "site.delete")
    deletion.delete_site(site, SENDER)


def deploy_source(site: Site, trigger: str, source: str, write_archive, by=None) -> Deployment:
    """Build and release a pushed commit or an uploaded archive; `write_archive(path_for_suffix)`
    stores the source before the build is sent."""
    deployment = machine.deploy_source(site, trigger, source, write_archive, SENDER, by=by)
    _audit(site, f"deploy.{trigger}", source, by=by, deployment=deployment.pk)
    return deployment


def deploy_archive(site: Site, upload, by=None) -> Deployment:
    """Build and release an uploaded archive (.tar.gz, .tar or .zip; the build unpacks it as the
    site's uid): `upload` is a Django UploadedFile, already cut at the plan's size. A file that is
    not one of those (by its content, not its name) is refused before anything is stored."""
    upload.seek(0)
    head = upload.read(archive_format.HEAD_BYTES)
    if archive_format.archive_kind(head) is None:
        raise ValidationError({"archive": f"{upload.name[:100]} is not a .tar.gz, .tar or .zip archive (by its "
                                          f"content); nothing was deployed. Upload an archive of your app's source."})

    def write_archive(path_for) -> None:
        path = path_for(".upload")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            upload.seek(0)
            shutil.copyfileobj(upload, out)

    return deploy_source(site, Deployment.Trigger.ARCHIVE, f"archive {upload.name[:100]}", write_archive, by=by)


# --- config --------------------------------------------------------------------------------------


def set_env(site: Site, values: dict[str, str], by=None) -> Deployment | None:
    """Set env vars and roll out a new release with them (no build), after the site's deployments
    before it."""
    if not isinstance(values, dict) or not values:
        raise ValidationError("Give at least one variable to set.")
    cleaned = {validate_env_key(k): validate_env_value(k, v) for k, v in values.items()}
    with transaction.atomic():
        machine.lock_site(site)  # first: the EnvVar rows lock the site's row too (a deadlock otherwise)
        for key, value in cleaned.items():
            EnvVar.objects.update_or_create(site=site, key=key, defaults={"encrypted_value": encrypt(value)})
        _audit(site, "env.set", ", ".join(sorted(cleaned)), by=by)
        return _release_config(site, f"Set {', '.join(sorted(cleaned))}", by)


def unset_env(site: Site, keys: list[str], by=None) -> Deployment | None:
    keys = [validate_env_key(k) for k in keys]
    with transaction.atomic():
        machine.lock_site(site)
        deleted, _ = EnvVar.objects.filter(site=site, key__in=keys).delete()
        if not deleted:
            raise ValidationError(f"{', '.join(keys)} is not set.")
        _audit(site, "env.unset", ", ".join(sorted(keys)), by=by)
        return _release_config(site, f"Unset {', '.join(sorted(keys))}", by)


def env_value(site: Site, key: str, by=None) -> str:
    """The decrypted value of one of the site's env vars, for a member allowed to see it; each
    reveal is recorded, so an organization knows who has read its secrets."""
    var = site.env_vars.filter(key=key).first()
    if var is None:
        raise ValidationError(f"{key} is not set.")
    _audit(site, "env.reveal", key, by=by)
    return decrypt(var.encrypted_value)


def _release_config(site: Site, description: str, by) -> Deployment | None:
    if site.current_release_id is None:
        return None  # nothing deployed yet: the first deploy picks the config up
    deployment = machine.roll_out(site, Deployment.Trigger.CONFIG, description, SENDER, by=by)
    deployment.refresh_from_db()  # its release was made already unless it waits behind another deployment
    return deployment


# --- releases and process state ------------------------------------------------------------------


def parse_version(version: int | str) -> int:
    """A release number as the API shows it ("v2") or as a number (2)."""
    text = str(version).strip().lower().removeprefix("v")
    if not text.isdigit() or int(text) < 1:
        raise ValidationError(f"{version!r} is not a release; give its version, as v2 or 2.")
    return int(text)


def rollback(site: Site, version: int | str, by=None) -> Deployment:
    """A new release with the slug and config of release `version` (as Heroku does). The site's
    config becomes that release's config at once, so the API shows what will run and the next
    push builds with it."""
    number = parse_version(version)
    target = Release.objects.filter(site=site, version=number).first()
    if target is None:
        raise ValidationError(f"There is no release v{number}.")
    if target.status == "failed":
        raise ValidationError(f"{target.label} never went live (its deployment failed); roll back to one that did.")
    slugs.check_rollback(target)
    with transaction.atomic():
        machine.lock_site(site)
        EnvVar.objects.filter(site=site).delete()
        EnvVar.objects.bulk_create([EnvVar(site=site, key=key, encrypted_value=encrypt(value))
                                    for key, value in decrypt_config(target.encrypted_config).items()])
        _audit(site, "release.rollback", target.label, by=by)
        return machine.roll_out(site, Deployment.Trigger.ROLLBACK, f"Rollback to {target.label}", SENDER,
                                target=target, by=by)


def restart(site: Site, by=None) -> Deployment:
    """A new container of the current release replaces the running one (the pipeline starts the
    current release again: its slug and config, on a new instance, then switches)."""
    if site.current_release is None:
        raise ValidationError("Nothing is deployed yet.")
    deployment = machine.roll_out(site, Deployment.Trigger.RESTART, "Restart", SENDER, by=by)
    _audit(site, "site.restart", by=by)
    return deployment


def redeploy(site: Site, by=None) -> Deployment:
    """Deploy the current release again. It is a restart by another name (the pipeline has one
    way to start a release that exists): the deployment and the audit log say which was asked."""
    release = site.current_release
    if release is None:
        raise ValidationError("Nothing is deployed yet.")
    deployment = machine.roll_out(site, Deployment.Trigger.RESTART, f"Redeploy {release.label}", SENDER, by=by)
    _audit(site, "site.redeploy", release.label, by=by)
    return deployment


def start(site: Site, by=None) -> Deployment:
    if site.current_release is None:
        raise ValidationError("Nothing is deployed yet.")
    ensure_queue_reachable()  # before the site is marked running
    Site.objects.filter(pk=site.pk).update(desired_state=Site.DesiredState.RUNNING)
    deployment = machine.roll_out(site, Deployment.Trigger.START, "Start", SENDER, by=by)
    _audit(site, "site.start", by=by)
    return deployment


def stop(site: Site, by=None) -> None:
    ensure_queue_reachable()  # else the site would be marked stopped with nothing sent to stop it
    Site.objects.filter(pk=site.pk).update(desired_state=Site.DesiredState.STOPPED)
    SENDER.stop_site(site)
    _audit(site, "site.stop", by=by)


def scale(site: Site, counts: dict, by=None) -> Site:
    """Set how many containers of each process type run (sites/formation.py)."""
    return formation.scale(site, counts, SENDER, by=by)


# --- suspension ----------------------------------------------------------------------------------


def suspend_organization(organization: Organization, reason: str) -> None:
    """Suspend an organization: each of its sites shows the suspended page and its containers
    stop (so neither reconcile nor a dockerd restart can bring them back), and nothing of it
    changes until `unsuspend_organization`: accounts.services.ensure_active refuses every
    change, at the API and git gate (authorize) and again in the deploy pipeline."""
    with transaction.atomic():
        mark_suspended(organization, True, reason)
        sites = Site.objects.select_for_update(of=("self",)).filter(organization=organization)
        for site in sites.select_related("current_instance__host"):
            proxy.set_status(site.route_group, "suspended")
            instance = site.current_instance
            if instance is not None:
                # desired_state stays: unsuspend starts again what was running.
                Site.objects.filter(pk=site.pk).update(current_instance=None)
                SENDER.stop_instance(instance)
            processes.stop_all(site, SENDER.stop_instance)  # its workers too
    audit.record(organization, "organization.suspend", organization.slug, reason=reason)
    log.warning("organization suspended: %s", reason, extra={"organization": organization.slug})


def unsuspend_organization(organization: Organization) -> None:
    """Lift a suspension: sites that were running start again from their current release."""
    with transaction.atomic():
        mark_suspended(organization, False)
        audit.record(organization, "organization.unsuspend", organization.slug)
        sites = list(Site.objects.select_for_update(of=("self",)).filter(organization=organization)
                     .select_related("current_release"))
    for site in sites:
        if site.desired_state != Site.DesiredState.RUNNING or site.current_release is None:
            proxy.set_status(site.route_group, "stopped")
        elif site.current_instance_id is not None:
            proxy.set_status(site.route_group, "live")  # suspended before containers were stopped on suspension
        else:
            try:
                machine.roll_out(site, Deployment.Trigger.START, "Start after the suspension ended", SENDER)
            except HostingError as exc:
                log.error("could not start %s after its suspension: %s", site.name, exc, extra={"site": site.name})
                proxy.set_status(site.route_group, "stopped")
    log.warning("organization unsuspended", extra={"organization": organization.slug})
