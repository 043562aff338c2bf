"""The satisfaction weight moves into the assessment scheme: the newest ``followup.SatisfactionWeight``
(deleted by ``followup.0003``, which runs after this) becomes the newest scheme row's ``w_satisfaction``."""

from django.db import migrations


def copy_forward(apps, schema_editor):
    SatisfactionWeight = apps.get_model("followup", "SatisfactionWeight")
    AssessmentScheme = apps.get_model("oversight", "AssessmentScheme")
    db = schema_editor.connection.alias
    weight = SatisfactionWeight.objects.using(db).order_by("-updated_at", "-id").first()
    if weight is None:
        return  # never set: the default (10) was in force, and is the new column's default
    scheme = AssessmentScheme.objects.using(db).order_by("-updated_at", "-id").first()
    if scheme is not None:
        # update(), not save(): the row keeps its updated_at, so it stays the newest and its history is true.
        AssessmentScheme.objects.using(db).filter(pk=scheme.pk).update(w_satisfaction=weight.weight)
        return
    # Only the satisfaction weight was ever set (the other weights in force were the defaults): a row with
    # the defaults and that weight, by whoever set it, keeps the ranking as it was.
    created = AssessmentScheme.objects.using(db).create(
        w_satisfaction=weight.weight, updated_by_id=weight.updated_by_id
    )
    AssessmentScheme.objects.using(db).filter(pk=created.pk).update(updated_at=weight.updated_at)


def copy_backward(apps, schema_editor):
    """The scheme's satisfaction weight in force becomes the newest ``SatisfactionWeight`` again."""
    SatisfactionWeight = apps.get_model("followup", "SatisfactionWeight")
    AssessmentScheme = apps.get_model("oversight", "AssessmentScheme")
    db = schema_editor.connection.alias
    scheme = AssessmentScheme.objects.using(db).order_by("-updated_at", "-id").first()
    if scheme is not None:
        SatisfactionWeight.objects.using(db).create(
            weight=scheme.w_satisfaction, updated_by_id=scheme.updated_by_id
        )


class Migration(migrations.Migration):

    dependencies = [
        ("followup", "0002_follow_openid_encrypted"),
        ("oversight", "0004_scheme_w_satisfaction"),
    ]

    operations = [
        migrations.RunPython(copy_forward, copy_backward),
    ]
