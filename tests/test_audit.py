"""The audit log: every staff and cohort-admin action, through its real page, writes one entry
saying who did what and when; site staff read the log in the admin, nobody else does, and nobody
can change it there."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.forms import BaseForm, CheckboxInput, MultiWidget
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from audit import services as audit
from audit.models import AuditEntry
from cohorts import matchrun
from cohorts.models import Cohort, Enrollment, MatchRun, Proposal
from matching import actions
from matching.models import Mentorship
from profiles.models import User
from tests.cohorts.test_importer import MENTEE, MENTOR, csv_of
from tests.conftest import make_person
from tests.matching.conftest import make_mentee, make_mentor

A = AuditEntry.Action
LOG = "/admin/audit/auditentry/"


@pytest.fixture
def ada(db) -> User:
    """Ada runs the cohort; she is not site staff."""
    return make_person("ada@example.org", name="Ada Admin")


@pytest.fixture
def sue(db) -> User:
    """Sue is a superuser: she changes people's roles in the Django admin."""
    sue = make_person("sue@example.org", name="Sue Super", staff=True)
    sue.is_superuser = True
    sue.save()
    return sue


@pytest.fixture
def cohort(ada) -> Cohort:
    cohort = Cohort.objects.create(name="January mentoring month", slug="january")
    cohort.admins.add(ada)
    return cohort


@pytest.fixture
def as_ada(client, ada):
    client.force_login(ada)
    return client


@pytest.fixture
def as_sue(client, sue):
    client.force_login(sue)
    return client


@pytest.fixture
def proposals(cohort) -> list[Proposal]:
    """Two mentees and two mentors (room for one each), matched: two proposed pairs."""
    for i in range(2):
        mentee = make_mentee(f"mentee{i}@example.org", f"Mentee {i}")
        mentor = make_mentor(f"mentor{i}@example.org", f"Mentor {i}", capacity=1)
        for person, role in ((mentee, "mentee"), (mentor, "mentor")):
            Enrollment.objects.create(
                cohort=cohort, email=person.email, user=person, role=role, status="joined"
            )
    run = matchrun.execute(MatchRun.objects.create(cohort=cohort).pk)
    return list(run.proposals.select_related("mentee", "mentor").order_by("pk"))


@pytest.fixture
def pair(cohort, proposals) -> Mentorship:
    """A published pair of the cohort; publishing's own entry is cleared."""
    run = proposals[0].run
    matchrun.request_publish(run)
    matchrun.publish_run(run.pk)
    AuditEntry.objects.all().delete()
    return Mentorship.objects.active().select_related("mentee", "mentor").order_by("pk").first()


def the_entry(action: str, *, since: datetime) -> AuditEntry:
    """The log holds exactly one entry, for this action, written since `since`."""
    (entry,) = AuditEntry.objects.all()
    assert entry.action == action
    assert since <= entry.created_at <= timezone.now()
    return entry


def made_by(entry: AuditEntry, person: User) -> bool:
    return entry.actor == person and entry.actor_label == f"{person.name} <{person.email}>"


def posted(form: BaseForm) -> dict:
    """What the admin page's form posts back when nothing is changed."""
    data: dict = {}
    for bound in form:
        if bound.field.disabled:
            continue
        value, widget = bound.value(), bound.field.widget
        if isinstance(widget, MultiWidget):
            for i, part in enumerate(widget.decompress(value)):
                data[f"{bound.html_name}_{i}"] = "" if part is None else str(part)
        elif isinstance(widget, CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(item) for item in value]
        elif value is not None:
            data[bound.html_name] = str(value)
    return data


def admin_change_data(client, url: str) -> dict:
    """The change page's form and inlines, as its Save button would post them unchanged."""
    page = client.get(url)
    assert page.status_code == 200
    data = {**posted(page.context["adminform"].form), "_save": "Save"}
    for inline in page.context["inline_admin_formsets"]:
        data.update(posted(inline.formset.management_form))
        for form in inline.formset.forms:
            data.update(posted(form))
    return data


# --- Cohort admins' actions, through their pages ----------------------------------------------


