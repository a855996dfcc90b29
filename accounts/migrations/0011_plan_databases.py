from django.core.validators import MinValueValidator
from django.db import migrations, models

# Databases an organization may attach, the size of each, and its connections (issue 14).
SEEDS = {"starter": (1, 100, 10), "standard": (5, 1024, 20), "pro": (25, 5120, 50)}


def seed(apps, schema_editor):
    Plan = apps.get_model("accounts", "Plan")
    for name, (count, size, connections) in SEEDS.items():
        Plan.objects.filter(name=name).update(max_databases=count, database_mb=size, database_connections=connections)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0010_plan_run_limits")]
    operations = [
        migrations.AddField("plan", "max_databases", models.PositiveIntegerField(
            default=1, help_text="Databases an organization on this plan may attach.")),
        migrations.AddField("plan", "database_mb", models.PositiveIntegerField(
            default=100, validators=[MinValueValidator(8)],
            help_text="Size of each database (MB); a database over it becomes read-only until it is under again.")),
        migrations.AddField("plan", "database_connections", models.PositiveIntegerField(
            default=10, validators=[MinValueValidator(2)],
            help_text="Connections each database's role may hold at once.")),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
