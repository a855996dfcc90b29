from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sites', '0003_deployment_host_name'),
    ]

    operations = [
        migrations.AddField(
            model_name='deployment',
            name='internal_error',
            field=models.TextField(blank=True),
        ),
    ]