def test_importing_people_logs_who_imported_how_many_into_which_cohort(as_ada, ada, cohort):
    url = reverse("cohorts:import", args=[cohort.slug])
    upload = io.BytesIO(csv_of(MENTOR, MENTEE))
    upload.name = "people.csv"
    preview = as_ada.post(url, {"file": upload})
    assert not AuditEntry.objects.exists()  # a preview writes nothing
    since = timezone.now()

    as_ada.post(url, {"confirm": "1", "token": preview.context["token"]})

    entry = the_entry(A.IMPORT, since=since)
    assert made_by(entry, ada)
    assert (entry.cohort, entry.cohort_label) == (cohort, "January mentoring month")
    assert entry.target_label == "2 people"
    assert entry.detail["people"] == 2 and entry.detail["new_accounts"] == 2


def test_inviting_people_logs_how_many_were_invited_and_as_what(as_ada, ada, cohort):
    Enrollment.objects.create(cohort=cohort, email="kept@example.org")
    since = timezone.now()

    as_ada.post(
        reverse("cohorts:people", args=[cohort.slug]),
        {"emails": "new@example.org\nkept@example.org", "role": "mentor"},
    )

    entry = the_entry(A.INVITE, since=since)
    assert made_by(entry, ada) and entry.cohort == cohort
    assert entry.target_label == "1 person as mentor"
    assert entry.detail == {"role": "mentor", "invited": 1, "already_enrolled": 1}


def test_an_invitation_with_a_wrong_address_logs_nothing(as_ada, cohort):
    as_ada.post(
        reverse("cohorts:people", args=[cohort.slug]), {"emails": "not-an-address", "role": "x"}
    )
    assert not AuditEntry.objects.exists()


def test_resending_an_invitation_logs_the_address_it_went_to(as_ada, ada, cohort):
    enrollment = Enrollment.objects.create(cohort=cohort, email="late@example.org")
    since = timezone.now()

    as_ada.post(reverse("cohorts:resend", args=[cohort.slug, enrollment.pk]))

    entry = the_entry(A.RESEND, since=since)
    assert made_by(entry, ada) and entry.cohort == cohort
    assert entry.target_label == "late@example.org"


def test_resending_to_someone_who_joined_is_refused_and_logs_nothing(as_ada, cohort):
    enrollment = Enrollment.objects.create(cohort=cohort, email="in@example.org", status="joined")
    as_ada.post(reverse("cohorts:resend", args=[cohort.slug, enrollment.pk]))
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    ("button", "action"), [("lock", A.LOCK), ("unlock", A.UNLOCK), ("remove", A.REMOVE_PAIR)]
)
def test_each_review_button_on_a_pair_logs_the_pair_and_the_run(
    as_ada, ada, cohort, proposals, button, action
):
    proposal = proposals[0]
    since = timezone.now()

    as_ada.post(reverse("cohorts:proposal-action", args=[cohort.slug, proposal.pk, button]))

    entry = the_entry(action, since=since)
    assert made_by(entry, ada) and entry.cohort == cohort
    assert entry.target_label == f"{proposal.mentee.name} with {proposal.mentor.name}"
    assert entry.detail["run"] == proposal.run_id
    assert (entry.detail["mentee"], entry.detail["mentor"]) == (
        proposal.mentee_id,
        proposal.mentor_id,
    )


def test_swapping_two_mentors_logs_the_pairs_before_and_after(as_ada, ada, cohort, proposals):
    first, second = proposals
    since = timezone.now()

    as_ada.post(reverse("cohorts:swap", args=[cohort.slug]), {"selected": [first.pk, second.pk]})

    entry = the_entry(A.SWAP, since=since)
    assert made_by(entry, ada) and entry.cohort == cohort
    assert entry.detail["before"] == [
        [first.mentee_id, first.mentor_id],
        [second.mentee_id, second.mentor_id],
    ]
    assert entry.detail["after"] == [
        [first.mentee_id, second.mentor_id],
        [second.mentee_id, first.mentor_id],
    ]
    assert entry.target_label == (
        f"{first.mentee.name} now with {second.mentor.name}; "
        f"{second.mentee.name} now with {first.mentor.name}"
    )


def test_a_refused_swap_logs_nothing(as_ada, cohort, proposals):
    first, second = proposals
    Proposal.objects.filter(pk=first.pk).update(locked=True)
    as_ada.post(reverse("cohorts:swap", args=[cohort.slug]), {"selected": [first.pk, second.pk]})
    assert not AuditEntry.objects.filter(action=A.SWAP).exists()


