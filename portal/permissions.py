from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission


class SignedInOrAnonymousRead(BasePermission):
    """API default: signed-in users and token clients; anonymous reads only when switched on."""

    message = "Authentication credentials were not provided."

    def has_permission(self, request, view):
        if request.user and request.user.is_authenticated:
            return True
        return settings.CAUSEWAY_ANONYMOUS_READ and request.method in SAFE_METHODS


class IsStaff(BasePermission):
    message = "Only staff may do this."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
