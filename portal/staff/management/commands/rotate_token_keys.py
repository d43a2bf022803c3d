from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portal.core.crypto import TokenDecryptionError
from portal.staff.services import tenant_keys_rotate


class Command(BaseCommand):
    help = ("Re-encrypt every stored IES token and bearer with the newest key of TOKEN_ENCRYPTION_KEYS. "
            "Add the new key first in the list, keep the old ones, run this, then remove the old keys.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = tenant_keys_rotate()
        except TokenDecryptionError as exc:
            raise CommandError(f"{exc}. Nothing was changed: put the missing key back in TOKEN_ENCRYPTION_KEYS.") from exc
        self.stdout.write(f"Re-encrypted the credentials of {count} tenants with the newest key.")
