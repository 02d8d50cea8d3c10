import time

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from community.demo import seed_community
from meetings.demo import seed_journeys
from profiles.demo import DEMO_DOMAIN, DEMO_PASSWORD, seed_people
from profiles.models import Skill, User

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_ADMIN_PASSWORD = DEMO_PASSWORD


class Command(BaseCommand):
    help = (
        "Load demo data for a development server: a demo admin, and mentors and mentees with "
        "goals, offers and weekly availability, a cohort, requests and pairs with meetings, a "
        "circle, an event and a story. "
        "Deterministic for a given --seed; people already "
        "there are kept, so running it twice adds nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--mentors", type=int, default=60, help="How many mentors (60).")
        parser.add_argument("--mentees", type=int, default=150, help="How many mentees (150).")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (2026).")
        parser.add_argument(
            "--force", action="store_true", help="Run even when DEBUG is off (never in production)."
        )

    def handle(self, *args, mentors: int, mentees: int, seed: int, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates a known password: it runs only with DEBUG on.")
        if mentors < 0 or mentees < 0:
            raise CommandError("--mentors and --mentees cannot be negative.")
        if not Skill.objects.exists():
            raise CommandError("The skill taxonomy is empty: run `manage.py migrate` first.")
        admin = self.admin()
        started = time.perf_counter()
        created, kept = seed_people(mentors=mentors, mentees=mentees, seed=seed)
        elapsed = time.perf_counter() - started
        if created:
            self.stdout.write(
                f"Created {created} demo people ({mentors} mentors, {mentees} mentees, "
                f"seed {seed}) in {elapsed:.1f}s; kept {kept} already there."
            )
        else:
            self.stdout.write(f"Kept the {kept} demo people already there.")
        if seed_journeys(admin):
            self.stdout.write(
                "Created the demo cohort (January mentoring month, run by the demo admin), "
                "requests waiting and pairs with meetings."
            )
        if seed_community(admin):
            self.stdout.write("Created a circle of the cohort, a workshop and a published story.")
        demo = User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}").order_by("pk")
        mentee = demo.filter(profile__is_mentee=True, profile__is_mentor=False).first()
        mentor = demo.filter(profile__is_mentor=True, offer__accepting_requests=True).first()
        examples = ", ".join(
            f"{person.email} ({role})"
            for person, role in ((mentee, "a mentee"), (mentor, "a mentor"))
            if person
        )
        self.stdout.write(
            f"Demo people sign in with their address (…@{DEMO_DOMAIN}) and the password "
            f"{DEMO_PASSWORD}" + (f", for example {examples}." if examples else ".")
        )

    @transaction.atomic
    def admin(self) -> User:
        admin, created = User.objects.get_or_create(
            email=DEMO_ADMIN_EMAIL,
            defaults={"name": "Demo Admin", "is_staff": True, "is_superuser": True},
        )
        if created:
            admin.set_password(DEMO_ADMIN_PASSWORD)
            admin.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=admin, email=DEMO_ADMIN_EMAIL, defaults={"verified": True, "primary": True}
        )
        verb = "Created" if created else "Kept"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} the demo admin: sign in at {settings.SITE_URL}{reverse('account_login')} "
                f"as {DEMO_ADMIN_EMAIL} with password {DEMO_ADMIN_PASSWORD}"
                + ("" if created else " (unless you changed it)")
            )
        )
        return admin
