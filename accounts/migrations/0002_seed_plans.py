from django.db import migrations

PLANS = [
    dict(name="starter", label="Starter", memory_mb=256, cpu_millicores=250, pids_limit=128, disk_mb=1024, tmp_mb=32,
         max_sites=3, max_custom_domains=2, max_push_mb=100, build_timeout_seconds=600, is_default=True),
    dict(name="standard", label="Standard", memory_mb=512, cpu_millicores=500, pids_limit=256, disk_mb=5120, tmp_mb=64,
         max_sites=10, max_custom_domains=10, max_push_mb=250, build_timeout_seconds=900, is_default=False),
    dict(name="pro", label="Pro", memory_mb=1024, cpu_millicores=1000, pids_limit=512, disk_mb=20480, tmp_mb=128,
         max_sites=50, max_custom_domains=50, max_push_mb=500, build_timeout_seconds=1200, is_default=False),
]


def seed(apps, schema_editor):
    Plan = apps.get_model("accounts", "Plan")
    for plan in PLANS:
        Plan.objects.get_or_create(name=plan["name"], defaults=plan)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_plan")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
