from django.core.management.base import BaseCommand, CommandError

from cohorts import matchrun, services
from cohorts.models import Cohort


class Command(BaseCommand):
    help = (
        "Publish a cohort's matching run (the latest, or --run ID) in this process: its pairs "
        "start and their intro emails are queued. Prints how many pairs were published."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--run", type=int, help="The run to publish (default: the latest).")

    def handle(self, *args, slug: str, run: int | None, **options) -> None:
        cohort = Cohort.objects.filter(slug=slug).first()
        if cohort is None:
            raise CommandError(f"No cohort {slug!r}.")
        match = cohort.runs.filter(pk=run).first() if run else services.latest_run(cohort)
        if match is None:
            raise CommandError(
                f"No run {run} in {slug}." if run else f"{slug} has no run: match_cohort first."
            )
        try:
            matchrun.request_publish(match)
        except matchrun.PublishError as error:
            raise CommandError(str(error)) from error
        done = matchrun.publish_run(match.pk)
        self.stdout.write(
            f"Published {done.published} pairs of run {done.pk} in {cohort.name}"
            + (f"; {len(done.publish_skipped)} skipped:" if done.publish_skipped else ".")
        )
        for line in done.publish_skipped:
            self.stdout.write(f"  {line}")
