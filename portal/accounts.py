from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    """Local sign-up is closed unless CAUSEWAY_ALLOW_SIGNUP is on: accounts come from admins or SSO."""

    def is_open_for_signup(self, request):
        return settings.CAUSEWAY_ALLOW_SIGNUP


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """People who sign in through a configured SSO provider get an account on first sign-in."""

    def is_open_for_signup(self, request, sociallogin):
        return True
