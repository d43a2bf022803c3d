import secrets
from typing import Any

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.staff.services import SimulatorCredentials, presets_load


def fetch_simulator_credentials(base_url: str) -> dict[str, SimulatorCredentials]:
    """The simulator issues the preset tenants' tokens; a real IES has no such endpoint."""
    answer = requests.get(base_url.rstrip("/") + "/_sim/tenants", timeout=5)
    answer.raise_for_status()
    return {
        t["name"]: SimulatorCredentials(token=t["token"], bearer=t["bearer"], tenant_id=t.get("tenant_id", ""))
        for t in answer.json()["tenants"]
    }


class Command(BaseCommand):
    help = "Load the deck's preset tenants (nbitest_11…16), users user1…user16 and the staff user admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-simulator-tokens", action="store_true",
                            help="Do not fetch tokens from the simulator (for a real IES; enter them in the admin).")
        parser.add_argument("--reset-passwords", action="store_true",
                            help="Set the demo password on existing users too.")
        parser.add_argument("--enable-users", action="store_true",
                            help="Enable preset users that staff disabled (by default they stay disabled).")
        parser.add_argument("--password-file", help="Where a generated demo password is kept between runs.")
        parser.add_argument("--hash-processes", type=int, default=1, metavar="N",
                            help="Hash the new users' passwords in N processes (make run: one per CPU).")

    def handle(self, *args: Any, **options: Any) -> None:
        password = settings.PORTAL_DEMO_PASSWORD or self._generated_password(options.get("password_file"))
        credentials = None
        if not options["no_simulator_tokens"]:
            try:
                credentials = fetch_simulator_credentials(settings.IES_BASE_URL)
            except (requests.RequestException, KeyError, ValueError) as exc:
                raise CommandError(
                    f"Could not fetch the preset tokens from the simulator at {settings.IES_BASE_URL} "
                    f"({type(exc).__name__}). Start it first, or pass --no-simulator-tokens."
                ) from exc
        result = presets_load(password=password, credentials=credentials, reset_passwords=options["reset_passwords"],
                              enable_users=options["enable_users"], hash_processes=options["hash_processes"])
        self.stdout.write(
            f"Presets loaded: {result.tenants_created} tenants, {result.users_created} users, "
            f"{result.memberships_created} memberships created; tokens set for {result.credentials_set} tenants."
        )

    def _generated_password(self, path: str | None) -> str:
        from pathlib import Path

        file = Path(path) if path else settings.RUN_DIR / "demo-password"
        if file.exists():
            return file.read_text().strip()
        file.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)
        file.write_text(password + "\n")
        file.chmod(0o600)
        self.stdout.write(f"Generated demo password (kept in {file}): {password}")
        return password
