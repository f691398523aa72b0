"""A credential for one domain of a repository's environment, added by the egress proxy."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from codexweb import crypto


class CredentialKind(models.TextChoices):
    HEADER = "header", "Header (name and value)"
    BEARER = "bearer", "Bearer token"
    BASIC = "basic", "Basic auth (user and password)"


class EnvironmentCredential(crypto.Sealed, models.Model):
    """Stored encrypted; its value is never shown again after saving. The proxy sets the
    header `header_name` to the decrypted value on matching requests (the container never
    holds it): revealed only for the worker to hand to the egress proxy."""

    sealed_field = "value_encrypted"

    environment = models.ForeignKey(
        "repos.Environment", on_delete=models.CASCADE, related_name="credentials"
    )
    name = models.CharField(max_length=100)
    domain = models.CharField(max_length=255)  # exact host or *.suffix (repos.domains)
    kind = models.CharField(max_length=10, choices=CredentialKind.choices)
    header_name = models.CharField(max_length=100)  # Authorization for bearer and basic
    path_prefix = models.CharField(max_length=500, default="/")
    allow_http = models.BooleanField(default=False)  # else HTTPS only
    value_encrypted = models.TextField()  # the whole header value ("Bearer …")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "name"], name="environment_credential_unique_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.domain})"
