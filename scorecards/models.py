"""Scorecards (rules, levels, results, history, initiatives) and DORA delivery events.

Rules hold a check (a JSON object, see ``scorecards.checks``) and belong to a level of a
scorecard's ladder. Results are kept per entity and rule, the level reached per entity and
scorecard, and one snapshot per scorecard and day for the history charts.

DORA events arrive through the REST API: deployments (with the commit shas they shipped),
changes (commits) and incidents. They name catalog entities by ref, not by foreign key, so
events may arrive before the entity is in the catalog and survive its removal.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone

from . import levels as ladder

DEFAULT_LEVELS = (("Bronze", "#b87333"), ("Silver", "#8a949e"), ("Gold", "#c9a227"))
colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Give a colour as #rrggbb, e.g. #c9a227.")


def normalise_owner_ref(value: str) -> str:
    """``team-a`` and ``group:team-a`` mean ``group:default/team-a``; refs are compared lower-cased."""
    text = value.strip().lower()
    if not text:
        return ""
    kind, rest = text.split(":", 1) if ":" in text else ("group", text)
    if "/" not in rest:
        rest = f"default/{rest}"
    return f"{kind or 'group'}:{rest}"


class EntityFilter(models.Model):
    """Which catalog entities something applies to; an empty list does not narrow."""

    kinds = models.JSONField(default=list, blank=True, help_text="Entity kinds, e.g. component, api.")
    spec_types = models.JSONField(default=list, blank=True, help_text="spec.type values, e.g. service, website.")
    lifecycles = models.JSONField(default=list, blank=True, help_text="spec.lifecycle values, e.g. production.")
    tags = models.JSONField(default=list, blank=True, help_text="Entities with any of these tags.")
    owners = models.JSONField(default=list, blank=True, help_text="Owner refs, e.g. team-a or group:default/team-a.")

    class Meta:
        abstract = True

    def normalise_filter(self) -> None:
        self.kinds = sorted({str(v).strip().lower() for v in self.kinds or [] if str(v).strip()})
        self.spec_types = sorted({str(v).strip() for v in self.spec_types or [] if str(v).strip()})
        self.lifecycles = sorted({str(v).strip() for v in self.lifecycles or [] if str(v).strip()})
        self.tags = sorted({str(v).strip().lower() for v in self.tags or [] if str(v).strip()})
        self.owners = sorted({normalise_owner_ref(str(v)) for v in self.owners or [] if str(v).strip()})

    def entity_q(self) -> Q:
        """The filter as a query on catalog.Entity (orphans never count)."""
        q = Q(orphan=False)
        if self.kinds:
            q &= Q(kind__in=self.kinds)
        if self.spec_types:
            q &= Q(spec_type__in=self.spec_types)
        if self.lifecycles:
            q &= Q(lifecycle__in=self.lifecycles)
        if self.owners:
            q &= Q(owner_ref__in=self.owners)
        if self.tags:
            from catalog.models import EntityTag

            q &= Q(pk__in=EntityTag.objects.filter(tag__in=self.tags).values("entity_id"))
        return q

    def matches(self, *, kind: str, spec_type: str, lifecycle: str, owner_ref: str, tags, orphan: bool = False) -> bool:
        """The same test as ``entity_q``, on values already loaded."""
        if orphan:
            return False
        if self.kinds and kind not in self.kinds:
            return False
        if self.spec_types and spec_type not in self.spec_types:
            return False
        if self.lifecycles and lifecycle not in self.lifecycles:
            return False
        if self.owners and owner_ref not in self.owners:
            return False
        if self.tags and not set(self.tags).intersection(tags or ()):
            return False
        return True

    @property
    def filter_summary(self) -> list[tuple[str, list[str]]]:
        parts = [("Kinds", self.kinds), ("Types", self.spec_types), ("Lifecycles", self.lifecycles),
                 ("Tags", self.tags), ("Owners", self.owners)]
        return [(label, values) for label, values in parts if values]


class Scorecard(EntityFilter):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.normalise_filter()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("scorecards:detail", args=[self.pk])

    def ensure_default_levels(self) -> None:
        """A scorecard without levels gets Bronze, Silver and Gold."""
        if not self.levels.exists():
            Level.objects.bulk_create(
                Level(scorecard=self, name=name, order=index, colour=colour)
                for index, (name, colour) in enumerate(DEFAULT_LEVELS)
            )


class Level(models.Model):
    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="levels")
    name = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField(default=0, help_text="Lowest first.")
    colour = models.CharField(max_length=7, blank=True, validators=[colour_validator], help_text="#rrggbb")

    class Meta:
        ordering = ["scorecard", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["scorecard", "name"], name="unique_level_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def display_colour(self) -> str:
        return self.colour or "#6366f1"


class Rule(models.Model):
    class State(models.TextChoices):
        ENABLED = "enabled", "Enabled"
        DISABLED = "disabled", "Disabled"
        ENABLED_FROM = "enabled_from", "Enabled from a date"

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="rules")
    level = models.ForeignKey(Level, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    how_to_fix = models.TextField(blank=True, help_text="Markdown, shown to owners whose entities fail the rule.")
    owner = models.CharField(max_length=200, blank=True, help_text="Who to ask about this rule.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.ENABLED)
    enabled_from = models.DateField(
        null=True, blank=True, help_text="With 'Enabled from a date': shown as upcoming until this day."
    )
    check_spec = models.JSONField(
        "check", help_text='A check, e.g. {"type": "field_present", "path": "spec.lifecycle"}.'
    )
    blocking = models.BooleanField(
        default=False, help_text="A guardrail: catalog ingestion reports a policy error on entities that fail it."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scorecard", "level__order", "name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def key(self) -> str:
        return str(self.pk)

    def ladder_rule(self) -> ladder.Rule:
        return ladder.Rule(
            key=self.key,
            level=self.level.name,
            state=self.state,
            enabled_from=self.enabled_from if self.state == self.State.ENABLED_FROM else None,
        )

    def status(self, now: datetime | None = None) -> str:
        """active, upcoming or disabled."""
        if self.state == self.State.ENABLED_FROM and self.enabled_from is None:
            return "disabled"
        return ladder.rule_status(self.ladder_rule(), now or timezone.now())

    def how_to_fix_html(self) -> str:
        from .presentation import markdown_html

        return markdown_html(self.how_to_fix)


class RuleResult(models.Model):
    # Millions of rows are written per run, so one index only, the unique (entity, rule) one, and no
    # database-level foreign key checks (each costs a trigger per row). A (rule, passed) index cost a third
    # of a first evaluation's writing, to speed up pass rates, which read every result of a scorecard
    # anyway. Deleting an entity or a rule still deletes its results: Django cascades them.
    entity = models.ForeignKey("catalog.Entity", on_delete=models.CASCADE, related_name="scorecard_rule_results",
                               db_index=False, db_constraint=False)
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="results", db_index=False,
                             db_constraint=False)
    passed = models.BooleanField()
    observed = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)
    # When this outcome was recorded: results are checked on every run and rewritten only when they change.
    # Filled by the database on bulk writes (a third of the bytes of a row, were it sent with each).
    evaluated_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity", "rule"], name="unique_rule_result")]

    def __str__(self) -> str:
        return f"{self.rule}: {'passed' if self.passed else 'failed'}"

    @property
    def observed_text(self) -> str:
        if self.observed is None:
            return "—"
        if isinstance(self.observed, float):
            return f"{self.observed:.4g}"
        text = self.observed if isinstance(self.observed, str) else json.dumps(self.observed, sort_keys=True)
        return text if len(text) <= 300 else text[:299] + "…"


class ScorecardResult(models.Model):
    entity = models.ForeignKey("catalog.Entity", on_delete=models.CASCADE, related_name="scorecard_results",
                               db_index=False)
    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="results", db_index=False)
    level = models.ForeignKey(Level, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # A fingerprint of the level and every rule result of this entity on this scorecard: an evaluation
    # finding the same digest leaves the stored results alone (see scorecards.evaluation).
    digest = models.CharField(max_length=32, blank=True, default="")
    evaluated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity", "scorecard"], name="unique_scorecard_result")]
        indexes = [models.Index(fields=["scorecard", "level"])]

    def __str__(self) -> str:
        return f"{self.scorecard}: {self.level or 'no level'}"


class ScorecardSnapshot(models.Model):
    """The state of one scorecard on one day, for the history chart (the day's last run wins)."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="snapshots")
    date = models.DateField()
    entity_count = models.PositiveIntegerField(default=0)
    # [[level name or null, count], ...], lowest first, null (no level) first.
    level_counts = models.JSONField(default=list)
    # {rule id: {"name", "passed", "evaluated"}}
    rule_pass_rates = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["scorecard", "date"]
        constraints = [models.UniqueConstraint(fields=["scorecard", "date"], name="unique_scorecard_snapshot")]

    def __str__(self) -> str:
        return f"{self.scorecard} on {self.date}"


class Initiative(EntityFilter):
    """A push to get entities passing some rules, or to a level, by a deadline."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="initiatives")
    rules = models.ManyToManyField(Rule, blank=True, related_name="initiatives")
    target_level = models.ForeignKey(Level, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    deadline = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["deadline", "name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.normalise_filter()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("scorecards:initiative", args=[self.pk])


# ---------------------------------------------------------------- DORA events


class Deployment(models.Model):
    class Status(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        CANCELLED = "cancelled", "Cancelled"

    external_id = models.CharField(max_length=255, unique=True)
    entity_ref = models.CharField(max_length=400, db_index=True)
    # Stored lower-cased: environments are compared case-insensitively.
    environment = models.CharField(max_length=255)
    finished_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices)
    received_at = models.DateTimeField(default=timezone.now)
    # Derived (scorecards.dora_events keeps it right): some incident names this deployment or one of its shas.
    caused_incident = models.BooleanField(default=False, db_default=False, editable=False)

    class Meta:
        # Covering indexes: the DORA queries read these rows from the index alone.
        indexes = [
            models.Index(fields=["finished_at"], include=["environment", "status", "caused_incident", "entity_ref"],
                         name="dora_deployment_window"),
            models.Index(fields=["entity_ref", "finished_at"], include=["environment", "status", "caused_incident"],
                         name="dora_deployment_entity_window"),
        ]

    def __str__(self) -> str:
        return self.external_id


class DeploymentCommit(models.Model):
    """A commit sha a deployment shipped (the change may be recorded before, after, or never).

    The other columns are derived, kept right by scorecards.dora_events whatever order events
    arrive in, so that lead time reads one table: copies of the deployment's columns, and
    ``committed_at``, the earliest commit time recorded for the sha (None while no change has it).
    """

    # Indexed by the unique (deployment, sha) constraint and the plain sha index below, no more: every
    # index is written again whenever a derived column changes.
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="commits", db_index=False)
    sha = models.CharField(max_length=128)
    entity_ref = models.CharField(max_length=400, default="", db_default="", editable=False)
    environment = models.CharField(max_length=255, default="", db_default="", editable=False)
    status = models.CharField(max_length=16, default="", db_default="", editable=False)
    finished_at = models.DateTimeField(null=True, editable=False)
    committed_at = models.DateTimeField(null=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deployment", "sha"], name="unique_deployment_commit")]
        # Only commits with a recorded change have a lead time: partial, covering indexes for those.
        indexes = [
            models.Index(fields=["sha"], name="dora_commit_sha"),
            models.Index(fields=["finished_at"], include=["environment", "status", "committed_at", "entity_ref"],
                         condition=models.Q(committed_at__isnull=False), name="dora_commit_window"),
            models.Index(fields=["entity_ref", "finished_at"], include=["environment", "status", "committed_at"],
                         condition=models.Q(committed_at__isnull=False), name="dora_commit_entity_window"),
        ]

    def __str__(self) -> str:
        return self.sha


class Change(models.Model):
    external_id = models.CharField(max_length=255, unique=True)
    sha = models.CharField(max_length=128)
    entity_ref = models.CharField(max_length=400, db_index=True)
    committed_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["sha", "committed_at"])]

    def __str__(self) -> str:
        return self.sha


class Incident(models.Model):
    external_id = models.CharField(max_length=255, unique=True)
    entity_ref = models.CharField(max_length=400)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    caused_by_sha = models.CharField(max_length=128, blank=True, db_index=True)
    caused_by_deployment = models.CharField(max_length=255, blank=True, db_index=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["entity_ref", "opened_at"]),
            models.Index(fields=["opened_at"]),
        ]

    def __str__(self) -> str:
        return self.external_id

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

