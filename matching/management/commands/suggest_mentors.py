"""The mentors a person sees in Find a mentor, best first, as a CSV: for "why does she see
these mentors?" without signing in as her."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cohorts.services import SafeWriter
from matching import search
from profiles.models import Goal, User


class Command(BaseCommand):
    help = (
        "Write the ranking a person sees in Find a mentor (all their open goals, or one) to a "
        "CSV: mentor_email,score,reasons, best first."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("email", help="The person's email address.")
        parser.add_argument("--goal", type=int, help="Rank for this open goal of theirs (its id).")
        parser.add_argument("--top", type=int, default=search.PER_PAGE, help="How many (10).")
        parser.add_argument("--out", required=True, type=Path, help="The CSV file to write.")

    def handle(self, *args, email: str, goal: int | None, top: int, out: Path, **options):
        if top < 1:
            raise CommandError("--top must be at least 1.")
        user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
        if user is None:
            raise CommandError(f"No active account has the address {email}.")
        chosen = None
        if goal is not None:
            chosen = Goal.objects.open().filter(owner=user, pk=goal).first()
            if chosen is None:
                raise CommandError(f"{user.name} has no open goal with the id {goal}.")
        matches = search.suggestions(user, goal=chosen, top=top)
        with out.open("w", newline="", encoding="utf-8") as handle:
            write_suggestions(handle, matches)
        if not matches:
            self.stdout.write(f"{user.name} sees no mentor: no open goal, or none fits.")
        self.stdout.write(f"Wrote {len(matches)} mentors for {user.email} to {out}.")


def write_suggestions(handle, matches: list[search.Match]) -> None:
    writer = SafeWriter(handle)
    writer.writerow(["mentor_email", "score", "reasons"])
    for match in matches:
        reasons = " ".join(reason.sentence for reason in match.top)
        writer.writerow([match.profile.user.email, match.percent, reasons])
