from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from mentorship.health import health
from profiles import views as profile_views

# The admin has no login of its own: it sends people to allauth's, which is rate limited and
# asks for the second factor.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "Mentorship administration"
admin.site.site_title = "Mentorship admin"

urlpatterns = [
    path("", profile_views.home, name="home"),
    path("healthz", health, name="health"),
    path("accounts/", include("allauth.urls")),
    path("", include("profiles.urls")),
    path("", include("matching.urls")),
    path("", include("cohorts.urls")),
    path("admin/", admin.site.urls),
]
