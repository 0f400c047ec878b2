from django.core.management.base import BaseCommand, CommandError

from catalog.ingest import refresh_location
from catalog.models import Location


class Command(BaseCommand):
    help = "Refresh one catalog location (by id or target) or all of them."

    def add_arguments(self, parser):
        parser.add_argument("location", nargs="?", help="location id or target")
        parser.add_argument("--all", action="store_true", help="refresh every location")
        parser.add_argument("--force", action="store_true", help="store even when the source is unchanged")

    def handle(self, *args, location=None, all=False, force=False, **options):
        if all == bool(location):
            raise CommandError("Name one location, or pass --all.")
        if all:
            locations = list(Location.objects.all())
        else:
            locations = list(Location.objects.filter(target=location))
            if not locations:
                try:
                    locations = list(Location.objects.filter(pk=location))
                except Exception:  # not a UUID: no such location
                    locations = []
            if not locations:
                raise CommandError(f"No location {location!r}.")
        failed = 0
        for item in locations:
            report = refresh_location(item, force=force)
            failed += report.status == "failed"
            self.stdout.write(f"{item}: {report.summary()}")
        if failed:
            raise CommandError(f"{failed} location(s) could not be read.")
