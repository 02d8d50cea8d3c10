from django.urls import reverse

from profiles.models import Profile


def test_visitor_sees_the_landing_page_with_sign_up(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert b"Create your account" in response.content


def test_member_sees_an_empty_dashboard_with_their_name(client, member):
    Profile.objects.create(user=member, is_mentee=True)
    client.force_login(member)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "Welcome, Maya" in response.text
    assert "You have no mentorships yet." in response.text
