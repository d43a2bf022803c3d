"""'Seen' becomes per person (issue 13, defect 7): `Operation.seen_at`, one flag for everybody,
gives way to a mark per person and tenant plus a row per operation opened after it.

What the shared flag said is kept as well as it can be: every operation that finished before the
tenant's first unseen one had been seen (or marked read) by somebody, so each member's mark is put
just before that first unseen one, and nobody's badge fills with old news. Later operations that
were seen count as seen by the person who asked for them (their page marked them seen).
"""

from datetime import timedelta

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def seen_at_to_per_person(apps, schema_editor):
    Operation = apps.get_model("operations", "Operation")
    OperationSeen = apps.get_model("operations", "OperationSeen")
    OperationsSeenMark = apps.get_model("operations", "OperationsSeenMark")
    Membership = apps.get_model("tenants", "Membership")
    finished = Operation.objects.filter(finished_at__isnull=False)
    for tenant_id in finished.values_list("tenant_id", flat=True).distinct().order_by():
        ops = finished.filter(tenant_id=tenant_id)
        first_unseen = ops.filter(seen_at__isnull=True).order_by("finished_at").first()
        if first_unseen is not None:
            up_to = first_unseen.finished_at - timedelta(microseconds=1)
        else:
            up_to = ops.order_by("-finished_at").first().finished_at
        OperationsSeenMark.objects.bulk_create(
            [OperationsSeenMark(user_id=user_id, tenant_id=tenant_id, finished_up_to=up_to)
             for user_id in Membership.objects.filter(tenant_id=tenant_id).values_list("user_id", flat=True)],
            ignore_conflicts=True)
        OperationSeen.objects.bulk_create(
            [OperationSeen(operation_id=pk, user_id=user_id, seen_at=seen_at)
             for pk, user_id, seen_at in ops.filter(finished_at__gt=up_to, seen_at__isnull=False,
                                                    requested_by__isnull=False)
             .values_list("pk", "requested_by_id", "seen_at")],
            ignore_conflicts=True)


def per_person_to_seen_at(apps, schema_editor):
    """Back to the shared flag: seen if its requester had seen it."""
    Operation = apps.get_model("operations", "Operation")
    OperationSeen = apps.get_model("operations", "OperationSeen")
    OperationsSeenMark = apps.get_model("operations", "OperationsSeenMark")
    for mark in OperationsSeenMark.objects.all():
        Operation.objects.filter(tenant_id=mark.tenant_id, requested_by_id=mark.user_id, seen_at__isnull=True,
                                 finished_at__lte=mark.finished_up_to).update(seen_at=mark.finished_up_to)
    for seen in OperationSeen.objects.all():
        Operation.objects.filter(pk=seen.operation_id, requested_by_id=seen.user_id).update(seen_at=seen.seen_at)


class Migration(migrations.Migration):

    dependencies = [
        ('operations', '0002_operation_expected_learned'),
        ('tenants', '0002_tenant_bearer_mask_reference_service'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='OperationSeen',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seen_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('operation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='operations.operation')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('operation', 'user'), name='unique_operation_seen')],
            },
        ),
        migrations.CreateModel(
            name='OperationsSeenMark',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('finished_up_to', models.DateTimeField()),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.tenant')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('user', 'tenant'), name='unique_operations_seen_mark')],
            },
        ),
            migrations.RunPython(seen_at_to_per_person, per_person_to_seen_at),
        migrations.RemoveField(
            model_name='operation',
            name='seen_at',
        ),
]
