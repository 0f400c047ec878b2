"""DORA: derived columns filled when events arrive, so the four keys need no joins at query time.

DeploymentCommit gets copies of its deployment's entity_ref, environment, status and finished_at,
and ``committed_at``, the earliest commit time recorded for its sha; Deployment gets
``caused_incident``. Existing rows are filled here with set-based SQL (the same on SQLite and
PostgreSQL); from then on scorecards.dora_events keeps the columns right. The old deployment
indexes give way to covering ones.
"""

import django.db.models.deletion
from django.db import migrations, models

FILL_COMMITS = """
UPDATE scorecards_deploymentcommit SET
    entity_ref = (SELECT d.entity_ref FROM scorecards_deployment d WHERE d.id = scorecards_deploymentcommit.deployment_id),
    environment = (SELECT d.environment FROM scorecards_deployment d
                   WHERE d.id = scorecards_deploymentcommit.deployment_id),
    status = (SELECT d.status FROM scorecards_deployment d WHERE d.id = scorecards_deploymentcommit.deployment_id),
    finished_at = (SELECT d.finished_at FROM scorecards_deployment d
                   WHERE d.id = scorecards_deploymentcommit.deployment_id),
    committed_at = (SELECT MIN(c.committed_at) FROM scorecards_change c WHERE c.sha = scorecards_deploymentcommit.sha)
"""

FILL_DEPLOYMENTS = """
UPDATE scorecards_deployment SET caused_incident = TRUE
WHERE external_id IN (SELECT i.caused_by_deployment FROM scorecards_incident i WHERE i.caused_by_deployment <> '')
   OR id IN (SELECT dc.deployment_id FROM scorecards_deploymentcommit dc
             JOIN scorecards_incident i ON i.caused_by_sha = dc.sha WHERE i.caused_by_sha <> '')
"""


def fill_derived(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FILL_COMMITS)
        cursor.execute(FILL_DEPLOYMENTS)


class Migration(migrations.Migration):

    # After the other 0002 so the graph has one leaf.
    dependencies = [
        ('scorecards', '0002_result_digest'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='deployment',
            name='scorecards__finishe_0978d8_idx',
        ),
        migrations.RemoveIndex(
            model_name='deployment',
            name='scorecards__entity__8bb145_idx',
        ),
        # The unique (deployment, sha) constraint serves lookups by deployment; a plain sha index replaces
        # the one with a pattern-matching twin on PostgreSQL. The sha index is added after the fill.
        migrations.AlterField(
            model_name='deploymentcommit',
            name='deployment',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='commits', to='scorecards.deployment'),
        ),
        migrations.AlterField(
            model_name='deploymentcommit',
            name='sha',
            field=models.CharField(max_length=128),
        ),
        migrations.AddField(
            model_name='deployment',
            name='caused_incident',
            field=models.BooleanField(db_default=False, default=False, editable=False),
        ),
        migrations.AddField(
            model_name='deploymentcommit',
            name='committed_at',
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name='deploymentcommit',
            name='entity_ref',
            field=models.CharField(db_default='', default='', editable=False, max_length=400),
        ),
        migrations.AddField(
            model_name='deploymentcommit',
            name='environment',
            field=models.CharField(db_default='', default='', editable=False, max_length=255),
        ),
        migrations.AddField(
            model_name='deploymentcommit',
            name='finished_at',
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name='deploymentcommit',
            name='status',
            field=models.CharField(db_default='', default='', editable=False, max_length=16),
        ),
        migrations.RunPython(fill_derived, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name='deployment',
            index=models.Index(fields=['finished_at'], include=('environment', 'status', 'caused_incident', 'entity_ref'), name='dora_deployment_window'),
        ),
        migrations.AddIndex(
            model_name='deployment',
            index=models.Index(fields=['entity_ref', 'finished_at'], include=('environment', 'status', 'caused_incident'), name='dora_deployment_entity_window'),
        ),
        migrations.AddIndex(
            model_name='deploymentcommit',
            index=models.Index(fields=['sha'], name='dora_commit_sha'),
        ),
        migrations.AddIndex(
            model_name='deploymentcommit',
            index=models.Index(condition=models.Q(('committed_at__isnull', False)), fields=['finished_at'], include=('environment', 'status', 'committed_at', 'entity_ref'), name='dora_commit_window'),
        ),
        migrations.AddIndex(
            model_name='deploymentcommit',
            index=models.Index(condition=models.Q(('committed_at__isnull', False)), fields=['entity_ref', 'finished_at'], include=('environment', 'status', 'committed_at'), name='dora_commit_entity_window'),
        ),
    ]
