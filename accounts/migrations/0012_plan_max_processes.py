from django.db import migrations, models

# Worker containers per site on the seeded plans: each one reserves the plan's memory and CPU on
# the site's host, so the bigger plans get more of them. Staff change them in the admin.
MAX_PROCESSES = {"starter": 1, "standard": 3, "pro": 8}


def seed(apps, schema_editor):
    Plan = apps.get_model("accounts", "Plan")
    for name, count in MAX_PROCESSES.items():
        Plan.objects.filter(name=name).update(max_processes=count)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0011_plan_databases'),
    ]

    operations = [
        migrations.AddField(
            model_name='plan',
            name='max_processes',
            field=models.PositiveIntegerField(default=0, help_text='Containers of other process types (workers) a site may run beside its web one; each has the memory and CPU above.'),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