def test_publishing_logs_who_asked_for_which_run_and_how_many_pairs(as_ada, ada, cohort, proposals):
    run = proposals[0].run
    since = timezone.now()

    as_ada.post(reverse("cohorts:publish", args=[cohort.slug, run.pk]))

    entry = the_entry(A.PUBLISH, since=since)
    assert made_by(entry, ada) and entry.cohort == cohort
    assert entry.detail == {"run": run.pk, "pairs": 2}
    assert Mentorship.objects.active().count() == 2


def test_publishing_from_the_command_line_is_logged_as_the_system(cohort, proposals):
    since = timezone.now()
    call_command("publish_cohort", cohort.slug, stdout=io.StringIO())
    entry = the_entry(A.PUBLISH, since=since)
    assert entry.actor is None and entry.actor_label == audit.SYSTEM


def test_a_cohort_admin_ending_a_pair_logs_the_pair_and_the_reason(as_ada, ada, cohort, pair):
    since = timezone.now()

    as_ada.post(
        reverse("cohorts:end-pair", args=[cohort.slug, pair.pk]), {"reason": "Schedules clash."}
    )

    entry = the_entry(A.END_PAIR, since=since)
    assert made_by(entry, ada) and entry.cohort == cohort
    assert entry.target_label == f"{pair.mentee.name} with {pair.mentor.name}"
    assert entry.detail == {"mentorship": pair.pk, "reason": "Schedules clash."}


def test_ending_a_pair_without_a_reason_is_refused_and_logs_nothing(as_ada, cohort, pair):
    response = as_ada.post(
        reverse("cohorts:end-pair", args=[cohort.slug, pair.pk]), {"reason": " "}
    )
    assert response.status_code == 400
    assert not AuditEntry.objects.exists()


def test_a_participant_ending_their_own_pair_is_not_an_admin_action_and_is_not_logged(pair):
    actions.end_mentorship(mentorship=pair, by=pair.mentee, reason="We are done.")
    assert not AuditEntry.objects.exists()


# --- Staff's changes in the Django admin ------------------------------------------------------


def test_making_someone_staff_and_adding_a_group_logs_the_role_change_before_and_after(
    as_sue, sue, outsider
):
    group = Group.objects.create(name="Coordinators")
    url = reverse("admin:profiles_user_change", args=[outsider.pk])
    data = admin_change_data(as_sue, url)
    since = timezone.now()

    response = as_sue.post(url, {**data, "is_staff": "on", "groups": [str(group.pk)]})

    assert response.status_code == 302
    entry = the_entry(A.ROLE_CHANGE, since=since)
    assert made_by(entry, sue)
    assert entry.target_label == "Otto Outsider <otto@example.org>"
    assert entry.detail == {
        "user": outsider.pk,
        "is_staff": [False, True],
        "groups": [[], ["Coordinators"]],
    }


def test_an_admin_edit_that_changes_no_role_logs_nothing(as_sue, outsider):
    url = reverse("admin:profiles_user_change", args=[outsider.pk])
    response = as_sue.post(url, {**admin_change_data(as_sue, url), "name": "Otto Renamed"})
    assert response.status_code == 302
    assert not AuditEntry.objects.exists()


def test_adding_and_removing_cohort_admins_in_the_admin_logs_each_person(
    as_sue, sue, ada, outsider, cohort
):
    url = reverse("admin:cohorts_cohort_change", args=[cohort.pk])
    data = admin_change_data(as_sue, url)
    since = timezone.now()

    response = as_sue.post(url, {**data, "admins": [str(outsider.pk)]})

    assert response.status_code == 302
    entries = {e.action: e for e in AuditEntry.objects.filter(created_at__gte=since)}
    assert set(entries) == {A.ADD_ADMIN, A.REMOVE_ADMIN}
    assert entries[A.ADD_ADMIN].target_label == "Otto Outsider <otto@example.org>"
    assert entries[A.REMOVE_ADMIN].target_label == "Ada Admin <ada@example.org>"
    assert all(made_by(e, sue) and e.cohort == cohort for e in entries.values())


