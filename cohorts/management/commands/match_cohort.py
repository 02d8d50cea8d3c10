from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cohorts import matchrun, services
from cohorts.models import Cohort, MatchRun


class Command(BaseCommand):
    help = (
        "Match a cohort now (in this process) and write pairs.csv: mentee_email, mentor_email, "
        "score, reasons, then unmatched mentees with an empty mentor and the reason."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--out", required=True, help="Where to write the pairs CSV.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Compute and write the CSV, but keep no run in the database.",
        )

    def handle(self, *args, slug: str, out: str, dry_run: bool, **options) -> None:
        cohort = Cohort.objects.filter(slug=slug).first()
        if cohort is None:
            raise CommandError(f"No cohort {slug!r}. Create it with import_cohort {slug} FILE.csv.")
        run = MatchRun.objects.create(cohort=cohort)
        try:
            run = matchrun.execute(run.pk, spread=False)  # the CSV is written now
            if run.status != MatchRun.Status.DONE:
                raise CommandError(f"Matching failed: {run.error}")
            Path(out).write_text(services.pairs_csv(run), encoding="utf-8")
            stats = run.stats
        finally:
            if dry_run:
                run.delete()
        self.stdout.write(
            f"{stats['matched']} of {stats['mentees']} mentees matched in {stats['pairs']} pairs "
            f"(mean score {stats['mean_score']:.2f}); wrote {out}"
            + (" (dry run: nothing kept)" if dry_run else "")
        )
        seconds = ", ".join(f"{k} {v:.2f}s" for k, v in stats["seconds"].items())
        self.stdout.write(f"Timings: {seconds}")
