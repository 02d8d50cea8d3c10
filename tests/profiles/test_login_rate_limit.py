from django.urls import reverse

from tests.conftest import PASSWORD


def failed_login(client, email: str, ip: str = "203.0.113.7"):
    return client.post(
        reverse("account_login"),
        {"login": email, "password": "not-the-password"},
        REMOTE_ADDR=ip,
    )


def test_sixth_failed_login_within_five_minutes_is_refused_with_429(client, member):
    for _ in range(5):
        response = failed_login(client, member.email)
        assert response.status_code == 200
        assert "not correct" in response.text

    sixth = failed_login(client, member.email)

    assert sixth.status_code == 429
    assert "Too many attempts" in sixth.text


def test_even_the_right_password_is_refused_once_the_limit_is_hit(client, member):
    for _ in range(5):
        failed_login(client, member.email)

    response = client.post(
        reverse("account_login"),
        {"login": member.email, "password": PASSWORD},
        REMOTE_ADDR="203.0.113.7",
    )

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_failures_for_one_address_do_not_lock_out_another(client, member, outsider):
    for _ in range(5):
        failed_login(client, member.email, ip="198.51.100.1")

    response = client.post(
        reverse("account_login"),
        {"login": outsider.email, "password": PASSWORD},
        REMOTE_ADDR="198.51.100.2",
    )

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_admin_login_goes_through_allauth(client, db):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_signed_in_non_staff_person_is_refused_the_admin(client, member):
    client.force_login(member)

    assert client.get("/admin/login/").status_code == 403
    assert client.get("/admin/").status_code == 302  # admin sends them to its (allauth) login