def test_deleting_an_account_in_the_admin_logs_it_by_number_only(as_sue, sue, outsider):
    since = timezone.now()

    as_sue.post(reverse("admin:profiles_user_delete", args=[outsider.pk]), {"post": "yes"})

    assert not User.objects.filter(pk=outsider.pk).exists()
    entry = the_entry(A.DELETE_ACCOUNT, since=since)
    assert made_by(entry, sue)
    assert entry.target_label == f"Account #{outsider.pk}"
    assert "otto" not in str(entry.detail).lower()


def test_deleting_a_cohort_in_the_admin_logs_it_and_keeps_its_name(as_sue, sue, cohort):
    since = timezone.now()

    as_sue.post(reverse("admin:cohorts_cohort_delete", args=[cohort.pk]), {"post": "yes"})

    entry = the_entry(A.DELETE_COHORT, since=since)
    assert made_by(entry, sue)
    assert entry.cohort is None and entry.cohort_label == "January mentoring month"


def test_an_entry_keeps_who_did_it_after_their_account_is_gone(ada, cohort):
    audit.record(action=A.DELETE_ACCOUNT, by=ada, target="Account #1")
    ada.delete()
    (entry,) = AuditEntry.objects.all()
    assert entry.actor is None and entry.actor_label == "Ada Admin <ada@example.org>"


def test_an_unknown_action_is_refused(ada):
    with pytest.raises(ValueError, match="not a valid"):
        audit.record(action="reformat_disk", by=ada)
    assert not AuditEntry.objects.exists()


# --- Who reads the log ------------------------------------------------------------------------


def test_site_staff_read_the_log_without_any_permission_granted(client, staff, ada, cohort):
    entry = audit.record(action=A.INVITE, by=ada, cohort=cohort, target="3 people as mentee")
    assert not staff.is_superuser and not staff.user_permissions.exists()
    client.force_login(staff)

    listing = client.get(LOG)
    page = client.get(reverse("admin:audit_auditentry_change", args=[entry.pk]))
    filtered = client.get(LOG, {"action__exact": "invite", "q": "Ada"})

    assert listing.status_code == 200 and "3 people as mentee" in listing.text
    assert page.status_code == 200 and "Ada Admin &lt;ada@example.org&gt;" in page.text
    assert filtered.status_code == 200 and "3 people as mentee" in filtered.text


def test_a_cohort_admin_who_is_not_staff_cannot_read_the_log(as_ada, ada, cohort):
    entry = audit.record(action=A.INVITE, by=ada, cohort=cohort)
    for url in (LOG, reverse("admin:audit_auditentry_change", args=[entry.pk])):
        response = as_ada.get(url)
        assert response.status_code == 302 and response.url.startswith("/admin/login/"), url


def test_an_anonymous_visitor_cannot_read_the_log(client):
    response = client.get(LOG)
    assert response.status_code == 302 and response.url.startswith("/admin/login/")


def test_not_even_a_superuser_can_add_change_or_delete_an_entry_in_the_admin(as_sue, ada, cohort):
    entry = audit.record(action=A.INVITE, by=ada, cohort=cohort, target="3 people as mentee")
    for name in ("admin:audit_auditentry_add", "admin:audit_auditentry_delete"):
        with pytest.raises(NoReverseMatch):
            reverse(name, args=[] if name.endswith("add") else [entry.pk])
    change = reverse("admin:audit_auditentry_change", args=[entry.pk])

    edited = as_sue.post(change, {"target_label": "nothing happened", "action": "lock"})
    deleted = as_sue.post(f"{LOG}{entry.pk}/delete/", {"post": "yes"})
    bulk = as_sue.post(LOG, {"action": "delete_selected", "_selected_action": [entry.pk]})
    added = as_sue.post(f"{LOG}add/", {"action": "lock", "actor_label": "forged"})

    assert edited.status_code == 403
    assert deleted.status_code == 302 and bulk.status_code in (200, 302)
    assert added.status_code == 302
    assert list(AuditEntry.objects.values_list("pk", "action", "target_label")) == [
        (entry.pk, "invite", "3 people as mentee")
    ]
    page = as_sue.get(change).text
    assert 'name="_save"' not in page and "/delete/" not in page
