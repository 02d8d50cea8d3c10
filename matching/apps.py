from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = "Matching"

    def ready(self) -> None:
        from matching import signals
        from mentorship import lookups  # noqa: F401 - registers field__any for long id lists

        signals.connect()
