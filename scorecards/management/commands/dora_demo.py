"""Generate a realistic year of DORA events for the catalog's components (safe to run again).

Each component gets a delivery profile drawn from its name (so a re-run gives the same
picture): elite teams deploy several times a day with small lead times and quick recovery,
low performers monthly. Events are stored through the same upsert as the REST API, with
external ids starting ``demo:``, so running the command again updates rather than duplicates.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from catalog.models import Entity
from scorecards import dora, dora_events
from scorecards.models import Change, Deployment, Incident

PREFIX = "demo:"


@dataclass(frozen=True)
class Profile:
    name: str
    deploys_per_week: float
    lead_hours: tuple[float, float]
    failure_rate: float
    restore_hours: tuple[float, float]


PROFILES = (
    Profile("elite", 12.0, (1.0, 20.0), 0.03, (0.2, 1.5)),
    Profile("high", 3.0, (12.0, 120.0), 0.08, (2.0, 20.0)),
    Profile("medium", 0.6, (100.0, 500.0), 0.14, (20.0, 120.0)),
    Profile("low", 0.25, (400.0, 1500.0), 0.3, (100.0, 500.0)),
)


def profile_for(ref: str) -> Profile:
    digest = int(hashlib.sha256(ref.encode()).hexdigest()[:8], 16)
    return PROFILES[(0, 0, 1, 1, 1, 2, 2, 3)[digest % 8]]


def generate(ref: str, days: int, now: datetime, seed: int = 0):
    """The deployments, changes and incidents of one component over ``days`` before ``now``."""
    rng = random.Random(f"{seed}:{ref}")
    profile = profile_for(ref)
    name = ref.split("/")[-1]
    deployments: list[dora.Deployment] = []
    changes: list[tuple[str, dora.Change]] = []
    incidents: list[dora.Incident] = []
    start = now - timedelta(days=days)
    moment = start
    index = 0
    while True:
        # Exponential gaps, with a slower pace at weekends.
        moment += timedelta(hours=rng.expovariate(profile.deploys_per_week / 168))
        if moment >= now:
            break
        if moment.weekday() >= 5 and rng.random() < 0.7:
            continue
        index += 1
        shas = []
        for commit in range(rng.randint(1, 4)):
            sha = hashlib.sha1(f"{ref}:{index}:{commit}".encode()).hexdigest()  # noqa: S324 -- a fake commit id
            low, high = profile.lead_hours
            committed = moment - timedelta(hours=rng.uniform(low, high))
            shas.append(sha)
            changes.append((f"{PREFIX}{name}:c{index}.{commit}", dora.Change(sha, ref, committed)))
        status = "failure" if rng.random() < 0.04 else "success"
        deployment_id = f"{PREFIX}{name}:d{index}"
        if rng.random() < 0.3:
            deployments.append(dora.Deployment(f"{deployment_id}s", ref, "staging", moment - timedelta(hours=1),
                                               "success", tuple(shas)))
        deployments.append(dora.Deployment(deployment_id, ref, "production", moment, status, tuple(shas)))
        if status == "success" and rng.random() < profile.failure_rate:
            opened = moment + timedelta(minutes=rng.uniform(5, 240))
            resolved = opened + timedelta(hours=rng.uniform(*profile.restore_hours))
            by_sha = rng.random() < 0.5
            incidents.append(dora.Incident(
                f"{PREFIX}{name}:i{index}", ref, opened, resolved if resolved < now else None,
                shas[0] if by_sha else None, None if by_sha else deployment_id,
            ))
    # A few incidents nobody tied to a deployment.
    for extra in range(rng.randint(0, 3)):
        opened = start + timedelta(hours=rng.uniform(0, days * 24))
        incidents.append(dora.Incident(f"{PREFIX}{name}:x{extra}", ref, opened,
                                       opened + timedelta(hours=rng.uniform(*profile.restore_hours)), None, None))
    return deployments, changes, [item for item in incidents if item.opened_at < now]


class Command(BaseCommand):
    help = "Generate a year of deployments, changes and incidents for the catalog's components."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=365, help="How far back to generate (default 365).")
        parser.add_argument("--seed", type=int, default=0, help="Change for a different random picture.")
        parser.add_argument("--clear", action="store_true", help="Remove the generated events and stop.")
        parser.add_argument("--limit", type=int, default=0, help="At most this many components (0: all).")

    def handle(self, *args, days, seed, clear, limit, **options):
        if clear:
            counts = [model.objects.filter(external_id__startswith=PREFIX).delete()[0]
                      for model in (Deployment, Change, Incident)]
            self.stdout.write(f"Removed {sum(counts)} generated events.")
            return
        if not 7 <= days <= dora.MAX_WINDOW_DAYS:
            raise CommandError(f"--days must be between 7 and {dora.MAX_WINDOW_DAYS}")
        components = Entity.objects.filter(kind="component", orphan=False).order_by("ref")
        refs = list(components.values_list("ref", flat=True)[: limit or None])
        if not refs:
            self.stdout.write("No components in the catalog; load a catalog first (manage.py demo).")
            return
        now = timezone.now().astimezone(UTC).replace(microsecond=0)
        totals = {"deployment": 0, "change": 0, "incident": 0}
        for ref in refs:
            deployments, changes, incidents = generate(ref, days, now, seed)
            batches = {
                "deployment": [dora_events.Parsed(item, item.external_id) for item in deployments],
                "change": [dora_events.Parsed(item, key) for key, item in changes],
                "incident": [dora_events.Parsed(item, item.external_id) for item in incidents],
            }
            for kind, parsed in batches.items():
                if parsed:
                    dora_events.store(kind, parsed)
                    totals[kind] += len(parsed)
        self.stdout.write(
            f"DORA demo events for {len(refs)} components over {days} days: {totals['deployment']} deployments, "
            f"{totals['change']} changes, {totals['incident']} incidents."
        )
