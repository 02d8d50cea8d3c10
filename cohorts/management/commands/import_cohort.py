from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cohorts import importer
from cohorts.models import Cohort


class Command(BaseCommand):
    help = (
        "Import people into a cohort from a CSV file (UTF-8, a header row, one person a row; "
        f"columns: {', '.join(importer.COLUMNS)}). A new SLUG creates the cohort with the "
        "default policy. Nothing is imported while any row is wrong; every problem is listed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="The cohort's slug; a new one creates the cohort.")
        parser.add_argument("file", help="The CSV file.")

    def handle(self, *args, slug: str, file: str, **options) -> None:
        try:
            data = Path(file).read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        cohort = Cohort.objects.filter(slug=slug).first()
        if cohort is None:
            cohort = Cohort(slug=slug, name=slug.replace("-", " ").replace("_", " ").title())
            try:
                cohort.full_clean()
            except ValidationError as error:
                message = f"Cannot create a cohort {slug!r}: {error.messages[0]}"
                raise CommandError(message) from None

        preview = importer.parse(data, cohort)
        if not preview.ok:
            for error in preview.errors:
                self.stderr.write(str(error))
            problems = len(preview.errors)
            raise CommandError(
                f"{problems} {'problem' if problems == 1 else 'problems'} in {file}; "
                "nothing was imported."
            )

        with transaction.atomic():
            if cohort.pk is None:
                cohort.save()
                self.stdout.write(f"Created the cohort {cohort.name} ({cohort.slug}).")
            result = importer.apply(preview, cohort)
        self.stdout.write(
            f"Imported {result.created + result.updated} people into {cohort.name}: "
            f"{result.created} new, {result.updated} updated; {result.enrolled} newly enrolled "
            f"({preview.mentors} mentors, {preview.mentees} mentees)."
        )
