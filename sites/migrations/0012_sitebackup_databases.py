from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("sites", "0011_site_formation"),
    ]

    operations = [
        migrations.AddField(
            model_name="sitebackup",
            name="databases",
            field=models.JSONField(blank=True, default=list, help_text="The database dumps it holds."),
        ),
    ]
