"""Figures for the foundation: how fast email is queued and delivered, and how fast the
dashboard renders. `make bench` prints them; `make test` runs each once at a tiny size."""

from django.core import mail
from django.core.mail import EmailMessage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profiles.mail import queue_email
from profiles.models import Email, Profile


def test_queue_and_deliver_email(benchmark, db, size, django_capture_on_commit_callbacks):
    count = size(full=1000, tiny=3)

    def queue_and_deliver():
        with django_capture_on_commit_callbacks(execute=True):
            for i in range(count):
                queue_email(
                    message=EmailMessage(f"Reminder {i}", "See you tomorrow", to=["a@example.org"]),
                    kind="bench",
                )

    benchmark.pedantic(queue_and_deliver, rounds=3, iterations=1)
    stats = benchmark.stats
    if stats is not None:  # None when benchmarks are disabled (make test)
        benchmark.extra_info["emails_per_second"] = round(count / stats["mean"])
        print(f"\nemail: {count / stats['mean']:.0f} queued+delivered per second")
    assert Email.objects.filter(status=Email.Status.SENT).count() == len(mail.outbox)


def test_dashboard_render(benchmark, client, member):
    Profile.objects.create(user=member, is_mentee=True)
    client.force_login(member)
    client.get("/")  # warm the template cache
    with CaptureQueriesContext(connection) as queries:
        client.get("/")

    response = benchmark(client.get, "/")

    assert response.status_code == 200
    # One query per section, nothing per item (tests/meetings/test_dashboard.py adds items).
    assert len(queries) <= 12, [q["sql"] for q in queries]
