from django.urls import path

from cohorts import views

app_name = "cohorts"

urlpatterns = [
    path("cohorts/", views.cohort_list, name="list"),
    path("cohorts/new/", views.create, name="create"),
    path("cohorts/import-template.csv", views.import_template, name="import-template"),
    path("cohorts/join/<str:token>/", views.join, name="join"),
    path("cohorts/join/<str:token>/decline/", views.decline, name="decline"),
    path("cohorts/<slug:slug>/", views.detail, name="detail"),
    path("cohorts/<slug:slug>/edit/", views.edit, name="edit"),
    path("cohorts/<slug:slug>/people/", views.people, name="people"),
    path("cohorts/<slug:slug>/import/", views.import_people, name="import"),
    path("cohorts/<slug:slug>/match/", views.start_matching, name="match"),
    path("cohorts/<slug:slug>/runs/<int:pk>/status/", views.run_status, name="run-status"),
    path("cohorts/<slug:slug>/review/", views.review, name="review"),
    path(
        "cohorts/<slug:slug>/proposals/<int:pk>/<slug:action>/",
        views.proposal_action,
        name="proposal-action",
    ),
    path("cohorts/<slug:slug>/swap/", views.swap, name="swap"),
    path("cohorts/<slug:slug>/runs/<int:pk>/publish/", views.publish, name="publish"),
    path("cohorts/<slug:slug>/pairs/<int:pk>/end/", views.end_pair, name="end-pair"),
    path("cohorts/<slug:slug>/people/<int:pk>/resend/", views.resend, name="resend"),
    path(
        "cohorts/<slug:slug>/people/<int:pk>/suggestions/",
        views.suggestions,
        name="suggestions",
    ),
    path("cohorts/<slug:slug>/pairs.csv", views.export, name="export"),
    path("cohorts/<slug:slug>/health/", views.health, name="health"),
    path("cohorts/<slug:slug>/announcements/", views.announcements, name="announcements"),
    path("cohorts/<slug:slug>/circles/", views.circles, name="circles"),
]
