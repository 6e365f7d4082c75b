from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('engagement', '0002_send_job'),
    ]

    operations = [
        migrations.AddField(
            model_name='send',
            name='email_failed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='send',
            name='email_error',
            field=models.CharField(blank=True, db_default='', default='', max_length=255),
        ),
    ]
