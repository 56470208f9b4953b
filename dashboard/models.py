from django.db import models


class OwnerSetupToken(models.Model):
    """A one-time token behind the first-owner setup link printed by ``make run``."""

    nonce = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"setup token {self.pk} ({'used' if self.used_at else 'unused'})"
