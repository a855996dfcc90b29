"""Routes, certificates and traffic were keyed by the site's name, which the next site of that
name inherits (with a deleted site's lingering route and its traffic history). They are keyed by
the site's uuid from now on; rows of names that no site has any more are dropped."""
from django.db import migrations


def key_by_uuid(apps, schema_editor):
    Site = apps.get_model("sites", "Site")
    Route = apps.get_model("proxy", "Route")
    Upstream = apps.get_model("proxy", "Upstream")
    Certificate = apps.get_model("proxy", "Certificate")
    SiteTraffic = apps.get_model("proxy", "SiteTraffic")
    sites = {s.name: s for s in Site.objects.all()}
    owners: dict[str, str] = {}
    for route in Route.objects.all():
        site = sites.get(route.group)
        if site is None:
            route.delete()  # a deleted site's route: exactly what must not serve
            continue
        route.group = site.uuid.hex
        # One address, one site: an address two routes share stays with the first only.
        route.upstreams = [u for u in route.upstreams if owners.setdefault(u, route.group) == route.group]
        route.save(update_fields=["group", "upstreams"])
    Upstream.objects.bulk_create([Upstream(address=a, group=g) for a, g in owners.items()])
    for certificate in Certificate.objects.exclude(group=""):
        site = sites.get(certificate.group)
        certificate.group = site.uuid.hex if site else ""
        certificate.save(update_fields=["group"])
    for name, site in sites.items():
        # Minutes before this site existed belong to an earlier site of the same name.
        SiteTraffic.objects.filter(group=name, minute__gte=site.created_at.replace(second=0, microsecond=0)).update(
            group=site.uuid.hex)
    SiteTraffic.objects.exclude(group__regex=r"^[0-9a-f]{32}$").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sites", "0001_initial"),
        ("proxy", "0002_upstream_owners_and_certificate_backoff"),
    ]

    operations = [migrations.RunPython(key_by_uuid, migrations.RunPython.noop)]
