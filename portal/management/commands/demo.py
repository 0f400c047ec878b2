from django.core.management.base import BaseCommand

from portal.extensions import demo_loaders


class Command(BaseCommand):
    help = "Load the demo data of every app (an admin account, a demo catalog, templates, docs, metrics)."

    def handle(self, *args, **options):
        for label, load in demo_loaders():
            self.stdout.write(self.style.MIGRATE_HEADING(f"Demo data: {label}"))
            load(self.stdout)
