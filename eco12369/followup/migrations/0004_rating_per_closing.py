"""One rating per closing instead of one per case: ``case`` becomes a foreign key (unique with
``closed_at``), and ``latest_of`` (the one-to-one ``case.rating`` the figures join) marks each case's
latest rating. Every existing rating is its case's only one, hence its latest."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F


def mark_latest(apps, schema_editor):
    Rating = apps.get_model("followup", "Rating")
    Rating.objects.update(latest_of=F("case"))


def unmark_latest(apps, schema_editor):
    # Back to one rating per case: keep each case's latest rating, drop the ones it superseded.
    Rating = apps.get_model("followup", "Rating")
    Rating.objects.filter(latest_of__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_scale_indexes"),
        ("followup", "0003_delete_satisfactionweight"),
    ]

    operations = [
        migrations.AlterField(
            model_name="rating",
            name="case",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="ratings", to="cases.case"
            ),
        ),
        migrations.AddField(
            model_name="rating",
            name="latest_of",
            field=models.OneToOneField(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="rating",
                to="cases.case",
            ),
        ),
        migrations.RunPython(mark_latest, unmark_latest, elidable=True),
        migrations.AddConstraint(
            model_name="rating",
            constraint=models.UniqueConstraint(fields=("case", "closed_at"), name="rating_one_per_closing"),
        ),
    ]
