"""Reference-implementation events for the DORA tests, entity A unless told otherwise."""

from scorecards import dora

A = "component:default/a"
B = "component:default/b"


def deploy(external_id, finished_at, shas=(), entity=A, status="success", environment="production"):
    return dora.Deployment(external_id, entity, environment, finished_at, status, tuple(shas))


def change(sha, committed_at, entity=A):
    return dora.Change(sha, entity, committed_at)


def incident(external_id, opened_at, resolved_at=None, sha=None, deployment=None, entity=A):
    return dora.Incident(external_id, entity, opened_at, resolved_at, sha, deployment)
