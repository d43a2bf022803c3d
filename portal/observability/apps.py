from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "portal.observability"
    label = "observability"

    def ready(self) -> None:
        from django.conf import settings
        from django.core.signals import request_finished

        from ies_client.redact import register_secret
        from portal.observability import metrics, request_id
        from portal.operations.models import Operation
        from portal.operations.signals import operation_finished

        operation_finished.connect(metrics.observe_tracking_lag, sender=Operation,
                                   dispatch_uid="observability.tracking_lag")
        metrics.listen_to_ies()
        request_finished.connect(request_id.forget, dispatch_uid="observability.forget_request_id")
        # The scraper's token is a secret like IES's: never in a log line.
        register_secret(settings.METRICS_TOKEN or None)
