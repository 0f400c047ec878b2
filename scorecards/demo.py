"""Demo data: a year of DORA events, the "Production readiness" scorecard, two initiatives, evaluated.

Safe to run again: events are upserted, the scorecard and its rules are created only when missing
(so edits made in the admin stay), and the evaluation rewrites only what changed.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from . import evaluation
from .models import Initiative, Level, Rule, Scorecard

SCORECARD = "Production readiness"
RUNBOOK = "length(metadata.links[?type=='runbook' || contains(title || '', 'Runbook')] || `[]`) > `0`"

RULES = [
    ("Bronze", "Has an owning team", {"type": "owner_is_group"},
     "Every component needs a team that answers for it.",
     "Set `spec.owner` to a **Group** of the catalog, e.g.\n\n```yaml\nspec:\n  owner: team-payments\n```", True),
    ("Bronze", "Has a description", {"type": "field_present", "path": "metadata.description"},
     "People browsing the catalog should know what it does.",
     "Add one sentence under `metadata.description` in `catalog-info.yaml`.", False),
    ("Silver", "Has TechDocs", {"type": "annotation_present", "key": "backstage.io/techdocs-ref"},
     "Documentation lives next to the code and is published in the portal.",
     "Add a `docs/` folder with an `mkdocs.yml`, then the annotation "
     "`backstage.io/techdocs-ref: dir:.` to `metadata.annotations`.", False),
    ("Silver", "Links a runbook", {"type": "expression", "expression": RUNBOOK},
     "On-call engineers find the runbook from the catalog.",
     "Add a link with `type: runbook` under `metadata.links`.", False),
    ("Gold", "Lead time under a week", {"type": "dora_threshold", "figure": "lead_time_hours", "operator": "<",
                                         "value": 168},
     "Changes reach production within a week of being committed (last 30 days).",
     "Ship smaller changes more often; see the **DORA** tab for the trend.", False),
    ("Gold", "Deploys every week", {"type": "dora_threshold", "figure": "deployment_frequency_per_week",
                                     "operator": ">=", "value": 1},
     "At least one production deployment a week on average (last 30 days).",
     "Automate the release so deploying is routine; report deployments to `/api/dora/deployments`.", False),
]


def load(out) -> None:
    call_command("dora_demo", stdout=out)
    scorecard, created = Scorecard.objects.get_or_create(
        name=SCORECARD,
        defaults={
            "description": "What every production component should have: an owner and a description (Bronze), "
                           "docs and a runbook (Silver), fast and frequent delivery (Gold).",
            "kinds": ["component"],
        },
    )
    scorecard.ensure_default_levels()
    levels = {level.name: level for level in scorecard.levels.all()}
    for level_name, name, check, description, how_to_fix, blocking in RULES:
        level = levels.get(level_name) or Level.objects.create(scorecard=scorecard, name=level_name,
                                                               order=len(levels))
        Rule.objects.get_or_create(
            scorecard=scorecard, name=name,
            defaults={"level": level, "check_spec": check, "description": description, "how_to_fix": how_to_fix,
                      "blocking": blocking, "owner": "Platform team"},
        )
    # A rule announced ahead of time: shown as upcoming, not counted yet.
    Rule.objects.get_or_create(
        scorecard=scorecard, name="Docs build cleanly",
        defaults={"level": levels.get("Gold", scorecard.levels.last()), "check_spec": {"type": "techdocs_built"},
                  "state": Rule.State.ENABLED_FROM, "enabled_from": timezone.localdate() + timedelta(days=30),
                  "description": "The latest TechDocs build succeeded without errors.",
                  "how_to_fix": "Open the **Docs** tab, read the build log and fix the reported pages.",
                  "owner": "Platform team"},
    )
    today = timezone.localdate()
    docs, _ = Initiative.objects.get_or_create(
        name="Document every production service",
        defaults={"scorecard": scorecard, "deadline": today + timedelta(days=45), "lifecycles": ["production"],
                  "description": "Every production service publishes TechDocs and links a runbook."},
    )
    if not docs.rules.exists():
        docs.rules.set(Rule.objects.filter(scorecard=scorecard, name__in=["Has TechDocs", "Links a runbook"]))
    Initiative.objects.get_or_create(
        name="Everyone at Silver",
        defaults={"scorecard": scorecard, "deadline": today - timedelta(days=7), "target_level": levels.get("Silver"),
                  "description": "Every component is owned, described, documented and has a runbook."},
    )
    report = evaluation.evaluate_all()
    out.write(
        f"Scorecard '{SCORECARD}' {'created' if created else 'kept'}; evaluated {report.entities} entities "
        f"in {report.seconds:.1f} s."
    )
