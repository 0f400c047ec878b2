"""Each (entity, scorecard) result keeps a digest of its rule results; rule results lose their
(rule, passed) index, which cost more to keep up on every evaluation than it saved, and get their
recording time from the database when written in bulk."""

import django.db.models.functions.datetime
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("scorecards", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="scorecardresult",
            name="digest",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.AlterField(
            model_name="ruleresult",
            name="evaluated_at",
            field=models.DateTimeField(
                db_default=django.db.models.functions.datetime.Now(), default=django.utils.timezone.now
            ),
        ),
        migrations.RemoveIndex(
            model_name="ruleresult",
            name="scorecards__rule_id_185b64_idx",
        ),
    ]
