from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "profiles"
    verbose_name = "People and profiles"

    def ready(self) -> None:
        from profiles import checks  # noqa: F401  (registers the deploy checks)
