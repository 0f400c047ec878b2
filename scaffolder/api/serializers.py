"""Request bodies of the scaffolder API, and documentation-only response shapes (Backstage's)."""

from __future__ import annotations

from rest_framework import serializers


class TextMap(serializers.DictField):
    child = serializers.CharField(allow_blank=True, trim_whitespace=False)


class CreateTaskSerializer(serializers.Serializer):
    templateRef = serializers.CharField(max_length=400)  # noqa: N815 - Backstage's field name
    values = serializers.DictField(required=False, default=dict)
    secrets = TextMap(required=False, default=dict)


class DirectoryFileSerializer(serializers.Serializer):
    path = serializers.CharField(max_length=1000)
    base64Content = serializers.CharField(allow_blank=True, trim_whitespace=False)  # noqa: N815
    executable = serializers.BooleanField(required=False, default=False)


class DryRunSerializer(serializers.Serializer):
    template = serializers.DictField()
    values = serializers.DictField(required=False, default=dict)
    secrets = TextMap(required=False, default=dict)
    directoryContents = DirectoryFileSerializer(many=True, required=False, default=list)  # noqa: N815


class CreatedTaskDoc(serializers.Serializer):
    id = serializers.UUIDField()


class TaskDoc(serializers.Serializer):
    id = serializers.UUIDField()
    spec = serializers.DictField()
    status = serializers.ChoiceField(choices=["open", "processing", "completed", "failed", "cancelled"])
    createdAt = serializers.DateTimeField()  # noqa: N815
    lastHeartbeatAt = serializers.DateTimeField(allow_null=True)  # noqa: N815
    createdBy = serializers.CharField(allow_null=True)  # noqa: N815


class TaskEventDoc(serializers.Serializer):
    id = serializers.IntegerField()
    taskId = serializers.UUIDField()  # noqa: N815
    type = serializers.ChoiceField(choices=["log", "completion"])
    body = serializers.DictField()
    createdAt = serializers.DateTimeField()  # noqa: N815
