from django.conf import settings


def portal(request):
    return {
        "anonymous_read": settings.CAUSEWAY_ANONYMOUS_READ,
        "allow_signup": settings.CAUSEWAY_ALLOW_SIGNUP,
    }
