from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from meetings import views as meeting_views
from mentorship.health import health

# The admin has no login of its own: it sends people to allauth's, which is rate limited and
# asks for the second factor.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "Mentorship administration"
admin.site.site_title = "Mentorship admin"

urlpatterns = [
    path("", meeting_views.dashboard, name="home"),
    path("healthz", health, name="health"),
    path("accounts/", include("allauth.urls")),
    path("", include("profiles.urls")),
    path("", include("matching.urls")),
    path("", include("cohorts.urls")),
    path("", include("meetings.urls")),
    path("", include("conversations.urls")),
    path("", include("community.urls")),
    path("admin/", admin.site.urls),
]

handler500 = "mentorship.middleware.server_error"
