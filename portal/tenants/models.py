from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ies_client.redact import register_secret
from portal.core import crypto


class Scenario(models.TextChoices):
    CREATE = "create", _("Create & activate")
    SCALE = "scale", _("Elastic scaling")


class Tenant(models.Model):
    """An IES tenant and the credentials the portal uses on its behalf.

    The token and bearer are stored encrypted and only ever decrypted right before an IES call.
    """

    name = models.CharField(_("IES tenant name"), max_length=64, unique=True)
    ies_base_url = models.URLField(
        _("IES base URL"), max_length=255, blank=True, help_text=_("Empty: the portal's default IES.")
    )
    ies_tenant_id = models.CharField(_("IES tenant id"), max_length=64, blank=True)
    token_encrypted = models.TextField(blank=True, editable=False)
    bearer_encrypted = models.TextField(blank=True, editable=False)
    token_last4 = models.CharField(max_length=4, blank=True, editable=False)
    bearer_last4 = models.CharField(max_length=4, blank=True, editable=False)
    credentials_changed_at = models.DateTimeField(_("credentials changed"), null=True, blank=True, editable=False)
    scenarios = models.JSONField(_("supported scenarios"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # One switch that stops every bandwidth policy of the tenant (their planned changes wait).
    automation_paused = models.BooleanField(_("automation paused"), default=False)
    # Every member must sign in with a second factor (portal/twofactor), as staff always do.
    require_two_factor = models.BooleanField(
        _("require two-factor authentication"), default=False,
        help_text=_("Members must confirm each login with a code from an authenticator app."))
    # Single sign-on (portal/sso): its members sign in only through the identity provider, and two
    # of the provider's groups may make people members or viewers of the tenant at each sign-in.
    require_sso = models.BooleanField(
        _("require single sign-on"), default=False,
        help_text=_("Members must sign in through the organisation's identity provider, not with a password."))
    sso_member_group = models.CharField(
        _("identity provider group for members"), max_length=150, blank=True,
        help_text=_("Who is in this group of the identity provider becomes a member at single sign-on."))
    sso_viewer_group = models.CharField(
        _("identity provider group for viewers"), max_length=150, blank=True,
        help_text=_("Who is in this group (and not the members' one) becomes a viewer at single sign-on."))
    # What the tenant's bandwidth policies ask of its members (proposals to approve, policies IES
    # refused), counted when it changes (portal/policies/services.py): the header shows it free.
    policy_notices = models.PositiveIntegerField(default=0, editable=False)
    # Alerts firing now (portal/alerts), counted when one fires or clears: the header shows it free.
    alert_notices = models.PositiveIntegerField(default=0, editable=False)
    # The tenant's reference service as the deck's preset table lists it (kind, id, name,
    # CloudVpnName). Documentation for testers and the import/export round trip; IES stays the
    # source of truth for the services themselves.
    ref_kind = models.CharField(_("reference service kind"), max_length=16, blank=True)
    ref_service_id = models.CharField(_("reference service id"), max_length=64, blank=True)
    ref_service_name = models.CharField(_("reference service name"), max_length=255, blank=True)
    ref_cloud_vpn_name = models.CharField(_("reference CloudVpnName"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")

    def __str__(self) -> str:
        return self.name

    @property
    def base_url(self) -> str:
        return self.ies_base_url or settings.IES_BASE_URL

    @property
    def has_credentials(self) -> bool:
        return bool(self.token_encrypted and self.bearer_encrypted)

    @property
    def holds_any_credential(self) -> bool:
        """A token or a bearer is stored (has_credentials needs both)."""
        return bool(self.token_encrypted or self.bearer_encrypted)

    @property
    def token_masked(self) -> str:
        return "…" + self.token_last4 if self.token_last4 else ""

    @property
    def bearer_masked(self) -> str:
        return "…" + self.bearer_last4 if self.bearer_last4 else ""

    @property
    def scenario_labels(self) -> list[str]:
        labels = dict(Scenario.choices)
        return [str(labels.get(s, s)) for s in self.scenarios]

    def set_credentials(self, *, token: str, bearer: str) -> None:
        self.set_token(token)
        self.set_bearer(bearer)

    def set_token(self, token: str) -> None:
        """Store the X-Auth-Token encrypted; only its last four characters stay readable."""
        register_secret(token)  # from now on, masked in any log line that might quote it
        self.token_encrypted = crypto.encrypt(token)
        self.token_last4 = token[-4:]
        self.credentials_changed_at = timezone.now()

    def set_bearer(self, bearer: str) -> None:
        register_secret(bearer)
        self.bearer_encrypted = crypto.encrypt(bearer)
        self.bearer_last4 = bearer[-4:]
        self.credentials_changed_at = timezone.now()

    def clear_credentials(self) -> None:
        self.token_encrypted = self.bearer_encrypted = ""
        self.token_last4 = self.bearer_last4 = ""
        self.credentials_changed_at = timezone.now()

    def credentials(self) -> tuple[str, str]:
        token, bearer = crypto.decrypt(self.token_encrypted), crypto.decrypt(self.bearer_encrypted)
        register_secret(token)
        register_secret(bearer)
        return token, bearer


class Role(models.TextChoices):
    MEMBER = "member", _("Member (order and manage)")
    VIEWER = "viewer", _("Viewer (read-only)")


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    # Made from the identity provider's groups at single sign-on, which keeps it in step (changes
    # its role, removes it); one made by staff is theirs, and single sign-on leaves it alone.
    granted_by_sso = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="unique_membership")]
        ordering = ["tenant__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role == Role.MEMBER
