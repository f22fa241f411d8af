"""Print the API token of a user (creating it once); --rotate replaces it, --revoke deletes it.

Only the key goes to stdout, so a script can capture it:
``TOKEN=$(manage.py issue_token admin)``, then send ``Authorization: Token $TOKEN``.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("username", help="the Django user the token authenticates as")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--rotate", action="store_true", help="replace the token (the old one stops working)")
        group.add_argument("--revoke", action="store_true", help="delete the token (API access ends)")

    def handle(self, *args, username: str, rotate: bool, revoke: bool, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}; create one first (manage.py ensure_admin or createsuperuser)")
        if revoke:
            deleted, _ = Token.objects.filter(user=user).delete()
            self.stderr.write(f"token of {username!r} revoked" if deleted else f"{username!r} had no token")
            return
        if not (user.is_active and user.is_staff):
            raise CommandError(f"user {username!r} is not an active staff user: the API would refuse the token")
        with transaction.atomic():
            if rotate:
                Token.objects.filter(user=user).delete()
            token, created = Token.objects.get_or_create(user=user)
        if not created:
            self.stderr.write(f"{username!r} already has this token; --rotate replaces it")
        self.stdout.write(token.key)
