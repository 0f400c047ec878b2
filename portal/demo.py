"""Demo data for the portal itself: an admin account whose generated password is printed once."""

import secrets

from django.contrib.auth import get_user_model

DEMO_ADMIN = "admin"


def load(out) -> None:
    User = get_user_model()
    if User.objects.filter(username=DEMO_ADMIN).exists():
        out.write(f"Demo admin '{DEMO_ADMIN}' already exists (its password was printed when it was created).")
        return
    password = secrets.token_urlsafe(12)
    User.objects.create_superuser(DEMO_ADMIN, f"{DEMO_ADMIN}@causeway.example", password)
    out.write(
        "\n"
        "  Demo admin account created. Sign in at http://127.0.0.1:8000/ with\n"
        f"    username: {DEMO_ADMIN}\n"
        f"    password: {password}\n"
        "  (shown only this once)\n"
    )
