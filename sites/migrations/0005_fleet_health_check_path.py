from django.db import migrations, models

import sites.validation


class Migration(migrations.Migration):

    dependencies = [
        ('sites', '0004_pipeline_internal_error'),
    ]

    operations = [
        migrations.AddField(
            model_name='site',
            name='health_check_path',
            field=models.CharField(blank=True, help_text="Path a new release must answer with 2xx/3xx before it goes live (empty: hosting.toml's, else any answer below 500 on /).", max_length=200, validators=[sites.validation.validate_health_check_path]),
        ),
        migrations.AddField(
            model_name='slug',
            name='health_check_path',
            field=models.CharField(blank=True, help_text='From hosting.toml.', max_length=200),
        ),
    ]
