from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from portal.tenants.models import Membership, Tenant


class TenantForm(forms.ModelForm):
    # Write-only: a stored token is never rendered back, only its last four characters.
    new_token = forms.CharField(label=_("New X-Auth-Token"), required=False,
                                widget=forms.PasswordInput(render_value=False),
                                help_text=_("Leave empty to keep the current token."))
    new_bearer = forms.CharField(label=_("New bearer"), required=False,
                                 widget=forms.PasswordInput(render_value=False),
                                 help_text=_("Leave empty to keep the current bearer."))

    class Meta:
        model = Tenant
        fields = ["name", "ies_base_url", "ies_tenant_id", "scenarios", "is_active"]

    def clean(self):
        data = super().clean()
        token, bearer = data.get("new_token"), data.get("new_bearer")
        if bool(token) != bool(bearer) and not (self.instance.pk and self.instance.has_credentials):
            raise forms.ValidationError(_("Enter both the token and the bearer."))
        return data

    def save(self, commit=True):
        tenant = super().save(commit=False)
        token, bearer = self.cleaned_data.get("new_token"), self.cleaned_data.get("new_bearer")
        if token or bearer:
            old_token, old_bearer = tenant.credentials() if tenant.has_credentials else ("", "")
            tenant.set_credentials(token=token or old_token, bearer=bearer or old_bearer)
        if commit:
            tenant.save()
        return tenant


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    form = TenantForm
    list_display = ["name", "base_url", "token_masked", "is_active"]
    search_fields = ["name"]
    readonly_fields = ["token_masked"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "tenant__name"]
