from django.core.management.base import BaseCommand, CommandError

from catalog.ingest import LocationNotAllowed, check_target_allowed, refresh_location
from catalog.models import Location
from catalog.reading import guess_location_type
from portal import audit


class Command(BaseCommand):
    help = "Register a catalog location (a path, a git repository or an allowed URL) and import it."

    def add_arguments(self, parser):
        parser.add_argument("target")
        parser.add_argument("--type", choices=[t for t, _ in Location.Type.choices])
        parser.add_argument("--ref", default="", help="git branch, tag or commit")
        parser.add_argument("--path", default="", help="path inside the git repository")

    def handle(self, *args, target, type=None, ref="", path="", **options):
        location_type = type or guess_location_type(target)
        try:
            check_target_allowed(location_type, target)
        except LocationNotAllowed as exc:
            raise CommandError(str(exc))
        location, created = Location.objects.get_or_create(
            type=location_type, target=target, git_ref=ref, git_path=path
        )
        if created:
            audit.record("manage.py", "catalog.location.register", location,
                         after={"type": location_type, "target": target, "git_ref": ref, "git_path": path})
        report = refresh_location(location, force=True)
        for error in report.errors:
            self.stderr.write(f"  {error['target']}{':' + str(error['line']) if error.get('line') else ''}: "
                              f"{error['message']}")
        if report.status == "failed":
            raise CommandError(report.summary())
        verb = "Registered" if created else "Already registered; refreshed"
        self.stdout.write(f"{verb} {location} ({location.pk}): {report.summary()}")
