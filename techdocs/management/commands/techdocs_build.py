from django.core.management.base import BaseCommand, CommandError

from catalog.models import Entity
from catalog.refs import InvalidEntityRef, parse_entity_ref
from portal import audit
from techdocs.publish import build_entity_docs, documented_entities


class Command(BaseCommand):
    help = (
        "Build the docs of the given entities (refs such as component:default/payments or component:payments), "
        "or of every documented entity with --all. Unchanged sources are skipped unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("refs", nargs="*", help="entity refs; a bare name means a Component")
        parser.add_argument("--all", action="store_true", help="every entity with a techdocs-ref annotation")
        parser.add_argument("--force", action="store_true", help="rebuild even when the source is unchanged")

    def handle(self, *args, refs, all, force, **options):
        if bool(refs) == bool(all):
            raise CommandError("Give entity refs or --all (not both).")
        if all:
            entities = list(documented_entities().filter(orphan=False).select_related("location").order_by("ref"))
        else:
            entities = []
            for raw in refs:
                try:
                    ref = str(parse_entity_ref(raw, default_kind="component"))
                except InvalidEntityRef as exc:
                    raise CommandError(str(exc))
                entity = Entity.objects.select_related("location").filter(ref=ref.lower()).first()
                if entity is None:
                    raise CommandError(f"No entity {ref} in the catalog.")
                entities.append(entity)
        failed = 0
        for entity in entities:
            outcome = build_entity_docs(entity, force=force)
            style = self.style.ERROR if outcome.status == "failed" else self.style.SUCCESS
            self.stdout.write(style(f"{entity.ref}: {outcome.status}") + f"  {outcome.message}")
            audit.record("manage.py techdocs_build", "techdocs.site.build", entity, message=outcome.message,
                         after={"status": outcome.status, "force": force})
            failed += outcome.status == "failed"
        if not entities:
            self.stdout.write("No entity has a backstage.io/techdocs-ref annotation.")
        if failed:
            raise CommandError(f"{failed} of {len(entities)} docs builds failed.")
