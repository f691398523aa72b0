from django.contrib import admin

from repos.models import Environment, EnvironmentSecret, Repository, SetupRun


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = ["__str__", "team", "provider", "visibility", "default_branch"]
    list_filter = ["provider", "visibility", "team"]
    search_fields = ["owner", "name"]


class SecretInline(admin.TabularInline):
    """Names and dates only: a secret's value is never shown once saved."""

    model = EnvironmentSecret
    fields = ["name", "updated_at"]
    readonly_fields = ["name", "updated_at"]
    extra = 0
    can_delete = True


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ["repository", "internet_policy", "setup_internet_policy", "updated_at"]
    list_filter = ["internet_policy"]
    inlines = [SecretInline]


@admin.register(SetupRun)
class SetupRunAdmin(admin.ModelAdmin):
    """Read-only: runs are started from the environment page, and their logs are masked."""

    list_display = ["environment", "status", "requested_by", "created_at", "finished_at"]
    list_filter = ["status"]

    def has_add_permission(self, request):  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None):  # noqa: ANN001
        return False
