"""How long seed_demo takes on PostgreSQL. The target: 5,000 mentors and 20,000 mentees in under
two minutes. `make bench` prints the figure; `make test` seeds a handful once."""

from io import StringIO

from django.core.management import call_command

from profiles.models import Profile


def test_seed_demo(benchmark, db, settings, size):
    settings.DEBUG = True
    mentors, mentees = size(full=5000, tiny=5), size(full=20000, tiny=20)

    def run():
        call_command("seed_demo", mentors=mentors, mentees=mentees, seed=1, stdout=StringIO())

    benchmark.pedantic(run, rounds=1, iterations=1)
    stats = benchmark.stats
    if stats is not None:  # None when benchmarks are disabled (make test)
        seconds = stats["mean"]
        benchmark.extra_info["seconds"] = round(seconds, 1)
        print(f"\nseed_demo --mentors {mentors} --mentees {mentees}: {seconds:.1f}s")
        assert seconds < 120, "the target is under two minutes"
    assert Profile.objects.filter(is_mentor=True).count() >= mentors
    assert Profile.objects.filter(is_mentee=True).count() >= mentees
