from django.contrib import admin

from codexweb.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "team", "actor_name", "action", "target"]
    list_filter = ["action", "team"]
    search_fields = ["target", "actor_name"]
    readonly_fields = ["team", "actor", "actor_name", "action", "target", "changes", "created_at"]

    def has_add_permission(self, request) -> bool:  # the log is append-only, written by services
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
