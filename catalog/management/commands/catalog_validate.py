from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.ingest import prepare
from catalog.reading import LocationReadError, ReadOptions, read_location


class Command(BaseCommand):
    help = "Validate a catalog file (and the Locations it points at) without storing anything."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        path = Path(file).resolve()
        try:
            result = read_location(str(path), type="file",
                                   options=ReadOptions(max_bytes=settings.CATALOG_MAX_FILE_BYTES))
        except LocationReadError as exc:
            raise CommandError(str(exc))
        preview = prepare(result.documents)
        problems = [(e.target, e.line, e.message) for e in result.errors]
        problems += [(e["target"], e.get("line"), e["message"]) for e in preview.errors]
        for target, line, message in problems:
            self.stderr.write(f"{target}{':' + str(line) if line else ''}: {message}")
        self.stdout.write(f"{len(preview.entities)} valid entities, {len(problems)} problem(s).")
        if problems:
            raise CommandError(f"{len(problems)} problem(s) found.", returncode=1)
