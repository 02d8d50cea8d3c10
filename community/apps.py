from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "community"
    verbose_name = "Community"

    def ready(self) -> None:
        from community import calendar
        from meetings import services

        # The person's calendar feed (made by meetings) carries the events they go to as well.
        services.add_feed_source(calendar.events_for_feed)
