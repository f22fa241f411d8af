"""Create the admin login once: ADMIN_USER/ADMIN_PASSWORD, or a generated password printed once."""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options) -> None:
        user_model = get_user_model()
        username = os.environ.get("ADMIN_USER", "admin")
        if user_model.objects.filter(username=username).exists():
            self.stdout.write(f"admin user {username!r} exists")
            return
        password = os.environ.get("ADMIN_PASSWORD", "")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        else:
            try:  # the login that can switch bots to live money: no common or short password
                validate_password(password, user_model(username=username))
            except ValidationError as exc:
                raise CommandError(f"ADMIN_PASSWORD is refused: {' '.join(exc.messages)}") from None
        user_model.objects.create_superuser(username=username, email="", password=password)
        if generated:
            self.stdout.write(self.style.WARNING(f"created admin user {username!r} with password: {password}"))
            self.stdout.write("This password is shown once. Change it in the admin, or set ADMIN_PASSWORD.")
        else:
            self.stdout.write(self.style.SUCCESS(f"created admin user {username!r} (password from ADMIN_PASSWORD)"))
