from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class SignInRequiredMiddleware(LoginRequiredMiddleware):
    """Every page needs a signed-in user, except views marked @login_not_required.

    With CAUSEWAY_ANONYMOUS_READ on, anonymous visitors may read (safe methods) but not act.
    The REST API is left to DRF, which knows about tokens and answers 401/403 in JSON
    rather than redirecting a script to a sign-in page.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith("/api/"):
            return None
        if (
            settings.CAUSEWAY_ANONYMOUS_READ
            and request.method in SAFE_METHODS
            and not request.path.startswith("/admin/")
        ):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
