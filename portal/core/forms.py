"""How the portal's forms render (settings.FORM_RENDERER)."""

from django.forms.renderers import TemplatesSetting


class PortalFormRenderer(TemplatesSetting):
    """Widgets render through the project's templates too (the bandwidth widget lives in
    templates/core/), and every field's label, help and errors through one template:
    ``{{ field.as_field_group }}``."""

    field_template_name = "forms/field.html"
